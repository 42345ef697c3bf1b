"""Funnel stage per turn and per call.

Turn stage: the stage classifier's probabilities, blended with the call's stage for turns that say
little ("嗯好的" belongs to whatever stage the call is in). Call stage: a log-linear combination
(weights in nlp/data/stage.yaml) of the length- and role-weighted mean of turn probabilities, the
classifier on the whole call's text, and strong stage cues (签合同/付款 -> closing).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callscope.models.document import STAGES
from callscope.nlp.model import Classifiers
from callscope.nlp.resources import load_yaml
from callscope.nlp.text import normalize

_EPS = 1e-4


@dataclass(frozen=True)
class StageConfig:
    role_weights: dict[str, float]
    full_weight_tokens: int
    min_turn_weight: float
    w_turns: float
    w_whole: float
    w_cues: float
    cues: dict[str, re.Pattern[str]]


@functools.lru_cache(maxsize=1)
def stage_config() -> StageConfig:
    data = load_yaml("stage.yaml")
    cues = {s: re.compile("|".join(f"(?:{normalize(p)})" for p in data["cues"].get(s, []))) for s in STAGES}
    return StageConfig(role_weights=data["role_weights"], full_weight_tokens=data["full_weight_tokens"],
                       min_turn_weight=data["min_turn_weight"], w_turns=data["weights"]["turns"],
                       w_whole=data["weights"]["whole_call"], w_cues=data["weights"]["cues"], cues=cues)


def stage_probabilities(classifier: object, texts: Sequence[str]) -> np.ndarray:
    """(n, 6) probabilities in STAGES order."""
    if not texts:
        return np.zeros((0, len(STAGES)))
    proba = classifier.predict_proba(list(texts))  # type: ignore[attr-defined]
    order = [list(classifier.classes_).index(s) for s in STAGES]  # type: ignore[attr-defined]
    return proba[:, order]


def turn_weights(token_counts: Sequence[int], roles: Sequence[str]) -> np.ndarray:
    """How much each turn says about the call's stage."""
    cfg = stage_config()
    saturation = np.minimum(np.asarray(token_counts, dtype=float) / cfg.full_weight_tokens, 1.0)
    role = np.array([cfg.role_weights.get(r, 1.0) for r in roles])
    return np.maximum(saturation, cfg.min_turn_weight) * role


def cue_counts(texts: Sequence[str]) -> np.ndarray:
    """Distinct strong cues per stage over the call."""
    cfg = stage_config()
    joined = normalize("\n".join(texts))
    return np.array([len(set(cfg.cues[s].findall(joined))) if cfg.cues[s].pattern else 0 for s in STAGES],
                    dtype=float)


def combine_call_stage(turn_probs: np.ndarray, weights: np.ndarray, whole_probs: np.ndarray,
                       cues: np.ndarray) -> np.ndarray:
    """The call's stage distribution (sums to 1) from its turns, whole text and cues."""
    cfg = stage_config()
    if len(turn_probs) == 0 or weights.sum() <= 0:
        mean_turns = np.full(len(STAGES), 1.0 / len(STAGES))
    else:
        mean_turns = (turn_probs * weights[:, None]).sum(axis=0) / weights.sum()
    logits = (cfg.w_turns * np.log(mean_turns + _EPS) + cfg.w_whole * np.log(whole_probs + _EPS)
              + cfg.w_cues * np.log1p(cues))
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def smooth_turns(turn_probs: np.ndarray, weights: np.ndarray, call_probs: np.ndarray) -> np.ndarray:
    """A turn's stage leans on the call's stage as much as the turn says little."""
    share = np.clip(weights, 0.0, 1.0)[:, None]
    return share * turn_probs + (1.0 - share) * call_probs[None, :]


@dataclass
class StageResult:
    call_stage: str
    call_scores: dict[str, float]
    turn_stages: list[str]
    turn_confidences: list[float]


def classify_stages(classifiers: Classifiers, texts: Sequence[str], roles: Sequence[str],
                    token_counts: Sequence[int]) -> StageResult:
    turn_probs = stage_probabilities(classifiers.stage, texts)
    weights = turn_weights(token_counts, roles)
    whole = stage_probabilities(classifiers.stage, ["\n".join(texts)])[0] if texts else \
        np.full(len(STAGES), 1.0 / len(STAGES))
    call = combine_call_stage(turn_probs, weights, whole, cue_counts(texts))
    smoothed = smooth_turns(turn_probs, weights, call) if len(texts) else turn_probs
    best = smoothed.argmax(axis=1) if len(texts) else []
    return StageResult(
        call_stage=STAGES[int(call.argmax())],
        call_scores={s: float(p) for s, p in zip(STAGES, call, strict=True)},
        turn_stages=[STAGES[int(i)] for i in best],
        turn_confidences=[float(smoothed[k, i]) for k, i in enumerate(best)],
    )
