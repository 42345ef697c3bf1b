"""The durable job queue, in the database: queued -> processing -> done | failed.

Claiming is a conditional UPDATE (status still 'queued'), so two workers never get the same job;
on PostgreSQL the candidate row is picked with SELECT ... FOR UPDATE SKIP LOCKED to avoid contention.
A worker renews its claim (claimed_at) while it works; a claim older than the lease belongs to a dead
worker and is requeued. Failures retry with exponential backoff up to max_attempts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callscope.models.orm import Call, Job, utcnow

BACKOFF_BASE = 10.0  # seconds before the first retry; doubles each attempt
BACKOFF_MAX = 600.0
LEASE = timedelta(minutes=3)  # a claim not renewed for this long is a dead worker's


def enqueue(session: Session, call_id: int, kind: str = "analyze", rubric: str | None = None) -> Job:
    job = Job(call_id=call_id, kind=kind, rubric=rubric, status="queued", next_attempt_at=utcnow())
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker_id: str) -> Job | None:
    """Atomically take the next due job (or None) and mark it processing; commits."""
    now = utcnow()
    for _ in range(5):  # another worker may win the race for a candidate; try the next one
        candidate = session.scalar(
            select(Job.id).where(Job.status == "queued", Job.next_attempt_at <= now)
            .order_by(Job.next_attempt_at, Job.id).limit(1).with_for_update(skip_locked=True))
        if candidate is None:
            session.commit()
            return None
        won = session.execute(
            update(Job).where(Job.id == candidate, Job.status == "queued")
            .values(status="processing", claimed_by=worker_id, claimed_at=now, attempts=Job.attempts + 1,
                    updated_at=now)).rowcount
        if won:
            job = session.get(Job, candidate, populate_existing=True)
            if job.kind == "analyze":
                session.execute(update(Call).where(Call.id == job.call_id)
                                .values(status="processing", attempts=job.attempts, updated_at=now))
            session.commit()
            return job
        session.commit()
    return None


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


def complete(session: Session, job: Job) -> None:
    """Mark done (the caller has stored the results in the same session); commits."""
    now = utcnow()
    session.execute(update(Job).where(Job.id == job.id)
                    .values(status="done", error=None, claimed_by=None, updated_at=now))
    if job.kind == "analyze":
        session.execute(update(Call).where(Call.id == job.call_id)
                        .values(status="done", error=None, updated_at=now))
    session.commit()


def fail(session: Session, job: Job, error: str, permanent: bool, max_attempts: int,
         base: float = BACKOFF_BASE) -> str:
    """Record a failure: back to the queue after a backoff, or failed for good. Returns the new status."""
    now = utcnow()
    attempts = session.scalar(select(Job.attempts).where(Job.id == job.id)) or job.attempts
    status = "failed" if permanent or attempts >= max_attempts else "queued"
    session.execute(update(Job).where(Job.id == job.id).values(
        status=status, error=error, claimed_by=None, claimed_at=None, updated_at=now,
        next_attempt_at=now + backoff(attempts, base)))
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
    for job in session.scalars(select(Job).where(Job.id.in_(job_ids))):
        spent = job.attempts >= max_attempts
        status = "failed" if spent else "queued"
        error = (f"the worker stopped while analysing this call, {job.attempts} times; "
                 "not retried again") if spent else job.error
        session.execute(update(Job).where(Job.id == job.id).values(
            status=status, error=error, claimed_by=None, claimed_at=None, next_attempt_at=now,
            updated_at=now))
        if job.kind == "analyze":
            session.execute(update(Call).where(Call.id == job.call_id, Call.status == "processing")
                            .values(status=status, error=error, updated_at=now))
            if spent:
                _call_failed(session, job.call_id, error)
    session.commit()
    return len(job_ids)


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
