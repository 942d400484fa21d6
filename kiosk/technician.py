"""Technician PIN: PBKDF2-SHA256 hashes, verification with lockout, and the
``kiosk technician`` commands.

Hash format (one string, safe in TOML)::

    pbkdf2_sha256$<iterations>$<salt, url-safe base64 without padding>$<hash, standard base64>

The PIN that ships in ``kiosk/default.toml`` is ``24681357``; change it on site
with ``kiosk technician set-pin``, which stores the new hash in
``<data_dir>/technician/pin_hash`` (mode 0600).  That file wins over the config
value so the site config can stay read-only.

Failed attempts and the lockout deadline are kept in
``<data_dir>/technician/lockout.json`` so restarting the app does not reset a
lockout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
DEFAULT_PIN = "24681357"  # documented in docs/ui.md; the shipped hash is of this PIN
PIN_MIN, PIN_MAX = 6, 12


class PinFormatError(ValueError):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    # accept standard and url-safe alphabets, with or without padding
    text = text.strip().rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_pin_format(pin: str) -> None:
    if not pin.isdigit() or not PIN_MIN <= len(pin) <= PIN_MAX:
        raise PinFormatError(f"a PIN is {PIN_MIN}-{PIN_MAX} digits")


def hash_pin(pin: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${base64.b64encode(digest).decode('ascii')}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time compare of ``pin`` against a stored hash; a malformed
    stored hash never verifies (and never raises)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = _unb64(digest)
        got = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), _unb64(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _state_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "technician"


def stored_hash(config) -> str:
    """The effective PIN hash: the site file from ``set-pin`` if any, else config."""
    override = _state_dir(config.data_dir) / "pin_hash"
    try:
        value = override.read_text("ascii").strip()
        if value:
            return value
    except OSError:
        pass
    return str(config.get("technician.pin_hash", ""))


def save_hash(config, hashed: str) -> Path:
    folder = _state_dir(config.data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "pin_hash"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(hashed + "\n")
    os.replace(tmp, path)
    return path


@dataclass
class PinResult:
    ok: bool
    locked: bool = False
    remaining_tries: int = 0
    locked_for_s: int = 0

    def message_key(self) -> str:
        if self.ok:
            return "ui.tech.pin_ok"
        if self.locked:
            return "ui.tech.pin_locked"
        return "ui.tech.pin_wrong"


class PinGate:
    """PIN check with a failure counter and a timed lockout.

    ``clock`` is injectable so tests can move time without sleeping.
    """

    def __init__(self, config, clock: Callable[[], float] = time.time, state_path: Path | None = None):
        self.config = config
        self.max_failures = int(config.get("technician.max_failures", 5))
        self.lockout_s = int(config.get("technician.lockout_s", 300))
        self.clock = clock
        self.state_path = state_path or (_state_dir(config.data_dir) / "lockout.json")
        self._lock = threading.Lock()
        self._failures, self._locked_until = self._load()

    def _load(self) -> tuple[int, float]:
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
            return int(data.get("failures", 0)), float(data.get("locked_until", 0.0))
        except (OSError, ValueError, TypeError, AttributeError):
            return 0, 0.0

    def _save(self) -> None:
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.state_path.write_text(json.dumps({"failures": self._failures, "locked_until": self._locked_until}))
        except OSError:
            pass  # a read-only data dir keeps the lockout in memory only

    def locked_for(self) -> int:
        left = self._locked_until - self.clock()
        return max(0, int(left + 0.999))

    def attempt(self, pin: str) -> PinResult:
        with self._lock:
            wait = self.locked_for()
            if wait > 0:
                return PinResult(False, locked=True, locked_for_s=wait)
            if self._locked_until:
                # a lockout that has run out starts a fresh series of tries
                self._locked_until, self._failures = 0.0, 0
            if verify_pin(pin, stored_hash(self.config)):
                self._failures, self._locked_until = 0, 0.0
                self._save()
                return PinResult(True, remaining_tries=self.max_failures)
            self._failures += 1
            if self._failures >= self.max_failures:
                self._locked_until = self.clock() + self.lockout_s
                self._save()
                return PinResult(False, locked=True, locked_for_s=self.locked_for())
            self._save()
            return PinResult(False, remaining_tries=self.max_failures - self._failures)


# --- CLI ---------------------------------------------------------------------

@click.group("technician")
def technician() -> None:
    """Technician PIN management."""


def _read_new_pin(pin_stdin: bool) -> str:
    if pin_stdin:
        return click.get_text_stream("stdin").readline().strip()
    first = click.prompt("New PIN", hide_input=True)
    second = click.prompt("Repeat PIN", hide_input=True)
    if first != second:
        from .cli import fail
        fail("the two PINs differ", code=2)
    return first


@technician.command("set-pin")
@click.option("--pin-stdin", is_flag=True, help="Read the new PIN from one line of stdin (scripts).")
@click.option("--print-hash", is_flag=True, help="Only print the hash (for technician.pin_hash in a site config).")
@click.pass_context
def set_pin(ctx: click.Context, pin_stdin: bool, print_hash: bool) -> None:
    """Set the technician PIN (6-12 digits)."""
    from .cli import fail

    pin = _read_new_pin(pin_stdin)
    try:
        check_pin_format(pin)
    except PinFormatError as exc:
        fail(str(exc), code=2)
    hashed = hash_pin(pin)
    if print_hash:
        click.echo(hashed)
        return
    try:
        path = save_hash(ctx.obj.config, hashed)
    except OSError as exc:
        fail(f"cannot store the PIN hash: {exc.strerror or exc}")
    click.echo(f"technician PIN updated ({path})")


@technician.command("check-pin")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from stdin instead of prompting.")
@click.pass_context
def check_pin(ctx: click.Context, pin_stdin: bool) -> None:
    """Check a PIN against the stored hash (counts towards the lockout)."""
    from .cli import fail

    pin = click.get_text_stream("stdin").readline().strip() if pin_stdin else click.prompt("PIN", hide_input=True)
    result = PinGate(ctx.obj.config).attempt(pin)
    if result.ok:
        click.echo("PIN ok")
    elif result.locked:
        fail(f"locked: too many wrong PINs, try again in {result.locked_for_s} s")
    else:
        fail(f"wrong PIN ({result.remaining_tries} tries left)")
