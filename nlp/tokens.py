"""Tokenizing: jieba for Chinese runs (with the sales user dictionary), a regex for the rest.

jieba builds its prefix dictionary on first use (about a second), so one tokenizer is made
lazily, under a lock, with jieba's logger silenced.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from itertools import pairwise

import jieba

from callscope.nlp.resources import DATA_DIR
from callscope.nlp.text import normalize

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# English words (keeping don't, e-mail), numbers with decimals and %, latin+digit codes (x5, 5g)
_OTHER_TOKEN = re.compile(r"[a-z]+(?:['’][a-z]+)?|\d+(?:[.,]\d+)*%?|[a-z0-9]+")

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added_terms: set[str] = set()


def default_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer on jieba's own dictionary, built now, without jieba's log lines on stderr."""
    jieba.setLogLevel(logging.ERROR)  # "Building prefix dict..." lines on stderr otherwise
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _get_tokenizer(extra_terms: Iterable[str] = ()) -> jieba.Tokenizer:
    global _tokenizer
    extra = [t for t in extra_terms if t and t not in _added_terms]
    if _tokenizer is not None and not extra:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            tok = default_tokenizer()
            tok.load_userdict(str(DATA_DIR / "userdict.txt"))
            _tokenizer = tok
        for term in extra:
            _tokenizer.add_word(normalize(term), freq=2000)
            _added_terms.add(term)
        if extra:
            _cut.cache_clear()
        return _tokenizer


@functools.lru_cache(maxsize=50000)
def _cut(run: str) -> tuple[str, ...]:
    """jieba's words of one Chinese run; cached: a call's turns, its whole text and the
    classifiers' features all cut the same runs."""
    assert _tokenizer is not None
    return tuple(w for w in _tokenizer.lcut(run, HMM=True) if w.strip())


def tokenize(text: str, extra_terms: Iterable[str] = ()) -> list[str]:
    """Word tokens of mixed Chinese/English text: normalised, lower case, no punctuation."""
    norm = normalize(text)
    _get_tokenizer(extra_terms)
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(norm):
        out.extend(_OTHER_TOKEN.findall(norm[pos:m.start()]))
        out.extend(_cut(m.group(0)))
        pos = m.end()
    out.extend(_OTHER_TOKEN.findall(norm[pos:]))
    return out


def word_edges(text: str) -> tuple[set[int], set[tuple[int, int]]]:
    """Where words begin or end in normalize(text): jieba's words (dictionary only, no HMM guesses,
    which glue unknown runs together) in Chinese runs, every character edge elsewhere; and the spans of
    dictionary words inside longer ones (jieba's search mode: 价格 and 便宜 in 价格便宜, 公司 in 贵公司,
    never a single character)."""
    norm = normalize(text)
    tokenizer = _get_tokenizer()
    bounds = set(range(len(norm) + 1))
    inner: set[tuple[int, int]] = set()
    for m in _CJK_RUN.finditer(norm):
        bounds -= set(range(m.start() + 1, m.end()))
        for _, begin, end in tokenizer.tokenize(m.group(0), HMM=False):
            bounds.update((m.start() + begin, m.start() + end))
        inner.update((m.start() + begin, m.start() + end)
                     for _, begin, end in tokenizer.tokenize(m.group(0), mode="search", HMM=False))
    return bounds, inner


@functools.lru_cache(maxsize=20000)
def token_features(text: str) -> list[str]:
    """Token unigrams and bigrams: the classifiers' word features (a module-level function so
    trained pipelines pickle by reference; cached because training sees each text many times)."""
    words = tokenize(text)
    return words + [f"{a} {b}" for a, b in pairwise(words)]
