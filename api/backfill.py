"""Redaction backfill (issue 17): redact what was stored before redaction was on, or under an older version
of the rules (calls.redaction_version < nlp.redaction.RULES_VERSION), as `callscope privacy backfill`.

Per call, in one transaction: every stored analysis (its transcript, with times, and its document: the
segments and every quote elsewhere in it), the search rows (turns and their tokens, rebuilt from the
current analysis), the digest and facts, the scorecard items' evidence and feedback, the title and file
name, the reviewers' comments and override reasons; then keyed hashes of the values found (added to those
kept, for erasure requests), the call's redaction_version, and an audit event. Webhook payloads not yet
delivered are redacted too. Running it again changes nothing: placeholders hold no digits, and calls at
the current version are skipped (--all re-reads them anyway). Calls still being analysed are left to the
pipeline, which redacts with the current rules.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from callscope.api.privacy import audit, call_team, store_digests
from callscope.api.search import index_tokens
from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.db import engine_for, migrate, session_factory
from callscope.models.document import Transcript, Turn, digest, facts
from callscope.models.orm import (
    AnalysisRecord,
    Call,
    CallDigest,
    Comment,
    Override,
    ScorecardItemRecord,
    WebhookDelivery,
)
from callscope.models.orm import Turn as TurnRow
from callscope.nlp.redaction import RULES_VERSION, redact_text, redact_transcript

log = logging.getLogger("callscope.privacy")
_BUSY = ("queued", "processing")


def _strings(value: Any, language: str | None, skip: tuple[str, ...] = ()) -> tuple[Any, int]:
    """value with every string in it redacted (dict keys in skip left as they are); and how many changed."""
    if isinstance(value, str):
        out = redact_text(value, language) if len(value) >= 5 else value
        return out, int(out != value)
    if isinstance(value, list):
        pairs = [_strings(v, language) for v in value]
        return [p[0] for p in pairs], sum(p[1] for p in pairs)
    if isinstance(value, dict):
        out, changed = {}, 0
        for key, item in value.items():
            if key in skip:
                out[key] = item
                continue
            out[key], n = _strings(item, language)
            changed += n
        return out, changed
    return value, 0


def _segments(document: dict[str, Any]) -> int:
    """Redact the document's segments in place (their text and redactions, times from the segment)."""
    segments = document.get("segments") or []
    transcript = Transcript(duration=float(document.get("duration") or 0.0),
                            language=document.get("language") or "zh",
                            layout=document.get("layout") or "mono",
                            turns=[Turn(float(s["start"]), float(s["end"]), s.get("speaker", ""),
                                        s.get("role", ""), s.get("text", ""), language=s.get("language"))
                                   for s in segments])
    found = redact_transcript(transcript)
    for segment, turn in zip(segments, transcript.turns, strict=True):
        if turn.redactions:
            segment["text"] = turn.text
            segment["redactions"] = [*segment.get("redactions", []), *(r.to_dict() for r in turn.redactions)]
    return len(found)


def backfill_call(session: Session, settings: Settings, call: Call, actor: str) -> int:
    """Redact one call's stored text under the current rules (the caller commits); returns how many
    redactions and changed strings it made."""
    changed = 0
    records = list(session.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == call.id)
                                   .order_by(AnalysisRecord.id)))
    for record in records:
        transcript = Transcript.from_dict(record.transcript)
        if redact_transcript(transcript):
            changed += store_digests(session, settings, call, transcript, replace=False) or 1
            record.transcript = transcript.to_dict()
        document = dict(record.document)
        changed += _segments(document)
        document, n = _strings(document, document.get("language"), skip=("segments", "asr", "speakers"))
        changed += n
        record.document = document
    if records:
        current = records[-1].document
        row = session.get(CallDigest, call.id)
        if row is not None:
            row.digest = digest(current)
            row.facts = facts(row.digest)
        session.execute(delete(TurnRow).where(TurnRow.call_id == call.id))
        session.add_all([
            TurnRow(call_id=call.id, idx=i, start=seg["start"], end=seg["end"],
                    speaker=seg.get("speaker", ""), role=seg.get("role", ""), text=seg.get("text", ""),
                    tokens=index_tokens(seg.get("text", "")))
            for i, seg in enumerate(current.get("segments", []))])
    for item in session.scalars(select(ScorecardItemRecord).where(ScorecardItemRecord.call_id == call.id)):
        (item.evidence, a), (item.feedback, b) = _strings(item.evidence, None), _strings(item.feedback, None)
        changed += a + b
    for comment in session.scalars(select(Comment).where(Comment.call_id == call.id)):
        comment.text, n = _strings(comment.text, None)
        changed += n
    for override in session.scalars(select(Override).where(Override.call_id == call.id)):
        override.reason, n = _strings(override.reason or "", None)
        changed += n
    call.title, a = _strings(call.title, None)
    call.original_filename, b = _strings(call.original_filename, None)
    changed += a + b
    before = call.redaction_version
    call.redaction_version = RULES_VERSION
    audit(session, actor, "redact", "call", call.id, call_team(session, call.id),
          detail={"rules_version": RULES_VERSION, "previous_version": before, "changed": changed})
    return changed


def backfill(session: Session, settings: Settings, *, actor: str, every: bool = False) -> dict[str, int]:
    """Bring every settled call to the current rules (one commit per call) and redact the webhook payloads
    still stored; returns counts. every: re-read calls already at the current version too."""
    if not settings.redact:
        raise InputError("redaction is off (CALLSCOPE_REDACT=0): nothing to backfill with")
    query = select(Call.id).where(Call.status.not_in(_BUSY)).order_by(Call.id)
    if not every:
        query = query.where(or_(Call.redaction_version.is_(None), Call.redaction_version < RULES_VERSION))
    counts = {"calls": 0, "changed_calls": 0, "changes": 0, "skipped_busy": 0, "webhook_payloads": 0}
    for call_id in list(session.scalars(query)):
        call = session.get(Call, call_id)
        if call is None or call.status in _BUSY:  # deleted or picked up meanwhile
            continue
        changed = backfill_call(session, settings, call, actor)
        session.commit()
        counts["calls"] += 1
        counts["changed_calls"] += bool(changed)
        counts["changes"] += changed
    counts["skipped_busy"] = session.scalar(select(func.count()).select_from(Call)
                                            .where(Call.status.in_(_BUSY)))
    for delivery in session.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "pending")):
        payload, n = _strings(delivery.payload, None)
        if n:
            delivery.payload = payload
            counts["webhook_payloads"] += 1
    if counts["webhook_payloads"]:
        audit(session, actor, "redact", "webhook_deliveries", "",
              detail={"payloads": counts["webhook_payloads"]})
    session.commit()
    log.info("redaction backfill (rules %d): %s", RULES_VERSION, counts)
    return counts


def backfill_cli(settings: Settings, every: bool = False) -> dict[str, int]:
    """`callscope privacy backfill [--all]`."""
    engine = engine_for(settings)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            return backfill(session, settings, actor="cli", every=every)
    finally:
        engine.dispose()
