"""Questions: is a sentence a question, and is it open (what/how/why) or closed (yes/no)?

ASR often drops the question mark, so lexical cues from nlp/data/questions.yaml decide as well.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from nlp.resources import load_yaml
from nlp.text import detect_language, normalize, split_sentences

QuestionKind = Literal["open", "closed"]
_TRAILING = re.compile(r"[\s。.，,！!…~～]+$")


@functools.lru_cache(maxsize=1)
def _cues() -> dict[str, list[str]]:
    return {k: [normalize(v) for v in vs] for k, vs in load_yaml("questions.yaml").items()}


def _zh_kind(norm: str) -> QuestionKind | None:
    cues = _cues()
    masked = norm
    for phrase in cues["zh_not_question"]:
        masked = masked.replace(phrase, "_" * len(phrase))
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
    kind = _en_clause_kind(norm)
    if kind is None and "," in norm:
        # "Sarah, do you have a minute" / "out of curiosity, how much time..."
        kind = _en_clause_kind(norm.rsplit(",", 1)[1])
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


def question_kind(text: str, lang: str | None = None) -> QuestionKind | None:
    """'open', 'closed', or None when the sentence is not a question."""
    norm = normalize(text).strip()
    if not norm:
        return None
    lang = lang if lang in ("zh", "en") else detect_language(text)
    return _zh_kind(norm) if lang == "zh" else _en_kind(norm)


def is_question(text: str, lang: str | None = None) -> bool:
    """True when the sentence (or any sentence of the turn) asks something."""
    return any(question_kind(s.text, lang) for s in split_sentences(text))
