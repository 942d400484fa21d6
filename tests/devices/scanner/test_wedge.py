"""Keyboard-wedge scanners (evdev).

No virtual input devices can be created on these machines (no uinput), so the
evdev path runs on recorded event streams (``evdev_streams.json``: the
(type, code, value) events a HID scanner produces, EV_MSC scan codes and
EV_SYN included) through the decoder the driver uses, and through the driver's
read loop fed by evdev's own event reader on a pipe carrying kernel
``struct input_event`` records.
"""

import concurrent.futures as cf
import json
import os
import struct
from pathlib import Path

import pytest

from devices.base import DeviceError, DeviceState, DeviceTimeout
from devices.scanner.keymap import KeyDecoder, decode_events
from devices.scanner.wedge import WedgeScanner

STREAMS = json.loads((Path(__file__).parent / "evdev_streams.json").read_text())


@pytest.mark.parametrize("stream, options, text, symbology", [
    ("ascii_receipt", {}, "RCPT-2026-000123", None),
    ("qr_url_with_aim", {}, "https://gov.example/r?id=42&t=A_b", "qr"),
    ("gbk_alt_codes", {}, "居民码:ABC", None),
    ("unicode_alt_codes", {"alt_codes": "unicode"}, "中文-1", None),
    ("ean13_tab_suffix", {"suffix": "TAB"}, "6901234567892", "ean13"),
    ("caps_lock", {}, "ABc1", None),
    ("gs1_ctrl_separator", {}, "\x1d0106901234567892", "gs1-128"),
])
def test_recorded_streams_decode(stream, options, text, symbology):
    scans = decode_events(STREAMS[stream], **options)
    assert [(s.text, s.symbology) for s in scans] == [(text, symbology)]


def test_two_scans_in_one_stream():
    assert [s.text for s in decode_events(STREAMS["two_scans"])] == ["ONE", "TWO"]


@pytest.mark.parametrize("stream", ["unknown_key", "bad_gbk_code"])
def test_garbled_keys_are_one_clear_error(stream):
    with pytest.raises(DeviceError) as e:
        decode_events(STREAMS[stream])
    assert e.value.key == "scanner.garbled" and e.value.state is DeviceState.ONLINE


def test_decoder_recovers_after_a_garbled_line():
    d = KeyDecoder()
    with pytest.raises(DeviceError):
        for ev in STREAMS["unknown_key"]:
            d.feed(*ev)
    out = [s for ev in STREAMS["ascii_receipt"] for s in d.feed(*ev)]
    assert [s.text for s in out] == ["RCPT-2026-000123"]


def test_cut_off_stream_leaves_a_pending_line():
    d = KeyDecoder()
    for ev in STREAMS["cut_off"]:
        assert d.feed(*ev) == []
    assert d.pending and d.last_key_at is not None


# --- the driver's read loop on kernel event records ----------------------------------
def _record(etype, code, value):
    return struct.pack("llHHi", 0, 0, etype, code, value)  # struct input_event (64-bit)


class PipeInput:
    """An input device node stand-in: a pipe read with evdev's own event reader."""

    def __init__(self):
        from evdev.eventio import EventIO

        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)
        self._io = EventIO()
        self._io.fd = self.fd
        self.read, self.read_one = self._io.read, self._io.read_one

    def type(self, events):
        os.write(self._w, b"".join(_record(*ev) for ev in events))

    def grab(self):
        pass

    def ungrab(self):
        pass

    def close(self):
        for fd in (self.fd, self._w):
            os.close(fd)


class RecordedWedge(WedgeScanner):
    """WedgeScanner whose device node is a PipeInput (everything else is the driver)."""

    def _open(self):
        self._dev = self.options["input"]


@pytest.fixture
def wedge():
    pytest.importorskip("evdev")
    pipe = PipeInput()
    dev = RecordedWedge("scanner", "evdev:///dev/input/by-id/usb-Recorded-event-kbd", {"input": pipe}).open()
    yield dev, pipe
    dev.close()


def read_while(dev, action, timeout=5.0):
    with cf.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(dev.read_code, timeout)
        assert dev.wait_listening(10)
        action()
        return fut.result(timeout=timeout + 10)


def test_driver_reads_recorded_keystrokes(wedge):
    dev, pipe = wedge
    pipe.type(STREAMS["ascii_receipt"])  # typed before anyone asked: discarded
    scan = read_while(dev, lambda: pipe.type(STREAMS["gbk_alt_codes"]))
    assert scan.as_dict() == {"text": "居民码:ABC", "symbology": None}
    assert read_while(dev, lambda: pipe.type(STREAMS["qr_url_with_aim"])).symbology == "qr"


def test_driver_reports_cut_off_and_silence(wedge):
    dev, pipe = wedge
    with pytest.raises(DeviceError) as e:
        read_while(dev, lambda: pipe.type(STREAMS["cut_off"]))
    assert e.value.key == "scanner.partial"
    with pytest.raises(DeviceTimeout) as e:
        dev.read_code(timeout=0.2)
    assert e.value.key == "scanner.no_scan"


def test_missing_input_device_is_no_device():
    dev = WedgeScanner("scanner", "evdev:///dev/input/by-id/usb-None-event-kbd", {}).open()
    try:
        st = dev.status()
        assert st.device is DeviceState.NO_DEVICE and "usb-None-event-kbd" in st.last_error
    finally:
        dev.close()


def test_bad_alt_code_setting_is_a_status():
    dev = WedgeScanner("scanner", "evdev:///dev/input/event3?alt_codes=big5", {}).open()
    try:
        assert "alt_codes must be gbk or unicode" in dev.status().message_en
    finally:
        dev.close()
