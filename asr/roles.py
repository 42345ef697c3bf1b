"""Which speaker is our sales rep: weighted text cues (asr/data/role_cues.yaml), talk time, who opens.

Used for mono calls, where no channel says who is who. Exactly one speaker is the rep; everyone
else is a customer. A caller that knows each speaker's similarity to a reference recording of the
rep can pass it as `rep_voiceprint`, as evidence beside the cues (no voiceprint source ships yet).

Where diarization cannot tell the voices apart (`voices_take_turns` says so), `roles_by_turn_taking`
gives each utterance its role instead: the floor usually changes hands at a pause, the words on
either side of the pause (a question, a reply, a continuation) move that prior, and what an
utterance says is evidence of its speaker.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from callscope.core.errors import InputError
from callscope.models.document import Role, Turn

CUES_FILE = Path(__file__).parent / "data" / "role_cues.yaml"
VOICEPRINT_WEIGHT = 20.0  # cue points per unit of (similarity above the speakers' mean)
SUBSTANTIVE = 6  # characters (or 3 words) before a turn counts as opening the call, not "喂，你好"
HANDOVER = 0.75  # share of the pauses between two utterances where the other party speaks next
CUE_NATS = 0.5  # log-odds (rep against customer) that one cue point of an utterance is worth
VOICE_ERRORS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4)  # error rates of diarization's voice labels tried
MIN_TESTED = 6  # pause-separated utterances needed to check diarization against the turn-taking


@dataclass(frozen=True)
class Cue:
    name: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class HandoverCue:
    """Moves the odds that the other party speaks next, by `nats`, where `pattern` matches the end of
    the utterance before the pause (`where: before`) or the start of the one after it (`where: after`)."""
    name: str
    where: Literal["before", "after"]
    nats: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class CueBook:
    cues: tuple[Cue, ...]
    talk_share_weight: float
    opener_weight: float
    handovers: tuple[HandoverCue, ...] = ()


@functools.lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE) -> CueBook:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        cues = tuple(Cue(c["name"], float(c["weight"]), re.compile(c["pattern"], re.IGNORECASE))
                     for c in data["cues"])
        handovers = tuple(HandoverCue(c["name"], _where(c["where"]), float(c["nats"]),
                                      re.compile(c["pattern"], re.IGNORECASE))
                          for c in data.get("handover_cues") or [])
        return CueBook(cues, float(data.get("talk_share_weight", 0.0)), float(data.get("opener_weight", 0.0)),
                       handovers)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, re.error) as exc:
        raise InputError(f"role cues {path}: {exc}") from exc


def _where(value: str) -> Literal["before", "after"]:
    if value == "before" or value == "after":
        return value
    raise ValueError(f"handover cue 'where' must be before or after, not {value!r}")


def rep_scores(turns: list[Turn], *, rep_voiceprint: dict[str, float] | None = None,
               cues: CueBook | None = None) -> dict[str, float]:
    """Evidence (cue points) that each speaker is the rep; the highest is the rep."""
    book = cues or load_cues()
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    scores = dict.fromkeys(speakers, 0.0)
    for turn in turns:
        scores[turn.speaker] += _points(turn.text, book)
    talk = {s: sum(t.duration for t in turns if t.speaker == s) for s in speakers}
    total = sum(talk.values())
    if total > 0:
        for s in speakers:
            scores[s] += book.talk_share_weight * (talk[s] / total - 1 / len(speakers)) * len(speakers)
    opener = next((t.speaker for t in turns if _substantive(t.text)), None)
    if opener is not None:
        scores[opener] += book.opener_weight
    if rep_voiceprint:
        known = [v for s, v in rep_voiceprint.items() if s in scores]
        mean = sum(known) / len(known) if known else 0.0
        for s, similarity in rep_voiceprint.items():
            if s in scores:
                scores[s] += VOICEPRINT_WEIGHT * (similarity - mean)
    return scores


def assign_roles(turns: list[Turn], *, rep_voiceprint: dict[str, float] | None = None) -> dict[str, Role]:
    """Speaker id -> rep | customer, exactly one rep. `rep_voiceprint`: speaker -> similarity to the rep."""
    return assign_roles_with_confidence(turns, rep_voiceprint=rep_voiceprint)[0]


def assign_roles_with_confidence(turns: list[Turn], *, rep_voiceprint: dict[str, float] | None = None
                                 ) -> tuple[dict[str, Role], float]:
    """The roles and a confidence in 0.5-1 (how clearly the rep's evidence beats the runner-up's)."""
    scores = rep_scores(turns, rep_voiceprint=rep_voiceprint)
    if not scores:
        return {}, 0.0
    ranked = sorted(scores, key=lambda s: (-scores[s], s))
    rep = ranked[0]
    margin = scores[rep] - scores[ranked[1]] if len(ranked) > 1 else 10.0
    confidence = 1 / (1 + math.exp(-margin / 4))  # a margin of ~4 cue points is fairly sure (0.73)
    return {s: ("rep" if s == rep else "customer") for s in scores}, round(confidence, 3)


def voices_take_turns(utterances: list[Turn], voices: list[str | None], *,
                      cues: CueBook | None = None) -> bool:
    """Whether diarization's voice label of each utterance (time order; None: no label) can be trusted.

    A likelihood-ratio test inside the turn-taking model of `roles_by_turn_taking`: the labels as a noisy
    copy of the roles (one voice is the rep's, each label wrong at a fitted rate) against labels that say
    nothing about who speaks (drawn at their own frequencies, so a diarizer that puts most utterances
    in one cluster gains nothing from that alone), with a BIC penalty for the fitted rate. Two
    near-identical voices split into clusters of content or loudness that ignore the turn-taking, and
    fail the test. With fewer than MIN_TESTED utterances the pauses cannot be checked against the
    voices (nor do they cut the call into turns, as quick hand-overs leave no pause): the diarization
    is trusted.
    """
    labeled = [v for v in voices if v is not None]
    if len(labeled) < MIN_TESTED:
        return True
    if len(set(labeled)) < 2:
        return False
    book = cues or load_cues()
    base = _cue_emission(utterances, book)
    names = sorted(set(labeled))
    k = len(names)
    moves = _moves(utterances, book)
    share = {v: labeled.count(v) / len(labeled) for v in names}
    null = _forward(base + np.array([math.log(share[v]) if v is not None else 0.0 for v in voices])[:, None],
                    moves)
    best = max(_forward(base + _voice_emission(voices, rep_voice, error, k), moves)
               for rep_voice in names for error in VOICE_ERRORS)
    return best - null > 0.5 * math.log(len(labeled))


def roles_by_turn_taking(utterances: list[Turn], *, cues: CueBook | None = None) -> list[Role]:
    """The role of each pause-separated utterance (time order) when the voices say nothing.

    Two-state Viterbi: a change of role between utterances has prior HANDOVER, moved by the handover
    cues (a question before the pause, a reply or a continuation after it), and each utterance's cue
    points (the opener bonus included) are its evidence. A path and its mirror image share every
    change, so the talk-share term of `rep_scores` then decides which of the two is the right way round.
    """
    if not utterances:
        return []
    book = cues or load_cues()
    emission = _cue_emission(utterances, book)
    moves = _moves(utterances, book)
    score, back = emission[0].copy(), np.zeros((len(utterances), 2), dtype=int)
    for t in range(1, len(utterances)):
        cand = score[:, None] + moves[t - 1]  # from state (rows) to state (columns)
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + emission[t]
    path = [int(score.argmax())]
    for t in range(len(utterances) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    path.reverse()
    labeled = [replace(u, speaker=str(state)) for u, state in zip(utterances, path, strict=True)]
    scores = rep_scores(labeled, cues=book)
    rep_state = 0 if scores.get("0", -math.inf) >= scores.get("1", -math.inf) else 1
    return ["rep" if state == rep_state else "customer" for state in path]


def _cue_emission(utterances: list[Turn], book: CueBook) -> np.ndarray:
    """(utterances, 2) log-evidence for rep / customer from each utterance's cue points."""
    opener = next((i for i, u in enumerate(utterances) if _substantive(u.text)), None)
    points = np.array([_points(u.text, book) + (book.opener_weight if i == opener else 0.0)
                       for i, u in enumerate(utterances)])
    return CUE_NATS * np.stack([points / 2, -points / 2], axis=1)


def _points(text: str, book: CueBook) -> float:
    """Cue points of one text: each matching cue's weight, once."""
    return sum(c.weight for c in book.cues if c.pattern.search(text))


def _voice_emission(voices: list[str | None], rep_voice: str, error: float, k: int) -> np.ndarray:
    """(utterances, 2) log-likelihood of each voice label if `rep_voice` is the rep's, wrong at `error`."""
    out = np.zeros((len(voices), 2))
    for i, v in enumerate(voices):
        if v is None:
            continue
        if v == rep_voice:
            out[i] = math.log(1 - error), math.log(error)
        else:  # one of the k - 1 customer voices
            out[i] = math.log(error / (k - 1)), math.log((1 - error) / (k - 1))
    return out


def _moves(utterances: list[Turn], book: CueBook) -> np.ndarray:
    """(utterances - 1, 2, 2) log transition probabilities between rep (0) and customer (1) across
    each pause: the prior HANDOVER, its log-odds moved by the handover cues that match there."""
    prior = math.log(HANDOVER / (1 - HANDOVER))
    out = np.zeros((max(len(utterances) - 1, 0), 2, 2))
    for i, (before, after) in enumerate(itertools.pairwise(utterances)):
        odds = prior + sum(c.nats for c in book.handovers
                           if c.pattern.search(before.text if c.where == "before" else after.text))
        change, stay = -np.logaddexp(0.0, -odds), -np.logaddexp(0.0, odds)
        out[i] = [[stay, change], [change, stay]]
    return out


def _forward(emission: np.ndarray, moves: np.ndarray) -> float:
    """Log-likelihood of the emissions under the two-state turn-taking chain (either state first)."""
    alpha = emission[0] + math.log(0.5)
    for t in range(1, len(emission)):
        alpha = np.logaddexp.reduce(alpha[:, None] + moves[t - 1], axis=0) + emission[t]
    return float(np.logaddexp.reduce(alpha))


def _substantive(text: str) -> bool:
    words = text.split()
    return len(words) >= 3 if len(words) > 1 else len(re.sub(r"\W", "", text)) >= SUBSTANTIVE
