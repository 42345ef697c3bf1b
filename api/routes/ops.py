"""Operations: GET /metrics (Prometheus text format, no auth: scrape it from inside the network) and
the HTTP latency middleware feeding it."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from callscope.api import metrics

API_PREFIX = "/api/v1"

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """This process's counters and histograms, then the database's (and broker's) gauges."""
    body = await run_in_threadpool(metrics.exposition, getattr(request.app.state, "metrics_store", None))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class LatencyMiddleware:
    """Observes every HTTP request's latency by method, route template (not the raw path: a bounded
    set of labels) and status, and tells it to the client as `Server-Timing: app;dur=MS` (the time
    until the answer's headers, which for a JSON answer is all its work: what a load test compares
    with its own wall time). Pure ASGI: request bodies stream through untouched."""

    def __init__(self, app) -> None:  # noqa: ANN001 - an ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                spent = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", spent)]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route_of(scope)
            metrics.HTTP_SECONDS.labels(scope["method"], route, str(status["code"])).observe(
                time.perf_counter() - started)


def _route_of(scope) -> str:  # noqa: ANN001 - an ASGI scope
    """The matched route's template with its mount prefix ("/api/v1/calls/{call_id}"), or "unmatched"."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    # an included router's route may carry its path without the prefix; the raw path tells which
    if not scope.get("path", "").startswith(path.split("{", 1)[0]) and API_PREFIX + path != path:
        candidate = API_PREFIX + path
        if scope.get("path", "").startswith(candidate.split("{", 1)[0]):
            return candidate
    return path
