"""What the calls say about one CRM deal: the calls, how the stage moved, objections open and handled,
next steps promised (with due dates where the words allow), and the 1-15-30 clocks of domain.md."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from callscope.api.deps import Principal
from callscope.api.services.config import service_config
from callscope.api.services.results import effective_digests
from callscope.api.services.risk import judge, team_settings
from callscope.models.orm import Call, Deal, User, utcnow
from callscope.nlp.dates import DEFAULT_TZ, resolve


def _local(moment: datetime, zone: ZoneInfo) -> date:
    """moment's calendar day in zone (naive moments are UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone).date()


def due_date(when: str, said_on: datetime, tz: str = DEFAULT_TZ) -> str | None:
    """The date a next step's time expression points at, counted from the call's start in its local
    time zone (None if the words name no day): nlp.dates."""
    found = resolve(when or "", said_on, tz)
    return found.date.isoformat() if found else None


def _resolved(step: dict[str, Any], said_on: datetime, tz: str) -> dict[str, Any] | None:
    """The step's resolved date: stored with the analysis (api.services.processing; None when its words
    name no date), else (an analysis stored before dates were resolved) resolved now."""
    if "due" in step:
        return step["due"] if isinstance(step["due"], dict) else None
    found = resolve(step.get("when", "") or step.get("text", ""), said_on, tz)
    return found.to_dict() if found else None


def deal_insights(
    session: Session, principal: Principal, deal: Deal, now: datetime | None = None,
    tz: str = DEFAULT_TZ, team_config: str = "",
) -> dict[str, Any]:
    cfg = service_config()
    zone = ZoneInfo(tz)
    funnel = cfg["funnel"]
    clocks_cfg = cfg["clocks"]
    now = now or utcnow()
    calls = list(
        session.scalars(
            # each call's rep (and the last one's team) with the calls: no query per rep
            principal.scope_calls(select(Call).where(Call.deal_id == deal.id))
            .options(joinedload(Call.rep).joinedload(User.team))
            .order_by(Call.started_at, Call.id)
        )
    )
    digests = effective_digests(session, [call.id for call in calls])
    progression, objections, next_steps, listed = [], [], [], []
    last_by_type: dict[str, dict[str, Any]] = {}
    for call in calls:
        listed.append(
            {
                "id": call.id,
                "title": call.title,
                "started_at": call.started_at.isoformat(),
                "rep": call.rep.email,
                "rep_name": call.rep.name or call.rep.email,
                "status": call.status,
                "stage": call.stage,
                "score": call.score,
            }
        )
        doc = digests.get(call.id) if call.status == "done" else None
        if doc is None:
            continue
        progression.append(
            {"call_id": call.id, "started_at": call.started_at.isoformat(), "stage": doc["stage"]}
        )
        for obj in doc.get("objections", []):
            entry = {
                "call_id": call.id,
                "type": obj["type"],
                "text": obj.get("text", ""),
                "handled": bool(obj.get("handled")),
                "start": obj.get("start"),
                "started_at": call.started_at.isoformat(),
            }
            objections.append(entry)
            last_by_type[obj["type"]] = entry
        for step in doc.get("next_steps", []):
            resolved = _resolved(step, call.started_at, tz)
            next_steps.append(
                {
                    "call_id": call.id,
                    "text": step.get("text", ""),
                    "when": step.get("when", ""),
                    "promised_on": _local(call.started_at, zone).isoformat(),
                    "promised_at": call.started_at.isoformat(),
                    "due": resolved["date"] if resolved else None,
                    "due_time": resolved["time"] if resolved else None,
                    "deadline": resolved["by"] if resolved else None,
                    "start": step.get("start"),
                }
            )
    # an objection type is open while its latest mention went unanswered
    open_types = [t for t, e in last_by_type.items() if not e["handled"]]
    first = calls[0].started_at if calls else None
    last = calls[-1].started_at if calls else None
    index = {s: i for i, s in enumerate(funnel)}
    ranks = [index[p["stage"]] for p in progression if p["stage"] in index]
    moved = len(ranks) >= 2 and max(ranks[1:]) > ranks[0]
    # the clocks count calendar days in the calls' local time zone, so that the days since the last call
    # and the days left on the 15-day clock add up to 15 (a 6.7-day gap is 7 days once the date turned)
    today = _local(now, zone)
    days_since_first = (today - _local(first, zone)).days if first else None
    days_since_last = (today - _local(last, zone)).days if last else None
    upcoming = [s for s in next_steps if s["due"] and s["due"] >= today.isoformat()]
    if days_since_first is None:
        intent = "no calls yet"
    elif days_since_first < clocks_cfg["intent_days"]:
        intent = "too early to judge"
    elif moved or upcoming:
        intent = "progressing"
    else:
        intent = "stalled: no progress in 30 days, stop spending time unless something changes"
    follow_up_due = (_local(last, zone) + timedelta(days=clocks_cfg["follow_up_days"])) if last else None
    for step in next_steps:
        step["overdue"] = bool(step["due"] and step["due"] < today.isoformat()
                               and not any(c.started_at > datetime.fromisoformat(step["promised_at"])
                                           for c in calls if c.status == "done"))
    insights = {
        "deal": {
            "id": deal.id,
            "external_id": deal.external_id,
            "name": deal.name,
            "account": deal.account,
            "crm_stage": deal.stage,
            "amount": deal.amount,
        },
        "calls": listed,
        "stage": {
            "current": progression[-1]["stage"] if progression else None,
            "furthest": funnel[max(ranks)] if ranks else None,
            "moved": moved,
            "progression": progression,
        },
        "objections": {
            "open": open_types,
            "handled": sorted({o["type"] for o in objections if o["handled"]}),
            "all": objections,
        },
        "next_steps": next_steps,
        "clocks": {
            "first_call_at": first.isoformat() if first else None,
            "last_call_at": last.isoformat() if last else None,
            "days_since_last_call": days_since_last,
            "calls_this_week": sum(1 for c in calls if (now - c.started_at).days < clocks_cfg["review_days"]),
            "follow_up": {
                "due_by": follow_up_due.isoformat() if follow_up_due else None,
                "days_left": (follow_up_due - today).days if follow_up_due else None,
                "overdue": bool(follow_up_due and today > follow_up_due),
            },
            "intent": {
                "days_since_first_call": days_since_first,
                "judge_at_days": clocks_cfg["intent_days"],
                "judgement": intent,
            },
        },
    }
    team = deal.owner.team.name if deal.owner and deal.owner.team else (
        calls[-1].rep.team.name if calls and calls[-1].rep.team else None)
    insights["risk"] = judge(insights, now, tz, team_settings(team, team_config)["risk"])
    return insights
