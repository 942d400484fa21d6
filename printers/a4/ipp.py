"""A small IPP/1.1-2.0 client: the binary encoding of RFC 8010 over HTTP (requests).

Why by hand: the Python IPP libraries on PyPI do not fit a synchronous driver
thread.  pyipp is asyncio/aiohttp and built for reading printer status (it has
no job submission helpers); the pycups bindings need libcups headers and only
talk to a cupsd.  The encoding itself is small and fully specified (a header,
delimiter-tagged groups, tag/name/value triplets), so it lives here, with the
few operations a kiosk needs: Print-Job, Get-Job-Attributes, Get-Jobs,
Get-Printer-Attributes, Cancel-Job.

URLs: ``ipp://host[:631]/path`` (HTTP), ``ipps://host[:631]/path`` (HTTPS) and
``cups://Queue`` (the local cupsd's IPP endpoint ``/printers/Queue``; the server
is ``?server=host:port``, else ``$CUPS_SERVER`` when it names a host, else
``localhost:631``).  ``?verify=0`` on ipps accepts a self-signed certificate.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import requests

# --- operation ids (RFC 8011 section 5.4.15) ---------------------------------
PRINT_JOB = 0x0002
VALIDATE_JOB = 0x0004
CANCEL_JOB = 0x0008
GET_JOB_ATTRIBUTES = 0x0009
GET_JOBS = 0x000A
GET_PRINTER_ATTRIBUTES = 0x000B

# --- delimiter tags -----------------------------------------------------------
OPERATION_GROUP = 0x01
JOB_GROUP = 0x02
END_OF_ATTRIBUTES = 0x03
PRINTER_GROUP = 0x04
UNSUPPORTED_GROUP = 0x05

# --- value tags ---------------------------------------------------------------
UNSUPPORTED = 0x10
UNKNOWN = 0x12
NO_VALUE = 0x13
INTEGER = 0x21
BOOLEAN = 0x22
ENUM = 0x23
OCTET_STRING = 0x30
DATE_TIME = 0x31
RESOLUTION = 0x32
RANGE = 0x33
BEGIN_COLLECTION = 0x34
TEXT_WITH_LANGUAGE = 0x35
NAME_WITH_LANGUAGE = 0x36
END_COLLECTION = 0x37
TEXT = 0x41
NAME = 0x42
KEYWORD = 0x44
URI = 0x45
URI_SCHEME = 0x46
CHARSET = 0x47
LANGUAGE = 0x48
MIME_TYPE = 0x49
MEMBER_NAME = 0x4A
EXTENSION = 0x7F

_STRING_TAGS = {TEXT, NAME, KEYWORD, URI, URI_SCHEME, CHARSET, LANGUAGE, MIME_TYPE, MEMBER_NAME}

# job-state (RFC 8011 section 5.3.7) and printer-state (5.4.11)
JOB_STATES = {3: "pending", 4: "pending-held", 5: "processing", 6: "processing-stopped",
              7: "canceled", 8: "aborted", 9: "completed"}
TERMINAL_JOB_STATES = {7, 8, 9}
SERVER_ERROR_BUSY = 0x0507
PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}

STATUS_NAMES = {
    0x0000: "successful-ok",
    0x0001: "successful-ok-ignored-or-substituted-attributes",
    0x0002: "successful-ok-conflicting-attributes",
    0x0400: "client-error-bad-request",
    0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated",
    0x0403: "client-error-not-authorized",
    0x0404: "client-error-not-possible",
    0x0405: "client-error-timeout",
    0x0406: "client-error-not-found",
    0x0407: "client-error-gone",
    0x0408: "client-error-request-entity-too-large",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported",
    0x0500: "server-error-internal-error",
    0x0501: "server-error-operation-not-supported",
    0x0502: "server-error-service-unavailable",
    0x0503: "server-error-version-not-supported",
    0x0504: "server-error-device-error",
    0x0505: "server-error-temporary-error",
    0x0506: "server-error-not-accepting-jobs",
    0x0507: "server-error-busy",
    0x0508: "server-error-job-canceled",
}


class IppError(Exception):
    """An IPP-level failure: an error status from the printer or a malformed message."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status or 0, f"0x{self.status or 0:04x}")


class IppConnectionError(IppError):
    """The printer could not be reached (refused, DNS, TLS, timeout)."""


