"""Production mode: a terminal refuses to start on demo parts, says which in
one line (exit 2); ``config check`` lists each; ``health`` flags demo mode."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from kiosk.core.config import ConfigError, load_config
from kiosk.core.production import check_can_start, problems

REAL = """
mode = "production"
[central]
url = "https://central.example.gov.cn/"
token = "t-1c6f0e7a9b2d4c58"
public_url = "https://verify.example.gov.cn/"
[sms]
url = "https://sms.example.gov.cn/send"
[devices.idcard]
url = "serial:///dev/kiosk-idcard?baud=115200"
[devices.smartcard]
url = "pcsc://"
[devices.camera]
url = "v4l2:///dev/video0"
[devices.ticket_printer]
url = "tcp://192.0.2.10:9100"
[devices.a4_printer]
url = "cups://HallA4"
"""


def site(tmp_path, text: str):
    f = tmp_path / "site.toml"
    f.write_text(text)
    return f


def kiosk(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("KIOSK_MODE", "KIOSK_CONFIG")}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**e, **(env or {})})


def test_a_real_production_config_has_no_problem(tmp_path):
    cfg = load_config(site(tmp_path, REAL), env={})
    assert cfg.mode == "production" and problems(cfg) == []
    check_can_start(cfg)


@pytest.mark.parametrize("change, key", [
    ('[central]\nurl = "embedded://"\n', "central.url"),
    ('[central]\nurl = "http://central.example.gov.cn/"\n', "central.url"),
    ('[central]\nverify_tls = false\n', "central.verify_tls"),
    ('[central]\ntoken = "sandbox-T-0001-0123456789abcdef"\n', "central.token"),
    ('[devices.camera]\nurl = "sim://"\n', "devices.camera.url"),
    ('[sms]\nurl = "memory://"\n', "sms.url"),
])
def test_each_demo_part_is_refused_in_production(tmp_path, change, key):
    import tomllib

    from kiosk.core.config import _merge

    text = REAL
    data = _merge(tomllib.loads(REAL), tomllib.loads(change))
    cfg = load_config(site(tmp_path, text), env={}, overrides={k: v for k, v in data.items() if k != "mode"})
    assert [k for k, _ in problems(cfg)] == [key]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_can_start(cfg)
    # the same config marked demo starts
    check_can_start(cfg.with_overrides({"mode": "demo"}))


def test_production_without_a_public_verification_address_is_refused(tmp_path):
    cfg = load_config(site(tmp_path, REAL.replace('public_url = "https://verify.example.gov.cn/"\n', "")), env={})
    assert [k for k, _ in problems(cfg)] == ["central.public_url"]
    with pytest.raises(ConfigError, match=r"central\.public_url"):
        check_can_start(cfg)


def test_the_builtin_default_as_production_lists_every_demo_part(tmp_path):
    cfg = load_config(env={"KIOSK_MODE": "production"})
    keys = [k for k, _ in problems(cfg)]
    assert "central.url" in keys and "sms.url" in keys
    assert {f"devices.{n}.url" for n in ("idcard", "smartcard", "camera", "ticket_printer", "a4_printer")} <= set(keys)


def test_run_and_sync_refuse_to_start_in_one_line(tmp_path):
    f = site(tmp_path, 'mode = "production"\n')
    env = {"KIOSK_DATA_DIR": str(tmp_path / "data")}
    for args in (("run", "--exit-after", "1"), ("cases", "sync", "--once")):
        proc = kiosk("--config", str(f), *args, env=env)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "not allowed in production mode" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_config_check_reports_each_problem(tmp_path):
    f = site(tmp_path, 'mode = "production"\n[central]\nurl = "http://c.example/"\nverify_tls = false\n')
    proc = kiosk("--config", str(f), "config", "check")
    assert proc.returncode == 2
    assert "central.url: http://" in proc.stderr and "central.verify_tls" in proc.stderr
    assert "sms.url: memory://" in proc.stderr and "devices.idcard.url: sim://" in proc.stderr
    ok = kiosk("--config", str(site(tmp_path, REAL)), "config", "check")
    assert ok.returncode == 0 and "mode production" in ok.stdout, ok.stderr
    demo = kiosk("config", "check")
    assert demo.returncode == 0 and "warning: demo mode" in demo.stdout


def test_health_in_production_with_demo_parts_is_out_of_service(tmp_path):
    f = site(tmp_path, 'mode = "production"\n')
    proc = kiosk("--config", str(f), "health", "--json", env={"KIOSK_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 1
    assert "central.url: embedded://" in proc.stdout


def test_health_names_demo_mode_as_a_problem():
    from kiosk.status import evaluate

    state, found = evaluate({"mode": "demo", "services": {"a": {"available": True}},
                             "store": {"accepting": True}})
    assert state == "degraded" and any(p.startswith("demo mode") for p in found)
    assert evaluate({"mode": "production", "services": {"a": {"available": True}},
                     "store": {"accepting": True}}) == ("ok", [])


def test_embedded_sandbox_is_not_started_for_production(tmp_path):
    from kiosk.app import central_client

    cfg = load_config(env={"KIOSK_MODE": "production", "KIOSK_DATA_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="production"):
        central_client(cfg)
    assert not (tmp_path / "central").exists()


def test_sandbox_database_is_owner_only_and_controls_exist_only_in_demo(tmp_path):
    from fastapi.testclient import TestClient

    from central.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 'c' / 'central.db'}", demo=False)
    assert stat.S_IMODE((tmp_path / "c" / "central.db").stat().st_mode) == 0o600
    with TestClient(app) as c:
        assert c.get("/v1/sandbox/faults").status_code in (401, 404)
        assert c.post("/pay/P1").status_code == 404
    app.state.sandbox.db.close()
