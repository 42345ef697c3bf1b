from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from callscope.api import queue
from callscope.api.deps import CallId, FastJSONResponse, Principal, PrincipalDep, SessionDep, SettingsDep
from callscope.api.errors import Conflict, Forbidden, NotFound
from callscope.api.responses import (
    FROM_DOC,
    TO_DOC,
    AnalysisDocument,
    CallAccepted,
    CallList,
    CallOut,
    CommentOut,
    ItemOverridden,
    RescoreQueued,
    Reviews,
)
from callscope.api.schemas import CommentIn, OverrideIn
from callscope.api.services import calls as calls_service
from callscope.api.services import reviews
from callscope.api.services.results import current_analysis, effective_document
from callscope.api.services.rubrics import check_name, get_rubric, team_rubric
from callscope.api.services.zones import principal_zone
from callscope.api.storage import audio_store
from callscope.api.uploads import CONTENT_TYPES, receive_upload

router = APIRouter(tags=["calls"])


def _wake_workers(request: Request) -> None:
    pool = getattr(request.app.state, "pool", None)
    if pool is not None:
        pool.wake()


# the body is streamed by hand (api.uploads), so its form is described for /docs here
_UPLOAD_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the recording (any common format)"},
        "rep": {"type": "string", "description": "rep id or email (a rep token may leave it out)"},
        "deal": {"type": "string", "description": "the CRM's deal id (created when new)"},
        "title": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time", "description": "ISO 8601; default now"},
        "channels": {"type": "string", "enum": ["auto", "stereo", "mono"], "default": "auto"},
        "rep_channel": {"type": "integer", "enum": [0, 1], "default": 0},
    }}}}}}


@router.post("/calls", status_code=202, openapi_extra=_UPLOAD_FORM, response_model=CallAccepted)
async def upload_call(request: Request, principal: PrincipalDep, settings: SettingsDep) -> JSONResponse:
    """Multipart upload: `file` plus `rep` (id or email), `deal` (CRM id), `title`, `started_at` (ISO 8601),
    `channels` (auto|stereo|mono), `rep_channel` (0|1). Answers 202 {"id", "status", "duplicate"}; the
    same audio again answers the existing call (its id and status) with "duplicate": true."""
    upload = await receive_upload(request, settings)

    def accept() -> tuple[int, str, bool]:
        with request.app.state.sessions() as session:
            call, duplicate = calls_service.create_call(session, settings, principal, upload)
            return call.id, call.status, duplicate

    try:
        call_id, status, duplicate = await run_in_threadpool(accept)
    finally:
        upload.remove()
    if not duplicate:
        _wake_workers(request)
    return JSONResponse({"id": call_id, "status": status, "duplicate": duplicate}, status_code=202)


