"""The platform's storage on both back-ends: versioned migrations up and
down, availability rollups that answer as the raw heartbeats would, raw
heartbeats pruned, and exactly-once when the same deliveries reach two
server processes at the same moment (PostgreSQL)."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from central.app import create_app
from central.db import Database
from central.migrations import DOOR_TABLES, LATEST, current_version, migrate
from central.report import Beat, read_report, window_availability

NOW = 1_800_000_000.0  # on an hour boundary
UP = {"available": True}
DOWN = {"available": False, "reasons": ["paper out"]}


def tables(db: Database) -> set[str]:
    with db.transaction() as tx:
        if db.dialect == "sqlite":
            rows = tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = tx.all("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


def test_migrations_go_up_and_down_and_keep_the_data(db_url):
    db = Database(db_url, migrate=False)
    try:
        assert migrate(db, 1) == ["up 1 initial schema"]
        with db.transaction() as tx:  # a platform at version 1 that has heard heartbeats
            tx.run("INSERT INTO terminals(terminal_id, registered_at, offline_block) VALUES ('T-1', ?, 0)", (NOW,))
            for h in range(3):
                tx.run("INSERT INTO heartbeats(terminal_id, received_at, body) VALUES ('T-1', ?, ?)",
                       (NOW - 3600 + h * 60, json.dumps({"services": {"q": UP}})))
            tx.run("INSERT INTO terminal_services VALUES ('T-1', 'q', ?)", (NOW - 3600,))
        assert "availability_rollups" not in tables(db)
        migrate(db)
        with db.transaction() as tx:
            assert current_version(tx) == LATEST
            assert tx.one("SELECT first_heartbeat_at FROM terminals")[0] == NOW - 3600
            # the rollups were folded from the raw heartbeats already there
            rolled = "SELECT SUM(available_s) FROM availability_rollups WHERE service = 'q' AND span = 3600"
            assert tx.one(rolled)[0] == 120
        migrate(db, 0)
        assert tables(db) <= {"schema_migrations"}
        migrate(db)
        assert {"cases", "heartbeats", "availability_rollups"} <= tables(db)
        with pytest.raises(ValueError):
            migrate(db, LATEST + 1)
    finally:
        db.close()


def test_the_front_doors_tables_come_with_migration_4_and_older_platforms_keep_theirs(db_url):
    db = Database(db_url, migrate=False)
    try:
        migrate(db, 3)
        assert not set(DOOR_TABLES) & tables(db)
        with db.transaction() as tx:  # a platform before version 4 made this table on first use
            tx.run("CREATE TABLE guide_versions (version BIGINT PRIMARY KEY, content TEXT NOT NULL,"
                   " created_at DOUBLE PRECISION NOT NULL)")
            tx.run("INSERT INTO guide_versions VALUES (2, '{}', ?)", (NOW,))
        assert migrate(db, 4) == ["up 4 front doors: resident-code nonces, progress index, appointments,"
                                  " service guide"]
        assert set(DOOR_TABLES) <= tables(db)
        with db.transaction() as tx:
            assert tx.one("SELECT version FROM guide_versions")[0] == 2
        migrate(db, 3)
        assert not set(DOOR_TABLES) & tables(db)
        assert {"cases", "console_audit"} <= tables(db)
    finally:
        db.close()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rollups_answer_as_the_raw_heartbeats_would(db_url, tmp_path):
    """Heartbeats with gaps, a service going down, one added later, one dropped
    and backfilled offline hours: the report from the rollups equals the
    figures computed from every raw heartbeat."""
    rng = random.Random(7)
    clock = Clock(NOW - 30 * 3600)
    stale = 180.0
    app = create_app(db_url, clock=clock, report_stale_s=stale, state_dir=str(tmp_path / "state"))
    sb = app.state.sandbox
    try:
        while clock.now < NOW - 60:
            services = {"q": UP if rng.random() > 0.2 else DOWN}
            if clock.now > NOW - 20 * 3600:
                services["p"] = UP
            if NOW - 10 * 3600 < clock.now < NOW - 9 * 3600:
                services = {"p": DOWN}  # q not offered for an hour
            body = {"software_version": "1", "services": services}
            if rng.random() < 0.01:
                body["backfill"] = [{"ago_s": 500.0, "seconds": 400.0, "services": {"q": UP, "p": DOWN}}]
            sb.heartbeat("T-1", body)
            clock.now += rng.choice((30, 30, 30, 45, 400, 1500))
        report = read_report(sb.db, now=NOW, stale_s=stale)["terminals"][0]
        with sb.db.transaction() as tx:
            beats = [Beat(at, json.loads(b)) for at, b in
                     tx.all("SELECT received_at, body FROM heartbeats ORDER BY received_at")]
            seen = dict(tx.all("SELECT service, first_seen_at FROM terminal_services"))
        for name, length in (("24h", 86400.0), ("7d", 7 * 86400.0)):
            raw = window_availability(beats, start=NOW - length, end=NOW, stale_s=stale,
                                      first_seen=beats[0].at, service_first_seen=seen)
            got = report["windows"][name]
            assert got["reporting_s"] == pytest.approx(raw["reporting_s"], abs=0.01)
            for sid in ("q", "p"):
                fig = report["services"][sid]["windows"][name]
                assert fig["up_s"] == pytest.approx(raw["services"][sid]["up_s"], abs=0.01)
                assert fig["not_offered_s"] == pytest.approx(raw["services"][sid]["not_offered_s"], abs=0.01)
                assert fig["availability"] == pytest.approx(raw["services"][sid]["availability"], abs=1e-5)
    finally:
        sb.db.close()


def test_raw_heartbeats_are_pruned_and_the_report_keeps_its_figures(tmp_path):
    clock = Clock(NOW - 3 * 86400)
    app = create_app(f"sqlite:///{tmp_path / 'c.db'}", clock=clock, report_stale_s=900, raw_keep_s=86400)
    sb = app.state.sandbox
    try:
        while clock.now < NOW:
            sb.heartbeat("T-1", {"software_version": "1", "services": {"q": UP}})
            clock.now += 600
        with sb.db.transaction() as tx:
            oldest = tx.one("SELECT MIN(received_at) FROM heartbeats")[0]
        assert oldest >= NOW - 86400 - 1200  # pruned at most every 10 minutes
        fig = read_report(sb.db, now=NOW, stale_s=900)["terminals"][0]["services"]["q"]["windows"]["7d"]
        assert fig["availability"] == 1.0 and fig["counted_s"] == pytest.approx(3 * 86400)
    finally:
        sb.db.close()


# -- two server processes on one PostgreSQL database ----------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kiosk(*args, env):
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def two_workers(pg_url, tmp_path):
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data"), "KIOSK_CENTRAL_STATE": str(tmp_path / "state"),
           "TMPDIR": str(tmp_path / "tmp")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", pg_url, "--workers", "2",
                             "--port", str(port)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{url}/v1/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, \
            proc.stderr.read() if proc.poll() is not None else "start"
        threading.Event().wait(0.2)
    token = _kiosk("central", "token", "T-DUP", "--db", pg_url, env=env).stdout.strip()
    assert list((tmp_path / "tmp").glob("kiosk-central-metrics-*"))  # the workers' metrics, while serving
    yield url, {"Authorization": f"Bearer {token}", "X-Terminal-Id": "T-DUP"}
    proc.terminate()
    proc.wait(30)
    proc.stderr.close()
    assert not list((tmp_path / "tmp").glob("kiosk-central-metrics-*")), "serve left its metrics directory behind"


def _batch(n: int) -> dict:
    items = []
    for i in range(n):
        cid = str(uuid.uuid4())
        items.append({"kind": "case", "idempotency_key": f"k-{cid}", "body": {
            "case_id": cid, "ref": f"R{i}", "terminal_id": "T-DUP", "seq": i + 1, "service": "queue_ticket",
            "created_at": "2027-01-15T08:00:00+08:00", "applicant": {"name": "张三"}, "result": {}}})
    return {"items": items}


def test_the_same_batch_at_two_workers_at_once_is_stored_once(two_workers):
    url, headers = two_workers
    sent = []
    for _ in range(6):  # rounds: the same new batch from 8 connections released together
        batch = _batch(5)
        sent.append(batch)
        gate = threading.Barrier(8)
        answers: list = []

        def post(batch=batch, gate=gate, answers=answers):
            with requests.Session() as s:  # a connection of its own: either worker may accept it
                gate.wait(30)
                answers.append(s.post(f"{url}/v1/cases/batch", json=batch, headers=headers, timeout=60))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert len(answers) == 8 and all(r.status_code == 200 for r in answers), [r.text for r in answers]
        for item in batch["items"]:
            key = item["idempotency_key"]
            res = [x for r in answers for x in r.json()["results"] if x["idempotency_key"] == key]
            stored = [x for x in res if x["status"] == 201 and not x["replayed"]]
            assert len(stored) == 1, res  # one stored it; the others replayed it or were told "in progress"
            assert all(x["status"] in (201, 409) for x in res)
            nos = {x["response"]["central_no"] for x in res if x["status"] == 201}
            assert len(nos) == 1  # every replay names the same stored case
    stats = requests.get(f"{url}/v1/stats", headers=headers, timeout=10).json()
    assert stats["cases_stored"] == stats["cases"] == 6 * 5


def test_metrics_show_latency_by_route_ingest_and_rollup_lag(tmp_path):
    from central.embedded import start_embedded

    with start_embedded(tmp_path / "c", auto_pay_s=0) as central:
        headers = {"Authorization": f"Bearer {central.token_for('T-M')}"}
        for _ in range(2):
            r = requests.post(f"{central.url}/v1/terminals/T-M/heartbeat", json={"software_version": "1"},
                              headers=headers, timeout=10)
            assert r.status_code == 200
        text = requests.get(f"{central.url}/metrics", timeout=10).text
    assert 'central_request_seconds_count{method="POST",route="/v1/terminals/{terminal_id}/heartbeat",status="2xx"}' \
        in text
    assert "T-M" not in text  # routes by template, never a terminal's id
    assert 'central_ingested_total{kind="heartbeat"}' in text
    assert "central_rollup_lag_seconds_count" in text
