"""DLE EOT answers -> common device status."""

from __future__ import annotations

import pytest

from devices.base import DeviceState
from printers.escpos import status as st


def parse(p=0x12, o=0x12, r=0x12):
    return st.parse({1: p, 2: o, 4: r})


def test_paper_bytes_from_the_design():
    assert parse(r=0x12).paper == "full"
    assert parse(r=0x1E).paper == "low"
    assert parse(r=0x72).paper == "out"


def test_ok_near_end_out_map_to_device_status():
    ok = parse().device_status()
    assert ok.device == DeviceState.ONLINE and ok.detail == {"paper": "full", "cover": "closed"}
    near = parse(r=0x1E).device_status()
    assert near.device == DeviceState.ONLINE and near.detail["paper"] == "low"
    assert near.message.key == "printing.escpos.paper_low"  # prints, but warns
    out = parse(p=0x1A, o=0x32, r=0x72).device_status(pending=2)
    assert out.device == DeviceState.USER_ERROR
    assert out.detail == {"paper": "out", "cover": "closed", "pending": 2}
    assert "paper" in out.message_en and out.message_zh == "打印机缺纸，请更换纸卷"


def test_cover_open_is_bit_2_of_n2():
    s = parse(p=0x1A, o=0x16)
    assert s.cover_open and not s.printable
    assert s.problem().key == "printing.escpos.cover_open"
    assert s.device_status().detail["cover"] == "open"


def test_offline_without_known_cause():
    s = parse(p=0x1A)
    assert s.problem().key == "printing.escpos.offline"
    assert s.device_status().device == DeviceState.OFFLINE


def test_cutter_error():
    s = st.parse({1: 0x1A, 3: 0x1A})
    assert s.error == "cutter" and s.problem().state == DeviceState.HARDWARE_ERROR


@pytest.mark.parametrize("bad", [0x00, 0xFF, 0x13, 0x92])
def test_bytes_without_fixed_bits_are_rejected(bad):
    with pytest.raises(st.StatusFormatError):
        st.parse({4: bad})


@pytest.mark.parametrize("paper", ["full", "low", "out"])
@pytest.mark.parametrize("cover", [False, True])
def test_encode_parse_round_trip(paper, cover):
    s = st.parse(st.encode(paper, cover))
    assert (s.paper, s.cover_open, s.printable) == (paper, cover, paper != "out" and not cover)
