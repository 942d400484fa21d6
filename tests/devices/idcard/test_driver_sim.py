"""IdCardReader against the simulator over a real pty: cards, faults, recovery."""

import threading
import time

import pytest

from devices.base import DeviceError, DeviceState, DeviceTimeout
from devices.idcard import wlt
from devices.idcard.driver import IdCardReader, serial_target
from devices.idcard.simulator import FAULTS, IdCardSimulator, load_card, packaged_cards
from devices.manager import DeviceManager
from kiosk.core.config import load_config


@pytest.fixture
def sim():
    s = IdCardSimulator(card="resident", seed=7).start()
    yield s
    s.stop()


@pytest.fixture
def reader(sim):
    r = IdCardReader("idcard", sim.url, {"timeout_s": 1.0, "mode": "demo"}).open()
    yield r
    r.close()


def test_url_forms():
    assert serial_target("serial:///dev/ttyUSB0?baud=115200") == ("/dev/ttyUSB0", 115200)
    assert serial_target("serial:///dev/ttyS1?baud=9600") == ("/dev/ttyS1", 9600)
    assert serial_target("serial:///dev/ttyUSB0") == ("/dev/ttyUSB0", 115200)
    assert serial_target("rfc2217://10.0.0.5:4001?baud=57600") == ("rfc2217://10.0.0.5:4001", 57600)
    assert serial_target("socket://127.0.0.1:7000") == ("socket://127.0.0.1:7000", 115200)
    for bad in ("tcp://127.0.0.1:9100", "serial://?baud=9600", "socket://nohost", "serial:///dev/x?baud=fast"):
        with pytest.raises(ValueError):
            serial_target(bad)


def test_status_reports_media_and_sam(sim, reader):
    st = reader.status()
    assert st.device is DeviceState.ONLINE and st.detail == {"media": "present", "sam": "ok"}
    sim.remove()
    st = reader.refresh_status()
    assert st.device is DeviceState.ONLINE and st.detail["media"] == "notPresent"
    assert "no card" in st.message_en


@pytest.mark.parametrize("name", packaged_cards())
def test_reads_every_packaged_card(sim, reader, name):
    card = load_card(name)
    sim.present(name)
    ident = reader.read_card()
    assert ident.id_number == card["id_number"]
    assert ident.card_type == card["type"]
    assert ident.photo_wlt is not None and len(ident.photo_wlt) == 1024
    if card.get("photo"):
        assert ident.photo_decoded and ident.photo == wlt.packaged_photo(card["photo"])
    else:
        assert not ident.photo_decoded and ident.photo is None
        assert "cannot be decoded" in ident.extra["photo_note"]
    if name == "bad_check_digit":
        assert "idnumber.check_digit" in ident.problems
    if name == "expired":
        assert "idcard.expired" in ident.problems


def test_unsupported_layout_is_named(sim, reader):
    from devices.idcard.textparse import encode_text

    text = bytearray(encode_text(load_card("resident")))
    text[248:250] = "Z".encode("utf-16-le")
    sim.present({"text_hex": text.hex(), "photo": None})
    with pytest.raises(DeviceError) as err:
        reader.read_card()
    assert err.value.key == "idcard.unsupported_layout" and "'Z'" in str(err.value)


def test_resident_fields_as_human_text(reader):
    d = reader.read_card().as_dict(reveal=True)
    assert (d["name"], d["sex"], d["nation"], d["birth"]) == ("欧阳明", "男", "汉", "1985-03-12")
    assert d["valid_to"] == "2036-05-20" and d["card_type"] == "resident"


@pytest.mark.parametrize("fault", ["noise", "bad_checksum_once", "slow"])
def test_line_faults_that_a_retry_or_resync_absorbs(sim, reader, fault):
    sim.set_fault(fault)
    assert reader.read_card().name == "欧阳明"


@pytest.mark.parametrize("fault, key, state", [
    ("no_card", "idcard.no_card", DeviceState.ONLINE),
    ("bad_checksum", "idcard.checksum", DeviceState.HARDWARE_ERROR),
    ("sam_fault", "idcard.sw.sam_selftest", DeviceState.HARDWARE_ERROR),
    ("silent", "idcard.timeout", DeviceState.OFFLINE),
])
def test_faults_give_one_clear_error(sim, reader, fault, key, state):
    sim.set_fault(fault)
    with pytest.raises(DeviceError) as err:
        reader.read_card()
    assert err.value.key == key and err.value.state is state
    assert err.value.message("zh") and err.value.message("en")
    sim.set_fault(None)
    assert reader.read_card().name == "欧阳明"  # nothing is left broken


