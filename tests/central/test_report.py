"""Honest availability report: time-weighted heartbeats with a staleness
limit, silence counted as unavailable, nothing counted before a terminal
(or a service) first reported; sessions and evaluations; the CLI, the JSON
endpoint and the operator's page over a sandbox with an injected clock."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import requests

from central.app import create_app
from central.console import accounts
from central.embedded import serve_in_thread
from central.fleet_report import read_fleet
from central.report import (
    Beat,
    evaluation_summary,
    read_report,
    terminal_report,
    window_availability,
)

_SANDBOXES: dict = {}  # url -> Sandbox, for each terminal's own token


def auth(url: str, terminal: str) -> dict:
    return {"Authorization": f"Bearer {_SANDBOXES[url].auth.token_for(terminal)}"}
NOW = 1_800_000_000.0          # 2027-01-15T08:00:00Z
DAY = 86400.0
UP = {"available": True, "reasons": []}
DOWN = {"available": False, "reasons": ["The A4 printer is not available: Paper out"]}


def beats(start: float, end: float, every: float, services=lambda t: {"no_property_proof": UP}):
    out, t = [], start
    while t < end:
        out.append(Beat(t, {"software_version": "1.2.3", "services": services(t)}))
        t += every
    return out


def avail(figures: dict, sid: str = "no_property_proof") -> float | None:
    return figures["services"][sid]["availability"]


# -- pure arithmetic ---------------------------------------------------------------

def test_percentages_are_rounded_but_never_claim_all_or_none():
    from central.report_page import percent

    assert (percent(7 / 9), percent(8 / 9), percent(0.75)) == ("77.8 %", "88.9 %", "75.0 %")
    assert percent(0.99996) == "99.9 %" and percent(0.00001) == "0.1 %" and percent(1.0) == "100.0 %"
    assert percent(None) == "—"


def test_a_service_down_for_six_of_twenty_four_hours_is_75_percent():
    down_from, down_to = NOW - 12 * 3600, NOW - 6 * 3600
    rows = beats(NOW - 2 * DAY, NOW, 60, lambda t: {"no_property_proof": DOWN if down_from <= t < down_to else UP,
                                                     "queue_ticket": UP})
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=rows[0].at)
    assert avail(fig) == pytest.approx(0.75)
    assert avail(fig, "queue_ticket") == pytest.approx(1.0)
    assert fig["reporting"] == pytest.approx(1.0)


def test_two_silent_hours_count_as_unavailable():
    gap_from = NOW - 10 * 3600
    rows = [b for b in beats(NOW - 2 * DAY, NOW, 60) if not gap_from < b.at < gap_from + 7200]
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=rows[0].at)
    # the last heartbeat before the gap speaks for 180 s, not for two hours
    silent = 7200 - 180
    assert avail(fig) == pytest.approx((DAY - silent) / DAY)
    assert fig["reporting"] == pytest.approx((DAY - silent) / DAY)


def test_a_terminal_installed_an_hour_ago_is_counted_from_its_first_heartbeat():
    rows = beats(NOW - 3600, NOW, 60)
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=NOW - 3600)
    assert avail(fig) == pytest.approx(1.0)
    assert fig["counted_s"] == pytest.approx(3600)
    assert fig["start"] == "2027-01-15T07:00:00+00:00"


def test_a_terminal_that_never_reported_has_no_figures():
    fig = window_availability([], start=NOW - DAY, end=NOW, stale_s=180, first_seen=None)
    assert fig["counted_s"] == 0 and fig["reporting"] is None and fig["services"] == {}


def test_a_heartbeat_before_the_window_covers_its_start_for_at_most_the_staleness_limit():
    rows = [Beat(NOW - DAY - 100, {"services": {"queue_ticket": UP}}), Beat(NOW - 1000,
                                                                            {"services": {"queue_ticket": UP}})]
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=NOW - 30 * DAY)
    assert fig["services"]["queue_ticket"]["up_s"] == pytest.approx(80 + 180)


def test_no_service_states_is_unavailable_and_an_unlisted_service_is_not_offered():
    half = NOW - 12 * 3600

    def services(t):
        if t < half:
            return {}                               # the app did not report: unknown is not available
        return {"queue_ticket": UP}                 # no_property_proof switched off by configuration
    rows = beats(NOW - DAY, NOW, 60, services)
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=NOW - DAY,
                              service_first_seen={"no_property_proof": NOW - 30 * DAY})
    assert avail(fig, "queue_ticket") == pytest.approx(0.5)
    assert avail(fig, "no_property_proof") == 0.0   # only the unreported half counts, and it was down
    assert fig["services"]["no_property_proof"]["not_offered_s"] == pytest.approx(12 * 3600)


def test_a_service_added_later_is_counted_from_its_first_report():
    added = NOW - 6 * 3600
    rows = beats(NOW - DAY, NOW, 60, lambda t: {"queue_ticket": UP,
                                                **({"traffic_violations": UP} if t >= added else {})})
    fig = window_availability(rows, start=NOW - DAY, end=NOW, stale_s=180, first_seen=NOW - DAY,
                              service_first_seen={"traffic_violations": added})
    assert avail(fig, "traffic_violations") == pytest.approx(1.0)
    assert fig["services"]["traffic_violations"]["counted_s"] == pytest.approx(6 * 3600)


def test_a_stale_last_heartbeat_is_flagged_and_its_services_are_unknown_now():
    rows = beats(NOW - 3600, NOW - 400, 60, lambda t: {"no_property_proof": UP})
    rep = terminal_report("T-9", rows, now=NOW, stale_s=180)
    assert rep["state"] == "stale" and rep["stale"] is True
    assert rep["last_heartbeat_age_s"] == pytest.approx(420)     # the last one arrived at NOW - 420
    assert rep["services"]["no_property_proof"]["now"] == "unknown"
    fresh = terminal_report("T-9", rows + [Beat(NOW - 10, {"services": {"no_property_proof": DOWN}})],
                            now=NOW, stale_s=180)
    assert fresh["state"] == "reporting" and not fresh["stale"]
    assert fresh["services"]["no_property_proof"]["now"] == "unavailable"
    assert fresh["services"]["no_property_proof"]["reasons"] == DOWN["reasons"]


def test_evaluation_average_and_satisfied_share():
    ev = evaluation_summary({5: 3, 4: 1, 2: 1, 1: 1})
    assert ev["count"] == 6
    assert ev["levels"] == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 3}
    assert ev["average"] == pytest.approx((15 + 4 + 2 + 1) / 6, abs=0.005)
    assert ev["satisfied"] == pytest.approx(4 / 6, abs=1e-4)
    assert evaluation_summary({}) == {"count": 0, "levels": {str(i): 0 for i in range(1, 6)},
                                      "average": None, "satisfied": None}


# -- a sandbox with an injected clock ---------------------------------------------

class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox(tmp_path, request):
    """A sandbox whose database lives where the embedded one would
    (<data dir>/central/central.db), or on PostgreSQL for a test that asks
    (``indirect`` "postgresql"), its clock under the test's control;
    heartbeats hourly, so the staleness limit is 3 hours."""
    clock = Clock(NOW - 2 * DAY)
    db_url = request.getfixturevalue("pg_url") if getattr(request, "param", "sqlite") == "postgresql" \
        else f"sqlite:///{tmp_path / 'central' / 'central.db'}"
    app = create_app(db_url, clock=clock, auto_pay_s=0,
                     report_stale_s=3 * 3600)
    server, thread, port = serve_in_thread(app)
    _SANDBOXES[f"http://127.0.0.1:{port}"] = app.state.sandbox
    yield f"http://127.0.0.1:{port}", clock, app.state.sandbox
    server.should_exit = True
    thread.join(5)
    app.state.sandbox.db.close()


def heartbeat(url, terminal, services, **extra):
    body = {"software_version": "1.2.3", "devices": {"a4_printer": {"device": "online", "detail": {"paper": "full"}}},
            "services": services, "outbox": {"pending": 2, "dead": 0}, **extra}
    r = requests.post(f"{url}/v1/terminals/{terminal}/heartbeat", json=body, headers=auth(url, terminal), timeout=5)
    assert r.status_code == 200, r.text


def case(url, terminal, service, level=None, seq=1):
    body = {"case_id": str(uuid.uuid4()), "ref": f"{terminal}-{seq}", "terminal_id": terminal, "seq": seq,
            "service": service, "created_at": "2027-01-15T07:00:00+08:00",
            "applicant": {"name": "欧阳明", "id_number": "110101198503120316"}, "result": {}}
    if level is not None:
        body["evaluation"] = {"level": level, "reasons": [] if level > 2 else ["slow"]}
    r = requests.post(f"{url}/v1/cases", json=body, headers={**auth(url, terminal),
                                                             "Idempotency-Key": str(uuid.uuid4())}, timeout=5)
    assert r.status_code == 201, r.text


@pytest.fixture
def history(sandbox):
    """T-A0001: hourly heartbeats for the last 24 h, no-property proof down
    from 12 h to 6 h ago (75 %); four cases rated 5, 4, 4, 1 in the last day
    and one three days ago. T-B0002: a single heartbeat 1 h ago, then silence
    beyond the staleness limit."""
    url, clock, sb = sandbox
    for h in range(24, 0, -1):
        clock.now = NOW - h * 3600
        npp = DOWN if 7 <= h <= 12 else UP
        heartbeat(url, "T-A0001", {"no_property_proof": npp, "queue_ticket": UP})
    clock.now = NOW - 3 * DAY
    case(url, "T-A0001", "no_property_proof", 3, seq=1)
    clock.now = NOW - 3600
    for seq, level in enumerate((5, 4, 4, 1), start=2):
        case(url, "T-A0001", "no_property_proof", level, seq=seq)
    case(url, "T-A0001", "queue_ticket", seq=6)
    clock.now = NOW - 4 * 3600
    heartbeat(url, "T-B0002", {"queue_ticket": UP})
    clock.now = NOW
    return url, sb


def test_read_report_from_the_sandbox_database(history):
    _, sb = history
    data = read_report(sb.db, now=NOW, stale_s=3 * 3600)
    a, b = data["terminals"]
    assert a["terminal_id"] == "T-A0001" and a["state"] == "reporting" and a["software_version"] == "1.2.3"
    assert a["outbox"]["pending"] == 2 and a["devices"]["a4_printer"]["device"] == "online"
    npp = a["services"]["no_property_proof"]["windows"]
    # first heartbeat 24 h ago: the whole day counts, 6 h of it down
    assert npp["24h"]["availability"] == pytest.approx(0.75)
    assert npp["24h"]["sessions"] == 4 and npp["7d"]["sessions"] == 5
    assert npp["24h"]["evaluations"]["average"] == 3.5 and npp["24h"]["evaluations"]["satisfied"] == 0.75
    assert npp["7d"]["evaluations"]["count"] == 5
    assert a["services"]["queue_ticket"]["windows"]["24h"]["sessions"] == 1
    # installed 4 h ago, state held for 3 h, silent for the last hour
    assert b["terminal_id"] == "T-B0002" and b["state"] == "stale"
    assert b["windows"]["24h"]["counted_s"] == pytest.approx(4 * 3600)
    assert b["services"]["queue_ticket"]["windows"]["7d"]["availability"] == pytest.approx(0.75)


def test_v1_report_json_shape(history):
    url, sb = history
    operator = {"Authorization": f"Bearer {sb.auth.operator_token}"}
    r = requests.get(f"{url}/v1/report", params={"window": "24h"}, headers=operator, timeout=5)
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"generated_at", "stale_after_s", "windows", "terminals"}
    assert data["windows"] == {"24h": 86400.0} and data["stale_after_s"] == 3 * 3600
    assert [t["terminal_id"] for t in data["terminals"]] == ["T-A0001", "T-B0002"]
    term = data["terminals"][0]
    for key in ("terminal_id", "state", "stale", "last_heartbeat_at", "last_heartbeat_age_s", "software_version",
                "devices", "outbox", "windows", "services"):
        assert key in term
    svc = term["services"]["no_property_proof"]
    assert svc["title"]["zh"] and svc["now"] == "available"
    assert set(svc["windows"]["24h"]) >= {"availability", "sessions", "evaluations"}
    only = requests.get(f"{url}/v1/report", params={"terminal": "T-B0002"}, headers=operator, timeout=5).json()
    assert [t["terminal_id"] for t in only["terminals"]] == ["T-B0002"]
    assert requests.get(f"{url}/v1/report", params={"terminal": "T-NONE"}, headers=operator,
                        timeout=5).status_code == 404
    assert requests.get(f"{url}/v1/report", params={"window": "1y"}, headers=operator, timeout=5).status_code == 400
    assert requests.get(f"{url}/v1/report", timeout=5).status_code == 401


def test_a_terminal_reads_only_its_own_report(history):
    url, _ = history
    own = requests.get(f"{url}/v1/report", headers=auth(url, "T-A0001"), timeout=5)
    assert own.status_code == 200
    assert [t["terminal_id"] for t in own.json()["terminals"]] == ["T-A0001"]
    other = requests.get(f"{url}/v1/report", params={"terminal": "T-B0002"}, headers=auth(url, "T-A0001"), timeout=5)
    assert other.status_code == 403 and "T-B0002" not in other.text


@pytest.mark.parametrize("sandbox", ["sqlite", "postgresql"], indirect=True)
def test_the_fleet_summary_adds_up_the_full_report(history):
    """GET /v1/report/fleet (operator): per service and per terminal, the sums of
    the full report's entries, without listing every terminal x service."""
    url, sb = history
    full = read_report(sb.db, now=NOW, stale_s=3 * 3600)
    r = requests.get(f"{url}/v1/report/fleet", headers={"Authorization": f"Bearer {sb.auth.operator_token}"},
                     timeout=5)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["terminals_by_state"] == {"reporting": 1, "stale": 1, "never": 0}
    services = {s["service"]: s for s in data["services"]}
    assert services["no_property_proof"]["terminals"] == 1 and services["queue_ticket"]["terminals"] == 2
    assert services["no_property_proof"]["windows"]["24h"]["availability"] == pytest.approx(0.75)
    assert services["no_property_proof"]["windows"]["24h"]["sessions"] == 4
    for now in (NOW, NOW + 10 * 3600 + 1234):  # the first day's part from its hourly rows either way
        if now != NOW:
            full, data = read_report(sb.db, now=now, stale_s=3 * 3600), read_fleet(sb.db, now=now, stale_s=3 * 3600)
        assert_sums(full, data)
    assert requests.get(f"{url}/v1/report/fleet", headers=auth(url, "T-A0001"), timeout=5).status_code == 403


