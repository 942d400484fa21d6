"""The central platform: the contract in ``openapi.yaml`` served by FastAPI
over a durable database (``central.db``), plus the operator's pages.

``create_app`` builds one ``Sandbox`` (``central.sandbox``: state and
storage rules), installs what every request passes through (errors as the
contract's JSON, caller identity, sandbox faults) and includes the routers
listed in ``ROUTERS``.

Adding a router (one line)
--------------------------
Write a module that defines ``router = fastapi.APIRouter()`` and reaches
the platform's state with ``central.common.sandbox(request)``; then add its
module path to ``ROUTERS`` below. A module that sets ``DEMO_ONLY = True`` is
served in demo mode only (sandbox shortcuts). Paths under ``/v1/`` need a
terminal's or the operator's credential (``request.state.caller``) unless
listed in ``PUBLIC``; pages outside ``/v1/`` do their own access control.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.core import __version__

from . import metrics
from . import report as availability_report
from .auth import AuthError, peer_common_name
from .common import BadRequest, err
from .faults import Faults
from .sandbox import Sandbox

log = logging.getLogger(__name__)

ROUTERS: tuple[str, ...] = (
    "central.routes.meta",
    "central.routes.cases",
    "central.audit",
    "central.routes.terminals",
    "central.routes.reports",
    "central.routes.services",
    "central.routes.hall",
    "central.routes.payments",
    "central.routes.queue",
    "central.routes.sandbox_controls",
    "central.routes.resident_code",
    "central.routes.progress",
    "central.routes.appointments",
    "central.routes.guide",
    "central.routes.doors_sandbox",
    "central.console.views",
    "central.metrics",
)

UNFAULTED = ("/v1/sandbox", "/v1/health", "/v1/openapi.yaml", "/pay/")
# What third parties (a bank given a proof) may read without a terminal's credentials.
PUBLIC = ("/v1/health", "/v1/openapi.yaml", "/v1/verify/", "/v1/ca.pem")


def create_app(db_url: str, *, faults: Faults | None = None,
               auto_pay_s: float = 3.0, clock: Callable[[], float] = time.time,
               report_stale_s: float = availability_report.DEFAULT_STALE_S, demo: bool = True,
               deployment_ca: str | None = None, raw_keep_s: float | None = None,
               state_dir: str | None = None) -> FastAPI:
    """The platform app; ``demo=False`` leaves out the sandbox-only controls.
    ``state_dir``: where file state lives (default: beside a SQLite database,
    else ``KIOSK_CENTRAL_STATE``); ``raw_keep_s``: how long raw heartbeats stay."""
    sb = Sandbox(db_url, faults=faults, auto_pay_s=auto_pay_s, clock=clock,
                 report_stale_s=report_stale_s, deployment_ca=deployment_ca, state_dir=state_dir,
                 **({"raw_keep_s": raw_keep_s} if raw_keep_s is not None else {}))
    app = FastAPI(title="Central platform sandbox", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.sandbox = sb
    _error_handlers(app)
    _guard(app, sb)
    metrics.instrument(app)  # outermost: the latency includes the guard
    for name in ROUTERS:
        module = importlib.import_module(name)
        if demo or not getattr(module, "DEMO_ONLY", False):
            app.include_router(module.router)
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every failure answers in the contract's error shape, never a traceback."""

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest):
        return err(400, "invalid_request", exc.message, details=exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return err(400, "invalid_request", "request does not match the contract")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return err(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("sandbox request failed")
        return err(500, "internal_error", "the server failed while processing the request")


def _guard(app: FastAPI, sb: Sandbox) -> None:
    app.add_middleware(Guard, sb=sb)


class Guard:
    """Who is calling (``/v1/`` except ``PUBLIC``), then the sandbox's injected
    faults. Plain ASGI: a fleet's heartbeats pass through it, and Starlette's
    ``BaseHTTPMiddleware`` costs a task and a body stream per request."""

    def __init__(self, app, sb: Sandbox):
        self.app, self.sb = app, sb

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        refused = self._identify(scope, path) if not path.startswith(PUBLIC) else None
        if refused is None and not path.startswith(UNFAULTED):
            refused = await self._fault()
        if refused is not None:
            return await refused(scope, receive, send)
        return await self.app(scope, receive, send)

    def _identify(self, scope, path: str):
        request = Request(scope)
        try:
            # request.state is scope["state"]: the routers read the caller there
            request.state.caller = self.sb.auth.identify(request.headers.get("authorization", ""),
                                                         peer_common_name(scope))
        except AuthError as exc:
            if exc.status == 403:
                self.sb.refuse(None, f"{scope['method']} {path}", exc.message)
            return err(exc.status, exc.code, exc.message,
                       headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        return None

    async def _fault(self):
        faults = self.sb.faults
        if faults.latency_ms > 0:
            import asyncio
            await asyncio.sleep(faults.latency_ms / 1000)
        status = faults.injected_status()
        if status is not None:
            headers = {"Retry-After": "1"} if status in (429, 503) else None
            return err(status, "injected_fault", f"sandbox fault: {status}", headers=headers)
        return None


SETTINGS_ENV = "KIOSK_CENTRAL_SETTINGS"  # JSON: create_app's settings for worker processes


def app_from_env() -> FastAPI:
    """For ``uvicorn central.app:app_from_env --factory`` and the worker
    processes of ``kiosk central serve --workers N`` (settings in
    ``KIOSK_CENTRAL_SETTINGS``; else ``KIOSK_CENTRAL_DB`` and ``KIOSK_MODE``)."""
    import json
    import os

    raw = os.environ.get(SETTINGS_ENV)
    if raw:
        settings = json.loads(raw)
        faults = settings.pop("faults", None)
        return create_app(faults=Faults.from_dict(faults) if faults else None, **settings)
    return create_app(os.environ.get("KIOSK_CENTRAL_DB", "sqlite:///central.db"),
                      demo=os.environ.get("KIOSK_MODE") == "demo")
