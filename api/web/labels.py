"""Names of rubric items and grades in the page's language, from the rubric itself (each rubric names
its items per language), falling back to the name the scorecard stored, then to the UI strings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from callscope.api.services.results import coaching_text
from callscope.api.services.rubrics import get_rubric
from callscope.api.web.i18n import Translator
from callscope.core.errors import CallscopeError

Labeler = Callable[..., str]


def _names(session: Session, rubric: str, lang: str) -> tuple[dict[str, str], dict[str, str], str]:
    """(item id -> name, grade id -> label, the rubric's title) of a rubric in lang; empty when it
    cannot be read."""
    try:
        found = get_rubric(session, rubric) if rubric else None
    except CallscopeError:
        return {}, {}, ""
    data = (found or {}).get("rubric") or {}

    def pick(texts: object) -> str:
        if isinstance(texts, dict):
            return str(texts.get(lang) or next(iter(texts.values()), ""))
        return str(texts or "")

    items = {str(i.get("id")): pick(i.get("name")) for i in data.get("items", []) if isinstance(i, dict)}
    grades = {str(g.get("id")): pick(g.get("label")) for g in data.get("grades", []) if isinstance(g, dict)}
    return items, grades, pick(data.get("title"))


def labelers(session: Session, rubric: str, t: Translator) -> dict[str, Labeler]:
    """item_label(id, stored_name), grade_label(id), coaching(item) (the item's feedback in the
    page's language, for its effective verdict) and rubric_title() for templates."""
    items, grades, title = _names(session, rubric, t.lang)

    def item_label(item_id: str, stored_name: str = "") -> str:
        return items.get(item_id) or stored_name or t.label("item", item_id)

    def grade_label(grade_id: str | None) -> str:
        return grades.get(grade_id or "") or t.label("grade", grade_id)

    def rubric_title(name: str = "") -> str:
        return title or name or rubric

    return {"item_label": item_label, "grade_label": grade_label, "coaching": coaching_for(t),
            "rubric_title": rubric_title}


def coaching_for(t: Translator) -> Labeler:
    """coaching(item): the rubric's text for the item's verdict in t's language, else what it stored."""

    def coaching(item: dict[str, Any]) -> str:
        return coaching_text(item, t.lang) or str(item.get("feedback") or "")

    return coaching
