"""Names of rubric items and grades in the page's language, from the rubric itself (each rubric names
its items per language), falling back to the name the scorecard stored, then to the UI strings."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from callscope.api.services.rubrics import get_rubric
from callscope.api.web.i18n import Translator
from callscope.core.errors import CallscopeError

Labeler = Callable[..., str]


def _names(session: Session, rubric: str, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """(item id -> name, grade id -> label) of a rubric in lang; empty when it cannot be read."""
    try:
        found = get_rubric(session, rubric) if rubric else None
    except CallscopeError:
        return {}, {}
    data = (found or {}).get("rubric") or {}

    def pick(texts: object) -> str:
        if isinstance(texts, dict):
            return str(texts.get(lang) or next(iter(texts.values()), ""))
        return str(texts or "")

    items = {str(i.get("id")): pick(i.get("name")) for i in data.get("items", []) if isinstance(i, dict)}
    grades = {str(g.get("id")): pick(g.get("label")) for g in data.get("grades", []) if isinstance(g, dict)}
    return items, grades


def labelers(session: Session, rubric: str, t: Translator) -> dict[str, Labeler]:
    """item_label(id, stored_name) and grade_label(id) for templates."""
    items, grades = _names(session, rubric, t.lang)

    def item_label(item_id: str, stored_name: str = "") -> str:
        return items.get(item_id) or stored_name or t.label("item", item_id)

    def grade_label(grade_id: str | None) -> str:
        return grades.get(grade_id or "") or t.label("grade", grade_id)

    return {"item_label": item_label, "grade_label": grade_label}
