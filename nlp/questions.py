"""Questions: is a sentence a question, and is it open (what/how/why) or closed (yes/no)?

ASR often drops the question mark, so lexical cues from nlp/data/questions.yaml decide as well.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from callscope.nlp.resources import load_yaml
from callscope.nlp.text import detect_language, normalize, split_sentences

QuestionKind = Literal["open", "closed"]
_TRAILING = re.compile(r"[\s。.，,！!…~～]+$")
# question words at least this many characters apart ask separate things (谁在做…怎么安排)
ZH_ASK_SPACING = 6
MAX_ASKS_PER_SENTENCE = 2


@functools.lru_cache(maxsize=1)
def _cues() -> dict[str, list[str]]:
    return {k: [normalize(v) for v in vs] for k, vs in load_yaml("questions.yaml").items()}


def _zh_masked(norm: str) -> str:
    """The sentence with question words that ask nothing blanked out."""
    for phrase in _cues()["zh_not_question"]:
        norm = norm.replace(phrase, "_" * len(phrase))
    return norm


def _zh_kind(norm: str) -> QuestionKind | None:
    cues = _cues()
    masked = _zh_masked(norm)
    if any(c in masked for c in cues["zh_open"]):
        return "open"
    body = _TRAILING.sub("", masked)
    if body.endswith(("?", "？")):
        return "closed"
    if any(c in masked for c in cues["zh_closed"]):
        return "closed"
    if any(body.endswith(p.rstrip("？?")) for p in cues["zh_final"]):
        # "吧" alone is a suggestion ("那就这样吧"); only with a question mark
        return "closed" if not body.endswith("吧") else None
    return None


def _en_kind(norm: str) -> QuestionKind | None:
    norm = _TRAILING.sub("", norm)  # "weekends?。" ends with its question mark
    kind = _en_clause_kind(norm)
    if kind != "open" and "," in norm:
        # "Sarah, do you have a minute" / "out of curiosity, how much time..." / "can I ask, who..."
        kind = _en_clause_kind(norm.rsplit(",", 1)[1]) or kind
    return kind


def _en_words(norm: str) -> list[str]:
    """The clause's words with contracted question words opened ("what's" -> "what") and leading
    fillers dropped ("so what...", "okay and how..."), as the question starts after them."""
    cues = _cues()
    words = [w.split("'")[0] if w.split("'")[0] in cues["en_open"] else w
             for w in re.findall(r"[a-z']+", norm)]
    while len(words) > 1 and words[0] in cues["en_filler"]:
        words = words[1:]
    return words


def _en_clause_kind(norm: str) -> QuestionKind | None:
    cues = _cues()
    words = _en_words(norm)
    if not words:
        return None
    if " ".join(words[:2]) in cues["en_request"] and any(
            " ".join(words[2:]).startswith(c) for c in cues["en_open_request"]):
        return "open"  # "can you tell me about...", "could you walk me through..." ask for a story
    head = " ".join(words[:3])
    open_lead = any(head == c or head.startswith(c + " ") for c in cues["en_open"])
    if open_lead and not (words[0] in ("what", "how") and len(words) > 1 and words[1] in ("a", "an")):
        # "What a day" / "how nice" are exclamations
        return "open"
    closed_lead = words[0] in cues["en_closed"] or any(head.startswith(c + " ") for c in cues["en_closed"]
                                                      if " " in c)
    if norm.rstrip().endswith("?"):
        return "open" if any(w in ("what", "how", "why", "which") for w in words[:6]) else "closed"
    if closed_lead and len(words) >= 3 and words[0] != "right":
        return "closed"
    return None


def _prepared(text: str, lang: str | None) -> tuple[str, str] | None:
    """The sentence normalised, with its language (zh | en); None when nothing is left."""
    norm = normalize(text).strip()
    if not norm:
        return None
    return norm, lang if lang in ("zh", "en") else detect_language(text)


def _kind(norm: str, lang: str) -> QuestionKind | None:
    return _zh_kind(norm) if lang == "zh" else _en_kind(norm)


def question_kind(text: str, lang: str | None = None) -> QuestionKind | None:
    """'open', 'closed', or None when the sentence is not a question."""
    prepared = _prepared(text, lang)
    return _kind(*prepared) if prepared else None


def _zh_open_asks(norm: str) -> int:
    """Open questions inside one open Chinese sentence (so at least one question word): ASR often
    runs two together without a question mark ("现在的账是谁在做开票和报税是怎么安排的"), so
    question words standing ZH_ASK_SPACING characters apart count apart, up to MAX_ASKS_PER_SENTENCE."""
    masked = _zh_masked(norm)
    starts = sorted({m.start() for c in _cues()["zh_open"] for m in re.finditer(re.escape(c), masked)})
    asks, last = 0, None
    for start in starts:
        if last is None or start - last >= ZH_ASK_SPACING:
            asks, last = asks + 1, start
    return min(asks, MAX_ASKS_PER_SENTENCE)


@dataclass(frozen=True)
class QuestionCount:
    asked: int = 0  # questions asked
    open: int = 0  # of them open

    @property
    def closed(self) -> int:
        return self.asked - self.open


def count_questions(text: str, lang: str | None = None) -> QuestionCount:
    """The questions a turn asks: THE definition of a question count, used by the metrics, the
    scorecard and the report alike. One per sentence that asks (question_kind), and for an open
    Chinese sentence one per question word standing apart, as ASR runs two questions together
    without a question mark (at most MAX_ASKS_PER_SENTENCE)."""
    asked = open_ = 0
    for sentence in split_sentences(text):
        prepared = _prepared(sentence.text, lang)
        kind = _kind(*prepared) if prepared else None
        if kind is None:
            continue
        norm, sentence_lang = prepared  # type: ignore[misc]
        asks = _zh_open_asks(norm) if kind == "open" and sentence_lang == "zh" else 1
        asked += asks
        open_ += asks if kind == "open" else 0
    return QuestionCount(asked, open_)


def count_open_questions(text: str, lang: str | None = None) -> int:
    """Open questions asked in a turn (count_questions(...).open)."""
    return count_questions(text, lang).open


def is_question(text: str, lang: str | None = None) -> bool:
    """True when the sentence (or any sentence of the turn) asks something."""
    return any(question_kind(s.text, lang) for s in split_sentences(text))
