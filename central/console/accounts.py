"""Operator accounts and sessions of the console.

Passwords are kept as scrypt hashes (``hashlib.scrypt``, a memory-hard KDF)
with a per-password salt; there is no default account: the first one is made
with ``kiosk central operator add NAME``. Failed logins are counted per
name (known or not, so the answer never tells whether a name exists); after
``FREE_FAILURES`` the name is locked for a time that doubles with each
further failure, up to ``MAX_LOCK_S``.

A session is a random token in an HttpOnly, SameSite=Strict cookie; the
database keeps only its SHA-256, with the operator, a per-session CSRF token
and its idle and absolute expiry. Terminal tokens and console sessions are
separate worlds: the console never reads a bearer token, and the terminal API
never reads this cookie.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass

# Created by migration 3 (central/migrations.py).
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS console_operators (
        name        TEXT PRIMARY KEY,
        pw_hash     TEXT NOT NULL,
        created_at  DOUBLE PRECISION NOT NULL,
        disabled    BIGINT NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS console_sessions (
        token_hash  TEXT PRIMARY KEY,
        operator    TEXT NOT NULL,
        csrf        TEXT NOT NULL,
        created_at  DOUBLE PRECISION NOT NULL,
        seen_at     DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS console_login_failures (
        name         TEXT PRIMARY KEY,
        failures     BIGINT NOT NULL,
        locked_until DOUBLE PRECISION NOT NULL)""",
]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1     # 16 MiB per hash: slow to guess offline
FREE_FAILURES = 5                                # wrong passwords before the first lock
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 3600.0
FORGET_S = 86400.0                               # failures older than this are forgotten
IDLE_S = 30 * 60.0                               # a session unused this long ends
ABSOLUTE_S = 12 * 3600.0                         # and every session ends after a shift


class AccountError(ValueError):
    """A name or password that cannot be used (one line for the CLI)."""


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32,
                            maxmem=128 * n * SCRYPT_R * 2)
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=128 * int(n) * int(r) * 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# At most two hashes at once: a flood of sign-ins under made-up names cannot
# take every core and all memory (each hash holds 16 MiB).
_HASHING = threading.BoundedSemaphore(2)

@functools.cache
def _dummy() -> str:
    """Spent on unknown names too, so a wrong name takes as long as a wrong password."""
    return hash_password(secrets.token_hex(16))


