"""`callscope serve`: uvicorn on the app, SQLite and audio under the data dir unless configured.

With --processes N (CALLSCOPE_SERVE_PROCESSES) above 1, uvicorn's supervisor runs N worker processes
on one socket (each its own GIL: a slow evaluation no longer queues every other request behind it) and
restarts one that dies. This process migrates the database and seeds the demo once before they start
(two processes migrating a fresh database race); each child builds the app from the CALLSCOPE_
variables (shared_app), and one of them at a time runs the background work (api.background).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

from fastapi import FastAPI

from callscope.core.config import Settings

METRICS_DIR = "metrics"  # under the data dir: prometheus-client's files, one per process
# uvicorn's supervisor kills a worker that does not answer its ping within this many seconds; its
# default, 5 s, killed and replaced both workers while they were still importing on a 2-core machine at
# load 12 (measured 2026-12-01), and a false kill of the background worker restarts its job from scratch
HEALTHCHECK_SECONDS = 30


def run_server(settings: Settings, host: str, port: int, demo: bool) -> None:
    import uvicorn

    from callscope.api.logs import setup_logging

    setup_logging(settings)  # call and job ids on every line of a job's processing (api.logs)
    processes = max(1, settings.serve_processes)
    engine = f"celery on {settings.broker_url.split(':', 1)[0]}" if settings.broker_url else settings.workers
    where = settings.database_url.split("@")[-1] if settings.database_url else settings.resolved_database_url
    # with the access log on, its lines go through api.logs.QueryValueFilter (installed by create_app)
    options = {"host": host, "port": port, "log_level": "info" if settings.access_log else "warning",
               "access_log": settings.access_log}
    if processes == 1:
        from callscope.api.app import create_app

        app = create_app(settings, demo=demo)
        _announce(host, port, settings, where, engine, processes)
        uvicorn.run(app, **options)
        return
    _prepare(settings, demo)
    os.environ.update(settings.to_env())  # the children are spawned: they read their settings from it
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_metrics_dir(settings)))
    _announce(host, port, settings, where, engine, processes)
    from uvicorn.supervisors import Multiprocess

    # uvicorn.run's branch for workers, but with a listener that says it is TCP (uvicorn#3149):
    # uvicorn binds it with proto 0, the connections accepted inherit that, and asyncio then leaves
    # Nagle's algorithm on: each keep-alive response waited on the client's delayed ACK, 40 ms (measured
    # here: healthz 48 ms with 2 processes, 6 ms with 1)
    config = uvicorn.Config("callscope.api.server:shared_app", factory=True, workers=processes,
                            timeout_worker_healthcheck=HEALTHCHECK_SECONDS, **options)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl+C stops them, no traceback
        Multiprocess(config, sockets=[tcp_listener(config.bind_socket())]).run()


def tcp_listener(bound: socket.socket) -> socket.socket:
    """bound, as a socket whose proto is IPPROTO_TCP (what asyncio checks before TCP_NODELAY)."""
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    return listener


def shared_app() -> FastAPI:
    """The app of one of the processes of `callscope serve --processes N` (uvicorn calls this in each)."""
    from callscope.api.app import create_app
    from callscope.api.logs import setup_logging

    settings = Settings.from_env()
    setup_logging(settings)
    return create_app(settings, shared=True)


def _prepare(settings: Settings, demo: bool) -> None:
    """What runs once, before the processes start: migrations, the demo's data, an empty metrics dir
    (the counters of an earlier run's processes would otherwise be summed into this one's)."""
    from callscope.models.db import engine_for, migrate, session_factory

    engine = engine_for(settings)
    try:
        migrate(engine)
        if demo:
            from callscope.api.demo import seed_demo

            seed_demo(session_factory(engine), settings)
    finally:
        engine.dispose()
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        folder = _metrics_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob("*.db"):
            leftover.unlink(missing_ok=True)


def _metrics_dir(settings: Settings) -> Path:
    return (Path(settings.data_dir) / METRICS_DIR).resolve()


def _announce(host: str, port: int, settings: Settings, where: str, engine: object, processes: int) -> None:
    print(f"callscope: serving http://{host}:{port}/ (API docs: /docs); data: {settings.data_dir}; "
          f"database: {where}; workers: {engine}; processes: {processes}", file=sys.stderr, flush=True)
