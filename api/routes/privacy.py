"""Privacy and governance endpoints (issue 17): deleting a call, erasure jobs, the audit log, team
retention policies, token management; and the ASGI middleware that audits reads and exports and
enforces per-token upload limits (429 with Retry-After) before an upload's body is read."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from callscope.api import privacy
from callscope.api.deps import (
    CallId,
    Principal,
    PrincipalDep,
    RowId,
    SessionDep,
    SettingsDep,
    token_from_request,
)
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.responses import (
    ERROR_RESPONSES,
    AuditList,
    ErasureOut,
    JobQueued,
    PolicyOut,
    RetentionRun,
    TokenCreated,
    TokenList,
    TokenOut,
)
from callscope.api.services.calls import parse_end, parse_time, visible_call
from callscope.api.tokens import create_token, find_team, hash_token, rotate_token, token_to_dict
from callscope.models.orm import ApiToken, AuditEvent, Call, ErasureJob, Team, TeamPolicy, User, utcnow

router = APIRouter(tags=["privacy and governance"])


def _refresh_rollups(session: Any, rep_id: int, started_at: Any) -> None:
    from callscope.api.services import rollups

    rollups.forget_call(session, rep_id, started_at)


privacy.CALL_DELETED_HOOKS.append(_refresh_rollups)  # a deleted call leaves the rep-day roll-ups too
API_PREFIX = "/api/v1"


class EraseIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)


class PolicyIn(BaseModel):
    audio_days: int | None = Field(default=privacy.DEFAULT_AUDIO_DAYS, ge=0, le=36500,
                                   description="delete audio this many days after the call (null: keep)")
    delete_days: int | None = Field(default=None, ge=0, le=36500,
                                    description="delete the whole call after this many days (null: keep)")
    bleep_audio: bool = False


class TokenIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    role: str = Field(pattern="^(admin|manager|rep|integration)$")
    rep: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)
    uploads_per_minute: int | None = Field(default=None, ge=1, le=100000)
    bytes_per_day: int | None = Field(default=None, ge=1)


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this needs an admin token")


def _commit_and_sweep(request: Request, session: Any) -> None:
    session.commit()
    service = getattr(request.app.state, "privacy", None)
    privacy.remove_files(request.app.state.sessions, request.app.state.settings)
    if service is not None:
        service.wake()


@router.delete("/calls/{call_id}", status_code=204)
def delete_call(call_id: CallId, request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """The call, its audio, transcript, analysis, scorecards, search entries and digests are gone (one
    transaction; the audio file right after the commit, retried until it is gone). Admins, and managers
    for their team's calls."""
    if not principal.can_review:
        raise Forbidden("only managers and admins delete calls")
    call = visible_call(session, principal, call_id)
    team = privacy.call_team(session, call.id)
    privacy.delete_call(session, call)
    privacy.audit_principal(session, principal, "delete", "call", call_id, team)
    _commit_and_sweep(request, session)
    return Response(status_code=204)


@router.post("/privacy/erase", status_code=202, response_model=JobQueued)
def erase(request: Request, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
          body: Annotated[EraseIn, Body(examples=[{"phone": "138 1234 5678"},
                                                  {"email": "li.na@example.com"}])]) -> dict:
    """Delete every call whose customer said (or was tagged with) this phone, e-mail or name (admins).
    Calls still being analysed are waited for. The outcome is at GET /privacy/erase/{id}."""
    _require_admin(principal)
    if not (body.phone or body.email or body.name):
        raise FieldError("body: give phone, email and/or name")
    if body.name is not None and 0 < len(body.name) < 2:
        raise FieldError("name: at least two characters")
    job = privacy.create_erasure(session, settings, principal, body.phone, body.email, body.name)
    session.commit()
    service = getattr(request.app.state, "privacy", None)
    if service is not None:
        service.wake()
    return {"id": job.id, "status": job.status}


@router.get("/privacy/erase/{job_id}", response_model=ErasureOut)
def erasure_status(job_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    _require_admin(principal)
    job = session.get(ErasureJob, job_id)
    if job is None:
        raise NotFound(f"no erasure job {job_id}")
    return privacy.erasure_to_dict(job)


@router.get("/audit", response_model=AuditList)
def audit_log(session: SessionDep, principal: PrincipalDep,
              action: str | None = None, actor: str | None = None, object_type: str | None = None,
              object_id: str | None = None,
              from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              before: Annotated[int | None, Query(ge=1, description="events with a smaller id")] = None,
              ) -> dict:
    """Who read, exported, overrode, deleted or erased what, newest first: admins see everything, a
    manager the events about their team."""
    stmt = select(AuditEvent)
    if principal.is_admin:
        pass
    elif principal.role == "manager" and principal.team_id is not None:
        stmt = stmt.where(AuditEvent.team_id == principal.team_id)
    else:
        raise Forbidden("the audit log is for admins and managers")
    if action:
        stmt = stmt.where(AuditEvent.action.like(f"{action}%"))
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if from_:
        stmt = stmt.where(AuditEvent.at >= parse_time(from_, "from"))
    if to:
        stmt = stmt.where(AuditEvent.at <= parse_end(to))
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))
    return {"items": [privacy.event_to_dict(e) for e in rows],
            "next_before": rows[-1].id if len(rows) == limit else None}


