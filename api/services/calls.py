"""Calls: accepting an upload (validate, dedupe, probe, store, queue), listing with filters, reading."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, contains_eager

from callscope.api import queue
from callscope.api.deps import Principal
from callscope.api.errors import Conflict, FieldError, NotFound
from callscope.api.search import call_matches
from callscope.api.services.people import resolve_deal_for_upload, resolve_rep_for_upload
from callscope.api.services.trackers import like_escaped
from callscope.api.storage import audio_store
from callscope.api.uploads import Upload, probe_audio, store_audio
from callscope.core.config import Settings
from callscope.models.document import OBJECTION_TYPES, STAGES
from callscope.models.orm import Call, Deal, User, parse_id, utcnow

CHANNELS = ("auto", "stereo", "mono")


def is_bare_date(value: str) -> bool:
    return len(value.strip()) == 10


def parse_time(value: str, field: str, zone: tzinfo = timezone.utc) -> datetime:
    """ISO 8601: a bare date is that day's midnight in zone (the display time zone of whoever's figures
    are asked for: api.services.zones); a date and time carries Z or an offset, naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as err:
        raise FieldError(f"{field}: not an ISO 8601 date/time: {value[:40]!r}") from err
    if is_bare_date(value):
        parsed = parsed.replace(tzinfo=zone)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:  # normalised here, so a date at the edge of the calendar fails as a field, not in the database
        return parsed.astimezone(timezone.utc)
    except OverflowError as err:
        raise FieldError(f"{field}: out of range: {value[:40]!r}") from err


@dataclass
class CallForm:
    rep: str
    deal: str
    title: str
    started_at: datetime
    channels: str
    rep_channel: int


def validate_form(fields: dict[str, str]) -> CallForm:
    channels = fields.get("channels", "auto").lower() or "auto"
    if channels not in CHANNELS:
        raise FieldError(f"channels: must be one of {', '.join(CHANNELS)}")
    rep_channel = fields.get("rep_channel", "0") or "0"
    if rep_channel not in ("0", "1"):
        raise FieldError("rep_channel: must be 0 or 1")
    started = fields.get("started_at", "")
    return CallForm(rep=fields.get("rep", ""), deal=fields.get("deal", ""),
                    title=fields.get("title", "")[:300],
                    started_at=parse_time(started, "started_at") if started else utcnow(),
                    channels=channels, rep_channel=int(rep_channel))


def create_call(session: Session, settings: Settings, principal: Principal,
                upload: Upload) -> tuple[Call, bool]:
    """Accept an uploaded recording: (the call, whether it was a duplicate). Removes the temp file
    whenever the upload is not kept."""
    try:
        form = validate_form(upload.fields)
        existing = session.scalar(select(Call).where(Call.sha256 == upload.sha256))
        if existing is not None:
            if not principal.can_see_call(existing):
                raise Conflict("this recording was already uploaded by someone outside your scope")
            if existing.status == "failed":  # sending it again is asking for another try
                existing.status, existing.error, existing.attempts = "queued", None, 0
                queue.enqueue(session, existing.id, "analyze")
                session.commit()
            return existing, True
        rep = resolve_rep_for_upload(session, principal, form.rep)
        probe = probe_audio(upload.temp_path, settings)
        deal = resolve_deal_for_upload(session, form.deal, rep)
        rel_path = store_audio(upload, probe.ext, audio_store(settings))
        title = form.title or upload.filename[:300] or f"call {form.started_at:%Y-%m-%d %H:%M}"
        if settings.redact:  # a CRM's title or a file name may carry the customer's number too
            from callscope.nlp.redaction import redact_text

            title = redact_text(title)
            upload.filename = redact_text(upload.filename)
        call = Call(title=title,
                    rep_id=rep.id, deal_id=deal.id if deal else None, started_at=form.started_at,
                    duration=probe.duration or None, channels=form.channels, rep_channel=form.rep_channel,
                    audio_path=rel_path, sha256=upload.sha256, size=upload.size,
                    original_filename=upload.filename, content_type=upload.content_type or "",
                    status="queued")
        session.add(call)
        session.flush()
        queue.enqueue(session, call.id, "analyze")
        session.commit()
        return call, False
    except IntegrityError:
        # the same audio arrived twice at once: the other request stored it; answer that call
        session.rollback()
        existing = session.scalar(select(Call).where(Call.sha256 == upload.sha256))
        if existing is None:
            raise
        return existing, True
    finally:
        upload.remove()


