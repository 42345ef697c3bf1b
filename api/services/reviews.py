"""Managers' reviews of a scorecard: overrides of an item (logged who/when/before/after) and comments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.errors import Conflict, FieldError, Forbidden, NotFound
from callscope.api.services import rollups
from callscope.api.services.evaluation import evaluation_updated
from callscope.api.services.results import current_analysis, effective_document
from callscope.core.config import Settings
from callscope.models.orm import Acknowledgement, ApiToken, Call, Comment, Override, User, utcnow
from callscope.nlp.redaction import redact_text


def _typed(text: str, redact: bool) -> str:
    """What a reviewer typed, as stored: with redaction on, a customer's number or address they typed out
    is replaced like one said in the call."""
    return redact_text(text) if redact and text else text


def override_item(session: Session, principal: Principal, call: Call, item_id: str, passed: bool | None,
                  score: float | None, reason: str, clear_passed: bool = False, *,
                  redact: bool) -> dict[str, Any]:
    """Set an item's passed and/or score; returns the item as now effective. The caller commits.
    redact: replace personal numbers and addresses in the reason (Settings.redact)."""
    record = current_analysis(session, call.id)
    if record is None:
        raise Conflict(f"call {call.id} has no scorecard yet (status {call.status})")
    document = effective_document(session, call, record.document)
    item = next((i for i in document["scorecard"].get("items", []) if i["id"] == item_id), None)
    if item is None:
        raise NotFound(f"no scorecard item {item_id!r} on call {call.id}")
    if passed is None and score is None and not clear_passed:
        raise FieldError("body: give passed and/or score")
    after = {"passed": item.get("passed"), "score": item.get("score")}
    if passed is not None or clear_passed:
        after["passed"] = passed
        if score is None:  # a verdict alone moves the points with it
            after["score"] = float(item["max"]) if passed else 0.0
    if score is not None:
        if not 0 <= score <= float(item["max"]):
            raise FieldError(f"score: must be between 0 and {item['max']}")
        after["score"] = float(score)
    before = {"passed": item.get("passed"), "score": item.get("score")}
    session.add(Override(call_id=call.id, item_id=item_id, actor=principal.label, token_id=principal.token_id,
                         before=before, after=after, reason=_typed(reason, redact)[:2000]))
    session.flush()
    document = effective_document(session, call, record.document)
    call.score = document["scorecard"].get("score")
    return next(i for i in document["scorecard"]["items"] if i["id"] == item_id)


def after_override(session: Session, settings: Settings, call: Call) -> None:
    """A manager's verdict changed a call's scorecard (override_item): its rep's day roll-up and
    evaluation.updated follow it, in the same transaction. The API's override and the page's both call it."""
    rollups.refresh_call(session, settings, call)
    if call.status == "done":
        evaluation_updated(session, settings, call.rep, call.started_at, reason=f"call {call.id} reviewed")


def add_comment(session: Session, principal: Principal, call: Call, text: str, item_id: str | None,
                at: float | None, *, redact: bool) -> Comment:
    """A comment on the call (a transcript line at `at`, a scorecard item); redact: replace personal
    numbers and addresses before it is stored (Settings.redact)."""
    if not text.strip():
        raise FieldError("text: empty comment")
    comment = Comment(call_id=call.id, item_id=item_id, at=at, actor=principal.label,
                      token_id=principal.token_id, text=_typed(text.strip()[:5000], redact))
    session.add(comment)
    session.flush()
    return comment


def acknowledge(session: Session, principal: Principal, call: Call, note: str) -> Acknowledgement:
    """The call's rep acknowledges its feedback (again: the note and time are updated). The caller commits."""
    if principal.user_id is None or principal.user_id != call.rep_id:
        raise Forbidden("only the call's rep acknowledges its feedback")
    found = session.scalar(select(Acknowledgement).where(Acknowledgement.call_id == call.id,
                                                         Acknowledgement.user_id == principal.user_id))
    if found is None:
        found = Acknowledgement(call_id=call.id, user_id=principal.user_id)
        session.add(found)
    found.note, found.token_id, found.created_at = note.strip()[:2000], principal.token_id, utcnow()
    session.flush()
    return found


def acknowledgements_of(session: Session, call: Call) -> list[Acknowledgement]:
    return list(session.scalars(select(Acknowledgement).where(Acknowledgement.call_id == call.id)
                                .order_by(Acknowledgement.id)))


def person_names(session: Session, token_ids: set[int | None]) -> dict[int, str]:
    """token id -> the name of the person it belongs to (their e-mail when they have no name); tokens
    of nobody in particular (an integration, the demo admin) are left out, so their label shows."""
    ids = {i for i in token_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(select(ApiToken.id, User.name, User.email).join(User, User.id == ApiToken.user_id)
                           .where(ApiToken.id.in_(ids)))
    return {token_id: name or email for token_id, name, email in rows}


def reviews_of(session: Session, call: Call) -> dict[str, Any]:
    overrides = session.scalars(select(Override).where(Override.call_id == call.id).order_by(Override.id))
    comments = session.scalars(select(Comment).where(Comment.call_id == call.id).order_by(Comment.id))
    return {
        "overrides": [{"id": o.id, "item_id": o.item_id, "by": o.actor, "at": o.created_at.isoformat(),
                       "before": o.before, "after": o.after, "reason": o.reason} for o in overrides],
        "comments": [comment_to_dict(c) for c in comments],
        "acknowledgements": [{"rep_id": a.user_id, "note": a.note, "at": a.created_at.isoformat()}
                             for a in acknowledgements_of(session, call)],
    }


def comment_to_dict(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "item_id": c.item_id, "at": c.at, "by": c.actor, "text": c.text,
            "created_at": c.created_at.isoformat()}
