"""Signed certificate payloads (Ed25519) and their offline verification.

QR payload, one line of ASCII::

    KC1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>

The signature covers the bytes ``KC1.<base64url(JSON claims)>``.  Claims:

    v  format version (1)             t  document type (no_property, ...)
    s  serial number                  a  masked applicant ("欧** 3210**********0016")
    i  issue time (ISO 8601, seconds) h  base64url SHA-256 of the canonical content
    k  key id (16 hex: SHA-256 of the raw public key, first 8 bytes)

Canonical content: the document's printed fields as a JSON object, every
string NFC-normalised, keys sorted, no insignificant whitespace, UTF-8
(``canonical_content``).  The PDF carries the payload and the canonical
content in its document information (``/KioskCertificate``,
``/KioskContent``), so ``verify_pdf`` needs no camera: it checks the
signature, the content hash, and that every content value is printed on the page.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

PREFIX = "KC1."
PDF_PAYLOAD_KEY = "/KioskCertificate"
PDF_CONTENT_KEY = "/KioskContent"

VALID, TAMPERED, UNKNOWN_KEY = "valid", "tampered", "unknown_key"


class KeyFileError(Exception):
    pass


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(str(k)): _nfc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nfc(v) for v in value]
    return value


def canonical_content(content: dict) -> str:
    """The one text form of a document's content that its hash is taken over."""
    return json.dumps(_nfc(content), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(content: dict) -> str:
    return _b64e(hashlib.sha256(canonical_content(content).encode("utf-8")).digest())


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Signer:
    """The terminal's signing key.  Its repr and logs never show key material."""

    def __init__(self, private_key: Ed25519PrivateKey, key_path: Path | None = None):
        self._key = private_key
        self.key_path = key_path
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id}, path={self.key_path})"

    @classmethod
    def generate(cls) -> "Signer":
        """A throw-away key (tests, demos without a data dir)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, key_path: str | os.PathLike) -> "Signer":
        """Load the PEM private key at ``key_path``; create it (mode 0600) on first run."""
        path = Path(key_path).expanduser()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                # O_EXCL + mode at creation: the key is never readable by others, even briefly,
                # and two processes starting together cannot overwrite each other's key.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return cls.load_or_create(path)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            signer = cls(key, path)
            signer.export_public_key(path.with_suffix(".pub"))
            log.info("signing key created", extra={"key_id": signer.key_id, "path": str(path)})
            return signer
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("signing key permissions tightened to 0600", extra={"path": str(path), "was": oct(mode)})
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path} is not a readable PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path} is not an Ed25519 key")
        signer = cls(key, path)
        pub = path.with_suffix(".pub")
        if not pub.exists():
            signer.export_public_key(pub)
        return signer

    def public_key_pem(self) -> bytes:
        return public_key_pem(self.public_key)

    def export_public_key(self, path: str | os.PathLike) -> Path:
        out = Path(path)
        out.write_bytes(self.public_key_pem())
        os.chmod(out, 0o644)
        return out

    def sign_payload(self, doc_type: str, serial: str, applicant_masked: str, issued: dt.datetime,
                     content: dict) -> str:
        claims = {
            "v": 1, "t": doc_type, "s": serial, "a": applicant_masked,
            "i": issued.replace(microsecond=0).isoformat(), "h": content_hash(content), "k": self.key_id,
        }
        body = PREFIX + _b64e(json.dumps(claims, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
        return body + "." + _b64e(self._key.sign(body.encode("ascii")))


@dataclass(frozen=True)
class Verdict:
    status: str                      # valid | tampered | unknown_key
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def line(self) -> str:
        """One line for people: what it is and why."""
        d = self.details
        if self.ok:
            return (f"valid: {d.get('type')} {d.get('serial')} for {d.get('applicant')}, "
                    f"issued {d.get('issued')} (key {d.get('key_id')})")
        if self.status == UNKNOWN_KEY:
            return f"unknown key: signed by key {d.get('key_id', '?')}, which is not trusted here"
        return f"tampered: {d.get('reason', 'signature does not match')}"


def _load_public_key(item: Any) -> Ed25519PublicKey:
    if isinstance(item, Ed25519PublicKey):
        return item
    if isinstance(item, Signer):
        return item.public_key
    data = Path(item).read_bytes() if isinstance(item, (str, os.PathLike)) and not str(item).startswith("-----") \
        else (item.encode() if isinstance(item, str) else bytes(item))
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_public_keys(items: Iterable[Any]) -> list[Ed25519PublicKey]:
    """PEM files, PEM text, key objects or Signers; unreadable entries are skipped with a warning."""
    keys = []
    for item in items:
        try:
            keys.append(_load_public_key(item))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("public key skipped", extra={"key": str(item)[:80], "reason": str(exc)})
    return keys


def decode_payload(text: str) -> tuple[dict, str, bytes]:
    """(claims, signed part, signature); raises ValueError on anything malformed."""
    text = text.strip()
    if not text.startswith(PREFIX) or text.count(".") != 2:
        raise ValueError("not a kiosk certificate code")
    signed, _, sig = text.rpartition(".")
    claims = json.loads(_b64d(signed[len(PREFIX):]).decode("utf-8"))
    if not isinstance(claims, dict) or claims.get("v") != 1:
        raise ValueError("unsupported certificate code version")
    return claims, signed, _b64d(sig)


def verify_qr(text: str, trusted_public_keys: Iterable[Any]) -> Verdict:
    """Check a QR payload's signature against the trusted keys."""
    try:
        claims, signed, sig = decode_payload(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return Verdict(TAMPERED, {"reason": f"the code is damaged or altered ({type(exc).__name__})"})
    details = {"type": claims.get("t"), "serial": claims.get("s"), "applicant": claims.get("a"),
               "issued": claims.get("i"), "content_hash": claims.get("h"), "key_id": claims.get("k")}
    keys = load_public_keys(trusted_public_keys)
    for key in keys:
        try:
            key.verify(sig, signed.encode("ascii"))
        except InvalidSignature:
            continue
        return Verdict(VALID, {**details, "key_id": key_id(key)})
    if any(key_id(k) == claims.get("k") for k in keys):
        return Verdict(TAMPERED, {**details, "reason": "signature does not match the content"})
    return Verdict(UNKNOWN_KEY, details)


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif value not in (None, ""):
        yield str(value)


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).split())


