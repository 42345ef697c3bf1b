from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from callscope.api import queue
from callscope.api.deps import PrincipalDep, SessionDep, SettingsDep
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.services import rubrics as rubric_service
from callscope.models.orm import RubricRecord

router = APIRouter(tags=["rubrics"])


@router.get("/rubrics")
def list_rubrics(session: SessionDep, principal: PrincipalDep) -> dict:
    stored = session.scalars(select(RubricRecord).order_by(RubricRecord.name))
    return {"items": [{"name": r.name, "version": r.version, "updated_by": r.updated_by,
                       "updated_at": r.updated_at.isoformat()} for r in stored]}


@router.get("/rubrics/{name}")
def get_rubric(name: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """A rubric: the stored one of that name, else the built-in one."""
    rubric = rubric_service.get_rubric(session, name)
    if rubric is None:
        raise NotFound(f"no rubric {name}")
    return rubric


@router.put("/rubrics/{name}", openapi_extra={"requestBody": {"content": {
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
            queue.enqueue(session, call_id, "rescore", rubric=name)
        session.commit()
        result = {"name": row.name, "version": row.version, "updated_by": row.updated_by,
                  "updated_at": row.updated_at.isoformat(), "rescoring": len(call_ids)}
    pool = getattr(request.app.state, "pool", None)
    if pool is not None and call_ids:
        pool.wake()
    return result
