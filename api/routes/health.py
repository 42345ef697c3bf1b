from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from callscope import __version__
from callscope.api.deps import SessionDep
from callscope.models.orm import Job

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict:
    """Liveness (no auth): the database answers; the queue's counts by status."""
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    return {"status": "ok", "version": __version__, "jobs": counts}
