"""The pages' strings and formats: both languages carry the same keys, every key a template uses
exists, labels cover the contract's stages and objections, times read as mm:ss."""

from __future__ import annotations

import re

import pytest

from callscope.api.web.config import score_band
from callscope.api.web.i18n import LANGUAGES, Translator, strings
from callscope.api.web.rendering import WEB_DIR, mmss, number
from callscope.models.document import OBJECTION_TYPES, ROLES, STAGES

TEMPLATE_KEY = re.compile(r"""\bt\('([a-z_]+\.[a-z_.]+)'\s*[,)]""")


def test_both_languages_have_the_same_keys() -> None:
    assert set(strings("zh")) == set(strings("en"))


def test_every_key_a_template_or_view_uses_exists() -> None:
    used = set()
    for path in list((WEB_DIR / "templates").glob("*.html")) + list(WEB_DIR.glob("*.py")):
        used |= set(TEMPLATE_KEY.findall(path.read_text(encoding="utf-8")))
    auth = (WEB_DIR / "auth.py").read_text(encoding="utf-8")
    used |= set(re.findall(r'"error": "([a-z_]+\.[a-z_]+)"', auth))
    assert used, "no keys found: the pattern is out of date"
    for lang in LANGUAGES:
        missing = sorted(k for k in used if k not in strings(lang))
        assert not missing, f"{lang}: {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_contract_label_has_a_name(lang: str) -> None:
    t = Translator(lang)
    for group, ids in (("stage", STAGES), ("objection", OBJECTION_TYPES), ("role", ROLES)):
        for value in ids:
            assert t.has(f"{group}.{value}"), f"{lang}: {group}.{value}"
    assert Translator("zh").label("stage", "discovery") == "需求分析"
    assert Translator("en").label("objection", "price") == "Price"
    assert Translator("en").label("item", "custom_item", "Custom") == "Custom"  # a rubric's own item


def test_times_scores_and_numbers_format_for_people() -> None:
    assert mmss(0) == "00:00"
    assert mmss(75.9) == "01:15"
    assert mmss(3723) == "1:02:03"
    assert mmss(None) == "--:--"
    assert number(80.0, 0) == "80"
    assert number(12.50) == "12.5"
    assert number(None) == "–"
    assert [score_band(s) for s in (95, 72, 60, 59.9, None)] == ["excellent", "good", "pass", "fail", "none"]
