"""The bank-branch profile (deploy/profiles/bank.toml) over the real core: the
screen carries the bank's name, logo, colours and counter hours, and offers
only the government services the branch runs.
Screenshots: docs/screenshots/bank_<screen>_standard_<zh|en>.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from ui.backend import EngineBackend
from ui.theme import contrast

pytestmark = pytest.mark.qt

BANK = Path(__file__).resolve().parents[2] / "deploy" / "profiles" / "bank.toml"
NOT_AT_THE_BANK = ("queue_ticket", "traffic_violations")


def sample_logo(path):
    """A small stand-in for a bank's logo (the profile ships none)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 116, 116), radius=18, fill="#0B5394")
    draw.ellipse((30, 30, 90, 90), fill="#B8860B")
    for i, width in enumerate((220, 180, 200)):
        draw.rounded_rectangle((136, 22 + i * 30, 136 + width, 40 + i * 30), radius=8, fill="#0B5394")
    image.save(path)
    return path


@pytest.fixture(scope="module")
def bank_core(tmp_path_factory, core_starter):
    tmp = tmp_path_factory.mktemp("bank")
    logo = sample_logo(tmp / "bank-logo.png")
    config, app = core_starter(tmp / "data", BANK, overrides={"branding": {"logo": str(logo)}})
    yield config, app
    app.stop()


@pytest.fixture
def kiosk(bank_core, make_ui):
    config, app = bank_core
    driver = make_ui(config, EngineBackend(app))
    driver.app = app
    return driver


def header_colour(kiosk) -> str:
    kiosk.settle()
    image = kiosk.ui.view.grabWindow()
    return QColor(image.pixel(image.width() // 2, 4)).name().upper()


def test_bank_profile_look_hours_and_services(kiosk):
    vm = kiosk.ui.vm.catalog
    # services: the attract list and the catalog agree, both without the hall's extras
    kiosk.qtbot.waitUntil(lambda: len(vm.availableNow) > 0, timeout=10000)
    offered = {s["id"] for s in vm.items}
    assert offered and not offered & set(NOT_AT_THE_BANK)
    assert offered <= set(kiosk.app.config.get("services.enabled"))
    advertised = {s["id"] for s in vm.availableNow}
    assert advertised == {s["id"] for s in vm.items if s["available"]}
    for sid in NOT_AT_THE_BANK:
        assert kiosk.absent(f"available_{sid}")
    kiosk.item("available_no_property_proof")

    # the bank's name, logo, colours and counter hours
    assert kiosk.text("brandName") == "城市商业银行"
    assert kiosk.text("attractHall") == "城市商业银行 政务服务自助区"
    kiosk.item("brandLogo")
    kiosk.item("attractLogo")
    assert kiosk.absent("brandEmblem")
    assert kiosk.ui.theme.property("primary").upper() == "#0B5394"
    assert kiosk.ui.theme.property("accent").upper() == "#B8860B"
    assert header_colour(kiosk) == "#0B5394"
    # the gold accent is light: the call-staff button's text turns dark to stay readable
    assert contrast(kiosk.ui.theme.property("onAccent"), "#B8860B") >= 4.5
    assert kiosk.text("attractHours") == "人工窗口服务时间：周一至周日 09:00-17:00（银行营业时间）"
    kiosk.shot("bank_attract")
    kiosk.tap("btnCallStaff")
    assert "09:00-17:00" in kiosk.text("noticeText")  # when someone is at the counters

    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.show_service("no_property_proof")
    for sid in NOT_AT_THE_BANK:
        assert kiosk.absent(f"service_{sid}")
    kiosk.tap("tab_public")  # the hall's queue ticket lives here; the bank has none
    assert kiosk.absent("service_queue_ticket")
    kiosk.tap("tab_all")
    # search suggestions come from the services offered here
    kiosk.tap("searchBox")
    assert "公积金" in vm.quickWords and not {"取号", "违章"} & set(vm.quickWords)
    kiosk.tap("quick_公积金")
    assert kiosk.absent("service_no_property_proof") and not kiosk.absent("service_provident_fund_withdrawal")
    kiosk.tap("keyClear")
    kiosk.tap("searchBox")
    kiosk.shot("bank_catalog")

    kiosk.tap("btnLang")
    assert kiosk.text("brandName") == "City Commercial Bank"
    kiosk.tap("btnHome")
    kiosk.wait_page("attract")
    kiosk.tap("btnLang")
    assert kiosk.text("attractHall") == "City Commercial Bank - Government Services Corner"
    assert kiosk.text("attractHours") == "Staffed counters: Mon-Sun 09:00-17:00 (branch opening hours)"
    kiosk.shot("bank_attract")
    kiosk.tap("touchToStart")
    kiosk.wait_page("catalog")
    kiosk.shot("bank_catalog")
