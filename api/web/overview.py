"""The manager's team overview: this week's calls and scores, the score trend, reps who need
attention (low scores, items they keep failing, deals past the 15-day follow-up) and deal clocks."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.services.config import service_config
from callscope.api.web.charts import trend_chart, week_start, weekly_points
from callscope.api.web.compliance import compliance_flags
from callscope.api.web.config import web_config
from callscope.api.web.stats import effective_items, item_stats
from callscope.models.orm import Call, Deal, User


def reps_in_scope(session: Session, principal: Principal) -> list[User]:
    """The reps a principal oversees: their team's (manager) or everyone's with calls or the rep role."""
    with_calls = select(Call.rep_id).distinct()
    stmt = select(User).where((User.role == "rep") | User.id.in_(with_calls))
    if principal.role == "manager":
        stmt = stmt.where(User.team_id == principal.team_id)
    elif not principal.sees_everything:
        stmt = stmt.where(User.id == principal.user_id)
    return list(session.scalars(stmt.order_by(User.name, User.email)))


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def follow_up_deals(session: Session, principal: Principal, now: datetime,
                    tz: tzinfo) -> list[dict[str, Any]]:
    """Open deals in scope by days since their last call, with the 1-15-30 clock each is on: calendar
    days in the display time zone, as the deal page counts them."""
    clocks = service_config()["clocks"]  # the same 1-15-30 clocks as the API's deal insights
    closed = {s.lower() for s in web_config()["closed_stages"]}
    last = principal.scope_calls(select(Call.deal_id, func.max(Call.started_at), func.count(Call.id))
                                 .where(Call.deal_id.is_not(None)).group_by(Call.deal_id))
    rows = session.execute(last).all()
    deals = {d.id: d for d in session.scalars(select(Deal).where(Deal.id.in_([r[0] for r in rows])))}
    out = []
    for deal_id, last_call, count in rows:
        deal = deals.get(deal_id)
        if deal is None or (deal.stage or "").lower() in closed:
            continue
        if last_call.tzinfo is None:
            last_call = last_call.replace(tzinfo=timezone.utc)
        days = (now.astimezone(tz).date() - last_call.astimezone(tz).date()).days
        clock = ("stale" if days > clocks["intent_days"] else "due" if days > clocks["follow_up_days"]
                 else "ok")
        out.append({"deal": deal, "last_call": last_call, "days": days, "calls": count, "clock": clock,
                    "owner": deal.owner})
    return sorted(out, key=lambda d: -d["days"])


def team_overview(session: Session, principal: Principal, tz: tzinfo, now: datetime | None = None) -> dict:
    cfg = web_config()
    now = now or datetime.now(timezone.utc)
    local_now = now.astimezone(tz)
    this_week = datetime.combine(week_start(local_now), datetime.min.time(), tz)
    last_week = this_week - timedelta(weeks=1)
    attention_cfg = cfg["attention"]
    period_start = now - timedelta(days=attention_cfg["period_days"])
    since = min(this_week - timedelta(weeks=cfg["trend_weeks"] - 1), period_start)
    rows = session.execute(principal.scope_calls(
        select(Call.id, Call.rep_id, Call.started_at, Call.score, Call.status).where(Call.started_at >= since)
    )).all()

    def local(moment: datetime) -> datetime:
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(tz)

    done = [r for r in rows if r.status == "done"]
    week_rows = [r for r in done if local(r.started_at) >= this_week]
    prev_rows = [r for r in done if last_week <= local(r.started_at) < this_week]
    points = weekly_points([(local(r.started_at), r.score) for r in done], cfg["trend_weeks"], local_now)

    period_rows = [r for r in done if local(r.started_at) >= period_start.astimezone(tz)]
    scoped_ids = principal.scope_calls(select(Call.id).where(Call.started_at >= period_start,
                                                             Call.status == "done"))
    items = effective_items(session, scoped_ids)
    deals = follow_up_deals(session, principal, now, tz)
    overdue_by_rep: dict[int, int] = defaultdict(int)
    for d in deals:
        if d["clock"] != "ok" and d["owner"] is not None:
            overdue_by_rep[d["owner"].id] += 1

    flagged = compliance_flags(session, [r.id for r in period_rows])
    reps = []
    for rep in reps_in_scope(session, principal):
        mine = [r for r in period_rows if r.rep_id == rep.id]
        average = _mean([r.score for r in mine if r.score is not None])
        failing = [s for s in item_stats(items, [r.id for r in mine])
                   if s.applicable >= attention_cfg["item_min_calls"]
                   and s.fail_rate >= attention_cfg["item_fail_rate"]]
        failing.sort(key=lambda s: -s.fail_rate)
        reasons = []
        if average is not None and average < attention_cfg["low_score"]:
            reasons.append("low_score")
        if failing:
            reasons.append("failing_items")
        if overdue_by_rep.get(rep.id):
            reasons.append("overdue_deals")
        risky = [r.id for r in mine if r.id in flagged]
        if risky:
            reasons.append("compliance")
        reps.append({"rep": rep, "calls": len(mine), "average": average, "failing": failing,
                     "overdue": overdue_by_rep.get(rep.id, 0), "reasons": reasons,
                     "compliance_calls": risky})
    reps.sort(key=lambda r: (r["average"] is None, r["average"] or 0))

    pending = session.scalar(principal.scope_calls(select(func.count(Call.id)).where(
        Call.status.in_(("queued", "processing"))))) or 0
    failed = session.scalar(principal.scope_calls(
        select(func.count(Call.id)).where(Call.status == "failed"))) or 0
    return {
        "calls_week": len(week_rows), "calls_prev_week": len(prev_rows),
        "avg_week": _mean([r.score for r in week_rows if r.score is not None]),
        "avg_prev_week": _mean([r.score for r in prev_rows if r.score is not None]),
        "pending": pending, "failed": failed,
        "chart": trend_chart(points), "weeks": points,
        "attention": [r for r in reps if r["reasons"]], "reps": reps,
        "deals": [d for d in deals if d["clock"] != "ok"], "deals_total": len(deals),
        "period_days": attention_cfg["period_days"], "low_score": attention_cfg["low_score"],
        "due_days": service_config()["clocks"]["follow_up_days"],
        "stale_days": service_config()["clocks"]["intent_days"],
    }