def assert_sums(full: dict, data: dict) -> None:
    services = {s["service"]: s for s in data["services"]}
    terminals = {t["terminal_id"]: t for t in data["terminals"]}
    for w in ("24h", "7d"):
        for sid, svc in services.items():
            entries = [t["services"][sid]["windows"][w] for t in full["terminals"] if sid in t["services"]]
            assert svc["windows"][w]["up_s"] == pytest.approx(sum(e["up_s"] for e in entries), abs=0.01)
            assert svc["windows"][w]["counted_s"] == pytest.approx(sum(e["counted_s"] for e in entries), abs=0.01)
        for t in full["terminals"]:
            mine = terminals[t["terminal_id"]]["windows"][w]
            assert mine["reporting"] == pytest.approx(t["windows"][w]["reporting"])
            assert mine["up_s"] == pytest.approx(sum(s["windows"][w]["up_s"] for s in t["services"].values()), abs=0.01)


def test_report_page_shows_terminals_and_percentages(history):
    url, sb = history
    anyone = requests.get(f"{url}/report", timeout=5)   # the old address leads to the console's login
    assert anyone.url.startswith(f"{url}/console/login") and "T-A0001" not in anyone.text
    accounts.add_operator(sb.db, "alice", "correct horse battery", sb.clock())
    browser = requests.Session()
    login = browser.get(f"{url}/console/login", timeout=5).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    browser.post(f"{url}/console/login", data={"csrf": csrf, "name": "alice", "password": "correct horse battery",
                                               "next": "/console/report"}, timeout=10)
    r = browser.get(f"{url}/report", timeout=5)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "T-A0001" in page and "T-B0002" in page
    assert "75.0 %" in page and "100.0 %" in page
    assert "终端与业务可用率" in page and "Terminal and service availability" in page
    assert "心跳中断" in page            # T-B0002 is stale
    assert "http://" not in page.replace(url, "") and "<script" not in page   # self-contained


