"""Per rep and day roll-ups of done calls (rep_day_stats): sums and counts of what rep and team
evaluations count (score, metrics, each item's verdicts and points, objections by type, talk time),
with managers' overrides applied. Evaluations read a row per rep and day instead of every call's facts.

Days are the rep's days in their display time zone (api.services.zones: the team's), as the API's
dates and the pages' are; each row names the zone it was cut in. A day is recomputed whole from its
calls whenever one of them changes (analysed, re-scored, overridden, deleted), so a roll-up never
drifts; at start the service rebuilds them when their call count differs from the calls' (calls stored
by other means, a database from before roll-ups) or a row's zone is not its rep's display zone any more
(CALLSCOPE_DISPLAY_TZ or a team's `timezone` changed, a rep moved team), and `callscope rollups rebuild`
rebuilds them on demand.

Sums are exact: each is kept as the non-overlapping partials of Shewchuk's algorithm (the floats whose
exact sum is the exact sum of the values), so math.fsum over any days' partials is the correctly
rounded sum of every call's value, the same number fsum over the calls themselves gives.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from math import fsum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from callscope.api.services.results import effective_facts, id_batches
from callscope.api.services.zones import display_zone, zone_by_name
from callscope.core.config import Settings
from callscope.models.orm import Call, CallDigest, RepDayStat, Team, User, utcnow

log = logging.getLogger("callscope.rollups")
METRICS = ("talk_ratio", "longest_monologue", "interactivity", "patience", "question_rate", "questions")
STATS_VERSION = 2  # the shape below; rows of another shape are rebuilt at start


def day_of(when: datetime, zone: tzinfo) -> date:
    """The day of an instant in zone (naive instants are UTC)."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of a day in zone, as UTC instants (23 or 25 hours across a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)


def rep_zones(session: Session, settings: Settings, rep_ids: Iterable[int] | None = None
              ) -> dict[int, tzinfo]:
    """Each rep's display time zone (their team's; every user when rep_ids is None)."""
    stmt = select(User.id, Team.name).outerjoin(Team, Team.id == User.team_id)
    if rep_ids is not None:
        stmt = stmt.where(User.id.in_(list(rep_ids)))
    by_team: dict[str | None, tzinfo] = {}
    out = {}
    for rep_id, team in session.execute(stmt):
        if team not in by_team:
            by_team[team] = display_zone(settings, team)
        out[rep_id] = by_team[team]
    return out


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


def refresh(session: Session, settings: Settings, rep_days: Iterable[tuple[int, date]]) -> None:
    """Recompute the roll-ups of these (rep id, day in the rep's display zone) pairs from their done
    calls (not committed). A rep with rows of another zone has all of them rebuilt in theirs."""
    pairs = set(rep_days)
    zones = rep_zones(session, settings, {rep_id for rep_id, _ in pairs})
    mismatched = {rep_id for rep_id, zone in session.execute(
        select(RepDayStat.rep_id, RepDayStat.zone).distinct().where(RepDayStat.rep_id.in_(list(zones))))
        if zone != str(zones[rep_id])}
    if mismatched:
        _rebuild(session, zones, mismatched)
    _refresh_days(session, [(rep_id, day, zones[rep_id]) for rep_id, day in pairs
                            if rep_id in zones and rep_id not in mismatched])


def _refresh_days(session: Session, rep_days: Iterable[tuple[int, date, tzinfo]]) -> None:
    session.flush()
    session.info.pop(_SEEN, None)
    for rep_id, day, zone in rep_days:
        start, end = day_bounds(day, zone)
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
            session.add(RepDayStat(**key, zone=str(zone), team_id=team_id, calls=calls, stats=stats))
        else:
            existing.calls, existing.stats, existing.team_id = calls, stats, team_id
            existing.zone, existing.updated_at = str(zone), utcnow()


def refresh_call(session: Session, settings: Settings, call: Call) -> None:
    zone = rep_zones(session, settings, [call.rep_id]).get(call.rep_id, timezone.utc)
    refresh(session, settings, [(call.rep_id, day_of(call.started_at, zone))])


