"""Which speaker is our sales rep: weighted text cues (asr/data/role_cues.yaml), talk time, who opens.

Used for mono calls, where no channel says who is who. Exactly one speaker is the rep; everyone
else is a customer. A caller that knows each speaker's similarity to a reference recording of the
rep can pass it as `rep_voiceprint`, as evidence beside the cues (no voiceprint source ships yet).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from callscope.errors import InputError
from models.document import Role, Turn

CUES_FILE = Path(__file__).parent / "data" / "role_cues.yaml"
VOICEPRINT_WEIGHT = 20.0  # cue points per unit of (similarity above the speakers' mean)
SUBSTANTIVE = 6  # characters (or 3 words) before a turn counts as opening the call, not "喂，你好"


@dataclass(frozen=True)
class Cue:
    name: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class CueBook:
    cues: tuple[Cue, ...]
    talk_share_weight: float
    opener_weight: float


@functools.lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE) -> CueBook:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        cues = tuple(Cue(c["name"], float(c["weight"]), re.compile(c["pattern"], re.IGNORECASE))
                     for c in data["cues"])
        return CueBook(cues, float(data.get("talk_share_weight", 0.0)), float(data.get("opener_weight", 0.0)))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, re.error) as exc:
        raise InputError(f"role cues {path}: {exc}") from exc


def rep_scores(turns: list[Turn], *, rep_voiceprint: dict[str, float] | None = None,
               cues: CueBook | None = None) -> dict[str, float]:
    """Evidence (cue points) that each speaker is the rep; the highest is the rep."""
    book = cues or load_cues()
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    scores = dict.fromkeys(speakers, 0.0)
    for turn in turns:
        scores[turn.speaker] += sum(c.weight for c in book.cues if c.pattern.search(turn.text))
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


def _substantive(text: str) -> bool:
    words = text.split()
    return len(words) >= 3 if len(words) > 1 else len(re.sub(r"\W", "", text)) >= SUBSTANTIVE
