"""Health, the contract, counters and what third parties may read without
credentials (is this receipt or certificate genuine? the deployment CA)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.core import __version__

from ..common import err, iso, sandbox

router = APIRouter()


def contract_text() -> str:
    return (resources.files("central") / "openapi.yaml").read_text("utf-8")


@router.get("/v1/health")
def health(request: Request):
    return {"status": "ok", "version": __version__, "server_time": iso(sandbox(request).clock())}


@router.get("/v1/openapi.yaml")
def openapi():
    return Response(contract_text(), media_type="application/yaml")


@router.get("/v1/stats")
def stats(request: Request):
    return sandbox(request).stats()


@router.get("/v1/verify/{ref}")
def verify(ref: str, request: Request):
    view = sandbox(request).verify(ref) if 1 <= len(ref) <= 128 else None
    if "text/html" in request.headers.get("accept", ""):
        from ..verify_page import render

        return HTMLResponse(render(ref, view), status_code=200 if view else 404)
    if view is None:
        return err(404, "not_found", "no case or certificate with this reference")
    return view


@router.get("/v1/ca.pem")
def ca_pem(request: Request):
    pem = sandbox(request).deployment_ca()
    if pem is None:
        return err(404, "not_found", "no deployment CA certificate is published here")
    return Response(pem, media_type="application/x-pem-file")
