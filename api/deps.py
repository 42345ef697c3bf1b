"""FastAPI dependencies shared by the API and the web pages: the DB session and who is asking.

A token comes as `Authorization: Bearer TOKEN` or in the HttpOnly cookie `callscope_token`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

import orjson
from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from callscope.api.tokens import hash_token
from callscope.core.config import Settings
from callscope.models.orm import MAX_ID, ApiToken, Call, User, utcnow

COOKIE_NAME = "callscope_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# row ids in paths: a number past the key range is a 422 naming the parameter, not a driver error
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
CallId = RowId
_LAST_USED_RESOLUTION = timedelta(minutes=1)  # avoid a write on every request


class FastJSONResponse(JSONResponse):
    """A large plain-JSON body (a rep evaluation over hundreds of calls) rendered by orjson, past
    FastAPI's per-value encoder: a tenth of the time. The content must already be plain JSON."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True)
class Principal:
    """The caller: a token's role and scope (rep: user_id; manager: team_id)."""

    token_id: int
    role: str
    user_id: int | None
    team_id: int | None
    label: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_review(self) -> bool:
        """May override scores and comment (managers and admins)."""
        return self.role in ("admin", "manager")

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "integration")

    def scope_calls(self, stmt: Select) -> Select:
        """Restrict a query over Call to what this principal may see."""
        if self.sees_everything:
            return stmt
        if self.role == "manager":
            return stmt.where(Call.rep_id.in_(select(User.id).where(User.team_id == self.team_id)))
        return stmt.where(Call.rep_id == self.user_id)

    def can_see_rep(self, rep: User) -> bool:
        if self.sees_everything:
            return True
        if self.role == "manager":
            return rep.team_id is not None and rep.team_id == self.team_id
        return rep.id == self.user_id

    def can_see_call(self, call: Call) -> bool:
        return self.can_see_rep(call.rep)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def token_from_request(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE_NAME) or None


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    team_id = row.team_id
    if team_id is None and row.user is not None and row.role == "manager":
        team_id = row.user.team_id
    return Principal(token_id=row.id, role=row.role, user_id=row.user_id, team_id=team_id, label=row.name)


SessionDep = Annotated[Session, Depends(get_session)]


# declared for OpenAPI (the Authorize button of /docs); token_from_request reads the header itself
_bearer = HTTPBearer(auto_error=False, description="a token from `callscope token create`")


def get_principal(request: Request, session: SessionDep,
                  _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None) -> Principal:
    """The authenticated caller, or 401. A write authenticated by the pages' cookie (not a Bearer
    header) must come from our own pages."""
    token = token_from_request(request)
    principal = principal_for_token(session, token) if token else None
    if principal is None:
        raise HTTPException(401, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and "authorization" not in request.headers:
        check_same_origin(request)
    if request.method not in SAFE_METHODS:
        # hand the connection back to the pool: an upload streams its body for seconds or minutes after
        # this, and 50 uploads at once would otherwise hold 50 connections doing nothing (the session
        # takes a connection again when the endpoint uses it); a read goes on with it (no second checkout)
        session.commit()
    request.state.principal = principal  # the audit middleware records the caller without a second lookup
    return principal


def check_same_origin(request: Request) -> None:
    """Form posts must come from our own pages (the Lax cookie already stops most cross-site posts)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(403, "cross-site form post refused")


PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_roles(*roles: str):  # noqa: ANN201 - a FastAPI dependency factory
    """A dependency: the caller, if their role is one of roles, else 403."""

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs one of the roles: {', '.join(roles)}")
        return principal

    return dependency
