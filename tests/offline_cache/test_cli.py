"""The ``kiosk cases`` and ``kiosk central`` commands as a technician or a
script runs them: KIOSK_DATA_DIR and KIOSK_CENTRAL_URL point them anywhere,
output is masked, failures are one line with exit code 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import requests


def kiosk(*args, env_extra=None, data_dir=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    if data_dir is not None:
        env["KIOSK_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_simulate_list_sync_and_stats_against_a_remote_central(tmp_path, central):
    env = {"KIOSK_CENTRAL_URL": central.url, "KIOSK_CENTRAL_TOKEN": central.token_for("T-0001")}
    r = kiosk("cases", "simulate", "--count", "6", "--seed", "4", data_dir=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    stats = json.loads(kiosk("cases", "stats", "--json", data_dir=tmp_path).stdout)
    assert (stats["pending"], stats["synced"], stats["dead"]) == (6, 0, 0)
    listed = kiosk("cases", "list", "--json", data_dir=tmp_path)
    rows = json.loads(listed.stdout)
    assert len(rows) == 6 and all("*" in r["applicant"]["id_number"] for r in rows)
    body = kiosk("cases", "list", data_dir=tmp_path).stdout
    assert "**********" in body
    r = kiosk("cases", "sync", "--once", "--json", data_dir=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sent"] == 6
    stats = json.loads(kiosk("cases", "stats", "--json", data_dir=tmp_path).stdout)
    assert (stats["pending"], stats["synced"], stats["dead"]) == (0, 6, 0)
    remote = json.loads(kiosk("central", "stats", "--json", data_dir=tmp_path, env_extra=env).stdout)
    assert remote["cases"] == 6 and remote["duplicates_rejected"] == 0


def test_sync_with_central_down_fails_in_one_line_and_keeps_cases(tmp_path):
    env = {"KIOSK_CENTRAL_URL": f"http://127.0.0.1:{free_port()}"}
    kiosk("cases", "simulate", "--count", "3", data_dir=tmp_path)
    r = kiosk("cases", "sync", "--once", data_dir=tmp_path, env_extra=env)
    assert r.returncode == 1
    assert r.stderr.startswith("error: sync incomplete") and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert json.loads(kiosk("cases", "stats", "--json", data_dir=tmp_path).stdout)["pending"] == 3


def test_embedded_central_by_default(tmp_path):
    kiosk("cases", "simulate", "--count", "4", data_dir=tmp_path)
    r = kiosk("cases", "sync", "--once", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    stats = json.loads(kiosk("central", "stats", "--json", data_dir=tmp_path).stdout)
    assert stats["cases"] == 4
    assert (tmp_path / "central" / "config-signing.pub").exists()


def test_dead_letters_are_listed_with_their_reason(tmp_path, central):
    from offline_cache.store import CaseStore

    s = CaseStore(tmp_path, "T-0001")
    s.commit_case("x" * 80, {"name": "张三", "id_number": "110101198503120316"}, {})
    s.close()
    kiosk("cases", "sync", "--once", data_dir=tmp_path,
          env_extra={"KIOSK_CENTRAL_URL": central.url, "KIOSK_CENTRAL_TOKEN": central.token_for("T-0001")})
    r = kiosk("cases", "list", "--dead", data_dir=tmp_path)
    assert "HTTP 400 invalid_request" in r.stdout
    dead = json.loads(kiosk("cases", "list", "--dead", "--json", data_dir=tmp_path).stdout)
    assert len(dead) == 1 and dead[0]["http_status"] == 400
    assert json.loads(kiosk("cases", "stats", "--json", data_dir=tmp_path).stdout)["dead"] == 1


def test_corrupt_store_is_one_line_exit_1(tmp_path):
    (tmp_path / "cases.db").write_bytes(b"garbage" * 1000)
    r = kiosk("cases", "stats", "--json", data_dir=tmp_path)
    assert r.returncode == 1 and "integrity" in r.stderr and "Traceback" not in r.stderr
    h = kiosk("cases", "health", "--json", data_dir=tmp_path)
    assert h.returncode == 1 and json.loads(h.stdout)["state"] == "corrupt"


def test_central_serve_runs_the_sandbox(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "central", "serve", "--port", str(port),
                             "--db", f"sqlite:///{tmp_path / 'c.db'}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=10)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < end, proc.stderr.read() if proc.poll() else "timeout"
                time.sleep(0.1)
        assert r.json()["status"] == "ok"
        assert requests.get(f"http://127.0.0.1:{port}/v1/stats", timeout=10).status_code == 401
        # each terminal's own token, from the sandbox's per-install secret
        token = kiosk("central", "token", "T-0001", "--db", f"sqlite:///{tmp_path / 'c.db'}").stdout.strip()
        assert token.startswith("sandbox-T-0001.")
        stats = requests.get(f"http://127.0.0.1:{port}/v1/stats", headers={"Authorization": f"Bearer {token}"},
                             timeout=10).json()
        assert stats["cases"] == 0
        assert "openapi: 3.0.3" in requests.get(f"http://127.0.0.1:{port}/v1/openapi.yaml", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(10)
    r = kiosk("central", "stats", "--json", "--db", f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path)
    assert json.loads(r.stdout)["duplicates_rejected"] == 0
