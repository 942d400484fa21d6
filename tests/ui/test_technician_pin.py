"""Technician PIN: hashes, the shipped default, lockout, set-pin."""

import json

from click.testing import CliRunner

from kiosk.cli import cli
from kiosk.config import load_config
from kiosk.technician import DEFAULT_PIN, PinGate, hash_pin, stored_hash, verify_pin


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


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


def test_shipped_default_hash_is_the_documented_pin(data_dir):
    cfg = load_config()
    assert verify_pin(DEFAULT_PIN, cfg.get("technician.pin_hash"))


def test_lockout_after_max_failures_then_expires(data_dir):
    cfg = load_config(overrides={"technician": {"max_failures": 3, "lockout_s": 60}})
    clock = Clock()
    gate = PinGate(cfg, clock=clock)
    assert gate.attempt("11111111").remaining_tries == 2
    assert gate.attempt("22222222").remaining_tries == 1
    third = gate.attempt("33333333")
    assert third.locked and third.locked_for_s == 60
    # even the right PIN is refused while locked
    assert gate.attempt(DEFAULT_PIN).locked
    clock.now += 61
    assert gate.attempt(DEFAULT_PIN).ok


def test_lockout_survives_a_restart(data_dir):
    cfg = load_config(overrides={"technician": {"max_failures": 1, "lockout_s": 300}})
    clock = Clock()
    assert PinGate(cfg, clock=clock).attempt("00000000").locked
    again = PinGate(cfg, clock=clock).attempt(DEFAULT_PIN)
    assert again.locked and again.locked_for_s == 300
    assert json.loads((data_dir / "technician" / "lockout.json").read_text())["failures"] == 1


def test_set_pin_command_replaces_the_pin(data_dir):
    runner = CliRunner()
    res = runner.invoke(cli, ["technician", "set-pin", "--pin-stdin"], input="97531864\n")
    assert res.exit_code == 0, res.output
    cfg = load_config()
    assert verify_pin("97531864", stored_hash(cfg))
    assert not verify_pin(DEFAULT_PIN, stored_hash(cfg))
    path = data_dir / "technician" / "pin_hash"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ok = runner.invoke(cli, ["technician", "check-pin", "--pin-stdin"], input="97531864\n")
    assert ok.exit_code == 0 and "PIN ok" in ok.output


def test_set_pin_rejects_short_pin_with_one_line(data_dir):
    res = CliRunner().invoke(cli, ["technician", "set-pin", "--pin-stdin"], input="123\n")
    assert res.exit_code == 2
    assert "6-12 digits" in res.output and "Traceback" not in res.output
