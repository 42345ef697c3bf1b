"""Storing an analysis (document, transcript, turns for search, scorecard rows) and reading it back
with the managers' overrides applied."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callscope.api.search import index_tokens
from callscope.models.document import digest, facts
from callscope.models.orm import (
    AnalysisRecord,
    Call,
    CallDigest,
    Override,
    ScorecardItemRecord,
    ScorecardRecord,
    Turn,
    utcnow,
)

_BATCH = 500  # call ids per IN (...) list


def id_batches(ids: list[int]) -> Iterator[list[int]]:
    """ids in slices of _BATCH: one IN (...) list each."""
    for first in range(0, len(ids), _BATCH):
        yield ids[first:first + _BATCH]


def _plain(value: Any) -> Any:
    """numpy scalars (a bool from a classifier, a float32 score) as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """A pure-JSON copy: what the database's JSON columns can hold."""
    return json.loads(json.dumps(data, default=_plain, ensure_ascii=False))


def store_analysis(session: Session, call: Call, document: dict[str, Any], transcript: dict[str, Any],
                   rubric_name: str = "") -> AnalysisRecord:
    """Save one analysis of call and make it current (the caller commits). rubric_name: the name the
    rubric is stored under (re-scoring after a rubric changes finds the calls scored with it)."""
    document, transcript = as_json(document), as_json(transcript)
    card = document.get("scorecard") or {}
    record = AnalysisRecord(call_id=call.id, document=document, transcript=transcript,
                            stage=document.get("stage", ""), score=card.get("score"),
                            model=dict(document.get("asr") or {}))
    session.add(record)
    session.flush()
    call_digest = digest(document)
    session.merge(CallDigest(call_id=call.id, analysis_id=record.id, digest=call_digest,
                             facts=facts(call_digest)))
    session.execute(delete(Turn).where(Turn.call_id == call.id))
    session.add_all([
        Turn(call_id=call.id, idx=i, start=seg["start"], end=seg["end"], speaker=seg.get("speaker", ""),
             role=seg.get("role", ""), text=seg.get("text", ""), tokens=index_tokens(seg.get("text", "")))
        for i, seg in enumerate(document.get("segments", []))
    ])
    scorecard = ScorecardRecord(call_id=call.id, analysis_id=record.id,
                                rubric=rubric_name or card.get("rubric", ""),
                                rubric_version=str(card.get("rubric_version", "")),
                                score=card.get("score") or 0.0, grade=card.get("grade", ""))
    scorecard.items = [
        ScorecardItemRecord(call_id=call.id, item_id=item["id"], name=item.get("name", ""),
                            passed=item.get("passed"), score=item.get("score", 0.0), max=item.get("max", 0.0),
                            evidence=item.get("evidence", []), feedback=item.get("feedback", ""))
        for item in card.get("items", [])
    ]
    session.add(scorecard)
    call.duration = document.get("duration")
    call.stage = document.get("stage")
    call.language = document.get("language")
    call.objection_types = " " + " ".join(sorted({o["type"] for o in document.get("objections", [])})) + " "
    call.updated_at = utcnow()
    session.flush()
    call.score = effective_document(session, call, record.document)["scorecard"].get("score")
    return record


def current_analysis(session: Session, call_id: int) -> AnalysisRecord | None:
    return session.scalar(select(AnalysisRecord).where(AnalysisRecord.call_id == call_id)
                          .order_by(AnalysisRecord.id.desc()).limit(1))


def outcome_of(item: dict[str, Any]) -> str:
    """Which coaching text an item's (effective) verdict reads: pass, partial, fail or not_applicable."""
    if item.get("passed") is None:
        return "not_applicable"
    if item["passed"]:
        return "pass"
    partial = 0 < float(item.get("score") or 0) < float(item.get("max") or 0)
    return "partial" if partial and "partial" in (item.get("coaching") or {}) else "fail"


def coaching_text(item: dict[str, Any], lang: str) -> str:
    """The rubric's coaching for the item's verdict in lang (any language it has, failing that);
    "" where the analysis holds none for that verdict (analysed before coaching was stored)."""
    texts = (item.get("coaching") or {}).get(outcome_of(item)) or {}
    return texts.get(lang) or next(iter(texts.values()), "")


def apply_overrides(document: dict[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """The document with the newest override of each item applied and marked, score recomputed: a copy
    (of the scorecard; the rest is shared) when anything is overridden, else the document itself."""
    if not document.get("scorecard") or not overrides:
        return document
    doc = {**document, "scorecard": copy.deepcopy(document["scorecard"])}
    card = doc["scorecard"]
    latest: dict[str, Override] = {}
    for ov in sorted(overrides, key=lambda o: o.id):
        latest[ov.item_id] = ov
    changed = False
    for item in card.get("items", []):
        ov = latest.get(item["id"])
        if ov is None:
            continue
        item.update({k: v for k, v in ov.after.items() if k in ("passed", "score")})
        item["override"] = {"by": ov.actor, "at": ov.created_at.isoformat(), "before": ov.before,
                            "reason": ov.reason}
        # the coaching follows the manager's verdict: the rubric's text for it, else their reason
        item["feedback"] = coaching_text(item, card.get("language") or document.get("language") or "") \
            or ov.reason or ""
        changed = True
    if changed:
        applicable = [i for i in card["items"] if i.get("passed") is not None]
        total = sum(float(i.get("max", 0)) for i in applicable)
        card["model_score"] = card.get("score")
        got = sum(float(i.get("score", 0)) for i in applicable)
        card["score"] = round(100.0 * got / total, 2) if total else 0.0
        card["overridden"] = True
    return doc


def effective_document(session: Session, call: Call, document: dict[str, Any]) -> dict[str, Any]:
    overrides = list(session.scalars(select(Override).where(Override.call_id == call.id)))
    return apply_overrides(document, overrides)


def effective_digests(session: Session, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each call's current analysis digest (models.document.digest) with its overrides applied, for
    many calls at once: two queries a batch on narrow tables. Calls without an analysis are absent."""
    digests: dict[int, dict[str, Any]] = {}
    overrides: dict[int, list[Override]] = defaultdict(list)
    for batch in id_batches(call_ids):
        for call_id, digest_ in session.execute(select(CallDigest.call_id, CallDigest.digest)
                                                .where(CallDigest.call_id.in_(batch))):
            digests[call_id] = digest_
        for override in session.scalars(select(Override).where(Override.call_id.in_(batch))):
            overrides[override.call_id].append(override)
    return {call_id: apply_overrides(doc, overrides.get(call_id, [])) for call_id, doc in digests.items()}


def effective_facts(session: Session, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each call's current facts (models.document.facts) with its overrides applied: one narrow read
    a batch; the few overridden calls are recomputed from their digests. Calls without an analysis
    are absent."""
    found: dict[int, dict[str, Any]] = {}
    overridden: set[int] = set()
    for batch in id_batches(call_ids):
        for call_id, call_facts in session.execute(select(CallDigest.call_id, CallDigest.facts)
                                                   .where(CallDigest.call_id.in_(batch))):
            found[call_id] = call_facts
        overridden.update(session.scalars(select(Override.call_id).where(Override.call_id.in_(batch))))
    for call_id, effective in effective_digests(session, sorted(overridden & found.keys())).items():
        found[call_id] = facts(effective)
    return found
