"""`kiosk diagnose`: the technician checks without a screen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from kiosk.config import load_config
from kiosk.diagnose import Diagnostics


def run_diagnose(tmp_path, *args, site: str = "", timeout: float = 90):
    cfg = tmp_path / "site.toml"
    cfg.write_text(site, encoding="utf-8")
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(cfg), "diagnose", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_broken_core_device_exits_1_and_names_it(tmp_path):
    res = run_diagnose(tmp_path, "--devices-only", "--json", site="""
[devices.idcard]
family = "idcard"
url = "serial:///dev/ttyKIOSKNONE0?baud=115200"
""")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    assert report["ok"] is False
    assert report["core_broken"] == ["idcard"]
    reader = next(d for d in report["devices"] if d["id"] == "idcard")
    assert reader["device"] == "noDevice" and "/dev/ttyKIOSKNONE0" in reader["last_error"]
    assert "Traceback" not in res.stderr


def test_human_report_lists_every_device(tmp_path):
    res = run_diagnose(tmp_path, "--devices-only")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("terminal T-0001: OK")
    for name in ("idcard", "smartcard", "camera", "ticket_printer", "a4_printer"):
        assert re.search(rf"^\s+ok\s+{name}\s", res.stdout, re.M), res.stdout


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    from devices.manager import DeviceManager

    cfg = load_config(env={"KIOSK_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    mgr = DeviceManager(cfg, only=["idcard", "ticket_printer", "camera"]).start()
    yield cfg, mgr
    mgr.stop()


def test_read_id_action_shows_masked_fields_only(manager):
    cfg, mgr = manager
    sim = mgr.simulators["idcard"]
    sim.present("resident")
    result = Diagnostics(cfg, mgr).run_action("read_id")
    assert result["ok"], result
    number = result["fields"]["id_number"]
    assert re.fullmatch(r"\d{4}\*{10}[\dX]{4}", number)
    assert "*" in result["fields"]["name"]
    assert number in result["summary"]


def test_print_ticket_and_printer_status_actions(manager):
    cfg, mgr = manager
    diag = Diagnostics(cfg, mgr)
    printed = diag.run_action("print_ticket")
    assert printed["ok"], printed
    assert mgr.simulators["ticket_printer"].pages()  # a ticket came out of the simulator
    status = diag.run_action("printer_status")
    assert status["ok"] and "ticket_printer: online" in status["summary"]


def test_unknown_action_and_missing_device_are_one_clear_line(manager):
    cfg, mgr = manager
    diag = Diagnostics(cfg, mgr)
    assert diag.run_action("format_disk") == {"ok": False, "error": "unknown action 'format_disk'"}
    missing = diag.run_action("print_a4")
    assert missing["ok"] is False and "no a4 device configured" in missing["error"]
