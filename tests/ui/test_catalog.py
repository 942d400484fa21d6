"""The catalog with a full menu (27 services over the three categories, as
the catalog files declare them): tabs, pages a finger and an older
resident can turn, "常用" ranked by this terminal's own counts, search, and
availability - at the screen sizes halls use, in both modes."""

from __future__ import annotations

import json

import pytest

from kiosk.core.config import load_config
from ui.backend import EngineBackend
from ui.usage import UsageStats

pytestmark = pytest.mark.qt

CATEGORIES = ("approval", "convenience", "public")
# (id, category, zh, en, keywords): what a hall offers, as the menu's catalog files declare it
MENU = [
    ("hukou_certificate", "convenience", "户籍证明打印", "Household registration certificate", ["户籍"]),
    ("id_online_function", "approval", "居民身份证网上功能开通", "ID card online functions", ["身份证"]),
    ("exit_endorsement", "approval", "出入境证件再次签注", "Travel permit endorsement", ["签注"]),
    ("driving_points", "convenience", "驾驶证记分查询", "Driving licence points", ["驾驶证"]),
    ("driving_review", "approval", "驾驶证审验", "Driving licence review", ["审验"]),
    ("tax_record", "convenience", "个人所得税纳税记录", "Income tax record", ["完税"]),
    ("social_security_payments", "convenience", "社保缴费明细", "Social security payments", ["社保"]),
    ("pension_qualification", "approval", "养老金领取资格认证", "Pension qualification", ["养老金"]),
    ("medical_insurance_proof", "convenience", "医保参保凭证", "Medical insurance proof", ["医保"]),
    ("medical_account", "convenience", "医保个人账户查询", "Medical insurance account", ["医保账户"]),
    ("medical_remote_filing", "approval", "异地就医备案", "Treatment elsewhere filing", ["异地"]),
    ("provident_fund_proof", "convenience", "公积金缴存证明", "Provident fund proof", ["公积金"]),
    ("provident_loan", "convenience", "公积金贷款查询", "Provident fund loan", ["贷款"]),
    ("property_proof", "convenience", "不动产权属证明", "Property ownership proof", ["不动产"]),
    ("employment_registration", "approval", "就业失业登记", "Employment registration", ["就业"]),
    ("flexible_employment", "approval", "灵活就业登记", "Flexible employment registration", ["灵活就业"]),
    ("business_licence", "convenience", "营业执照信息查询", "Business licence lookup", ["执照"]),
    ("marriage_appointment", "public", "婚姻登记预约", "Marriage registration appointment", ["婚姻"]),
    ("queue_ticket", "public", "排队取号", "Queue ticket", ["取号"]),
    ("evaluation", "public", "服务评价", "Rate our service", ["评价"]),
    ("service_guide", "public", "办事指南", "Service guide", ["指南"]),
    ("case_progress", "public", "办件进度查询", "Case progress", ["进度"]),
    ("appointment", "public", "预约服务", "Appointments", ["预约"]),
    ("complaint", "public", "投诉咨询", "Complaints and questions", ["投诉"]),
    ("no_property_proof", "convenience", "无房证明", "Proof of no property", ["无房"]),
    ("traffic_violations", "convenience", "交通违法处理", "Traffic violations", ["违章"]),
    ("restricted_area_pass", "approval", "限行区域通行证", "Restricted area pass", ["通行证"]),
]
UNAVAILABLE = {"property_proof": {"zh": "A4打印机缺纸", "en": "A4 printer out of paper"}}


class MenuApp:
    """The full menu over one small real flow (every tile opens a real session)."""

    devices = None

    def services(self):
        return [{"id": sid, "category": cat, "available": sid not in UNAVAILABLE,
                 "title": {"key": None, "zh": zh, "en": en},
                 "description": {"key": None, "zh": f"{zh}（自助办理）", "en": f"{en}, self-service"},
                 "reasons": [UNAVAILABLE[sid]] if sid in UNAVAILABLE else [], "keywords": kw}
                for sid, cat, zh, en, kw in MENU]

    def new_session(self, service_id, lang="zh"):
        from flows.engine import END, Choice, Flow, Session, Step

        steps = {"done": Step("done", view="message", title="ui.common.done",
                              actions=[Choice("ok", "ui.common.confirm")], next=END)}
        return Session(Flow(service_id, "public", "flows.svc.traffic_violations.title", steps, "done"), None,
                       lang=lang)

    def call_staff(self, reason="", service=None):
        return True