def _encode_cursor(call: Call) -> str:
    return base64.urlsafe_b64encode(f"{call.started_at.isoformat()}|{call.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        when, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().rpartition("|")
        return parse_time(when, "cursor"), int(ident)
    except (ValueError, UnicodeDecodeError) as err:
        raise FieldError("cursor: not a cursor this API returned") from err


@dataclass
class CallFilters:
    rep: str | None = None
    deal: str | None = None
    stage: str | None = None
    objection: str | None = None
    q: str | None = None
    start: str | None = None  # `from`
    end: str | None = None  # `to`
    zone: tzinfo = timezone.utc  # what a bare date in from/to means (the caller's display zone)
    min_score: float | None = None
    max_score: float | None = None
    status: str | None = None
    tracker: str | None = None


def list_calls(session: Session, principal: Principal, filters: CallFilters, limit: int = 50,
               cursor: str | None = None) -> dict[str, Any]:
    """Newest first, keyset pagination on (started_at, id): pass next_cursor back as cursor."""
    stmt = principal.scope_calls(select(Call))
    if filters.rep:
        ref = filters.rep.strip()
        rep_id = parse_id(ref)
        stmt = stmt.where(Call.rep_id == rep_id) if rep_id is not None else \
            stmt.where(Call.rep_id.in_(select(User.id).where(User.email == ref.lower())))
    if filters.deal:
        ref = filters.deal.strip()
        cond = Deal.external_id == ref
        if (deal_id := parse_id(ref)) is not None:
            cond = or_(cond, Deal.id == deal_id)
        stmt = stmt.where(Call.deal_id.in_(select(Deal.id).where(cond)))
    if filters.stage:
        if filters.stage not in STAGES:
            raise FieldError(f"stage: must be one of {', '.join(STAGES)}")
        stmt = stmt.where(Call.stage == filters.stage)
    if filters.objection:
        if filters.objection not in OBJECTION_TYPES:
            raise FieldError(f"objection: must be one of {', '.join(OBJECTION_TYPES)}")
        stmt = stmt.where(Call.objection_types.like(f"% {filters.objection} %"))
    if filters.tracker:
        pattern = f"% {like_escaped(filters.tracker.strip())} %"
        stmt = stmt.where(Call.tracker_names.like(pattern, escape="\\"))
    if filters.status:
        stmt = stmt.where(Call.status == filters.status)
    if filters.start:
        stmt = stmt.where(Call.started_at >= parse_time(filters.start, "from", filters.zone))
    if filters.end:
        stmt = stmt.where(Call.started_at <= parse_end(filters.end, filters.zone))
    if filters.min_score is not None:
        stmt = stmt.where(Call.score >= filters.min_score)
    if filters.max_score is not None:
        stmt = stmt.where(Call.score <= filters.max_score)
    if filters.q and filters.q.strip():
        stmt = stmt.where(call_matches(session, filters.q))
    if cursor:
        when, ident = _decode_cursor(cursor)
        stmt = stmt.where(or_(Call.started_at < when, and_(Call.started_at == when, Call.id < ident)))
    limit = max(1, min(200, limit))
    # the rep and deal joined to the page once it is cut, in the same statement: a join before the LIMIT
    # made PostgreSQL, which cannot estimate the LIKE filters, nest-loop every matching call through users
    # and deals
    page = aliased(Call, stmt.order_by(Call.started_at.desc(), Call.id.desc()).limit(limit + 1).subquery())
    rows = list(session.scalars(
        select(page).outerjoin(page.rep).outerjoin(page.deal)
        .options(contains_eager(page.rep), contains_eager(page.deal))
        .order_by(page.started_at.desc(), page.id.desc())))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [call_to_dict(c) for c in rows], "pagination": "cursor", "limit": limit,
            "next_cursor": _encode_cursor(rows[-1]) if more and rows else None, "timezone": str(filters.zone)}


def parse_end(value: str, zone: tzinfo = timezone.utc) -> datetime:
    """`to` is inclusive: a bare date means the end of that day in zone (its last microsecond)."""
    if not is_bare_date(value):
        return parse_time(value, "to")
    day = parse_time(value, "to", zone).astimezone(zone)
    try:
        return (datetime.combine(day.date() + timedelta(days=1), time(0), zone)
                - timedelta(microseconds=1)).astimezone(timezone.utc)
    except OverflowError as err:
        raise FieldError(f"to: out of range: {value[:40]!r}") from err


def call_to_dict(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "title": call.title,
        "status": call.status,
        "error": call.error,
        "attempts": call.attempts,
        "rep": {"id": call.rep.id, "email": call.rep.email, "name": call.rep.name} if call.rep else None,
        "deal": {"id": call.deal.id, "external_id": call.deal.external_id, "name": call.deal.name}
        if call.deal else None,
        "started_at": call.started_at.isoformat(),
        "duration": call.duration,
        "channels": call.channels,
        "rep_channel": call.rep_channel,
        "stage": call.stage,
        "score": call.score,
        "language": call.language,
        "objections": call.objection_types.split(),
        "trackers": (call.tracker_names or "").split(),
        "original_filename": call.original_filename,
        "size": call.size,
        "sha256": call.sha256,
        "created_at": call.created_at.isoformat(),
        "updated_at": call.updated_at.isoformat(),
        "links": {"self": f"/api/v1/calls/{call.id}", "analysis": f"/api/v1/calls/{call.id}/analysis",
                  "audio": f"/api/v1/calls/{call.id}/audio"},
    }


def visible_call(session: Session, principal: Principal, call_id: int) -> Call:
    """The call, or NotFound when it does not exist or is outside the caller's scope."""
    call = session.get(Call, call_id)
    if call is None or not principal.can_see_call(call):
        raise NotFound(f"no call {call_id}")
    return call

