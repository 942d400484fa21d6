"""EscPosPrinter against the simulator over real transports: confirmation,
paper and cover faults, pending jobs that print when the printer is back."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from devices.base import DeviceError, DeviceState
from printers.escpos.driver import EscPosPrinter
from printers.escpos.layouts import render_ticket
from printers.escpos.simulator import EscPosSimulator


def ticket(number: str, waiting: int = 3) -> dict:
    return {"hall": "市民中心", "service": {"zh": "社保卡补办", "en": "Social Security Card"}, "number": number,
            "waiting": waiting, "time": "2024-05-06T09:31", "follow_url": f"https://q.example/t/{number}"}


def numbers_on(texts: list[str]) -> list[str]:
    """Ticket numbers on pages, from the line printed in large type."""
    return [line for t in texts for line in t.splitlines() if line.startswith("A") and line[1:].isdigit()]


def wait_for(cond, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@pytest.fixture
def sim(tmp_path):
    s = EscPosSimulator(out_dir=tmp_path / "pages").start()
    yield s
    s.stop()


@pytest.fixture
def printer_for(tmp_path):
    opened = []

    def make(url: str, **options) -> EscPosPrinter:
        opts = {"spool_dir": str(tmp_path / "spool"), "retry_interval_s": 0.1, **options}
        p = EscPosPrinter("ticket_printer", url, opts).open()
        opened.append(p)
        return p

    yield make
    for p in opened:
        p.close()


def test_ticket_is_printed_and_confirmed(sim, printer_for):
    p = printer_for(sim.url)
    assert p.status().device == DeviceState.ONLINE
    queries = sim.status_queries
    result = p.print_ticket(ticket("A001"))
    assert result.state == "printed" and result.confirmed and result.warning is None
    assert result.job_id == "ticket-20240506-A001"
    assert "A001" in sim.last_text() and "社保卡补办" in sim.last_text()
    assert sim.status_queries - queries == 6  # DLE EOT 1, 2, 4 before and after
    assert p.pending() == []


def test_paper_near_end_prints_with_a_warning(sim, printer_for):
    sim.set_paper("near")
    p = printer_for(sim.url)
    result = p.print_ticket(ticket("A002"))
    assert result.confirmed and numbers_on(sim.page_texts()) == ["A002"]
    assert result.warning.key == "printing.escpos.paper_low"
    assert p.status().detail["paper"] == "low" and p.status().device == DeviceState.ONLINE


@pytest.mark.parametrize("fault,key", [("paper", "printing.escpos.paper_out"), ("cover", "printing.escpos.cover_open")])
def test_fault_keeps_the_job_and_prints_it_when_fixed(sim, printer_for, fault, key):
    sim.set_paper("out") if fault == "paper" else sim.set_cover(True)
    p = printer_for(sim.url)
    printed = []
    p.on_job(printed.append)
    with pytest.raises(DeviceError) as err:
        p.print_ticket(ticket("A003"))
    assert err.value.key == key and err.value.pending
    assert sim.pages() == []  # nothing was sent
    assert [j["ref"] for j in p.pending()] == ["A003"]
    assert p.status().device == DeviceState.USER_ERROR and p.status().detail["pending"] == 1
    sim.set_paper("ok") if fault == "paper" else sim.set_cover(False)
    assert wait_for(lambda: printed)  # listeners hear of it after the spool is updated
    assert not p.pending() and numbers_on(sim.page_texts()) == ["A003"]
    assert [r.ref for r in printed] == ["A003"] and printed[0].confirmed
    assert wait_for(lambda: p.status().device == DeviceState.ONLINE)


def test_same_job_id_never_prints_twice(sim, printer_for):
    p = printer_for(sim.url)
    assert p.print_ticket(ticket("A004")).state == "printed"
    again = p.print_ticket(ticket("A004"))
    assert again.state == "duplicate" and again.confirmed
    assert numbers_on(sim.page_texts()) == ["A004"]


def test_paper_out_mid_queue_loses_and_duplicates_nothing(tmp_path, sim, printer_for):
    p = printer_for(sim.url)
    p.print_ticket(ticket("A100"))
    height = sum(e.height for e in sim.it.pages[0].elements)
    sim.set_paper_left(int(height * 2.5))  # the roll ends in the middle of the third ticket
    issued = [f"A{n}" for n in range(101, 108)]
    failed = []
    for number in issued:
        try:
            p.print_ticket(ticket(number))
        except DeviceError as exc:
            assert exc.key == "printing.escpos.paper_out"
            failed.append(number)
    assert failed == issued[2:]  # A103 ran out mid-print, later ones were never sent
    assert [j["ref"] for j in p.pending()] == issued[2:]
    assert any(not t.complete for t in sim.it.pages)  # the torn ticket
    sim.set_paper("ok")
    assert wait_for(lambda: not p.pending())
    assert numbers_on(sim.complete_page_texts()) == ["A100"] + issued  # each once, in order


def test_pending_jobs_survive_a_restart(tmp_path, sim):
    opts = {"spool_dir": str(tmp_path / "spool"), "retry_interval_s": 0.1}
    sim.set_paper("out")
    first = EscPosPrinter("tp", sim.url, opts).open()
    with pytest.raises(DeviceError):
        first.print_ticket(ticket("A200"))
    first.close()
    sim.set_paper("ok")
    second = EscPosPrinter("tp", sim.url, opts).open()  # e.g. after a power cut
    try:
        assert wait_for(lambda: not second.pending())
        assert numbers_on(sim.page_texts()) == ["A200"]
    finally:
        second.close()


def test_unreachable_printer_keeps_the_job(tmp_path, printer_for):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = printer_for(f"tcp://127.0.0.1:{port}", retry_interval_s=60)
    assert p.status().device == DeviceState.OFFLINE
    with pytest.raises(DeviceError) as err:
        p.print_ticket(ticket("A300"))
    assert err.value.key == "printing.escpos.unreachable" and "127.0.0.1" in str(err.value)
    assert [j["ref"] for j in p.pending()] == ["A300"]
    with EscPosSimulator(port=port) as sim:  # the printer comes back
        assert [r.ref for r in p.retry_pending()] == ["A300"]
        assert numbers_on(sim.page_texts()) == ["A300"]


def test_silent_device_is_not_taken_as_healthy(tmp_path, printer_for):
    """A TCP peer that never answers DLE EOT is an error, not "paper ok"."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        port = srv.getsockname()[1]
        p = printer_for(f"tcp://127.0.0.1:{port}", timeout_s=0.3, retry_interval_s=60)
        with pytest.raises(DeviceError) as err:
            p.print_ticket(ticket("A301"))
        assert err.value.key == "printing.escpos.no_answer"
        assert p.pending()


