"""Rules 6: phone-band forms of context words and a bare 'number' named by an unknown word."""

from __future__ import annotations

from callscope.nlp.redaction import RULES_VERSION, redact_text


def test_rules_version_is_at_least_6() -> None:
    assert RULES_VERSION >= 6  # rules 7: tests/test_redaction_rules7.py


def test_phone_band_forms_of_context_words() -> None:
    # 'card number' with its d lost, 'number' with its n heard as h
    assert "4916" not in redact_text("The car number is 4916 6321 4141 5555.", "en")
    assert "415" not in redact_text("My humber is 415 555 2671.", "en")


def test_unknown_namer_of_a_bare_number_is_no_personal_one() -> None:
    # order / case / PO numbers as phone-band ASR writes them
    for text in ("The organ number is 1-3, 0-0-0-0-2-3.", "Quote K number 5-0-6-110-2-2.",
                 "The pio number is 57017385."):
        assert redact_text(text, "en") == text


def test_owned_or_plain_number_stays_personal() -> None:
    for text in ("My sell number is 415 555 2671.", "The number is 415 555 2671.",
                 "My number is 415 555 2671."):
        assert "2671" not in redact_text(text, "en")
