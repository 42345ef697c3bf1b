"""A call's opening: does a rep's sentence say who they are, whom they speak for, why they call?

Shapes, not phrasings (nlp/data/opening.yaml): a self-introduction in any common form (我是X的Y,
这边是X, 我这里是X公司; "this is / it's / my name is NAME from/with COMPANY"), a company named by
where it stands rather than by a 公司/科技 suffix, and a purpose said as a statement or asked as a
question ("想问问贵司现在往成都发货多不多？", "are you still running the old fleet software?") -
any question but one that only checks who is on the line or whether they can talk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from callscope.nlp.questions import question_kind
from callscope.nlp.resources import load_yaml
from callscope.nlp.text import detect_language, has_cjk, normalize, split_sentences

OPENING_PARTS = ("self", "company", "purpose")
# a purpose asked as a question says something about the customer's business: this much of it
_MIN_ZH_CHARS = 6
_MIN_EN_WORDS = 4
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
# a question is judged in its own clause: ASR and authors run greeting, name and question together
_CLAUSE = re.compile(r"[，,;；]")


@dataclass(frozen=True)
class _Patterns:
    self_: dict[str, re.Pattern[str]]
    company: dict[str, re.Pattern[str]]
    purpose: dict[str, re.Pattern[str]]
    not_purpose_question: dict[str, re.Pattern[str]]


def _one(patterns: str | list[str]) -> re.Pattern[str]:
    items = [patterns] if isinstance(patterns, str) else patterns
    return re.compile("|".join(f"(?:{p})" for p in items))


@functools.lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    data = load_yaml("opening.yaml")
    return _Patterns(**{name: {lang: _one(data[f"{lang}_{key}"]) for lang in ("zh", "en")}
                        for name, key in (("self_", "self"), ("company", "company"), ("purpose", "purpose"),
                                          ("not_purpose_question", "not_purpose_question"))})


def _purpose_question(norm: str, lang: str) -> bool:
    """A question about the customer's business, not "请问是李总吗" / "do you have a minute?".
    Clause by clause: "您好，这里是顺达，请问您是张经理吗？" asks only who is on the line."""
    for clause in _CLAUSE.split(norm):
        check = _patterns().not_purpose_question[lang]
        if lang == "zh":
            clause = check.sub("", clause.strip(), count=1).strip()
        elif check.search(clause):
            continue
        if not clause.strip() or question_kind(clause, lang) is None:
            continue
        if lang == "zh" and len(_CJK_CHAR.findall(clause)) >= _MIN_ZH_CHARS:
            return True
        if lang == "en" and len(re.findall(r"[a-z']+", clause)) >= _MIN_EN_WORDS:
            return True
    return False


def opening_parts(text: str, lang: str | None = None) -> set[str]:
    """Which of self / company / purpose a rep's turn says."""
    pats = _patterns()
    found: set[str] = set()
    for s in split_sentences(text):
        norm = normalize(s.text).replace("\u2019", "'")
        # code-switched openings ("我是Acme的Tom"): both languages' shapes are looked for
        langs = ("zh", "en") if has_cjk(norm) and re.search(r"[a-z]{2}", norm) else \
            (lang if lang in ("zh", "en") else detect_language(s.text),)
        for lg in langs:
            if pats.self_[lg].search(norm):
                found.add("self")
            if pats.company[lg].search(norm):
                found.add("company")
            if pats.purpose[lg].search(norm) or _purpose_question(norm, lg):
                found.add("purpose")
    return found
