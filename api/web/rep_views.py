"""A rep's page: the backend's evaluation of the period (the same standards the API and its CSV export
use), the score trend, and all their calls in the period, processing ones included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.services.evaluation import rep_evaluation
from callscope.api.services.people import visible_rep
from callscope.api.services.zones import rep_zone
from callscope.api.web.charts import evaluation_points, trend_chart
from callscope.api.web.compliance import compliance_flags
from callscope.api.web.config import web_config
from callscope.core.config import Settings
from callscope.models.orm import Call

PERIODS = (7, 30, 90, 365)
METRIC_ORDER = ("talk_ratio", "longest_monologue", "questions", "question_rate", "interactivity", "patience")


def rep_page_data(session: Session, principal: Principal, rep_id: int, days: int, settings: Settings,
                  now: datetime | None = None) -> dict[str, Any]:
    """NotFound when the rep is missing or outside the caller's scope. Weeks are cut in the rep's
    display time zone, by the evaluation itself: the chart shows the API's weekly figures."""
    rep = visible_rep(session, principal, str(rep_id))
    tz = rep_zone(settings, rep)
    now = now or datetime.now(timezone.utc)
    start = now - timedelta(days=days)
    evaluation = rep_evaluation(session, rep, start, now, tz)
    calls = list(session.scalars(select(Call).where(Call.rep_id == rep.id, Call.started_at >= start)
                                 .order_by(Call.started_at.desc(), Call.id.desc())))
    previous = [s for s in session.scalars(select(Call.score).where(
        Call.rep_id == rep.id, Call.status == "done", Call.started_at >= start - timedelta(days=days),
        Call.started_at < start)) if s is not None]
    weeks = max(4, min(web_config()["trend_weeks"], days // 7 + 1))
    metrics = [{"id": m, **evaluation["metrics"][m]} for m in METRIC_ORDER if m in evaluation["metrics"]]
    points = evaluation_points(evaluation["trend"]["by_week"], weeks, now.astimezone(tz))
    return {
        "rep": rep, "zone": tz, "days": days, "periods": PERIODS, "calls": calls, "evaluation": evaluation,
        "previous_average": round(sum(previous) / len(previous), 1) if previous else None,
        "metrics": metrics, "chart": trend_chart(points, width=1200, height=280),  # the page's full width
        "compliance": compliance_flags(session, [c.id for c in calls if c.status == "done"]),
    }
