"""The durable job queue, in the database: queued -> processing -> done | failed.

Claiming is a conditional UPDATE (status still 'queued'), so two workers never get the same job;
on PostgreSQL the candidate row is picked with SELECT ... FOR UPDATE SKIP LOCKED to avoid contention.
A worker renews its claim (claimed_at) while it works; a claim older than the lease belongs to a dead
worker and is requeued. Failures retry with exponential backoff up to max_attempts.

Fencing: a claim is (job id, claimed_by). complete, fail and _release change a job only while it is
still 'processing' under the claim they saw, so a worker whose lease ran out (and whose job another
worker took over) cannot overwrite the result of the worker that took over: its complete rolls back
the analysis it stored and reports the claim lost.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callscope.models.orm import Call, Job, utcnow

BACKOFF_BASE = 10.0  # seconds before the first retry; doubles each attempt
BACKOFF_MAX = 600.0
LEASE = timedelta(minutes=3)  # a claim not renewed for this long is a dead worker's


NEW_JOBS = "callscope_new_jobs"  # session.info key: (job id, kind) queued in this transaction


def enqueue(session: Session, call_id: int, kind: str = "analyze", rubric: str | None = None,
            rubric_version: int | None = None) -> Job:
    job = Job(call_id=call_id, kind=kind, rubric=rubric, rubric_version=rubric_version, status="queued",
              next_attempt_at=utcnow())
    session.add(job)
    session.flush()
    # the Celery engine publishes these once the transaction commits (api.celery_app)
    session.info.setdefault(NEW_JOBS, []).append((job.id, kind))
    return job


def kinds_of(queues: Iterable[str] | None):  # noqa: ANN201 - a SQL condition or None
    """The jobs a worker of these queues takes: asr = analyze (transcription, the heavy work),
    analysis = every other kind (re-scoring and the other cheap work). None: all."""
    wanted = set(queues or ()) or {"asr", "analysis"}
    if wanted >= {"asr", "analysis"}:
        return None
    return Job.kind == "analyze" if "asr" in wanted else Job.kind != "analyze"


def queue_of(kind: str) -> str:
    return "asr" if kind == "analyze" else "analysis"


def claim(session: Session, worker_id: str, queues: Iterable[str] | None = None) -> Job | None:
    """Atomically take the next due job (or None) and mark it processing; commits. queues: take only
    the jobs of these queues (kinds_of)."""
    now = utcnow()
    due = [Job.status == "queued", Job.next_attempt_at <= now]
    if (only := kinds_of(queues)) is not None:
        due.append(only)
    for _ in range(5):  # another worker may win the race for a candidate; try the next one
        candidate = session.scalar(
            select(Job.id).where(*due)
            .order_by(Job.next_attempt_at, Job.id).limit(1).with_for_update(skip_locked=True))
        if candidate is None:
            session.commit()
            return None
        job = _take(session, candidate, worker_id, now)
        session.commit()
        if job is not None:
            return job
    return None


def _take(session: Session, job_id: int, worker_id: str, now: datetime) -> Job | None:
    """The one claiming UPDATE: mark this job processing for worker_id if it is still queued (and its
    call, for an analysis). None when another worker won it. The caller commits."""
    won = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="processing", claimed_by=worker_id, claimed_at=now, attempts=Job.attempts + 1,
                updated_at=now)).rowcount
    if not won:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    job.held_by = worker_id  # the claim, kept apart from the row (a rollback reloads claimed_by)
    if job.kind == "analyze":
        session.execute(update(Call).where(Call.id == job.call_id)
                        .values(status="processing", attempts=job.attempts, updated_at=now))
    return job


def claim_job(session: Session, job_id: int, worker_id: str, max_attempts: int,
              is_alive: Callable[[int], bool] = lambda _: True, lease: timedelta = LEASE) -> Job | None:
    """Take this job (a broker delivered it) and mark it processing; commits. None, changing nothing,
    when it is not this worker's to run: done or failed already (a duplicate delivery), not due yet
    (its retry is published for later), or processing under a live claim. A claim whose process on
    this host is gone, or whose lease ran out, is released first (fenced, counting the attempt)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is not None and job.status == "processing":
        holder = job.claimed_by or ""
        parts = holder.split(":")
        dead = (len(parts) >= 3 and parts[0] == socket.gethostname() and parts[1].isdigit()
                and not is_alive(int(parts[1])))
        if dead or job.claimed_at is None or job.claimed_at < utcnow() - lease:
            _release(session, [job_id], max_attempts)
            job = session.get(Job, job_id, populate_existing=True)
    now = utcnow()
    if job is None or job.status != "queued" or job.next_attempt_at > now:
        session.commit()
        return None
    job = _take(session, job_id, worker_id, now)
    session.commit()
    return job


def renew(session: Session, job_ids: list[int], worker_id: str) -> None:
    """Heartbeat: keep this worker's claims fresh."""
    if job_ids:
        session.execute(update(Job).where(Job.id.in_(job_ids), Job.claimed_by == worker_id,
                                          Job.status == "processing").values(claimed_at=utcnow()))
        session.commit()


