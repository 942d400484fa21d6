"""Encryption at rest for personal data in the case store (AES-256-GCM).

Keys live in ``<data_dir>/keys/`` as ``case-<kid>.key`` (32 random bytes,
mode 0600, directory 0700); ``case-key.current`` names the key used for new
data.  Every ciphertext starts with a version byte and its key id, so rotating
keys never strands old rows: old keys decrypt what they wrote until the rows
are re-encrypted or purged, then the old key file can be retired.

Blob layout: ``0x01 | len(kid) | kid (ascii) | nonce (12) | ciphertext+tag``.
The associated data binds a blob to its row (the case id), so a ciphertext
copied onto another row does not decrypt.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
CURRENT_FILE = "case-key.current"


class KeyMissing(Exception):
    def __init__(self, key_id: str):
        self.key_id = key_id
        super().__init__(f"case encryption key {key_id!r} is missing")


class DecryptError(Exception):
    pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_temp(path: Path, data: bytes) -> Path:
    """``data`` in a fsynced 0600 temp file next to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _write_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` durably, only if it does not exist yet
    (hard-link a fsynced temp file into place). Returns False if it existed."""
    tmp = _durable_temp(path, data)
    try:
        os.link(tmp, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)
    return created


def _replace(path: Path, data: bytes) -> None:
    os.replace(_durable_temp(path, data), path)
    _fsync_dir(path.parent)


class KeyRing:
    """The case keys of one data directory."""

    def __init__(self, keys_dir: str | os.PathLike):
        self.dir = Path(keys_dir)
        self._lock = threading.Lock()
        self._aead: dict[str, AESGCM] = {}
        self._current: str | None = None

    # -- key files ---------------------------------------------------------
    def _key_path(self, kid: str) -> Path:
        return self.dir / f"case-{kid}.key"

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)

    def _new_key_file(self) -> str:
        self._ensure_dir()
        while True:
            kid = secrets.token_hex(4)
            if _write_exclusive(self._key_path(kid), AESGCM.generate_key(bit_length=256)):
                return kid

    def current_id(self, create: bool = True) -> str | None:
        with self._lock:
            if self._current is None:
                pointer = self.dir / CURRENT_FILE
                try:
                    self._current = pointer.read_text("ascii").strip() or None
                except FileNotFoundError:
                    if not create:
                        return None
                    kid = self._new_key_file()
                    # Two processes starting at once: the first pointer wins.
                    if not _write_exclusive(pointer, kid.encode("ascii")):
                        self._key_path(kid).unlink(missing_ok=True)
                        kid = pointer.read_text("ascii").strip()
                    self._current = kid
            return self._current

    def key_ids(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name[5:-4] for p in self.dir.glob("case-*.key"))

    def has_key(self, kid: str) -> bool:
        return self._key_path(kid).is_file()

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._aead.get(kid)
        if cipher is None:
            try:
                raw = self._key_path(kid).read_bytes()
            except FileNotFoundError:
                raise KeyMissing(kid) from None
            if len(raw) != 32:
                raise KeyMissing(kid)
            cipher = self._aead[kid] = AESGCM(raw)
        return cipher

    def rotate(self) -> str:
        """Make a fresh key current; older keys stay for decryption."""
        kid = self._new_key_file()
        _replace(self.dir / CURRENT_FILE, kid.encode("ascii"))
        with self._lock:
            self._current = kid
        return kid

    def retire(self, kid: str) -> None:
        if kid == self.current_id(create=False):
            raise ValueError("the current key cannot be retired")
        self._aead.pop(kid, None)
        self._key_path(kid).unlink(missing_ok=True)

    # -- data --------------------------------------------------------------
    def encrypt(self, plaintext: bytes, aad: bytes, kid: str | None = None) -> tuple[str, bytes]:
        kid = kid or self.current_id()
        assert kid is not None
        nonce = os.urandom(12)
        ct = self._cipher(kid).encrypt(nonce, plaintext, aad)
        k = kid.encode("ascii")
        return kid, bytes((VERSION, len(k))) + k + nonce + ct

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        if len(blob) < 2 or blob[0] != VERSION:
            raise DecryptError("unknown ciphertext version")
        return blob[2:2 + blob[1]].decode("ascii")

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        kid = self.key_id_of(blob)
        start = 2 + blob[1]
        nonce, ct = blob[start:start + 12], blob[start + 12:]
        try:
            return self._cipher(kid).decrypt(nonce, ct, aad)
        except InvalidTag:
            raise DecryptError(f"ciphertext under key {kid} failed authentication") from None
