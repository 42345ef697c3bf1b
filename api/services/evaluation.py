"""A rep's process evaluation over a period, measured from their calls (with managers' overrides):
score and trend, rubric items' pass rates with evidence, conversation metrics against targets,
objections and how they were handled, strengths and improvements. Exportable as CSV.

Counting reads each call's facts (numbers only, models.document.facts); only the handful of calls
quoted as examples have their digests (with text) read: hundreds of calls a request stay cheap."""

from __future__ import annotations

import copy
import csv
import functools
import io
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone, tzinfo
from math import fsum
from typing import Any

import yaml
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from callscope.api.services.cells import safe_cell
from callscope.api.services.config import service_config
from callscope.api.services.results import effective_digests, effective_facts, outcome_of
from callscope.core.errors import CallscopeError
from callscope.models.orm import Call, ScorecardRecord, User

CallRef = Call | Row  # a call, or a row of its id, title and started_at
METRICS = ("talk_ratio", "longest_monologue", "interactivity", "patience", "question_rate", "questions")


def _mean(values: list[float] | range) -> float:
    # statistics.mean is exact (fractions) and costs more than the rest of an evaluation's arithmetic
    return fsum(values) / len(values)


def _in_period(stmt: Select, rep: User, start: datetime | None, end: datetime | None) -> Select:
    stmt = stmt.where(Call.rep_id == rep.id, Call.status == "done")
    if start:
        stmt = stmt.where(Call.started_at >= start)
    if end:
        stmt = stmt.where(Call.started_at <= end)
    return stmt.order_by(Call.started_at, Call.id)


def _period_calls(session: Session, rep: User, start: datetime | None, end: datetime | None) -> list[Call]:
    return list(session.scalars(_in_period(select(Call), rep, start, end)))


def _period_rows(session: Session, rep: User, start: datetime | None, end: datetime | None) -> list[Row]:
    """id, title and started_at of the period's calls: all an evaluation shows of them, without
    building ORM objects (a third of the evaluation's time over hundreds of calls)."""
    return list(session.execute(_in_period(select(Call.id, Call.title, Call.started_at), rep, start, end)))


def _paired(calls: list[CallRef], found: dict[int, dict[str, Any]]) -> list[tuple[CallRef, dict[str, Any]]]:
    """Each call with what was found for it (its facts or its digest); calls without one are left out."""
    return [(call, found[call.id]) for call in calls if call.id in found]


