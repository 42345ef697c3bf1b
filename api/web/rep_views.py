"""A rep's page: the backend's evaluation of the period (the same standards the API and its CSV export
use), the score trend, and all their calls in the period, processing ones included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.services.evaluation import rep_evaluation
from callscope.api.services.people import visible_rep
from callscope.api.web.charts import trend_chart, weekly_points
from callscope.api.web.config import web_config
from callscope.models.orm import Call

PERIODS = (7, 30, 90, 365)
METRIC_ORDER = ("talk_ratio", "longest_monologue", "question_rate", "interactivity", "patience")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def rep_page_data(session: Session, principal: Principal, rep_id: int, days: int, tz: tzinfo,
                  now: datetime | None = None) -> dict[str, Any]:
    """NotFound when the rep is missing or outside the caller's scope."""
    rep = visible_rep(session, principal, str(rep_id))
    now = now or datetime.now(timezone.utc)
    start = now - timedelta(days=days)
    evaluation = rep_evaluation(session, rep, start, now)
    calls = list(session.scalars(select(Call).where(Call.rep_id == rep.id, Call.started_at >= start)
                                 .order_by(Call.started_at.desc(), Call.id.desc())))
    previous = [s for s in session.scalars(select(Call.score).where(
        Call.rep_id == rep.id, Call.status == "done", Call.started_at >= start - timedelta(days=days),
        Call.started_at < start)) if s is not None]
    scored = [(_aware(c.started_at).astimezone(tz), c.score) for c in calls if c.status == "done"]
    weeks = max(4, min(web_config()["trend_weeks"], days // 7 + 1))
    metrics = [{"id": m, **evaluation["metrics"][m]} for m in METRIC_ORDER if m in evaluation["metrics"]]
    return {
        "rep": rep, "days": days, "periods": PERIODS, "calls": calls, "evaluation": evaluation,
        "previous_average": round(sum(previous) / len(previous), 1) if previous else None,
        "metrics": metrics, "chart": trend_chart(weekly_points(scored, weeks, now.astimezone(tz))),
    }
