"""Technician PIN: PBKDF2-SHA256 hashes, verification with growing backoff,
and the ``kiosk technician`` commands.

Hash format (one string, safe in TOML)::

    pbkdf2_sha256$<iterations>$<salt, url-safe base64 without padding>$<hash, standard base64>

No PIN ships: without one the technician entry is disabled and says how to
set one (``kiosk technician set-pin``, which stores the hash in
``<data_dir>/technician/pin_hash``, mode 0600, over ``technician.pin_hash``).
``deploy/install.sh`` sets one at install.

Wrong attempts are counted by an ``AttemptGate``: the first
``technician.max_failures`` are free, each further one makes the next try wait
``backoff_s``, doubling up to ``lockout_s``. Waiting never resets the count;
only the right PIN does. The state file is 0600 and HMAC'd with a key kept
next to it; a missing or altered state file counts as every free try used.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from .core import audit

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
PIN_MIN, PIN_MAX = 6, 12
NO_PIN = "no technician PIN is set: set one with 'kiosk technician set-pin'"


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
    disabled: bool = False  # no PIN has been set


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class AttemptGate:
    """Wrong-attempt counter with a growing wait per attempt, kept on disk.

    ``free`` wrong attempts cost nothing; the n-th one after them makes the
    next attempt wait ``base_s * 2**n`` seconds, at most ``cap_s``: a guesser
    gets a handful of tries an hour, while someone who typed wrong PINs on
    purpose keeps the rightful user out for at most ``cap_s``. ``clock`` is
    injectable so tests move time without sleeping.
    """

    def __init__(self, state_path: Path, free: int, base_s: float, cap_s: float,
                 clock: Callable[[], float] = time.time):
        self.state_path = Path(state_path)
        self.key_path = self.state_path.with_name(self.state_path.stem + ".key")
        self.free, self.base_s, self.cap_s = int(free), float(base_s), float(cap_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._tampered = False
        self.failures, self.next_at = self._load()
        self.tampered = self._tampered  # for the audit trail (once: the saved state is genuine again)
        if self._tampered:
            self._save()  # the fallback holds from now on, not from each reload

    def _key(self, create: bool) -> bytes | None:
        try:
            return self.key_path.read_bytes()
        except OSError:
            if not create:
                return None
        key = secrets.token_bytes(32)
        try:
            write_private(self.key_path, key)
        except OSError:
            pass  # read-only data dir: the count is kept in memory only
        return key

    def _mac(self, key: bytes, body: bytes) -> str:
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def _load(self) -> tuple[int, float]:
        key = self._key(create=False)
        if key is None:
            return 0, 0.0  # never used on this terminal
        try:
            doc = json.loads(self.state_path.read_text("utf-8"))
            body = json.dumps(doc["state"], sort_keys=True).encode()
            if hmac.compare_digest(self._mac(key, body), str(doc["mac"])):
                return int(doc["state"]["failures"]), float(doc["state"]["next_at"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass
        # deleted or edited: as if every free try had been used
        self._tampered = True
        return self.free, self.clock() + self.base_s

    def _save(self) -> None:
        state = {"failures": self.failures, "next_at": self.next_at}
        body = json.dumps(state, sort_keys=True).encode()
        key = self._key(create=True)
        try:
            write_private(self.state_path, json.dumps({"state": state, "mac": self._mac(key, body)}).encode())
        except OSError:
            pass

    def wait_s(self) -> int:
        return max(0, int(self.next_at - self.clock() + 0.999))

    @property
    def remaining_free(self) -> int:
        return max(0, self.free - self.failures)

    def run(self, check: Callable[[], bool]) -> PinResult:
        """``check()`` only when no wait is due; count its outcome."""
        with self._lock:
            wait = self.wait_s()
            if wait > 0:
                return PinResult(False, locked=True, locked_for_s=wait)
            if check():
                self.failures, self.next_at = 0, 0.0
                self._save()
                return PinResult(True, remaining_tries=self.free)
            self.failures += 1
            over = self.failures - self.free
            if over >= 0:
                self.next_at = self.clock() + min(self.base_s * 2 ** over, self.cap_s)
            self._save()
            if over >= 0:
                return PinResult(False, locked=True, locked_for_s=self.wait_s())
            return PinResult(False, remaining_tries=self.remaining_free)


def pin_configured(config) -> bool:
    return bool(stored_hash(config))


class PinGate:
    """The technician PIN behind an ``AttemptGate`` (``<data_dir>/technician/lockout.json``)."""

    def __init__(self, config, clock: Callable[[], float] = time.time, state_path: Path | None = None):
        self.config = config
        self.max_failures = int(config.get("technician.max_failures", 5))
        self.gate = AttemptGate(state_path or (_state_dir(config.data_dir) / "lockout.json"),
                                self.max_failures, float(config.get("technician.backoff_s", 5)),
                                float(config.get("technician.lockout_s", 120)), clock)
        if self.gate.tampered:
            audit.record(config, "tampered_input", source="technician/lockout.json")

    @property
    def configured(self) -> bool:
        return pin_configured(self.config)

    def attempt(self, pin: str) -> PinResult:
        stored = stored_hash(self.config)
        if not stored:
            return PinResult(False, disabled=True)
        before = self.gate.failures
        result = self.gate.run(lambda: verify_pin(pin, stored))
        audit.record_attempt(self.config, "technician", result, counted=self.gate.failures != before)
        return result


# --- CLI ---------------------------------------------------------------------

@click.group("technician")
def technician() -> None:
    """Technician PIN management."""


def read_new_pin(pin_stdin: bool) -> str:
    """A new PIN from one line of stdin or typed twice (hidden); a mismatch or a
    PIN of the wrong form ends the command with one line (exit 2)."""
    from .core.clikit import fail

    if pin_stdin:
        pin = click.get_text_stream("stdin").readline().strip()
    else:
        pin = click.prompt("New PIN", hide_input=True)
        if click.prompt("Repeat PIN", hide_input=True) != pin:
            fail("the two PINs differ", code=2)
    try:
        check_pin_format(pin)
    except PinFormatError as exc:
        fail(str(exc), code=2)
    return pin


@technician.command("set-pin")
@click.option("--pin-stdin", is_flag=True, help="Read the new PIN from one line of stdin (scripts).")
@click.option("--print-hash", is_flag=True, help="Only print the hash (for technician.pin_hash in a site config).")
@click.pass_context
def set_pin(ctx: click.Context, pin_stdin: bool, print_hash: bool) -> None:
    """Set the technician PIN (6-12 digits)."""
    from .core.clikit import fail

    pin = read_new_pin(pin_stdin)
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
    from .core.clikit import fail

    gate = PinGate(ctx.obj.config)
    if not gate.configured:
        fail(NO_PIN)
    pin = click.get_text_stream("stdin").readline().strip() if pin_stdin else click.prompt("PIN", hide_input=True)
    result = gate.attempt(pin)
    if result.ok:
        click.echo("PIN ok")
    elif result.locked:
        fail(f"too many wrong PINs, try again in {result.locked_for_s} s")
    else:
        fail(f"wrong PIN ({result.remaining_tries} tries left)")
