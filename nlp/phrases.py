"""Phrase lexicons: find listed phrases in a turn, respecting word boundaries and negation.

A lexicon file maps a name (a rule id, a tracker, an objection type) to phrases. Chinese phrases
match as substrings (or, for trackers, as whole jieba words); English ones on word boundaries. A
phrase with "…" in it leaves room there for up to GAP_CHARS characters (zh) or GAP_WORDS words (en)
within one sentence: "保证…提高" matches "保证孩子成绩提高". A match right after a negation
("不能保证收益", "can't guarantee") does not count where the lexicon asks for that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callscope.nlp.text import has_cjk, normalize
from callscope.nlp.tokens import word_edges

# how far back a negation may stand: characters (zh) / words (en), within the same clause
_ZH_NEGATION_WINDOW = 4
_EN_NEGATION_WINDOW = 3
_CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;：:]")
GAP = "…"
GAP_CHARS = 12
GAP_WORDS = 4
_ZH_GAP = rf"[^。！!？?；;]{{0,{GAP_CHARS}}}?"
_EN_GAP = rf"(?:\s+[^\s.!?;]+){{0,{GAP_WORDS}}}?\s+"


@dataclass(frozen=True)
class Match:
    name: str
    term: str
    begin: int
    end: int


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", normalize(text.strip()))


def _pattern(term: str) -> str:
    gap = _ZH_GAP if has_cjk(term) else _EN_GAP
    return gap.join(re.escape(part.strip()).replace(r"\ ", r"\s+") for part in term.split(GAP))


def _alternation(terms: Iterable[str]) -> str:
    # longer alternatives first so "绝对没有风险" wins over "没有风险"
    return "|".join(_pattern(t) for t in sorted(set(terms), key=len, reverse=True))


def _bounded(pattern: str, english: bool) -> str:
    """English phrases match whole words only."""
    return rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])" if english else pattern


class PhraseLexicon:
    """Compiled phrase lists: {name: [phrases]} plus optional negation words.

    One regular expression for all plain phrases (Chinese as substrings, English on word
    boundaries); what it matched is looked up to find the names, so scanning a turn costs one regex
    pass. Phrases with a gap have a pattern each, tried after it.
    """

    def __init__(self, groups: Mapping[str, Iterable[str]], negations: Iterable[str] = (),
                 whole_words: bool = False):
        # whole_words: a Chinese phrase counts only where it is whole jieba words, or a dictionary word
        # inside a longer one (价格 in 价格便宜; 贵 in 贵公司 is not)
        self._whole_words = whole_words
        self._lookup: dict[str, list[tuple[str, str]]] = {}
        for name, terms in groups.items():
            for term in terms or ():
                term = str(term)
                if term.strip():
                    self._lookup.setdefault(_key(term), []).append((name, term))
        self._gapped = [(re.compile(_bounded(_pattern(key), not has_cjk(key))), entries)
                        for key, entries in self._lookup.items() if GAP in key]
        plain = [k for k in self._lookup if GAP not in k]
        zh = [k for k in plain if has_cjk(k)]
        en = [k for k in plain if not has_cjk(k)]
        parts = [f"(?:{_alternation(zh)})"] if zh else []
        parts += [_bounded(_alternation(en), True)] if en else []
        self._regex = re.compile("|".join(parts)) if parts else None
        negations = [str(n) for n in negations]
        self._zh_neg = [normalize(n) for n in negations if has_cjk(n)]
        self._en_neg = {normalize(n) for n in negations if not has_cjk(n)}

    def _negated(self, norm: str, begin: int, term: str) -> bool:
        if has_cjk(term):
            window = norm[max(0, begin - _ZH_NEGATION_WINDOW):begin]
            window = _CLAUSE_BREAK.split(window)[-1]
            return any(n in window for n in self._zh_neg)
        window = _CLAUSE_BREAK.split(norm[:begin])[-1]
        words = re.findall(r"[a-z']+", window)[-_EN_NEGATION_WINDOW:]
        return any(w in self._en_neg or w.endswith("n't") for w in words)

    def find(self, text: str) -> list[Match]:
        """Every match, in text order (plain phrases do not overlap one another)."""
        norm = normalize(text)
        plain = self._regex.finditer(norm) if self._regex else ()
        found = [(m, self._lookup[_key(m.group(0))]) for m in plain]
        found += [(m, entries) for regex, entries in self._gapped for m in regex.finditer(norm)]
        out = []
        edges: tuple[set[int], set[tuple[int, int]]] | None = None
        for m, entries in sorted(found, key=lambda f: f[0].start()):
            if (self._zh_neg or self._en_neg) and self._negated(norm, m.start(), entries[0][1]):
                continue
            if self._whole_words and has_cjk(m.group(0)):
                edges = word_edges(norm) if edges is None else edges
                bounds, inner = edges
                if (m.start() not in bounds or m.end() not in bounds) and (m.start(), m.end()) not in inner:
                    continue
            out.extend(Match(name, term, m.start(), m.end()) for name, term in entries)
        return out

    def names(self, text: str) -> set[str]:
        return {m.name for m in self.find(text)}
