"""Prometheus metrics of the platform, served at ``/metrics``.

- ``central_request_seconds``: request latency by method, route (the path
  template, never a terminal id) and status class;
- ``central_ingested_total``: heartbeats, backfilled spans, cases and
  evaluations stored (replays not counted);
- ``central_rollup_lag_seconds``: how old a span is when it is folded into
  the availability rollups (a heartbeat's span is folded when the next one
  arrives: about the heartbeat interval; larger means terminals fall silent
  or backfill old hours).

With several server processes (``kiosk central serve --workers N``) every
process writes its figures to ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
adds them up, whichever process answers.
"""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Histogram("central_request_seconds", "Central request latency", ["method", "route", "status"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0))
INGESTED = Counter("central_ingested_total", "Records stored by central", ["kind"])
ROLLUP_LAG = Histogram("central_rollup_lag_seconds", "Age of a span when folded into the availability rollups",
                       buckets=(30, 60, 120, 300, 900, 3600, 6 * 3600, 86400, 8 * 86400))

router = APIRouter()


@router.get("/metrics")
def metrics() -> Response:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def instrument(app: FastAPI) -> None:
    """Time every request by its route template (unmatched paths as one label)."""
    app.add_middleware(Timed)


class Timed:
    """Plain ASGI middleware (no task or body stream per request, unlike
    Starlette's ``BaseHTTPMiddleware``): the status from the response's start,
    the route template the router left in the scope."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            REQUESTS.labels(scope["method"], getattr(route, "path", "unmatched"),
                            f"{status // 100}xx").observe(time.perf_counter() - t0)
