"""Signing in to the pages with an API token (kept in the HttpOnly cookie the API also accepts),
and the dependency that sends a visitor without a valid token to the sign-in page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import (
    COOKIE_NAME,
    Principal,
    SessionDep,
    check_same_origin,
    principal_for_token,
    token_from_request,
)
from callscope.api.services.zones import principal_team
from callscope.api.web.rendering import render
from callscope.models.orm import User

router = APIRouter()
COOKIE_MAX_AGE = 30 * 86400


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def page_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in caller, or a redirect (303) to the sign-in page that comes back here."""
    token = token_from_request(request)
    principal = principal_for_token(session, token) if token else None
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target)}"})
    request.state.team_name = principal_team(session, principal)  # whose display time zone the pages use
    request.state.person_name = _person_name(session, principal)
    return principal


def _person_name(session: Session, principal: Principal) -> str:
    """Who is signed in, as people call them: the person's name (e-mail), else the token's label."""
    if principal.user_id is not None:
        row = session.execute(select(User.name, User.email).where(User.id == principal.user_id)).first()
        if row is not None:
            return row.name or row.email
    return principal.label


PagePrincipal = Annotated[Principal, Depends(page_principal)]


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", include_in_schema=False)
def login(request: Request, session: SessionDep, token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    check_same_origin(request)
    token = token.strip()
    principal = principal_for_token(session, token) if token else None
    if principal is None:
        context = {"next": safe_next(next), "error": "login.invalid"}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE_NAME, token, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    check_same_origin(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
