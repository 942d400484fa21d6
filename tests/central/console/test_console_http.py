"""The console's walls, over HTTP without a browser: a terminal's token (or
the sandbox operator token) never opens /console and the console's cookie
never opens the terminal API; a POST without the session's CSRF token
changes nothing; operators exist only once added on the server, and their
passwords are kept as scrypt hashes; terminal-supplied text is escaped in
pages and defused in CSV."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from central.app import create_app
from central.console import accounts, queries
from kiosk.cli import cli

testclient = pytest.importorskip("fastapi.testclient")
PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path, db_url, monkeypatch):
    """The platform on each back-end (``db_url``: tests/central/conftest.py)."""
    monkeypatch.setenv("KIOSK_CENTRAL_STATE", str(tmp_path / "central"))   # the keys beside a PostgreSQL database
    app = create_app(db_url, auto_pay_s=0)
    yield app
    app.state.sandbox.db.close()


@pytest.fixture
def http(app):
    with testclient.TestClient(app, follow_redirects=False) as client:
        yield client


def beat(http, app, tid: str, **extra) -> None:
    token = app.state.sandbox.auth.token_for(tid)
    r = http.post(f"/v1/terminals/{tid}/heartbeat", headers={"Authorization": f"Bearer {token}"},
                  json={"software_version": "2.3.0", "services": {"queue_ticket": {"available": True}}, **extra})
    assert r.status_code == 200, r.text


def sign_in(http, name: str = "alice", password: str = PASSWORD):
    page = http.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return http.post("/console/login", data={"csrf": csrf, "name": name, "password": password, "next": "/console"})


def test_terminal_tokens_never_open_the_console_and_its_cookie_never_opens_the_api(http, app):
    sb = app.state.sandbox
    accounts.add_operator(sb.db, "alice", PASSWORD, sb.clock())
    beat(http, app, "T-0001")
    for token in (sb.auth.token_for("T-0001"), sb.auth.operator_token):
        for path in ("/console", "/console/terminals/T-0001", "/console/export/fleet.csv", "/console/audit"):
            r = http.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), path
        r = http.post("/console/config/push", headers={"Authorization": f"Bearer {token}"},
                      data={"confirm": "yes", "targets": '["T-0001"]', "settings": "[ui]\nidle_timeout_s = 20"})
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert sign_in(http).status_code == 303
    assert http.get("/console").status_code == 200                 # the cookie opens the console...
    assert http.get("/v1/terminals/T-0001/config").status_code == 401   # ...and nothing of the terminal API
    assert http.get("/v1/report").status_code == 401
    assert queries.audit_records(sb.db)[0]["action"] == "login"   # no config push happened


def test_a_post_without_the_sessions_csrf_token_changes_nothing(http, app):
    sb = app.state.sandbox
    accounts.add_operator(sb.db, "alice", PASSWORD, sb.clock())
    beat(http, app, "T-0001")
    sign_in(http)
    form = {"confirm": "yes", "targets": '["T-0001"]', "settings": "[ui]\nidle_timeout_s = 20"}
    for csrf in ("", "forged"):
        r = http.post("/console/config/push", data={**form, "csrf": csrf})
        assert r.status_code == 403
    r = http.post("/console/login", data={"name": "alice", "password": PASSWORD})   # no login CSRF pair either
    assert r.status_code == 403
    with sb.db.read() as tx:
        assert tx.all("SELECT target FROM terminal_configs") == []
    assert [r["action"] for r in queries.audit_records(sb.db)] == ["login"]


def test_operators_exist_only_once_added_and_passwords_are_scrypt_hashes(http, app, tmp_path, db_url):
    sb = app.state.sandbox
    runner = CliRunner()
    assert "no operators" in runner.invoke(cli, ["central", "operator", "list", "--db", db_url]).output
    assert sign_in(http, "admin", "admin").status_code == 401       # no default account
    weak = runner.invoke(cli, ["central", "operator", "add", "alice", "--password-stdin", "--db", db_url],
                         input="short\n")
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output
    made = runner.invoke(cli, ["central", "operator", "add", "alice", "--password-stdin", "--db", db_url],
                         input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    with sb.db.read() as tx:
        stored = tx.one("SELECT pw_hash FROM console_operators WHERE name = 'alice'")[0]
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    if db_url.startswith("sqlite"):
        assert PASSWORD.encode() not in Path(db_url.removeprefix("sqlite:///")).read_bytes()
    r = sign_in(http)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    removed = runner.invoke(cli, ["central", "operator", "remove", "alice", "--db", db_url])
    assert removed.exit_code == 0
    assert http.get("/console").status_code == 303                  # the session ended with the account


def test_lock_doubles_is_bounded_and_counts_attempts_made_at_once(app):
    assert [accounts.lock_for(n) for n in (1, 4, 5, 6, 7)] == [0, 0, 30, 60, 120]
    assert accounts.lock_for(40) == accounts.MAX_LOCK_S
    db, now = app.state.sandbox.db, 1_800_000_000.0
    accounts.add_operator(db, "alice", PASSWORD, now)
    with ThreadPoolExecutor(6) as pool:     # six guesses at the same moment
        results = list(pool.map(lambda i: accounts.login(db, "alice", f"guess number {i}", now), range(6)))
    assert not any(r.ok for r in results)
    refused = accounts.login(db, "alice", PASSWORD, now + 1)
    assert not refused.ok and refused.locked_s > 0 and not refused.checked
    assert accounts.login(db, "alice", PASSWORD, now + accounts.MAX_LOCK_S + 1).ok


def test_terminal_supplied_text_is_escaped_in_pages_and_defused_in_csv(http, app):
    sb = app.state.sandbox
    accounts.add_operator(sb.db, "alice", PASSWORD, sb.clock())
    beat(http, app, "T-0001", site="<script>alert(1)</script>", software_version="=HYPERLINK(\"http://x\")")
    sign_in(http)
    page = http.get("/console").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "script-src" not in http.get("/console").headers["content-security-policy"]   # default-src 'none'
    rows = list(csv.DictReader(io.StringIO(http.get("/console/export/fleet.csv").content.decode("utf-8-sig"))))
    assert rows[0]["software_version"].startswith("'=")
    assert rows[0]["site"] == "<script>alert(1)</script>"


def test_a_large_fleet_is_paged(http, app):
    sb = app.state.sandbox
    accounts.add_operator(sb.db, "alice", PASSWORD, sb.clock())
    with sb.db.transaction() as tx:
        for n in range(1, 151):
            sb.register_terminal(tx, f"T-{n:04d}")
    sign_in(http)
    first = http.get("/console").text
    assert first.count("data-terminal=") == 100 and "T-0100" in first and "T-0101" not in first
    assert "第 1 / 2 页" in first and 'href="/console?p=2"' in first
    second = http.get("/console?p=2").text
    assert second.count("data-terminal=") == 50 and "T-0150" in second
    filtered = http.get("/console?state=never&p=9").text               # past the end: the last page
    assert filtered.count("data-terminal=") == 50
    assert http.get("/console?p=0").status_code == 400
    alerts = http.get("/console/alerts").text                          # never heard from: 150 alerts, paged
    assert alerts.count("data-terminal=") == 100 and "150" in alerts and 'href="/console/alerts?p=2"' in alerts
    assert http.get("/console/alerts?p=2").text.count("data-terminal=") == 50


def test_console_tables_come_and_go_with_migration_3(db_url):
    from central.db import Database
    from central.migrations import migrate

    db = Database(db_url, migrate=False)
    try:
        migrate(db, 2)
        with pytest.raises(Exception, match="console_operators"):
            accounts.list_operators(db)
        assert migrate(db, 3) == ["up 3 operator console: operators, sessions, sign-in failures, audit trail"]
        accounts.add_operator(db, "alice", PASSWORD, 0.0)
        assert [o["name"] for o in accounts.list_operators(db)] == ["alice"]
        migrate(db, 2)
        with pytest.raises(Exception, match="console_operators"):
            accounts.list_operators(db)
    finally:
        db.close()
