"""Celery as the distributed engine (CALLSCOPE_BROKER_URL = redis://... or amqp://...).

The database stays the record of every job (status, attempts, error; api.queue); a broker message
only says "look at job N". So:

- Publishing: a job queued in a transaction is published once it commits (a session after_commit
  hook on queue.enqueue's list hands it to the dispatcher's thread); jobs.dispatched_at notes when.
- Routing: kind analyze (ingest + ASR + the cheap rest, ~99.8 % of the time is ASR) goes to queue
  `asr`; every other kind (rescore and the other cheap work) to `analysis`. `callscope worker --queues
  asr` on GPU/CPU-heavy machines, `--queues analysis` on small ones (QUEUE names get
  CALLSCOPE_QUEUE_PREFIX in front on the broker).
- A task claims its job in the database (queue.claim_job, a conditional UPDATE), so a duplicate or
  late delivery does nothing: tasks are idempotent. Results are stored and the job marked done in
  one transaction, fenced on the claim (queue.complete): exactly one stored analysis per job.
- acks_late + reject_on_worker_lost + prefetch 1: a message is acknowledged only after its job ran;
  a worker killed mid-call leaves it unacknowledged and the broker delivers it again (RabbitMQ as
  soon as the connection drops; Redis once visibility_timeout, longer than the longest call, runs
  out). Sooner than that, every worker's sweeper releases the claims of dead processes on its host
  and of expired leases (queue.requeue_orphans / requeue_stale) and publishes again the queued jobs
  the broker may have lost (a Redis restart keeps nothing): those never published, and those
  published over redispatch_seconds ago when the broker holds fewer messages than the database has
  jobs waiting for that queue.
- A failure that will be retried is published again with the backoff as countdown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import timedelta
from queue import Empty, SimpleQueue
from typing import Any

from celery import Celery
from kombu import Queue
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from callscope.api import queue
from callscope.api.metrics import job_counts
from callscope.core.config import Settings
from callscope.models.orm import Job, utcnow

log = logging.getLogger("callscope.celery")
TASK = "callscope.run_job"
QUEUES = ("asr", "analysis")
SWEEP_SECONDS = float(os.environ.get("CALLSCOPE_SWEEP_SECONDS", "30"))


def broker_queue(settings: Settings, name: str) -> str:
    return f"{settings.queue_prefix}{name}"


def make_celery(settings: Settings) -> Celery:
    app = Celery("callscope", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_queues=[Queue(broker_queue(settings, q), routing_key=broker_queue(settings, q)) for q in QUEUES],
        task_default_queue=broker_queue(settings, "analysis"),
        task_acks_late=True,  # acknowledged after the job ran, not when received
        task_reject_on_worker_lost=True,  # a pool process that dies puts its message back
        worker_prefetch_multiplier=1,  # a worker holds one message per free slot, not a backlog
        task_ignore_result=True,  # the database holds every outcome
        task_serializer="json", accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )

    @app.task(name=TASK, ignore_result=True)
    def run_job_task(job_id: int) -> str:
        return _run(settings, int(job_id))

    return app


class Dispatcher:
    """Publishes jobs to the broker and notes when (jobs.dispatched_at)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 app: Celery | None = None) -> None:
        self.settings, self.sessions = settings, sessions
        self.app = app or make_celery(settings)
        self._outbox: SimpleQueue[list[tuple[int, str]]] = SimpleQueue()
        self._thread: threading.Thread | None = None

    def stop(self, timeout: float = 5.0) -> None:
        """Publish what is waiting in the outbox, then end the dispatcher's thread (what is left is
        the sweeper's: those jobs keep dispatched_at NULL)."""
        if self._thread is not None:
            self._outbox.put([])  # the end marker
            self._thread.join(timeout)
            self._thread = None

    def _drain(self) -> None:
        while True:
            jobs = self._outbox.get()
            if not jobs:
                return
            with contextlib.suppress(Empty):
                while len(jobs) < 500:  # what else is waiting goes out in the same round
                    more = self._outbox.get_nowait()
                    if not more:
                        self._outbox.put(more)  # the end marker: after this round
                        break
                    jobs = jobs + more
            try:
                self.publish(jobs)
            except Exception:  # noqa: BLE001 - the database is down: the sweeper publishes them later
                log.exception("publishing %d job(s) failed", len(jobs))

    def publish(self, jobs: list[tuple[int, str]], countdown: float | None = None) -> int:
        """Send each (job id, kind); returns how many went out. A broker that is down is logged, not
        raised: the jobs stay queued in the database and the sweeper publishes them later."""
        sent = []
        for job_id, kind in jobs:
            try:
                self.app.send_task(TASK, args=[job_id], countdown=countdown,
                                   queue=broker_queue(self.settings, queue.queue_of(kind)), retry=True,
                                   retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                 "interval_step": 0.5})
                sent.append(job_id)
            except Exception as err:  # noqa: BLE001 - kombu raises many kinds; the sweeper retries
                log.warning("broker unavailable, job %s stays queued for the sweeper: %s", job_id, err)
                break
        if sent:
            with self.sessions() as session:
                session.execute(update(Job).where(Job.id.in_(sent)).values(dispatched_at=utcnow()))
                session.commit()
        return len(sent)

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Publish what queue.enqueue queued in a session once its transaction commits. The commit
        only hands the jobs to this dispatcher's thread: a request never waits for the broker, and
        never takes a second database connection while holding one (50 uploads committing at once
        would otherwise each wait for a connection the others hold). Jobs a dying process had not
        published yet keep dispatched_at NULL, and the sweeper publishes them."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="callscope-dispatch", daemon=True)
            self._thread.start()

        @event.listens_for(sessions, "after_commit")
        def _published(session: Session) -> None:
            jobs = session.info.pop(queue.NEW_JOBS, None)
            if jobs:
                self._outbox.put(jobs)

        @event.listens_for(sessions, "after_soft_rollback")
        def _dropped(session: Session, _previous: Any) -> None:
            session.info.pop(queue.NEW_JOBS, None)

    def broker_depth(self) -> dict[str, int]:
        """Messages waiting in each broker queue (not counting those delivered and unacknowledged)."""
        depth = {}
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            channel = conn.default_channel
            for name in QUEUES:
                try:
                    depth[name] = channel.queue_declare(queue=broker_queue(self.settings, name),
                                                        passive=True).message_count
                except Exception:  # noqa: BLE001 - a queue nobody declared yet holds nothing
                    depth[name] = 0
                    channel = conn.channel()
        return depth

    def ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    def sweep(self) -> None:
        """Release dead and expired claims; publish again the queued jobs the broker may have lost."""
        settings = self.settings
        with self.sessions() as session:
            released = queue.requeue_orphans(session, socket.gethostname(), queue.pid_alive,
                                             settings.max_attempts)
            released += queue.requeue_stale(session, settings.max_attempts, queue.LEASE)
            if released:
                log.warning("released %d interrupted job(s)", released)
            now = utcnow()
            stale = now - timedelta(seconds=settings.redispatch_seconds)
            due = list(session.execute(
                select(Job.id, Job.kind, Job.dispatched_at)
                .where(Job.status == "queued", Job.next_attempt_at <= now,
                       or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale))
                .order_by(Job.next_attempt_at, Job.id).limit(1000)))
            waiting = {name: n for (name, _), n in job_counts(session, "queued").items()}
            session.commit()
        if not due:
            return
        never = [(j, k) for j, k, at in due if at is None]
        old = [(j, k, queue.queue_of(k)) for j, k, at in due if at is not None]
        again: list[tuple[int, str]] = []
        if old:
            try:
                depth = self.broker_depth()
            except Exception as err:  # noqa: BLE001
                log.warning("sweep: broker unavailable: %s", err)
                return
            for name in QUEUES:
                if depth.get(name, 0) < waiting.get(name, 0):  # the broker lost some of them
                    again += [(j, k) for j, k, q in old if q == name]
        if never or again:
            sent = self.publish(never + again)
            log.info("sweep: published %d job(s) again", sent)