@router.get("/calls", response_model=CallList)
def list_calls(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    rep: str | None = None, deal: str | None = None, stage: str | None = None, objection: str | None = None,
    q: Annotated[str | None, Query(description="full-text search in the transcripts (zh or en)")] = None,
    from_: Annotated[str | None, Query(alias="from", description=FROM_DOC)] = None,
    to: Annotated[str | None, Query(description=TO_DOC)] = None,
    min_score: float | None = None, max_score: float | None = None, status: str | None = None,
    tracker: Annotated[str | None, Query(max_length=50, description="calls where this tracker fired")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict:
    """Calls newest first; cursor pagination (`next_cursor` is null on the last page)."""
    filters = calls_service.CallFilters(rep=rep, deal=deal, stage=stage, objection=objection, q=q,
                                        start=from_, end=to, min_score=min_score, max_score=max_score,
                                        status=status, tracker=tracker,
                                        zone=principal_zone(session, settings, principal))
    return calls_service.list_calls(session, principal, filters, limit=limit, cursor=cursor)


@router.get("/calls/{call_id}", response_model=CallOut)
def get_call(call_id: CallId, session: SessionDep, principal: PrincipalDep) -> dict:
    return calls_service.call_to_dict(calls_service.visible_call(session, principal, call_id))


@router.get("/calls/{call_id}/analysis", response_model=AnalysisDocument)
def get_analysis(call_id: CallId, session: SessionDep, principal: PrincipalDep) -> FastJSONResponse:
    """The analysis document, with managers' overrides applied (items carry "override")."""
    call = calls_service.visible_call(session, principal, call_id)
    record = current_analysis(session, call.id)
    if record is None:
        raise Conflict(f"call {call_id} is {call.status}" + (f": {call.error}" if call.error else ""))
    # sent as stored (plain JSON, orjson): published as AnalysisDocument, not re-validated per request
    # (5 ms for 120 turns); tests/test_api_schema.py checks real documents against the schema
    return FastJSONResponse(effective_document(session, call, record.document))


@router.get("/calls/{call_id}/audio", response_class=FileResponse,
            responses={200: {"content": {"audio/*": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the recording"}})
def get_audio(call_id: CallId, session: SessionDep, principal: PrincipalDep,
              settings: SettingsDep) -> FileResponse:
    """The recording (HTTP range requests supported, for players)."""
    call = calls_service.visible_call(session, principal, call_id)
    path = audio_store(settings).local_path(call.audio_path) if call.audio_path else None
    if path is None or not path.is_file():
        raise NotFound(f"the audio of call {call_id} is missing from the data dir")
    ext = path.suffix.lstrip(".")
    return FileResponse(path, media_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
                        headers={"Cache-Control": "private, max-age=3600"})


@router.post("/calls/{call_id}/rescore", status_code=202, response_model=RescoreQueued)
def rescore_call(call_id: CallId, request: Request, session: SessionDep, principal: PrincipalDep,
                 settings: SettingsDep, rubric: str | None = None) -> dict:
    """Re-score the stored transcript against a rubric (default: the rep's team's), no ASR; queued."""
    _require_reviewer(principal)
    call = calls_service.visible_call(session, principal, call_id)
    name = check_name(rubric or team_rubric(session, settings, call.rep_id))
    if get_rubric(session, name) is None:
        raise NotFound(f"no rubric {name}")
    if current_analysis(session, call.id) is None:
        raise Conflict(f"call {call_id} has no transcript yet (status {call.status})")
    job = queue.enqueue(session, call.id, "rescore", rubric=name)
    session.commit()
    _wake_workers(request)
    return {"id": call.id, "job": job.id, "status": job.status, "rubric": name}


@router.get("/calls/{call_id}/reviews", response_model=Reviews)
def get_reviews(call_id: CallId, session: SessionDep, principal: PrincipalDep) -> dict:
    """Overrides (who, when, before, after) and comments on the call's scorecard."""
    return reviews.reviews_of(session, calls_service.visible_call(session, principal, call_id))


def _require_reviewer(principal: Principal) -> None:
    if not principal.can_review:
        raise Forbidden("only managers and admins review scorecards")


@router.put("/calls/{call_id}/scorecard/items/{item_id}", response_model=ItemOverridden,
            response_model_exclude_unset=True)
def override_item(
    call_id: CallId, item_id: str, session: SessionDep, principal: PrincipalDep, request: Request,
    body: Annotated[OverrideIn,
                    Body(examples=[{"passed": True, "score": 10, "reason": "asked about budget"}])],
) -> dict:
    """Override one item (managers of the rep's team, admins): `passed` and/or `score`, `reason`."""
    _require_reviewer(principal)
    call = calls_service.visible_call(session, principal, call_id)
    item = reviews.override_item(session, principal, call, item_id, body.passed, body.score, body.reason,
                                 clear_passed="passed" in body.model_fields_set and body.passed is None,
                                 redact=request.app.state.settings.redact)
    reviews.after_override(session, request.app.state.settings, call)
    session.commit()
    return {"call_id": call.id, "score": call.score, "item": item}


@router.post("/calls/{call_id}/comments", status_code=201, response_model=CommentOut)
def add_comment(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, request: Request,
    body: Annotated[CommentIn, Body(examples=[{"text": "Good recovery on price",
                                               "item_id": "objection_handling", "at": 13.1}])],
) -> dict:
    _require_reviewer(principal)
    call = calls_service.visible_call(session, principal, call_id)
    comment = reviews.add_comment(session, principal, call, body.text, body.item_id, body.at,
                                  redact=request.app.state.settings.redact)
    session.commit()
    return reviews.comment_to_dict(comment)