class AttributeGroup(dict):
    """One attribute group; every value is kept as a list (IPP attributes are 1setOf)."""

    def __init__(self, tag: int):
        super().__init__()
        self.tag = tag

    def one(self, name: str, default: Any = None) -> Any:
        values = self.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list:
        return list(self.get(name) or [])

    def plain(self) -> dict:
        """Single values unwrapped, for logs and JSON."""
        return {k: (v[0] if len(v) == 1 else v) for k, v in self.items()}


@dataclass
class IppResponse:
    version: tuple[int, int]
    status: int
    request_id: int
    groups: list[AttributeGroup] = field(default_factory=list)
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status < 0x0100

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"0x{self.status:04x}")

    def group(self, tag: int) -> AttributeGroup:
        for g in self.groups:
            if g.tag == tag:
                return g
        return AttributeGroup(tag)

    def groups_of(self, tag: int) -> list[AttributeGroup]:
        return [g for g in self.groups if g.tag == tag]

    @property
    def status_message(self) -> str:
        return str(self.group(OPERATION_GROUP).one("status-message", "") or "")


# --- encoding -----------------------------------------------------------------

Attr = tuple[str, int, Any]  # (name, value tag, value or list of values)


def _encode_value(tag: int, value: Any) -> bytes:
    if tag in (INTEGER, ENUM):
        return struct.pack(">i", int(value))
    if tag == BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag in _STRING_TAGS or tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
            lang, text = value
            lb, tb = lang.encode("ascii"), text.encode("utf-8")
            return struct.pack(">H", len(lb)) + lb + struct.pack(">H", len(tb)) + tb
        return str(value).encode("utf-8")
    if tag == OCTET_STRING:
        return bytes(value)
    if tag == RANGE:
        return struct.pack(">ii", *value)
    if tag == RESOLUTION:
        x, y, units = value
        return struct.pack(">iib", x, y, units)
    if tag in (NO_VALUE, UNKNOWN, UNSUPPORTED):
        return b""
    raise IppError(f"cannot encode value tag 0x{tag:02x}")


def _encode_attr(name: str, tag: int, value: Any) -> bytes:
    # A list is 1setOf; a tuple is one structured value (range, resolution, text with language).
    values = value if isinstance(value, list) else [value]
    out = bytearray()
    for i, v in enumerate(values):
        nb = name.encode("ascii") if i == 0 else b""
        vb = _encode_value(tag, v)
        out += struct.pack(">BH", tag, len(nb)) + nb + struct.pack(">H", len(vb)) + vb
    return bytes(out)


def encode_request(operation: int, request_id: int, groups: Iterable[tuple[int, Iterable[Attr]]],
                   version: tuple[int, int] = (2, 0)) -> bytes:
    """Header + attribute groups + end-of-attributes (document data is appended by the caller)."""
    out = bytearray(struct.pack(">BBHI", version[0], version[1], operation, request_id))
    for group_tag, attrs in groups:
        out.append(group_tag)
        for name, tag, value in attrs:
            out += _encode_attr(name, tag, value)
    out.append(END_OF_ATTRIBUTES)
    return bytes(out)


# --- decoding -----------------------------------------------------------------


def _decode_value(tag: int, raw: bytes) -> Any:
    if tag in (INTEGER, ENUM):
        if len(raw) != 4:
            raise IppError(f"integer value of {len(raw)} bytes")
        return struct.unpack(">i", raw)[0]
    if tag == BOOLEAN:
        return raw != b"\x00"
    if tag in _STRING_TAGS:
        return raw.decode("utf-8", "replace")
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):
        (ll,) = struct.unpack_from(">H", raw, 0)
        (tl,) = struct.unpack_from(">H", raw, 2 + ll)
        return raw[4 + ll:4 + ll + tl].decode("utf-8", "replace")
    if tag == DATE_TIME and len(raw) == 11:
        y, mo, d, h, mi, s, ds, sign, oh, om = struct.unpack(">HBBBBBBcBB", raw)
        offset = _dt.timedelta(hours=oh, minutes=om) * (-1 if sign == b"-" else 1)
        return _dt.datetime(y, mo, d, h, mi, s, ds * 100000, tzinfo=_dt.timezone(offset))
    if tag == RESOLUTION and len(raw) == 9:
        return struct.unpack(">iib", raw)
    if tag == RANGE and len(raw) == 8:
        return struct.unpack(">ii", raw)
    if tag in (NO_VALUE, UNKNOWN, UNSUPPORTED):
        return None
    return bytes(raw)  # octetString and anything unknown: keep the bytes


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise IppError("truncated IPP message")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def triplet(self, tag: int) -> tuple[str, bytes]:
        if tag == EXTENSION:  # RFC 8010: the real tag follows as 4 bytes; not used by printers we meet
            raise IppError("extension value tags are not supported")
        name = self.take(self.u16()).decode("ascii", "replace")
        return name, self.take(self.u16())


