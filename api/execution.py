"""Running one claimed job and recording its outcome: shared by the embedded queue's threads
(api.worker) and the Celery tasks (api.celery_app)."""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from callscope.api import metrics, queue
from callscope.api.logs import job_context
from callscope.api.services.processing import AnalyzeFn, run_job
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError, ModelError
from callscope.models.orm import Call, Job

log = logging.getLogger("callscope.worker")


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return text if isinstance(err, CallscopeError) else f"{type(err).__name__}: {text}".rstrip(": ")


def _events_of_job(session: Session, settings: Settings, job: Job) -> None:
    """The job's events (api.events) into the outbox, committed with its results, and the call's rep-day
    roll-up. A bug in making them must not fail the analysis: each is made in a savepoint, dropped
    with a log line."""
    from callscope.api import events
    from callscope.api.services import rollups

    call = session.get(Call, job.call_id)
    if call is None:
        return
    try:
        with session.begin_nested():
            call.status = "done"  # what queue.complete commits with it: the roll-up counts the call
            rollups.refresh_call(session, settings, call)
    except Exception:  # noqa: BLE001
        log.exception("job %s: roll-up not refreshed", job.id)
    try:
        with session.begin_nested():
            events.call_analyzed(session, settings, call, job.kind)
    except Exception:  # noqa: BLE001
        log.exception("job %s: events not made", job.id)


def run_claimed(session: Session, settings: Settings, job: Job, analyze_fn: AnalyzeFn | None = None,
                backoff_base: float = queue.BACKOFF_BASE) -> str:
    """Run a job this worker has claimed and record the outcome (fenced, see api.queue): "done", the
    status a failure leaves ("queued" for a retry, "failed"), or "lost" when the claim ran out and
    another worker took the job over. Every log line of the job carries its call id (api.logs)."""
    with job_context(job.call_id, job.id):
        started = time.perf_counter()
        try:
            run_job(session, settings, job, analyze_fn)
            _events_of_job(session, settings, job)
            queue.complete(session, job)
            log.info("job %s (%s) done", job.id, job.kind)
            metrics.job_finished(job.kind, "done", time.perf_counter() - started)
            return "done"
        except queue.ClaimLost as err:
            log.warning("%s", err)
            metrics.job_finished(job.kind, "lost", time.perf_counter() - started)
            return "lost"
        except Exception as err:  # noqa: BLE001 - every failure is recorded on the job
            session.rollback()
            permanent = isinstance(err, CallscopeError) and not isinstance(err, ModelError)
            if not isinstance(err, CallscopeError):
                log.exception("job %s failed", job.id)
            status = queue.fail(session, job, _one_line(err), permanent, settings.max_attempts, backoff_base)
            metrics.job_finished(job.kind, "failed" if status == "failed" else "retried",
                                 time.perf_counter() - started)
            if status == "lost":
                log.warning("job %s: claim lost; its failure was not recorded", job.id)
            else:
                log.warning("job %s %s: %s", job.id, status, _one_line(err))
            return status
