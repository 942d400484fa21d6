"""SerialScanner against the simulator over a real pty: modes, vendors, bad scans, re-plugging."""

import concurrent.futures as cf

import pytest

from devices.base import DeviceError, DeviceState, DeviceTimeout
from devices.manager import DeviceManager
from devices.scanner.driver import SerialScanner
from devices.scanner.simulator import ScannerSimulator
from kiosk.core.config import load_config


@pytest.fixture
def make(tmp_path):
    made = []

    def _make(trigger="continuous", suffix="CR", prefix="", encoding="gb18030", **options):
        sim = ScannerSimulator(trigger=trigger, suffix=suffix, prefix=prefix, encoding=encoding,
                               link=tmp_path / f"scanner{len(made)}").start()
        dev = SerialScanner("scanner", sim.url, options).open()
        made.append((sim, dev))
        return sim, dev

    yield _make
    for sim, dev in made:
        dev.close()
        sim.stop()


def read_while(dev, action, timeout=5.0):
    """Start a read, do ``action`` once the driver listens, return the scan."""
    with cf.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(dev.read_code, timeout)
        assert dev.wait_listening(10)
        action()
        return fut.result(timeout=timeout + 10)


@pytest.mark.parametrize("suffix", ["CR", "LF", "CRLF", "TAB"])
def test_continuous_scan_with_each_suffix(make, suffix):
    sim, dev = make(suffix=suffix)
    assert dev.status().device is DeviceState.ONLINE and dev.status().detail["transport"] == "serial"
    scan = read_while(dev, lambda: sim.scan("]not-aim 居民码 ABC-123"))
    assert scan.as_dict() == {"text": "]not-aim 居民码 ABC-123", "symbology": None}


@pytest.mark.parametrize("symbology", ["qr", "ean13", "code128", "gs1-128"])
def test_symbology_from_aim_identifier(make, symbology):
    sim, dev = make()
    scan = read_while(dev, lambda: sim.scan("6901234567892", symbology))
    assert (scan.text, scan.symbology) == ("6901234567892", symbology)


def test_ascii_scanner_with_prefix(make):
    sim, dev = make(prefix="\\x02", encoding="ascii", suffix="CRLF")
    assert read_while(dev, lambda: sim.scan("RCPT-2026-000123")).text == "RCPT-2026-000123"


@pytest.mark.parametrize("vendor", ["honeywell", "newland", "zebra"])
def test_vendor_trigger_lights_only_during_a_read(make, vendor):
    sim, dev = make(trigger=vendor)
    sim.scan("预约码 A-0931", "qr")  # a code lying under the window is not read until triggered
    assert sim.commands == []
    scan = dev.read_code(timeout=5)
    assert scan.as_dict() == {"text": "预约码 A-0931", "symbology": "qr"}
    assert sim.wait_commands(2) == ["on", "off"]
    with pytest.raises(DeviceTimeout) as e:
        dev.read_code(timeout=0.3)
    assert e.value.key == "scanner.no_scan" and dev.status().device is DeviceState.ONLINE
    assert sim.wait_commands(4) == ["on", "off", "on", "off"]


def test_scans_made_before_the_read_are_discarded(make):
    sim, dev = make()
    sim.scan("left by the previous resident")
    assert read_while(dev, lambda: sim.scan("mine")).text == "mine"


def test_held_code_is_one_scan(make):
    sim, dev = make(repeat_window_s=30)
    assert read_while(dev, lambda: sim.scan("HOLD", "qr", repeat=3)).text == "HOLD"
    assert read_while(dev, lambda: sim.scan("HOLD", "qr", repeat=2) or sim.scan("NEXT", "qr")).text == "NEXT"
    assert dev.suppressed >= 2 and dev.scans == 2  # the two HOLDs of the second read at least


def test_no_suppression_when_window_is_zero(make):
    sim, dev = make(repeat_window_s=0)
    assert read_while(dev, lambda: sim.scan("SAME")).text == "SAME"
    assert read_while(dev, lambda: sim.scan("SAME")).text == "SAME"


def test_garbled_and_partial_scans_are_clear_and_recoverable(make):
    sim, dev = make()
    with pytest.raises(DeviceError) as e:
        read_while(dev, sim.garbled)
    assert e.value.key == "scanner.garbled" and "scan again" in str(e.value)
    with pytest.raises(DeviceError) as e:
        read_while(dev, lambda: sim.partial("https://gov.exam"))
    assert e.value.key == "scanner.partial" and "cut off" in str(e.value)
    assert dev.status().device is DeviceState.ONLINE
    assert read_while(dev, lambda: sim.scan("after")).text == "after"


def test_unplug_and_plug(make):
    sim, dev = make(trigger="honeywell")
    sim.unplug()
    st = dev.refresh_status()
    assert st.device is DeviceState.NO_DEVICE and "cannot be opened" in st.last_error
    with pytest.raises(DeviceError) as e:
        dev.read_code(timeout=1)
    assert e.value.state is DeviceState.NO_DEVICE
    sim.plug()
    sim.scan("back", "qr")
    assert dev.read_code(timeout=5).text == "back"
    assert dev.status().device is DeviceState.ONLINE


def test_bad_url_is_a_status_not_a_crash():
    dev = SerialScanner("scanner", "serial:///dev/ttyACM9?trigger=acme", {}).open()
    try:
        st = dev.status()
        assert st.device is DeviceState.NO_DEVICE and "trigger must be one of" in st.message_en
        with pytest.raises(DeviceError):
            dev.read_code(timeout=0.1)
    finally:
        dev.close()


def test_manager_starts_the_configured_simulator(tmp_path):
    cfg = load_config(None)
    manager = DeviceManager(cfg, workdir=tmp_path, only=["scanner"]).start()
    try:
        dev = manager.first("scanner")
        assert dev is not None and manager.describe()[0]["simulated"]
        assert dev.status().device is DeviceState.ONLINE
        sim = manager.simulators["scanner"]
        assert read_while(dev, lambda: sim.scan("https://gov.example/r/1", "qr")).symbology == "qr"
    finally:
        manager.stop()
