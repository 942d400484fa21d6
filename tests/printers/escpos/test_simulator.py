"""The simulator speaks ESC/POS over real TCP: bytes in, paper (PNG + text) out,
status answered at any time."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from printers.escpos.encoder import Encoder, process_id_request, status_query
from printers.escpos.layouts import render_ticket
from printers.escpos.simulator import EscPosSimulator

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def sim(tmp_path):
    s = EscPosSimulator(out_dir=tmp_path / "pages").start()
    yield s
    s.stop()


def send(sim: EscPosSimulator, data: bytes, expect: int = 0) -> bytes:
    with socket.create_connection((sim.host, sim.port), timeout=5) as c:
        c.sendall(data)
        got = b""
        while len(got) < expect:
            chunk = c.recv(64)
            if not chunk:
                break
            got += chunk
        if not expect:  # let the simulator read everything before closing
            c.sendall(status_query(1))
            c.recv(1)
    return got


def test_chinese_text_round_trip(sim):
    send(sim, Encoder().init().align("center").size(2, 2).line("社保卡补办").size(1, 1).line("A012 号").cut().bytes())
    assert sim.last_text() == "社保卡补办\nA012 号"
    assert len(sim.pages()) == 1


def test_without_fs_ampersand_the_printer_prints_latin_garbage(sim):
    send(sim, "社保".encode("gb18030") + b"\n\x1dV\x00")
    assert "社保" not in sim.last_text()
    assert sim.last_text() == "╔τ▒ú"  # what a printer in single-byte mode shows


def test_command_split_across_tcp_writes(sim):
    data = Encoder().init().line("办理业务").qr("https://q.example/1").cut().bytes()
    with socket.create_connection((sim.host, sim.port), timeout=5) as c:
        for i in range(len(data)):
            c.sendall(data[i:i + 1])
        c.sendall(status_query(1))
        assert c.recv(1) == b"\x12"
    assert sim.last_text() == "办理业务\n[QR] https://q.example/1"


def test_status_answered_mid_job_and_state_changes_live(sim):
    job = Encoder().init().line("排队").bytes()
    answers = send(sim, job + status_query(4) + status_query(1), expect=2)
    assert answers == b"\x12\x12"
    sim.set_paper("near")
    assert send(sim, status_query(4), expect=1) == b"\x1e"
    sim.set_paper("out")
    assert send(sim, status_query(4) + status_query(1), expect=2) == b"\x72\x1a"
    sim.set_paper("ok")
    sim.set_cover(True)
    assert send(sim, status_query(2), expect=1)[0] & 0x04
    sim.set_cover(False)
    assert send(sim, status_query(2), expect=1) == b"\x12"


def test_qr_code_in_the_png_decodes_to_the_same_url(sim):
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    url = "https://queue.example.gov.cn/t/A012"
    send(sim, render_ticket({"service": "社保卡补办", "number": "A012", "waiting": 3, "follow_url": url}))
    png = sim.pages()[-1]
    img = np.array(Image.open(io.BytesIO(png)).convert("L"))
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(img)
    assert decoded == url
    assert (Path(sim.out_dir) / "page-0001.png").read_bytes() == png


def test_raster_logo_is_drawn(sim):
    logo = Image.new("1", (64, 32), 1)
    for x in range(64):
        for y in range(8, 24):
            logo.putpixel((x, y), 0)
    send(sim, Encoder().init().align("center").image(logo).cut().bytes())
    assert sim.last_text() == "[IMAGE 64x32]"
    page = Image.open(io.BytesIO(sim.pages()[-1])).convert("L")
    # a black band 16 dots high, centred on the 80 mm paper
    cx = page.width // 2
    column = [page.getpixel((cx, y)) for y in range(page.height)]
    assert sum(1 for v in column if v < 128) == 16


def test_process_id_answer_after_printing(sim):
    assert send(sim, Encoder().line("A").bytes() + process_id_request(b"0001"), expect=7) == b"\x37\x220001\x00"


def test_paper_runs_out_mid_page(sim):
    sim.set_paper_left(100)
    send(sim, Encoder().init().line("A001").feed(10).line("never").cut().bytes())
    assert sim.state()["paper"] == "out"
    assert sim.page_texts() == ["A001"] and sim.complete_page_texts() == []
    assert len(sim.pages()) == 1  # drawn (on the simulator's drawing thread) and saved
    assert (Path(sim.out_dir) / "page-0001-torn.png").exists()


def test_sim_cli_takes_state_changes_on_stdin(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "escpos", "--port", str(port),
                             "--paper", "near", "--out", str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        with conn:
            conn.sendall(status_query(4))
            assert conn.recv(1) == b"\x1e"
            proc.stdin.write("paper out\n")
            proc.stdin.flush()
            assert proc.stdout.readline().startswith("paper out")
            conn.sendall(status_query(4))
            assert conn.recv(1) == b"\x72"
            proc.stdin.write("cover open\n")
            proc.stdin.flush()
            assert "cover open" in proc.stdout.readline()
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
