"""`kiosk diagnose`: the technician checks without a screen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from kiosk.core.config import load_config
from kiosk.diagnose import Diagnostics, _human


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
    assert report["can_serve"] is False and report["blocking"] == ["essential device idcard"]
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
    from kiosk.app import device_registry

    mgr = DeviceManager(cfg, registry=device_registry(), only=["idcard", "ticket_printer", "camera"]).start()
    yield cfg, mgr
    mgr.stop()


def test_read_id_action_shows_masked_fields_only(manager):
    cfg, mgr = manager
    sim = mgr.simulators["idcard"]
    sim.present("resident")
    result = Diagnostics(cfg, mgr).run_action("read_id")
    assert result["ok"], result
    number = result["fields"]["id_number"]
    assert re.fullmatch(r"\d\*{16}[\dX]", number)
    assert "*" in result["fields"]["name"]
    assert number in result["summary"]


def test_print_ticket_and_printer_status_actions(manager):
    cfg, mgr = manager
    diag = Diagnostics(cfg, mgr)
    printed = diag.run_action("print_ticket")
    assert printed["ok"], printed
    assert mgr.simulators["ticket_printer"].pages()  # a ticket came out of the simulator
    status = diag.run_action("printer_status")
    # the technician screen's language: device name and state in words
    assert status["ok"] and "凭条打印机：工作正常" in status["summary"]["zh"]
    assert "Ticket printer: Working normally" in status["summary"]["en"]


def test_unknown_action_and_missing_device_are_one_clear_line(manager):
    cfg, mgr = manager
    diag = Diagnostics(cfg, mgr)
    assert diag.run_action("format_disk") == {"ok": False, "error": "unknown action 'format_disk'"}
    missing = diag.run_action("print_a4")
    assert missing["ok"] is False and "no a4 device configured" in missing["error"]


def test_last_sync_is_read_from_the_store_when_a_separate_service_syncs(tmp_path):
    """Sites with ``sync.in_app = false`` sync from kiosk-sync: the kiosk process has
    no sync worker, yet diagnose and health must both say when cases last reached central."""
    import random
    from types import SimpleNamespace

    from central.embedded import start_embedded
    from kiosk.status import outbox
    from offline_cache.client import CentralClient
    from offline_cache.simulate import make_case
    from offline_cache.store import CaseStore
    from offline_cache.sync import SyncWorker

    data = tmp_path / "terminal"
    cfg = load_config(env={"KIOSK_DATA_DIR": str(data)})
    central = start_embedded(tmp_path / "central", auto_pay_s=0)
    kiosk_store = CaseStore(data, "T-TEST")
    try:
        kiosk_store.commit_case(**make_case(random.Random(3)))
        kiosk = SimpleNamespace(store=kiosk_store, sync=None)  # the kiosk-app process: cases, no sync worker
        before = Diagnostics(cfg, kiosk).outbox()
        assert before["pending"] == 1 and before["last_sync"] is None

        sync_store = CaseStore(data, "T-TEST")  # the kiosk-sync process's own connection
        with CentralClient(url=central.url, token=central.token_for("T-TEST"), terminal_id="T-TEST") as client:
            SyncWorker(sync_store, client, send_heartbeats=False).sync_once()
        sync_store.close()

        after = Diagnostics(cfg, kiosk).outbox()
        assert after["pending"] == 0 and after["ok"]
        assert after["last_sync"] and after["last_sync"] == outbox(kiosk)[3]
        human = _human(Diagnostics(cfg, kiosk).run_action("report"))
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", after["last_sync_local"])
        assert f"0 pending, 0 dead, last sync {after['last_sync_local']}" in human
    finally:
        kiosk_store.close()
        central.stop()


def test_full_report_names_the_face_encoder_and_the_outbox(tmp_path):
    res = run_diagnose(tmp_path, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "  face: numpy encoder (checked against dlib)" in res.stdout
    assert re.search(r"^  outbox: 0 pending, 0 dead, last sync never$", res.stdout, re.M), res.stdout


def test_face_check_needs_the_kiosk_app(manager):
    cfg, mgr = manager
    result = Diagnostics(cfg, mgr).run_action("face")
    assert result == {"ok": False, "error": "face verification runs only inside the kiosk app"}
