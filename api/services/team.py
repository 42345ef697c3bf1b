"""A rep judged against their team and their targets, the team's evaluation, the leaderboard, and KPI
targets set directly or broken down from a team goal (目标分解: team -> reps, month -> weeks).

Everything here reads the per rep and day roll-ups (api.services.rollups), never every call: a team's 90 days
are a few hundred rows. Periods are counted in whole days of the team's display time zone
(api.services.zones, the zone its reps' roll-up days are cut in): from the day of the period's first
instant to the day of its last; a target's dates are days of that zone too.

- team "average": over all the team's calls in the period (call-weighted; a pass rate over the calls
  the item applies to); "top_quartile": the 75th percentile of the reps' own values (statistics.quantiles,
  inclusive method), the 25th for metrics where less is better (service.yaml team_compare).
- a target's "actual" is counted over the target's own period; "attainment" is actual / value (value /
  actual where less is better), rounded to 3 places.
"""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.errors import FieldError
from callscope.api.services.config import service_config
from callscope.api.services.evaluation import period_of
from callscope.api.services.rollups import (
    METRICS,
    RepDays,
    days_of,
    empty_stats,
    merge,
    rep_days,
    total,
)
from callscope.models.orm import Target, Team, User

SUM_METRICS = ("calls", "talk_time")  # split across reps and weeks; the rest are rates, kept as they are
TARGET_METRICS = ("calls", "talk_time", "average_score", "objection_handled_rate", *METRICS)


def lower_is_better(metric: str) -> bool:
    return metric in (service_config().get("team_compare") or {}).get("lower_is_better", [])


def summarize(calls: int, stats: dict[str, Any]) -> dict[str, Any]:
    """A rep's (or a team's) figures from summed roll-up stats (exact sums, api.services.rollups)."""
    score_sum, scored = stats["score"]
    raised = sum(r for r, _ in stats["objections"].values())
    handled = sum(h for _, h in stats["objections"].values())
    return {
        "calls": calls,
        "talk_time": round(total(stats["duration"]) / 60.0, 2),  # minutes of recorded calls
        "average_score": round(total(score_sum) / scored, 2) if scored else None,
        "objection_handled_rate": round(handled / raised, 3) if raised else None,
        "metrics": {m: (round(total(s) / n, 3) if n else None) for m, (s, n) in stats["metrics"].items()},
        "items": {item_id: {"name": name, "applicable": applicable,
                            "pass_rate": round(passed / applicable, 3) if applicable else None}
                  for item_id, (name, applicable, passed, _s, _m) in stats["items"].items()},
    }


def _quartile(values: list[float], lower_better: bool) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return round(q1 if lower_better else q3, 3)


def _team_reps(session: Session, team_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.team_id == team_id, User.role == "rep")
                                .order_by(User.id)))


_cache: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 256