@pytest.fixture
def menu(data_dir, make_ui):
    def build(**kw):
        backend = EngineBackend(MenuApp())
        backend.out_of_service_reason = lambda: None
        driver = make_ui(load_config(), backend, **kw)
        driver.data_dir = data_dir
        driver.tap("touchToStart")
        driver.wait_page("catalog")
        driver.qtbot.waitUntil(lambda: len(driver.ui.vm.catalog.items) == len(MENU), timeout=5000)
        return driver
    return build


def shown_tiles(kiosk) -> list[str]:
    return [s["id"] for s in kiosk.ui.vm.catalog.services if not kiosk.absent(f"service_{s['id']}")]


def every_page(kiosk) -> list[str]:
    """Turn through every page of the current tab with the next button."""
    catalog = kiosk.ui.vm.catalog
    seen = shown_tiles(kiosk)
    while catalog.page < catalog.pages - 1:
        turned_to, before = catalog.page + 1, list(seen)
        kiosk.tap("btnNextPage")
        kiosk.qtbot.waitUntil(lambda n=turned_to: catalog.page == n, timeout=5000)
        kiosk.qtbot.waitUntil(lambda b=before: shown_tiles(kiosk) and shown_tiles(kiosk)[0] not in b, timeout=5000)
        seen += shown_tiles(kiosk)
    return seen


def test_tabs_split_the_menu_by_category_and_pages_reach_every_service(menu):
    kiosk = menu()
    catalog = kiosk.ui.vm.catalog
    assert [t["id"] for t in catalog.tabs] == ["frequent", "all", *CATEGORIES]
    assert [kiosk.text(f"tab_{c}Label") for c in ("frequent", "all", *CATEGORIES)] == \
        ["常用", "全部", "审批服务", "便民服务", "公共服务"]
    kiosk.tap("tab_all")
    assert kiosk.text("catalogPageText") == f"第 1 / {catalog.pages} 页" and catalog.pages >= 3
    assert every_page(kiosk) == [m[0] for m in MENU]          # each service once, in catalog order
    kiosk.tap("btnPrevPage")
    assert catalog.page == catalog.pages - 2
    for category in CATEGORIES:
        kiosk.tap(f"tab_{category}")
        assert catalog.page == 0 and catalog.category == category
        assert every_page(kiosk) == [m[0] for m in MENU if m[1] == category]
    # still greyed with its reason, on whichever page it lands
    kiosk.show_service("property_proof", tab="convenience")
    kiosk.tap("service_property_proof")
    assert "A4打印机缺纸" in kiosk.text("noticeText") and kiosk.ui.vm.page == "catalog"


def test_a_swipe_turns_the_page(menu):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    kiosk = menu()
    catalog = kiosk.ui.vm.catalog
    kiosk.tap("tab_all")
    x, y, w, h = kiosk.rect("serviceGrid")
    start, end = QPoint(int(x + w * 0.8), int(y + h / 2)), QPoint(int(x + w * 0.2), int(y + h / 2))
    QTest.mousePress(kiosk.ui.view, Qt.LeftButton, Qt.NoModifier, start)
    for i in range(1, 11):
        QTest.mouseMove(kiosk.ui.view, start + (end - start) * (i / 10))
    QTest.mouseRelease(kiosk.ui.view, Qt.LeftButton, Qt.NoModifier, end)
    kiosk.qtbot.waitUntil(lambda: catalog.page == 1, timeout=5000)
    assert kiosk.ui.backend.session is None   # a swipe is not a tap on a tile