def forget_call(session: Session, rep_id: int, started_at: datetime) -> None:
    """A deleted call leaves the row that counted it: the rep's row whose day, in the zone the row was
    cut in, holds started_at (no settings needed: the row says its zone)."""
    near = day_of(started_at, timezone.utc)
    candidates = [(near + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    for day, zone in session.execute(select(RepDayStat.day, RepDayStat.zone).where(
            RepDayStat.rep_id == rep_id, RepDayStat.day.in_(candidates))).all():
        tz = zone_by_name(zone)
        if day_of(started_at, tz).isoformat() == day:
            _refresh_days(session, [(rep_id, date.fromisoformat(day), tz)])


def rebuild(session: Session, settings: Settings) -> int:
    """Every roll-up recomputed from the calls, each rep's days cut in their display zone, in one pass
    over the calls in batches (commits). Returns the rows written."""
    session.execute(delete(RepDayStat))
    written = _rebuild(session, rep_zones(session, settings), None)
    session.commit()
    return written


def _rebuild(session: Session, zones: dict[int, tzinfo], rep_ids: set[int] | None) -> int:
    """The roll-ups of these reps (every rep: None; the caller deleted every row) recomputed from their
    calls (not committed). Returns the rows written."""
    session.info.pop(_SEEN, None)
    if rep_ids is not None:
        session.execute(delete(RepDayStat).where(RepDayStat.rep_id.in_(list(rep_ids))))
    teams = dict(session.execute(select(User.id, User.team_id)).all())
    totals: dict[tuple[int, str], list[Any]] = {}
    last = 0
    while True:
        stmt = select(Call.id, Call.rep_id, Call.started_at, Call.duration).where(
            Call.status == "done", Call.id > last)
        if rep_ids is not None:
            stmt = stmt.where(Call.rep_id.in_(list(rep_ids)))
        rows = list(session.execute(stmt.order_by(Call.id).limit(2000)))
        if not rows:
            break
        found = effective_facts(session, [r.id for r in rows])
        for row in rows:
            if row.id not in found:
                continue
            key = (row.rep_id, day_of(row.started_at, zones.get(row.rep_id, timezone.utc)).isoformat())
            entry = totals.get(key)
            if entry is None:
                entry = totals[key] = [0, empty_stats(), []]
            entry[2].append((row.started_at, row.id, found[row.id], row.duration))
            entry[0] += 1
        last = rows[-1].id
    for _calls, stats, members in totals.values():  # each day's calls added oldest first, as refresh does
        for _, _, fact, duration in sorted(members, key=lambda m: (m[0], m[1])):
            add_facts(stats, fact, duration)
    session.add_all([RepDayStat(rep_id=rep_id, day=day, zone=str(zones.get(rep_id, timezone.utc)),
                                team_id=teams.get(rep_id), calls=calls, stats=stats)
                     for (rep_id, day), (calls, stats, _) in totals.items()])
    session.flush()
    return len(totals)


def rebuild_cli(settings: Settings) -> dict[str, int]:
    """`callscope rollups rebuild`: the schema brought to head, every roll-up recomputed; what it did."""
    from callscope.models.db import engine_for, migrate, session_factory

    engine = engine_for(settings)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            days = rebuild(session, settings)
            calls = session.scalar(select(func.coalesce(func.sum(RepDayStat.calls), 0))) or 0
        return {"rep_days": days, "calls": int(calls)}
    finally:
        engine.dispose()


def rebuild_if_stale(session: Session, settings: Settings) -> bool:
    """Rebuild every roll-up when their call count differs from the done calls with an analysis, a row
    has another shape than this code's, or a rep's rows were cut in another zone than their display
    zone of now (commits). Returns whether it rebuilt."""
    done = session.scalar(select(func.count(Call.id)).where(
        Call.status == "done", Call.id.in_(select(CallDigest.call_id)))) or 0
    rolled = session.scalar(select(func.coalesce(func.sum(RepDayStat.calls), 0))) or 0
    sample = session.scalar(select(RepDayStat.stats).limit(1))
    stored = session.execute(select(RepDayStat.rep_id, RepDayStat.zone).distinct()).all()
    zones = rep_zones(session, settings, {rep_id for rep_id, _ in stored}) if stored else {}
    moved = sum(1 for rep_id, zone in stored if str(zones.get(rep_id, timezone.utc)) != zone)
    if done == rolled and (sample is None or sample.get("v") == STATS_VERSION) and not moved:
        return False
    log.info("rebuilding rep/day roll-ups (%d calls, %d rolled up, %d reps' days in another zone)",
             done, rolled, moved)
    rebuild(session, settings)
    return True


def days_of(start: datetime | None, end: datetime | None, zone: tzinfo) -> tuple[date | None, date | None]:
    """The days (in zone) of a period's first and last instants; None where the period is open."""
    return (day_of(start, zone) if start is not None else None,
            day_of(end, zone) if end is not None else None)


def _day_rows(session: Session, rep_ids: list[int]) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(rep id, day, calls, stats) of every day of these reps (each rep's days in their display zone),
    by rep and day."""
    stmt = select(RepDayStat.rep_id, RepDayStat.day, RepDayStat.calls, RepDayStat.stats).where(
        RepDayStat.rep_id.in_(rep_ids)).order_by(RepDayStat.rep_id, RepDayStat.day)
    return [tuple(row) for row in session.execute(stmt)]


class RepDays:
    """A rep's roll-ups, every day, as read at one stamp (their count, newest update and calls): the
    days in order and the sums over the spans asked so far. Shared between requests, so never changed:
    callers merge from them into stats of their own."""

    SPANS = 32  # sums kept per rep: the periods the pages and the API ask (90 days, all time, targets)

    def __init__(self, stamp_: tuple, rows: list[tuple[str, int, dict[str, Any]]]) -> None:
        self.stamp = stamp_
        self.days = rows
        self._spans: OrderedDict[tuple[str | None, str | None], tuple[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def between(self, first: date | None, last: date | None) -> list[tuple[str, int, dict[str, Any]]]:
        low, high = _span_key(first, last)
        return [row for row in self.days
                if (low is None or row[0] >= low) and (high is None or row[0] <= high)]

    def total(self, first: date | None, last: date | None) -> tuple[int, dict[str, Any]]:
        """(calls, summed stats) over the days first..last (open where None)."""
        key = _span_key(first, last)
        with self._lock:
            hit = self._spans.get(key)
            if hit is not None:
                self._spans.move_to_end(key)
                return hit
        calls, summed = 0, empty_stats()
        for _day, count, stats in self.between(first, last):
            calls += count
            merge(summed, stats)
        with self._lock:
            self._spans[key] = (calls, summed)
            while len(self._spans) > self.SPANS:
                self._spans.popitem(last=False)
        return calls, summed


def _span_key(first: date | None, last: date | None) -> tuple[str | None, str | None]:
    return (first.isoformat() if first else None, last.isoformat() if last else None)


_SEEN = "callscope.rep_days"  # session.info key of _seen
_rep_days: OrderedDict[tuple[str, int], RepDays] = OrderedDict()  # by database and rep
_rep_days_lock = threading.Lock()
REP_DAYS_CACHED = 512  # reps whose days a process keeps (a rep's half-year is ~200 small dicts)


def forget_kept() -> None:
    """Drop the roll-ups this process keeps (evaluation.forget_kept)."""
    with _rep_days_lock:
        _rep_days.clear()


def _seen(session: Session) -> dict[int, RepDays | None]:
    """What this session read in its current transaction (a request's evaluation, its team block and
    its targets ask the same reps): forgotten at commit or rollback and when it writes roll-ups."""
    transaction = session.get_transaction()
    kept = session.info.get(_SEEN)
    if transaction is None:
        return {}
    if kept is None or kept[0] is not transaction:
        kept = session.info[_SEEN] = (transaction, {})
    return kept[1]


def rep_days(session: Session, rep_ids: Iterable[int]) -> dict[int, RepDays]:
    """Each rep's roll-ups (reps without any are absent). One grouped aggregate says each rep's stamp;
    only the reps whose stamp moved since this process last read them are read again (every write of
    a roll-up sets its updated_at, a deleted day lowers the count), so what every process answers is
    what the database holds, and a rep's evaluation, the team's, its targets and the leaderboard
    parse each day once, not once per request."""
    ids = sorted(set(rep_ids))
    seen = _seen(session)
    database = str(session.get_bind().url)
    if all(rep_id in seen for rep_id in ids):  # one request asks again (its evaluation, team, targets)
        return {rep_id: seen[rep_id] for rep_id in ids if seen[rep_id] is not None}
    stamps: dict[int, tuple] = {}
    for batch in id_batches(ids):
        stmt = select(RepDayStat.rep_id, func.count(), func.max(RepDayStat.updated_at),
                      func.sum(RepDayStat.calls)).where(RepDayStat.rep_id.in_(batch))
        for rep_id, *found in session.execute(stmt.group_by(RepDayStat.rep_id)):
            stamps[rep_id] = tuple(found)
    out: dict[int, RepDays] = {}
    stale = []
    with _rep_days_lock:
        for rep_id, current in stamps.items():
            got = _rep_days.get((database, rep_id))
            if got is not None and got.stamp == current:
                _rep_days.move_to_end((database, rep_id))
                out[rep_id] = got
            else:
                stale.append(rep_id)
    if stale:
        read: dict[int, list[tuple[str, int, dict[str, Any]]]] = {rep_id: [] for rep_id in stale}
        for batch in id_batches(stale):
            for rep_id, day, calls, stats in _day_rows(session, batch):
                read[rep_id].append((day, calls, stats))
        # rows read after their stamp: a roll-up written in between is newer than the stamp kept, so
        # the next request's stamp differs and reads them again (never an old row under a new stamp)
        with _rep_days_lock:
            for rep_id, rows in read.items():
                out[rep_id] = _rep_days[database, rep_id] = RepDays(stamps[rep_id], rows)
            while len(_rep_days) > REP_DAYS_CACHED:
                _rep_days.popitem(last=False)
    seen.update({rep_id: out.get(rep_id) for rep_id in ids})
    return out


def rep_totals(session: Session, rep_ids: list[int], first: date | None, last: date | None
               ) -> dict[int, tuple[int, dict[str, Any]]]:
    """Each rep's (calls, summed stats) over the days first..last (all days when None); reps without a
    call there are absent. The sums are shared (RepDays): merge from them, never into them."""
    out: dict[int, tuple[int, dict[str, Any]]] = {}
    for rep_id, days in rep_days(session, rep_ids).items():
        calls, summed = days.total(first, last)
        if calls:
            out[rep_id] = (calls, summed)
    return out
