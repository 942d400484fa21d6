"""The one status model (kiosk/status.py): heartbeat, health, diagnose, metrics
and the touch screen give the same answer to "can this terminal serve"."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kiosk.status import evaluate


def report(**over) -> dict:
    base = {
        "services": {"queue_ticket": {"available": True, "reasons": []}},
        "devices": {"idcard": {"family": "idcard", "device": "online"},
                    "ticket_printer": {"family": "escpos", "device": "online"}},
        "store": {"accepting": True, "state": "ok"},
    }
    base.update(over)
    return base


def test_a_broken_printer_degrades_a_broken_id_reader_stops_the_terminal():
    assert evaluate(report()) == ("ok", [])
    printer_out = {"idcard": {"family": "idcard", "device": "online"},
                   "ticket_printer": {"family": "escpos", "device": "userError", "last_error": "paper out"}}
    state, problems = evaluate(report(devices=printer_out))
    assert state == "degraded" and problems == ["device ticket_printer userError: paper out"]
    reader_gone = {"idcard": {"family": "idcard", "device": "noDevice"}}
    assert evaluate(report(devices=reader_gone))[0] == "out_of_service"
    assert evaluate(report(devices={}))[0] == "out_of_service"  # no ID-card reader configured at all
    # a part the reader did not look at (diagnose --devices-only: no store, no services) is not judged
    assert evaluate({"devices": {"idcard": {"family": "idcard", "device": "online"}}}) == ("ok", [])


@pytest.fixture(scope="module")
def no_reader(tmp_path_factory):
    """A terminal whose ID-card reader is not plugged in (its device node is missing)."""
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATA_DIR"] = str(tmp_path_factory.mktemp("terminal"))
    config = load_config(env=env, overrides={"devices": {
        "idcard": {"url": "serial:///dev/ttyKIOSKNONE0?baud=115200"},
        "smartcard": {"url": "serial:///dev/ttyKIOSKNONE1"}, "a4_printer": {"url": "ipp://127.0.0.1:9/ipp/print"}}})
    app = KioskApp(config).start()
    yield app
    app.wait_ready(120)  # the face models finish loading before the app and then the process end
    app.stop()


def test_missing_id_reader_every_reader_says_cannot_serve(no_reader):
    from kiosk.diagnose import Diagnostics
    from kiosk.ops import Operations
    from kiosk.status import build, out_of_service_reason

    app = no_reader
    found = build(app)
    assert found["can_serve"] is False and found["blocking"] == ["essential device idcard"]
    # other services still show as such (the queue ticket needs no ID card)
    assert found["services"]["queue_ticket"]["available"] is True

    # the heartbeat central receives
    app.sync.heartbeat_once()
    beat = app.central.call("GET", f"/v1/terminals/{app.config.terminal_id}")["last_heartbeat"]
    assert beat["can_serve"] is False and beat["state"] == "out_of_service"
    assert beat["devices"]["idcard"]["device"] == "noDevice"

    # the touch screen's out-of-service page, in the resident's words
    reason = out_of_service_reason(app)
    assert reason is not None and "身份证" in reason["zh"]

    # kiosk diagnose (and the technician screen)
    diag = Diagnostics(app.config, app).run_action("report")
    assert diag["ok"] is False and diag["can_serve"] is False

    # the metrics gauge and the status file kiosk health reads
    ops = Operations(app, serve_metrics=False)
    ops.start()
    try:
        ops.publisher.publish()
        assert app.metrics.registry.get_sample_value("kiosk_can_serve") == 0
    finally:
        ops.stop()
    env = {**os.environ, "KIOSK_DATA_DIR": str(app.config.data_dir)}
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "health", "--json"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["source"] == "app" and out["state"] == "out_of_service" and out["can_serve"] is False
    assert "essential device idcard" in out["problems"]
