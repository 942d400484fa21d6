"""A central platform with a small seeded fleet for the console tests: ten
terminals at three sites, 24 hours of history sent through the real
heartbeat endpoint (offline spans as backfill, then heartbeats every ten
minutes), one terminal gone silent, one never heard from, one printer out
of paper. Time is a fixed fake clock, so pages read the same every run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from central.app import create_app
from central.console import accounts
from central.embedded import serve_in_thread

HOUR = 3600.0
STALE_S = 900.0
NOW = 1795852800.0 + 2 * HOUR       # a fixed "now": 2026-11-28 10:00 UTC
PASSWORD = "correct horse battery"
SITES = {
    "citizen": ("市民中心24小时自助服务厅", "Citizen Center 24h Hall", "hall"),
    "hitech": ("高新区政务服务中心", "Hi-tech Zone Service Center", "hall"),
    "ccb": ("建设银行人民路支行", "CCB Renmin Road Branch", "bank"),
}
HALL_SERVICES = ("no_property_proof", "social_security_proof", "provident_fund_withdrawal", "traffic_violations",
                 "queue_ticket")
BANK_SERVICES = ("social_security_proof", "provident_fund_withdrawal", "queue_ticket")
# terminal id, site, version
TERMINALS = [
    ("T-0001", "citizen", "2.3.0"), ("T-0002", "citizen", "2.3.0"), ("T-0003", "citizen", "2.2.1"),
    ("T-0004", "hitech", "2.3.0"), ("T-0005", "hitech", "2.3.0"), ("T-0006", "hitech", "2.2.1"),
    ("T-0007", "ccb", "2.3.0"), ("T-0008", "ccb", "2.3.0"), ("T-0009", "ccb", "2.2.1"), ("T-0010", "ccb", "2.3.0"),
]
STALE = "T-0003"          # silent for the last three hours
NEVER = "T-0007"          # registered, never sent a heartbeat
PAPER_OUT = "T-0005"      # receipt printer out of paper for the last 40 minutes
# offline spans the terminals report: (hours ago from, hours ago to, services down)
HISTORY = {
    "T-0002": [(12, 11.5, ("queue_ticket",))],
    "T-0005": [(8, 5, ("no_property_proof", "social_security_proof"))],
    "T-0009": [(20, 18, None)],      # no span at all: two hours nobody vouches for
}


@dataclass
class Fleet:
    url: str
    app: object
    clock: list = field(default_factory=lambda: [NOW])
    # what the seed holds, for the tests' expectations
    now: float = NOW
    password: str = PASSWORD
    terminals: list = field(default_factory=lambda: [tid for tid, _, _ in TERMINALS])
    stale: str = STALE
    never: str = NEVER
    paper_out: str = PAPER_OUT

    @property
    def sandbox(self):
        return self.app.state.sandbox

    def token(self, tid: str) -> str:
        return self.sandbox.auth.token_for(tid)


def _body(tid: str, site: str, version: str, down: tuple = (), paper_out: bool = False) -> dict:
    name, name_en, profile = SITES[site]
    services = HALL_SERVICES if profile == "hall" else BANK_SERVICES
    printer = {"family": "escpos", "device": "online", "message": {"zh": "正常", "en": "Online"}}
    if paper_out:
        down = tuple(down) + ("queue_ticket",)
        printer = {"family": "escpos", "device": "hardwareError", "last_error": "paper end",
                   "message": {"zh": "凭条打印机缺纸", "en": "Receipt printer out of paper"}}
    devices = {"idcard": {"family": "idcard", "device": "online", "message": {"zh": "正常", "en": "Online"}},
               "camera": {"family": "camera", "device": "online", "message": {"zh": "正常", "en": "Online"}},
               "ticket_printer": printer,
               "a4_printer": {"family": "a4", "device": "online", "message": {"zh": "正常", "en": "Online"}}}
    return {"software_version": version, "site": name, "site_en": name_en, "profile": profile, "devices": devices,
            "services": {sid: {"available": sid not in down, "reasons": [] if sid not in down else
                               ["ticket printer: out of paper" if paper_out else "A4 printer: paper jam"]}
                         for sid in services},
            "outbox": {"pending": int(tid[-1]) % 3, "dead": 1 if tid == "T-0008" else 0},
            "sync": {"state": "idle", "consecutive_failures": 0}}


def _backfill(tid: str, site: str, at: float) -> list[dict]:
    """Spans from 24 h ago until ``at``: all services up, except HISTORY."""
    _, _, profile = SITES[site]
    services = HALL_SERVICES if profile == "hall" else BANK_SERVICES
    cuts = sorted({24.0, (NOW - at) / HOUR} | {h for a, b, _ in HISTORY.get(tid, []) for h in (a, b)}, reverse=True)
    spans = []
    for a, b in itertools.pairwise(cuts):
        event = next((e for e in HISTORY.get(tid, []) if e[0] >= a and e[1] <= b), None)
        if event is not None and event[2] is None:
            continue
        down = event[2] if event else ()
        start, end = NOW - a * HOUR, NOW - b * HOUR
        spans.append({"ago_s": at - start, "seconds": end - start,
                      "services": {sid: {"available": sid not in down} for sid in services}})
    return spans


def seed(fleet: Fleet) -> None:
    with httpx.Client(base_url=fleet.url, timeout=10) as http:
        def beat(tid: str, at: float, body: dict) -> None:
            fleet.clock[0] = at
            r = http.post(f"/v1/terminals/{tid}/heartbeat", json=body,
                          headers={"Authorization": f"Bearer {fleet.token(tid)}"})
            assert r.status_code == 200, r.text

        for tid, site, version in TERMINALS:
            if tid == NEVER:
                fleet.clock[0] = NOW - 2 * HOUR
                http.get(f"/v1/terminals/{tid}/config", headers={"Authorization": f"Bearer {fleet.token(tid)}"})
                continue
            last = NOW - 3 * HOUR if tid == STALE else NOW - HOUR
            beat(tid, NOW - 24 * HOUR - 60, _body(tid, site, version))
            beat(tid, last, {**_body(tid, site, version), "backfill": _backfill(tid, site, last)})
            if tid == STALE:
                continue
            for i in range(1, 7):
                at = last + i * 600
                beat(tid, at, _body(tid, site, version, paper_out=tid == PAPER_OUT and at >= NOW - 2400))
        for tid, site, _ in TERMINALS:          # a few sessions in the last hours, through the batch endpoint
            if tid not in (NEVER, STALE):
                fleet.clock[0] = NOW - 1800
                services = HALL_SERVICES if SITES[site][2] == "hall" else BANK_SERVICES
                items = [_case(tid, n, services[n % len(services)]) for n in range(1, 2 + int(tid[-1]) % 4)]
                r = http.post("/v1/cases/batch", json={"items": items},
                              headers={"Authorization": f"Bearer {fleet.token(tid)}", "X-Terminal-Id": tid})
                assert r.status_code == 200 and all(x["status"] == 201 for x in r.json()["results"]), r.text
    fleet.clock[0] = NOW


def _case(tid: str, seq: int, service: str) -> dict:
    case_id = f"{tid}-{seq:06d}"
    body = {"case_id": case_id, "ref": f"R{case_id}", "terminal_id": tid, "seq": seq, "service": service,
            "created_at": "2026-11-28T09:30:00+00:00", "applicant": {"name": "测试", "id_number": "11010519491231002X"},
            "result": {"status": "done"}}
    return {"kind": "case", "idempotency_key": f"case-{case_id}", "case_id": case_id, "body": body}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The seeded central on loopback, with operators alice and carol."""
    d = tmp_path_factory.mktemp("console-central")
    holder = [NOW - 25 * HOUR]
    app = create_app(f"sqlite:///{d / 'central.db'}", clock=lambda: holder[0], report_stale_s=STALE_S,
                     auto_pay_s=0)
    server, thread, port = serve_in_thread(app, name="console-central")
    fleet = Fleet(f"http://127.0.0.1:{port}", app, holder)
    try:
        seed(fleet)
        for name in ("alice", "carol"):
            accounts.add_operator(app.state.sandbox.db, name, PASSWORD, NOW - 30 * 86400)
        yield fleet
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.sandbox.db.close()


