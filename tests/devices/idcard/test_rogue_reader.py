"""A USB-serial device that speaks the reader protocol and presents the
simulator's photo (any face it likes) is refused outside demo mode."""

from __future__ import annotations

import pytest

from devices.idcard import wlt
from devices.idcard.driver import IdCardReader
from devices.idcard.simulator import IdCardSimulator
from devices.manager import DeviceManager
from kiosk.core.config import load_config


@pytest.fixture
def rogue():
    s = IdCardSimulator(card="resident").start()
    yield s
    s.stop()


def test_production_decoders_never_include_the_simulator():
    names = [d.name for d in wlt.default_decoders()]
    assert "simulator" not in names
    named = wlt.default_decoders(["devices.idcard.wlt:SimulatorDecoder"])   # even when a site names it
    assert "simulator" not in [d.name for d in named]
    assert not wlt.decode_photo(wlt.simulator_wlt("obama")).ok
    assert "simulator" in [d.name for d in wlt.default_decoders(demo=True)]


@pytest.mark.parametrize("options", [{}, {"mode": "production"}])
def test_reader_outside_demo_mode_refuses_a_simulator_photo(rogue, options):
    reader = IdCardReader("idcard", rogue.url, options).open()
    try:
        ident = reader.read_card()
    finally:
        reader.close()
    assert not ident.photo_decoded and ident.photo is None
    assert "idcard.simulated_photo" in ident.problems


def test_production_terminal_refuses_it_and_demo_takes_it(rogue, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(f'mode = "production"\n[devices.idcard]\nfamily = "idcard"\nurl = "{rogue.url}"\n'
                    '# a site cannot switch it back on per device\nmode = "demo"\n')
    for mode, refused in (("production", True), ("demo", False)):
        cfg = load_config(site, env={"KIOSK_MODE": mode, "KIOSK_DATA_DIR": str(tmp_path / "data")})
        manager = DeviceManager(cfg, only=["idcard"]).start()
        try:
            ident = manager.devices["idcard"].read_card()
        finally:
            manager.stop()
        assert ("idcard.simulated_photo" in ident.problems) is refused
        assert ident.photo_decoded is not refused


def test_flow_rejects_the_card(rogue):
    from flows.steps.identity import ReadCardStep

    reader = IdCardReader("idcard", rogue.url, {"mode": "production"}).open()
    try:
        ident = reader.read_card()
    finally:
        reader.close()
    refusal = ReadCardStep("read_card").check_identity(None, ident)
    assert refusal is not None
    assert "证件信息无法核验" in refusal.zh and "cannot be verified" in refusal.en
    assert "simulat" not in refusal.zh + refusal.en   # no technician words for the resident
