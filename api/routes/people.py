from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from callscope.api import exports
from callscope.api.deps import FastJSONResponse, PrincipalDep, SessionDep, SettingsDep
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.responses import (
    FROM_DOC,
    TO_DOC,
    DealInsights,
    DealList,
    DealOut,
    RepEvaluation,
    RepList,
    RepOut,
    sheets,
)
from callscope.api.schemas import DealIn, RepIn
from callscope.api.services import people
from callscope.api.services import team as team_service
from callscope.api.services.calls import parse_end, parse_time
from callscope.api.services.evaluation import evaluation_csv, rep_evaluation
from callscope.api.services.insights import deal_insights
from callscope.api.services.zones import rep_zone
from callscope.models.orm import Call, Deal, User

router = APIRouter(tags=["reps and deals"])


@router.get("/reps", response_model=RepList)
def list_reps(session: SessionDep, principal: PrincipalDep) -> dict:
    reps = [r for r in session.scalars(select(User).order_by(User.name)) if principal.can_see_rep(r)]
    return {"items": [people.rep_to_dict(r) for r in reps]}


@router.post("/reps", response_model=RepOut)
def upsert_rep(
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[RepIn,
                    Body(examples=[{"email": "wang.fang@example.com", "name": "王芳", "team": "华东"}])],
) -> dict:
    """Create or update a rep by email (integration and admin tokens: the CRM's user sync)."""
    if principal.role not in ("admin", "integration"):
        raise Forbidden("only admin and integration tokens manage reps")
    rep = people.upsert_rep(session, body.email, body.name, body.team, body.role)
    session.commit()
    return people.rep_to_dict(rep)


@router.get("/reps/{rep_id}", response_model=RepOut)
def get_rep(rep_id: str, session: SessionDep, principal: PrincipalDep) -> dict:
    return people.rep_to_dict(people.visible_rep(session, principal, rep_id))


@router.get("/reps/{rep_id}/evaluation", response_model=RepEvaluation,
            responses=sheets(also_json=True))
def get_evaluation(
    rep_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", description=FROM_DOC)] = None,
    to: Annotated[str | None, Query(description=TO_DOC)] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
):  # noqa: ANN201 - JSON, CSV or XLSX
    """The rep's process evaluation over a period, days and weeks in the rep's display time zone
    (?format=csv: one row per call plus averages; ?format=xlsx: the evaluation beside the team and
    targets, and one row per call)."""
    rep = people.visible_rep(session, principal, rep_id)
    zone = rep_zone(settings, rep)
    start = parse_time(from_, "from", zone) if from_ else None
    end = parse_end(to, zone) if to else None
    if start and end and end < start:
        raise FieldError("to: before from")
    if format == "csv":
        name = f"evaluation-{rep.id}-{(from_ or 'all')[:10]}-{(to or 'now')[:10]}.csv"
        return PlainTextResponse(
            evaluation_csv(session, rep, start, end, zone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    evaluation = rep_evaluation(session, rep, start, end, zone)
    evaluation["team"] = team_service.comparison(session, rep, start, end, zone)
    targets = team_service.targets_of(session, rep, start, end, zone)
    if targets:
        evaluation["targets"] = targets
    if format == "xlsx":
        name = f"evaluation-{rep.id}-{(from_ or 'all')[:10]}-{(to or 'now')[:10]}"
        return exports.respond("xlsx", name, [exports.rep_summary_sheet(evaluation),
                                              exports.call_sheet(session, principal, start, end, zone,
                                                                 [rep.id])])
    return FastJSONResponse(evaluation)


@router.get("/deals", response_model=DealList)
def list_deals(session: SessionDep, principal: PrincipalDep) -> dict:
    stmt = select(Deal).order_by(Deal.updated_at.desc())
    if not principal.sees_everything:
        stmt = stmt.where(Deal.id.in_(principal.scope_calls(select(Call.deal_id))))
    return {"items": [people.deal_to_dict(d) for d in session.scalars(stmt)]}


@router.put("/deals/{deal_id}", response_model=DealOut)
def upsert_deal(
    deal_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[
        DealIn,
        Body(
            examples=[
                {
                    "name": "MES 升级",
                    "account": "华东制造",
                    "stage": "negotiation",
                    "amount": 380000,
                    "owner": "wang.fang@example.com",
                }
            ]
        ),
    ],
) -> dict:
    """Create or update a deal by its CRM id (integration and admin tokens)."""
    if principal.role not in ("admin", "integration"):
        raise Forbidden("only admin and integration tokens manage deals")
    if len(deal_id) > 200:
        raise FieldError("deal_id: CRM deal id longer than 200 characters")
    deal = people.upsert_deal(session, deal_id, body)
    session.commit()
    return people.deal_to_dict(deal)


@router.get("/deals/{deal_id}/insights", response_model=DealInsights)
def get_insights(deal_id: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> dict:
    """What the calls say about one CRM deal (by CRM id): stage, objections, next steps, 1-15-30 clocks."""
    deal = people.find_deal(session, deal_id)
    insights = deal_insights(session, principal, deal, tz=settings.timezone, team_config=settings.team_config)
    if not insights["calls"] and not principal.sees_everything:
        raise NotFound(f"no deal {deal_id}")
    return insights