def _team(session: Any, principal: Principal, ref: str) -> Team:
    team = find_team(session, ref)
    if not principal.is_admin and not (principal.role == "manager" and principal.team_id == team.id):
        raise NotFound(f"no team {ref}")
    return team


@router.get("/teams/{team}/policy", response_model=PolicyOut)
def get_policy(team: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """The team's retention and audio policy (default: audio deleted after 180 days, the rest kept)."""
    row = _team(session, principal, team)
    return privacy.policy_to_dict(row.id, session.get(TeamPolicy, row.id))


@router.put("/teams/{team}/policy", response_model=PolicyOut)
def put_policy(team: str, session: SessionDep, principal: PrincipalDep, body: PolicyIn) -> dict:
    _require_admin(principal)
    row = _team(session, principal, team)
    policy = session.get(TeamPolicy, row.id) or TeamPolicy(team_id=row.id)
    before = privacy.policy_to_dict(row.id, session.get(TeamPolicy, row.id))
    policy.audio_days, policy.delete_days = body.audio_days, body.delete_days
    policy.bleep_audio = body.bleep_audio
    policy.updated_by = principal.label
    session.add(policy)
    session.flush()
    privacy.audit_principal(session, principal, "policy.update", "team", row.id, row.id,
                            detail={"before": {k: before[k] for k in body.model_dump()},
                                    "after": body.model_dump()})
    session.commit()
    return privacy.policy_to_dict(row.id, policy)


@router.post("/privacy/retention/run", response_model=RetentionRun)
def run_retention(request: Request, principal: PrincipalDep) -> dict:
    """Apply every team's retention policy now (the service also runs it on its schedule)."""
    _require_admin(principal)
    return privacy.apply_retention(request.app.state.sessions, request.app.state.settings)


# --- tokens ----------------------------------------------------------------------------------------------


@router.get("/tokens", response_model=TokenList)
def list_tokens(session: SessionDep, principal: PrincipalDep) -> dict:
    _require_admin(principal)
    return {"items": [token_to_dict(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]}


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def new_token(session: SessionDep, principal: PrincipalDep, body: TokenIn) -> dict:
    """A new token (admins): shown once in `token`; only its hash is stored."""
    _require_admin(principal)
    secret, row = create_token(session, body.role, rep=body.rep, team=body.team, name=body.name,
                               expires_in_days=body.expires_in_days,
                               uploads_per_minute=body.uploads_per_minute, bytes_per_day=body.bytes_per_day)
    privacy.audit_principal(session, principal, "token.create", "token", row.id, row.team_id,
                            detail={"role": row.role})
    session.commit()
    return {**token_to_dict(row), "token": secret}


def _token_for(session: Any, principal: Principal, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or not (principal.is_admin or row.id == principal.token_id):
        raise NotFound(f"no token {token_id}")
    return row


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(token_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    """Revoke a token (admins, or the token itself): it answers 401 from the next request on."""
    row = _token_for(session, principal, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    privacy.audit_principal(session, principal, "token.revoke", "token", row.id, row.team_id)
    session.commit()
    return token_to_dict(row)


@router.post("/tokens/{token_id}/rotate", status_code=201, response_model=TokenCreated)
def rotate(token_id: RowId, session: SessionDep, principal: PrincipalDep,
           grace_seconds: Annotated[float, Query(ge=0, le=7 * 86400)] = 0) -> dict:
    """A new secret with the same role, scope and limits; the old one stops working now, or after
    grace_seconds (its expiry is brought forward)."""
    row = _token_for(session, principal, token_id)
    secret, new = rotate_token(session, row, grace_seconds)
    privacy.audit_principal(session, principal, "token.rotate", "token", row.id, row.team_id,
                            detail={"new_token": new.id})
    session.commit()
    return {**token_to_dict(new), "token": secret}


# --- auditing reads and exports; upload limits --------------------------------------------------------

# (method, path pattern, action, object type); the object id is the pattern's first group
_AUDITED = [
    ("GET", re.compile(rf"^{API_PREFIX}/calls/(\d+)$"), "read", "call"),
    ("GET", re.compile(rf"^{API_PREFIX}/calls/(\d+)/analysis$"), "read", "analysis"),
    ("GET", re.compile(rf"^{API_PREFIX}/calls/(\d+)/audio$"), "export", "audio"),
    ("GET", re.compile(rf"^{API_PREFIX}/calls/(\d+)/reviews$"), "read", "reviews"),
    ("PUT", re.compile(rf"^{API_PREFIX}/calls/(\d+)/scorecard/items/[^/]+$"), "override", "call"),
    ("POST", re.compile(rf"^{API_PREFIX}/calls/(\d+)/rescore$"), "rescore", "call"),
    ("GET", re.compile(rf"^{API_PREFIX}/reps/(\d+)/evaluation$"), "read", "evaluation"),
    ("GET", re.compile(rf"^{API_PREFIX}/deals/([^/]+)/insights$"), "read", "deal"),
    ("GET", re.compile(rf"^{API_PREFIX}/calls$"), "search", "calls"),
    ("GET", re.compile(r"^/calls/(\d+)$"), "read", "call_page"),
    ("POST", re.compile(r"^/calls/(\d+)/items/[^/]+/override$"), "override", "call"),
]
_UPLOAD = ("POST", f"{API_PREFIX}/calls")


def _match(method: str, path: str) -> tuple[str, str, str] | None:
    for m, pattern, action, kind in _AUDITED:
        if m == method:
            hit = pattern.match(path)
            if hit:
                return action, kind, hit.group(1) if hit.groups() else ""
    return None


def _token_row(session: Any, secret: str | None) -> ApiToken | None:
    if not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None:
        return None
    return None if row.expires_at is not None and row.expires_at <= utcnow() else row


class PrivacyMiddleware:
    """Pure ASGI (streams pass through untouched): audit events for reads and exports that succeeded,
    and the per-token upload limits."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        audited = _match(method, path)
        upload = (method, path) == _UPLOAD
        if not audited and not upload:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        secret = token_from_request(request)
        state = request.app.state
        limited: int | None = None  # the uploading token's id, when it has limits
        if upload and secret:
            length = int(request.headers.get("content-length", "0") or 0) if \
                (request.headers.get("content-length", "0") or "0").isdigit() else 0

            def check() -> tuple[int | None, int | None]:
                """The token's id when it has limits (record() below counts against it), and the wait."""
                with state.sessions() as session:
                    row = _token_row(session, secret)
                    if row is None or (row.uploads_per_minute is None and row.bytes_per_day is None):
                        return None, None
                    return row.id, privacy.check_upload_limits(session, row.id, length)

            limited, wait = await run_in_threadpool(check)
            if wait is not None:
                body = b'{"detail":"upload limit of this token reached; retry later"}'
                await send({"type": "http.response.start", "status": 429, "headers": [
                    (b"content-type", b"application/json"), (b"retry-after", str(wait).encode()),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        status: dict[str, int] = {}

        def record() -> None:
            with state.sessions() as session:
                privacy.record_upload(session, limited, length)
                session.commit()

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if limited is not None and message["status"] == 202:
                    # counted before the client hears of it: its next upload, to any process, sees it
                    await run_in_threadpool(record)
            await send(message)

        await self.app(scope, receive, watch)
        code = status.get("code", 500)
        if code >= 400 or not secret or upload:
            return
        if audited is None:
            return
        action, kind, object_id = audited
        first_byte = request.headers.get("range", "bytes=0-").split("=", 1)[-1].split("-")[0]
        if kind == "audio" and first_byte not in ("", "0"):
            return  # a player's later range requests: the first one was logged
        if kind == "evaluation" and "csv" in (request.query_params.get("format") or ""):
            action = "export"
        detail = {"path": path}
        if kind == "calls":
            detail = {"path": path, "filters": sorted(request.query_params.keys())}  # never the query text

        caller = getattr(request.state, "principal", None)  # set by get_principal for API requests

        def write() -> None:
            with state.sessions() as session:
                if caller is not None:
                    actor, token_id, role = caller.label, caller.token_id, caller.role
                elif (row := _token_row(session, secret)) is not None:  # a page: no principal on the request
                    actor, token_id, role = row.name, row.id, row.role
                else:
                    return
                team = None
                if kind in ("call", "analysis", "audio", "reviews", "call_page") and object_id.isdigit():
                    team = privacy.call_team(session, int(object_id))
                elif kind == "evaluation" and object_id.isdigit():
                    team = session.scalar(select(User.team_id).where(User.id == int(object_id)))
                privacy.audit(session, actor, action, kind, object_id, team, token_id, role, detail)
                session.commit()

        await run_in_threadpool(write)


pages = APIRouter(include_in_schema=False)


@pages.get("/audit")
def audit_page(request: Request, session: SessionDep) -> Response:
    """The audit log as a page: admins everything, a manager their team's events (newest 200)."""
    from callscope.api.web.auth import page_principal
    from callscope.api.web.rendering import render

    principal = page_principal(request, session)
    if not (principal.is_admin or (principal.role == "manager" and principal.team_id is not None)):
        raise Forbidden("the audit log is for admins and managers")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(200)
    if not principal.is_admin:
        stmt = stmt.where(AuditEvent.team_id == principal.team_id)
    return render(request, "audit.html", {"principal": principal, "nav": "audit",
                                          "events": list(session.scalars(stmt))})


def install(app: FastAPI) -> None:
    """The routes under /api/v1, the audit page and the middleware (call from create_app)."""
    app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(pages)
    app.add_middleware(PrivacyMiddleware)


def start(app: FastAPI) -> None:
    """The privacy thread (file deletions, erasures, retention); call once the sessions exist."""
    service = privacy.PrivacyService(app.state.sessions, app.state.settings)
    service.start()
    app.state.privacy = service


def stop(app: FastAPI) -> None:
    service = getattr(app.state, "privacy", None)
    if service is not None:
        service.stop()


__all__ = ["install", "start", "stop", "router", "Call"]