def test_file_transport_writes_the_exact_bytes(tmp_path, printer_for):
    out = tmp_path / "lp0"
    p = printer_for(f"file://{out}", paper_width_mm=58)
    assert p.status().detail["paper"] == "unknown"
    result = p.print_ticket(ticket("A400"))
    assert result.state == "written" and not result.confirmed
    assert out.read_bytes() == render_ticket(ticket("A400"), 58)


def test_process_id_confirmation(sim, printer_for):
    p = printer_for(sim.url, confirm="process_id")
    assert p.print_receipt({"case_no": "C1", "service": "无房证明", "applicant": "张三"}).confirmed
    assert "张*" in sim.last_text() and "张三" not in sim.last_text()


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed (apt-get install socat)")
def test_serial_transport_through_a_pty(tmp_path, sim, printer_for):
    link = tmp_path / "ttyPRN"
    proc = subprocess.Popen(["socat", f"pty,link={link},raw,echo=0", f"tcp:{sim.host}:{sim.port}"],
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(link.exists, 10)
        p = printer_for(f"serial://{link}?baud=115200")
        assert p.print_ticket(ticket("A500")).confirmed
        assert numbers_on(sim.page_texts()) == ["A500"]
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_device_manager_starts_the_simulator_for_sim_url(tmp_path, monkeypatch):
    from devices.manager import DeviceManager
    from kiosk.core.config import load_config
    from printers.families import printer_registry

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    config = load_config(env={"KIOSK_DATA_DIR": str(tmp_path / "data")},
                         overrides={"devices": {"ticket_printer": {"retry_interval_s": 0.1}}})
    with DeviceManager(config, registry=printer_registry(["escpos"]), workdir=tmp_path,
                       only=["ticket_printer"]) as manager:
        printer, handle = manager.get("ticket_printer"), manager.simulators["ticket_printer"]
        assert printer.status().device == DeviceState.ONLINE
        handle.set_paper("out")
        assert printer.refresh_status().detail["paper"] == "out"
        handle.set_paper("ok")
        printer.print_ticket(ticket("A600"))
        assert "A600" in handle.last_text() and handle.pages()[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_cancel_pending_withdraws_a_kept_job_for_good(sim, printer_for):
    """The resident chose another output: the kept receipt never comes out later."""
    sim.set_paper("out")
    p = printer_for(sim.url, retry_interval_s=60)
    with pytest.raises(DeviceError):
        p.print_ticket(ticket("B001"))
    assert [j["ref"] for j in p.pending()] == ["B001"]
    job_id = p.pending()[0]["id"]
    assert p.cancel_pending(job_id) is True
    sim.set_paper("ok")
    p.retry_pending()
    assert p.pending() == []
    assert numbers_on(sim.page_texts()) == []
    assert p.print_ticket(ticket("B001")).state == "duplicate"  # the number stays used