def week_of(moment: datetime, tz: tzinfo) -> date:
    """The Monday that starts moment's week in the display time zone tz (naive moments are UTC)."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def _trend(pairs: list[tuple[CallRef, dict[str, Any]]], tz: tzinfo) -> dict[str, Any]:
    """Weekly averages, weeks cut at Monday 00:00 in the display time zone (the pages cut them the same)."""
    weeks: dict[date, list[float]] = defaultdict(list)
    scores = []
    for call, fact in pairs:
        score = fact["score"]
        if score is None:
            continue
        weeks[week_of(call.started_at, tz)].append(score)
        scores.append(score)
    slope = 0.0
    if len(scores) >= 2:  # least-squares slope, score points per call
        xs = range(len(scores))
        mx, my = _mean(xs), _mean(scores)
        den = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, scores, strict=True)) / den
    direction = "up" if slope > 0.5 else "down" if slope < -0.5 else "flat"
    return {
        "by_week": [
            {"week": "{}-W{:02d}".format(*w.isocalendar()[:2]), "from": w.isoformat(), "calls": len(v),
             "average": round(_mean(v), 1)} for w, v in sorted(weeks.items())
        ],
        "timezone": str(tz),
        "slope_per_call": round(slope, 2),
        "direction": direction if len(scores) >= 2 else "n/a",
    }


def _evidence_link(call: CallRef, ev: dict[str, Any]) -> dict[str, Any]:
    """A moment of a call to quote; a finding about the whole call has none (start and end null)."""
    whole = bool(ev.get("whole_call"))
    start = None if whole else ev.get("start")
    return {
        "call_id": call.id,
        "call_title": call.title,
        "start": start,
        "end": None if whole else ev.get("end"),
        "text": ev.get("text", ""),
        "link": f"/api/v1/calls/{call.id}/audio" + ("" if whole else f"#t={ev.get('start', 0)}"),
    }


def _items(pairs: list[tuple[CallRef, dict[str, Any]]], examples: int) -> list[dict[str, Any]]:
    """Each item's pass rate and average over the calls it applies to; its first passing and failing
    calls (up to `examples` each) as the calls to quote, filled in by _quote_items."""
    items: dict[str, dict[str, Any]] = {}
    for call, fact in pairs:
        for item_id, name, passed, score, max_score in fact["items"]:
            entry = items.get(item_id)
            if entry is None:
                entry = items[item_id] = {"id": item_id, "name": name, "applicable": 0, "passed": 0,
                                          "score": 0.0, "max": 0.0, "passing_examples": [],
                                          "failing_examples": [], "feedback": []}
            if passed is None:
                continue
            entry["applicable"] += 1
            entry["passed"] += 1 if passed else 0
            entry["score"] += float(score)
            entry["max"] += float(max_score)
            bucket = entry["passing_examples"] if passed else entry["failing_examples"]
            if len(bucket) < examples:
                bucket.append(call)
    out = []
    for entry in items.values():
        n = entry["applicable"]
        entry["pass_rate"] = round(entry["passed"] / n, 3) if n else None
        entry["average_score"] = round(100 * entry["score"] / entry["max"], 1) if entry["max"] else None
        del entry["score"], entry["max"]
        out.append(entry)
    return out


def _quote_items(items: list[dict[str, Any]], digests: dict[int, dict[str, Any]]) -> None:
    """The example calls of each item replaced by their evidence link and feedback (from the digests);
    a failing example's feedback is also listed as the item's feedback."""
    for entry in items:
        for key in ("passing_examples", "failing_examples"):
            quoted = []
            for call in entry[key]:
                item = next(i for i in digests[call.id]["scorecard"]["items"] if i["id"] == entry["id"])
                evidence = item.get("evidence") or [{"text": "", "whole_call": True}]
                # coaching: the rubric's text for the (effective) verdict in each of its languages
                quoted.append({**_evidence_link(call, evidence[0]), "feedback": item.get("feedback", ""),
                               "coaching": (item.get("coaching") or {}).get(outcome_of(item)) or {}})
            entry[key] = quoted
        entry["feedback"] = [e["feedback"] for e in entry["failing_examples"] if e["feedback"]]
        entry["coaching"] = next((e["coaching"] for e in entry["failing_examples"] if e["coaching"]), {})


def metric_targets(session: Session, rubric: str | None) -> dict[str, Any]:
    """The metric bands of a rubric (its items' and its `targets`): the one set of thresholds the
    scorecard, the call page and the rep page use. The built-in default rubric's when it cannot be read.
    The rubric's text is parsed once per text, not per evaluation."""
    from callscope.api.services.rubrics import builtin_body, stored

    row = stored(session, rubric) if rubric else None
    body = row.body if row is not None else (builtin_body(rubric) if rubric and "/" not in rubric else None)
    try:
        return copy.deepcopy(_targets_of(body or ""))
    except (CallscopeError, yaml.YAMLError):
        return copy.deepcopy(_targets_of(""))


@functools.lru_cache(maxsize=32)
def _targets_of(body: str) -> dict[str, Any]:
    """The metric bands of a rubric text (the built-in default for "")."""
    from callscope.scoring import load_rubric

    return load_rubric(yaml.safe_load(body) if body else "default").targets()


def _rubric_of(session: Session, rep: User) -> str | None:
    """The rubric the rep's newest scorecard was made with."""
    return session.scalar(select(ScorecardRecord.rubric).join(Call, Call.id == ScorecardRecord.call_id)
                          .where(Call.rep_id == rep.id).order_by(ScorecardRecord.id.desc()).limit(1))


def metric_status(value: float | None, target: dict[str, float] | None) -> str | None:
    """low / high / ok against a band ({min}, {max} or both); None without a value or a band."""
    if value is None or not target:
        return None
    if "min" in target and value < target["min"]:
        return "low"
    if "max" in target and value > target["max"]:
        return "high"
    return "ok"


def _metrics(pairs: list[tuple[CallRef, dict[str, Any]]], targets: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in METRICS:
        values = [float(fact["metrics"][name]) for _, fact in pairs if fact["metrics"].get(name) is not None]
        avg = round(_mean(values), 2) if values else None
        target = targets.get(name)
        out[name] = {"average": avg, "target": target, "status": metric_status(avg, target)}
    return out


def _objections(pairs: list[tuple[CallRef, dict[str, Any]]], examples: int) -> dict[str, Any]:
    """Objections raised and handled, by type; each type's first unhandled ones as (call, index in
    the call's objections), quoted by _quote_objections."""
    by_type: dict[str, dict[str, Any]] = {}
    for call, fact in pairs:
        for index, (kind, handled) in enumerate(fact["objections"]):
            entry = by_type.get(kind)
            if entry is None:
                entry = by_type[kind] = {"type": kind, "raised": 0, "handled": 0, "unhandled_examples": []}
            entry["raised"] += 1
            entry["handled"] += 1 if handled else 0
            if not handled and len(entry["unhandled_examples"]) < examples:
                entry["unhandled_examples"].append((call, index))
    raised = sum(e["raised"] for e in by_type.values())
    handled = sum(e["handled"] for e in by_type.values())
    for entry in by_type.values():
        entry["handled_rate"] = round(entry["handled"] / entry["raised"], 3)
    return {
        "raised": raised,
        "handled": handled,
        "handled_rate": round(handled / raised, 3) if raised else None,
        "by_type": sorted(by_type.values(), key=lambda e: -e["raised"]),
    }


def _quote_objections(objections: dict[str, Any], digests: dict[int, dict[str, Any]]) -> None:
    for entry in objections["by_type"]:
        entry["unhandled_examples"] = [_evidence_link(call, digests[call.id]["objections"][index])
                                       for call, index in entry["unhandled_examples"]]


def rep_evaluation(
    session: Session, rep: User, start: datetime | None, end: datetime | None, tz: tzinfo = timezone.utc
) -> dict[str, Any]:
    """Counted over every call's facts; only the few calls quoted as examples have their digests read.
    tz: the display time zone weeks are cut in (api.services.zones.display_zone)."""
    cfg = service_config()["evaluation"]
    rows = _period_rows(session, rep, start, end)
    pairs = _paired(rows, effective_facts(session, [row.id for row in rows]))
    items = _items(pairs, cfg["examples"])
    objections = _objections(pairs, cfg["examples"])
    quoted = {call.id for entry in items for call in entry["passing_examples"] + entry["failing_examples"]}
    quoted.update(call.id for entry in objections["by_type"] for call, _ in entry["unhandled_examples"])
    digests = effective_digests(session, sorted(quoted))
    _quote_items(items, digests)
    _quote_objections(objections, digests)
    scores = [fact["score"] for _, fact in pairs if fact["score"] is not None]
    judged = [i for i in items if i["applicable"] >= cfg["min_calls"] and i["pass_rate"] is not None]
    strengths = [
        {"id": i["id"], "name": i["name"], "pass_rate": i["pass_rate"], "examples": i["passing_examples"]}
        for i in sorted(judged, key=lambda i: -i["pass_rate"])
        if i["pass_rate"] >= cfg["strength_pass_rate"]
    ]
    improvements = [
        {
            "id": i["id"],
            "name": i["name"],
            "pass_rate": i["pass_rate"],
            "feedback": i["feedback"],
            "coaching": i["coaching"],
            "examples": i["failing_examples"],
        }
        for i in sorted(judged, key=lambda i: i["pass_rate"])
        if i["pass_rate"] < cfg["improvement_pass_rate"]
    ]
    stages: dict[str, int] = defaultdict(int)
    for _, fact in pairs:
        stages[fact["stage"] or ""] += 1
    return {
        "rep": {
            "id": rep.id,
            "email": rep.email,
            "name": rep.name,
            "team": rep.team.name if rep.team else None,
        },
        "period": {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None},
        "calls": len(pairs),
        "call_list": [
            {"id": c.id, "title": c.title, "started_at": c.started_at.isoformat(), "score": f["score"],
             "stage": f["stage"]}
            for c, f in pairs
        ],
        "average_score": round(_mean(scores), 1) if scores else None,
        "trend": _trend(pairs, tz),
        "stages": dict(stages),
        "items": items,
        "metrics": _metrics(pairs, metric_targets(session, _rubric_of(session, rep))),
        "objections": objections,
        "strengths": strengths,
        "improvements": improvements,
    }


class _SafeWriter:
    """csv.writer whose text cells are neutralised against formula injection (services.cells)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])


def evaluation_csv(session: Session, rep: User, start: datetime | None, end: datetime | None) -> str:
    """One row per call (score, items, metrics, objections) and a final row of averages."""
    calls = _period_calls(session, rep, start, end)
    pairs = _paired(calls, effective_digests(session, [call.id for call in calls]))
    item_ids: list[str] = []
    for _, doc in pairs:
        for item in doc["scorecard"].get("items", []):
            if item["id"] not in item_ids:
                item_ids.append(item["id"])
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out))
    header = [
        "call_id",
        "started_at",
        "title",
        "rep",
        "deal",
        "stage",
        "score",
        "grade",
        *METRICS,
        "objections",
        "objections_handled",
        *[f"item:{i}" for i in item_ids],
    ]
    writer.writerow(header)
    rows = []
    for call, doc in pairs:
        items = {i["id"]: i for i in doc["scorecard"].get("items", [])}
        objections = doc.get("objections", [])
        row = [
            call.id,
            call.started_at.isoformat(),
            call.title,
            rep.email,
            call.deal.external_id if call.deal else "",
            doc.get("stage", ""),
            doc["scorecard"].get("score"),
            doc["scorecard"].get("grade", ""),
            *[doc.get("metrics", {}).get(m) for m in METRICS],
            len(objections),
            sum(1 for o in objections if o.get("handled")),
            *[
                items[i].get("score") if i in items and items[i].get("passed") is not None else ""
                for i in item_ids
            ],
        ]
        rows.append(row)
        writer.writerow(row)
    if rows:
        averages = ["average", "", "", rep.email, "", ""]
        for col in range(6, len(header)):
            nums = [r[col] for r in rows if isinstance(r[col], int | float)]
            averages.append(round(_mean(nums), 2) if nums else "")
        writer.writerow(averages)
    return out.getvalue()
