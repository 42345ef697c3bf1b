from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from callscope import __version__
from callscope.api.deps import SessionDep
from callscope.api.metrics import job_counts
from callscope.api.responses import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health,
            responses={503: {"model": Health, "description": "the database or the broker does not answer"}})
def healthz(session: SessionDep, request: Request) -> JSONResponse:
    """Health (no auth): the database answers; the broker answers (Celery engine); jobs by status
    (`jobs`) and waiting per queue (`queues`: asr, analysis; with Celery also the broker's count).
    503 when the database or the broker does not answer."""
    checks: dict = {}
    healthy = True
    try:
        session.execute(text("SELECT 1"))
        counts = job_counts(session)
        checks["database"] = {"status": "ok", "dialect": session.get_bind().dialect.name}
    except Exception as err:  # noqa: BLE001 - reported, not raised
        counts, healthy = {}, False
        checks["database"] = {"status": "down", "error": type(err).__name__}
    jobs: dict[str, int] = {}
    for (_, status), n in counts.items():
        jobs[status] = jobs.get(status, 0) + n
    queues = {name: {"queued": counts.get((name, "queued"), 0),
                     "processing": counts.get((name, "processing"), 0)} for name in ("asr", "analysis")}
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is None:
        checks["broker"] = {"status": "none", "engine": "embedded"}
    else:
        try:
            for name, depth in dispatcher.broker_depth().items():
                queues[name]["broker"] = depth
            checks["broker"] = {"status": "ok", "engine": "celery",
                                "transport": dispatcher.app.conf.broker_url.split(":", 1)[0]}
        except Exception as err:  # noqa: BLE001
            healthy = False
            checks["broker"] = {"status": "down", "engine": "celery", "error": type(err).__name__}
    body = {"status": "ok" if healthy else "degraded", "version": __version__, "jobs": jobs,
            "queues": queues, **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
