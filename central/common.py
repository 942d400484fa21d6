"""What every router of the platform shares: error bodies, strict request
parsing, the ``Idempotency-Key`` header and the way to the ``Sandbox``."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from kiosk.core.canonical import canonical_json as canonical

if TYPE_CHECKING:
    from .sandbox import Sandbox


class In(BaseModel):
    """Base of every request model: strict ("5" is not 5), extra fields kept."""
    model_config = ConfigDict(strict=True, extra="allow")


def json_object(raw: str | None) -> dict:
    """A stored JSON body as a dict; anything else (empty, damaged, not an object) is {}."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def error(code: str, message: str, **extra: Any) -> dict:
    return {"error": code, "message": message, **extra}


def err(status: int, code: str, message: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error(code, message, **extra), status_code=status, headers=headers)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


class BadRequest(Exception):
    """Answered as 400 ``invalid_request`` by the app's handler."""

    def __init__(self, message: str, details: list | None = None):
        self.message = message
        self.details = details or []


def validate(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()[:10]]
        raise BadRequest("request body does not match the contract", details) from None


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw)
        canonical(data)  # lone surrogates cannot be stored: refuse them here
    except (ValueError, UnicodeError):
        raise BadRequest("body is not valid UTF-8 JSON") from None
    return data


def visible_ascii(value: str) -> bool:
    return all(0x21 <= ord(c) <= 0x7E for c in value)


def idem_key(request: Request) -> str:
    key = request.headers.get("idempotency-key", "")
    if not 1 <= len(key) <= 255 or not visible_ascii(key):
        raise BadRequest("the Idempotency-Key header is required (1-255 visible ASCII characters)")
    return key


def sandbox(request: Request) -> Sandbox:
    """The platform's state for this request (set by ``create_app``)."""
    return request.app.state.sandbox
