"""Teams: the team's evaluation, the leaderboard (a team may turn it off), KPI targets set per rep or
broken down from a team goal (目标分解)."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field

from callscope.api import exports
from callscope.api.deps import FastJSONResponse, PrincipalDep, SessionDep, SettingsDep
from callscope.api.errors import FieldError, Forbidden
from callscope.api.responses import (
    FROM_DOC,
    TO_DOC,
    GoalOut,
    Leaderboard,
    TargetList,
    TargetOut,
    TeamEvaluation,
    TeamTrackers,
    sheets,
)
from callscope.api.schemas import TrackersIn
from callscope.api.services import people
from callscope.api.services import team as team_service
from callscope.api.services import trackers as tracker_service
from callscope.api.services.calls import parse_end, parse_time
from callscope.api.services.risk import team_settings
from callscope.api.services.zones import display_zone, principal_zone, rep_zone
from callscope.api.tokens import user_by_ref
from callscope.models.orm import utcnow

router = APIRouter(tags=["teams and targets"])


class TargetIn(BaseModel):
    metric: str = Field(max_length=100, description="calls, talk_time (minutes), average_score, "
                        "objection_handled_rate, a metric (question_rate, ...) or pass_rate:<item id>")
    from_: str = Field(alias="from", description="first day, YYYY-MM-DD (a day of the display time zone)")
    to: str = Field(description="the day after the last, YYYY-MM-DD (exclusive)")
    value: float


class GoalIn(TargetIn):
    weights: dict[str, float] | None = Field(default=None, description="rep id or email -> share "
                                             "(sum metrics; even when left out)")
    by_week: bool = Field(default=True, description="also cut each rep's share into weeks")


def _period(from_: str | None, to: str | None, zone: tzinfo):  # noqa: ANN202
    """from and to as instants, a bare date being a day in zone (the display time zone)."""
    start = parse_time(from_, "from", zone) if from_ else None
    end = parse_end(to, zone) if to else None
    if start and end and end < start:
        raise FieldError("to: before from")
    return start, end


@router.get("/teams/{team_ref}/evaluation", response_model=TeamEvaluation,
            responses=sheets(also_json=True))
def get_team_evaluation(
    team_ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", description=FROM_DOC)] = None,
    to: Annotated[str | None, Query(description=TO_DOC)] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
):  # noqa: ANN201 - JSON, CSV or XLSX
    """The team over a period (whole days of the team's display time zone): its figures, each rep's with
    their targets' attainment, top quartiles (?format=csv: a row per rep and one for the team; xlsx:
    that and a row per call)."""
    team = people.visible_team(session, principal, team_ref)
    zone = display_zone(settings, team.name)
    start, end = _period(from_, to, zone)
    evaluation = team_service.team_evaluation(session, team, start, end, zone)
    if format != "json":
        sheets = [exports.team_sheet(evaluation)]
        if format == "xlsx":
            rep_ids = [r["rep"]["id"] for r in evaluation["reps"]]
            sheets.append(exports.call_sheet(session, principal, start, end, zone, rep_ids))
        return exports.respond(format, f"team-{team.id}-{(from_ or 'all')[:10]}-{(to or 'now')[:10]}", sheets)
    return FastJSONResponse(evaluation)


@router.get("/exports/calls", tags=["exports"], response_class=Response, responses=sheets(also_json=False))
def export_calls(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", description=FROM_DOC)] = None,
    to: Annotated[str | None, Query(description=TO_DOC)] = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
):  # noqa: ANN201 - a file
    """Call scores over a period (the calls you may see; dates in your team's display time zone): one
    row per call with stage, score, metrics, objections and each item's verdict."""
    zone = principal_zone(session, settings, principal)
    start, end = _period(from_, to, zone)
    sheet = exports.call_sheet(session, principal, start, end, zone)
    return exports.respond(format, f"calls-{(from_ or 'all')[:10]}-{(to or 'now')[:10]}", [sheet])


@router.get("/teams/{team_ref}/leaderboard", response_model=Leaderboard)
def get_leaderboard(
    team_ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    by: Annotated[Literal["score", "improvement", "attainment"], Query()] = "score",
    from_: Annotated[str | None, Query(alias="from", description=f"{FROM_DOC}; default: 30 days ago")] = None,
    to: Annotated[str | None, Query(description=TO_DOC + "; default: now")] = None,
) -> dict:
    """Reps ranked by average score, improvement or attainment (days in the team's display time zone);
    403 where the team turned it off."""
    team = people.visible_team(session, principal, team_ref, members_too=True)
    if not team_settings(team.name, settings.team_config)["leaderboard"].get("enabled", True):
        raise Forbidden(f"team {team.name} has the leaderboard turned off")
    zone = display_zone(settings, team.name)
    start, end = _period(from_, to, zone)
    end = end or utcnow()
    start = start or end - timedelta(days=30)
    return team_service.leaderboard(session, team, start, end, by, zone)


@router.post("/teams/{team_ref}/goals", status_code=201, response_model=GoalOut, response_model_by_alias=True)
def create_goal(
    team_ref: str, session: SessionDep, principal: PrincipalDep,
    body: Annotated[GoalIn, Body(examples=[{"metric": "calls", "from": "2026-12-01", "to": "2027-01-01",
                                            "value": 400, "by_week": True}])],
) -> dict:
    """目标分解: a team goal over a period, broken down to each rep (and into weeks)."""
    team = people.visible_team(session, principal, team_ref)
    if principal.role not in ("admin", "manager"):
        raise Forbidden("only managers and admins set targets")
    weights = None
    if body.weights:
        weights = {}
        for ref, weight in body.weights.items():
            rep = user_by_ref(session, ref)
            if rep is None:
                raise FieldError(f"weights: no rep {ref}")
            weights[rep.id] = weight
    made = team_service.break_down(session, team, body.metric, body.from_, body.to, body.value, weights,
                                   body.by_week, principal.label)
    session.commit()
    return {"goal": team_service.target_to_dict(made[0]),
            "targets": [team_service.target_to_dict(t) for t in made[1:]]}


@router.get("/reps/{rep_id}/targets", response_model=TargetList, response_model_by_alias=True)
def list_targets(
    rep_id: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", description=FROM_DOC)] = None,
    to: Annotated[str | None, Query(description=TO_DOC)] = None,
) -> dict:
    """The rep's targets (overlapping the period when given), each with its actual and attainment; a
    target's days are days of the rep's display time zone."""
    rep = people.visible_rep(session, principal, rep_id)
    zone = rep_zone(settings, rep)
    start, end = _period(from_, to, zone)
    return {"items": team_service.targets_of(session, rep, start, end, zone), "timezone": str(zone)}


@router.put("/reps/{rep_id}/targets", response_model=TargetOut, response_model_by_alias=True)
def put_target(
    rep_id: str, session: SessionDep, principal: PrincipalDep,
    body: Annotated[TargetIn, Body(examples=[{"metric": "calls", "from": "2026-12-01", "to": "2026-12-08",
                                              "value": 25}])],
) -> dict:
    """Set one target of the rep for a period (replaces the same metric and period)."""
    rep = people.visible_rep(session, principal, rep_id)
    if principal.role not in ("admin", "manager"):
        raise Forbidden("only managers and admins set targets")
    target = team_service.set_target(session, rep, body.metric, body.from_, body.to, body.value,
                                     principal.label)
    session.commit()
    return team_service.target_to_dict(target)


@router.get("/teams/{team_ref}/trackers", response_model=TeamTrackers)
def get_trackers(team_ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> dict:
    """The team's keyword trackers (competitors, products, risk words ...) and hotwords, and what its
    calls are analysed with: the service's groups with the team's over them."""
    team = people.visible_team(session, principal, team_ref, members_too=True)
    return tracker_service.to_dict(team, settings)


@router.put("/teams/{team_ref}/trackers", response_model=TeamTrackers)
def put_trackers(
    team_ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    body: Annotated[TrackersIn, Body(examples=[{"trackers": {"competitors": ["纷享销客", "Salesforce"],
                                                             "risk_words": ["退款", "投诉"]},
                                                "hotwords": ["云帆科技", "仓储通"]}])],
) -> dict:
    """Set the team's trackers and hotwords (its manager or an admin): its calls analysed or re-scored
    from now on use them; a Chinese word counts where it is whole words (贵 is not in 贵公司)."""
    team = people.visible_team(session, principal, team_ref)
    tracker_service.save(session, principal, team, body.trackers, body.hotwords)
    session.commit()
    return tracker_service.to_dict(team, settings)
