"""The console's routes under ``/console``: login, fleet, terminal, services,
stale alerts, config push with confirmation, audit trail and CSV exports.

Every page needs an operator session (cookie); every POST also needs the
session's CSRF token. A bearer token, terminal or otherwise, is never read
here, and the ``/v1`` API never reads the console's cookie.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from .. import report as availability_report
from ..common import sandbox
from ..report import Beat
from . import accounts, queries
from .web import (
    HEADERS,
    LANG_COOKIE,
    LANGS,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    FormError,
    csrf_ok,
    form,
    page,
    query,
    redirect,
    safe_next,
    set_cookie,
    stylesheet,
)

WINDOW_HOURS = {"24h": 24, "7d": 168}
PAGE_SIZE = 100          # terminals per page of the overview (a province runs thousands)


@dataclass
class Ctx:
    sb: object           # the running central (db, clock, report_stale_s)

    @property
    def db(self):
        return self.sb.db

    def now(self) -> float:
        return self.sb.clock()

    def who(self, request: Request) -> accounts.Session | None:
        return accounts.session(self.db, request.cookies.get(SESSION_COOKIE), self.now())


def _ctx(request: Request) -> Ctx:
    return Ctx(sandbox(request))


def signed_in(request: Request) -> bool:
    """An operator is signed in to the console on this request."""
    return _ctx(request).who(request) is not None


def address(request: Request) -> str:
    return request.client.host if request.client else "?"


def to_login(request: Request):
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect("/console/login" + query(next=target))


# -- login, logout, language ----------------------------------------------------------

def _auth_routes(router: APIRouter) -> None:
    @router.get("/static/console.css")
    def css():
        return stylesheet()

    @router.get("/login")
    def login_page(request: Request, next: str = "/console"):
        token = secrets.token_urlsafe(24)
        resp = page(request, "login.html", csrf=token, next=safe_next(next), error=None)
        set_cookie(resp, request, LOGIN_COOKIE, token)
        return resp

    @router.post("/login")
    async def login_submit(request: Request):
        ctx = _ctx(request)
        try:
            data = await form(request)
        except FormError:
            return page(request, "login.html", 400, csrf="", next="/console", error="form")
        nxt = safe_next(data.get("next"))
        if not csrf_ok(data.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            return page(request, "login.html", 403, csrf="", next=nxt, error="expired")
        name, now = data.get("name", ""), ctx.now()
        result = await run_in_threadpool(accounts.login, ctx.db, name, data.get("password", ""), now)
        token = secrets.token_urlsafe(24)
        if not result.ok:
            await run_in_threadpool(queries.audit, ctx.db, now=now, operator=name[:64], targets=[],
                                    action="login_failed" if result.checked else "login_locked",
                                    detail={}, address=address(request))
            minutes = max(1, int(result.locked_s + 59) // 60)
            resp = page(request, "login.html", 429 if result.locked_s else 401, csrf=token, next=nxt,
                        error="locked" if result.locked_s else "wrong", minutes=minutes, name=name)
            set_cookie(resp, request, LOGIN_COOKIE, token)
            return resp
        session = await run_in_threadpool(accounts.open_session, ctx.db, result.operator, now)
        await run_in_threadpool(queries.audit, ctx.db, now=now, operator=result.operator, action="login",
                                targets=[], detail={}, address=address(request))
        resp = redirect(nxt)
        set_cookie(resp, request, SESSION_COOKIE, session)
        resp.delete_cookie(LOGIN_COOKIE, path="/console", httponly=True, samesite="strict")
        return resp

    @router.post("/logout")
    async def logout(request: Request):
        ctx = _ctx(request)
        data = await form(request)
        who = await run_in_threadpool(ctx.who, request)
        if who is not None and csrf_ok(data.get("csrf"), who.csrf):
            await run_in_threadpool(accounts.close_session, ctx.db, request.cookies.get(SESSION_COOKIE))
        resp = redirect("/console/login")
        resp.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
        return resp

    @router.get("/lang/{lang}")
    def set_lang(request: Request, lang: str, next: str = "/console"):
        resp = redirect(safe_next(next))
        if lang in LANGS:
            set_cookie(resp, request, LANG_COOKIE, lang, max_age=365 * 86400)
        return resp


# -- fleet, alerts, services ----------------------------------------------------------------

def _fleet_routes(router: APIRouter) -> None:
    @router.get("")
    @router.get("/")
    def overview(request: Request, site: str = "", profile: str = "", version: str = "", state: str = "",
                 p: int = Query(1, ge=1, le=100_000)):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        rows = queries.fleet(ctx.db, ctx.now(), ctx.sb.report_stale_s)
        chosen = {"site": site, "profile": profile, "version": version, "state": state}
        shown = queries.apply_filters(rows, chosen)
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        p = min(p, pages)
        return page(request, "fleet.html", who=who, rows=shown[(p - 1) * PAGE_SIZE:p * PAGE_SIZE],
                    matched=len(shown), page_no=p, pages=pages, total=len(rows), chosen=chosen,
                    choices=queries.filter_choices(rows), counts=queries.state_counts(rows),
                    shown_counts=queries.state_counts(shown), stale_s=ctx.sb.report_stale_s,
                    filter_query=query(**chosen), nav="fleet")

    @router.get("/alerts")
    def alerts(request: Request, p: int = Query(1, ge=1, le=100_000)):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        rows = queries.fleet(ctx.db, ctx.now(), ctx.sb.report_stale_s)
        silent = queries.stale_alerts(rows)  # a province's silent terminals: paged like the overview
        pages = max(1, -(-len(silent) // PAGE_SIZE))
        p = min(p, pages)
        return page(request, "alerts.html", who=who, rows=silent[(p - 1) * PAGE_SIZE:p * PAGE_SIZE],
                    matched=len(silent), page_no=p, pages=pages, total=len(rows),
                    stale_s=ctx.sb.report_stale_s, nav="alerts")

    @router.get("/services")
    def services(request: Request):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        return page(request, "services.html", who=who, rows=_service_rows(ctx), nav="services")


def _service_rows(ctx: Ctx) -> list[dict]:
    report = availability_report.read_report(ctx.db, now=ctx.now(), stale_s=ctx.sb.report_stale_s)
    return queries.service_summary(report)


# -- one terminal ----------------------------------------------------------------------------

def _terminal_routes(router: APIRouter) -> None:
    @router.get("/terminals/{tid}")
    def terminal(request: Request, tid: str, window: Literal["24h", "7d"] = "24h"):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        detail = queries.terminal_detail(ctx.db, tid) if len(tid) <= 64 else None
        if detail is None:
            return page(request, "missing.html", 404, who=who, tid=tid, nav="fleet")
        now, stale_s = ctx.now(), ctx.sb.report_stale_s
        hours = WINDOW_HOURS[window]
        row = queries.terminal_row(tid, detail["registered_at"], detail["last_at"], detail["body"], now, stale_s)
        sids = list(detail["body"].get("services") or {})[:availability_report.MAX_SERVICES] \
            if isinstance(detail["body"].get("services"), dict) else []
        sids += sorted(set(detail["service_first_seen"]) - set(sids))
        last = Beat(detail["last_at"], detail["body"]) if detail["last_at"] is not None else None
        line = queries.timeline(ctx.db, tid, sids, end=now, hours=hours, stale_s=stale_s, last=last,
                                first_seen=detail["first_seen"], service_first_seen=detail["service_first_seen"])
        # problems from the raw heartbeats of the last day (kept longer than that)
        problems = queries.recent_problems(queries.beats(ctx.db, tid, now - 86400, now), stale_s=stale_s)
        body = detail["body"]
        return page(request, "terminal.html", who=who, t=row, body=body, window=window, line=line,
                    titles={sid: availability_report.service_title(sid) for sid in sids}, problems=problems,
                    configs=detail["configs"], devices=queries.devices_of(body),
                    outbox=body.get("outbox") if isinstance(body.get("outbox"), dict) else {},
                    sync=body.get("sync") if isinstance(body.get("sync"), dict) else {},
                    hours=hours, now=now, nav="fleet")


# -- config push: form, confirmation, push, audit --------------------------------------------

def _targets_from(ctx: Ctx, data: dict) -> list[str]:
    if data.get("scope") == "one":
        return queries.known_terminals(ctx.db, [data.get("terminal", "")])
    rows = queries.fleet(ctx.db, ctx.now(), ctx.sb.report_stale_s)
    chosen = {k: data.get(k, "") for k in queries.FILTERS}
    return [r["terminal_id"] for r in queries.apply_filters(rows, chosen)]


def _config_routes(router: APIRouter) -> None:
    @router.get("/config")
    def config_form(request: Request, terminal: str = "", site: str = "", profile: str = "", version: str = "",
                    state: str = ""):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        chosen = {"site": site, "profile": profile, "version": version, "state": state}
        data = {"scope": "one" if terminal else "group", "terminal": terminal, **chosen}
        return page(request, "config.html", who=who, data=data, targets=_targets_from(ctx, data), settings="",
                    error=None, nav="config")

    @router.post("/config/review")
    async def config_review(request: Request):
        ctx = _ctx(request)
        who = await run_in_threadpool(ctx.who, request)
        if who is None:
            return to_login(request)
        data = await form(request)
        if not csrf_ok(data.get("csrf"), who.csrf):
            return page(request, "forbidden.html", 403, who=who, nav="config")
        targets = await run_in_threadpool(_targets_from, ctx, data)
        error = None
        try:
            settings = queries.parse_settings(data.get("settings", ""))
        except queries.SettingsError as exc:
            error, settings = exc, {}
        if not targets and error is None:
            error = queries.SettingsError("no_targets")
        if error is not None:
            return page(request, "config.html", 422, who=who, data=data, targets=targets,
                        settings=data.get("settings", ""), error=error, nav="config")
        return page(request, "confirm.html", who=who, targets=targets, settings_text=data.get("settings", ""),
                    flat=queries.flatten(settings), nav="config")

    @router.post("/config/push")
    async def config_push(request: Request):
        ctx = _ctx(request)
        who = await run_in_threadpool(ctx.who, request)
        if who is None:
            return to_login(request)
        data = await form(request)
        if not csrf_ok(data.get("csrf"), who.csrf) or data.get("confirm") != "yes":
            return page(request, "forbidden.html", 403, who=who, nav="config")
        try:
            settings = queries.parse_settings(data.get("settings", ""))
            wanted = json.loads(data.get("targets", "[]"))
        except (queries.SettingsError, ValueError):
            return page(request, "forbidden.html", 400, who=who, nav="config")
        targets = await run_in_threadpool(queries.known_terminals, ctx.db, [str(t) for t in wanted
                                                                            if isinstance(t, str)])
        if not targets:
            return page(request, "forbidden.html", 400, who=who, nav="config")
        done = await run_in_threadpool(lambda: queries.push_config(
            ctx.db, operator=who.operator, targets=targets, settings=settings, now=ctx.now(),
            address=address(request)))
        return redirect(f"/console/audit/{done['audit_id']}")

    @router.get("/audit")
    def audit_list(request: Request):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        return page(request, "audit.html", who=who, records=queries.audit_records(ctx.db), one=False, nav="audit")

    @router.get("/audit/{record_id}")
    def audit_one(request: Request, record_id: int):
        ctx = _ctx(request)
        who = ctx.who(request)
        if who is None:
            return to_login(request)
        records = queries.audit_records(ctx.db, record_id=record_id)
        return page(request, "audit.html", 200 if records else 404, who=who, records=records, one=True,
                    nav="audit")


# -- CSV ---------------------------------------------------------------------------------------

def _csv(text: str, name: str) -> Response:
    return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


def _export_routes(router: APIRouter) -> None:
    @router.get("/export/fleet.csv")
    def fleet_csv(request: Request, site: str = "", profile: str = "", version: str = "", state: str = ""):
        ctx = _ctx(request)
        if ctx.who(request) is None:
            return to_login(request)
        rows = queries.apply_filters(queries.fleet(ctx.db, ctx.now(), ctx.sb.report_stale_s),
                                     {"site": site, "profile": profile, "version": version, "state": state})
        header = ["terminal_id", "site", "profile", "software_version", "state", "last_heartbeat_at",
                  "last_heartbeat_age_s", "services_available", "services_offered", "devices_not_online",
                  "outbox_pending", "outbox_dead"]
        body = queries.to_csv(header, ([r["terminal_id"], r["site"], r["profile"], r["version"], r["state"],
                                        availability_report.iso(r["last_at"]),
                                        None if r["age_s"] is None else round(r["age_s"]), r["services_up"],
                                        r["services_total"], " ".join(name for name, _ in r["devices_bad"]),
                                        r["outbox_pending"],
                                        r["outbox_dead"]] for r in rows))
        return _csv(body, "fleet.csv")

    @router.get("/export/services.csv")
    def services_csv(request: Request):
        ctx = _ctx(request)
        if ctx.who(request) is None:
            return to_login(request)
        rows = _service_rows(ctx)
        header = ["service", "title_zh", "title_en", "terminals", "available_now", "unavailable_now", "unknown_now",
                  "availability_24h", "sessions_24h", "availability_7d", "sessions_7d"]

        def line(r: dict) -> list:
            w = r["windows"]
            return [r["service"], r["title"]["zh"], r["title"]["en"], r["terminals"], r["now"]["available"],
                    r["now"]["unavailable"], r["now"]["unknown"], w["24h"]["availability"], w["24h"]["sessions"],
                    w["7d"]["availability"], w["7d"]["sessions"]]
        return _csv(queries.to_csv(header, (line(r) for r in rows)), "services.csv")


router = APIRouter(prefix="/console", include_in_schema=False)
for _routes in (_auth_routes, _fleet_routes, _terminal_routes, _config_routes, _export_routes):
    _routes(router)
