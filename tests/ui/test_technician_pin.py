"""Technician PIN: hashes, no shipped PIN, growing backoff kept on disk, set-pin."""

import json
import os
import stat

from click.testing import CliRunner

from kiosk.cli import cli
from kiosk.core.config import load_config
from kiosk.technician import PinGate, hash_pin, stored_hash, verify_pin

PIN = "80516243"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def config_with_pin(**technician):
    return load_config(overrides={"technician": {"pin_hash": hash_pin(PIN, iterations=1000), **technician}})


def test_hash_round_trip_and_format():
    h = hash_pin("13572468", iterations=1000)
    scheme, iterations, salt, digest = h.split("$")
    assert scheme == "pbkdf2_sha256" and iterations == "1000" and salt and digest
    assert verify_pin("13572468", h)
    assert not verify_pin("13572469", h)
    assert hash_pin("13572468", iterations=1000) != h  # fresh salt each time


def test_malformed_hash_never_verifies():
    for bad in ("", "plain", "md5$1$a$b", "pbkdf2_sha256$x$y$z", "pbkdf2_sha256$1000$!!$??"):
        assert verify_pin("24681357", bad) is False


def test_no_pin_ships_and_the_entry_is_disabled_until_one_is_set(data_dir):
    cfg = load_config()
    assert cfg.get("technician.pin_hash") == "" and stored_hash(cfg) == ""
    for pin in ("24681357", "000000", ""):
        res = PinGate(cfg).attempt(pin)
        assert not res.ok and res.disabled
    out = CliRunner().invoke(cli, ["technician", "check-pin", "--pin-stdin"], input="24681357\n")
    assert out.exit_code == 1 and "kiosk technician set-pin" in out.output


def test_free_tries_then_a_growing_wait_capped_short(data_dir):
    cfg = config_with_pin(max_failures=3, backoff_s=5, lockout_s=40)
    clock = Clock()
    gate = PinGate(cfg, clock=clock)
    assert gate.attempt("11111111").remaining_tries == 2
    assert gate.attempt("22222222").remaining_tries == 1
    waits = []
    for _ in range(6):
        res = gate.attempt("33333333")
        assert res.locked
        waits.append(res.locked_for_s)
        assert gate.attempt(PIN).locked  # even the right PIN waits
        clock.now += res.locked_for_s
    assert waits == [5, 10, 20, 40, 40, 40]  # grows, never beyond lockout_s
    assert gate.attempt(PIN).ok
    assert gate.attempt("44444444").remaining_tries == 2  # the right PIN starts afresh


def test_the_count_survives_a_restart_and_waiting(data_dir):
    cfg = config_with_pin(max_failures=1, backoff_s=30, lockout_s=120)
    clock = Clock()
    assert PinGate(cfg, clock=clock).attempt("00000000").locked_for_s == 30
    again = PinGate(cfg, clock=clock).attempt(PIN)
    assert again.locked and again.locked_for_s == 30
    clock.now += 3600  # waiting an hour does not reset the count
    assert PinGate(cfg, clock=clock).attempt("00000001").locked_for_s == 60


def test_lockout_file_is_private_and_deleting_or_editing_it_does_not_reset(data_dir):
    cfg = config_with_pin(max_failures=3, backoff_s=5, lockout_s=60)
    clock = Clock()
    PinGate(cfg, clock=clock).attempt("00000000")
    path = data_dir / "technician" / "lockout.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "technician" / "lockout.key").stat().st_mode) == 0o600
    os.unlink(path)
    res = PinGate(cfg, clock=clock).attempt(PIN)
    assert res.locked and res.locked_for_s == 5  # as if every free try were used
    clock.now += 5
    assert PinGate(cfg, clock=clock).attempt(PIN).ok
    # an edited count does not verify either
    PinGate(cfg, clock=clock).attempt("00000000")
    doc = json.loads(path.read_text())
    doc["state"]["failures"] = 0
    path.write_text(json.dumps(doc))
    assert PinGate(cfg, clock=clock).attempt(PIN).locked


def test_set_pin_command_sets_the_pin(data_dir):
    runner = CliRunner()
    res = runner.invoke(cli, ["technician", "set-pin", "--pin-stdin"], input="97531864\n")
    assert res.exit_code == 0, res.output
    cfg = load_config()
    assert verify_pin("97531864", stored_hash(cfg))
    path = data_dir / "technician" / "pin_hash"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ok = runner.invoke(cli, ["technician", "check-pin", "--pin-stdin"], input="97531864\n")
    assert ok.exit_code == 0 and "PIN ok" in ok.output


def test_set_pin_rejects_short_pin_with_one_line(data_dir):
    res = CliRunner().invoke(cli, ["technician", "set-pin", "--pin-stdin"], input="123\n")
    assert res.exit_code == 2
    assert "6-12 digits" in res.output and "Traceback" not in res.output
