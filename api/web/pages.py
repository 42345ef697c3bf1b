"""The page routes: overview, call list, call page (with review forms), rep evaluation, static files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from callscope.api.deps import CallId, RowId, SessionDep, check_same_origin
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.services.calls import CallFilters, list_calls, visible_call
from callscope.api.services.insights import deal_insights
from callscope.api.services.people import find_deal
from callscope.api.services.reviews import acknowledge, add_comment, after_override, override_item
from callscope.api.services.trackers import effective_names
from callscope.api.uploads import CONTENT_TYPES
from callscope.api.web.auth import PagePrincipal
from callscope.api.web.call_views import call_page, search_snippets
from callscope.api.web.compliance import compliance_flags
from callscope.api.web.config import web_config
from callscope.api.web.overview import reps_in_scope, team_overview
from callscope.api.web.rendering import STATIC_DIR, display_tz, render
from callscope.api.web.rep_views import PERIODS, rep_page_data
from callscope.core.errors import CallscopeError
from callscope.models.document import OBJECTION_TYPES, STAGES

router = APIRouter(include_in_schema=False)
# the deal insights' 30-day judgement, by how it starts -> the page's wording
INTENTS = (("no calls", "none"), ("too early", "early"), ("progressing", "progressing"),
           ("stalled", "stalled"))
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def error_page(request: Request, principal: object, err: CallscopeError) -> Response:
    status = getattr(err, "http_status", 400)
    return render(request, "error.html", {"principal": principal, "message": str(err), "status": status},
                  status_code=status)


@router.get("/")
def home(principal: PagePrincipal) -> Response:
    if principal.role == "rep" and principal.user_id is not None:
        return RedirectResponse(f"/reps/{principal.user_id}", status_code=303)
    return RedirectResponse("/overview", status_code=303)


@router.get("/overview")
def overview(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    if principal.role == "rep":
        return RedirectResponse(f"/reps/{principal.user_id}", status_code=303)
    data = team_overview(session, principal, display_tz(request))
    recent = list_calls(session, principal, CallFilters(), limit=8)["items"]
    for item in recent:
        item["started"] = datetime.fromisoformat(item["started_at"])
    data["recent"] = recent
    data["compliance"] = compliance_flags(session, [c["id"] for c in recent])
    context = {"principal": principal, "nav": "overview", **data}
    return render(request, "overview.html", context, session=session)


@router.get("/calls")
def calls(request: Request, session: SessionDep, principal: PagePrincipal,
          rep: str | None = None, deal: str | None = None, stage: str | None = None,
          objection: str | None = None, q: str | None = None,
          from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
          min_score: str | None = None, max_score: str | None = None, status: str | None = None,
          tracker: str | None = None, cursor: str | None = None) -> Response:
    form = {"rep": rep or "", "deal": deal or "", "stage": stage or "", "objection": objection or "",
            "q": q or "", "from": from_ or "", "to": to or "", "min_score": min_score or "",
            "max_score": max_score or "", "tracker": tracker or ""}
    context = {"principal": principal, "nav": "calls", "form": form, "stages": STAGES,
               "objection_types": OBJECTION_TYPES, "reps": reps_in_scope(session, principal),
               "trackers": effective_names(session, principal, request.app.state.settings),
               "error": None, "page": {"items": [], "next_cursor": None}, "snippets": {}, "compliance": {}}
    try:
        tz = display_tz(request)
        filters = CallFilters(rep=rep or None, deal=deal or None, stage=stage or None,
                              objection=objection or None, q=q or None,
                              start=(from_ or "").strip() or None, end=(to or "").strip() or None, zone=tz,
                              min_score=_score(min_score, "min_score"),
                              max_score=_score(max_score, "max_score"), status=status or None,
                              tracker=tracker or None)
        page = list_calls(session, principal, filters, limit=web_config()["page_size"], cursor=cursor or None)
        for item in page["items"]:
            item["started"] = datetime.fromisoformat(item["started_at"])
        context["page"] = page
        context["compliance"] = compliance_flags(session, [c["id"] for c in page["items"]])
        if q and q.strip():
            context["snippets"] = search_snippets(session, [c["id"] for c in page["items"]], q)
    except CallscopeError as err:
        context["error"] = str(err)
    return render(request, "calls.html", context, status_code=422 if context["error"] else 200)


def _score(value: str | None, field: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError as err:
        raise FieldError(f"{field}: not a number") from err


@router.get("/calls/{call_id}")
def call_detail(request: Request, call_id: CallId, session: SessionDep, principal: PagePrincipal) -> Response:
    try:
        data = call_page(session, principal, call_id)
    except CallscopeError as err:
        return error_page(request, principal, err)
    card = (data["document"] or {}).get("scorecard") or {}
    return render(request, "call.html", {"principal": principal, "nav": "calls", **data}, session=session,
                  rubric=card.get("rubric"))


@router.post("/calls/{call_id}/items/{item_id}/override")
def override(request: Request, call_id: CallId, item_id: str, session: SessionDep, principal: PagePrincipal,
             verdict: Annotated[str, Form()] = "", score: Annotated[str, Form()] = "",
             reason: Annotated[str, Form()] = "") -> Response:
    check_same_origin(request)
    try:
        if not principal.can_review:
            raise Forbidden("only managers and admins may override a score")
        call = visible_call(session, principal, call_id)
        passed = {"pass": True, "fail": False}.get(verdict)
        override_item(session, principal, call, item_id, passed=passed, score=_score(score, "score"),
                      reason=reason, clear_passed=verdict == "na", redact=request.app.state.settings.redact)
        after_override(session, request.app.state.settings, call)  # roll-ups and events, as the API does
        session.commit()
    except CallscopeError as err:
        session.rollback()
        return error_page(request, principal, err)
    return RedirectResponse(f"/calls/{call_id}#item-{item_id}", status_code=303)


@router.post("/calls/{call_id}/comments")
def comment(request: Request, call_id: CallId, session: SessionDep, principal: PagePrincipal,
            text: Annotated[str, Form()] = "", at: Annotated[str, Form()] = "",
            item_id: Annotated[str, Form()] = "") -> Response:
    check_same_origin(request)
    try:
        if not principal.can_review:
            raise Forbidden("only managers and admins may comment")
        call = visible_call(session, principal, call_id)
        moment = _score(at, "at")
        add_comment(session, principal, call, text, item_id or None, moment,
                    redact=request.app.state.settings.redact)
        session.commit()
    except CallscopeError as err:
        session.rollback()
        return error_page(request, principal, err)
    return RedirectResponse(f"/calls/{call_id}#comments", status_code=303)


@router.post("/calls/{call_id}/acknowledge")
def acknowledge_feedback(request: Request, call_id: CallId, session: SessionDep, principal: PagePrincipal,
                         note: Annotated[str, Form()] = "") -> Response:
    """The call's rep confirms they have read its feedback (their manager sees it on the call page)."""
    check_same_origin(request)
    try:
        call = visible_call(session, principal, call_id)
        acknowledge(session, principal, call, note)
        session.commit()
    except CallscopeError as err:
        session.rollback()
        return error_page(request, principal, err)
    return RedirectResponse(f"/calls/{call_id}#acknowledgement", status_code=303)