def _totals(session: Session, reps: list[User], start: datetime | None, end: datetime | None, zone: tzinfo
            ) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Each rep's summary and the team's (all calls together) over the days (in zone) from start's to
    end's. Kept per reps and days while their roll-ups' stamps are the same: every rep of a team asks
    the same figures."""
    rep_ids = [r.id for r in reps]
    first, last = days_of(start, end, zone)
    days = rep_days(session, rep_ids)
    key = (str(session.get_bind().url), tuple(rep_ids), first, last)
    current = tuple((rep_id, days[rep_id].stamp) for rep_id in sorted(days))
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == current:
            _cache.move_to_end(key)
            return hit[1]
    result = _compute_totals(days, first, last)
    with _cache_lock:
        _cache[key] = (current, result)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _compute_totals(days: dict[int, RepDays], first: date | None, last: date | None
                    ) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    team_stats, team_calls, per_rep = empty_stats(), 0, {}
    for rep_id, rep in days.items():
        calls, stats = rep.total(first, last)
        if not calls:
            continue
        merge(team_stats, stats)
        team_calls += calls
        per_rep[rep_id] = summarize(calls, stats)
    return per_rep, summarize(team_calls, team_stats)


def comparison(session: Session, rep: User, start: datetime | None, end: datetime | None, zone: tzinfo
               ) -> dict[str, Any] | None:
    """The team block of a rep's evaluation: the team's average and top quartile of each metric and
    item pass rate, and the rep's own value beside them. zone: the team's display zone."""
    if rep.team_id is None:
        return None
    reps = _team_reps(session, rep.team_id)
    per_rep, team = _totals(session, reps, start, end, zone)
    mine = per_rep.get(rep.id)

    def block(value_of: Any, name: str) -> dict[str, Any]:
        values = [v for v in (value_of(s) for s in per_rep.values()) if v is not None]
        return {"average": value_of(team), "top_quartile": _quartile(values, lower_is_better(name)),
                "rep": value_of(mine) if mine else None, "reps": len(values),
                "lower_is_better": lower_is_better(name)}

    item_ids = sorted(team["items"])
    return {
        "team": {"id": rep.team_id, "name": rep.team.name if rep.team else None},
        "reps": len(per_rep),
        "calls": team["calls"],
        "average_score": block(lambda s: s["average_score"], "average_score"),
        "calls_per_rep": {"average": round(team["calls"] / len(per_rep), 2) if per_rep else None,
                          "top_quartile": _quartile([float(s["calls"]) for s in per_rep.values()], False),
                          "rep": mine["calls"] if mine else 0},
        "metrics": {m: block(lambda s, m=m: s["metrics"].get(m), m) for m in METRICS},
        "items": {i: {**block(lambda s, i=i: (s["items"].get(i) or {}).get("pass_rate"), i),
                      "name": team["items"][i]["name"]} for i in item_ids},
    }


def _value_of(summary: dict[str, Any], metric: str) -> float | None:
    if metric in ("calls", "talk_time", "average_score", "objection_handled_rate"):
        return summary[metric]
    if metric.startswith("pass_rate:"):
        return (summary["items"].get(metric.split(":", 1)[1]) or {}).get("pass_rate")
    return summary["metrics"].get(metric)


def _last_day(target: Target) -> str:
    """A target's last day (its period's end is exclusive)."""
    return (date.fromisoformat(target.period_end) - timedelta(days=1)).isoformat()


def attainment(value: float, actual: float | None, metric: str) -> float | None:
    if actual is None or not value:
        return None
    if lower_is_better(metric):
        return round(value / actual, 3) if actual else None
    return round(actual / value, 3)


def target_to_dict(target: Target, actual: float | None = None, with_actual: bool = False) -> dict[str, Any]:
    out = {"id": target.id, "metric": target.metric, "rep_id": target.rep_id, "team_id": target.team_id,
           "from": target.period_start, "to": target.period_end, "value": target.value,
           "source": target.source, "parent_id": target.parent_id}
    if with_actual:
        out["actual"] = actual
        out["attainment"] = attainment(target.value, actual, target.metric)
    return out


def targets_of(session: Session, rep: User, start: datetime | None, end: datetime | None, zone: tzinfo
               ) -> list[dict[str, Any]]:
    """The rep's targets whose period overlaps [start, end], each with its actual and attainment."""
    return targets_of_reps(session, [rep.id], start, end, zone).get(rep.id, [])


def targets_of_reps(session: Session, rep_ids: list[int], start: datetime | None, end: datetime | None,
                    zone: tzinfo) -> dict[int, list[dict[str, Any]]]:
    """Each rep's targets whose period (days in zone, the team's display zone) overlaps [start, end],
    each with its actual and attainment (over the target's own days): one query for the targets and one
    for the roll-ups of the days they span."""
    first_day, last_day = days_of(start, end, zone)
    stmt = select(Target).where(Target.rep_id.in_(rep_ids))
    if first_day is not None:
        stmt = stmt.where(Target.period_end > first_day.isoformat())
    if last_day is not None:
        stmt = stmt.where(Target.period_start <= last_day.isoformat())
    targets = list(session.scalars(stmt.order_by(Target.rep_id, Target.period_start, Target.metric,
                                                 Target.id)))
    if not targets:
        return {}
    days = rep_days(session, {t.rep_id for t in targets})
    out: dict[int, list[dict[str, Any]]] = {}
    for target in targets:
        calls, summed = 0, empty_stats()
        if target.rep_id in days:
            calls, summed = days[target.rep_id].total(date.fromisoformat(target.period_start),
                                                      date.fromisoformat(_last_day(target)))
        actual = _value_of(summarize(calls, summed), target.metric)
        out.setdefault(target.rep_id, []).append(target_to_dict(target, actual, with_actual=True))
    return out


def check_metric(metric: str) -> str:
    if metric in TARGET_METRICS or (metric.startswith("pass_rate:") and len(metric) > 10):
        return metric
    raise FieldError(f"metric: one of {', '.join(TARGET_METRICS)} or pass_rate:<item id>")


def _check_period(start: str, end: str) -> tuple[date, date]:
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise FieldError("from/to: dates as YYYY-MM-DD") from None
    if last <= first:
        raise FieldError("to: must be after from (to is exclusive)")
    return first, last


def set_target(session: Session, rep: User, metric: str, start: str, end: str, value: float,
               actor: str) -> Target:
    """A rep's target for [start, end): replaces one for the same metric and period."""
    check_metric(metric)
    _check_period(start, end)
    existing = session.scalar(select(Target).where(Target.rep_id == rep.id, Target.metric == metric,
                                                   Target.period_start == start, Target.period_end == end))
    if existing is None:
        existing = Target(rep_id=rep.id, team_id=rep.team_id, metric=metric, period_start=start,
                          period_end=end)
        session.add(existing)
    existing.value, existing.source, existing.created_by = float(value), "direct", actor
    session.flush()
    return existing


