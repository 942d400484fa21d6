"""Operations around the app: watchdog over device loops, systemd notify
isolation, health snapshots and exit codes, the metrics endpoint."""

import json
import os
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import requests

from devices.base import Device
from kiosk import ops as ops_mod
from kiosk.core.status_file import read_snapshot, write_snapshot
from kiosk.core.watchdog import Watchdog, claim_notify_environment
from kiosk.metrics import KioskMetrics
from kiosk.status import evaluate


class Reader(Device):
    family = "toy"
    schemes = ("toy",)


def wait_until(predicate, timeout=30.0):
    """Poll a condition up to a generous bound (not a speed check)."""
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)
    return predicate()


def test_hung_device_loop_withholds_watchdog(monkeypatch):
    # The watchdog's deadline runs on a clock the test moves, so only whether the
    # device loop answers matters, not how fast this machine is.
    now = [0.0]
    monkeypatch.setattr(ops_mod, "DEVICE_PROBE_EVERY_S", 0.02)
    monkeypatch.setattr(ops_mod, "DEVICE_LOOP_DEADLINE_S", 100.0)
    dev = Reader("idcard", "toy://").open()
    app = SimpleNamespace(devices=SimpleNamespace(devices={"idcard": dev}), metrics=None, central=None,
                          config=SimpleNamespace(get=lambda k, d=None: False))
    wd = Watchdog(clock=lambda: now[0], notify=lambda m: True)
    ops = ops_mod.Operations(app, watchdog=wd, serve_metrics=False)
    ops.publisher = None
    ops._watch_devices()
    release, hung = threading.Event(), threading.Event()
    try:
        now[0] = 150.0                       # past the deadline: only a fresh check-in helps
        assert wait_until(wd.healthy)        # a responsive loop keeps checking in
        dev.submit(lambda: (hung.set(), release.wait(60)))  # the device thread hangs in a command
        assert hung.wait(30)                 # earlier probes have answered; later ones queue
        now[0] = 300.0
        assert not wd.healthy() and wd.stalled == ["device:idcard"]
        release.set()                        # the loop recovers: the queued probe checks in
        assert wait_until(wd.healthy)
    finally:
        release.set()
        ops._stop.set()
        dev.close()


def test_children_do_not_inherit_the_notify_socket(monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "n.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    claimed = claim_notify_environment()
    assert claimed["NOTIFY_SOCKET"].endswith("n.sock")
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('NOTIFY_SOCKET', 'none'))"],
                           capture_output=True, text=True, timeout=30)
    assert child.stdout.strip() == "none"


def report(**over):
    base = {
        "services": {"queue_ticket": {"available": True, "reasons": []},
                     "no_property_proof": {"available": True, "reasons": []}},
        "devices": {"idcard": {"device": "online"}},
        "store": {"accepting": True, "state": "ok"},
        "disk": {"ok": True}, "outbox": {"dead": 0}, "time": {"synchronized": True},
    }
    base.update(over)
    return base


def test_health_states():
    assert evaluate(report())[0] == "ok"
    state, problems = evaluate(report(services={"queue_ticket": {"available": True}, "no_property_proof":
                                                {"available": False, "reasons": ["A4 printer out of paper"]}}))
    assert state == "degraded" and any("A4 printer out of paper" in p for p in problems)
    assert evaluate(report(store={"accepting": False, "state": "disk_full"}))[0] == "out_of_service"
    assert evaluate(report(services={"queue_ticket": {"available": False}}))[0] == "out_of_service"


def run_health(data_dir, *args):
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "health", "--json", *args],
                          capture_output=True, text=True, timeout=180, env=env)


def test_health_reads_running_app_snapshot_and_exits_1_when_out_of_service(tmp_path):
    write_snapshot(tmp_path, {**report(store={"accepting": False, "state": "disk_full"}),
                              "terminal": "T-0001", "version": "x", "last_sync": None})
    assert read_snapshot(tmp_path) is not None
    proc = run_health(tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["source"] == "app" and out["state"] == "out_of_service"
    assert any("disk_full" in p for p in out["problems"])


def test_health_probes_when_no_app_runs(tmp_path):
    proc = run_health(tmp_path, "--probe")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["source"] == "probe"
    assert out["services"]["queue_ticket"]["available"] is True
    assert {"devices", "outbox", "last_sync", "disk", "version"} <= set(out)
    assert out["devices"]["idcard"]["device"] == "online"


def test_health_without_a_running_app_makes_only_quick_checks(tmp_path):
    proc = run_health(tmp_path)
    assert proc.returncode == 1, proc.stderr  # only the app knows its services
    out = json.loads(proc.stdout)
    assert out["source"] == "quick" and out["state"] == "out_of_service"
    assert out["problems"][0] == "the kiosk app is not running"
    # no simulator was started to answer: the devices are named, not opened
    assert {d["device"] for d in out["devices"].values()} == {"notProbed"}
    assert out["store"]["accepting"] is True and out["outbox"]["pending"] == 0
    # a status file the app stopped writing is reported as such
    write_snapshot(tmp_path, {**report(), "terminal": "T-0001", "version": "x", "last_sync": None})
    path = tmp_path / "run" / "status.json"
    os.utime(path, (time.time() - 300, time.time() - 300))
    data = json.loads(path.read_text())
    data["written_at"] -= 300
    path.write_text(json.dumps(data))
    out = json.loads(run_health(tmp_path).stdout)
    assert out["source"] == "quick" and "old (app hung or stopped)" in out["problems"][0]


def test_metrics_endpoint_scrape_has_no_personal_data():
    m = KioskMetrics()
    port = m.serve(0)
    try:
        m.sessions_started.labels("no_property_proof").inc()
        m.sessions_abandoned.labels("queue_ticket", "timeout").inc()
        m.face_outcomes.labels("match").inc()
        m.set_device_state("ticket_printer", "escpos", "userError")
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        m.stop()
    assert 'kiosk_sessions_started_total{service="no_property_proof"} 1.0' in body
    assert 'kiosk_device_state{device="ticket_printer",family="escpos",state="userError"} 1.0' in body
    assert 'kiosk_face_verifications_total{outcome="match"} 1.0' in body
