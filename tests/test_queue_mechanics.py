"""The durable job queue on real SQLite and real PostgreSQL: exclusive claims under concurrency,
requeue after a crash, retries with exponential backoff, bad audio failing at once."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from callscope.api import queue
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import Call, Job, User, utcnow
from tests.service_support import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        yield session_factory(engine)
        engine.dispose()


def _calls(sessions, n: int, audio: str = "audio/none.flac") -> list[int]:
    with sessions() as s:
        rep = User(email=f"rep{time.monotonic_ns()}@example.com", name="rep")
        s.add(rep)
        s.flush()
        ids = []
        for i in range(n):
            call = Call(
                rep_id=rep.id,
                audio_path=audio,
                sha256=f"{time.monotonic_ns():x}{i:08x}".ljust(64, "0"),
                size=1,
            )
            s.add(call)
            s.flush()
            queue.enqueue(s, call.id)
            ids.append(call.id)
        s.commit()
        return ids


def test_claims_are_exclusive_under_concurrency(db):
    _calls(db, 30)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while True:
            with db() as s:
                job = queue.claim(s, f"test:{os.getpid()}:{n}")
            if job is None:
                return
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(claimed) == 30 and len(set(claimed)) == 30
    with db() as s:
        jobs = list(s.scalars(select(Job)))
        assert {j.status for j in jobs} == {"processing"}
        assert all(j.attempts == 1 and j.claimed_by for j in jobs)
        assert {c.status for c in s.scalars(select(Call))} == {"processing"}


def test_jobs_left_in_processing_are_requeued(db):
    _calls(db, 3)
    with db() as s:
        dead = queue.claim(s, "thishost:999999999:0")  # a pid that cannot exist
        alive = queue.claim(s, f"thishost:{os.getpid()}:0")
        old = queue.claim(s, "otherhost:1:0")
        s.execute(update(Job).where(Job.id == old.id).values(claimed_at=utcnow() - timedelta(hours=1)))
        s.commit()
        assert queue.requeue_orphans(s, "thishost", queue.pid_alive, 3) == 1
        assert s.get(Job, dead.id, populate_existing=True).status == "queued"
        assert s.get(Call, dead.call_id, populate_existing=True).status == "queued"
        assert s.get(Job, alive.id, populate_existing=True).status == "processing"
        assert queue.requeue_stale(s, 3, queue.LEASE) == 1  # the other host's claim ran out
        assert s.get(Job, old.id, populate_existing=True).status == "queued"
        assert queue.requeue_stale(s, 3, lease=None) == 1  # a single-node restart: everything
        assert s.get(Job, alive.id, populate_existing=True).status == "queued"
        # and the requeued jobs can be claimed again
        assert queue.claim(s, "again:1:0") is not None


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.01)


def test_backoff_doubles_and_is_capped():
    assert [queue.backoff(n, 10).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert queue.backoff(30, 10).total_seconds() == queue.BACKOFF_MAX


def test_transient_failures_retry_with_backoff_then_fail(db, tmp_path):
    (call_id,) = _calls(db, 1)
    calls = []

    def flaky(path, options, settings):
        calls.append(path)
        raise RuntimeError("disk hiccup\nsecond line never shown")

    settings = Settings(data_dir=tmp_path, max_attempts=3)
    # a base of 1 s leaves a slow machine a full second between recording the failure and asking again
    pool = WorkerPool(db, settings, analyze_fn=flaky, backoff_base=1.0)

    def recorded_backoff() -> timedelta:
        """The job's wait as recorded at the failure (not as seen later, which a slow machine shortens)."""
        with db() as s:
            job = s.scalar(select(Job))
            _wait_until(job.next_attempt_at)
            return job.next_attempt_at - job.updated_at

    assert pool.run_once("w:1:0") == "queued"
    with db() as s:
        job = s.scalar(select(Job))
        call = s.get(Call, call_id)
        assert job.attempts == 1 and call.status == "queued" and call.error == "RuntimeError: disk hiccup"
        due = job.next_attempt_at
    assert utcnow() < due and pool.run_once("w:1:0") is None  # not due yet
    assert recorded_backoff() == timedelta(seconds=1.0)
    assert pool.run_once("w:1:0") == "queued"
    assert recorded_backoff() == timedelta(seconds=2.0)  # doubled
    assert pool.run_once("w:1:0") == "failed"
    with db() as s:
        job, call = s.scalar(select(Job)), s.get(Call, call_id)
        assert (job.status, job.attempts, call.status, call.attempts) == ("failed", 3, "failed", 3)
        assert call.error == "RuntimeError: disk hiccup"
    assert len(calls) == 3
    assert pool.run_once("w:1:0") is None


def test_corrupt_audio_fails_at_once_with_its_reason(db, tmp_path):
    """The real pipeline on a file that truly fails: a FLAC header followed by garbage."""
    audio = tmp_path / "audio" / "ab" / "corrupt.flac"
    audio.parent.mkdir(parents=True)
    audio.write_bytes(b"fLaC" + os.urandom(20000))
    (call_id,) = _calls(db, 1, audio="audio/ab/corrupt.flac")
    pool = WorkerPool(db, Settings(data_dir=tmp_path, max_attempts=3))
    assert pool.run_once("w:1:0") == "failed"
    with db() as s:
        call = s.get(Call, call_id)
        assert call.status == "failed" and call.attempts == 1
        assert call.error and "\n" not in call.error and "Error:" not in call.error.split(" ")[0]


def test_workers_threads_drain_the_queue(db, tmp_path):
    """A pool's threads pick up queued work, including work queued after they started."""
    done = []

    def failing_fast(path, options, settings):
        done.append(Path(path).name)
        from callscope.core.errors import InputError

        raise InputError("not audio")

    pool = WorkerPool(db, Settings(data_dir=tmp_path), concurrency=2, analyze_fn=failing_fast, poll_seconds=5)
    pool.start()
    try:
        _calls(db, 4)
        pool.wake()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(done) < 4:
            time.sleep(0.05)
    finally:
        pool.stop()
    with db() as s:
        assert [c.status for c in s.scalars(select(Call))] == ["failed"] * 4
        assert {c.error for c in s.scalars(select(Call))} == {"not audio"}


def test_a_job_whose_worker_died_at_every_attempt_ends_failed(db):
    """A recording that kills the process each time is not retried at every restart forever."""
    _calls(db, 2)
    with db() as s:
        spent = queue.claim(s, "thishost:999999999:0")
        fresh = queue.claim(s, "thishost:999999998:0")
        s.execute(update(Job).where(Job.id == spent.id).values(attempts=3))
        s.commit()
        assert queue.requeue_stale(s, 3, lease=None) == 2
        job = s.get(Job, spent.id, populate_existing=True)
        call = s.get(Call, spent.call_id, populate_existing=True)
        assert job.status == call.status == "failed"
        assert "stopped while analysing" in job.error and call.error == job.error
        assert s.get(Job, fresh.id, populate_existing=True).status == "queued"
