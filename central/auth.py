"""Who is calling: every request to central is bound to one terminal.

A terminal proves its identity with a TLS client certificate whose subject
CN is its terminal id (issued by the deployment CA at install) and/or a
bearer token of its own. The sandbox derives each terminal's token from a
per-install secret (``<state dir>/terminal-secret``, 0600), so nothing is
shared across a fleet and nothing ships:

    sandbox-<terminal id>.<HMAC-SHA256(secret, terminal id), hex>

An operator token (``sandbox-operator.<…>``) reads any case and sets any
terminal's config in the sandbox; terminals act only as themselves. Every
comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "sandbox-"  # kiosk.core.production refuses such a token in production mode
OPERATOR = "\0operator"  # never a terminal id (those are letters, digits, - and _)


@dataclass(frozen=True)
class Caller:
    terminal: str | None  # None for the operator
    via: str              # "token", "certificate" or "certificate+token"

    @property
    def operator(self) -> bool:
        return self.terminal is None

    def may_act_as(self, terminal_id: str | None) -> bool:
        return self.terminal is not None and terminal_id is not None and \
            hmac.compare_digest(self.terminal.encode(), str(terminal_id).encode())

    def may_read(self, terminal_id: str | None) -> bool:
        return self.operator or self.may_act_as(terminal_id)


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def load_secret(path: Path) -> bytes:
    """A 32-byte install secret at ``path`` (0600), made on first use; every
    server process starting at once ends up with the same one."""
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
        path.unlink()  # too short to be a secret: made anew
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = secrets.token_bytes(32)
    return write_once(path, data)


def write_once(path: Path, data: bytes) -> bytes:
    """Create ``path`` (0600) holding ``data`` unless it exists; returns what it
    holds. Server processes starting at once all end up with the first one's."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        os.link(tmp, path)  # never replaces: the first writer wins
    except FileExistsError:
        data = path.read_bytes()
    finally:
        os.unlink(tmp)
    return data


def load_signing_key(priv: Path, pub: Path):
    """An Ed25519 key kept at ``priv`` (0600; made once, the first of several
    starting server processes wins) with its public half published at ``pub``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    priv.parent.mkdir(parents=True, exist_ok=True)
    if priv.exists():
        pem = priv.read_bytes()
    else:
        pem = write_once(priv, Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key = serialization.load_pem_private_key(pem, password=None)
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if not pub.exists() or pub.read_bytes() != pub_pem:
        pub.write_bytes(pub_pem)
    return key


class TerminalAuth:
    def __init__(self, state_dir: Path):
        self._secret = load_secret(Path(state_dir) / "terminal-secret")

    def _mac(self, name: str) -> str:
        return hmac.new(self._secret, name.encode("utf-8"), hashlib.sha256).hexdigest()

    def token_for(self, terminal_id: str) -> str:
        """The sandbox's token for one terminal (``kiosk central token ID``)."""
        return f"{PREFIX}{terminal_id}.{self._mac(terminal_id)}"

    def derived_key(self, purpose: str) -> bytes:
        """A key for ``purpose`` from the per-install secret: the same in every
        server process of one deployment, different across deployments."""
        return hmac.new(self._secret, b"\0key:" + purpose.encode("utf-8"), hashlib.sha256).digest()

    @property
    def operator_token(self) -> str:
        return f"{PREFIX}operator.{self._mac(OPERATOR)}"

    def _from_token(self, token: str) -> Caller | None:
        if hmac.compare_digest(token.encode(), self.operator_token.encode()):
            return Caller(None, "token")
        name, dot, _ = token[len(PREFIX):].rpartition(".") if token.startswith(PREFIX) else ("", "", "")
        if dot and name and hmac.compare_digest(token.encode(), self.token_for(name).encode()):
            return Caller(name, "token")
        return None

    def identify(self, authorization: str, peer_cn: str | None) -> Caller:
        """The caller, or AuthError (401 no or wrong credential, 403 certificate
        and token naming different terminals)."""
        scheme, _, token = (authorization or "").partition(" ")
        by_token = self._from_token(token.strip()) if scheme.lower() == "bearer" and token else None
        if authorization and by_token is None:
            raise AuthError(401, "unauthorized", "wrong bearer token")
        if peer_cn:
            if by_token is not None and not by_token.may_act_as(peer_cn):
                raise AuthError(403, "identity_mismatch", "the token is not the client certificate's terminal")
            return Caller(peer_cn, "certificate+token" if by_token else "certificate")
        if by_token is None:
            raise AuthError(401, "unauthorized", "missing credential: a client certificate or a bearer token")
        return by_token


def peer_common_name(scope: dict) -> str | None:
    """The TLS client certificate's subject CN, put in the request state by
    ``PeerCertProtocol`` (None without TLS or without a client certificate)."""
    state = scope.get("state") or {}
    return state.get("tls_peer_cn")


def peer_cert_protocol():
    """uvicorn's h11 protocol that records the verified client certificate's
    CN per connection (uvicorn does not pass the peer certificate to the app);
    ``central.tls_protocol:PeerCertProtocol`` names it for worker processes."""
    from .tls_protocol import PeerCertProtocol

    return PeerCertProtocol
