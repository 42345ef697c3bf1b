"""The events the service pushes (api.webhooks) and the chat notifications they bring (api.notifications):
what each one carries, and when it is made.

Every function here writes into the caller's session and does not commit: the event goes out with
the change it reports (the analysis stored, the job failed) or not at all. evaluation.updated is made
in api.services.evaluation, below this module, since a review (api.services.reviews) sends it too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api import notifications, webhooks
from callscope.api.deps import Principal
from callscope.api.services.evaluation import evaluation_updated
from callscope.api.services.insights import deal_insights
from callscope.api.services.results import current_analysis, effective_document
from callscope.core.config import Settings
from callscope.models.orm import Call, Deal, DealRisk, User, utcnow

log = logging.getLogger("callscope.events")
SYSTEM = Principal(token_id=0, role="admin", user_id=None, team_id=None, label="system")


def _rep(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name,
            "team": user.team.name if user.team else None}


def call_analyzed(session: Session, settings: Settings, call: Call, reason: str = "analyze") -> None:
    """call.analyzed, evaluation.updated for the rep's week, and deal.risk_changed when the call's
    deal changed level: after the job's results are in the session."""
    record = current_analysis(session, call.id)
    if record is None:
        return
    doc = effective_document(session, call, record.document)
    card = doc.get("scorecard") or {}
    team_id = call.rep.team_id if call.rep else None
    webhooks.emit(session, "call.analyzed", {
        "call_id": call.id,
        "title": call.title,
        "started_at": call.started_at.isoformat(),
        "duration": doc.get("duration"),
        "language": doc.get("language"),
        "deal": call.deal.external_id if call.deal else None,
        "rep": _rep(call.rep),
        "stage": doc.get("stage"),
        "score": card.get("score"),
        "grade": card.get("grade"),
        "reason": reason,
        "objections": [{"type": o["type"], "handled": bool(o.get("handled")), "text": o.get("text", ""),
                        "start": o.get("start")} for o in doc.get("objections", [])],
        "next_steps": [{"text": s.get("text", ""), "when": s.get("when", ""), "start": s.get("start"),
                        "due": s.get("due")} for s in doc.get("next_steps", [])],
        "failed_items": [i["id"] for i in card.get("items", []) if i.get("passed") is False],
        "links": {"call": f"/api/v1/calls/{call.id}", "analysis": f"/api/v1/calls/{call.id}/analysis"},
    }, team_id=team_id)
    notifications.call_review(session, settings, call, doc)
    evaluation_updated(session, settings, call.rep, call.started_at, reason=f"call {call.id} {reason}")
    if call.deal is not None:
        refresh_deal_risk(session, settings, call.deal)


def call_failed(session: Session, call_id: int, error: str) -> None:
    call = session.get(Call, call_id)
    if call is None:
        return
    webhooks.emit(session, "call.failed", {
        "call_id": call.id, "title": call.title, "started_at": call.started_at.isoformat(),
        "deal": call.deal.external_id if call.deal else None, "rep": _rep(call.rep), "error": error,
        "attempts": call.attempts,
    }, team_id=call.rep.team_id if call.rep else None)


def refresh_deal_risk(session: Session, settings: Settings, deal: Deal,
                      now: datetime | None = None) -> dict[str, Any]:
    """The deal's risk now; when its level differs from the last judged one, stored and a
    deal.risk_changed event. Returns the risk."""
    session.flush()
    insights = deal_insights(session, SYSTEM, deal, now=now, tz=settings.timezone,
                             team_config=settings.team_config)
    risk = insights["risk"]
    stored = session.get(DealRisk, deal.id)
    old = stored.level if stored else None
    if stored is None:
        stored = DealRisk(deal_id=deal.id, level=risk["level"], reasons=risk["reasons"])
        session.add(stored)
    if old != risk["level"]:
        stored.level, stored.reasons, stored.updated_at = risk["level"], risk["reasons"], utcnow()
        owner = deal.owner
        team_id = owner.team_id if owner else None
        if old is not None or risk["level"] != "low":
            webhooks.emit(session, "deal.risk_changed", {
                "deal": deal.external_id, "name": deal.name, "account": deal.account,
                "old_level": old, "new_level": risk["level"], "reasons": risk["reasons"],
                "insights": f"/api/v1/deals/{deal.external_id}/insights",
            }, team_id=team_id)
        notifications.deal_risk_rose(session, settings, deal, old, risk["level"], risk["reasons"], team_id)
    elif stored.reasons != risk["reasons"]:
        stored.reasons = risk["reasons"]
    return risk


def sweep_deal_risks(session: Session, settings: Settings, days: int = 120) -> int:
    """Clocks run without calls: re-judge the deals with a call in the last `days` days (the delivery
    loop runs this hourly). Returns how many deals changed level."""
    since = utcnow() - timedelta(days=days)
    deal_ids = list(session.scalars(select(Call.deal_id).where(Call.deal_id.is_not(None),
                                                                Call.started_at >= since).distinct()))
    changed = 0
    for deal_id in deal_ids:
        deal = session.get(Deal, deal_id)
        before = session.get(DealRisk, deal_id)
        level = before.level if before else None
        if refresh_deal_risk(session, settings, deal)["level"] != level:
            changed += 1
    return changed
