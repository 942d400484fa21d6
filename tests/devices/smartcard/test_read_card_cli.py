"""``kiosk devices read-card``: real processes against the virtual card through pcscd."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.pcsc


def kiosk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "devices", "read-card", *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_reads_the_virtual_social_security_card_masked(pcscd_lease, data_dir):
    proc = kiosk("--reader", "sim", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["card_type"] == "social_security"
    assert out["name"] == "王**" and out["id_number"] == "3****************X"
    assert out["card_number"] == "*****0215"
    assert (out["sex"], out["nation"], out["birth"]) == ("男", "汉", "***")  # birth never shown masked
    assert out["issue_date"] == "2021-03-15"
    assert out["reader"].startswith("Virtual PCD 00 0")


def test_reveal_and_bank_card(pcscd_lease, data_dir):
    proc = kiosk("--reader", "sim", "--card", "bank", "--json", "--reveal")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pan"] == "6217000000123456786" and out["cardholder"] == "WANG/XIAOMING"
    assert out["scheme"] == "UnionPay"


def test_unknown_card_is_one_line(pcscd_lease, data_dir):
    line = one_line_error(kiosk("--reader", "sim:unknown"))
    assert line == "error: This card is not recognised. Insert a social security card or bank card."


def test_named_reader_without_card_and_missing_reader(sim, data_dir):
    sim.remove()
    assert "No card found" in one_line_error(kiosk("--reader", sim.reader))
    assert one_line_error(kiosk("--reader", "pcsc://Nope")) == 'error: Card reader "Nope" not found'


def test_named_reader_reads_the_inserted_card(sim, data_dir):
    proc = kiosk("--reader", sim.url)
    assert proc.returncode == 0, proc.stderr
    assert "证件号码 ID number: 3****************X" in proc.stdout


def test_pcscd_not_running_is_one_line(pcscd_lease, data_dir, tmp_path):
    # the PC/SC client library looks for pcscd at this socket: none answers there
    line = one_line_error(kiosk("--reader", "Virtual PCD 00 00",
                                env={"PCSCLITE_CSOCK_NAME": str(tmp_path / "absent.comm")}))
    assert "pcscd" in line and "not running" in line


def test_command_object_with_cli_runner(sim, data_dir):
    from devices.smartcard.cli import read_card

    result = CliRunner().invoke(read_card, ["--reader", sim.reader, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["card_number"] == "*****0215"
    bad = CliRunner().invoke(read_card, ["--reader", "sim", "--card", "library"])
    assert bad.exit_code == 2


def test_sim_command_serves_until_ctrl_c(pcscd_lease, data_dir):
    import signal

    from devices.smartcard.driver import SmartCardReader

    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "smartcard", "--card", "bank"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("virtual reader: pcsc://Virtual PCD 00 0"), first + proc.stderr.read()
        url = first.partition(": ")[2].partition("  ")[0]  # reader names contain spaces
        with SmartCardReader("sc", url) as dev:
            assert dev.read_bank_card()["scheme"] == "UnionPay"
            proc.stdin.write("insert social_security\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "card: social_security"
            assert dev.read_social_security().name == "王晓明"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
