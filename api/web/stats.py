"""Scorecard items as they stand after managers' overrides, and their pass rates: what the overview
and the rep pages judge reps by."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from callscope.models.orm import Override, ScorecardItemRecord, ScorecardRecord


def effective_items(session: Session, call_ids: Select) -> dict[int, list[dict[str, Any]]]:
    """call id -> its current scorecard's items (id, name, passed, score, max, feedback, evidence),
    each with the newest override applied."""
    latest = (select(func.max(ScorecardRecord.id)).where(ScorecardRecord.call_id.in_(call_ids))
              .group_by(ScorecardRecord.call_id))
    rows = session.scalars(select(ScorecardItemRecord).where(ScorecardItemRecord.scorecard_id.in_(latest))
                           .order_by(ScorecardItemRecord.id))
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        items[row.call_id].append({"id": row.item_id, "name": row.name, "passed": row.passed,
                                   "score": row.score, "max": row.max, "feedback": row.feedback,
                                   "evidence": row.evidence or []})
    overrides = session.scalars(select(Override).where(Override.call_id.in_(call_ids)).order_by(Override.id))
    for ov in overrides:
        for item in items.get(ov.call_id, []):
            if item["id"] == ov.item_id:
                item.update({k: v for k, v in (ov.after or {}).items() if k in ("passed", "score")})
                item["overridden"] = True
    return items


@dataclass
class ItemStat:
    """How one rubric item went over a set of calls."""

    id: str
    name: str
    applicable: int = 0
    passed: int = 0
    failed_calls: list[int] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.applicable if self.applicable else 0.0

    @property
    def fail_rate(self) -> float:
        return 1.0 - self.pass_rate if self.applicable else 0.0


def item_stats(items_by_call: dict[int, list[dict[str, Any]]], call_ids: list[int]) -> list[ItemStat]:
    """Per-item pass counts over call_ids, in rubric order (skipping calls where an item does not apply)."""
    stats: dict[str, ItemStat] = {}
    for call_id in call_ids:
        for item in items_by_call.get(call_id, []):
            stat = stats.setdefault(item["id"], ItemStat(item["id"], item.get("name", "")))
            if item.get("passed") is None:
                continue
            stat.applicable += 1
            if item["passed"]:
                stat.passed += 1
            else:
                stat.failed_calls.append(call_id)
    return list(stats.values())
