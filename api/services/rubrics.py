"""Coaching rubrics: stored ones (PUT /rubrics/{name}) shadow the built-in ones of the same name.

The pipeline takes a rubric name or path, so a stored rubric is written once per version to
data_dir/rubrics/ and scored from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callscope.api.services.results import id_batches
from callscope.core.config import Settings
from callscope.core.errors import RubricError
from callscope.models.orm import Call, RubricRecord, ScorecardRecord, utcnow

if TYPE_CHECKING:
    from callscope.api.deps import Principal

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


def check_name(name: str) -> str:
    if not name or not set(name.lower()) <= _NAME_OK or name.startswith("."):
        raise RubricError("rubric name: use letters, digits, '-', '_' or '.'")
    return name


def parse_body(body: str, name: str) -> dict[str, Any]:
    """A rubric body as sent (YAML or JSON) -> dict, validated by scoring's loader."""
    from callscope.scoring import load_rubric

    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise RubricError(f"rubric is not valid YAML or JSON: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise RubricError("rubric must be a mapping with its items")
    data.setdefault("name", name)
    if data["name"] != name:
        raise RubricError(f"name: {data['name']!r} differs from the rubric's name in the URL ({name!r})")
    load_rubric(data)  # raises RubricError naming the bad field
    return data


def stored(session: Session, name: str) -> RubricRecord | None:
    return session.scalar(select(RubricRecord).where(RubricRecord.name == name))


def builtin_body(name: str) -> str | None:
    """The text of a built-in rubric, or None."""
    import importlib.util

    # no import: the package's own imports are not needed here. The installed name: a bare "scoring"
    # is found only where the repository root is on sys.path (python -c), never in `callscope serve`
    spec = importlib.util.find_spec("callscope.scoring")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).resolve()
    for folder in (base / "data" / "rubrics", base / "rubrics", base / "data"):
        for ext in (".yaml", ".yml", ".json"):
            path = folder / f"{name}{ext}"
            if path.is_file():
                return path.read_text(encoding="utf-8")
    return None


def get_rubric(session: Session, name: str) -> dict[str, Any] | None:
    check_name(name)
    row = stored(session, name)
    if row is not None:
        return {"name": name, "source": "stored", "version": row.version, "updated_by": row.updated_by,
                "updated_at": row.updated_at.isoformat(), "body": row.body,
                "rubric": yaml.safe_load(row.body)}
    body = builtin_body(name)
    if body is None:
        return None
    return {"name": name, "source": "builtin", "version": 0, "updated_by": "", "updated_at": None,
            "body": body, "rubric": yaml.safe_load(body)}


def put_rubric(session: Session, name: str, body: str, actor: str) -> RubricRecord:
    """Validate and store (a new version); the caller commits and queues re-scoring."""
    check_name(name)
    data = parse_body(body, name)
    text = body if body.strip() else json.dumps(data, ensure_ascii=False)
    row = stored(session, name)
    if row is None:
        row = RubricRecord(name=name, body=text, version=1, updated_by=actor)
        session.add(row)
    else:
        row.body, row.version, row.updated_by, row.updated_at = text, row.version + 1, actor, utcnow()
    session.flush()
    return row


def rubric_ref(session: Session, settings: Settings, name: str) -> str:
    """What to hand the pipeline for rubric name: a file of the stored version, or the built-in name."""
    row = stored(session, name)
    if row is None:
        return name
    folder = Path(settings.data_dir) / "rubrics"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.v{row.version}.yaml"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(yaml.safe_load(row.body), allow_unicode=True), encoding="utf-8")
        tmp.replace(path)
    return str(path)


def calls_scored_with(session: Session, name: str) -> list[int]:
    """Analysed calls whose current scorecard was made with rubric name."""
    latest = select(func.max(ScorecardRecord.id)).group_by(ScorecardRecord.call_id)
    return list(session.scalars(
        select(ScorecardRecord.call_id)
        .where(ScorecardRecord.id.in_(latest), ScorecardRecord.rubric == name,
               ScorecardRecord.call_id.in_(select(Call.id).where(Call.status == "done")))))


def outside_scope(session: Session, principal: Principal, call_ids: list[int]) -> bool:
    """Whether any of these calls is one the principal may not see (another team's)."""
    visible: set[int] = set()
    for batch in id_batches(call_ids):
        visible.update(session.scalars(principal.scope_calls(select(Call.id).where(Call.id.in_(batch)))))
    return len(visible) < len(set(call_ids))
