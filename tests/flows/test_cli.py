"""``kiosk session run`` and ``kiosk demo`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def kiosk(args, data_dir, timeout=240):
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env["KIOSK_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_session_run_writes_what_the_resident_gets(tmp_path):
    out = tmp_path / "out"
    r = kiosk(["session", "run", "queue_ticket", "--out", str(out), "--json"], tmp_path / "data")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["outcome"] == "completed" and report["service"] == "queue_ticket"
    assert report["steps"][0]["step"] == "business" and "machine_ms" in report["steps"][0]
    pngs = [a for a in report["artifacts"] if a.endswith(".png")]
    assert len(pngs) == 1 and (out / os.path.basename(pngs[0])).read_bytes()[:4] == b"\x89PNG"
    assert (out / "queue_ticket.journal.jsonl").exists()


def test_session_run_usage_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: [unclosed\n", "utf-8")
    r = kiosk(["session", "run", "queue_ticket", "--script", str(bad)], tmp_path / "data")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not valid YAML" in r.stderr
    r = kiosk(["session", "run", "no_such_service"], tmp_path / "data")
    assert r.returncode == 2 and "script not found" in r.stderr and "Traceback" not in r.stderr
    other = tmp_path / "other.yaml"
    other.write_text("service: traffic_violations\nsteps: []\n", "utf-8")
    r = kiosk(["session", "run", "queue_ticket", "--script", str(other)], tmp_path / "data")
    assert r.returncode == 2 and "traffic_violations" in r.stderr


@pytest.mark.timeout(400)
def test_demo_runs_every_seed_service(tmp_path):
    out = tmp_path / "demo"
    r = kiosk(["demo", "--out", str(out), "--json"], tmp_path / "data", timeout=380)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    report = json.loads(r.stdout)
    services = {s["service"]: s for s in report["services"]}
    assert set(services) >= {"no_property_proof", "social_security_proof", "provident_fund_withdrawal", "queue_ticket",
                             "traffic_violations", "restricted_area_pass", "family_agency", "evaluation"}
    assert all(s["ok"] for s in services.values())
    assert any(a.endswith(".pdf") for a in services["no_property_proof"]["artifacts"])
    assert all(os.path.exists(a) for s in services.values() for a in s["artifacts"])
