"""Request bodies of the central contract (openapi.yaml), strict: "5" is not 5."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from . import demo_data
from . import report as availability_report
from .common import In

MAX_BATCH = 500
BIG = 2 ** 53  # integers stay exact in every JSON reader


class EvaluationIn(In):
    level: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=20)
    rated_at: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, max_length=500)


class CaseIn(In):
    case_id: str = Field(min_length=1, max_length=64)
    ref: str = Field(min_length=1, max_length=128)
    terminal_id: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1, le=BIG)
    service: str = Field(min_length=1, max_length=64)
    created_at: str = Field(min_length=1, max_length=64)
    applicant: dict
    agent: dict | None = None
    result: dict
    document_hash: str | None = Field(default=None, max_length=256)
    evaluation: EvaluationIn | None = None
    extra: dict = Field(default_factory=dict)


class BatchItem(In):
    kind: Literal["case", "evaluation"]
    idempotency_key: str = Field(min_length=1, max_length=255)
    case_id: str = Field(default=None, min_length=1, max_length=64)  # absent is fine, null is not
    body: dict


class BatchIn(In):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)


class DeviceStatusIn(In):
    device: Literal["online", "offline", "hardwareError", "userError", "deviceBusy", "noDevice"] = None
    detail: dict = Field(default_factory=dict)
    message: dict = Field(default_factory=dict)
    timestamp: str = None
    last_error: str | None = None


class BackfillIn(In):
    ago_s: float = Field(ge=0, le=availability_report.BACKFILL_MAX_S)
    seconds: float = Field(gt=0, le=availability_report.BACKFILL_MAX_S)
    services: dict = Field(default_factory=dict)


class HeartbeatIn(In):
    software_version: str = Field(min_length=1, max_length=64)
    sent_at: str | None = Field(default=None, max_length=64)
    devices: dict[str, DeviceStatusIn] = Field(default_factory=dict)
    services: dict = Field(default_factory=dict)
    outbox: dict = Field(default_factory=dict)
    store: dict = Field(default_factory=dict)
    sync: dict = Field(default_factory=dict)
    backfill: list[BackfillIn] = Field(default_factory=list, max_length=availability_report.BACKFILL_MAX_SPANS)


class PersonQuery(In):
    id_number: str = Field(min_length=15, max_length=18, pattern=r"^[0-9A-Za-z]+$")
    name: str | None = Field(default=None, max_length=64)


class RecordsQuery(PersonQuery):
    months: int = Field(ge=1, le=60)


class WithdrawalIn(PersonQuery):
    amount_cents: int = Field(ge=1, le=BIG)
    bank_card: str = Field(min_length=12, max_length=19, pattern=r"^[0-9]+$")
    case_ref: str = Field(min_length=1, max_length=128)
    purpose: str = Field(default="rent", max_length=32)


class PlateQuery(In):
    plate: str = Field(min_length=7, max_length=8, pattern=demo_data.PLATE_RE.pattern)


class PaymentIn(In):
    case_ref: str = Field(min_length=1, max_length=128)
    amount_cents: int = Field(ge=1, le=10_000_000)
    description: str = Field(default="", max_length=200)
    items: list[str] = Field(default_factory=list, max_length=50)


class TicketIn(In):
    business: str = Field(min_length=1, max_length=32)
    terminal_id: str = Field(default=None, min_length=1, max_length=64)
