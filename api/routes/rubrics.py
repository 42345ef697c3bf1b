from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from sqlalchemy import select

from callscope.api import queue
from callscope.api.deps import Principal, PrincipalDep, RowId, SessionDep, SettingsDep
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.responses import (
    RescoreBatchOut,
    RubricList,
    RubricOut,
    RubricStored,
    RubricVersionList,
    RubricVersionOut,
    TeamRubric,
)
from callscope.api.schemas import RescoreIn, TeamRubricIn
from callscope.api.services import people
from callscope.api.services import rubrics as rubric_service
from callscope.api.services.calls import parse_end, parse_time
from callscope.api.services.zones import display_zone, principal_zone
from callscope.models.orm import RescoreBatch, RubricRecord, Team

router = APIRouter(tags=["rubrics"])


@router.get("/rubrics", response_model=RubricList)
def list_rubrics(session: SessionDep, principal: PrincipalDep) -> dict:
    stored = session.scalars(select(RubricRecord).order_by(RubricRecord.name))
    return {"items": [{"name": r.name, "version": r.version, "updated_by": r.updated_by,
                       "updated_at": r.updated_at.isoformat()} for r in stored]}


@router.get("/rubrics/{name}", response_model=RubricOut)
def get_rubric(name: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """A rubric: the stored one of that name, else the built-in one."""
    rubric = rubric_service.get_rubric(session, name)
    if rubric is None:
        raise NotFound(f"no rubric {name}")
    return rubric


@router.put("/rubrics/{name}", response_model=RubricStored, openapi_extra={"requestBody": {"content": {
    "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}})
async def put_rubric(name: str, request: Request, principal: PrincipalDep, settings: SettingsDep) -> dict:
    """Store a rubric (YAML or JSON body; validated by the scoring loader, 422 names the bad field) and
    queue re-scoring of the calls scored with it (stored transcripts, no ASR). A manager may change a
    rubric only where it scores their own team's calls alone: the service's default rubric, or one
    that scores other teams' calls, is an admin's to change."""
    if not principal.can_review:
        raise Forbidden("only managers and admins change rubrics")
    raw = await request.body()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FieldError("body: not UTF-8 text") from err
    with request.app.state.sessions() as session:
        call_ids = rubric_service.calls_scored_with(session, name)
        if principal.role != "admin":
            if name == settings.rubric:
                raise Forbidden(f"{name} is the service's default rubric: only an admin may change it")
            if rubric_service.outside_scope(session, principal, call_ids):
                raise Forbidden(f"rubric {name} scores other teams' calls: only an admin may change it")
        row = rubric_service.put_rubric(session, name, body, principal.label)
        for call_id in call_ids:
            queue.enqueue(session, call_id, "rescore", rubric=name, rubric_version=row.version)
        session.commit()
        result = {"name": row.name, "version": row.version, "updated_by": row.updated_by,
                  "updated_at": row.updated_at.isoformat(), "rescoring": len(call_ids)}
    pool = getattr(request.app.state, "pool", None)
    if pool is not None and call_ids:
        pool.wake()
    return result


@router.get("/rubrics/{name}/versions", response_model=RubricVersionList, response_model_exclude_unset=True)
def list_versions(name: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """Every saved version of a rubric, newest first: who, when, the diff from the one before."""
    if rubric_service.get_rubric(session, name) is None:
        raise NotFound(f"no rubric {name}")
    return {"items": [rubric_service.version_to_dict(v) for v in rubric_service.versions_of(session, name)]}


@router.get("/rubrics/{name}/versions/{version}", response_model=RubricVersionOut)
def get_version(name: str, version: Annotated[int, Path(ge=1, le=1_000_000)], session: SessionDep,
                principal: PrincipalDep) -> dict:
    """One saved version with its YAML."""
    rubric_service.check_name(name)
    row = rubric_service.version_of(session, name, version)
    if row is None:
        raise NotFound(f"rubric {name} has no version {version}")
    return rubric_service.version_to_dict(row, with_body=True)


def _team_rubric(session: SessionDep, settings: SettingsDep, team: Team) -> dict:
    name = team.rubric or settings.rubric
    return {"team": {"id": team.id, "name": team.name}, "rubric": name, "assigned": team.rubric is not None,
            "version": rubric_service.current_version(session, name)}


@router.get("/teams/{team_ref}/rubric", response_model=TeamRubric, tags=["rubrics"])
def get_team_rubric(team_ref: str, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> dict:
    """The rubric the team's new calls are scored on (the service's default where none is assigned)."""
    team = people.visible_team(session, principal, team_ref, members_too=True)
    return _team_rubric(session, settings, team)


@router.put("/teams/{team_ref}/rubric", response_model=TeamRubric, tags=["rubrics"])
def put_team_rubric(team_ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                    body: Annotated[TeamRubricIn, Body(examples=[{"rubric": "qa-strict"}])]) -> dict:
    """Assign a rubric to the team (its manager or an admin): its calls analysed from now on are scored on
    it; POST /rescores re-scores a period already analysed."""
    team = people.visible_team(session, principal, team_ref)
    _require_manager(principal)
    if rubric_service.get_rubric(session, body.rubric) is None:
        raise FieldError(f"rubric: no rubric {body.rubric}")
    team.rubric = body.rubric
    session.commit()
    return _team_rubric(session, settings, team)


def _require_manager(principal: Principal) -> None:
    if principal.role not in ("admin", "manager"):
        raise Forbidden("only managers and admins assign rubrics and re-score")


@router.post("/rescores", status_code=202, response_model=RescoreBatchOut, response_model_by_alias=True)
def start_rescore(request: Request, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                  body: Annotated[RescoreIn, Body(examples=[{"team": "华东一组", "from": "2026-11-01",
                                                             "to": "2026-11-30"}])]) -> dict:
    """Re-score a period's analysed calls on a rubric version, from their stored transcripts (no ASR), as
    a background job; its progress is at GET /rescores/{id}. A manager re-scores their own team's calls."""
    _require_manager(principal)
    team = people.visible_team(session, principal, body.team) if body.team else None
    if team is None and principal.role == "manager":
        team = session.get(Team, principal.team_id) if principal.team_id is not None else None
        if team is None:
            raise Forbidden("a manager token without a team re-scores nothing")
    name = rubric_service.check_name(body.rubric or (team.rubric if team else None) or settings.rubric)
    if rubric_service.get_rubric(session, name) is None:
        raise FieldError(f"rubric: no rubric {name}")
    version = rubric_service.current_version(session, name) if body.version is None else body.version
    if version and rubric_service.version_of(session, name, version) is None:
        raise FieldError(f"version: rubric {name} has no version {version}")
    zone = display_zone(settings, team.name) if team else principal_zone(session, settings, principal)
    start = parse_time(body.from_, "from", zone) if body.from_ else None
    end = parse_end(body.to, zone) if body.to else None
    if start and end and end < start:
        raise FieldError("to: before from")
    batch = rubric_service.create_batch(session, principal, name, version, team, start, end)
    session.commit()
    pool = getattr(request.app.state, "pool", None)
    if pool is not None and batch.job_ids:
        pool.wake()
    return rubric_service.batch_to_dict(session, batch)


@router.get("/rescores/{batch_id}", response_model=RescoreBatchOut, response_model_by_alias=True)
def rescore_status(batch_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    """A re-scoring job's progress: calls queued, processing, done, failed, and the share finished."""
    _require_manager(principal)
    batch = session.get(RescoreBatch, batch_id)
    if batch is None or (principal.role == "manager" and batch.team_id != principal.team_id):
        raise NotFound(f"no re-scoring job {batch_id}")
    return rubric_service.batch_to_dict(session, batch)
