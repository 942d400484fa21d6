"""The operator console in a real browser (Debian's headless chromium driven
by Selenium): sign-in and lockout, the fleet overview's filters, one
terminal's page, a config push with confirmation that the terminal then
receives signed, CSV exports, and pages that fit a 1366x768 laptop.

``KIOSK_SCREENSHOTS=docs/screenshots`` keeps the console-*.png screenshots."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from kiosk.core.remote_config import RemoteConfigStore, load_public_key

By = pytest.importorskip("selenium.webdriver.common.by").By
WebDriverException = pytest.importorskip("selenium.common.exceptions").WebDriverException
Select = pytest.importorskip("selenium.webdriver.support.select").Select

SHOTS = Path(os.environ["KIOSK_SCREENSHOTS"]) if os.environ.get("KIOSK_SCREENSHOTS") else None
CJK = re.compile(r"[\u3400-\u9fff]")


def shot(browser, tmp_path, name: str) -> None:
    """A screenshot of the 1366x768 viewport (kept in docs with KIOSK_SCREENSHOTS)."""
    target = (SHOTS or tmp_path) / f"console-{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target))


def fits_width(browser) -> bool:
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def sign_in(browser, fleet, name: str = "alice", password: str | None = None, lang: str = "zh") -> None:
    browser.delete_all_cookies()
    browser.get(f"{fleet.url}/console/lang/{lang}?next=/console/login")
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password or fleet.password)
    load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    """Poll ``condition`` until it gives something truthy, within a generous bound."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def load(browser, element) -> None:
    """Click something that loads a new page, and wait until the new one is in:
    the old document carries a mark the new one does not have."""
    browser.execute_script("window.consoleTestOldPage = true")

    def replaced() -> bool:
        try:
            return browser.execute_script(
                "return !window.consoleTestOldPage && document.readyState === 'complete'")
        except WebDriverException:     # between two documents
            return False
    element.click()
    wait_for(replaced, what="the next page")