def check_new(name: str, password: str) -> None:
    if not NAME_RE.match(name):
        raise AccountError("operator name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    if password.strip() != password or password.lower() in name.lower() or name.lower() in password.lower():
        raise AccountError("password: no leading or trailing spaces, and not containing the name")


def add_operator(db, name: str, password: str, now: float) -> None:
    check_new(name, password)
    pw = hash_password(password)
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM console_operators WHERE name = ?", (name,)):
            raise AccountError(f"operator {name} exists (use 'operator password' to change it)")
        tx.run("INSERT INTO console_operators(name, pw_hash, created_at, disabled) VALUES (?,?,?,0)",
               (name, pw, now))


def set_password(db, name: str, password: str) -> None:
    check_new(name, password)
    pw = hash_password(password)
    with db.transaction() as tx:
        if not tx.run("UPDATE console_operators SET pw_hash = ?, disabled = 0 WHERE name = ?", (pw, name)):
            raise AccountError(f"no operator {name}")
        tx.run("DELETE FROM console_sessions WHERE operator = ?", (name,))
        tx.run("DELETE FROM console_login_failures WHERE name = ?", (name,))


def remove_operator(db, name: str) -> None:
    with db.transaction() as tx:
        if not tx.run("DELETE FROM console_operators WHERE name = ?", (name,)):
            raise AccountError(f"no operator {name}")
        tx.run("DELETE FROM console_sessions WHERE operator = ?", (name,))


def list_operators(db) -> list[dict]:
    with db.read() as tx:
        rows = tx.all("SELECT name, created_at, disabled FROM console_operators ORDER BY name")
    return [{"name": n, "created_at": c, "disabled": bool(d)} for n, c, d in rows]


@dataclass(frozen=True)
class Login:
    ok: bool
    operator: str = ""
    locked_s: float = 0.0     # > 0: locked, try again after this long
    checked: bool = True      # False: refused while locked, the password was not even tried


def lock_for(failures: int) -> float:
    """How long a name stays locked after this many consecutive failures."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(FIRST_LOCK_S * 2 ** (failures - FREE_FAILURES), MAX_LOCK_S)


def login(db, name: str, password: str, now: float) -> Login:
    name = name.strip()[:64]
    with db.read() as tx:
        lock = tx.one("SELECT failures, locked_until FROM console_login_failures WHERE name = ?", (name,))
        row = tx.one("SELECT pw_hash, disabled FROM console_operators WHERE name = ?", (name,))
    if lock and lock[1] > now:
        return Login(False, locked_s=lock[1] - now, checked=False)
    with _HASHING:
        good = check_password(password[:MAX_PASSWORD], row[0] if row else _dummy()) and row is not None and not row[1]
    with db.transaction() as tx:
        # names nobody failed on for a day start again from zero (and guessed names do not pile up)
        tx.run("DELETE FROM console_login_failures WHERE locked_until < ?", (now - FORGET_S,))
        held = tx.one("SELECT failures, locked_until FROM console_login_failures WHERE name = ?", (name,))
        if held and held[1] > now:      # locked by an attempt that ran alongside this one
            return Login(False, locked_s=held[1] - now, checked=False)
        if good:
            tx.run("DELETE FROM console_login_failures WHERE name = ?", (name,))
            return Login(True, name)
        # counted in the database (attempts running at once each count), then locked by the count
        tx.run("INSERT INTO console_login_failures(name, failures, locked_until) VALUES (?, 1, ?)"
               " ON CONFLICT (name) DO UPDATE SET failures = console_login_failures.failures + 1", (name, now))
        failures = tx.one("SELECT failures FROM console_login_failures WHERE name = ?", (name,))[0]
        until = now + lock_for(failures)
        tx.run("UPDATE console_login_failures SET locked_until = ? WHERE name = ?", (until, name))
    return Login(False, locked_s=max(until - now, 0.0))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    operator: str
    csrf: str


def open_session(db, operator: str, now: float) -> str:
    token = secrets.token_urlsafe(32)
    with db.transaction() as tx:
        # sessions that ended stay no longer than the next login
        tx.run("DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?", (now - IDLE_S, now - ABSOLUTE_S))
        tx.run("INSERT INTO console_sessions(token_hash, operator, csrf, created_at, seen_at) VALUES (?,?,?,?,?)",
               (_digest(token), operator, secrets.token_urlsafe(32), now, now))
    return token


def session(db, token: str | None, now: float) -> Session | None:
    """The live session for a cookie value (and it is marked used now), or None."""
    if not token or len(token) > 128:
        return None
    key = _digest(token)
    with db.transaction() as tx:
        row = tx.one("SELECT s.operator, s.csrf, s.created_at, s.seen_at, o.disabled FROM console_sessions s"
                     " JOIN console_operators o ON o.name = s.operator WHERE s.token_hash = ?", (key,))
        if row is None:
            return None
        operator, csrf, created, seen, disabled = row
        if disabled or now - seen > IDLE_S or now - created > ABSOLUTE_S:
            tx.run("DELETE FROM console_sessions WHERE token_hash = ?", (key,))
            return None
        tx.run("UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?", (now, key))
    return Session(operator, csrf)


def close_session(db, token: str | None) -> None:
    if token and len(token) <= 128:
        with db.transaction() as tx:
            tx.run("DELETE FROM console_sessions WHERE token_hash = ?", (_digest(token),))
