"""Mandarin turn punctuation: every turn ends with a sentence mark, questions end with ？.

A light rule read from asr/data/zh_punctuation.yaml (particles, tag questions, question words and the
uses of question words that do not ask): see that file for what it does. No model, no timing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from callscope.asr.text import chinese_punctuation

RULES_FILE = Path(__file__).parent / "data" / "zh_punctuation.yaml"
_SENTENCE = re.compile(r"[^。！？；]+[。！？；]*|[。！？；]+")
_CLAUSE = re.compile(r"[^，、]+[，、]*|[，、]+")
_MARKS = "。！？；，、…."
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Rules:
    particles: tuple[str, ...]
    clause_particles: tuple[str, ...]
    tags: tuple[str, ...]
    not_question_endings: tuple[str, ...]
    question_words: tuple[str, ...]
    not_questions: tuple[str, ...]


@functools.cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    keys = ("particles", "clause_particles", "tags", "not_question_endings", "question_words",
            "not_questions")
    return Rules(*(tuple(str(x) for x in data.get(key) or ()) for key in keys))


def _bare(clause: str) -> str:
    return clause.strip().rstrip(_MARKS + " ").strip()


def clause_asks(clause: str, rules: Rules, *, last: bool) -> bool:
    """Whether the clause (punctuation ignored) is a question: a particle or tag at its end, or, for a
    sentence's last clause, a question word not in a non-asking use."""
    text = _bare(clause)
    if not text:
        return False
    if text.endswith(rules.not_question_endings):
        return False
    if text.endswith(rules.tags) or text.endswith(rules.particles if last else rules.clause_particles):
        return True
    if last and any(w in text for w in rules.question_words):
        return not any(n in text for n in rules.not_questions)
    return False


def punctuate_zh(text: str, rules: Rules | None = None) -> str:
    """A Mandarin turn's text with full-width punctuation, question marks where the rules say, and a
    sentence mark at its end ("好的，那价格是多少" -> "好的，那价格是多少？")."""
    rules = rules or load_rules()
    text = chinese_punctuation(text.strip())
    if not text:
        return text
    out = []
    for sentence in _SENTENCE.findall(text):
        body = sentence.rstrip("。！？；")
        end = sentence[len(body):]
        clauses = _CLAUSE.findall(body)
        marked = []
        for i, clause in enumerate(clauses):
            last = i == len(clauses) - 1
            if not last and clause_asks(clause, rules, last=False) and clause.rstrip().endswith("，"):
                clause = clause.rstrip()[:-1] + "？"  # 请问是陈先生吗，我是… -> 吗？我是…
            marked.append(clause)
        body = "".join(marked)
        if clauses and clause_asks(clauses[-1], rules, last=True) and not end.startswith("！"):
            body, end = body.rstrip("，、 "), "？"
        elif not end and _CJK.search(body):
            body, end = body.rstrip("，、 "), "。" if not body.rstrip().endswith(("？", "！")) else ""
        out.append(body + end)
    result = "".join(out)
    if _CJK.search(result) and not result.endswith(("。", "？", "！", "…", ".", "?", "!")):
        result = result.rstrip("，、；; ") + "。"
    return result
