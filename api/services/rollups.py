"""Per rep and day roll-ups of done calls (rep_day_stats): sums and counts of what rep and team
evaluations count (score, metrics, each item's verdicts and points, objections by type, talk time),
with managers' overrides applied. Evaluations read a row per rep and day instead of every call's facts.

Days are UTC days, as the API's dates are (a bare date means that day in UTC). A day is recomputed
whole from its calls whenever one of them changes (analysed, re-scored, overridden, deleted), so a
roll-up never drifts; at start the service rebuilds them when their call count differs from the
calls' (calls stored by other means, a database from before roll-ups), and `callscope rollups
rebuild` rebuilds them on demand.

Sums are exact: each is kept as the non-overlapping partials of Shewchuk's algorithm (the floats whose
exact sum is the exact sum of the values), so math.fsum over any days' partials is the correctly
rounded sum of every call's value, the same number fsum over the calls themselves gives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from math import fsum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from callscope.api.services.results import effective_facts
from callscope.core.config import Settings
from callscope.models.orm import Call, CallDigest, RepDayStat, User, utcnow

log = logging.getLogger("callscope.rollups")
METRICS = ("talk_ratio", "longest_monologue", "interactivity", "patience", "question_rate", "questions")
STATS_VERSION = 2  # the shape below; rows of another shape are rebuilt at start


def day_of(when: datetime) -> date:
    return when.astimezone(timezone.utc).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of a UTC day."""
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def add_exact(partials: list[float], value: float) -> None:
    """Add value to a list of partials whose exact sum is a running total (Shewchuk; the msum recipe
    that math.fsum is built on)."""
    kept = 0
    for other in partials:
        if abs(value) < abs(other):
            value, other = other, value
        high = value + other
        low = other - (high - value)
        if low:
            partials[kept] = low
            kept += 1
        value = high
    partials[kept:] = [value]


def total(partials: list[float]) -> float:
    return fsum(partials)


def empty_stats() -> dict[str, Any]:
    """score and each metric: [partials, count]; duration: partials; items (first seen first):
    id -> [name, applicable, passed, score partials, max partials]; objections (first seen first):
    type -> [raised, handled]."""
    return {"v": STATS_VERSION, "score": [[], 0], "duration": [], "metrics": {m: [[], 0] for m in METRICS},
            "items": {}, "objections": {}}


def add_facts(stats: dict[str, Any], fact: dict[str, Any], duration: float | None) -> None:
    """Add one call's facts (models.document.facts) to stats."""
    if fact.get("score") is not None:
        add_exact(stats["score"][0], float(fact["score"]))
        stats["score"][1] += 1
    add_exact(stats["duration"], float(duration or 0.0))
    for name in METRICS:
        value = (fact.get("metrics") or {}).get(name)
        if value is not None:
            add_exact(stats["metrics"][name][0], float(value))
            stats["metrics"][name][1] += 1
    for item_id, name, passed, score, max_score in fact.get("items", []):
        entry = stats["items"].setdefault(item_id, [name, 0, 0, [], []])
        if passed is not None:
            entry[1] += 1
            entry[2] += 1 if passed else 0
            add_exact(entry[3], float(score))
            add_exact(entry[4], float(max_score))
    for kind, handled in fact.get("objections", []):
        entry = stats["objections"].setdefault(kind, [0, 0])
        entry[0] += 1
        entry[1] += 1 if handled else 0


def merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """Add the stats of other calls (another day, another rep) to into."""
    into["score"][0].extend(part["score"][0])
    into["score"][1] += part["score"][1]
    into["duration"].extend(part["duration"])
    for name in METRICS:
        got = part["metrics"].get(name)
        if got:
            into["metrics"][name][0].extend(got[0])
            into["metrics"][name][1] += got[1]
    items = into["items"]
    for item_id, (name, applicable, passed, score, max_score) in part["items"].items():
        entry = items.get(item_id)
        if entry is None:
            items[item_id] = [name, applicable, passed, list(score), list(max_score)]
        else:
            entry[1] += applicable
            entry[2] += passed
            entry[3].extend(score)
            entry[4].extend(max_score)
    objections = into["objections"]
    for kind, (raised, handled) in part["objections"].items():
        entry = objections.get(kind)
        if entry is None:
            objections[kind] = [raised, handled]
        else:
            entry[0] += raised
            entry[1] += handled


