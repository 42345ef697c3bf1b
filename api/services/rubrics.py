"""Coaching rubrics: stored ones (PUT /rubrics/{name}) shadow the built-in ones of the same name.

The pipeline takes a rubric name or path, so a stored rubric is written once per version to
data_dir/rubrics/ and scored from there.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callscope.api.services.results import id_batches
from callscope.core.config import Settings
from callscope.core.errors import RubricError
from callscope.models.orm import (
    Call,
    Job,
    RescoreBatch,
    RubricRecord,
    RubricVersion,
    ScorecardRecord,
    Team,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from callscope.api.deps import Principal

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


def check_name(name: str) -> str:
    if not name or not set(name.lower()) <= _NAME_OK or name.startswith("."):
        raise RubricError("rubric name: use letters, digits, '-', '_' or '.'")
    return name


def parse_body(body: str, name: str) -> tuple[dict[str, Any], str]:
    """A rubric body as sent (YAML or JSON) -> (dict, content hash), validated by scoring's loader."""
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
    return data, load_rubric(data).version  # raises RubricError naming the bad field


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
    """Validate and store a new version (kept with who, when and the diff from the one before); the
    caller commits and queues re-scoring."""
    check_name(name)
    data, content_hash = parse_body(body, name)
    text = body if body.strip() else json.dumps(data, ensure_ascii=False)
    row = stored(session, name)
    previous = row.body if row is not None else (builtin_body(name) or "")
    if row is None:
        row = RubricRecord(name=name, body=text, version=1, updated_by=actor)
        session.add(row)
    else:
        row.body, row.version, row.updated_by, row.updated_at = text, row.version + 1, actor, utcnow()
    diff = "".join(difflib.unified_diff(previous.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"{name} v{row.version - 1}", f"{name} v{row.version}"))
    session.add(RubricVersion(name=name, version=row.version, body=text, content_hash=content_hash,
                              diff=diff, created_by=actor))
    session.flush()
    return row


def versions_of(session: Session, name: str) -> list[RubricVersion]:
    return list(session.scalars(select(RubricVersion).where(RubricVersion.name == name)
                                .order_by(RubricVersion.version.desc())))


def version_of(session: Session, name: str, version: int) -> RubricVersion | None:
    return session.scalar(select(RubricVersion).where(RubricVersion.name == name,
                                                      RubricVersion.version == version))


def version_to_dict(row: RubricVersion, with_body: bool = False) -> dict[str, Any]:
    out = {"name": row.name, "version": row.version, "content_hash": row.content_hash,
           "created_by": row.created_by, "created_at": row.created_at.isoformat(), "diff": row.diff}
    if with_body:
        out["body"] = row.body
    return out


def current_version(session: Session, name: str) -> int:
    """The newest stored version of rubric name; 0 where only the built-in one exists."""
    row = stored(session, name)
    return row.version if row is not None else 0


def rubric_ref(session: Session, settings: Settings, name: str, version: int | None = None
               ) -> tuple[str, int]:
    """What to hand the pipeline for rubric name at version (default the newest), and that version:
    a file of a stored version, or the built-in name (version 0)."""
    version = current_version(session, name) if version is None else version
    if not version:
        return name, 0
    row = version_of(session, name, version)
    if row is None:
        raise RubricError(f"rubric {name} has no version {version}")
    body = row.body
    folder = Path(settings.data_dir) / "rubrics"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.v{version}.yaml"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(yaml.safe_load(body), allow_unicode=True), encoding="utf-8")
        tmp.replace(path)
    return str(path), version


def team_rubric(session: Session, settings: Settings, rep_id: int | None) -> str:
    """The rubric a rep's calls are scored on: their team's, else the service's default."""
    if rep_id is None:
        return settings.rubric
    assigned = session.scalar(select(Team.rubric).join(User, User.team_id == Team.id)
                              .where(User.id == rep_id))
    return assigned or settings.rubric


def create_batch(session: Session, principal: Principal, name: str, version: int, team: Team | None,
                 start: datetime | None, end: datetime | None) -> RescoreBatch:
    """Queue a rescore job, pinned to the version, for every analysed call of the period (of the team,
    within what the principal may see). The caller commits."""
    from callscope.api import queue

    stmt = principal.scope_calls(select(Call.id).where(Call.status == "done"))
    if team is not None:
        stmt = stmt.where(Call.rep_id.in_(select(User.id).where(User.team_id == team.id)))
    if start is not None:
        stmt = stmt.where(Call.started_at >= start)
    if end is not None:
        stmt = stmt.where(Call.started_at <= end)
    call_ids = list(session.scalars(stmt.order_by(Call.started_at, Call.id)))
    jobs = [queue.enqueue(session, call_id, "rescore", rubric=name, rubric_version=version)
            for call_id in call_ids]
    batch = RescoreBatch(rubric=name, version=version, team_id=team.id if team else None, period_start=start,
                         period_end=end, job_ids=[j.id for j in jobs], created_by=principal.label)
    session.add(batch)
    session.flush()
    return batch


def batch_to_dict(session: Session, batch: RescoreBatch) -> dict[str, Any]:
    """The batch with its progress, counted from its jobs (a deleted call's job counts as gone)."""
    counts = {"queued": 0, "processing": 0, "done": 0, "failed": 0}
    ids = list(batch.job_ids or [])
    for chunk in id_batches(ids):
        for status, n in session.execute(select(Job.status, func.count()).where(Job.id.in_(chunk))
                                          .group_by(Job.status)):
            counts[status] = counts.get(status, 0) + n
    gone = len(ids) - sum(counts.values())
    finished = counts["done"] + counts["failed"] + gone
    return {"id": batch.id, "rubric": batch.rubric, "version": batch.version, "team_id": batch.team_id,
            "from": batch.period_start.isoformat() if batch.period_start else None,
            "to": batch.period_end.isoformat() if batch.period_end else None,
            "status": "done" if finished == len(ids) else "running",
            "total": len(ids), **counts, "gone": gone,
            "progress": round(finished / len(ids), 3) if ids else 1.0,
            "created_by": batch.created_by, "created_at": batch.created_at.isoformat()}


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