def requeue_stale(session: Session, max_attempts: int, lease: timedelta | None = LEASE) -> int:
    """Release jobs left in processing: all of them (lease None, a single-node start) or those whose
    claim was not renewed within lease. Returns how many (see _release)."""
    query = select(Job.id).where(Job.status == "processing")
    if lease is not None:
        query = query.where(Job.claimed_at < utcnow() - lease)
    return _release(session, list(session.scalars(query)), max_attempts)


def backoff(attempts: int, base: float = BACKOFF_BASE) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX, base * 2 ** max(0, attempts - 1)))


class ClaimLost(Exception):
    """The job is no longer this worker's (its lease ran out and another worker took it over)."""


def _held(job: Job):  # noqa: ANN202 - a SQL condition
    """The job is still processing under the claim this worker holds: the claim claim() handed out
    (job.held_by, a plain attribute a rollback does not reload), else the row's claimed_by as read."""
    holder = getattr(job, "held_by", None) or job.claimed_by
    return (Job.id == job.id) & (Job.status == "processing") & (Job.claimed_by == holder)


def complete(session: Session, job: Job) -> None:
    """Mark done (the caller has stored the results in the same session) and commit, if the claim
    still holds; otherwise roll back what the caller stored and raise ClaimLost."""
    now = utcnow()
    if not session.execute(update(Job).where(_held(job))
                           .values(status="done", error=None, claimed_by=None, updated_at=now)).rowcount:
        session.rollback()
        raise ClaimLost(f"job {job.id}: claim {getattr(job, 'held_by', None) or job.claimed_by} lost; "
                        "its result was discarded")
    if job.kind == "analyze":
        session.execute(update(Call).where(Call.id == job.call_id)
                        .values(status="done", error=None, updated_at=now))
    session.commit()


def fail(session: Session, job: Job, error: str, permanent: bool, max_attempts: int,
         base: float = BACKOFF_BASE) -> str:
    """Record a failure: back to the queue after a backoff, or failed for good. Returns the new status,
    or "lost" (nothing changed) when the claim no longer holds."""
    now = utcnow()
    attempts = session.scalar(select(Job.attempts).where(Job.id == job.id)) or job.attempts
    status = "failed" if permanent or attempts >= max_attempts else "queued"
    if not session.execute(update(Job).where(_held(job)).values(
            status=status, error=error, claimed_by=None, claimed_at=None, updated_at=now,
            next_attempt_at=now + backoff(attempts, base))).rowcount:
        session.rollback()
        return "lost"
    if job.kind == "analyze":
        # a call waiting for a retry reads as queued with the last error, so users see why
        session.execute(update(Call).where(Call.id == job.call_id)
                        .values(status=status, error=error, attempts=attempts, updated_at=now))
        if status == "failed":
            _call_failed(session, job.call_id, error)
    session.commit()
    return status


def requeue_orphans(session: Session, hostname: str, is_alive: Callable[[int], bool],
                    max_attempts: int) -> int:
    """Release jobs claimed by processes of this host that no longer run (a killed server or worker),
    without waiting for their lease to run out. Returns how many (see _release)."""
    orphans = []
    for job_id, claimed_by in session.execute(
            select(Job.id, Job.claimed_by)
            .where(Job.status == "processing", Job.claimed_by.like(f"{hostname}:%"))):
        pid = claimed_by.split(":")[1] if claimed_by.count(":") >= 2 else ""
        if pid.isdigit() and not is_alive(int(pid)):
            orphans.append(job_id)
    return _release(session, orphans, max_attempts)


def _release(session: Session, job_ids: list[int], max_attempts: int) -> int:
    """Jobs whose worker died: back to the queue, or failed for good once their attempts are spent,
    so a recording that kills the process each time it is analysed ends failed with a reason instead
    of being retried at every restart. Commits; returns how many jobs were released."""
    if not job_ids:
        session.commit()
        return 0
    now = utcnow()
    released = 0
    for job in list(session.scalars(select(Job).where(Job.id.in_(job_ids)))):
        spent = job.attempts >= max_attempts
        status = "failed" if spent else "queued"
        error = (f"the worker stopped while analysing this call, {job.attempts} times; "
                 "not retried again") if spent else job.error
        # fenced: only the claim we judged dead or stale (same holder, not renewed since)
        if not session.execute(update(Job).where(
                _held(job), Job.claimed_at == job.claimed_at if job.claimed_at is not None
                else Job.claimed_at.is_(None)).values(
                status=status, error=error, claimed_by=None, claimed_at=None, next_attempt_at=now,
                dispatched_at=None, updated_at=now)).rowcount:  # not published since: a sweeper sends it
            continue
        released += 1
        if job.kind == "analyze":
            session.execute(update(Call).where(Call.id == job.call_id, Call.status == "processing")
                            .values(status=status, error=error, updated_at=now))
            if spent:
                _call_failed(session, job.call_id, error)
    session.commit()
    return released


_failed_hooks: list[Callable[[Session, int, str], None]] = []


def on_call_failed(hook: Callable[[Session, int, str], None]) -> None:
    """Run hook(session, call id, error) in the transaction that fails a call for good (the webhook
    outbox's call.failed, api.events: installed by the app and the workers)."""
    if hook not in _failed_hooks:
        _failed_hooks.append(hook)


def _call_failed(session: Session, call_id: int, error: str) -> None:
    for hook in _failed_hooks:
        hook(session, call_id, error)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