def _done_calls(rep_id: int, start: datetime, end: datetime):  # noqa: ANN202
    """A select of a rep's done calls in [start, end), oldest first: id, title, started_at, score, stage,
    duration (stats_of_calls counts those with an analysis)."""
    return (select(Call.id, Call.title, Call.started_at, Call.score, Call.stage, Call.duration)
            .where(Call.rep_id == rep_id, Call.status == "done", Call.started_at >= start,
                   Call.started_at < end)
            .order_by(Call.started_at, Call.id))


def stats_of_calls(session: Session, rows: list[Any]
                   ) -> tuple[int, dict[str, Any], dict[int, dict[str, Any]]]:
    """(calls counted, their stats, each call's facts) of rows of _done_calls."""
    found = effective_facts(session, [r.id for r in rows])
    stats, calls = empty_stats(), 0
    for row in rows:
        if row.id in found:
            add_facts(stats, found[row.id], row.duration)
            calls += 1
    return calls, stats, found


def refresh(session: Session, rep_days: Iterable[tuple[int, date]]) -> None:
    """Recompute the roll-ups of these (rep id, day) pairs from their done calls (not committed)."""
    session.flush()
    for rep_id, day in set(rep_days):
        start, end = day_bounds(day)
        rows = list(session.execute(_done_calls(rep_id, start, end)))
        calls, stats, _ = stats_of_calls(session, rows)
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


def rebuild(session: Session) -> int:
    """Every roll-up recomputed from the calls, in one pass over them in batches (commits).
    Returns the rows written."""
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
            entry = totals.get(key)
            if entry is None:
                entry = totals[key] = [0, empty_stats(), []]
            entry[2].append((row.started_at, row.id, found[row.id], row.duration))
            entry[0] += 1
        last = rows[-1].id
    for _calls, stats, members in totals.values():  # each day's calls added oldest first, as refresh does
        for _, _, fact, duration in sorted(members, key=lambda m: (m[0], m[1])):
            add_facts(stats, fact, duration)
    session.add_all([RepDayStat(rep_id=rep_id, day=day, team_id=teams.get(rep_id), calls=calls, stats=stats)
                     for (rep_id, day), (calls, stats, _) in totals.items()])
    session.commit()
    return len(totals)


def rebuild_cli(settings: Settings) -> dict[str, int]:
    """`callscope rollups rebuild`: the schema brought to head, every roll-up recomputed; what it did."""
    from callscope.models.db import engine_for, migrate, session_factory

    engine = engine_for(settings)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            days = rebuild(session)
            calls = session.scalar(select(func.coalesce(func.sum(RepDayStat.calls), 0))) or 0
        return {"rep_days": days, "calls": int(calls)}
    finally:
        engine.dispose()


def rebuild_if_stale(session: Session) -> bool:
    """Rebuild every roll-up when their call count differs from the done calls with an analysis, or a
    row has another shape than this code's (commits). Returns whether it rebuilt."""
    done = session.scalar(select(func.count(Call.id)).where(
        Call.status == "done", Call.id.in_(select(CallDigest.call_id)))) or 0
    rolled = session.scalar(select(func.coalesce(func.sum(RepDayStat.calls), 0))) or 0
    sample = session.scalar(select(RepDayStat.stats).limit(1))
    if done == rolled and (sample is None or sample.get("v") == STATS_VERSION):
        return False
    log.info("rebuilding rep/day roll-ups (%d calls, %d rolled up)", done, rolled)
    rebuild(session)
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


def day_rows(session: Session, rep_ids: list[int], start: datetime | None, end: datetime | None
             ) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(rep id, day, calls, stats) of these reps over the UTC days from start's to end's (all days when
    None), by rep and day."""
    stmt = select(RepDayStat.rep_id, RepDayStat.day, RepDayStat.calls, RepDayStat.stats).where(
        RepDayStat.rep_id.in_(rep_ids))
    stmt = _period_filter(stmt, start, end).order_by(RepDayStat.rep_id, RepDayStat.day)
    return [tuple(row) for row in session.execute(stmt)]


def rep_totals(session: Session, rep_ids: list[int], start: datetime | None, end: datetime | None
               ) -> dict[int, tuple[int, dict[str, Any]]]:
    """Each rep's (calls, summed stats) over the UTC days from start's to end's (all days when None)."""
    out: dict[int, tuple[int, dict[str, Any]]] = {}
    for rep_id, _day, calls, stats in day_rows(session, rep_ids, start, end):
        count, summed = out.get(rep_id, (0, None))
        if summed is None:
            summed = empty_stats()
        merge(summed, stats)
        out[rep_id] = (count + calls, summed)
    return out
