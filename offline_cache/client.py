"""Client of the central platform (contract: ``central/openapi.yaml``).

Flows call the service back-ends (property registry, social security,
provident fund, traffic violations, payments, queue numbers); the sync worker
sends cases and heartbeats. Two exceptions tell a flow what to do:

- ``CentralUnavailable``: network down, timeout, 5xx, 429, 409 (busy). Show
  "service temporarily unavailable" and fall back where the flow can (e.g. a
  queue ticket from the terminal's offline range).
- ``CentralRejected``: the platform refused this request for good (4xx);
  ``code`` is the machine-readable reason (e.g. ``amount_too_large``).
  ``CentralAuthError`` (401/403) is a terminal-level problem.

Auth is a bearer token and/or a TLS client certificate; TLS verification is
on by default (``central.ca_bundle`` for a private CA).
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from kiosk.core import __version__
from kiosk.core.i18n import Text, text

log = logging.getLogger(__name__)

RETRYABLE = {408, 409, 425, 429}
# Connections kept open to central for the app's lifetime.  Flow jobs run on
# short-lived threads, so a session per thread would leave one socket per
# resident behind (CLOSE-WAIT once the server drops it); one pooled session
# keeps at most this many, and a request beyond it uses a connection that is
# closed as soon as it is answered.
POOL_SIZE = 8
AUTH = {401, 403, 407}


def classify_status(status: int) -> str:
    """``ok`` (2xx), ``retry`` (409/429/5xx...), ``auth`` (401/403) or ``final`` (other 4xx)."""
    if 200 <= status < 300:
        return "ok"
    if status in RETRYABLE or status >= 500:
        return "retry"
    if status in AUTH:
        return "auth"
    return "final"


class CentralError(Exception):
    def __init__(self, key: str, detail: str, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None, body: dict | None = None, **kw: Any):
        self.key = key
        self.message: Text = text(key, **kw)
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.body = body or {}
        super().__init__(detail)


class CentralUnavailable(CentralError):
    def __init__(self, detail: str, **kw: Any):
        super().__init__("central.unavailable", detail, **kw)


class CentralRejected(CentralError):
    def __init__(self, detail: str, reason: str = "", **kw: Any):
        super().__init__("central.rejected", detail, reason=reason or detail, **kw)


class CentralAuthError(CentralRejected):
    def __init__(self, detail: str, **kw: Any):
        CentralError.__init__(self, "central.auth_failed", detail, **kw)


def to_cents(amount: Any) -> int:
    """Yuan (int, str, Decimal or float) to integer cents."""
    try:
        d = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    return int(d * 100)


def retry_after(resp: requests.Response) -> float | None:
    """The Retry-After header in seconds (None when absent or not a number)."""
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class CentralClient:
    """``CentralClient(config)``; or keyword settings for tools and tests.

    ``central.url = "embedded://"`` (the demo's in-process sandbox) is started
    by the application (``kiosk.app.central_client``), which passes its URL
    and hands the running sandbox over as ``embedded``: ``close()`` stops it.
    """

    def __init__(self, config=None, *, url: str | None = None, token: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None, ca_bundle: str | None = None,
                 verify_tls: bool | None = None, connect_timeout_s: float | None = None,
                 read_timeout_s: float | None = None, terminal_id: str | None = None, embedded=None):
        get = (lambda k, d=None: config.get(k, d)) if config is not None else (lambda k, d=None: d)
        self.terminal_id = terminal_id or (config.terminal_id if config is not None else "T-0001")
        self._config = config  # for the audit trail
        self.token = token if token is not None else get("central.token", "")
        cert = client_cert if client_cert is not None else get("central.client_cert", "")
        key = client_key if client_key is not None else get("central.client_key", "")
        self.cert = (cert, key) if cert and key else (cert or None)
        ca = ca_bundle if ca_bundle is not None else get("central.ca_bundle", "")
        verify = verify_tls if verify_tls is not None else get("central.verify_tls", True)
        self.verify: bool | str = (ca or True) if verify else False
        self.timeout = (float(connect_timeout_s if connect_timeout_s is not None else get("central.connect_timeout_s",
                                                                                          3.0)),
                        float(read_timeout_s if read_timeout_s is not None else get("central.read_timeout_s", 10.0)))
        self.embedded = embedded  # a sandbox the application started for this client (stopped by close())
        base = url or get("central.url", "embedded://")
        if base.startswith("embedded:"):
            raise ValueError("central.url embedded:// is the sandbox the application starts "
                             "(kiosk.app.central_client); give the client its URL")
        self.base_url = base.rstrip("/")
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config, **kw: Any) -> CentralClient:
        return cls(config, **kw)

    # -- transport -----------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        """The one HTTP session (bounded connection pool) shared by every thread."""
        s = self._session
        if s is not None:
            return s
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> requests.Session:
        s = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=POOL_SIZE, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers["User-Agent"] = f"hall-kiosk/{__version__} ({self.terminal_id})"
        s.headers["X-Terminal-Id"] = self.terminal_id
        if self.token:
            s.headers["Authorization"] = f"Bearer {self.token}"
        s.verify = self.verify
        if self.cert:
            s.cert = self.cert
        s.trust_env = False  # a hall proxy setting must not divert case traffic silently
        s.cookies.set_policy(_NoCookies())  # central is stateless; nothing to keep between residents
        return s

    def send(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
             headers: dict | None = None, timeout: tuple | None = None) -> requests.Response:
        """One HTTP exchange; network failures raise CentralUnavailable, every
        HTTP status is returned (the sync worker classifies them itself)."""
        hdrs = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, default=str).encode("utf-8")
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        try:
            return self.session.request(method, self.base_url + path, data=data, headers=hdrs,
                                        timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            raise CentralUnavailable(f"{type(exc).__name__}: {exc}") from None

    def call(self, method: str, path: str, *, json_body: Any = None, idempotency_key: str | None = None,
             attempts: int = 1) -> Any:
        """Request + status handling for flows: the decoded JSON on 2xx, else
        CentralUnavailable / CentralRejected / CentralAuthError. Idempotent
        calls (with a key) may be attempted more than once."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        last: CentralError | None = None
        for _ in range(max(1, attempts)):
            try:
                resp = self.send(method, path, json_body=json_body, headers=headers)
            except CentralUnavailable as exc:
                last = exc
                continue
            kind = classify_status(resp.status_code)
            body = response_json(resp)
            if kind == "ok":
                if not isinstance(body, (dict, list)):
                    last = CentralUnavailable(f"{method} {path}: answer is not JSON", status=resp.status_code)
                    continue
                return body
            code = body.get("error") if isinstance(body, dict) else None
            message = body.get("message", "") if isinstance(body, dict) else ""
            detail = f"{method} {path}: HTTP {resp.status_code} {code or ''} {message}".strip()
            if kind == "retry":
                last = CentralUnavailable(detail, status=resp.status_code, code=code, retry_after=retry_after(resp),
                                          body=body if isinstance(body, dict) else None)
                if not idempotency_key:
                    break
                continue
            if kind == "auth":
                if code in ("forbidden_terminal", "identity_mismatch") and self._config is not None:
                    # central refused this terminal's credential for another terminal's resource
                    from kiosk.core import audit
                    audit.record(self._config, "cross_terminal_refused", request=f"{method} {path}", code=code)
                raise CentralAuthError(detail, status=resp.status_code, code=code)
            raise CentralRejected(detail, reason=(body.get("message") if isinstance(body, dict) else "") or detail,
                                  status=resp.status_code, code=code, body=body if isinstance(body, dict) else None)
        assert last is not None
        raise last

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> CentralClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- platform --------------------------------------------------------------
    def health(self) -> dict:
        return self.call("GET", "/v1/health")

    def stats(self) -> dict:
        return self.call("GET", "/v1/stats")

    def get_case(self, case_id: str) -> dict:
        return self.call("GET", f"/v1/cases/{case_id}")

    def heartbeat(self, body: dict) -> dict:
        return self.call("POST", f"/v1/terminals/{self.terminal_id}/heartbeat", json_body=body)

    def send_audit(self, records: list[dict]) -> dict:
        """Audit records in sequence order; central stores each once (replays are counted)."""
        return self.call("POST", f"/v1/terminals/{self.terminal_id}/audit", json_body={"records": records})

    def terminal_config(self) -> dict:
        """The signed configuration document (verify with kiosk.core.remote_config)."""
        return self.call("GET", f"/v1/terminals/{self.terminal_id}/config")

    def phone_on_record(self, id_number: str) -> dict:
        """``{on_record: false}`` or ``{on_record: true, phone_masked: "138****1234",
        handle, expires_in_s}``: one-time codes go to the handle, never to a typed number."""
        return self.call("POST", "/v1/identity/phone", json_body={"id_number": id_number})

    # -- service back-ends used by flows ---------------------------------------------
    def property_query(self, id_number: str, name: str | None = None) -> dict:
        """``{query_id, owns_property, properties: [{address, area_m2, certificate_no,
        registered_on, usage}], registry, registry_en, as_of}``."""
        return self.call("POST", "/v1/services/property/query", json_body={"id_number": id_number, "name": name})

    def social_security_records(self, id_number: str, months: int = 12) -> list[dict]:
        """Newest first: ``[{month "YYYY-MM", employer, base_cents, pension_employer_cents,
        pension_personal_cents, medical_cents, unemployment_cents, status paid|unpaid}]``."""
        return self.call("POST", "/v1/services/social-security/records",
                         json_body={"id_number": id_number, "months": int(months)})["records"]

    def provident_fund_account(self, id_number: str) -> dict:
        """``{account_no, status, balance_cents, balance, eligible, reasons: [{code, zh, en}],
        max_withdrawal_cents, purposes, ...}``."""
        return self.call("POST", "/v1/services/provident-fund/account", json_body={"id_number": id_number})

    def submit_withdrawal(self, id_number: str, amount: Any, bank_card: str, case_ref: str, *,
                          purpose: str = "rent", name: str | None = None,
                          idempotency_key: str | None = None) -> dict:
        """Submit a provident fund withdrawal (amount in yuan). Pass the same
        ``idempotency_key`` when retrying so it is never made twice; raises
        CentralRejected with code ``not_eligible`` / ``amount_too_large``."""
        body = {"id_number": id_number, "amount_cents": to_cents(amount), "bank_card": bank_card,
                "case_ref": case_ref, "purpose": purpose, "name": name}
        return self.call("POST", "/v1/services/provident-fund/withdrawals", json_body=body,
                         idempotency_key=idempotency_key or str(uuid.uuid4()), attempts=3)

    def traffic_violations(self, plate: str) -> list[dict]:
        """``[{violation_id, plate, time, place, code, description, description_en,
        fine_cents, fine, points, payable, paid}]``."""
        return self.call("POST", "/v1/services/traffic/violations", json_body={"plate": plate})["violations"]

    def create_payment(self, case_ref: str, amount: Any, description: str = "", items: list[str] | tuple = (),
                       idempotency_key: str | None = None) -> dict:
        """A sandbox payment order (amount in yuan): ``{payment_id, qr_text, amount_cents,
        amount, status "pending", expires_at}``. ``items``: violation ids it settles."""
        body = {"case_ref": case_ref, "amount_cents": to_cents(amount), "description": description,
                "items": list(items)}
        return self.call("POST", "/v1/payments", json_body=body,
                         idempotency_key=idempotency_key or str(uuid.uuid4()), attempts=3)

    def payment_status(self, payment_id: str) -> dict:
        """``{payment_id, status pending|paid, amount_cents, amount, paid_at, ...}``."""
        return self.call("GET", f"/v1/payments/{payment_id}")

    def queue_businesses(self) -> list[dict]:
        """``[{code, prefix, name_zh, name_en, counters, waiting}]``."""
        return self.call("GET", "/v1/queue/businesses")["businesses"]

    def queue_ticket(self, business: str) -> dict:
        """``{ticket_id, business, prefix, sequence, number "A023", waiting, counters,
        name_zh, name_en, issued_at}``."""
        return self.call("POST", "/v1/queue/tickets", json_body={"business": business,
                                                                  "terminal_id": self.terminal_id})


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:
        return False


def response_json(resp: requests.Response) -> Any:
    """The decoded body, or {} when it is not JSON."""
    try:
        return resp.json()
    except ValueError:
        return {}
