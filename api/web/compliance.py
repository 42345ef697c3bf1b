"""Compliance risks of calls for the lists (call list, overview, rep page): never buried in a scorecard.

A call is flagged where a forbidden phrase was heard, unless a manager overrode its compliance item to
a pass; or where that item failed (analyses from before the digest kept the phrases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from callscope.api.services.results import effective_digests

COMPLIANCE_ITEM = "compliance"


def compliance_flags(session: Session, call_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """call id -> its compliance hits ({term, start}; start None where only the item's verdict is
    known); calls without a risk are absent."""
    flags: dict[int, list[dict[str, Any]]] = {}
    for call_id, digest in effective_digests(session, call_ids).items():
        item = next((i for i in (digest.get("scorecard") or {}).get("items", [])
                     if i.get("id") == COMPLIANCE_ITEM), None)
        cleared = item is not None and item.get("override") and item.get("passed") is not False
        if cleared:
            continue
        hits = [{"term": h.get("term", ""), "start": h.get("start")} for h in digest.get("compliance") or []
                if h.get("role", "rep") == "rep"]
        if not hits and item is not None and item.get("passed") is False:
            hits = [{"term": "", "start": None}]
        if hits:
            flags[call_id] = hits
    return flags
