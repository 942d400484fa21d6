"""What the case store hands out and refuses with: records, outbox entries and
send outcomes, the store's errors, and the rules for a case's body (one
canonical serialisation, no images of people, the rating scale)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kiosk.core.canonical import canonical_json
from kiosk.core.i18n import Text, text
from kiosk.core.masking import DROP_FIELDS

from .crypto import KeyMissing

EVALUATION_LEVELS = (1, 2, 3, 4, 5)   # 5 非常满意 ... 1 非常不满意
BAD_LEVELS = (1, 2)                   # reasons are required for these


class StoreUnavailable(Exception):
    """The store cannot take new cases; ``reason`` is a short code
    (disk_full, read_only, corrupt, io_error, key_missing) and ``message``
    the catalog text shown on status screens."""

    def __init__(self, code: str, **kw: Any):
        self.reason = code
        self.key = f"cases.store.{code}"
        self.message: Text = text(self.key, **kw)
        super().__init__(self.message.en)


class StoreError(Exception):
    """A refused operation (bad rating, unknown case); catalog message."""

    def __init__(self, key: str, **kw: Any):
        self.key = key
        self.message: Text = text(key, **kw)
        super().__init__(self.message.en)


@dataclass(frozen=True)
class CaseRecord:
    case_id: str
    ref: str
    seq: int
    service: str
    created_at: float
    idempotency_key: str
    status: str = "pending"

    def as_dict(self) -> dict:
        return {"case_id": self.case_id, "ref": self.ref, "seq": self.seq, "service": self.service,
                "created_at": iso_utc(self.created_at), "idempotency_key": self.idempotency_key,
                "status": self.status}


@dataclass
class OutboxEntry:
    seq: int
    case_id: str
    kind: str                 # case | evaluation
    idempotency_key: str
    body: bytes               # canonical JSON, the exact bytes to send
    attempts: int

    def body_json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Outcome:
    """What happened to one outbox entry after a send."""

    seq: int
    result: str               # sent | dead | retry
    http_status: int | None = None
    reason: str | None = None
    receipt: dict | None = field(default=None)


# -- helpers ---------------------------------------------------------------

def iso_utc(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise ValueError(f"a case cannot hold {type(value).__name__} values")


def case_json(data: Any) -> bytes:
    """A case body's one serialisation (dates and decimals as text)."""
    return canonical_json(data, default=_json_default)


def clean_person(person: Any) -> dict | None:
    """A person as a plain dict without images (face and card photos never
    go into a case)."""
    if person is None:
        return None
    if hasattr(person, "as_dict"):
        person = person.as_dict(reveal=True)
    if not isinstance(person, dict):
        raise ValueError("applicant and agent must be dicts")
    return {k: v for k, v in person.items() if k not in DROP_FIELDS}


def normalise_evaluation(level: Any, reasons: Any, comment: str | None, rated_at: float) -> dict:
    if isinstance(level, bool) or not isinstance(level, int) or level not in EVALUATION_LEVELS:
        raise StoreError("cases.store.bad_rating")
    reasons = [str(r) for r in (reasons or [])]
    if level in BAD_LEVELS and not reasons:
        raise StoreError("cases.store.reasons_required")
    ev = {"level": level, "reasons": reasons, "rated_at": iso_utc(rated_at)}
    if comment:
        ev["comment"] = str(comment)[:500]
    return ev


def unavailable_from(exc: BaseException) -> StoreUnavailable:
    """Map a storage exception to the reason shown on status."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, KeyMissing):
        return StoreUnavailable("key_missing", key_id=exc.key_id)
    if isinstance(exc, OSError):
        import errno
        if exc.errno == errno.ENOSPC:
            return StoreUnavailable("disk_full")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreUnavailable("read_only")
        return StoreUnavailable("io_error", reason=exc.strerror or str(exc))
    name = getattr(exc, "sqlite_errorname", "") or ""
    msg = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in msg:
        return StoreUnavailable("disk_full")
    if name.startswith("SQLITE_READONLY") or "readonly" in msg or "read-only" in msg:
        return StoreUnavailable("read_only")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in msg or "not a database" in msg:
        return StoreUnavailable("corrupt")
    return StoreUnavailable("io_error", reason=str(exc))
