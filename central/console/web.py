"""The console's page machinery: Jinja2 templates in one language per page,
security headers, cookies, the CSRF check and small formatting helpers."""

from __future__ import annotations

import datetime as dt
import hmac
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qs, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from kiosk.core.config import DEVICE_FAMILIES
from kiosk.core.i18n import t

from ..report_page import duration, level_class, percent

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"        # the login form's CSRF pair (double submit)
LANG_COOKIE = "console_lang"
LANGS = ("zh", "en")
MAX_FORM = 64 * 1024
HEADERS = {
    # no scripts at all; styles only from the console's own stylesheet
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class FormError(ValueError):
    pass


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGS else "zh"


def local(ts: float | None, seconds: bool = False) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def hour(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%m-%d %H:00")


@lru_cache(maxsize=1)
def env() -> Environment:
    e = Environment(loader=PackageLoader("central.console", "templates"),
                    autoescape=select_autoescape(default=True, default_for_string=True),
                    trim_blocks=True, lstrip_blocks=True)
    e.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    e.globals.update(families=DEVICE_FAMILIES, percent=percent, level_class=level_class, local=local, hour=hour)
    return e


def page(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
    lang = lang_of(request)

    def tr(key: str, /, **kw) -> str:
        return t(f"console.{key}", lang, **kw)
    html = env().get_template(template).render(
        lang=lang, tr=tr, dur=lambda s: duration(s, lang), path=request.url.path,
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        title_of=lambda title: title.get(lang) or title.get("zh"), **ctx)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers=HEADERS)


def safe_next(value: str | None) -> str:
    """Only a console path: never another site after login."""
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form (first value of each field), bounded in size."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise FormError("form expected")
    raw = await request.body()
    if len(raw) > MAX_FORM:
        raise FormError("form too large")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise FormError("form not readable") from None
    return {k: v[0] for k, v in fields.items()}


def csrf_ok(sent: str | None, expected: str | None) -> bool:
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def query(**params) -> str:
    kept = {k: v for k, v in params.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def stylesheet() -> Response:
    css = (resources.files("central.console") / "static" / "console.css").read_bytes()
    return Response(css, media_type="text/css", headers={**HEADERS, "Cache-Control": "max-age=3600"})