def _decode_collection(r: _Reader) -> dict:
    out: dict[str, list] = {}
    member = None
    while True:
        tag = r.u8()
        name, raw = r.triplet(tag)
        if tag == END_COLLECTION:
            return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}
        if tag == MEMBER_NAME:
            member = raw.decode("utf-8", "replace")
            out.setdefault(member, [])
            continue
        value = _decode_collection(r) if tag == BEGIN_COLLECTION else _decode_value(tag, raw)
        if member is None:
            raise IppError("collection value without a member name")
        out[member].append(value)


def decode_response(data: bytes) -> IppResponse:
    r = _Reader(data)
    major, minor = r.u8(), r.u8()
    status = r.u16()
    (request_id,) = struct.unpack(">I", r.take(4))
    resp = IppResponse((major, minor), status, request_id)
    group: AttributeGroup | None = None
    last: str | None = None
    while True:
        tag = r.u8()
        if tag == END_OF_ATTRIBUTES:
            break
        if tag < 0x10:  # a delimiter: a new group begins
            group = AttributeGroup(tag)
            resp.groups.append(group)
            last = None
            continue
        if group is None:
            raise IppError("attribute outside a group")
        name, raw = r.triplet(tag)
        value = _decode_collection(r) if tag == BEGIN_COLLECTION else _decode_value(tag, raw)
        if name:
            last = name
            group[name] = [value]
        elif last is not None:  # an additional value of the previous attribute
            group[last].append(value)
        else:
            raise IppError("additional value without an attribute")
    resp.data = data[r.pos:]
    return resp


# --- URLs ---------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterEndpoint:
    http_url: str      # where the POST goes
    printer_uri: str   # the printer-uri attribute inside the request
    verify: bool = True


def endpoint_for(url: str) -> PrinterEndpoint:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    verify = params.get("verify", "1").lower() not in ("0", "false", "no")
    if parts.scheme == "cups":
        queue = unquote(parts.netloc + parts.path).strip("/")
        if not queue:
            raise ValueError(f"cups:// URL needs a queue name: {url!r}")
        server = params.get("server") or os.environ.get("CUPS_SERVER", "")
        if not server or server.startswith("/"):  # a socket path: use the loopback listener instead
            server = "localhost:631"
        if ":" not in server:
            server += ":631"
        path = "/printers/" + quote(queue)
        return PrinterEndpoint(f"http://{server}{path}", f"ipp://{server}{path}", verify)
    if parts.scheme in ("ipp", "ipps", "http", "https"):
        if not parts.hostname:
            raise ValueError(f"printer URL needs a host: {url!r}")
        port = parts.port or 631
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        path = parts.path or "/ipp/print"
        secure = parts.scheme in ("ipps", "https")
        http_url = f"{'https' if secure else 'http'}://{host}:{port}{path}"
        return PrinterEndpoint(http_url, f"{'ipps' if secure else 'ipp'}://{host}:{port}{path}", verify)
    raise ValueError(f"not a printer URL (ipp://, ipps://, cups://): {url!r}")


# --- client -------------------------------------------------------------------

PRINTER_STATUS_ATTRIBUTES = (
    "printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
    "printer-name", "printer-make-and-model", "queued-job-count", "document-format-supported",
    "marker-levels", "marker-names",
)
JOB_STATUS_ATTRIBUTES = (
    "job-id", "job-state", "job-state-reasons", "job-state-message", "job-name",
    "job-impressions-completed", "time-at-creation", "time-at-processing", "time-at-completed",
)


