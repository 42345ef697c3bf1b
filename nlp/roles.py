"""Who sounds like the rep: help for assigning roles when one channel holds every speaker.

The role classifier (trained on the corpus's rep and customer lines) gives P(rep) per turn; a
speaker's score is the length-weighted mean over their turns. Self-introductions, pitches and
qualification questions push it up; "太贵了" and "我说了不算" push it down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from callscope.config import Settings
from nlp.model import load_classifiers


def rep_probabilities(texts: Sequence[str], settings: Settings | None = None) -> list[float]:
    """P(rep) for each text."""
    if not texts:
        return []
    model = load_classifiers(settings or Settings.from_env()).role
    column = list(model.classes_).index("rep")
    return [float(p) for p in model.predict_proba(list(texts))[:, column]]


def rep_scores(texts_by_speaker: Mapping[str, Sequence[str]],
               settings: Settings | None = None) -> dict[str, float]:
    """Each speaker's likelihood (0-1) of being the rep, from what they said."""
    scores: dict[str, float] = {}
    for speaker, texts in texts_by_speaker.items():
        texts = [t for t in texts if t.strip()]
        if not texts:
            scores[speaker] = 0.5
            continue
        weights = np.array([min(len(t), 40) for t in texts], dtype=float)  # long turns say more
        scores[speaker] = float(np.average(rep_probabilities(texts, settings), weights=weights))
    return scores
