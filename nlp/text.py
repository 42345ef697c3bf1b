"""Text normalisation, language guess and sentence splitting shared by every nlp module.

`normalize` maps one character to one character, so offsets found in the normalised text are
valid in the original (we point evidence at the words the customer actually said).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from callscope.nlp.resources import DATA_DIR

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# sentence ends; a comma is not one (ASR text often has commas only), nor the point in 3.5
_SENTENCE_END = re.compile(r".+?(?:[。！？!?；;…\n]+|\.+(?=\s|$)|$)", re.S)


@functools.lru_cache(maxsize=1)
def _char_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in (DATA_DIR / "t2s.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split()
            table[ord(trad)] = simp
    # full-width ASCII (ＡＢＣ１２３！？) -> half-width, one char each
    for code in range(0xFF01, 0xFF5F):
        table.setdefault(code, chr(code - 0xFEE0))
    table[0x3000] = " "
    return table


def normalize(text: str) -> str:
    """Lower case, simplified characters, half-width ASCII; same length as the input."""
    return text.translate(_char_table()).lower()


def detect_language(text: str) -> str:
    """'zh' when the text has Chinese characters enough to matter, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    # a Chinese sentence with a few English terms (CRM, demo) is still Chinese
    return "zh" if cjk and cjk >= latin else "en"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class Sentence:
    text: str
    begin: int  # char offsets in the turn text
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a turn (whole turn when ASR gave no punctuation), stripped, with offsets."""
    out = []
    for m in _SENTENCE_END.finditer(text):
        raw = m.group(0)
        stripped = raw.strip()
        if not stripped or not (has_cjk(stripped) or _LATIN_WORD.search(stripped) or any(
                c.isdigit() for c in stripped)):
            continue
        begin = m.start() + (len(raw) - len(raw.lstrip()))
        out.append(Sentence(stripped, begin, begin + len(stripped)))
    return out


_PUNCT = re.compile(r"[^\w\s]|_")


def model_text(text: str) -> str:
    """What the classifiers see: normalised, punctuation as spaces (ASR may have none at all)."""
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", normalize(text))).strip()