class IppClient:
    """Synchronous IPP client for one printer; thread-compatible (one session per client)."""

    def __init__(self, url: str, timeout: float = 10.0, user: str = "kiosk", language: str = "en"):
        self.url = url
        self.endpoint = endpoint_for(url)
        self.timeout = timeout
        self.user = user
        self.language = language
        self._ids = itertools.count(1)
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _operation_attrs(self, extra: Iterable[Attr] = ()) -> list[Attr]:
        return [
            ("attributes-charset", CHARSET, "utf-8"),
            ("attributes-natural-language", LANGUAGE, self.language),
            ("printer-uri", URI, self.endpoint.printer_uri),
            ("requesting-user-name", NAME, self.user),
            *extra,
        ]

    def request(self, operation: int, attrs: Iterable[Attr] = (), groups: Iterable[tuple[int, Iterable[Attr]]] = (),
                data: bytes = b"", check: bool = True) -> IppResponse:
        body = encode_request(operation, next(self._ids), [(OPERATION_GROUP, self._operation_attrs(attrs)), *groups])
        try:
            resp = self._session.post(
                self.endpoint.http_url, data=body + data, timeout=self.timeout, verify=self.endpoint.verify,
                headers={"Content-Type": "application/ipp", "Accept": "application/ipp"},
            )
        except requests.RequestException as exc:
            raise IppConnectionError(_short_reason(exc)) from None
        if resp.status_code != 200:
            raise IppError(f"HTTP {resp.status_code} from {self.endpoint.http_url}")
        if not resp.headers.get("Content-Type", "application/ipp").startswith("application/ipp"):
            raise IppError(f"not an IPP answer ({resp.headers.get('Content-Type')}) from {self.endpoint.http_url}")
        decoded = decode_response(resp.content)
        if check and not decoded.ok:
            msg = decoded.status_message
            raise IppError(f"{decoded.status_name}" + (f": {msg}" if msg else ""), decoded.status)
        return decoded

    def get_printer_attributes(self, requested: Iterable[str] = PRINTER_STATUS_ATTRIBUTES) -> AttributeGroup:
        resp = self.request(GET_PRINTER_ATTRIBUTES, [("requested-attributes", KEYWORD, list(requested))])
        return resp.group(PRINTER_GROUP)

    def print_job(self, document: bytes, job_name: str, document_format: str = "application/pdf",
                  job_attrs: Iterable[Attr] = (), busy_wait: float = 0.0) -> AttributeGroup:
        """Print-Job; returns the job group (job-id, job-state, job-uri...).

        A printer without a queue (ippeveprinter, many small IPP printers)
        answers server-error-busy while it prints another job; ``busy_wait``
        seconds are spent retrying that.
        """
        deadline = time.monotonic() + busy_wait
        while True:
            try:
                resp = self.request(
                    PRINT_JOB,
                    [("job-name", NAME, job_name[:255]), ("document-format", MIME_TYPE, document_format)],
                    groups=[(JOB_GROUP, list(job_attrs))] if job_attrs else [],
                    data=document,
                )
                break
            except IppError as exc:
                if exc.status != SERVER_ERROR_BUSY or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
        job = resp.group(JOB_GROUP)
        if job.one("job-id") is None:
            raise IppError("the printer accepted the job but returned no job-id")
        return job

    def get_job_attributes(self, job_id: int, requested: Iterable[str] = JOB_STATUS_ATTRIBUTES) -> AttributeGroup:
        resp = self.request(GET_JOB_ATTRIBUTES, [("job-id", INTEGER, job_id),
                                                 ("requested-attributes", KEYWORD, list(requested))])
        return resp.group(JOB_GROUP)

    def get_jobs(self, which: str = "not-completed", requested: Iterable[str] = JOB_STATUS_ATTRIBUTES,
                 limit: int = 500) -> list[AttributeGroup]:
        resp = self.request(GET_JOBS, [("limit", INTEGER, limit), ("which-jobs", KEYWORD, which),
                                       ("requested-attributes", KEYWORD, list(requested))])
        return resp.groups_of(JOB_GROUP)

    def cancel_job(self, job_id: int) -> None:
        self.request(CANCEL_JOB, [("job-id", INTEGER, job_id)])


def _short_reason(exc: Exception) -> str:
    """One readable line for a transport failure (requests nests the cause deeply)."""
    if isinstance(exc, requests.ConnectTimeout) or isinstance(exc, requests.ReadTimeout):
        return "timed out"
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "certificate verify failed", "Network is unreachable", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower() if marker != "Connection refused" else "connection refused"
    return type(exc).__name__
