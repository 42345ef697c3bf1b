"""Redaction rules 8 (nlp/redaction.py, read-outs and continuations): an English number read out digit by
digit is a personal one however the phone band garbled the words around it. ASR writes such a number
'4-3-6-7, 4-2-0-1' or '4, 4, 0, 1, 0, 5', with digit words heard as others ('time' for five, 'double-camera'
for double seven); a price, a date, a year or a quantity it writes whole. So a stretch of mostly lone digits,
ten or more with the soundalikes, is redacted even when the question asking for it is garbled past any cue;
not when its context names a look-alike read the same way (a tracking, order or invoice number), a unit or
an amount goes with it, or it counts (1, 2, 3, 4, 5) or lists scores (3-2, 1-0, 2-2). And 'and the last four
are …' goes on with the number just said. The phrasings are new ones written like the phone-band ASR
transcripts of the evaluation sets, not copies of them."""

from __future__ import annotations

import pytest

from callscope.models.document import Transcript
from callscope.nlp import redaction
from callscope.nlp.redaction import find, redact_text, redact_transcript
from callscope.nlp.resources import load_yaml
from tests.test_redaction_speech import _dialogue, _digits_left


def _redacted(*lines: tuple[str, str], language: str = "en") -> Transcript:
    transcript = _dialogue(*lines, language=language)
    redact_transcript(transcript)
    return transcript


@pytest.mark.parametrize(("question", "reply", "kind"), [
    # the question garbled past any cue word ('which card would you like us to charge')
    ("from a pilot department which can't what you like us to charge",
     "My wheeler, 5-2-1-2, 4-4-3-1, 7-time 6-0, 2-9-0-1.", "card"),
    # commas between the digits, 'ten and six' heard for 'oh six' and a word of garble between
    ("So I have no other branded and tidy humor.", "Sure, 3, 7, 0, 2, 8, 1, 10 and 6, 4, 3, 9, 9, 2.",
     "card"),
    # an ID's check character after the last dash: its kind
    ("you give me light on.", "And in 4-2-0-3-0-1, 1-9-8-time, so 7-1-4-2-3-X.", "id"),
    # 'double-camera' (double seven) and 'time' (five) between dashed groups: a landline
    ("The engineer can call on arrival.", "The shop only know time 2-1, 6-time double-camera, 3-8-4-0.",
     "phone"),
    # no question at all: ten lone digits
    ("Okay.", "Yeah it's 1-8-6, 2-0-3-9, 4-7-1-5.", "phone"),
])
def test_number_read_out_digit_by_digit_is_redacted(question: str, reply: str, kind: str) -> None:
    transcript = _redacted(("rep", question), ("customer", reply))
    turn = transcript.turns[1]
    assert [r.kind for r in turn.redactions] == [kind]
    assert _digits_left(turn.text) <= 1


def test_read_out_split_over_the_reps_go_on_is_redacted() -> None:
    transcript = _redacted(("rep", "You give me a backup concept."),
                           ("customer", "my shift is 1-camera, 3-4-2."),
                           ("rep", "Okay, go on."), ("customer", "I made 5-9-0-7."))
    assert [r.kind for t in transcript.turns[1::2] for r in t.redactions] == ["phone", "phone"]
    assert all(_digits_left(t.text) == 0 for t in transcript.turns[1::2])


@pytest.mark.parametrize(("question", "reply"), [
    # a look-alike named by the question or in the turn: read out the same way
    ("Which invoice should the deposit be credited against?", "It's 2-0-2-6, 1-2-0-3, 4-4-1-8."),
    ("Did the filters arrive?", "Not yet. The tracking number is 7-8-2-1, 3-0-0-6, 4-4-9-0, 1-5."),
    ("Okay.", "The order is 4, 5, 0, 0, 2, 1, 9, 8, 7, 6, 3, 2."),
    ("Do you have the previous booking reference?", "Yes, it's 3-9-2-0-1, 5-4-8-0-7-7."),
    ("Which unit is it?", "Serial 2-0-2-5, 0-3-2-2, 0-1-4-8."),
    ("Anything else?", "The access code is 4-4-0-1, 0-5-1-9, 7-6-0-8."),
    # a quantity, amounts, dates
    ("How many?", "We'd need 6, 2, 2, 8, 4, 8, 0, 1, 9, 7 units."),
    ("What did it cost?", "It costs 1-2-9-9 dollars, 4-5-0-0 with tax, 6-7-8-9 total."),
    ("When are you moving in?", "11, 11, 15, 20, 20, 10, 1, and we want a 12-month lease."),
    # counting, scores: lone digits that are no number
    ("Which rooms are free?", "Rooms 9, 8, 7, 6, 5, 4, 3 and 2, 1 are free."),
    ("How did the league go?", "We had 3-2, 1-0, 2-2, 4-1, 3-3 and 0-0 last year."),
])
def test_look_alike_read_out_is_kept(question: str, reply: str) -> None:
    transcript = _redacted(("rep", question), ("customer", reply))
    assert transcript.turns[1].redactions == []
    assert transcript.turns[1].text == reply


def test_mandarin_digit_by_digit_says_nothing() -> None:
    # Mandarin reads every number digit by digit (a tax number too): no read-out there
    transcript = _dialogue(("rep", "开票的话税号是多少？"),
                           ("customer", "对税号是9-1-3-1-1-1-5-6-0-7-2-3-4-5-6-7-8-8。"), language="zh")
    found = redaction._Finder(transcript)
    found.read_outs()
    assert found.found == []


def test_short_read_out_is_kept() -> None:
    # an extension, a flight: fewer than ten digits said one by one
    transcript = _redacted(("rep", "How did you get through?"), ("customer", "I pressed 2, then 4, 6, 1, 9."))
    assert transcript.turns[1].redactions == []


@pytest.mark.parametrize("reply", [
    "His mobile is one eight five, two oh seven five, and the last four are, uh, one two six nine.",
    "My cell is 415 628 39, and the last last 0-7.",
])
def test_the_last_four_go_on_with_the_number(reply: str) -> None:
    transcript = _redacted(("rep", "Who else should I copy on the calls?"), ("customer", reply))
    assert {r.kind for r in transcript.turns[1].redactions} == {"phone"}
    assert _digits_left(transcript.turns[1].text) == 0


def test_the_last_four_of_a_look_alike_are_kept() -> None:
    reply = "The P O number is 4500 2198, and the last four are 7632."
    assert redact_text(reply, "en") == reply


def test_area_code_said_twice_is_no_code() -> None:
    # ASR's doubled word: 'area code code' names a phone, not a code (an access code is a look-alike)
    assert redaction._named("with area code code ") == "phone"
    transcript = _dialogue(("rep", "Is there a landline?"),
                           ("customer", "Yes, area code code 415, 628, 3907."), language="en")
    assert [f.kind for f in find(transcript)] == ["phone"]


def test_continuations_are_data() -> None:
    words = {str(w) for w in load_yaml("redaction.yaml")["continuations"]}
    assert {"the last four", "the last"} <= words
    assert redaction._continues(", and the last four are, uh, ")
    assert not redaction._continues(", and the last four orders were ")
