"""``kiosk print ...`` and ``kiosk printers status`` as a technician runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from printers.escpos.simulator import EscPosSimulator

REPO = Path(__file__).resolve().parents[2]


def kiosk(*args: str, data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "KIOSK_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    env.pop("KIOSK_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


TICKET = ["print", "ticket", "--service", "社保卡补办", "--number", "A012", "--waiting", "5"]


@pytest.fixture
def sim():
    s = EscPosSimulator().start()
    yield s
    s.stop()


def test_ticket_on_a_tcp_printer(tmp_path, sim):
    r = kiosk(*TICKET, "--printer", sim.url, "--width", "58", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "A012" in r.stdout and "confirmed" in r.stdout
    assert "A012" in sim.last_text() and "前面还有 5 人等候" in sim.last_text()
    assert "市民中心24小时自助服务厅" in sim.last_text()  # terminal.hall from the config


def test_sim_printer_saves_the_paper_as_png(tmp_path):
    out = tmp_path / "png"
    r = kiosk(*TICKET, "--printer", "sim://", "--out", str(out), "--json", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["confirmed"] and result["state"] == "printed"
    [page] = result["pages"]
    assert Path(page).read_bytes()[:4] == b"\x89PNG" and Path(page).parent == out


@pytest.mark.parametrize("url,why", [("sim://?paper=out", "out of paper"), ("sim://?cover=open", "cover is open")])
def test_fault_exits_1_with_one_line(tmp_path, url, why):
    r = kiosk(*TICKET, "--printer", url, data_dir=tmp_path)
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert why in line and "A012" in line and "Traceback" not in r.stderr


def test_unreachable_printer(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = kiosk(*TICKET, "--printer", f"tcp://127.0.0.1:{port}", data_dir=tmp_path)
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert "unreachable" in line


def test_job_kept_while_paper_out_prints_with_the_next_one(tmp_path, sim):
    sim.set_paper("out")
    assert kiosk(*TICKET, "--printer", sim.url, data_dir=tmp_path).returncode == 1
    sim.set_paper("ok")
    r = kiosk("print", "ticket", "--service", "社保卡补办", "--number", "A013", "--waiting", "4",
              "--printer", sim.url, "--json", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    [earlier] = json.loads(r.stdout)["reprinted"]
    assert earlier.startswith("ticket-") and earlier.endswith("-A012")
    texts = sim.page_texts()
    assert [("A012" in t, "A013" in t) for t in texts] == [(True, False), (False, True)]


def test_receipt_masks_the_applicant(tmp_path, sim):
    r = kiosk("print", "receipt", "--printer", sim.url, "--case-no", "C20240506-0012", "--service", "无房证明开具",
              "--applicant", "欧阳娜娜", "--id-number", "321002199001010016", "--result", "completed",
              "--verify-url", "https://v.example/r/C20240506-0012", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    text = sim.last_text()
    assert "欧**" in text and "3****************6" in text and "已办结 Completed" in text
    assert "欧阳娜娜" not in text


def test_usage_errors_exit_2(tmp_path):
    r = kiosk(*TICKET, "--printer", "ipp://127.0.0.1/x", data_dir=tmp_path)
    assert r.returncode == 2 and "unsupported printer URL" in r.stderr
    r = kiosk("print", "ticket", "--service", "x", "--number", "A1", "--waiting", "-1", data_dir=tmp_path)
    assert r.returncode == 2


def test_printers_status_json(tmp_path, sim):
    config = tmp_path / "site.toml"
    config.write_text(f'[devices.ticket_printer]\nfamily = "escpos"\nurl = "{sim.url}"\n'
                      f'[devices.lobby_printer]\nfamily = "escpos"\nurl = "tcp://127.0.0.1:1"\n')
    sim.set_paper("near")
    r = kiosk("--config", str(config), "printers", "status", "--json", "--device", "ticket_printer",
              "--device", "lobby_printer", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["ticket_printer"]["device"] == "online" and rows["ticket_printer"]["detail"]["paper"] == "low"
    assert rows["lobby_printer"]["device"] == "offline"


def test_certificate_subcommand_is_listed(tmp_path):
    r = kiosk("print", "--help", data_dir=tmp_path)
    assert r.returncode == 0 and "certificate" in r.stdout and "ticket" in r.stdout