def kiosk(*args, data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "central", "report", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_report_json_from_the_embedded_database_and_a_db_url(history, tmp_path):
    at = "2027-01-15T08:00:00+00:00"
    r = kiosk("--json", "--at", at, "--stale-s", "10800", "--terminal", "T-A0001", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["generated_at"] == at
    npp = data["terminals"][0]["services"]["no_property_proof"]["windows"]
    assert npp["24h"]["availability"] == pytest.approx(0.75) and npp["24h"]["sessions"] == 4
    table = kiosk("--db", f"sqlite:///{tmp_path / 'central' / 'central.db'}", "--at", at, "--stale-s", "10800",
                  "--window", "24h", data_dir=tmp_path / "elsewhere")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith("T-A0001") and "no_property_proof" in line)
    assert "75.0 %" in row and "3.50 (4)" in row
    assert "T-B0002: stale" in table.stdout
    # the last heartbeat in the operator's local time, not the UTC stamp
    assert "+00:00" not in table.stdout.split("T-A0001:")[1].splitlines()[0]
    missing = kiosk("--terminal", "T-NONE", data_dir=tmp_path)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no terminal")
    none = kiosk(data_dir=tmp_path / "empty")
    assert none.returncode == 1 and "no sandbox database" in none.stderr and "Traceback" not in none.stderr


# -- the terminal's own heartbeat feeds the report ---------------------------------

@pytest.fixture(scope="module")
def terminal(tmp_path_factory):
    """A KioskApp with simulated devices, its A4 printer unreachable, sending
    heartbeats to its embedded sandbox."""
    import time

    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATA_DIR"] = str(tmp_path_factory.mktemp("terminal"))
    config = load_config(env=env, overrides={"devices": {"a4_printer": {"url": "ipp://127.0.0.1:9/ipp/print"}}})
    app = KioskApp(config, start_sync=True).start()
    deadline = time.monotonic() + 60
    while not app.sync.last_heartbeat_ok and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.sync.last_heartbeat_ok, "the terminal's first heartbeat never reached central"
    yield app
    app.stop()


def current(app) -> dict:
    import time

    return read_report(app.embedded.sandbox.db, now=time.time())["terminals"][0]


def test_the_terminal_heartbeat_carries_every_device_and_service(terminal):
    term = current(terminal)
    assert term["terminal_id"] == terminal.config.terminal_id and term["state"] == "reporting"
    assert term["devices"]["a4_printer"]["device"] in ("offline", "noDevice", "hardwareError")
    assert term["devices"]["ticket_printer"]["device"] == "online"
    offered = {sid for sid, flow in terminal.catalog.items() if flow.offered}
    assert offered <= set(term["services"])
    npp = term["services"]["no_property_proof"]
    assert npp["now"] == "unavailable" and "A4" in npp["reasons"][0]
    assert term["services"]["queue_ticket"]["now"] == "available"
    assert term["outbox"]["pending"] == 0 and term["software_version"]


def test_a_printer_running_out_of_paper_shows_in_the_next_heartbeat(terminal):
    printer = terminal.devices.simulators.get("ticket_printer")
    printer.set_paper("out")
    try:
        # device checks are rate-limited (kiosk.app.DEVICE_TTL_S); heartbeats are
        # far further apart than that, so the first heartbeat after it shows the change
        def shown() -> bool:
            terminal.sync.heartbeat_once()
            return current(terminal)["services"]["queue_ticket"]["now"] == "unavailable"

        end = time.monotonic() + 60
        while not shown():
            assert time.monotonic() < end, "the empty printer never reached a heartbeat"
            time.sleep(0.2)
    finally:
        printer.set_paper("ok")


# -- hours served offline ------------------------------------------------------------

def test_hours_served_offline_count_once_central_hears_of_them(sandbox, tmp_path):
    """Central unreachable for 8 of the last 10 hours. The terminal kept
    issuing queue tickets for the first 4 (then its printer ran out of paper);
    proof of no property needs central and was down throughout. The first
    heartbeat that gets through tells central, and the report counts it."""
    import socket

    from offline_cache.client import CentralClient
    from offline_cache.store import CaseStore
    from offline_cache.sync import SyncWorker

    url, clock, sb = sandbox
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}"
    mono = [0.0]
    states = {"queue_ticket": UP, "no_property_proof": UP}
    store = CaseStore(tmp_path / "terminal", "T-C0003")
    live = CentralClient(url=url, token=_SANDBOXES[url].auth.token_for("T-C0003"), terminal_id="T-C0003")
    dead = CentralClient(url=dead_url, token=_SANDBOXES[url].auth.token_for("T-C0003"), terminal_id="T-C0003",
                         connect_timeout_s=0.5)
    worker = SyncWorker(store, live, heartbeat_s=600, send_cases=False, clock=clock, monotonic=lambda: mono[0],
                        status_provider=lambda: {"services": dict(states)})

    def later(seconds):
        clock.now += seconds
        mono[0] += seconds

    try:
        clock.now = NOW - 10 * 3600
        assert worker.heartbeat_once()
        worker.client = dead
        for k in range(48):                      # 8 hours of heartbeats that fail
            later(600)
            states = {"queue_ticket": UP if k < 24 else DOWN, "no_property_proof": DOWN}
            assert worker.heartbeat_once() is None
        later(600)
        worker.client = live
        states = {"queue_ticket": UP, "no_property_proof": UP}
        ack = worker.heartbeat_once()
        assert ack["backfilled"] == 2            # two spans: before and after the paper ran out
        assert worker.heartbeat_once()["backfilled"] == 0

        # a heartbeat sent again after a lost acknowledgement adds nothing
        r = requests.post(f"{url}/v1/terminals/T-C0003/heartbeat", headers=auth(url, "T-C0003"), timeout=5, json={
            "software_version": "1.2.3", "services": states,
            "backfill": [{"ago_s": 5 * 3600, "seconds": 3 * 3600, "services": {"queue_ticket": UP}}]})
        assert r.status_code == 200 and r.json()["backfilled"] == 0

        clock.now = NOW
        term = read_report(sb.db, now=NOW, stale_s=3 * 3600)["terminals"][0]
        day = {sid: s["windows"]["24h"] for sid, s in term["services"].items()}
        assert day["queue_ticket"]["counted_s"] == pytest.approx(10 * 3600)
        # up: 10 min before the outage, its first 4 hours, the last 1 h 50 min
        assert day["queue_ticket"]["availability"] == pytest.approx((600 + 4 * 3600 + 6600) / 36000)
        assert day["no_property_proof"]["availability"] == pytest.approx((600 + 6600) / 36000)
    finally:
        live.close()
        dead.close()
        store.close()


