"""Mandarin homophones after decoding: 和同 -> 合同, 下五 -> 下午, 爆架 -> 报价, 抄生科 -> 超声科.

Whisper base hears a Mandarin syllable right far more often than it picks the right characters for
it: on the dev set's full-band calls more than half the character errors were characters of the
same sound. Each run of Chinese characters is segmented the way jieba segments (the most probable
path through a word-frequency dictionary), with one more choice at every span: a sales word that
sounds the same (pinyin, tones aside) as what was written. The spelling changes where that word
makes the path more probable by more than CHANGE_COST per changed character. So a change always
forms a word; no character is swapped on its own (names stay as decoded), and a span that is
already a word stays.

Where the words come from:
- the scoring: jieba's dictionary (word frequencies of a general corpus);
- the sales words a span may become: a Vocabulary the pipeline hands in (nlp's user dictionary and
  the words of nlp's training corpus), the ways a call addresses people (asr/data/titles.yaml:
  王经理, 刘总), the configured hotwords and extra terms. General words are not candidates:
  letting every dictionary word in also turned 一版 into 一般 and 包装太薄 into 太保; at each
  change cost tried (2, 3, 4) the tuning set's CER came out 0.1 to 1.2 points worse than with
  sales words only.
The costs were chosen on bench/tuneset, never on the dev set; docs/performance.md has the figures.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
import yaml
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

from callscope.models.document import Word

ASR_DATA = Path(__file__).resolve().parent / "data"
# log-probability one changed character costs (on bench/tuneset 2, 3 and 4 all gained; 2 the most),
# and the extra cost where its tone differs too
CHANGE_COST = 2.0
TONE_COST = 1.0
LONGEST = 4  # characters of the longest word considered
# sales terms and hotwords count as at least this frequent (a common word in jieba's dictionary);
# a surname + title as a rare word: enough for 王经历 -> 王经理, not for 理财经理 -> 李蔡经理
# (on the tuning set 100 to 1000 gave the same CER, 20000 was 0.1 point worse)
TERM_FREQ = 20000
ADDRESS_FREQ = 200
# words further apart than this (seconds) are not read as one stretch of text
GROUP_GAP = 0.5
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Lexicon:
    logp: dict[str, float]  # word -> log probability
    unknown: float  # log probability of a character the dictionary does not know
    by_sound: dict[tuple[str, ...], tuple[str, ...]]  # toneless syllables -> sales words of that sound


def _heard(char: str) -> tuple[str, ...]:
    """The readings a decoded character may stand for: its first two in pypinyin's table (the table
    also lists rare readings, such as yuè for 块, that would make 来块 sound like 来说)."""
    code = pinyin_dict.get(ord(char))
    return tuple(code.split(",")[:2]) if code else ()


def _spoken(word: str) -> tuple[str, ...] | None:
    """A word's reading: pypinyin's phrase table, else each character's first reading."""
    if word in phrases_dict:
        return tuple(r[0] for r in phrases_dict[word])
    readings = [_heard(c) for c in word]
    return tuple(r[0] for r in readings) if all(readings) else None


@functools.lru_cache(maxsize=8192)
def _toneless(reading: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))


def _sound_keys(span: str) -> Iterable[tuple[str, ...]]:
    """Every toneless reading sequence the decoded span may stand for."""
    heard = [sorted({_toneless(r) for r in _heard(c)}) for c in span]
    return itertools.product(*heard) if all(heard) else ()


@dataclass(frozen=True)
class Vocabulary:
    """What the recognizer should know of the domain, handed in by the pipeline (asr reads nothing of
    nlp): `words` a misheard span may become (the words of the sales corpus) and `terms` that also
    count as frequent words (the user dictionary of sales terms)."""

    words: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()


NO_VOCABULARY = Vocabulary()  # hotwords, extra terms and the ways to address people only