@router.get("/reps/{rep_id}")
def rep_page(request: Request, rep_id: RowId, session: SessionDep, principal: PagePrincipal,
             days: int = 30) -> Response:
    days = days if days in PERIODS else 30
    try:
        data = rep_page_data(session, principal, rep_id, days, request.app.state.settings)
    except CallscopeError as err:
        return error_page(request, principal, err)
    nav = "me" if principal.user_id == rep_id else "overview"
    # the rep's times in the zone their weeks are cut in, whoever looks
    return render(request, "rep.html", {"principal": principal, "nav": nav, **data}, session=session,
                  tz=data["zone"])


@router.get("/upload")
def upload_page(request: Request, session: SessionDep, principal: PagePrincipal) -> Response:
    """A form over POST /api/v1/calls (the page's script sends it with the sign-in cookie)."""
    context = {"principal": principal, "nav": "upload", "reps": reps_in_scope(session, principal),
               "accept": ",".join(f".{ext}" for ext in CONTENT_TYPES)}
    return render(request, "upload.html", context)


@router.get("/deals/{deal_ref:path}")
def deal_page(request: Request, deal_ref: str, session: SessionDep, principal: PagePrincipal) -> Response:
    try:
        settings = request.app.state.settings  # the same clocks and risk as the API's deal insights
        insights = deal_insights(session, principal, find_deal(session, deal_ref), tz=settings.timezone,
                                 team_config=settings.team_config)
        if not insights["calls"] and not principal.sees_everything:
            raise NotFound(f"no deal {deal_ref}")
    except CallscopeError as err:
        return error_page(request, principal, err)
    judgement = insights["clocks"]["intent"]["judgement"]
    intent = next((key for prefix, key in INTENTS if judgement.startswith(prefix)), "early")
    for call in insights["calls"]:
        call["started"] = datetime.fromisoformat(call["started_at"])
    context = {"principal": principal, "nav": "calls", "insights": insights, "intent": intent}
    return render(request, "deal.html", context, session=session)


@router.get("/static/web/{name}")
def static(name: str) -> Response:
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})
