"""``kiosk devices ...`` as a technician runs it: real subprocesses, a simulated reader on a pty."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.idcard.simulator import IdCardSimulator

ROOT = Path(__file__).resolve().parents[2]
ID_KEYS = {"name", "sex", "nation", "birth", "address", "id_number", "authority",
           "valid_from", "valid_to", "card_type", "photo_decoded"}


def kiosk(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def env(data_dir):
    e = dict(os.environ)
    e.pop("KIOSK_CONFIG", None)
    return e


@pytest.fixture
def sim():
    s = IdCardSimulator(card="resident").start()
    yield s
    s.stop()


def one_line_error(res, *words):
    assert res.returncode != 0
    assert res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_read_id_json_masked(sim, env):
    res = kiosk("devices", "read-id", "--port", sim.url, "--json", env=env)
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert ID_KEYS <= set(d)
    assert d["name"] == "欧**" and d["id_number"] == "1****************6"
    assert d["sex"] == "男" and d["nation"] == "汉" and d["photo_decoded"] is True
    assert "欧阳明" not in res.stdout + res.stderr and "110101198503120316" not in res.stdout + res.stderr


def test_read_id_reveal_and_long_term(sim, env):
    sim.present("resident_long_term")
    d = json.loads(kiosk("devices", "read-id", "--port", sim.url, "--json", "--reveal", env=env).stdout)
    assert d["name"] == "李秀英" and d["id_number"] == "32010219520708042X" and d["valid_to"] == "长期"


def test_read_id_foreigner_without_decodable_photo(sim, env):
    sim.present("foreigner_I")
    res = kiosk("devices", "read-id", "--port", sim.url, "--json", env=env)
    d = json.loads(res.stdout)
    assert res.returncode == 0 and d["card_type"] == "foreigner_permanent" and d["nation"] == "USA"
    assert d["photo_decoded"] is False and "cannot be decoded" in d["extra"]["photo_note"]


@pytest.mark.parametrize("fault, words", [
    ("no_card", ["No ID card"]),
    ("bad_checksum", ["Checksum error"]),
    ("sam_fault", ["security module"]),
    ("silent", ["Timeout"]),
])
def test_read_id_failures_are_one_line(sim, env, fault, words):
    sim.set_fault(fault)
    res = kiosk("devices", "read-id", "--port", sim.url, "--json", env=env)
    assert res.returncode == 1
    one_line_error(res, *words)


def test_read_id_missing_port_and_bad_url(env, tmp_path):
    res = kiosk("devices", "read-id", "--port", f"serial://{tmp_path}/ttyNONE", env=env)
    assert res.returncode == 1
    one_line_error(res, "Cannot open the reader port")
    res = kiosk("devices", "read-id", "--port", "tcp://127.0.0.1:9100", env=env)
    assert res.returncode == 2
    one_line_error(res, "invalid --port")


def test_read_id_builtin_simulator(env):
    res = kiosk("devices", "read-id", "--port", "sim://", "--card", "hmt_J", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["card_type"] == "hmt_residence"


def test_status_and_list_show_every_configured_device(env, tmp_path):
    cfg = tmp_path / "site.toml"
    cfg.write_text('[devices.spare_cam]\nfamily = "camera"\nurl = "tcp://127.0.0.1:9"\n', "utf-8")
    res = kiosk("--config", str(cfg), "devices", "status", "--json", "--only", "idcard", "--only", "spare_cam", env=env)
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["idcard"]["device"] == "online" and rows["idcard"]["detail"] == {"media": "present", "sam": "ok"}
    assert rows["idcard"]["message"]["zh"] and rows["idcard"]["simulated"] is True
    assert rows["spare_cam"]["device"] == "noDevice" and "tcp" in rows["spare_cam"]["last_error"]
    res = kiosk("--config", str(cfg), "devices", "list", "--json", "--only", "idcard", "--only", "spare_cam", env=env)
    assert {r["name"]: r["device"] for r in json.loads(res.stdout)} == {"idcard": "online", "spare_cam": "noDevice"}
    res = kiosk("devices", "status", "--only", "nosuch", env=env)
    assert res.returncode == 2
    one_line_error(res, "nosuch")


def test_sim_command_with_link_and_card_file(env, tmp_path):
    link = tmp_path / "ttyID"
    card = tmp_path / "card.json"
    card.write_text((ROOT / "devices/idcard/cards/resident_biden.json").read_text("utf-8"), "utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "idcard", "--link", str(link),
                             "--card", str(card)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url == f"serial://{link}?baud=115200" and link.is_symlink()
        res = kiosk("devices", "read-id", "--port", url, "--json", "--reveal", env=env)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["name"] == "白振东"
        proc.stdin.write("remove\n")
        proc.stdin.flush()
        confirmed = next((line for line in proc.stderr if line.startswith("card:")), "")  # answers each command
        assert confirmed.startswith("card: none"), confirmed
        one_line_error(kiosk("devices", "read-id", "--port", url, env=env), "No ID card")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not link.exists()


def test_devices_help_does_not_import_other_families(env):
    code = ("import sys; from click.testing import CliRunner; from kiosk.cli import cli; "
            "r = CliRunner().invoke(cli, ['devices', '--help']); "
            "assert 'read-card' in r.output and 'camera-test' in r.output, r.output; "
            "assert 'devices.smartcard.cli' not in sys.modules and 'devices.camera.cli' not in sys.modules")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
