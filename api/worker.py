"""Job workers: threads inside `callscope serve`, or `callscope worker` processes sharing a database.

Each worker loops: claim a due job, run it, mark it done or failed (see api.queue for the rules).
A heartbeat renews the claims of running jobs and requeues claims whose worker died.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading

from sqlalchemy.orm import Session, sessionmaker

from callscope.api import queue
from callscope.api.execution import run_claimed
from callscope.api.services.processing import AnalyzeFn
from callscope.core.config import Settings
from callscope.models.db import engine_for, migrate, session_factory

log = logging.getLogger("callscope.worker")
HEARTBEAT_SECONDS = 30.0


class WorkerPool:
    """concurrency threads claiming jobs from the database until stop()."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, concurrency: int = 1,
                 analyze_fn: AnalyzeFn | None = None, poll_seconds: float = 1.0,
                 backoff_base: float = queue.BACKOFF_BASE, queues: list[str] | None = None) -> None:
        self.sessions, self.settings = sessions, settings
        self.queues = queues  # None: every job; ["asr"] / ["analysis"]: those of api.queue.kinds_of
        self.concurrency = max(1, concurrency)
        self.analyze_fn, self.poll_seconds, self.backoff_base = analyze_fn, poll_seconds, backoff_base
        self.node = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._active: dict[str, int] = {}  # worker id -> job id
        self._frozen = False  # gc.freeze() done after the first job
        self._threads: list[threading.Thread] = []
        from callscope.api.events import call_failed

        queue.on_call_failed(call_failed)

    def start(self) -> None:
        for i in range(self.concurrency):
            t = threading.Thread(target=self._loop, args=(f"{self.node}:{i}",), name=f"callscope-worker-{i}",
                                 daemon=True)
            t.start()
            self._threads.append(t)
        hb = threading.Thread(target=self._heartbeat, name="callscope-heartbeat", daemon=True)
        hb.start()
        self._threads.append(hb)

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    def run_once(self, worker_id: str) -> str | None:
        """Claim and run one job; returns its new status, or None when nothing was due."""
        with self.sessions() as session:
            job = queue.claim(session, worker_id, self.queues)
            if job is None:
                return None
            self._active[worker_id] = job.id
            try:
                status = run_claimed(session, self.settings, job, self.analyze_fn, self.backoff_base)
                if status == "done" and not self._frozen:
                    # the first job loaded jieba's dictionary and the classifiers for good: keep the
                    # garbage collector from walking them on every full collection (API latency)
                    gc.freeze()
                    self._frozen = True
                return status
            finally:
                self._active.pop(worker_id, None)

    def _loop(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                status = self.run_once(worker_id)
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.exception("worker %s: queue error", worker_id)
                status = None
            if status is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.sessions() as session:
                    for worker_id, job_id in list(self._active.items()):
                        queue.renew(session, [job_id], worker_id)
                    queue.requeue_stale(session, self.settings.max_attempts, queue.LEASE)
            except Exception:  # noqa: BLE001
                log.exception("heartbeat failed")


def run_worker(settings: Settings, concurrency: int, queues: list[str] | None = None,
               metrics_port: int = 0) -> None:
    """`callscope worker`: claim jobs from the shared database until SIGINT/SIGTERM; with
    CALLSCOPE_BROKER_URL set, a Celery worker of those queues instead (api.celery_app)."""
    from callscope.api.logs import setup_logging

    setup_logging(settings)
    if metrics_port:
        from callscope.api import metrics

        metrics.serve(metrics_port)
    if settings.broker_url:
        from callscope.api.celery_app import run_celery_worker

        run_celery_worker(settings, queues or ["asr", "analysis"], concurrency)
        return
    engine = engine_for(settings)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        queue.requeue_stale(session, settings.max_attempts, queue.LEASE)
    pool = WorkerPool(sessions, settings, concurrency, queues=queues)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    pool.start()
    log.info("worker %s: %d thread(s) on %s", pool.node, pool.concurrency, engine.url.render_as_string())
    done.wait()
    pool.stop()
    engine.dispose()