def weeks_of(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last) cut at Mondays: the weeks (partial at either end) of a period."""
    out, current = [], first
    while current < last:
        nxt = min(last, current + timedelta(days=7 - current.weekday()))
        out.append((current, nxt))
        current = nxt
    return out


def break_down(session: Session, team: Team, metric: str, start: str, end: str, value: float,
               weights: dict[int, float] | None, by_week: bool, actor: str) -> list[Target]:
    """目标分解: the team goal, then each rep's share (a sum metric such as calls splits by weights,
    even by default; a rate such as average_score is every rep's), then, by_week, each rep's share cut
    into weeks in proportion to their days. Returns the goal and every target made from it."""
    check_metric(metric)
    first, last = _check_period(start, end)
    reps = _team_reps(session, team.id)
    if not reps:
        raise FieldError("team: has no reps to break the goal down to")
    weights = weights or {r.id: 1.0 for r in reps}
    unknown = set(weights) - {r.id for r in reps}
    if unknown:
        raise FieldError(f"weights: not reps of team {team.name}: {sorted(unknown)}")
    total_weight = sum(weights.values())
    if total_weight <= 0:
        raise FieldError("weights: must add up to more than 0")
    goal = Target(team_id=team.id, rep_id=None, metric=metric, period_start=start, period_end=end,
                  value=float(value), source="team_goal", created_by=actor)
    session.add(goal)
    session.flush()
    made = [goal]
    summed = metric in SUM_METRICS
    days = (last - first).days
    for rep in reps:
        if rep.id not in weights:
            continue
        share = value * weights[rep.id] / total_weight if summed else value
        periods = weeks_of(first, last) if by_week else [(first, last)]
        for a, b in periods:
            part = share * (b - a).days / days if summed else share
            target = Target(rep_id=rep.id, team_id=team.id, metric=metric, period_start=a.isoformat(),
                            period_end=b.isoformat(), value=round(part, 2), source="breakdown",
                            parent_id=goal.id, created_by=actor)
            session.add(target)
            made.append(target)
    session.flush()
    return made


def team_evaluation(session: Session, team: Team, start: datetime | None, end: datetime | None, zone: tzinfo,
                    with_targets: bool = True) -> dict[str, Any]:
    """The team over a period, in whole days of zone (the team's display zone); with_targets False
    leaves the reps' targets out (a leaderboard by score or improvement has no use for them)."""
    reps = _team_reps(session, team.id)
    per_rep, summary = _totals(session, reps, start, end, zone)
    targets_by_rep = targets_of_reps(session, [rep.id for rep in reps], start, end, zone) \
        if with_targets else {}
    rows = []
    for rep in reps:
        mine = per_rep.get(rep.id) or summarize(0, empty_stats())
        targets = targets_by_rep.get(rep.id, [])
        reached = [t["attainment"] for t in targets if t["attainment"] is not None]
        rows.append({"rep": {"id": rep.id, "email": rep.email, "name": rep.name}, **mine,
                     "targets": targets,
                     "attainment": round(statistics.fmean(reached), 3) if reached else None})
    quartiles = {
        "average_score": _quartile([r["average_score"] for r in rows
                                    if r["average_score"] is not None], False),
        "calls": _quartile([float(r["calls"]) for r in rows], False),
        "metrics": {m: _quartile([r["metrics"][m] for r in rows if r["metrics"].get(m) is not None],
                                 lower_is_better(m)) for m in METRICS},
    }
    return {"team": {"id": team.id, "name": team.name}, "period": period_of(start, end, zone),
            "summary": summary, "top_quartile": quartiles, "reps": rows}


def leaderboard(session: Session, team: Team, start: datetime, end: datetime, by: str, zone: tzinfo
                ) -> dict[str, Any]:
    """Reps ranked by average score, by improvement (average score against the period of the same
    length before), or by attainment of their targets; days in zone, the team's display zone."""
    evaluation = team_evaluation(session, team, start, end, zone, with_targets=by == "attainment")
    if by == "improvement":
        # the period of the same length just before (its last instant: the one before start)
        before = _totals(session, _team_reps(session, team.id), start - (end - start),
                         start - timedelta(microseconds=1), zone)[0]
    rows = []
    for row in evaluation["reps"]:
        if by == "score":
            value = row["average_score"]
        elif by == "attainment":
            value = row["attainment"]
        else:
            earlier = (before.get(row["rep"]["id"]) or {}).get("average_score")
            value = round(row["average_score"] - earlier, 2) if row["average_score"] is not None \
                and earlier is not None else None
        rows.append({"rep": row["rep"], "value": value, "calls": row["calls"]})
    ranked = sorted(rows, key=lambda r: (r["value"] is None, -(r["value"] or 0), r["rep"]["name"]))
    for place, row in enumerate(ranked, 1):
        row["rank"] = place if row["value"] is not None else None
    return {"team": evaluation["team"], "by": by, "period": evaluation["period"], "items": ranked}
