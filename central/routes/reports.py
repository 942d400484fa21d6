"""The availability report: ``GET /v1/report`` (JSON: every terminal x service
entry for the operator, a terminal's own for a terminal), ``GET /v1/report/fleet``
(the fleet summed up per service and per terminal, operator only) and ``GET /report``
(the operator's page, at ``/console/report`` behind the console's login)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from .. import report as availability_report
from ..common import BadRequest, err, sandbox

router = APIRouter()


def report_for(request: Request, terminal: str | None, window: str) -> dict | None:
    sb = sandbox(request)
    data = availability_report.read_report(sb.db, now=sb.clock(), terminal=terminal, stale_s=sb.report_stale_s,
                                           windows=availability_report.window_names(window))
    return None if terminal is not None and not data["terminals"] else data


@router.get("/v1/report")
def report_json(request: Request, terminal: str | None = None, window: Literal["24h", "7d", "both"] = "both"):
    unknown = sorted(set(request.query_params) - {"terminal", "window"})
    if unknown:  # a misspelt filter must not silently answer for every terminal
        raise BadRequest("unknown query parameter",
                         [{"loc": f"query.{name}", "msg": "not a parameter"} for name in unknown[:10]])
    caller = request.state.caller
    if not caller.operator:
        # a terminal sees its own availability, never the rest of the fleet's
        if terminal is not None and not caller.may_act_as(terminal):
            return sandbox(request).refuse(caller, "GET /v1/report", "reading another terminal's report")
        terminal = caller.terminal
    data = report_for(request, terminal, window)
    # JSONResponse directly: a fleet's report is megabytes of plain dicts that need no encoder walk
    return JSONResponse(data) if data is not None else err(404, "not_found", "no such terminal")


@router.get("/v1/report/fleet")
def fleet_json(request: Request, window: Literal["24h", "7d", "both"] = "both"):
    from ..fleet_report import read_fleet

    sb = sandbox(request)
    if not request.state.caller.operator:
        return sb.refuse(request.state.caller, "GET /v1/report/fleet", "reading the fleet's report")
    return JSONResponse(read_fleet(sb.db, now=sb.clock(), stale_s=sb.report_stale_s,
                                   windows=availability_report.window_names(window)))


@router.get("/report")
def report_page_moved(request: Request):
    """The page's old address: it lives behind the console's login now."""
    return RedirectResponse("/console/report" + (f"?{request.url.query}" if request.url.query else ""),
                            status_code=303)


@router.get("/console/report", response_class=HTMLResponse)
def report_page(request: Request, terminal: str | None = None, window: Literal["24h", "7d", "both"] = "both"):
    from ..console.views import signed_in, to_login
    from ..report_page import render

    if not signed_in(request):  # the fleet's state is the operators' business, not the network's
        return to_login(request)
    data = report_for(request, terminal, window)
    if data is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><h1>未找到终端 / No such terminal</h1>",
                            status_code=404)
    return HTMLResponse(render(data))