def test_every_fault_switch_is_covered():
    covered = {"noise", "bad_checksum_once", "slow", "no_card", "bad_checksum", "sam_fault", "silent", "pulled"}
    assert covered == set(FAULTS)


def test_silent_reader_times_out_as_device_timeout(sim, reader):
    sim.set_fault("silent")
    with pytest.raises(DeviceTimeout):
        reader.read_card()


def test_faults_found_while_reading_update_the_status(sim, reader):
    seen = []
    reader.on_status(lambda dev, st: seen.append(st.device))
    sim.set_fault("sam_fault")
    with pytest.raises(DeviceError):
        reader.read_card()
    assert reader.status().device is DeviceState.HARDWARE_ERROR
    sim.set_fault(None)
    reader.read_card()
    assert reader.status().device is DeviceState.ONLINE
    assert seen == [DeviceState.HARDWARE_ERROR, DeviceState.ONLINE]


def test_sam_fault_shows_in_status(sim, reader):
    sim.set_fault("sam_fault")
    st = reader.refresh_status()
    assert st.device is DeviceState.HARDWARE_ERROR and st.detail["sam"] == "fault"
    assert "self-test" in st.message_en


def test_card_pulled_mid_read_then_next_read_works(sim, reader):
    sim.set_fault("pulled")
    with pytest.raises(DeviceError) as err:
        reader.read_card()
    assert err.value.key == "idcard.card_removed"
    assert "taken away" in str(err.value)
    sim.present("resident_biden")
    assert reader.read_card().name == "白振东"


def test_wait_for_card_polls_until_a_card_is_put_down(sim, reader):
    sim.remove()
    assert reader.wait_for_card(0.3) is False
    timer = threading.Timer(0.3, sim.present, args=("hmt_J",))
    timer.start()
    try:
        assert reader.wait_for_card(5) is True
    finally:
        timer.cancel()
    assert reader.read_card().card_type == "hmt_residence"


def test_read_card_with_timeout_waits_for_the_card(sim, reader):
    sim.remove()
    timer = threading.Timer(0.3, sim.present, args=("foreigner_Y",))
    timer.start()
    try:
        assert reader.read_card(timeout=5).card_type == "foreigner_permanent_2023"
    finally:
        timer.cancel()


def test_newest_address_sam_id_and_fingerprint(sim, reader):
    assert reader.read_newest_address() == "北京市东城区安定门外大街甲88号2单元1101室"
    sim.present("resident_biden")
    assert reader.read_newest_address() is None
    assert reader.sam_id() == "05.01-20230615-0000012345-0000067890"
    sim.present(dict(load_card("resident"), fingerprint=True))
    ident = reader.read_fingerprint_card()
    assert len(ident.extra["fingerprint"]) == 1024 and ident.name == "欧阳明"
    ident.wipe()
    assert ident.name == "" and ident.photo is None and ident.extra == {}


def test_set_baud_switches_both_ends(sim, reader):
    reader.set_baud(57600)
    # the simulator switches once its answer has crossed the line, which may
    # be just after the driver has read it
    deadline = time.monotonic() + 5.0
    while sim.baud != 57600 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.baud == 57600 and reader.baudrate == 57600
    assert reader.read_card().name == "欧阳明"
    reader.reset_sam()


def test_missing_port_is_no_device_with_reason(tmp_path):
    r = IdCardReader("idcard", f"serial://{tmp_path}/ttyNONE?baud=115200").open()
    try:
        st = r.status()
        assert st.device is DeviceState.NO_DEVICE and "No such file" in st.last_error
        with pytest.raises(DeviceError) as err:
            r.read_card()
        assert err.value.key == "idcard.port_unavailable"
    finally:
        r.close()


def test_manager_starts_the_simulator_for_sim_url(tmp_path, data_dir):
    config = load_config(env={"KIOSK_DATA_DIR": str(data_dir)})
    with DeviceManager(config, workdir=tmp_path, only=["idcard"]) as manager:
        reader = manager.first("idcard")
        assert isinstance(reader, IdCardReader) and reader.url.startswith("serial:///dev/")
        assert reader.status().detail == {"media": "present", "sam": "ok"}
        handle = manager.simulators["idcard"]
        handle.present("resident_biden")
        assert reader.read_card().name == "白振东"
        handle.remove()
        assert reader.refresh_status().detail["media"] == "notPresent"
