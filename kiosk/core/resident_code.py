"""Resident code (居民码 / electronic ID): a signed QR identity.

The format is part of the platform contract (central/openapi.yaml,
``ResidentCode``)::

    HKRC1.<payload>.<signature>

``payload`` is base64url (no padding) of the canonical JSON (sorted keys, no
spaces, UTF-8) of ``{"v": 1, "sub": ID number, "name": name, "iat": issued
(unix s), "exp": expires (unix s), "nonce": 32 hex, "kid": signing key id}``;
``signature`` is base64url of the platform's Ed25519 signature over
``HKRC1.<payload>`` (the ASCII of both parts).  A code lives at most
``MAX_LIFETIME_S`` (``exp - iat``); its nonce is single use (central records
it when a terminal redeems the code).

The issuer (the platform) and the verifier (a terminal, offline, against the
pinned public key) use this one module, so both sides agree byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PREFIX = "HKRC1"
MAX_LIFETIME_S = 60          # exp - iat may be no longer
CLOCK_SKEW_S = 5.0           # a terminal clock this far behind still takes a fresh code
MAX_TEXT = 1024              # longer scans are not resident codes
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_ID = re.compile(r"^[0-9]{17}[0-9X]$")


class ResidentCodeError(Exception):
    """Why a code is refused; ``key`` names the resident-facing message."""

    def __init__(self, key: str, detail: str = ""):
        from .i18n import text

        self.key = key
        self.detail = detail or key
        self.text = text(key)   # what the resident reads (zh/en)
        super().__init__(self.detail)


@dataclass(frozen=True)
class Claims:
    id_number: str
    name: str
    issued_at: int
    expires_at: int
    nonce: str
    key_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def issue(private_key: Ed25519PrivateKey, id_number: str, name: str, now: float,
          lifetime_s: int = MAX_LIFETIME_S, nonce: str | None = None) -> str:
    """A code for this person, valid ``lifetime_s`` from ``now`` (the platform's side)."""
    if not 1 <= lifetime_s <= MAX_LIFETIME_S:
        raise ValueError(f"lifetime must be 1-{MAX_LIFETIME_S} s")
    iat = int(now)
    payload = {"v": 1, "sub": id_number, "name": name, "iat": iat, "exp": iat + int(lifetime_s),
               "nonce": nonce or secrets.token_hex(16), "kid": key_id(private_key.public_key())}
    head = f"{PREFIX}.{_b64(canonical(payload))}"
    return f"{head}.{_b64(private_key.sign(head.encode('ascii')))}"


def looks_like(text: str) -> bool:
    """A scan meant as a resident code (as opposed to a receipt QR or a barcode)."""
    return isinstance(text, str) and text.startswith(PREFIX + ".")


def parse(text: str) -> tuple[str, dict, bytes]:
    """(signed part, payload, signature) of a well-formed code, else ResidentCodeError malformed."""
    if not looks_like(text) or len(text) > MAX_TEXT:
        raise ResidentCodeError("resident_code.malformed", "not a resident code")
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise ResidentCodeError("resident_code.malformed", "a resident code has three parts")
    try:
        payload = json.loads(_unb64(parts[1]).decode("utf-8"))
        signature = _unb64(parts[2])
    except (ValueError, UnicodeError):
        raise ResidentCodeError("resident_code.malformed", "payload or signature is not base64url JSON") from None
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise ResidentCodeError("resident_code.malformed", "unknown payload version")
    for key, kind in (("sub", str), ("name", str), ("iat", int), ("exp", int), ("nonce", str), ("kid", str)):
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            raise ResidentCodeError("resident_code.malformed", f"payload field {key} missing or of the wrong type")
    if not _NONCE.match(payload["nonce"]) or not _ID.match(payload["sub"]) or not 0 < len(payload["name"]) <= 64:
        raise ResidentCodeError("resident_code.malformed", "payload field out of range")
    return f"{parts[0]}.{parts[1]}", payload, signature


def verify(text: str, keys: list[Ed25519PublicKey], now: float) -> Claims:
    """The claims of a genuine, unexpired code; ResidentCodeError (malformed,
    forged, expired) otherwise.  The nonce is checked by the caller."""
    head, payload, signature = parse(text)
    for key in keys:
        try:
            key.verify(signature, head.encode("ascii"))
            break
        except InvalidSignature:
            continue
    else:
        raise ResidentCodeError("resident_code.forged", "signature does not verify with the platform key")
    iat, exp = payload["iat"], payload["exp"]
    if exp - iat > MAX_LIFETIME_S or exp <= iat:
        raise ResidentCodeError("resident_code.forged", f"lifetime {exp - iat} s is not allowed")
    if now > exp + CLOCK_SKEW_S:
        raise ResidentCodeError("resident_code.expired", f"expired {int(now - exp)} s ago")
    if iat > now + CLOCK_SKEW_S:
        raise ResidentCodeError("resident_code.expired", "issued in the future: check the terminal clock")
    return Claims(payload["sub"], payload["name"], iat, exp, payload["nonce"], payload["kid"])


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError("the resident-code key must be Ed25519")
    return key
