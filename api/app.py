"""The FastAPI application: /api/v1 routes, OpenAPI at /docs, the web pages, in-process workers."""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from callscope import __version__
from callscope.api import metrics, queue, web
from callscope.api.background import LOCK_NAME, BackgroundLock
from callscope.api.crm import install_hooks, start_crm
from callscope.api.errors import install_error_handlers
from callscope.api.logs import install_access_log_filter
from callscope.api.responses import ERROR_RESPONSES
from callscope.api.routes import calls, health, notifications, ops, people, rubrics, teams, webhooks
from callscope.api.routes import privacy as privacy_routes
from callscope.api.services.processing import AnalyzeFn
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.models.db import engine_for, migrate, session_factory

log = logging.getLogger("callscope.api")
API_PREFIX = "/api/v1"
ABANDONED_UPLOAD_SECONDS = 24 * 3600  # another server sharing the data dir may still be receiving it


def _recover_jobs(app: FastAPI, settings: Settings) -> None:
    """Jobs a killed process left in processing go back to the queue (nothing is lost); uploads a
    killed process was receiving are dropped once surely abandoned."""
    cutoff = time.time() - ABANDONED_UPLOAD_SECONDS
    for part in (Path(settings.data_dir) / "tmp").glob("*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()
    with app.state.sessions() as session:
        if app.state.engine.dialect.name == "sqlite" and not settings.broker_url:
            # a SQLite file has one server: every claim is ours
            count = queue.requeue_stale(session, settings.max_attempts, lease=None)
        else:
            count = queue.requeue_orphans(session, socket.gethostname(), queue.pid_alive,
                                          settings.max_attempts)
            count += queue.requeue_stale(session, settings.max_attempts, queue.LEASE)
    if count:
        log.warning("released %d interrupted job(s)", count)


def create_app(settings: Settings | None = None, start_workers: bool = True, demo: bool = False,
               analyze_fn: AnalyzeFn | None = None, shared: bool = False) -> FastAPI:
    """The app. Workers start with it unless start_workers is False (a `callscope worker` does the jobs).
    shared: one of the processes of `callscope serve --processes N` (api.server): the parent migrated
    the database and seeded the demo; the background work runs in whichever process holds the data
    dir's lock (api.background)."""
    settings = settings or Settings.from_env()
    install_hooks()
    install_access_log_filter()  # no query value (a search term, a phone) in uvicorn's access log

    def start_background(app: FastAPI) -> None:
        # the steps that touch the database first, then the threads (api.background retries a failure)
        _recover_jobs(app, settings)
        app.state.webhooks = start_crm(app.state.sessions, settings)  # webhook deliveries, risk sweep
        if start_workers and settings.workers > 0 and not settings.broker_url:
            pool = WorkerPool(app.state.sessions, settings, settings.workers, analyze_fn=analyze_fn)
            pool.start()
            app.state.pool = pool
        privacy_routes.start(app)  # file deletions, erasure jobs, retention (issue 17)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_for(settings)
        if not shared:
            migrate(engine)
        app.state.engine, app.state.sessions = engine, session_factory(engine)
        app.state.dispatcher = None
        if settings.broker_url:  # the Celery engine: jobs go to the broker, `callscope worker`s run them
            from callscope.api.celery_app import Dispatcher

            # one per process: it only publishes what this process's requests queued
            app.state.dispatcher = Dispatcher(settings, app.state.sessions)
            app.state.dispatcher.attach(app.state.sessions)
        app.state.metrics_store = metrics.store_registry(
            app.state.sessions, app.state.dispatcher.broker_depth if app.state.dispatcher else None)
        if demo:  # with --processes N the parent seeds (api.server)
            from callscope.api.demo import seed_demo

            seed_demo(app.state.sessions, settings)
        app.state.pool = app.state.webhooks = app.state.privacy = None
        lock = None
        if shared:
            lock = BackgroundLock(Path(settings.data_dir) / LOCK_NAME, lambda: start_background(app))
            lock.start()
        else:
            start_background(app)
        # what start-up made (modules, the app, routes) lives as long as the process: out of the
        # collector's way, a full collection no longer walks it (measured: 90 ms -> ~0, the p99 spikes)
        gc.freeze()
        try:
            yield
        finally:
            if lock is not None:
                lock.stop()
            privacy_routes.stop(app)
            if app.state.pool is not None:
                app.state.pool.stop()
            if app.state.webhooks is not None:
                app.state.webhooks.stop()
            if app.state.dispatcher is not None:
                app.state.dispatcher.stop()
            engine.dispose()

    # FastAPIOffline: /docs (Swagger UI) and /redoc with their scripts and styles served from the
    # fastapi-offline package, not a CDN (swagger-ui-bundle's Swagger UI 4 cannot show OpenAPI 3.1)
    app = FastAPIOffline(title="callscope", version=__version__, lifespan=lifespan,
                         static_url="/static/docs", openapi_url=f"{API_PREFIX}/openapi.json",
                         description="Conversation intelligence for sales calls. Every endpoint but "
                                     "/healthz needs `Authorization: Bearer TOKEN` (callscope token create).")
    app.state.settings = settings
    app.add_middleware(ops.LatencyMiddleware)
    install_error_handlers(app)
    for module in (health, calls, people, rubrics, webhooks, teams, notifications):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(ops.router)
    privacy_routes.install(app)
    app.include_router(web.router)
    return app
