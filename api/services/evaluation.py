"""A rep's process evaluation over a period, measured from their calls (with managers' overrides):
score and trend, rubric items' pass rates with evidence, conversation metrics against targets,
objections and how they were handled, strengths and improvements. Exportable as CSV.

Counting reads the per rep and day roll-ups (api.services.rollups: exact sums, so the figures are the
ones counting every call's facts gives; days in the rep's display time zone, as the trend's weeks and
the period's dates are), plus the facts of the calls of a day the period cuts; the
call list and the score trend come from the calls' own columns (one index range); only the handful
of calls quoted as examples have their facts and digests (with text) read. An all-time evaluation
reads a row per day, not every call's analysis."""

from __future__ import annotations

import copy
import csv
import functools
import io
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from math import fsum
from typing import Any

import yaml
from sqlalchemy import Row, Select, exists, func, select
from sqlalchemy.orm import Session

from callscope.api import webhooks
from callscope.api.services import rollups
from callscope.api.services.cells import safe_cell
from callscope.api.services.config import service_config
from callscope.api.services.results import effective_digests, effective_facts, outcome_of
from callscope.api.services.zones import rep_zone
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError
from callscope.models.orm import Call, CallDigest, Override, ScorecardRecord, User

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
    """id, title, started_at, score and stage (the call's, managers' overrides applied) of the period's
    done calls with an analysis, oldest first: one index range of the rep's calls, each checked for a
    digest by its primary key (EXISTS: a join let PostgreSQL hash all of call_digests), no JSON read."""
    stmt = select(Call.id, Call.title, Call.started_at, Call.score, Call.stage, Call.duration).where(
        exists().where(CallDigest.call_id == Call.id))
    return list(session.execute(_in_period(stmt, rep, start, end)))


def _paired(calls: list[Call], found: dict[int, dict[str, Any]]) -> list[tuple[Call, dict[str, Any]]]:
    """Each call with what was found for it (its digest); calls without one are left out."""
    return [(call, found[call.id]) for call in calls if call.id in found]


@dataclass
class _Chunk:
    """Consecutive calls of the period counted together: a whole day (the rep's display zone) read from
    its roll-up, or the calls of a day the period cuts, counted from their facts. rows: its calls (of
    _period_rows)."""

    rows: list[Row]
    stats: dict[str, Any]
    facts: dict[int, dict[str, Any]] | None = None  # loaded when its calls are counted or quoted


def _whole_days(start: datetime | None, end: datetime | None, tz: tzinfo) -> tuple[date | None, date | None]:
    """The first and last day in tz the period covers whole (None: unbounded on that side)."""
    first = last = None
    if start is not None:
        first = rollups.day_of(start, tz)
        if rollups.day_bounds(first, tz)[0] != start:
            first += timedelta(days=1)
    if end is not None:
        last = rollups.day_of(end, tz)
        if rollups.day_bounds(last, tz)[1] - timedelta(microseconds=1) != end:
            last -= timedelta(days=1)
    return first, last


def _chunks(session: Session, rep: User, rows: list[Row], days_of_rows: list[date], start: datetime | None,
            end: datetime | None, tz: tzinfo) -> tuple[list[_Chunk], dict[str, Any]]:
    """The period's calls in chunks, oldest first: whole days from the roll-ups, the cut days at either
    end (and a day whose roll-up does not count its calls: stored past the service, or cut in another
    zone) from their calls' facts; and their stats summed, which add up to what counting every call
    gives. When every roll-up day of the period is used, the sum of the whole days is the rep's kept
    sum of that span (api.services.rollups.RepDays), not summed again."""
    first, last = _whole_days(start, end, tz)
    days = rollups.rep_days(session, [rep.id]).get(rep.id)
    whole = days.between(first, last) if days is not None and (
        first is None or last is None or first <= last) else []
    by_day: dict[date, list[Row]] = defaultdict(list)
    for row, day in zip(rows, days_of_rows, strict=True):
        by_day[day].append(row)

    def is_whole(day: date) -> bool:
        return (first is None or day >= first) and (last is None or day <= last)

    rolled = {date.fromisoformat(day): (calls, stats) for day, calls, stats in whole}
    chunks: list[_Chunk] = []
    cut: list[_Chunk] = []
    for day in sorted(by_day):
        members = by_day[day]
        got = rolled.get(day) if is_whole(day) else None
        if got is not None and got[0] == len(members):
            chunks.append(_Chunk(members, got[1]))
        else:  # a day the period cuts, or whose roll-up is behind its calls: counted from its calls
            _, stats, found = rollups.stats_of_calls(session, members)
            chunks.append(_Chunk(members, stats, found))
            cut.append(chunks[-1])
    stats = rollups.empty_stats()
    if days is not None and len(chunks) - len(cut) == len(whole):
        rollups.merge(stats, days.total(first, last)[1])
        parts = cut
    else:
        parts = chunks
    for chunk in parts:
        rollups.merge(stats, chunk.stats)
    return chunks, stats


def _load_quoted(session: Session, chunks: list[_Chunk], stats: dict[str, Any], examples: int) -> None:
    """Facts for the chunks that hold each item's first passing and failing calls and each objection
    type's first unhandled ones (found from the chunks' counts, stats being their sum): usually the
    first day or two; the walk stops once every example is found."""
    need_items = {item_id: [min(examples, passed), min(examples, applicable - passed)]
                  for item_id, (_name, applicable, passed, _s, _m) in stats["items"].items()}
    need_objections = {kind: min(examples, raised - handled)
                       for kind, (raised, handled) in stats["objections"].items()}
    left = sum(p + f for p, f in need_items.values()) + sum(need_objections.values())
    wanted: list[_Chunk] = []
    for chunk in chunks:
        if not left:
            break
        take = False
        for item_id, (_name, applicable, passed, _s, _m) in chunk.stats["items"].items():
            need = need_items[item_id]
            for side, found in ((0, passed), (1, applicable - passed)):
                if need[side] and found:
                    got = min(need[side], found)
                    need[side] -= got
                    left -= got
                    take = True
        for kind, (raised, handled) in chunk.stats["objections"].items():
            if need_objections[kind] and raised - handled:
                got = min(need_objections[kind], raised - handled)
                need_objections[kind] -= got
                left -= got
                take = True
        if take and chunk.facts is None:
            wanted.append(chunk)
    found = effective_facts(session, [row.id for chunk in wanted for row in chunk.rows])
    for chunk in wanted:
        chunk.facts = found


def _examples(chunks: list[_Chunk], examples: int) -> tuple[dict[str, list[list[Row]]], dict[str, list]]:
    """Each item's first passing and failing calls (up to `examples` each), each objection type's first
    unhandled ones as (call, index in the call's objections), oldest first."""
    items: dict[str, list[list[Row]]] = {}
    objections: dict[str, list] = {}
    for chunk in chunks:
        if chunk.facts is None:
            continue
        for call in chunk.rows:
            fact = chunk.facts.get(call.id)
            if fact is None:
                continue
            for item_id, _name, passed, _score, _max in fact["items"]:
                if passed is None:
                    continue
                bucket = items.setdefault(item_id, [[], []])[0 if passed else 1]
                if len(bucket) < examples:
                    bucket.append(call)
            for index, (kind, handled) in enumerate(fact["objections"]):
                bucket = objections.setdefault(kind, [])
                if not handled and len(bucket) < examples:
                    bucket.append((call, index))
    return items, objections


_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def _local_days(rows: list[Row], tz: tzinfo) -> list[date]:
    """Each row's day in tz, rows oldest first: a zone conversion per day, not per call."""
    out: list[date] = []
    day, low, bound = date.min, _LATEST, _LATEST  # an empty range: the first row converts
    for row in rows:
        moment = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=timezone.utc)
        if not low <= moment < bound:
            day = rollups.day_of(moment, tz)
            low, bound = rollups.day_bounds(day, tz)
        out.append(day)
    return out


def _trend(calls: list[Row], days: list[date], tz: tzinfo) -> dict[str, Any]:
    """Weekly averages, weeks cut at Monday 00:00 in the display time zone tz (the pages cut them the
    same); days: each call's day in tz."""
    weeks: dict[date, list[float]] = defaultdict(list)
    scores = []
    for call, day in zip(calls, days, strict=True):
        score = call.score
        if score is None:
            continue
        weeks[day - timedelta(days=day.weekday())].append(score)
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


def _items(stats: dict[str, Any], quoted: dict[str, list[list[Row]]]) -> list[dict[str, Any]]:
    """Each item's pass rate and average over the calls it applies to (exact sums of the roll-ups), with
    its first passing and failing calls as the calls to quote, filled in by _quote_items."""
    out = []
    for item_id, (name, applicable, passed, score, max_score) in stats["items"].items():
        passing, failing = quoted.get(item_id, ([], []))
        points, most = rollups.total(score), rollups.total(max_score)
        out.append({"id": item_id, "name": name, "applicable": applicable, "passed": passed,
                    "passing_examples": list(passing), "failing_examples": list(failing), "feedback": [],
                    "pass_rate": round(passed / applicable, 3) if applicable else None,
                    "average_score": round(100 * points / most, 1) if most else None})
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


def _metrics(stats: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in METRICS:
        partials, count = stats["metrics"][name]
        avg = round(rollups.total(partials) / count, 2) if count else None
        target = targets.get(name)
        out[name] = {"average": avg, "target": target, "status": metric_status(avg, target)}
    return out


def _objections(stats: dict[str, Any], quoted: dict[str, list]) -> dict[str, Any]:
    """Objections raised and handled, by type; each type's first unhandled ones as (call, index in
    the call's objections), quoted by _quote_objections."""
    by_type = [{"type": kind, "raised": raised, "handled": handled,
                "unhandled_examples": list(quoted.get(kind, [])), "handled_rate": round(handled / raised, 3)}
               for kind, (raised, handled) in stats["objections"].items()]
    raised = sum(e["raised"] for e in by_type)
    handled = sum(e["handled"] for e in by_type)
    return {
        "raised": raised,
        "handled": handled,
        "handled_rate": round(handled / raised, 3) if raised else None,
        "by_type": sorted(by_type, key=lambda e: -e["raised"]),
    }


def _quote_objections(objections: dict[str, Any], digests: dict[int, dict[str, Any]]) -> None:
    for entry in objections["by_type"]:
        entry["unhandled_examples"] = [_evidence_link(call, digests[call.id]["objections"][index])
                                       for call, index in entry["unhandled_examples"]]


def period_of(start: datetime | None, end: datetime | None, tz: tzinfo) -> dict[str, Any]:
    """An answer's period: its bounds as local times of tz (with their offset) and tz's name."""
    return {"from": start.astimezone(tz).isoformat() if start else None,
            "to": end.astimezone(tz).isoformat() if end else None, "timezone": str(tz)}


def rep_evaluation(
    session: Session, rep: User, start: datetime | None, end: datetime | None, tz: tzinfo
) -> dict[str, Any]:
    """Counted from the per rep and day roll-ups (whole days) and the facts of the calls of the days the
    period cuts; the call list, scores and trend from the calls' own columns; only the few calls quoted
    as examples have their facts and digests read. tz: the rep's display time zone
    (api.services.zones.rep_zone), which days and weeks are cut in.

    What is counted is kept per rep, period and zone while the rep's stamp (_rep_stamp) is the same: a
    rep page, its exports and the manager's views ask the same evaluation again and again, and it
    changes only when the rep's calls do. The rep and the metric bands (the rubric) are read fresh."""
    key = (str(session.get_bind().url), rep.id, start, end, str(tz))
    current = _rep_stamp(session, rep)
    with _kept_lock:
        hit = _kept.get(key)
        if hit is not None and hit[0] == current:
            _kept.move_to_end(key)
    if hit is None or hit[0] != current:
        hit = (current, *_count_evaluation(session, rep, start, end, tz))
        with _kept_lock:
            _kept[key] = hit
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    _, counted, stats = hit
    return {
        "rep": {
            "id": rep.id,
            "email": rep.email,
            "name": rep.name,
            "team": rep.team.name if rep.team else None,
        },
        **counted,
        "metrics": _metrics(stats, metric_targets(session, _rubric_of(session, rep))),
    }


_kept: OrderedDict[tuple, tuple[tuple, dict[str, Any], dict[str, Any]]] = OrderedDict()
_kept_lock = threading.Lock()
KEPT = 256  # evaluations a process keeps (a rep's all time with 500 calls is ~100 kB)


def forget_kept() -> None:
    """Drop every evaluation and roll-up this process keeps: the next ask counts from the database
    (bench.api_load profiles a first ask with it)."""
    with _kept_lock:
        _kept.clear()
    rollups.forget_kept()


def _rep_stamp(session: Session, rep: User) -> tuple:
    """What changes whenever anything a rep's evaluation counts or quotes changes: their roll-ups
    (every refresh of a day, on analysis, re-scoring, an override, a deletion, sets its updated_at),
    their calls (count and newest update: status, title, score, stage, redaction) and the overrides of
    their calls. Indexed aggregates in two statements (each a round trip on PostgreSQL), no JSON read."""
    days = rollups.rep_days(session, [rep.id]).get(rep.id)
    of_rep = Call.rep_id == rep.id
    overridden = select(Override.id).join(Call, Call.id == Override.call_id).where(of_rep).subquery()
    found = session.execute(select(  # one statement of four scalar subqueries
        select(func.count(Call.id)).where(of_rep).scalar_subquery(),
        select(func.max(Call.updated_at)).where(of_rep).scalar_subquery(),
        select(func.count()).select_from(overridden).scalar_subquery(),
        select(func.max(overridden.c.id)).scalar_subquery(),
    )).one()
    return days.stamp if days is not None else None, tuple(found[:2]), tuple(found[2:])


def _count_evaluation(session: Session, rep: User, start: datetime | None, end: datetime | None,
                      tz: tzinfo) -> tuple[dict[str, Any], dict[str, Any]]:
    """rep_evaluation's counted part (all but the rep and the metrics) and the summed stats."""
    cfg = service_config()["evaluation"]
    rows = _period_rows(session, rep, start, end)
    days = _local_days(rows, tz)
    chunks, stats = _chunks(session, rep, rows, days, start, end, tz)
    _load_quoted(session, chunks, stats, cfg["examples"])
    quoted_items, quoted_objections = _examples(chunks, cfg["examples"])
    items = _items(stats, quoted_items)
    objections = _objections(stats, quoted_objections)
    quoted = {call.id for entry in items for call in entry["passing_examples"] + entry["failing_examples"]}
    quoted.update(call.id for entry in objections["by_type"] for call, _ in entry["unhandled_examples"])
    digests = effective_digests(session, sorted(quoted))
    _quote_items(items, digests)
    _quote_objections(objections, digests)
    scores = [row.score for row in rows if row.score is not None]
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
    for row in rows:
        stages[row.stage or ""] += 1
    return {
        "period": period_of(start, end, tz),
        "calls": len(rows),
        "call_list": [
            {"id": c.id, "title": c.title, "started_at": c.started_at.isoformat(), "score": c.score,
             "stage": c.stage}
            for c in rows
        ],
        "average_score": round(_mean(scores), 1) if scores else None,
        "trend": _trend(rows, days, tz),
        "stages": dict(stages),
        "items": items,
        "objections": objections,
        "strengths": strengths,
        "improvements": improvements,
    }, stats


def evaluation_updated(session: Session, settings: Settings, rep: User, when: datetime, reason: str) -> None:
    """The evaluation.updated event into the outbox (api.webhooks; the caller commits): the rep's week
    that changed (their display time zone, as their evaluation cuts it), with its count and average."""
    zone = rep_zone(settings, rep)
    local = when.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = monday, monday + timedelta(days=7)
    session.flush()
    calls, average = session.execute(
        select(func.count(Call.id), func.avg(Call.score)).where(
            Call.rep_id == rep.id, Call.status.in_(("done", "processing")), Call.score.is_not(None),
            Call.started_at >= start, Call.started_at < end)).one()
    year, week, _ = local.isocalendar()
    webhooks.emit(session, "evaluation.updated", {
        "rep": {"id": rep.id, "email": rep.email, "name": rep.name,
                "team": rep.team.name if rep.team else None},
        "week": f"{year}-W{week:02d}", "from": start.isoformat(), "to": end.isoformat(),
        "calls": calls, "average_score": round(float(average), 1) if average is not None else None,
        "reason": reason, "evaluation": f"/api/v1/reps/{rep.id}/evaluation?from={start.date()}&to="
                                        f"{(end - timedelta(days=1)).date()}",
    }, team_id=rep.team_id)


class _SafeWriter:
    """csv.writer whose text cells are neutralised against formula injection (services.cells)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])


def evaluation_csv(session: Session, rep: User, start: datetime | None, end: datetime | None,
                   tz: tzinfo) -> str:
    """One row per call (score, items, metrics, objections) and a final row of averages; started_at
    in tz, the rep's display zone, with its offset."""
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
            call.started_at.astimezone(tz).isoformat(),
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