# per process: the worker's settings, sessions, dispatcher and the claims its threads hold
_state: dict[str, Any] = {}
_active: dict[str, int] = {}
_active_lock = threading.Lock()


def _run(settings: Settings, job_id: int) -> str:
    from callscope.api.execution import run_claimed

    sessions, dispatcher = _state["sessions"], _state["dispatcher"]
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
    with sessions() as session:
        job = queue.claim_job(session, job_id, worker_id, settings.max_attempts, queue.pid_alive)
        if job is None:
            log.info("job %s: nothing to do (done, failed, not due, or running elsewhere)", job_id)
            return "skipped"
        with _active_lock:
            _active[worker_id] = job.id
        try:
            status = run_claimed(session, settings, job)
        finally:
            with _active_lock:
                _active.pop(worker_id, None)
        if status == "queued":
            with sessions() as s:
                retry_at = s.scalar(select(Job.next_attempt_at).where(Job.id == job_id))
            wait = max(0.0, (retry_at - utcnow()).total_seconds()) if retry_at else 0.0
            dispatcher.publish([(job.id, job.kind)], countdown=wait)
        return status


def _sweeper(dispatcher: Dispatcher, stop: threading.Event) -> None:
    while True:
        try:
            with _active_lock:
                held = dict(_active)
            with dispatcher.sessions() as session:
                for worker_id, job_id in held.items():
                    queue.renew(session, [job_id], worker_id)
            dispatcher.sweep()
        except Exception:  # noqa: BLE001 - a database or broker hiccup must not stop the sweeper
            log.exception("sweep failed")
        if stop.wait(SWEEP_SECONDS):
            return


def run_celery_worker(settings: Settings, queues: list[str], concurrency: int) -> None:
    """`callscope worker` with a broker: a Celery worker (thread pool: one model per process, shared
    under asr.model's decode lock) consuming these queues, plus the sweeper thread."""
    from callscope.models.db import engine_for, migrate, session_factory

    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise SystemExit(f"callscope worker: unknown queue(s) {', '.join(unknown)}; use asr, analysis")
    engine = engine_for(settings)
    migrate(engine)
    sessions = session_factory(engine)
    dispatcher = Dispatcher(settings, sessions)
    dispatcher.attach(sessions)  # jobs a task queues (none today) are published too
    _state.update(sessions=sessions, dispatcher=dispatcher)
    stop = threading.Event()
    threading.Thread(target=_sweeper, args=(dispatcher, stop), name="callscope-sweeper", daemon=True).start()
    log.info("celery worker %s:%d on %s, queues %s", socket.gethostname(), os.getpid(),
             engine.url.render_as_string(), ",".join(queues))
    try:
        dispatcher.app.worker_main([
            "worker", "--pool", "threads", "--concurrency", str(max(1, concurrency)),
            "--queues", ",".join(broker_queue(settings, q) for q in queues),
            "--hostname", f"callscope-{os.getpid()}@{socket.gethostname()}",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ])
    finally:
        stop.set()
        engine.dispose()
