"""What the call list and the call page show, read through the backend's call and review services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.search import tokenize
from callscope.api.services.calls import visible_call
from callscope.api.services.evaluation import metric_targets
from callscope.api.services.results import current_analysis, effective_document
from callscope.api.services.reviews import acknowledgements_of, person_names
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
    marks += [{"kind": "compliance", "x": pct(h["start"]), "start": h["start"], "type": h.get("term", "")}
              for h in document.get("compliance", []) if h.get("start") is not None]
    marks += [{"kind": "tracker", "x": pct(h["start"]), "start": h["start"], "type": h.get("name", ""),
               "term": h.get("term", "")}
              for h in document.get("trackers") or [] if h.get("start") is not None]
    ticks = []
    step = next((s for s in (10, 15, 30, 60, 120, 300, 600, 900, 1800) if duration / s <= 8), 3600)
    t = 0.0
    while t <= duration:
        ticks.append({"x": pct(t), "t": t})
        t += step
    return {"duration": duration, "bars": bars, "marks": marks, "ticks": ticks}


def segment_flags(document: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    """segment index -> what happened in it as (kind, detail): ("objection", type), ("next_step", ""),
    ("compliance", the phrase said), ("tracker", (name, the phrase said)), for badges."""
    flags: dict[int, list[tuple[str, str]]] = {}
    for o in document.get("objections", []):
        if o.get("turn") is not None:
            flags.setdefault(o["turn"], []).append(("objection", o["type"]))
    for n in document.get("next_steps", []):
        if n.get("turn") is not None:
            flags.setdefault(n["turn"], []).append(("next_step", ""))
    for h in document.get("compliance", []):
        if h.get("turn") is not None:
            flags.setdefault(h["turn"], []).append(("compliance", h.get("term", "")))
    for h in document.get("trackers") or []:
        if h.get("turn") is not None:
            flags.setdefault(h["turn"], []).append(("tracker", (h.get("name", ""), h.get("term", ""))))
    return flags


def call_summary(document: dict[str, Any]) -> dict[str, Any]:
    """What a manager reads first: the stage, what the customer wants (their answers to the rep's
    questions), each objection and how it was met, the next step agreed, and the trackers that fired
    (name -> its hits in time order)."""
    segments = document.get("segments", [])
    wants = []
    for question in document.get("questions", []):
        turn = question.get("turn")
        answer = next((i for i in range(turn + 1, min(turn + 3, len(segments)))
                       if segments[i].get("role") == "customer"), None) if turn is not None else None
        if answer is not None and segments[answer].get("text", "").strip() and \
                all(w["turn"] != answer for w in wants):
            said = segments[answer]
            wants.append({"turn": answer, "start": said["start"], "text": said["text"]})
    next_steps = document.get("next_steps", [])
    timed = [n for n in next_steps if (n.get("when") or "").strip()]
    return {"stage": document.get("stage"), "wants": wants[:2],
            "objections": document.get("objections", []),
            "next_step": (timed or next_steps or [None])[0],
            "compliance": document.get("compliance", []), "trackers": tracker_hits(document)}


def tracker_hits(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Tracker name -> its hits with a moment, in time order; trackers by their first hit."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    timed = [h for h in document.get("trackers") or [] if h.get("start") is not None]
    for hit in sorted(timed, key=lambda h: float(h["start"])):
        grouped.setdefault(hit.get("name", ""), []).append(hit)
    return grouped


def turn_of(document: dict[str, Any], at: float | None) -> int | None:
    """The transcript line a moment falls in (the last one starting at or before it)."""
    if at is None:
        return None
    found = None
    for i, segment in enumerate(document.get("segments", [])):
        if segment["start"] <= at + 0.05:
            found = i
    return found


def unheard_after(document: dict[str, Any]) -> dict[int, list[dict[str, float]]]:
    """Speech the recogniser could not transcribe reliably (asr.channels[].unheard_speech), by the turn it
    follows (-1: before the first), so the page shows where words are missing instead of a silent hole."""
    starts = [float(s.get("start", 0)) for s in document.get("segments", [])]
    holes: dict[int, list[dict[str, float]]] = {}
    for channel in (document.get("asr") or {}).get("channels") or []:
        for a, b in channel.get("unheard_speech") or []:
            after = sum(start <= a for start in starts) - 1
            holes.setdefault(after, []).append({"start": float(a), "seconds": round(float(b) - float(a), 1)})
    return holes


def whole_call(evidence: dict[str, Any], duration: float) -> bool:
    """A finding about the whole call (nothing flagged, the talk ratio): it has no moment to seek to.
    Older analyses did not mark them: a span of the whole call without a turn is one."""
    if evidence.get("whole_call"):
        return True
    return evidence.get("turn") is None and float(evidence.get("start") or 0) == 0.0 and \
        float(evidence.get("end") or 0) >= 0.95 * duration


def call_page(session: Session, principal: Principal, call_id: int) -> dict[str, Any]:
    """Everything the call page shows; NotFound when the call is missing or outside the caller's scope."""
    call: Call = visible_call(session, principal, call_id)
    record = current_analysis(session, call.id)
    document = effective_document(session, call, record.document) if record else None
    context: dict[str, Any] = {"call": call, "document": document}
    if document:
        context["timeline"] = timeline(document)
        context["flags"] = segment_flags(document)
        context["unheard_after"] = unheard_after(document)
        context["summary"] = call_summary(document)
        comments = list(session.scalars(select(Comment).where(Comment.call_id == call.id)
                                        .order_by(Comment.id)))
        context["comments"] = comments
        by_turn: dict[int, list[Comment]] = {}
        for comment in comments:
            line = turn_of(document, comment.at)
            if line is not None:
                by_turn.setdefault(line, []).append(comment)
        context["turn_comments"] = by_turn
        context["overrides"] = list(session.scalars(select(Override).where(Override.call_id == call.id)
                                                    .order_by(Override.id.desc())))
        context["overrides_by_item"] = {}
        for override in reversed(context["overrides"]):  # oldest first: the newest of an item stays
            context["overrides_by_item"][override.item_id] = override
        context["acknowledgements"] = acknowledgements_of(session, call)
        context["targets"] = metric_targets(session, (document.get("scorecard") or {}).get("rubric"))
        context["names"] = person_names(session, {c.token_id for c in comments} |
                                        {o.token_id for o in context["overrides"]})
        duration = float(document.get("duration") or 0)
        context["whole_call"] = lambda evidence: whole_call(evidence, duration)
    return context
