"""What flows need from the terminal: the one interface steps talk to.

Steps reach devices, back-ends, the case store, document rendering and face
verification only through ``session.services``, an object of the application
(``kiosk.app.KioskApp``) that implements :class:`Services`.  Flows import no
device, printer or store module (an import-linter contract in setup.cfg says
so); what those modules give back is used through the small shapes below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kiosk.core.i18n import Text

# What a one-time code's checker says (``OneTimeCode.check``).
CODE_OK, CODE_WRONG, CODE_EXPIRED, CODE_LOCKED = "ok", "wrong", "expired", "locked"


class DeviceStatus(Protocol):
    usable: bool
    detail: dict


class CaseRecord(Protocol):
    case_id: str
    ref: str


class CodeChecker(Protocol):
    """A one-time code's checker: only a salted digest of the code is kept."""

    remaining_tries: int

    def check(self, entered: str) -> str: ...   # CODE_OK, CODE_WRONG, CODE_EXPIRED or CODE_LOCKED


class Services(Protocol):
    """Implemented by ``kiosk.app.KioskApp``; tests may pass their own."""

    # --- devices and configuration -------------------------------------------
    def device(self, family: str) -> Any: ...                    # the best device of a family, or None
    def device_status(self, family: str) -> DeviceStatus | None: ...
    def config_get(self, key: str, default: Any = None) -> Any: ...

    # --- back-ends ------------------------------------------------------------
    def backend_status(self, name: str) -> tuple[bool, Text | None]: ...   # central, store, signer
    # The platform's service calls by operation: property_query, social_security_records,
    # provident_fund_account, provident_fund_withdraw, traffic_violations, payment_create,
    # payment_status, resident_code ... (KioskApp.backend lists them).
    def backend(self, op: str, **kw: Any) -> Any: ...
    def queue_businesses(self) -> list[dict]: ...
    def queue_number(self, business: dict) -> dict: ...
    def phone_on_record(self, id_number: str) -> dict: ...
    def send_sms(self, handle: str, message: Text, masked: str = "") -> bool: ...

    # --- cases -------------------------------------------------------------------
    def commit_case(self, *, service: str, applicant: Any, result: dict, document_hash: str | None = None,
                    agent: Any = None, extra: dict | None = None, evaluation: dict | None = None) -> CaseRecord: ...
    def set_evaluation(self, case_id: str, level: int, reasons: list[str], comment: str | None = None) -> dict: ...
    def find_case(self, ref: str) -> dict | None: ...

    # --- documents ----------------------------------------------------------------
    def render_document(self, kind: str, data: dict, lang: str = "zh") -> bytes: ...
    def document_fields(self, pdf: bytes) -> dict | None: ...   # the signed fields of a rendered certificate
    def render_slip(self, kind: str, job: dict) -> bytes: ...
    def verify_url(self, ref: str) -> str: ...

    # --- identity -----------------------------------------------------------------
    def face_verifier(self) -> Any: ...          # encode_id_photo_async(photo) -> Future
    def face_session(self, id_face: Any, max_attempts: int) -> Any: ...   # attempt(frame) -> decision
    def liveness_checker(self) -> Any: ...       # None when liveness is off
    def face_outcome(self, outcome: str) -> None: ...
    def one_time_code(self, clock: Callable[[], float]) -> tuple[str, CodeChecker]: ...
    def call_staff(self, reason: str = "", service: str | None = None) -> bool: ...
    def verify_staff(self, staff_id: str, pin: str) -> tuple[str | None, Text | None]: ...

    # --- the catalog (agency) ----------------------------------------------------------
    def flow(self, service_id: str) -> Any: ...
    def agency_targets(self) -> list: ...        # [(service id, Availability)]
