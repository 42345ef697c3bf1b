"""The labeled calls of an evaluation set: truth files, their audio, and truth-built transcripts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.metrics import Interval, LabeledObjection
from callscope.models.document import Transcript, Turn

ROOT = Path(__file__).resolve().parent.parent
SETS = {"dev": ROOT / "bench" / "devset" / "audio", "samples": ROOT / "samples",
        "blind": ROOT / "bench" / "blindset" / "audio",
        "tune": ROOT / "bench" / "tuneset" / "audio"}


def canonical_role(role: str) -> str:
    """synthcall's extra parties (customer2, rep2) are still customer / rep."""
    return "rep" if role.startswith("rep") else "customer"


@dataclass
class TruthCall:
    id: str
    data: dict[str, Any]
    audio: dict[str, Path] = field(default_factory=dict)  # layout (stereo/mono) -> file

    @property
    def language(self) -> str:
        return self.data.get("language", "zh")

    @property
    def kind(self) -> str:
        """zh, en or mixed (a Mandarin call with whole English turns)."""
        if self.language == "en":
            return "en"
        return "mixed" if any(t.get("lang") == "en" for t in self.turns) else "zh"

    @property
    def turns(self) -> list[dict[str, Any]]:
        return self.data["turns"]

    @property
    def labels(self) -> dict[str, Any]:
        return self.data.get("labels", {})

    @property
    def duration(self) -> float:
        return float(self.data["duration"])

    def text(self) -> str:
        return "\n".join(t["text"] for t in self.turns)

    def intervals(self) -> list[Interval]:
        return [(t["start"], t["end"], canonical_role(t["role"])) for t in self.turns]

    def objections(self) -> list[LabeledObjection]:
        return [LabeledObjection(t["objection"], t["start"], t["end"], t.get("handled"))
                for t in self.turns if t.get("objection")]

    def transcript(self) -> Transcript:
        """The truth turns as a Transcript, so nlp and scoring can be judged without ASR errors."""
        speakers: dict[str, str] = {}
        turns = []
        for t in self.turns:
            speaker = speakers.setdefault(t["role"], f"S{len(speakers)}")
            turns.append(Turn(start=t["start"], end=t["end"], speaker=speaker,
                              role=canonical_role(t["role"]), text=t["text"],
                              language=t.get("lang", self.language), channel=t.get("channel")))
        return Transcript(duration=self.duration, language=self.language, layout="stereo", turns=turns,
                          speakers={s: canonical_role(r) for r, s in speakers.items()},
                          asr={"source": "truth"})


def load_set(name: str, only: list[str] | None = None) -> list[TruthCall]:
    """Every labeled call of the set, with the audio files found next to its truth file."""
    folder = SETS[name]
    calls = []
    for path in sorted(folder.glob("*.truth.json")):
        call_id = path.name.removesuffix(".truth.json")
        if only and not any(call_id.startswith(prefix) for prefix in only):
            continue
        audio = {}
        for layout in ("stereo", "mono"):
            found = sorted(p for p in folder.glob(f"{call_id}.{layout}.*") if p.suffix != ".json")
            if found:
                audio[layout] = found[0]
        calls.append(TruthCall(call_id, json.loads(path.read_text(encoding="utf-8")), audio))
    return calls