def verify_pdf(pdf: bytes | str | os.PathLike, trusted_public_keys: Iterable[Any]) -> Verdict:
    """Verify a certificate PDF offline: signature, content hash, and printed text."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        data = pdf if isinstance(pdf, (bytes, bytearray)) else Path(pdf).read_bytes()
        reader = PdfReader(io.BytesIO(data))
        meta = reader.metadata or {}
        payload = str(meta.get(PDF_PAYLOAD_KEY) or "")
        content_text = str(meta.get(PDF_CONTENT_KEY) or "")
        page_text = "".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, OSError, ValueError) as exc:
        return Verdict(TAMPERED, {"reason": f"not a readable PDF ({exc})"})
    if not payload:
        return Verdict(TAMPERED, {"reason": "no certificate code in this PDF"})
    verdict = verify_qr(payload, trusted_public_keys)
    if not verdict.ok:
        return verdict
    try:
        content = json.loads(content_text)
    except ValueError:
        return Verdict(TAMPERED, {**verdict.details, "reason": "content record missing or unreadable"})
    if content_hash(content) != verdict.details["content_hash"]:
        return Verdict(TAMPERED, {**verdict.details, "reason": "content differs from what was signed"})
    printed = _squash(page_text)
    missing = [v for v in _leaves(content) if _squash(v) not in printed]
    if missing:
        return Verdict(TAMPERED, {**verdict.details, "reason": f"page text differs from the signed content "
                                                               f"({len(missing)} field(s) not found)"})
    return verdict


# --- the terminal's keys, from the configuration --------------------------------


def key_path_for(config) -> Path:
    """``certificates.signing_key``, default ``<data_dir>/keys/signing.key``."""
    configured = str(config.get("certificates.signing_key", "") or "")
    return Path(configured).expanduser() if configured else config.data_dir / "keys" / "signing.key"


def signer_for_config(config) -> Signer:
    """The terminal's signer; the key is generated on first use."""
    return Signer.load_or_create(key_path_for(config))


def trusted_keys_for_config(config) -> list[Ed25519PublicKey]:
    """Keys a verification trusts: ``certificates.public_keys`` PEM files, every
    ``*.pub`` beside the terminal's key, and the terminal's own key."""
    key_path = key_path_for(config)
    items: list[Any] = [Path(p).expanduser() for p in config.get("certificates.public_keys", []) or []]
    if key_path.parent.is_dir():
        items += sorted(key_path.parent.glob("*.pub"))
    keys = load_public_keys(items)
    if key_path.is_file():
        try:
            keys.append(Signer.load_or_create(key_path).public_key)
        except (KeyFileError, OSError) as exc:
            log.warning("terminal key unreadable", extra={"path": str(key_path), "reason": str(exc)})
    unique: dict[str, Ed25519PublicKey] = {}
    for k in keys:
        unique.setdefault(key_id(k), k)
    return list(unique.values())
