"""The one typed document that flows forward through the pipeline.

recording (ingest) -> Transcript (asr) -> Conversation (nlp) -> Scorecard (scoring)
-> Analysis (the contract's JSON document). Each stage is a function of the
previous stage's output; the CLI, the API and the workers only call them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Role = Literal["rep", "customer"]
STAGES = ("prospecting", "discovery", "presentation", "negotiation", "closing", "after_sales")
OBJECTION_TYPES = ("price", "budget", "timing", "authority", "need", "competitor", "trust")
ROLES = ("rep", "customer")


def _r(x: float) -> float:
    return round(float(x), 2)


# --- ingest -------------------------------------------------------------------------------------


@dataclass
class Recording:
    """Decoded audio, 16 kHz float32, one array per speaker channel (1 for mono, 2 for stereo calls)."""

    source: str
    sample_rate: int
    channels: list[np.ndarray]
    layout: Literal["stereo", "mono"]
    rep_channel: int | None  # stereo only: which channel is our rep
    source_format: str = ""
    source_sample_rate: int = 0
    source_channels: int = 0

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / self.sample_rate if self.channels else 0.0

    def mixed(self) -> np.ndarray:
        """The mono mix-down (what a single-channel system would hear)."""
        if len(self.channels) == 1:
            return self.channels[0]
        return (np.sum(self.channels, axis=0) / len(self.channels)).astype(np.float32)


# --- asr ----------------------------------------------------------------------------------------


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass
class Redaction:
    """A personal number or address taken out of a turn (nlp.redaction): its kind (phone | id | card |
    email), its time span and the placeholder now in the text. `value` (what was said, normalised) lives
    in memory only, for a salted hash: to_dict and Transcript.to_dict leave it out."""

    kind: str
    start: float
    end: float
    placeholder: str = ""
    value: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": _r(self.start), "end": _r(self.end),
                "placeholder": self.placeholder}


@dataclass
class Turn:
    """One speaker turn: cut where the speaker changes or pauses long."""

    start: float
    end: float
    speaker: str  # S0, S1, ...
    role: Role
    text: str
    language: str = ""
    channel: int | None = None
    words: list[Word] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)  # what redaction took out of text and words

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class Transcript:
    duration: float
    language: str  # the call's dominant language: zh | en
    layout: Literal["stereo", "mono"]
    turns: list[Turn]
    speakers: dict[str, Role] = field(default_factory=dict)  # speaker id -> role
    asr: dict[str, Any] = field(default_factory=dict)  # model, device, timings, guards that fired

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for turn, original in zip(data["turns"], self.turns, strict=True):
            turn["redactions"] = [r.to_dict() for r in original.redactions]  # never the values
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        turns = [
            Turn(**{**t, "words": [Word(**w) for w in t.get("words", [])],
                    "redactions": [Redaction(**r) for r in t.get("redactions", [])]})
            for t in data.get("turns", [])
        ]
        return cls(
            duration=data["duration"],
            language=data["language"],
            layout=data["layout"],
            turns=turns,
            speakers=dict(data.get("speakers", {})),
            asr=dict(data.get("asr", {})),
        )


# --- nlp ----------------------------------------------------------------------------------------


@dataclass
class Evidence:
    """A moment in the call that backs a finding: times and what was said."""

    start: float
    end: float
    text: str
    turn: int | None = None
    whole_call: bool = False  # a finding about the whole call (nothing flagged, a ratio): no moment in it

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": _r(self.start), "end": _r(self.end), "text": self.text}
        if self.turn is not None:
            d["turn"] = self.turn
        if self.whole_call:
            d["whole_call"] = True
        return d


@dataclass
class TurnInsight:
    """What nlp found in one turn (parallel to Transcript.turns)."""

    tokens: list[str]
    stage: str
    stage_confidence: float
    # questions asked in the turn, and how many of them are open: nlp.questions.count_questions,
    # the one definition the metrics, the scorecard and the report all count by
    questions: int = 0
    open_questions: int = 0

    @property
    def is_question(self) -> bool:
        return self.questions > 0

    @property
    def open_question(self) -> bool:
        return self.open_questions > 0


@dataclass
class Objection:
    type: str  # one of OBJECTION_TYPES
    turn: int
    start: float
    end: float
    text: str
    handled: bool
    confidence: float = 1.0
    response: Evidence | None = None  # the rep's answer, when there is one


@dataclass
class NextStep:
    turn: int
    start: float
    end: float
    text: str
    when: str  # the time expression as said: 下周二下午, next Tuesday
    role: Role = "rep"


@dataclass
class Hit:
    """A compliance phrase or tracker keyword found in a turn."""

    name: str  # rule id (compliance) or tracker name
    term: str  # the phrase that matched
    turn: int
    start: float
    end: float
    text: str
    role: Role = "rep"


@dataclass
class Metrics:
    talk_ratio: float  # rep share of all speech time, 0-1
    longest_monologue: float  # rep's longest uninterrupted speech, seconds
    interactivity: float  # speaker switches per minute
    patience: float  # rep's mean pause before answering the customer, seconds
    questions: int  # rep's questions
    question_rate: float  # rep's questions per minute
    customer_questions: int = 0
    open_questions: int = 0  # rep's open questions (of `questions`)
    rep_speech: float = 0.0
    customer_speech: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: (_r(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Conversation:
    """The annotated conversation: the transcript plus everything nlp found in it."""

    transcript: Transcript
    insights: list[TurnInsight]
    stage: str
    stage_scores: dict[str, float]
    objections: list[Objection]
    next_steps: list[NextStep]
    questions: list[Evidence]  # the rep's questions
    compliance: list[Hit]
    trackers: list[Hit]
    metrics: Metrics


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class ItemResult:
    id: str
    name: str
    passed: bool | None  # None: the item does not apply to this call
    score: float
    max: float
    evidence: list[Evidence]
    feedback: str
    # outcome (pass / partial / fail / not_applicable) -> language -> the rubric's coaching text for it,
    # where this call's values fill it in: the page's language, and a manager's changed verdict, read it
    coaching: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id,
            "name": self.name,
            "passed": self.passed,
            "score": _r(self.score),
            "max": _r(self.max),
            "evidence": [e.to_dict() for e in self.evidence],
            "feedback": self.feedback,
        }
        if self.coaching:
            d["coaching"] = self.coaching
        return d


@dataclass
class Scorecard:
    rubric: str
    score: float  # 0-100 over the items that apply
    grade: str  # e.g. excellent / pass / fail, as the rubric names them
    items: list[ItemResult]
    rubric_version: str = ""
    grade_label: str = ""  # the grade as the rubric names it in `language` (优秀 / Excellent)
    language: str = ""  # the language the feedback is written in
    targets: dict[str, Any] = field(default_factory=dict)  # metric targets the rubric sets (for reports)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rubric": self.rubric,
            "score": _r(self.score),
            "grade": self.grade,
            "items": [i.to_dict() for i in self.items],
        }
        if self.rubric_version:
            d["rubric_version"] = self.rubric_version
        if self.grade_label:
            d["grade_label"] = self.grade_label
        if self.language:
            d["language"] = self.language
        if self.targets:
            d["targets"] = self.targets
        return d


# --- the analysis document ----------------------------------------------------------------------


@dataclass
class Analysis:
    conversation: Conversation
    scorecard: Scorecard
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def transcript(self) -> Transcript:
        return self.conversation.transcript

    def to_dict(self) -> dict[str, Any]:
        """The contract's analysis document (plus extra keys the contract welcomes)."""
        conv, tr = self.conversation, self.conversation.transcript
        segments = []
        for i, (turn, ins) in enumerate(zip(tr.turns, conv.insights, strict=True)):
            segments.append(
                {
                    "start": _r(turn.start),
                    "end": _r(turn.end),
                    "speaker": turn.speaker,
                    "role": turn.role,
                    "text": turn.text,
                    "language": turn.language,
                    "stage": ins.stage,
                    "question": ins.is_question,
                    "index": i,
                    "redactions": [r.to_dict() for r in turn.redactions],
                }
            )

        def hit(h: Hit) -> dict[str, Any]:
            return {"name": h.name, "term": h.term, "turn": h.turn, "role": h.role,
                    "start": _r(h.start), "end": _r(h.end), "text": h.text}

        return {
            "duration": _r(tr.duration),
            "language": tr.language,
            "layout": tr.layout,
            "speakers": tr.speakers,
            "segments": segments,
            "stage": conv.stage,
            "stage_scores": {k: round(v, 3) for k, v in conv.stage_scores.items()},
            "objections": [
                {
                    "type": o.type,
                    "start": _r(o.start),
                    "end": _r(o.end),
                    "text": o.text,
                    "handled": o.handled,
                    "turn": o.turn,
                    "confidence": round(o.confidence, 3),
                    "response": o.response.to_dict() if o.response else None,
                }
                for o in conv.objections
            ],
            "next_steps": [
                {"start": _r(n.start), "end": _r(n.end), "text": n.text, "when": n.when,
                 "turn": n.turn, "role": n.role}
                for n in conv.next_steps
            ],
            "questions": [q.to_dict() for q in conv.questions],
            "compliance": [hit(h) for h in conv.compliance],
            "trackers": [hit(h) for h in conv.trackers],
            "metrics": conv.metrics.to_dict(),
            "scorecard": self.scorecard.to_dict(),
            "asr": tr.asr,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# --- digest and facts: what roll-ups read -------------------------------------------------------

DIGEST_KEYS = ("duration", "language", "stage", "metrics", "objections", "next_steps", "compliance")


def digest(document: dict[str, Any]) -> dict[str, Any]:
    """The parts of an analysis document that rep evaluations and deal insights read: everything but
    the transcript (segments, questions, hits), each scorecard item with its first evidence only.
    A tenth of a document's size, so a roll-up over hundreds of calls decodes little."""
    card = document.get("scorecard") or {}
    items = [{**item, "evidence": (item.get("evidence") or [])[:1]} for item in card.get("items", [])]
    return {
        **{key: document[key] for key in DIGEST_KEYS if key in document},
        "scorecard": {**card, "items": items},
    }


def facts(digest_: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a digest, without any text: what a rep evaluation counts over every call of a
    period (the text of its few examples comes from those calls' digests). Items as
    [id, name, passed, score, max], objections as [type, handled]."""
    card = digest_.get("scorecard") or {}
    return {
        "stage": digest_.get("stage"),
        "score": card.get("score"),
        "metrics": digest_.get("metrics") or {},
        "items": [[i["id"], i.get("name", i["id"]), i.get("passed"), i.get("score", 0.0), i.get("max", 0.0)]
                  for i in card.get("items", [])],
        "objections": [[o["type"], bool(o.get("handled"))] for o in digest_.get("objections", [])],
    }
