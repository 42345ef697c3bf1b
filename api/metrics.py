"""Prometheus metrics (prometheus-client): GET /metrics on the service; `callscope worker --metrics
PORT` serves a worker process's own.

What a process did (its own counters and histograms): jobs finished by kind and outcome, calls
processed and failed, processing seconds by stage (ingest, asr, nlp, scoring), the real-time factor
(processing seconds / audio seconds), HTTP latency by route; under `callscope serve --processes N`
those of all N processes together (prometheus-client's multiprocess mode, its files in the data dir's
metrics/). What the database and broker hold (read
at each scrape, so they count every worker): calls by status, jobs waiting and running per queue
(asr, analysis), and with Celery the messages waiting in each broker queue.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from callscope.models.orm import Call, Job

log = logging.getLogger("callscope.metrics")

JOBS = Counter("callscope_jobs_finished", "Jobs finished by this process, by kind and outcome "
               "(done, failed, retried, lost)", ["kind", "outcome"])
CALLS_PROCESSED = Counter("callscope_calls_processed", "Calls analysed (done) by this process")
CALLS_FAILED = Counter("callscope_calls_failed", "Call analyses that failed (for good, or before a retry) "
                       "in this process")
JOB_SECONDS = Histogram("callscope_job_seconds", "Wall seconds of a job, by kind", ["kind"],
                        buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600))
STAGE_SECONDS = Histogram("callscope_stage_seconds", "Processing seconds of a call by pipeline stage",
                          ["stage"],
                          buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800))
REAL_TIME_FACTOR = Histogram("callscope_real_time_factor", "Processing seconds per audio second of a call",
                             buckets=(0.02, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2))
HTTP_SECONDS = Histogram("callscope_http_request_duration_seconds", "HTTP request latency by route",
                         ["method", "route", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def job_finished(kind: str, outcome: str, seconds: float) -> None:
    JOBS.labels(kind, outcome).inc()
    JOB_SECONDS.labels(kind).observe(seconds)
    if kind == "analyze":
        if outcome == "done":
            CALLS_PROCESSED.inc()
        elif outcome in ("failed", "retried"):
            CALLS_FAILED.inc()


def analysis_measured(timings: dict[str, float], audio_seconds: float) -> None:
    """A finished analysis: its stage timings and real-time factor."""
    for stage, seconds in timings.items():
        STAGE_SECONDS.labels(stage).observe(max(0.0, float(seconds)))
    if audio_seconds and audio_seconds > 0 and timings:
        REAL_TIME_FACTOR.observe(sum(timings.values()) / audio_seconds)


def job_counts(session: Session, status: str | None = None) -> dict[tuple[str, str], int]:
    """(queue, status) -> jobs (queues as api.queue.queue_of routes the kinds)."""
    from callscope.api.queue import queue_of

    query = select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    if status is not None:
        query = query.where(Job.status == status)
    counts: dict[tuple[str, str], int] = {}
    for kind, job_status, n in session.execute(query):
        key = (queue_of(kind), job_status)
        counts[key] = counts.get(key, 0) + n
    return counts


class StoreCollector:
    """Gauges read from the database (and the broker) at scrape time."""

    def __init__(self, sessions: sessionmaker[Session],
                 broker_depth: Callable[[], dict[str, int]] | None = None) -> None:
        self.sessions, self.broker_depth = sessions, broker_depth

    def collect(self) -> Any:
        waiting = GaugeMetricFamily("callscope_queue_depth", "Jobs waiting (queued) per queue",
                                    labels=["queue"])
        running = GaugeMetricFamily("callscope_jobs_running", "Jobs being processed per queue",
                                    labels=["queue"])
        calls = GaugeMetricFamily("callscope_calls", "Calls by status (every process)", labels=["status"])
        try:
            with self.sessions() as session:
                counts = job_counts(session)
                by_status = dict(session.execute(select(Call.status, func.count())
                                                 .group_by(Call.status)).all())
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database does not
            log.exception("metrics: database unavailable")
            return
        for name in ("asr", "analysis"):
            waiting.add_metric([name], counts.get((name, "queued"), 0))
            running.add_metric([name], counts.get((name, "processing"), 0))
        for status in ("queued", "processing", "done", "failed"):
            calls.add_metric([status], by_status.get(status, 0))
        yield from (waiting, running, calls)
        if self.broker_depth is not None:
            broker = GaugeMetricFamily("callscope_broker_queue_depth",
                                       "Messages waiting in the broker's queue", labels=["queue"])
            try:
                for name, depth in self.broker_depth().items():
                    broker.add_metric([name], depth)
            except Exception:  # noqa: BLE001
                log.warning("metrics: broker unavailable")
                return
            yield broker


def exposition(store: CollectorRegistry | None) -> bytes:
    """This process's metrics (under `callscope serve --processes N`: every process's, summed from
    prometheus-client's files in PROMETHEUS_MULTIPROC_DIR), then the store's gauges."""
    own = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own = CollectorRegistry()
        multiprocess.MultiProcessCollector(own)
    return generate_latest(own) + (generate_latest(store) if store is not None else b"")


def store_registry(sessions: sessionmaker[Session],
                   broker_depth: Callable[[], dict[str, int]] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(sessions, broker_depth))
    return registry


def serve(address: str) -> None:
    """A worker's own /metrics on PORT or HOST:PORT (default host 127.0.0.1), in a thread."""
    from prometheus_client import start_http_server

    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1")
    log.info("metrics on http://%s:%s/metrics", host or "127.0.0.1", port)
