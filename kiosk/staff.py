"""Staff credentials for staff-assisted verification ("verify another way").

Each staff member has an id and a PIN of their own (never the technician
PIN), kept as PBKDF2 hashes in ``<data_dir>/staff/credentials.json`` (0600)
and managed with ``kiosk staff add|remove|list``. A staff PIN is accepted
only while a staff call from this terminal is recent (``staff.call_valid_s``);
wrong entries go through their own ``AttemptGate`` (``staff.*``), so a
resident typing at the staff screen never locks the technician out and keeps
staff waiting at most ``staff.lockout_s``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import click

from .core import audit
from .technician import AttemptGate, PinResult, hash_pin, verify_pin, write_private

STAFF_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
# verified against when the id is unknown, so a wrong id costs the same time
_DUMMY = hash_pin("000000", salt=b"kiosk-staff-none")


def credentials_path(config) -> Path:
    return config.data_dir / "staff" / "credentials.json"


def load_credentials(config) -> dict[str, str]:
    try:
        data = json.loads(credentials_path(config).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data,
                                                                                                      dict) else {}


def save_credentials(config, creds: dict[str, str]) -> Path:
    path = credentials_path(config)
    write_private(path, json.dumps(creds, indent=1, sort_keys=True).encode())
    return path


class StaffGate:
    """``verify(staff_id, pin, called_at)`` -> (PinResult, staff id or None)."""

    def __init__(self, config, clock: Callable[[], float] = time.time):
        self.config = config
        self.clock = clock
        self.call_valid_s = float(config.get("staff.call_valid_s", 900))
        self.gate = AttemptGate(config.data_dir / "staff" / "lockout.json", int(config.get("staff.max_failures", 3)),
                                float(config.get("staff.backoff_s", 5)), float(config.get("staff.lockout_s", 60)),
                                clock)
        if self.gate.tampered:
            audit.record(config, "tampered_input", source="staff/lockout.json")

    @property
    def configured(self) -> bool:
        return bool(load_credentials(self.config))

    def verify(self, staff_id: str, pin: str, called_at: float | None) -> tuple[PinResult, str | None]:
        staff_id = (staff_id or "").strip()
        shown_id = staff_id if STAFF_ID.match(staff_id) else "(malformed)"
        if called_at is None or self.clock() - called_at > self.call_valid_s:
            result = PinResult(False, disabled=True)
            audit.record_attempt(self.config, "staff", result, counted=False, staff=shown_id)
            return result, None
        creds = load_credentials(self.config)
        stored = creds.get(staff_id) if STAFF_ID.match(staff_id) else None

        def check() -> bool:
            ok = verify_pin(pin or "", stored or _DUMMY)
            return ok and stored is not None

        before = self.gate.failures
        result = self.gate.run(check)
        audit.record_attempt(self.config, "staff", result, counted=self.gate.failures != before, staff=shown_id)
        return result, (staff_id if result.ok else None)


# --- CLI ---------------------------------------------------------------------

@click.group("staff")
def staff() -> None:
    """Staff credentials for staff-assisted verification."""


@staff.command("add")
@click.argument("staff_id")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from one line of stdin (scripts).")
@click.pass_obj
def add(obj, staff_id: str, pin_stdin: bool) -> None:
    """Add a staff member or change their PIN (6-12 digits)."""
    from .core.clikit import fail
    from .technician import read_new_pin, stored_hash

    if not STAFF_ID.match(staff_id):
        fail("a staff id is 1-16 letters, digits, - or _", code=2)
    pin = read_new_pin(pin_stdin)
    if verify_pin(pin, stored_hash(obj.config)):
        fail("a staff PIN must differ from the technician PIN", code=2)
    creds = load_credentials(obj.config)
    creds[staff_id] = hash_pin(pin)
    try:
        path = save_credentials(obj.config, creds)
    except OSError as exc:
        fail(f"cannot store staff credentials: {exc.strerror or exc}")
    click.echo(f"staff {staff_id} saved ({path})")


@staff.command("remove")
@click.argument("staff_id")
@click.pass_obj
def remove(obj, staff_id: str) -> None:
    """Remove a staff member."""
    from .core.clikit import fail

    creds = load_credentials(obj.config)
    if creds.pop(staff_id, None) is None:
        fail(f"no staff member {staff_id}")
    save_credentials(obj.config, creds)
    click.echo(f"staff {staff_id} removed")


@staff.command("list")
@click.pass_obj
def list_(obj) -> None:
    """Staff ids that can verify residents (never their PINs)."""
    for sid in sorted(load_credentials(obj.config)):
        click.echo(sid)
