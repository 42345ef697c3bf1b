"""What the call list and the call page show, read through the backend's call and review services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.search import tokenize
from callscope.api.services.calls import visible_call
from callscope.api.services.results import current_analysis, effective_document
from callscope.models.orm import Call, Comment, Override, Turn


def highlight(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """text cut into (piece, is_match) runs for the search terms (the template escapes each piece)."""
    marks = [False] * len(text)
    lowered = text.lower()
    for term in {t.lower() for t in terms if t.strip()}:
        start = lowered.find(term)
        while start >= 0:
            for i in range(start, start + len(term)):
                marks[i] = True
            start = lowered.find(term, start + len(term))
    runs: list[tuple[str, bool]] = []
    for ch, mark in zip(text, marks, strict=True):
        if runs and runs[-1][1] == mark:
            runs[-1] = (runs[-1][0] + ch, mark)
        else:
            runs.append((ch, mark))
    return runs


def search_snippets(session: Session, call_ids: list[int], query: str) -> dict[int, dict[str, Any]]:
    """call id -> the first turn that best matches query (most query terms), to show why it was found."""
    terms = [query.strip()] + [t for t in tokenize(query) if t.strip()]
    best: dict[int, tuple[int, Turn]] = {}
    turns = select(Turn).where(Turn.call_id.in_(call_ids)).order_by(Turn.call_id, Turn.idx)
    for turn in session.scalars(turns):
        hits = sum(1 for t in terms if t.lower() in turn.text.lower())
        if hits and (turn.call_id not in best or hits > best[turn.call_id][0]):
            best[turn.call_id] = (hits, turn)
    return {cid: {"start": turn.start, "role": turn.role, "runs": highlight(turn.text, terms)}
            for cid, (_, turn) in best.items()}


def timeline(document: dict[str, Any]) -> dict[str, Any]:
    """Speaker bars and markers as percentages of the call's length, for the SVG timeline."""
    duration = float(document.get("duration") or 0) or max(
        [float(s.get("end", 0)) for s in document.get("segments", [])] + [1.0])

    def pct(t: float) -> float:
        return round(100.0 * max(0.0, min(float(t), duration)) / duration, 3)

    bars = [{"role": s.get("role", "customer"), "x": pct(s["start"]),
             "w": max(0.15, round(pct(s["end"]) - pct(s["start"]), 3)), "start": s["start"], "index": i}
            for i, s in enumerate(document.get("segments", []))]
    marks = [{"kind": "objection", "x": pct(o["start"]), "start": o["start"], "type": o.get("type")}
             for o in document.get("objections", [])]
    marks += [{"kind": "next_step", "x": pct(n["start"]), "start": n["start"], "type": "next_step"}
              for n in document.get("next_steps", [])]
    ticks = []
    step = next((s for s in (10, 15, 30, 60, 120, 300, 600, 900, 1800) if duration / s <= 8), 3600)
    t = 0.0
    while t <= duration:
        ticks.append({"x": pct(t), "t": t})
        t += step
    return {"duration": duration, "bars": bars, "marks": marks, "ticks": ticks}


def segment_flags(document: dict[str, Any]) -> dict[int, list[str]]:
    """segment index -> what happened in it (objection type, next step, compliance hit), for badges."""
    flags: dict[int, list[str]] = {}
    for o in document.get("objections", []):
        if o.get("turn") is not None:
            flags.setdefault(o["turn"], []).append(f"objection:{o['type']}")
    for n in document.get("next_steps", []):
        if n.get("turn") is not None:
            flags.setdefault(n["turn"], []).append("next_step")
    for h in document.get("compliance", []):
        if h.get("turn") is not None:
            flags.setdefault(h["turn"], []).append("compliance")
    return flags


def call_page(session: Session, principal: Principal, call_id: int) -> dict[str, Any]:
    """Everything the call page shows; NotFound when the call is missing or outside the caller's scope."""
    call: Call = visible_call(session, principal, call_id)
    record = current_analysis(session, call.id)
    document = effective_document(session, call, record.document) if record else None
    context: dict[str, Any] = {"call": call, "document": document}
    if document:
        context["timeline"] = timeline(document)
        context["flags"] = segment_flags(document)
        comments = session.scalars(select(Comment).where(Comment.call_id == call.id).order_by(Comment.id))
        context["comments"] = list(comments)
        context["overrides"] = list(session.scalars(select(Override).where(Override.call_id == call.id)
                                                    .order_by(Override.id.desc())))
    return context
