"""The trackers page: a team's keyword trackers and hotwords, edited by its manager or an admin through
the same service as PUT /api/v1/teams/{team}/trackers; its reps read it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal, SessionDep, check_same_origin
from callscope.api.errors import FieldError, NotFound
from callscope.api.services import people
from callscope.api.services import trackers as tracker_service
from callscope.api.web.auth import PagePrincipal
from callscope.api.web.pages import error_page
from callscope.api.web.rendering import render
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError
from callscope.models.orm import Team

router = APIRouter(include_in_schema=False)
TeamField = Annotated[str, Form()]


def _team(session: Session, principal: Principal, ref: str | None) -> Team:
    """The team asked for (members may read theirs), else the caller's own, else (admin) the first."""
    if ref:
        return people.visible_team(session, principal, ref, members_too=True)
    team = tracker_service.team_of(session, principal)
    if team is None and principal.sees_everything:
        team = session.scalar(select(Team).order_by(Team.name).limit(1))
    if team is None:
        raise NotFound("no team: trackers belong to a team")
    return team


def page_data(session: Session, principal: Principal, settings: Settings, team: Team) -> dict[str, Any]:
    """The team's trackers as rows (each with where it comes from: the team, the service, or the team's
    over the service's) and its hotwords beside the service's."""
    service = tracker_service.service_groups(settings)
    own = team.trackers or {}
    rows = [{"name": name, "words": words,
             "source": "replaced" if name in service else "team"} for name, words in own.items()]
    rows += [{"name": name, "words": words, "source": "service"} for name, words in service.items()
             if name not in own]
    teams = list(session.scalars(select(Team).order_by(Team.name))) if principal.sees_everything else []
    return {"team": team, "rows": rows, "hotwords": list(team.hotwords or []),
            "service_hotwords": settings.hotword_list, "teams": teams,
            "can_edit": tracker_service.may_edit(principal)}


def _page(request: Request, session: Session, principal: Principal, team: Team, error: str | None = None,
          draft: dict[str, str] | None = None) -> Response:
    data = page_data(session, principal, request.app.state.settings, team)
    context = {"principal": principal, "nav": "trackers", "error": error, "draft": draft or {}, **data}
    return render(request, "trackers.html", context, status_code=422 if error else 200)


@router.get("/trackers")
def trackers_page(request: Request, session: SessionDep, principal: PagePrincipal,
                  team: str | None = None) -> Response:
    try:
        found = _team(session, principal, team)
    except CallscopeError as err:
        return error_page(request, principal, err)
    return _page(request, session, principal, found)


def _change(request: Request, session: Session, principal: Principal, team_ref: str,
            change: Callable[[Team], tuple[dict[str, list[str]], list[str]]], anchor: str,
            draft: dict[str, str]) -> Response:
    """Apply change (the team -> its new trackers and hotwords) through the service; a bad field shows
    as one line above the page's forms, kept as typed."""
    check_same_origin(request)
    try:
        team = _team(session, principal, team_ref)
        tracker_service.require_editor(principal)
    except CallscopeError as err:
        return error_page(request, principal, err)
    try:
        trackers, hotwords = change(team)
        tracker_service.save(session, principal, team, trackers, hotwords)
        session.commit()
    except FieldError as err:
        session.rollback()
        return _page(request, session, principal, team, str(err), draft)
    return RedirectResponse(f"/trackers?team={team.id}#{quote(anchor)}", status_code=303)


@router.post("/trackers/groups")
def save_group(request: Request, session: SessionDep, principal: PagePrincipal, team: TeamField,
               name: Annotated[str, Form()] = "", phrases: Annotated[str, Form()] = "",
               original: Annotated[str, Form()] = "") -> Response:
    """Add a tracker (no original) or change one (original: its name before; a service tracker changed
    becomes the team's own)."""
    def change(found: Team) -> tuple[dict[str, list[str]], list[str]]:
        words = tracker_service.split_words(phrases)
        return (tracker_service.with_group(found, name, words, replacing=original or None),
                list(found.hotwords or []))

    draft = {"form": "edit" if original else "add", "original": original, "name": name, "phrases": phrases}
    return _change(request, session, principal, team, change, f"tracker-{name.strip()}", draft)


@router.post("/trackers/groups/delete")
def delete_group(request: Request, session: SessionDep, principal: PagePrincipal, team: TeamField,
                 name: Annotated[str, Form()] = "") -> Response:
    """Delete the team's tracker (where it replaced a service tracker, the service's applies again)."""
    def change(found: Team) -> tuple[dict[str, list[str]], list[str]]:
        return tracker_service.without_group(found, name), list(found.hotwords or [])

    return _change(request, session, principal, team, change, "trackers", {})


@router.post("/trackers/hotwords")
def save_hotwords(request: Request, session: SessionDep, principal: PagePrincipal, team: TeamField,
                  hotwords: Annotated[str, Form()] = "") -> Response:
    def change(found: Team) -> tuple[dict[str, list[str]], list[str]]:
        return dict(found.trackers or {}), tracker_service.split_words(hotwords)

    return _change(request, session, principal, team, change, "hotwords",
                   {"form": "hotwords", "hotwords": hotwords})