# -- the browser --------------------------------------------------------------------------------

try:
    from selenium.common.exceptions import WebDriverException
except ImportError:  # the dev extra is missing: the browser tests skip (a failure in CI)
    WebDriverException = OSError

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _start_browser(tmp_path_factory):
    """Debian's headless chromium at 1366x768 through its own chromedriver:
    the driver path is given, so Selenium Manager never looks anything up.
    chromedriver's log is kept beside the profile, to explain a browser crash."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("chromium and chromium-driver are not installed (deploy/apt-packages.txt)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium")
    downloads = tmp_path_factory.mktemp("downloads")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--window-size=1366,768", "--hide-scrollbars", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--lang=zh-CN", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    with pytest.MonkeyPatch.context() as mp:
        # Selenium Manager is never needed; were it ever called, it must fail rather than download
        mp.setenv("SE_OFFLINE", "true")
        mp.setenv("SE_MANAGER_PATH", "/nonexistent/selenium-manager")
        service = Service(executable_path=str(CHROMEDRIVER), log_output=str(profile / "chromedriver.log"))
        driver = webdriver.Chrome(service=service, options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    return driver


def _alive(driver) -> bool:
    try:
        driver.execute_script("return 1")
        return True
    except Exception:  # noqa: BLE001 - any answer but one means the browser is gone
        return False


@pytest.fixture(scope="module")
def _browsers(tmp_path_factory):
    box: dict = {}
    try:
        yield box, lambda: _start_browser(tmp_path_factory)
    finally:
        if box.get("driver") is not None:
            box["driver"].quit()


@pytest.fixture
def browser(fleet, _browsers):
    """One browser for the module, started once the fleet is seeded; a browser
    that has gone away (chromium crashing on a loaded machine) is replaced
    before the next test rather than failing every test after it."""
    box, start = _browsers
    driver = box.get("driver")
    if driver is None or not _alive(driver):
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001
                pass
        for attempt in range(3):  # a renderer that dies while starting gets a fresh browser
            try:
                box["driver"] = driver = start()
                break
            except WebDriverException:
                if attempt == 2:
                    raise
    return driver
