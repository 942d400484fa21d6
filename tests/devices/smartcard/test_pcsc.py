"""The driver against virtual cards through a real pcscd + vpcd (nothing mocked below pyscard)."""

from __future__ import annotations

import threading

import pytest

from devices.base import DeviceError, DeviceState

pytestmark = pytest.mark.pcsc


def test_reader_listing(reader):
    names = reader.readers()
    assert "Virtual PCD 00 00" in names and "Virtual PCD 00 01" in names


def test_read_social_security_card(sim, reader):
    person = reader.read_social_security()
    assert person.card_type == "social_security"
    assert (person.name, person.sex, person.nation) == ("王晓明", "男", "汉")
    assert person.id_number == "32010219850612131X"
    assert person.extra["card_number"] == "D32010215"
    assert person.extra["issue_date"] == "2021-03-15"
    assert person.extra["region_code"] == "320100"
    assert person.problems == []
    assert reader.reader_name == sim.reader


def test_read_custom_social_security_card(sim, reader):
    sim.insert("social_security", {"name": "欧阳娜娜", "id_number": "110105199003076527", "nation_code": "03",
                                   "card_number": "B11010588", "region_code": "110100"})
    person = reader.read_social_security()
    assert (person.name, person.sex, person.nation) == ("欧阳娜娜", "女", "回")
    assert person.extra["issuing_region"] == "北京市"
    assert person.masked()["id_number"] == "1****************7"  # the one masking rule


def test_read_bank_card(sim, reader):
    sim.insert("bank")
    card = reader.read_bank_card()
    assert card["pan"] == "6217000000123456786"
    assert card["expiry"] == "2030-12-31"
    assert (card["scheme"], card["product"]) == ("UnionPay", "debit")
    assert card["cardholder"] == "WANG/XIAOMING"
    assert card["problems"] == []


def test_unknown_card_is_reported(sim, reader):
    sim.insert("unknown")
    assert reader.identify() == "unknown"
    for read in (reader.read_social_security, reader.read_bank_card):
        with pytest.raises(DeviceError) as err:
            read()
        assert err.value.key == "smartcard.unknown_card"
        assert "not recognised" in str(err.value)


def test_wrong_card_says_which_card_it_is(sim, reader):
    sim.insert("bank")
    with pytest.raises(DeviceError) as err:
        reader.read_social_security()
    assert err.value.key == "smartcard.wrong_card"
    assert str(err.value) == "This is a bank card; please insert a social security card"
    assert err.value.message("zh") == "这是银行卡，请插入社保卡"


def test_no_card_then_wait_for_insertion(sim, reader):
    sim.remove()
    with pytest.raises(DeviceError) as err:
        reader.read_social_security()
    assert err.value.key == "smartcard.no_card"
    assert reader.wait_for_card(0.3) is False
    threading.Timer(0.3, sim.insert, args=("social_security",)).start()
    assert reader.read_social_security(timeout=20).name == "王晓明"


def test_card_pulled_mid_read_then_next_read_works(sim, reader):
    sim.pull_after(5)  # the 5th APDU never gets an answer: the card left the slot
    with pytest.raises(DeviceError) as err:
        reader.read_social_security()
    assert err.value.key == "smartcard.card_removed"
    assert reader.status().device == DeviceState.ONLINE  # the reader itself is fine
    sim.insert("social_security")
    assert reader.read_social_security().name == "王晓明"


def test_status_follows_insert_and_remove(sim, reader, eventually):
    seen = []
    reader.on_status(lambda dev, st: seen.append(st.detail.get("media")))
    assert eventually(lambda: reader.status().detail.get("media") == "present")
    sim.remove()
    assert eventually(lambda: reader.status().detail == {"media": "notPresent"})
    assert reader.status().device == DeviceState.ONLINE
    sim.insert("bank")
    assert eventually(lambda: reader.status().detail == {"media": "present"})
    assert seen[-2:] == ["notPresent", "present"]


def test_missing_reader_is_no_device(sim):
    from devices.smartcard.driver import SmartCardReader

    with SmartCardReader("sc", "pcsc://No Such Reader") as dev:
        assert dev.refresh_status().device == DeviceState.NO_DEVICE
        with pytest.raises(DeviceError) as err:
            dev.read_social_security()
    assert err.value.key == "smartcard.no_reader"
    assert 'Card reader "No Such Reader" not found' == str(err.value)


def test_first_reader_and_prefix_urls(sim):
    from devices.smartcard.driver import SmartCardReader

    for url in ("pcsc://", "pcsc://Virtual PCD"):
        with SmartCardReader("sc", url) as dev:
            assert dev.read_social_security().extra["card_number"] == "D32010215"


def test_second_simulator_takes_the_other_slot(sim, pcscd_lease):
    from devices.smartcard.driver import SmartCardReader
    from devices.smartcard.simulator import SmartCardSimulator

    other = SmartCardSimulator("bank")  # waits (bounded) for a slot a previous test still holds
    try:
        other.start()
    except RuntimeError as exc:
        # vpcd has two slots; another simulator (another test module's fixture, a
        # demo on the same machine) may rightly hold the second one
        pytest.skip(f"no second vpcd slot free: {exc} (stop the other smart-card simulators on this machine)")
    try:
        assert other.url != sim.url and other.url.startswith("pcsc://Virtual PCD 00 0")
        with SmartCardReader("sc2", other.url) as dev:
            assert dev.read_bank_card()["scheme"] == "UnionPay"
    finally:
        other.stop()


def test_device_manager_starts_the_simulator(pcscd_lease, data_dir):
    from devices.manager import DeviceManager
    from kiosk.core.config import load_config

    config = load_config(overrides={"devices": {"smartcard": {"family": "smartcard", "url": "sim://",
                                                              "card": "bank"}}})
    with DeviceManager(config, only=["smartcard"]) as manager:
        dev = manager.get("smartcard")
        assert dev.url.startswith("pcsc://Virtual PCD 00 0")
        assert dev.read_bank_card()["pan"].endswith("6786")
        manager.simulators["smartcard"].insert("social_security")
        assert dev.read_social_security().name == "王晓明"


def test_virtual_card_comes_back_after_pcscd_restart(sim, reader, pcscd_lease, eventually):
    if not pcscd_lease.managed:
        pytest.skip("pcscd is a system service here; the test only restarts a pcscd it manages")
    assert reader.read_social_security().name == "王晓明"
    pcscd_lease.restart()
    assert eventually(lambda: sim.server.connected, timeout=30)
    assert reader.read_social_security(timeout=20).name == "王晓明"
    assert eventually(lambda: reader.status().detail == {"media": "present"}, timeout=30)
