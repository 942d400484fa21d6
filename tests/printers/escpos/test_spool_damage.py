"""A damaged ESC/POS spool: one torn or hostile line is set aside and every
other job still prints, once."""

from __future__ import annotations

import json
import time

import pytest

from devices.base import DeviceError
from printers.escpos.driver import EscPosPrinter
from printers.escpos.simulator import EscPosSimulator
from printers.escpos.spool import JobSpool


def ticket(number: str) -> dict:
    return {"hall": "市民中心", "service": {"zh": "社保卡补办", "en": "Social Security Card"}, "number": number,
            "waiting": 1, "time": "2024-05-06T09:31", "follow_url": f"https://q.example/t/{number}"}


def numbers_on(texts: list[str]) -> list[str]:
    return [line for t in texts for line in t.splitlines() if line.startswith("A") and line[1:].isdigit()]


def wait_for(cond, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()

DAMAGE = [
    b'{"op": "add", "id": "torn-by-power-cut", "kind": "ticket", "ref": "A1',   # cut mid-record
    b"\xff\xfe\x00garbage\n",                                                     # not UTF-8
    b'{"op": "add", "id": "x", "kind": "ticket", "ref": "", "created": 1, "data": "!!notbase64"}\n',
    b'{"op": "add", "id": ["list"], "data": ""}\n',
    b'{"op": "add", "id": "y", "created": "yesterday", "data": ""}\n',
    b'[1, 2, 3]\n',
    b'{"op": "done", "id": "z", "at": {}}\n',
]


@pytest.fixture
def sim(tmp_path):
    s = EscPosSimulator(out_dir=tmp_path / "pages").start()
    yield s
    s.stop()


def kept_jobs(tmp_path, sim, damage: bytes):
    """A spool holding A301 and A302 with a damaged line between them."""
    opts = {"spool_dir": str(tmp_path / "spool"), "retry_interval_s": 0.1}
    sim.set_paper("out")
    p = EscPosPrinter("tp", sim.url, opts).open()
    with pytest.raises(DeviceError):
        p.print_ticket(ticket("A301"))
    p.close()
    path = tmp_path / "spool" / "tp.jsonl"
    with open(path, "ab") as f:
        f.write(damage)
    p = EscPosPrinter("tp", sim.url, opts).open()
    with pytest.raises(DeviceError):
        p.print_ticket(ticket("A302"))
    p.close()
    return opts, path


@pytest.mark.parametrize("damage", DAMAGE, ids=range(len(DAMAGE)))
def test_damaged_line_is_quarantined_and_every_other_job_prints(tmp_path, sim, damage):
    opts, path = kept_jobs(tmp_path, sim, damage)
    sim.set_paper("ok")
    p = EscPosPrinter("tp", sim.url, opts).open()
    try:
        assert wait_for(lambda: not p.pending())
        result = p.print_ticket(ticket("A303"))
        assert result.confirmed
    finally:
        p.close()
    assert numbers_on(sim.page_texts()) == ["A301", "A302", "A303"]
    torn = path.with_name(path.name + ".torn").read_bytes()
    assert damage.rstrip(b"\n") in torn
    for line in path.read_bytes().splitlines():
        json.loads(line)  # what is left is well-formed


def test_record_cut_before_its_newline_does_not_swallow_the_next(tmp_path):
    spool = JobSpool(tmp_path / "s.jsonl")
    spool.add("a", "ticket", "A1", b"one")
    # the newline of a complete record was lost in a power cut
    spool.path.write_bytes(spool.path.read_bytes().rstrip(b"\n"))
    spool.add("b", "ticket", "A2", b"two")
    assert [j.id for j in spool.pending()] == ["a", "b"]
    spool.mark_done("a")
    assert [j.id for j in spool.pending()] == ["b"]
    assert spool.add("a", "ticket", "A1", b"one") == "done"  # printed: never again


def test_reading_a_damaged_spool_never_raises(tmp_path):
    spool = JobSpool(tmp_path / "s.jsonl")
    spool.add("a", "ticket", "A1", b"one")
    with open(spool.path, "ab") as f:
        f.writelines(DAMAGE)
        f.write(b"\n")
    assert [j.id for j in spool.pending()] == ["a"]
    assert spool.add("x", "ticket", "X1", b"x") == "added"  # damage marks nothing printed
