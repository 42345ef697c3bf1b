"""Compliance phrases (rep only) and keyword trackers (everyone), as Hits with times."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from callscope.core.errors import ModelError
from callscope.models.document import Hit, Transcript
from callscope.nlp.phrases import PhraseLexicon
from callscope.nlp.resources import DATA_DIR, load_yaml
from callscope.nlp.spans import span_times
from callscope.nlp.text import split_sentences


def _scan(transcript: Transcript, lexicon: PhraseLexicon, roles: Iterable[str]) -> list[Hit]:
    hits: list[Hit] = []
    wanted = set(roles)
    for index, turn in enumerate(transcript.turns):
        if turn.role not in wanted:
            continue
        for sentence in split_sentences(turn.text):
            seen = set()
            for m in lexicon.find(sentence.text):
                if m.name in seen:  # one hit per rule per sentence: evidence, not a word count
                    continue
                seen.add(m.name)
                start, end = span_times(turn, sentence.begin, sentence.end)
                hits.append(Hit(name=m.name, term=sentence.text[m.begin:m.end], turn=index, start=start,
                                end=end, text=sentence.text, role=turn.role))
    return hits


@functools.lru_cache(maxsize=1)
def _compliance_lexicon() -> PhraseLexicon:
    data = load_yaml("compliance.yaml")
    return PhraseLexicon(data["rules"], negations=data.get("negations", ()))


def find_compliance(transcript: Transcript) -> list[Hit]:
    """Forbidden claims said by the rep (nlp/data/compliance.yaml)."""
    return _scan(transcript, _compliance_lexicon(), roles=("rep",))


@functools.lru_cache(maxsize=8)
def _tracker_lexicon(path: str) -> PhraseLexicon:
    data = load_yaml(path)
    groups = data.get("trackers") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        raise ModelError(f"tracker file {path} needs a 'trackers:' mapping of name -> list of words")
    return PhraseLexicon(groups, whole_words=True)


def load_trackers(trackers_path: str | Path = "") -> PhraseLexicon:
    """The tracker keyword groups: trackers_path, or nlp/data/trackers.yaml; ModelError when unusable."""
    return _tracker_lexicon(str(trackers_path) if str(trackers_path) else str(DATA_DIR / "trackers.yaml"))


def find_trackers(transcript: Transcript, trackers_path: str | Path = "") -> list[Hit]:
    """Tracker keywords said by anyone; trackers_path overrides nlp/data/trackers.yaml."""
    return _scan(transcript, load_trackers(trackers_path), roles=("rep", "customer"))
