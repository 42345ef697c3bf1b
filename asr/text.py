"""Text clean-up after decoding: simplified Chinese, Chinese punctuation, repetition loops, language."""

from __future__ import annotations

import re

import zhconv

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# ASCII punctuation Whisper writes inside Chinese text, and the full-width form a reader expects
_ZH_PUNCT = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_ASCII_AFTER_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s*([,?!:;])\s*")
_PERIOD_AFTER_CJK = re.compile(r"(?<=[\u3400-\u9fff])\.(?!\d)")
# a unit of 1-8 characters said five or more times in a row is a decoder loop, not speech
_LOOP = re.compile(r"(.{1,8}?)\1{4,}", re.DOTALL)


def to_simplified(text: str) -> str:
    """Traditional characters -> simplified (offline, zhconv's bundled table); other text untouched."""
    return zhconv.convert(text, "zh-cn") if _CJK.search(text) else text


def chinese_punctuation(text: str) -> str:
    """ASCII , ? ! : ; . right after a Chinese character become their full-width forms."""
    text = _ASCII_AFTER_CJK.sub(lambda m: _ZH_PUNCT[m.group(1)], text)
    return _PERIOD_AFTER_CJK.sub("。", text)


def collapse_loops(text: str) -> tuple[str, int]:
    """Replace each run of a repeated unit by a single copy; returns the text and how many runs were cut."""
    count = 0

    def one(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match.group(1)

    return _LOOP.sub(one, text), count


def has_loop(text: str) -> bool:
    return _LOOP.search(text) is not None


def text_language(text: str, default: str = "zh") -> str:
    """zh when Chinese characters make up a fair share of the letters, en when Latin letters dominate."""
    cjk, latin_words = len(_CJK.findall(text)), len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0 and latin_words == 0:
        return default
    # a Chinese character carries about as much as an English word
    return "zh" if cjk >= latin_words else "en"


def join_words(words: list[str]) -> str:
    """Whisper words carry their own leading spaces (English) or none (Chinese)."""
    return re.sub(r"\s+", " ", "".join(words)).strip()