@functools.lru_cache(maxsize=1)
def _addresses() -> frozenset[str]:
    """The ways a call addresses people (asr/data/titles.yaml: 王经理, 李总)."""
    titles = yaml.safe_load((ASR_DATA / "titles.yaml").read_text(encoding="utf-8"))
    return frozenset(s + t for s in titles["surnames"].split() for t in titles["titles"].split())


@functools.lru_cache(maxsize=8)
def load_lexicon(vocabulary: Vocabulary = NO_VOCABULARY, terms: tuple[str, ...] = ()) -> Lexicon:
    """jieba's word frequencies; the vocabulary, the ways to address people and `terms` (hotwords) as
    what a span may become."""
    freq: dict[str, int] = {}
    with jieba.get_dict_file() as dictionary:
        for line in dictionary:
            word, count, *_ = line.decode("utf-8").split()
            freq[word] = int(count)
    corpus_words, userdict_terms, addresses = vocabulary.words, vocabulary.terms, _addresses()
    for term in userdict_terms | set(terms):
        freq[term] = max(freq.get(term, 0), TERM_FREQ)
    for address in addresses:
        freq[address] = max(freq.get(address, 0), ADDRESS_FREQ)
    total = float(sum(freq.values()))
    by_sound: dict[tuple[str, ...], list[str]] = {}
    for word in sorted(corpus_words & freq.keys() | userdict_terms | addresses | set(terms)):
        if 2 <= len(word) <= LONGEST and _CJK_RUN.fullmatch(word) and (spoken := _spoken(word)):
            by_sound.setdefault(tuple(_toneless(r) for r in spoken), []).append(word)
    return Lexicon({w: math.log(c / total) for w, c in freq.items()}, math.log(0.5 / total),
                   {k: tuple(v) for k, v in by_sound.items()})


def correct_text(text: str, lexicon: Lexicon) -> str:
    """A run of Chinese characters with its homophones corrected (same length, character for character)."""
    # best[end]: score of the best path through text[:end], where its last word starts, that word
    best: list[tuple[float, int, str]] = [(0.0, 0, "")] + [(-math.inf, 0, "")] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - LONGEST), end):
            for word, cost in _choices(text[start:end], lexicon):
                total = best[start][0] + lexicon.logp.get(word, lexicon.unknown) - cost
                if total > best[end][0]:
                    best[end] = (total, start, word)
    words, end = [], len(text)
    while end:
        _, end, word = best[end]
        words.append(word)
    return "".join(reversed(words))


def _choices(span: str, lexicon: Lexicon) -> Iterable[tuple[str, float]]:
    """The span as written (a single character or a known word), and, where the span is not a word,
    the sales words that sound like it, each with what its changes cost."""
    if len(span) == 1 or span in lexicon.logp:
        yield span, 0.0
        return
    for key in _sound_keys(span):
        for word in lexicon.by_sound.get(key, ()):
            yield word, sum(CHANGE_COST + (0.0 if set(_heard(a)) & set(_heard(b)) else TONE_COST)
                            for a, b in zip(span, word, strict=True) if a != b)


def correct_words(words: list[Word], vocabulary: Vocabulary = NO_VOCABULARY,
                  terms: Iterable[str] = ()) -> int:
    """Correct homophones in decoded words, in place: each character keeps its word and that word's
    timing. Returns how many characters changed."""
    lexicon = load_lexicon(vocabulary, tuple(terms))
    changed = 0
    for group in _groups(words):
        text = "".join(w.text for w in group)
        fixed = _CJK_RUN.sub(lambda m: correct_text(m.group(), lexicon), text)
        if fixed == text:
            continue
        changed += sum(a != b for a, b in zip(text, fixed, strict=True))
        cursor = 0
        for w in group:
            w.text = fixed[cursor:cursor + len(w.text)]
            cursor += len(w.text)
    return changed


def _groups(words: list[Word]) -> list[list[Word]]:
    """Consecutive words no more than GROUP_GAP seconds apart (one stretch of speech)."""
    groups: list[list[Word]] = []
    for w in words:
        if groups and w.start - groups[-1][-1].end <= GROUP_GAP:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups
