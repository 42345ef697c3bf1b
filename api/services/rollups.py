"""Per rep and day roll-ups of done calls (rep_day_stats): sums and counts of what rep evaluations count
(score, metrics, items, objections, talk time), with managers' overrides applied. Team comparisons,
targets and leaderboards read a row per rep and day instead of every call's facts.

Days are UTC days, as the API's dates are (a bare date means that day in UTC). A day is recomputed
whole from its calls whenever one of them changes (analysed, re-scored, overridden), so a roll-up
never drifts; at start the service rebuilds them when their call count differs from the calls'
(calls stored by other means, a database from before roll-ups).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from callscope.api.services.results import effective_facts
from callscope.models.orm import Call, RepDayStat, User, utcnow

log = logging.getLogger("callscope.rollups")
METRICS = ("talk_ratio", "longest_monologue", "interactivity", "patience", "question_rate", "questions")


def day_of(when: datetime) -> date:
    return when.astimezone(timezone.utc).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def empty_stats() -> dict[str, Any]:
    return {"score": [0.0, 0], "duration": 0.0, "metrics": {m: [0.0, 0] for m in METRICS}, "items": {},
            "objections": [0, 0]}


def add_facts(stats: dict[str, Any], fact: dict[str, Any], duration: float | None) -> None:
    """Add one call's facts (models.document.facts) to stats."""
    if fact.get("score") is not None:
        stats["score"][0] += float(fact["score"])
        stats["score"][1] += 1
    stats["duration"] += float(duration or 0.0)
    for name in METRICS:
        value = (fact.get("metrics") or {}).get(name)
        if value is not None:
            stats["metrics"][name][0] += float(value)
            stats["metrics"][name][1] += 1
    for item_id, name, passed, _score, _max in fact.get("items", []):
        entry = stats["items"].setdefault(item_id, [0, 0, name])
        if passed is not None:
            entry[0] += 1
            entry[1] += 1 if passed else 0
    for _kind, handled in fact.get("objections", []):
        stats["objections"][0] += 1
        stats["objections"][1] += 1 if handled else 0


def merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    total["score"][0] += part["score"][0]
    total["score"][1] += part["score"][1]
    total["duration"] += part["duration"]
    for name in METRICS:
        got = part["metrics"].get(name, [0.0, 0])
        total["metrics"][name][0] += got[0]
        total["metrics"][name][1] += got[1]
    for item_id, (applicable, passed, name) in part["items"].items():
        entry = total["items"].setdefault(item_id, [0, 0, name])
        entry[0] += applicable
        entry[1] += passed
    total["objections"][0] += part["objections"][0]
    total["objections"][1] += part["objections"][1]


def refresh(session: Session, rep_days: Iterable[tuple[int, date]]) -> None:
    """Recompute the roll-ups of these (rep id, day) pairs from their done calls (not committed)."""
    session.flush()
    for rep_id, day in set(rep_days):
        start, end = _day_bounds(day)
        rows = list(session.execute(select(Call.id, Call.duration).where(
            Call.rep_id == rep_id, Call.status == "done", Call.started_at >= start, Call.started_at < end)))
        found = effective_facts(session, [r.id for r in rows])
        stats, calls = empty_stats(), 0
        for row in rows:
            if row.id in found:
                add_facts(stats, found[row.id], row.duration)
                calls += 1
        key = {"rep_id": rep_id, "day": day.isoformat()}
        existing = session.get(RepDayStat, (rep_id, day.isoformat()))
        if not calls:
            if existing is not None:
                session.delete(existing)
            continue
        team_id = session.scalar(select(User.team_id).where(User.id == rep_id))
        if existing is None:
            session.add(RepDayStat(**key, team_id=team_id, calls=calls, stats=stats))
        else:
            existing.calls, existing.stats, existing.team_id = calls, stats, team_id
            existing.updated_at = utcnow()


def refresh_call(session: Session, call: Call) -> None:
    refresh(session, [(call.rep_id, day_of(call.started_at))])


def rebuild_if_stale(session: Session) -> bool:
    """Rebuild every roll-up when their call count differs from the done calls with an analysis
    (commits). Returns whether it rebuilt."""
    from callscope.models.orm import CallDigest

    done = session.scalar(select(func.count(Call.id)).where(
        Call.status == "done", Call.id.in_(select(CallDigest.call_id)))) or 0
    rolled = session.scalar(select(func.coalesce(func.sum(RepDayStat.calls), 0))) or 0
    if done == rolled:
        return False
    log.info("rebuilding rep/day roll-ups (%d calls, %d rolled up)", done, rolled)
    session.execute(delete(RepDayStat))
    teams = dict(session.execute(select(User.id, User.team_id)).all())
    totals: dict[tuple[int, str], list[Any]] = {}
    last = 0
    while True:
        rows = list(session.execute(select(Call.id, Call.rep_id, Call.started_at, Call.duration).where(
            Call.status == "done", Call.id > last).order_by(Call.id).limit(2000)))
        if not rows:
            break
        found = effective_facts(session, [r.id for r in rows])
        for row in rows:
            if row.id not in found:
                continue
            key = (row.rep_id, day_of(row.started_at).isoformat())
            entry = totals.setdefault(key, [0, empty_stats()])
            entry[0] += 1
            add_facts(entry[1], found[row.id], row.duration)
        last = rows[-1].id
    session.add_all([RepDayStat(rep_id=rep_id, day=day, team_id=teams.get(rep_id), calls=calls, stats=stats)
                     for (rep_id, day), (calls, stats) in totals.items()])
    session.commit()
    return True


def _period_filter(stmt, start: datetime | None, end: datetime | None):  # noqa: ANN001, ANN202
    if start is not None:
        stmt = stmt.where(RepDayStat.day >= day_of(start).isoformat())
    if end is not None:
        stmt = stmt.where(RepDayStat.day <= day_of(end).isoformat())
    return stmt


def stamp(session: Session, rep_ids: list[int], start: datetime | None, end: datetime | None) -> tuple:
    """What changes whenever any of these reps' roll-ups in the period change: their count and the
    newest update (one indexed aggregate, no JSON read)."""
    stmt = select(func.count(), func.max(RepDayStat.updated_at), func.sum(RepDayStat.calls)).where(
        RepDayStat.rep_id.in_(rep_ids))
    return tuple(session.execute(_period_filter(stmt, start, end)).one())


def rep_totals(session: Session, rep_ids: list[int], start: datetime | None, end: datetime | None
               ) -> dict[int, tuple[int, dict[str, Any]]]:
    """Each rep's (calls, summed stats) over the UTC days from start's to end's (all days when None)."""
    stmt = select(RepDayStat.rep_id, RepDayStat.calls, RepDayStat.stats).where(RepDayStat.rep_id.in_(rep_ids))
    stmt = _period_filter(stmt, start, end)
    out: dict[int, tuple[int, dict[str, Any]]] = {}
    for rep_id, calls, stats in session.execute(stmt):
        count, total = out.get(rep_id, (0, empty_stats()))
        merge(total, stats)
        out[rep_id] = (count + calls, total)
    return out