def test_frequently_used_ranks_this_terminals_own_counts_and_keeps_no_person(menu):
    kiosk = menu()
    catalog = kiosk.ui.vm.catalog
    assert catalog.category == "frequent"      # where every resident starts
    first_page = [m[0] for m in MENU][:len(catalog.services)]
    assert shown_tiles(kiosk) == first_page    # nothing counted yet: the catalog's own order
    for service, times in (("complaint", 2), ("driving_points", 1)):
        for _ in range(times):
            kiosk.show_service(service)
            kiosk.tap(f"service_{service}")
            kiosk.wait_view("message")
            kiosk.tap("btnHome")
            kiosk.wait_page("attract")
            kiosk.tap("touchToStart")
            kiosk.wait_page("catalog")
    assert shown_tiles(kiosk)[:2] == ["complaint", "driving_points"]
    kiosk.shot("catalog_frequent", docs=False)
    saved = json.loads((kiosk.data_dir / "ui" / "service_usage.json").read_text("utf-8"))
    assert saved == {"opened": {"complaint": 2, "driving_points": 1}}   # ids and counts, nothing else
    # the counts stay with the terminal across restarts
    assert UsageStats(kiosk.data_dir / "ui" / "service_usage.json").ranked(["a", "driving_points", "complaint"]) == \
        ["complaint", "driving_points", "a"]


def test_pinyin_search_looks_through_every_category(menu):
    kiosk = menu()
    kiosk.tap("tab_public")
    kiosk.tap("searchBox")
    assert len(kiosk.ui.vm.catalog.quickWords) == 12   # suggestions stay two short rows
    kiosk.type_keys("GJJ")          # 公积金 (convenience) from the public tab
    assert set(shown_tiles(kiosk)) == {"provident_fund_proof", "provident_loan"}
    assert kiosk.ui.vm.catalog.category == ""      # no tab claims the results
    kiosk.shot("catalog_search", docs=False)
    kiosk.tap("tab_approval")                    # a tab ends the search
    assert kiosk.ui.vm.catalog.search == "" and "provident_loan" not in shown_tiles(kiosk)


SIZES = [((1920, 1080), False), ((1920, 1080), True), ((1366, 768), False), ((1366, 768), True),
         ((1280, 1024), False), ((1280, 1024), True), ((1080, 1920), False), ((1080, 1920), True)]


SIZE_IDS = [f"{w}x{h}-{'elderly' if e else 'standard'}" for (w, h), e in SIZES]


@pytest.mark.parametrize("size,elderly", SIZES, ids=SIZE_IDS)
def test_every_size_and_mode_keeps_tabs_tiles_and_pager_whole(menu, size, elderly):
    kiosk = menu()
    kiosk.ui.view.resize(*size)
    if elderly:
        kiosk.tap("btnElderly")
    kiosk.tap("tab_all")
    catalog = kiosk.ui.vm.catalog
    kiosk.qtbot.waitUntil(lambda: shown_tiles(kiosk) == [s["id"] for s in catalog.services], timeout=5000)
    target = 96 if elderly else 64
    tabs = [f"tab_{t['id']}" for t in catalog.tabs]
    tiles = [f"service_{s}" for s in shown_tiles(kiosk)]
    assert len(tiles) >= (2 if elderly else 4), tiles
    kiosk.on_screen("catalogPageText", *(() if kiosk.absent("catalogTitle") else ("catalogTitle",)))
    kiosk.on_screen(*tabs, *tiles, "btnPrevPage", "btnNextPage", min_height=target)
    boxes = {n: kiosk.rect(n) for n in [*tabs, *tiles, "btnPrevPage", "btnNextPage"]}
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[a], boxes[b]
            assert ax + aw <= bx + 0.5 or bx + bw <= ax + 0.5 or ay + ah <= by + 0.5 or by + bh <= ay + 0.5, \
                f"{a} {boxes[a]} overlaps {b} {boxes[b]}"
    title = kiosk.item(f"serviceTitle_{shown_tiles(kiosk)[0]}").property("font").pixelSize()
    assert title >= (40 if elderly else 26)
    kiosk.tap("btnLang")
    kiosk.on_screen(*tabs, "btnPrevPage", "btnNextPage", min_height=target)   # longer English labels too
    kiosk.shot(f"catalog_full_{size[0]}x{size[1]}", docs=False)
