"""Remote configuration pulled from the central platform, signed with Ed25519.

Document (JSON)::

    {"version": 7, "issued_at": "2026-11-23T10:00:00Z", "terminal": "T-0001" | "*",
     "config": {...overrides...}, "key_id": "...", "signature": "<base64>"}

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of the
document without ``signature``.  A document is applied only when the signature
verifies with a trusted key, it targets this terminal, it was issued neither in
the future (beyond ``CLOCK_SKEW_S``) nor longer ago than ``MAX_AGE_S``, its
version is newer than the highest ever accepted (kept apart from the document,
so a damaged or deleted ``config.json`` does not reopen the door to an older
one), it sets only known keys the central platform may set and none of the
security-relevant ones (``SECURITY_KEYS``), and the merged configuration
validates.  It is written atomically (temp file, fsync, rename); anything else
keeps the last good configuration and says why.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import canonical_json

log = logging.getLogger(__name__)

# Keys (dotted prefixes) the central platform may set remotely.
ALLOWED_PREFIXES = (
    "terminal.hall", "terminal.hall_en", "branding.", "services.", "counters.",
    "ui.idle_timeout_s", "ui.idle_warning_s", "ui.voice", "ui.volume",
    "face.max_attempts", "face.liveness_seconds",
    "sync.interval_s", "sync.heartbeat_s", "sync.batch_size",
    "remote_config.interval_s", "logging.level",
)

# Security-relevant keys (dotted key or prefix ending in ".") that only the
# terminal's own file sets, with why; checked before the allow list.
SECURITY_KEYS = {
    "mode": "demo mode lifts the production checks",
    "devices.": "a device transport decides whose card and face are read",
    "central.": "where cases go and how the terminal proves who it is",
    "sms.": "where one-time codes are sent",
    "staff_call.target": "where staff calls go; a resident waits for that help",
    "technician.": "the technician PIN and its lockout",
    "staff.": "staff-assisted verification and its lockout",
    "face.liveness": "liveness is what refuses a held-up photo",
    "face.accept_below": "a looser threshold lets another person's face match (calibrated on site, docs/face.md)",
    "face.reject_above": "the uncertain band decides when a face is refused or looked at again (docs/face.md)",
    "face.min_frames": "how many camera frames a face decision rests on",
    "face.max_frames": "how many camera frames a face decision rests on",
    "face.fuse_best": "how many camera frames a face decision rests on",
    "face.engine": "the face encoder in use",
    "certificates.": "document signing keys and trust",
    "remote_config.public_key": "the key that checks these documents",
    "resident_code.": "the key that checks residents' electronic IDs",
    "remote_config.enabled": "switching remote configuration itself",
    "data.": "where personal data is kept",
    "store.retention_days": "how long personal data is kept",
    "metrics.": "what listens on the network",
    "branding.logo": "a file path on the terminal",
}
CLOCK_SKEW_S = 300.0          # a document issued this far in the future is still taken
MAX_AGE_S = 7 * 86400.0       # older documents are refused (replayed captures)

FILE_NAME = "config.json"
HIGHEST_NAME = "highest.json"  # highest version ever accepted, kept apart from the document
# Where the embedded sandbox central platform publishes its config-signing key.
EMBEDDED_PUBLIC_KEY = "central/config-signing.pub"


class RemoteConfigError(Exception):
    pass


def canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return canonical_json(body)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_document(doc: dict, private_key: Ed25519PrivateKey) -> dict:
    out = dict(doc)
    out["key_id"] = key_id(private_key.public_key())
    out["signature"] = base64.b64encode(private_key.sign(canonical(out))).decode()
    return out


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise RemoteConfigError("config signing key must be Ed25519")
    return key


def _flat_keys(data: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in data.items():
        full = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.extend(_flat_keys(v, full + "."))
        else:
            out.append(full)
    return out


def _matches(dotted: str, prefixes) -> bool:
    return any(dotted == p or (p.endswith(".") and dotted.startswith(p)) for p in prefixes)


def _allowed(dotted: str) -> bool:
    return _matches(dotted, ALLOWED_PREFIXES)


def key_problem(keys: list[str]) -> str | None:
    """Why a document may not set these dotted keys, or None."""
    from .config import _SCHEMA

    why = {k: reason for k in keys for entry, reason in SECURITY_KEYS.items() if _matches(k, [entry])}
    if why:
        listed = "; ".join(f"{k}: {why[k]}" for k in sorted(why))
        return f"document sets security-relevant keys that only the terminal sets ({listed})"
    bad = sorted(k for k in keys if not _allowed(k))
    if bad:
        return f"document sets keys the central platform may not set: {', '.join(bad)}"
    unknown = sorted(k for k in keys if k not in _SCHEMA)
    if unknown:
        return f"document sets unknown keys: {', '.join(unknown)}"
    return None


def _issued_at(doc: dict) -> float:
    raw = doc.get("issued_at")
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise RemoteConfigError("document has no issued_at time with a time zone")
    return when.timestamp()


def verify_document(doc: dict, trusted: list[Ed25519PublicKey], terminal_id: str, now: float | None = None) -> dict:
    """Return the overrides of a valid document or raise RemoteConfigError.

    With ``now`` (a document about to be applied) its issue time must lie
    within [now - MAX_AGE_S, now + CLOCK_SKEW_S]; the document in force is
    re-checked without it, so it does not expire while central is silent."""
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise RemoteConfigError("document has no config table")
    if not isinstance(doc.get("version"), int) or isinstance(doc.get("version"), bool):
        raise RemoteConfigError("document has no integer version")
    try:
        signature = base64.b64decode(doc.get("signature") or "", validate=True)
    except (ValueError, TypeError):
        raise RemoteConfigError("signature is not base64") from None
    body = canonical(doc)
    for key in trusted:
        try:
            key.verify(signature, body)
            break
        except InvalidSignature:
            continue
    else:
        raise RemoteConfigError("signature does not verify with a trusted key")
    target = doc.get("terminal", "*")
    if target not in ("*", terminal_id):
        raise RemoteConfigError(f"document is for terminal {target}, not {terminal_id}")
    issued = _issued_at(doc)
    if now is not None and issued > now + CLOCK_SKEW_S:
        raise RemoteConfigError(f"document is issued in the future ({doc['issued_at']}); check the terminal clock")
    if now is not None and issued < now - MAX_AGE_S:
        raise RemoteConfigError(f"document is too old (issued {doc['issued_at']}, at most {MAX_AGE_S / 86400:g} days)")
    problem = key_problem(_flat_keys(doc["config"]))
    if problem:
        raise RemoteConfigError(problem)
    return doc["config"]


def content_digest(doc: dict) -> str:
    """What a document says, without when it was issued or its signature: the
    same version re-issued by central is the same document."""
    body = {k: v for k, v in doc.items() if k not in ("signature", "key_id", "issued_at")}
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass
class ApplyResult:
    applied: bool
    version: int | None
    reason: str = ""


class RemoteConfigStore:
    """The verified remote layer on disk under ``<data_dir>/remote/``."""

    def __init__(self, data_dir: Path, terminal_id: str, trusted: list[Ed25519PublicKey],
                 clock: Callable[[], float] = time.time):
        self.dir = Path(data_dir) / "remote"
        self.terminal_id = terminal_id
        self.trusted = trusted
        self.clock = clock
        self._lock = threading.Lock()
        self.last_error: str = ""

    @property
    def path(self) -> Path:
        return self.dir / FILE_NAME

    def current(self) -> dict | None:
        """The document in force, re-verified (a file edited on disk is ignored)."""
        try:
            doc = json.loads(self.path.read_text("utf-8"))
            verify_document(doc, self.trusted, self.terminal_id)
            return doc
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError, RemoteConfigError) as exc:
            self.last_error = f"stored remote config ignored: {exc}"
            log.warning("stored remote config ignored", extra={"reason": str(exc)})
            return None

    def overrides(self) -> dict:
        doc = self.current()
        return copy.deepcopy(doc["config"]) if doc else {}

    def highest(self) -> tuple[int, str]:
        """(version, content digest) of the newest document ever accepted."""
        try:
            rec = json.loads((self.dir / HIGHEST_NAME).read_text("utf-8"))
            if isinstance(rec.get("version"), int) and isinstance(rec.get("digest"), str):
                return rec["version"], rec["digest"]
        except FileNotFoundError:
            pass
        except (ValueError, AttributeError) as exc:
            log.warning("remote config version record unreadable", extra={"reason": str(exc)})
        return 0, ""

    def _check_version(self, doc: dict, now: dict | None) -> str | None:
        """A reason not to apply (already in force), None to apply, or raise for an older one."""
        version, digest = doc["version"], content_digest(doc)
        if now is not None and version == now["version"] and digest == content_digest(now):
            return "already in force"
        floor, floor_digest = self.highest()
        if now is not None and now["version"] > floor:
            floor, floor_digest = now["version"], content_digest(now)
        if version < floor or (version == floor and digest != floor_digest):
            raise RemoteConfigError(f"version {version} is not newer than {floor} already accepted")
        return None  # newer, or the accepted one again after config.json was lost

    def apply(self, raw: bytes | str | dict, validate: Callable[[dict], None] | None = None) -> ApplyResult:
        with self._lock:
            try:
                doc = raw if isinstance(raw, dict) else json.loads(raw)
                overrides = verify_document(doc, self.trusted, self.terminal_id, now=self.clock())
                now = self.current()
                if self._check_version(doc, now):
                    return ApplyResult(False, doc["version"], "already in force")
                if validate is not None:
                    validate(overrides)
            except Exception as exc:  # RemoteConfigError, JSON errors, ConfigError of the merged result
                self.last_error = str(exc)
                log.warning("remote config rejected, keeping the last good one", extra={"reason": str(exc)})
                self._audit("remote_config_refused", raw, reason=str(exc))
                return ApplyResult(False, None, str(exc))
            # the version record first: a crash between the two writes leaves
            # the newer floor, and the same document is taken again
            self._write_atomic(HIGHEST_NAME, {"version": doc["version"], "digest": content_digest(doc)})
            self._write_atomic(FILE_NAME, doc)
            self.last_error = ""
            log.info("remote config applied", extra={"version": doc["version"]})
            self._audit("remote_config_applied", doc)
            return ApplyResult(True, doc["version"])

    def _audit(self, kind: str, doc: Any, **fields: Any) -> None:
        from .audit import record_at

        version = doc.get("version") if isinstance(doc, dict) else None
        record_at(self.dir.parent, self.terminal_id, kind, version=version, **fields)

    def _write_atomic(self, name: str, doc: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.dir / (name + ".tmp")
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode()
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / name)
        dfd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class RemoteConfigPoller:
    """Pulls the document at start and every ``interval_s``; ``on_applied`` lets
    the app take the new values (services, branding, timeouts) live."""

    def __init__(self, fetch: Callable[[], Any], store: RemoteConfigStore, interval_s: float,
                 validate: Callable[[dict], None] | None = None, on_applied: Callable[[dict], None] | None = None):
        self.fetch = fetch
        self.store = store
        self.interval_s = interval_s
        self.validate = validate
        self.on_applied = on_applied
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> ApplyResult:
        try:
            doc = self.fetch()
        except Exception as exc:  # network down: keep what we have, try later
            return ApplyResult(False, None, f"fetch failed: {exc}")
        if not doc:
            return ApplyResult(False, None, "no document")
        result = self.store.apply(doc, self.validate)
        if result.applied and self.on_applied:
            self.on_applied(self.store.overrides())
        return result

    def start(self) -> None:
        def run() -> None:
            while True:
                self.poll_once()
                if self._stop.wait(self.interval_s):
                    return

        self._thread = threading.Thread(target=run, name="remote-config", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def trusted_keys_from_config(config, extra_pems: list[bytes] = ()) -> list[Ed25519PublicKey]:
    keys = []
    path = config.get("remote_config.public_key", "")
    if not path and str(config.get("central.url", "")).startswith("embedded:"):
        embedded = Path(os.path.expanduser(config.get("data.dir"))) / EMBEDDED_PUBLIC_KEY
        path = str(embedded) if embedded.exists() else ""
    if path:
        try:
            keys.append(load_public_key(Path(os.path.expanduser(path)).read_bytes()))
        except (OSError, ValueError, RemoteConfigError) as exc:
            log.warning("remote config key unreadable", extra={"reason": str(exc)})
    for pem in extra_pems:
        keys.append(load_public_key(pem))
    return keys
