"""Remote configuration pulled from the central platform, signed with Ed25519.

Document (JSON)::

    {"version": 7, "issued_at": "2026-11-23T10:00:00Z", "terminal": "T-0001" | "*",
     "config": {...overrides...}, "key_id": "...", "signature": "<base64>"}

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of the
document without ``signature``.  A document is applied only when the signature
verifies with a trusted key, it targets this terminal, its version is newer
than the one in force, it touches only keys the central platform may set
(never devices, transport URLs, data paths or the technician PIN), and the
merged configuration validates.  It is written atomically (temp file, fsync,
rename); anything else keeps the last good configuration and says why.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

# Keys (dotted prefixes) the central platform may set remotely.
ALLOWED_PREFIXES = (
    "terminal.hall", "terminal.hall_en", "branding.", "services.", "counters.", "staff_call.",
    "ui.idle_timeout_s", "ui.idle_warning_s", "ui.voice", "ui.volume",
    "face.threshold", "face.max_attempts", "face.liveness", "face.liveness_seconds",
    "sync.interval_s", "sync.heartbeat_s", "sync.batch_size", "store.retention_days",
    "remote_config.interval_s", "logging.level",
)

FILE_NAME = "config.json"
# Where the embedded sandbox central platform publishes its config-signing key.
EMBEDDED_PUBLIC_KEY = "central/config-signing.pub"


class RemoteConfigError(Exception):
    pass


def canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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


def _allowed(dotted: str) -> bool:
    return any(dotted == p or (p.endswith(".") and dotted.startswith(p)) for p in ALLOWED_PREFIXES)


def verify_document(doc: dict, trusted: list[Ed25519PublicKey], terminal_id: str) -> dict:
    """Return the overrides of a valid document or raise RemoteConfigError."""
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise RemoteConfigError("document has no config table")
    if not isinstance(doc.get("version"), int):
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
    bad = [k for k in _flat_keys(doc["config"]) if not _allowed(k)]
    if bad:
        raise RemoteConfigError(f"document sets keys the central platform may not set: {', '.join(sorted(bad))}")
    return doc["config"]


@dataclass
class ApplyResult:
    applied: bool
    version: int | None
    reason: str = ""


class RemoteConfigStore:
    """The verified remote layer on disk under ``<data_dir>/remote/``."""

    def __init__(self, data_dir: Path, terminal_id: str, trusted: list[Ed25519PublicKey]):
        self.dir = Path(data_dir) / "remote"
        self.terminal_id = terminal_id
        self.trusted = trusted
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
        except (ValueError, RemoteConfigError) as exc:
            self.last_error = f"stored remote config ignored: {exc}"
            log.warning("stored remote config ignored", extra={"reason": str(exc)})
            return None

    def overrides(self) -> dict:
        doc = self.current()
        return copy.deepcopy(doc["config"]) if doc else {}

    def apply(self, raw: bytes | str | dict, validate: Callable[[dict], None] | None = None) -> ApplyResult:
        with self._lock:
            try:
                doc = raw if isinstance(raw, dict) else json.loads(raw)
                overrides = verify_document(doc, self.trusted, self.terminal_id)
                now = self.current()
                if now is not None and doc["version"] <= now["version"]:
                    if doc["version"] == now["version"] and canonical(doc) == canonical(now):
                        return ApplyResult(False, now["version"], "already in force")
                    raise RemoteConfigError(f"version {doc['version']} is not newer than {now['version']} in force")
                if validate is not None:
                    validate(overrides)
            except (ValueError, RemoteConfigError) as exc:
                self.last_error = str(exc)
                log.warning("remote config rejected, keeping the last good one", extra={"reason": str(exc)})
                return ApplyResult(False, None, str(exc))
            except Exception as exc:  # validation (ConfigError) of the merged result
                self.last_error = str(exc)
                log.warning("remote config rejected, keeping the last good one", extra={"reason": str(exc)})
                return ApplyResult(False, None, str(exc))
            self._write_atomic(doc)
            self.last_error = ""
            log.info("remote config applied", extra={"version": doc["version"]})
            return ApplyResult(True, doc["version"])

    def _write_atomic(self, doc: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / (FILE_NAME + ".tmp")
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode()
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
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