def test_malformed_backfill_is_refused_with_the_field_named(sandbox):
    url, clock, _ = sandbox
    for bad, field in (([{"ago_s": -5, "seconds": 60}], "backfill.0.ago_s"),
                       ([{"ago_s": 60, "seconds": 0}], "backfill.0.seconds"),
                       ([{"ago_s": "1h", "seconds": 60}], "backfill.0.ago_s"),
                       ([{"ago_s": 60, "seconds": 60}] * 501, "backfill")):
        r = requests.post(f"{url}/v1/terminals/T-D0004/heartbeat", headers=auth(url, "T-D0004"), timeout=5,
                          json={"software_version": "1.2.3", "backfill": bad})
        assert r.status_code == 400 and r.json()["details"][0]["loc"] == field, r.text


def test_a_restart_during_the_outage_keeps_what_came_before_it(sandbox, tmp_path):
    """Two hours offline, the app restarted (ten minutes down), one more hour
    offline: the hours served are reported; the ten minutes are not."""
    import socket

    from offline_cache.client import CentralClient
    from offline_cache.store import CaseStore
    from offline_cache.sync import OFFLINE_FILE, SyncWorker

    url, clock, sb = sandbox
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}"
    states = {"queue_ticket": UP}
    store = CaseStore(tmp_path / "terminal", "T-E0005")
    live = CentralClient(url=url, token=_SANDBOXES[url].auth.token_for("T-E0005"), terminal_id="T-E0005")
    dead = CentralClient(url=dead_url, token=_SANDBOXES[url].auth.token_for("T-E0005"), terminal_id="T-E0005",
                         connect_timeout_s=0.5)

    def worker(mono):
        return SyncWorker(store, dead, heartbeat_s=600, send_cases=False, clock=clock, monotonic=lambda: mono[0],
                          status_provider=lambda: {"services": dict(states)})

    try:
        clock.now = NOW - 4 * 3600
        first_mono = [100.0]
        before = worker(first_mono)
        before.client = live
        assert before.heartbeat_once()
        before.client = dead
        for _ in range(12):                                  # 2 h of failing heartbeats
            clock.now += 600
            first_mono[0] += 600
            assert before.heartbeat_once() is None
        saved = json.loads((tmp_path / "terminal" / "run" / OFFLINE_FILE).read_text("utf-8"))
        assert len(saved["spans"]) == 1 and "110101" not in json.dumps(saved)

        clock.now += 600                                     # down for ten minutes, then a new process
        second_mono = [7.0]                                  # with its own monotonic clock
        after = worker(second_mono)
        for _ in range(6):                                   # 1 h more of failing heartbeats
            clock.now += 600
            second_mono[0] += 600
            assert after.heartbeat_once() is None
        clock.now += 600
        second_mono[0] += 600
        after.client = live
        assert after.heartbeat_once()["backfilled"] == 2
        assert json.loads((tmp_path / "terminal" / "run" / OFFLINE_FILE).read_text("utf-8"))["spans"] == []

        term = read_report(sb.db, now=clock.now, stale_s=3 * 3600)["terminals"][0]
        fig = term["services"]["queue_ticket"]["windows"]["24h"]
        total = clock.now - (NOW - 4 * 3600)
        # unreported: the restart gap, less what the last span before it still covers (one heartbeat)
        assert fig["availability"] == pytest.approx((total - 600) / total)
    finally:
        live.close()
        dead.close()
        store.close()


def test_a_damaged_offline_file_is_ignored(sandbox, tmp_path):
    from offline_cache.client import CentralClient
    from offline_cache.store import CaseStore
    from offline_cache.sync import OFFLINE_FILE, SyncWorker

    url, clock, _ = sandbox
    run = tmp_path / "terminal" / "run"
    run.mkdir(parents=True)
    (run / OFFLINE_FILE).write_text('{"spans": [{"start_wall": "yesterday"}, 7]', "utf-8")
    store = CaseStore(tmp_path / "terminal", "T-F0006")
    with CentralClient(url=url, token=_SANDBOXES[url].auth.token_for("T-F0006"), terminal_id="T-F0006") as client:
        worker = SyncWorker(store, client, send_cases=False, clock=clock,
                            status_provider=lambda: {"services": {"queue_ticket": UP}})
        assert worker.heartbeat_once()["backfilled"] == 0
    store.close()