def cell_classes(browser, service: str) -> list[str]:
    """The colour class of each hour cell of one service's timeline row, in one round trip."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(`#timeline tr[data-service='${arguments[0]}'] rect`),"
        " r => r.getAttribute('class'))", service)


def signed_in(browser) -> bool:
    return bool(browser.find_elements(By.ID, "fleet"))


def test_sign_in_refuses_a_wrong_password_then_locks_the_name(browser, fleet, tmp_path):
    browser.delete_all_cookies()
    browser.get(f"{fleet.url}/console/terminals/T-0001")
    assert "/console/login" in browser.current_url          # no session: the sign-in page
    shot(browser, tmp_path, "login")
    for attempt in range(5):
        sign_in(browser, fleet, "carol", "not the password")
        error = wait_for(lambda: browser.find_elements(By.ID, "login-error"), what="error")[0].text
        assert error == ("用户名或密码错误" if attempt < 4 else "失败次数过多，请 1 分钟后再试")
        assert not signed_in(browser)
    sign_in(browser, fleet, "carol", fleet.password)        # the right password, but the name is locked now
    assert "失败次数过多" in browser.find_element(By.ID, "login-error").text
    assert not signed_in(browser)
    fleet.clock[0] += 31                                     # the first lock lasts 30 s
    try:
        sign_in(browser, fleet, "carol", fleet.password)
        assert wait_for(lambda: signed_in(browser), what="the fleet page")
    finally:
        fleet.clock[0] = fleet.now
    cookie = browser.get_cookie("console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_fleet_overview_counts_states_and_filters(browser, fleet, tmp_path):
    sign_in(browser, fleet)
    wait_for(lambda: signed_in(browser), what="the fleet page")
    counts = {s: browser.find_element(By.ID, f"count-{s}").text for s in ("reporting", "stale", "never")}
    assert counts == {"reporting": "8\n在线", "stale": "1\n心跳中断", "never": "1\n从未上报"}
    assert fits_width(browser)
    shot(browser, tmp_path, "fleet")

    Select(browser.find_element(By.ID, "filter-site")).select_by_visible_text("建设银行人民路支行")
    load(browser, browser.find_element(By.ID, "apply-filters"))
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr[data-terminal]")
                    if "site=" in browser.current_url else None, what="filtered rows")
    assert [r.get_attribute("data-terminal") for r in rows] == ["T-0008", "T-0009", "T-0010"]   # T-0007 never said
    Select(browser.find_element(By.ID, "filter-version")).select_by_visible_text("2.2.1")
    load(browser, browser.find_element(By.ID, "apply-filters"))
    wait_for(lambda: "version=" in browser.current_url, what="version filter")
    rows = browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr[data-terminal]")
    assert [r.get_attribute("data-terminal") for r in rows] == ["T-0009"]

    browser.get(f"{fleet.url}/console")
    load(browser, browser.find_element(By.ID, "count-stale"))       # a state tile filters too
    wait_for(lambda: "state=stale" in browser.current_url, what="state filter")
    rows = browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr[data-terminal]")
    assert [r.get_attribute("data-terminal") for r in rows] == [fleet.stale]

    browser.get(f"{fleet.url}/console/alerts")
    rows = browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")
    assert [r.get_attribute("data-terminal") for r in rows] == [fleet.stale, fleet.never]
    assert "3 小时" in rows[0].text
    shot(browser, tmp_path, "alerts")


def test_terminal_page_shows_devices_timeline_outbox_and_problems(browser, fleet, tmp_path):
    sign_in(browser, fleet)
    wait_for(lambda: signed_in(browser), what="the fleet page")
    load(browser, browser.find_element(By.LINK_TEXT, fleet.paper_out))
    wait_for(lambda: browser.find_elements(By.ID, "terminal-id"), what="the terminal page")
    printer = browser.find_element(By.CSS_SELECTOR, "#devices tr[data-device=ticket_printer]")
    assert "硬件故障" in printer.text and "凭条打印机缺纸" in printer.text
    cells = cell_classes(browser, "no_property_proof")
    assert len(cells) == 24
    assert cells.count("f-bad") >= 3 and cells[-1] == "f-good"   # the A4 printer jam, 8 to 5 hours ago
    assert cell_classes(browser, "queue_ticket")[-1] in ("f-bad", "f-warn")   # out of paper for 40 minutes
    problems = browser.find_element(By.ID, "problems").text
    assert "设备异常" in problems and "ticket_printer" in problems and "业务不可用" in problems
    assert browser.find_element(By.ID, "outbox").text == "2 / 0"
    assert fits_width(browser)
    shot(browser, tmp_path, "terminal")

    load(browser, browser.find_element(By.LINK_TEXT, "7 天"))
    wait_for(lambda: "window=7d" in browser.current_url, what="the 7-day timeline")
    assert len(cell_classes(browser, "no_property_proof")) == 168

    load(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "切换为英文"))      # one language per page
    wait_for(lambda: browser.find_elements(By.ID, "devices") and "Devices" in text(browser), what="English")
    assert not CJK.findall(text(browser))
    assert "Receipt printer out of paper" in browser.find_element(By.ID, "devices").text
    browser.get(f"{fleet.url}/console/services")
    assert not CJK.findall(text(browser))
    shot(browser, tmp_path, "services-en")
    browser.get(f"{fleet.url}/console/lang/zh?next=/console/services")
    assert "业务可用率" in text(browser) and fits_width(browser)
    shot(browser, tmp_path, "services")


def _fetch_signed(fleet, tid: str, tmp_path: Path):
    """What the terminal does: fetch its document and apply it after checking the signature."""
    r = httpx.get(f"{fleet.url}/v1/terminals/{tid}/config", headers={"Authorization": f"Bearer {fleet.token(tid)}"})
    assert r.status_code == 200
    key = load_public_key((fleet.sandbox.db.state_dir / "config-signing.pub").read_bytes())
    store = RemoteConfigStore(tmp_path / tid, tid, [key], clock=lambda: fleet.clock[0])
    return store.apply(r.json()), store


def test_config_push_needs_confirmation_is_audited_and_reaches_the_terminal(browser, fleet, tmp_path):
    sign_in(browser, fleet)
    wait_for(lambda: signed_in(browser), what="the fleet page")
    browser.get(f"{fleet.url}/console/terminals/T-0001")
    load(browser, browser.find_element(By.ID, "push-one"))
    wait_for(lambda: browser.find_elements(By.ID, "settings"), what="the config form")
    assert browser.find_element(By.ID, "target-terminal").get_attribute("value") == "T-0001"
    assert browser.find_element(By.ID, "scope-one").is_selected()

    area = browser.find_element(By.ID, "settings")           # a security-relevant key is refused
    area.send_keys('[central]\nurl = "https://elsewhere.example/"\n')
    load(browser, browser.find_element(By.ID, "review"))
    error = wait_for(lambda: browser.find_elements(By.ID, "config-error"), what="the refusal")[0].text
    assert "安全相关项目只能在终端本地设置" in error and "central.url" in error
    shot(browser, tmp_path, "config-refused")

    area = browser.find_element(By.ID, "settings")
    area.clear()
    area.send_keys("[ui]\nidle_timeout_s = 75\n")
    load(browser, browser.find_element(By.ID, "review"))
    wait_for(lambda: browser.find_elements(By.ID, "confirm-push"), what="the confirmation page")
    assert browser.find_element(By.ID, "confirm-targets").text.split() == ["T-0001"]
    assert "ui.idle_timeout_s" in browser.find_element(By.ID, "confirm-settings").text
    before, _ = _fetch_signed(fleet, "T-0001", tmp_path / "before")
    assert before.applied and "ui" not in _fetch_signed(fleet, "T-0001", tmp_path / "again")[1].overrides()
    shot(browser, tmp_path, "confirm")
    load(browser, browser.find_element(By.ID, "confirm-push"))
    pushed = wait_for(lambda: browser.find_elements(By.ID, "pushed"), what="the audit record")[0].text
    assert "T-0001 → v" in pushed
    record = browser.find_element(By.CSS_SELECTOR, "#audit tbody tr").text
    assert "alice" in record and "配置下发" in record and "T-0001" in record and "idle_timeout_s" in record

    result, store = _fetch_signed(fleet, "T-0001", tmp_path / "after")
    assert result.applied and store.overrides()["ui"]["idle_timeout_s"] == 75
    assert "ui" not in _fetch_signed(fleet, "T-0002", tmp_path / "other")[1].overrides()

    browser.get(f"{fleet.url}/console/config?site=高新区政务服务中心")   # a group: one site
    browser.find_element(By.ID, "settings").send_keys("[ui]\nvolume = 0.6\n")
    load(browser, browser.find_element(By.ID, "review"))
    targets = wait_for(lambda: browser.find_elements(By.ID, "confirm-targets"), what="confirmation")[0].text
    assert targets.split() == ["T-0004", "T-0005", "T-0006"]
    load(browser, browser.find_element(By.ID, "confirm-push"))
    wait_for(lambda: browser.find_elements(By.ID, "pushed"), what="the audit record")
    for tid in ("T-0004", "T-0005", "T-0006"):
        result, store = _fetch_signed(fleet, tid, tmp_path / f"group-{tid}")
        assert result.applied and store.overrides()["ui"]["volume"] == 0.6
    browser.get(f"{fleet.url}/console/audit")
    assert fits_width(browser)
    shot(browser, tmp_path, "audit")


def _download(browser, name: str) -> list[dict]:
    path = browser.downloads / name
    wait_for(lambda: path.exists() and path.stat().st_size > 0, what=f"the download of {name}")
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def test_csv_exports_parse(browser, fleet):
    sign_in(browser, fleet)
    wait_for(lambda: signed_in(browser), what="the fleet page")
    (browser.downloads / "fleet.csv").unlink(missing_ok=True)
    browser.find_element(By.ID, "export-fleet").click()
    rows = _download(browser, "fleet.csv")
    assert [r["terminal_id"] for r in rows] == fleet.terminals
    states = {r["terminal_id"]: r["state"] for r in rows}
    assert states[fleet.stale] == "stale" and states[fleet.never] == "never" and states["T-0001"] == "reporting"
    assert {r["site"] for r in rows} >= {"建设银行人民路支行"}

    browser.get(f"{fleet.url}/console/services")
    (browser.downloads / "services.csv").unlink(missing_ok=True)
    browser.find_element(By.ID, "export-services").click()
    rows = _download(browser, "services.csv")
    by = {r["service"]: r for r in rows}
    assert int(by["queue_ticket"]["terminals"]) == 9 and int(by["no_property_proof"]["terminals"]) == 6
    assert 0 < float(by["no_property_proof"]["availability_24h"]) < 1

