"""kill -9 of a running kiosk core in the middle of a session, then a restart
on the same data: the case store, the ticket printer's spool and the outbox
are intact.  Nothing the residents were told is done is lost, the ticket kept
while the paper was out prints once by itself, and central holds every case
exactly once.  (tests/offline_cache/test_killloop.py kills the store and sync
alone at random points, hundreds of times.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMMON = """
import json, sys, time
from kiosk.app import KioskApp
from kiosk.core.config import load_config

def wait(what, cond, bound=120.0):
    deadline = time.monotonic() + bound
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting: {what}")
        time.sleep(0.1)

config = load_config(env={"KIOSK_DATA_DIR": sys.argv[1]}, remote=False, overrides={"mode": "demo"})
app = KioskApp(config).start()
printer = app.devices.get("ticket_printer")
"""

# Two residents done (the first sent to central, the second waiting in the
# outbox while central is down), a third mid-session with the ticket kept in
# the spool because the paper ran out as it printed.  Then nothing: the parent
# kills the process.
BEFORE = COMMON + """
from flows.runner import Runner, load_script, shipped_script

runner = Runner(app, None, expect_timeout_s=60)
queue = load_script(shipped_script("queue_ticket"))
first = runner.run(queue)
assert first.ok, first.error
wait("the first case at central", lambda: app.store.stats()["outbox"] == 0)
app.embedded.stop()
second = runner.run(queue)
assert second.ok, second.error

session = app.new_session("queue_ticket", start=True)
session.wait_for(lambda st: st["step"] == "business" and not st["busy"], 60)
app.devices.simulators["ticket_printer"].set_paper_left(80)  # the roll ends 10 mm into the ticket
session.dispatch({"type": "tap", "action": session.state()["choices"][0]["id"]})
session.wait_for(lambda st: st["step"] == "print_ticket" and not st["busy"], 60)
wait("the kept ticket", lambda: len(printer.pending()) == 1)
cases = [c["case_id"] for c in app.store.list_cases()]
print("MID-SESSION " + json.dumps({"cases": cases, "kept": [j["id"] for j in printer.pending()],
                                   "outbox": app.store.stats()["outbox"]}), flush=True)
time.sleep(3600)
"""

# The restart: paper back, central up again (the same embedded database).
AFTER = COMMON + """
sim = app.devices.simulators["ticket_printer"]
wait("the kept ticket printed", lambda: not printer.pending() and sim.pages_printed >= 1)
wait("the outbox drained", lambda: app.store.stats()["outbox"] == 0)
app.sync.sync_once()  # one more pass: anything sent twice would show now
with app.embedded.sandbox.db.transaction() as tx:
    central = [r[0] for r in tx.all("SELECT case_id FROM cases")]
print("AFTER " + json.dumps({"integrity": app.store.integrity_check(), "stats": app.store.stats(),
                             "cases": [c["case_id"] for c in app.store.list_cases()], "central": central,
                             "pages": sim.page_texts(), "whole": sim.complete_page_texts(),
                             "pending": printer.pending(),
                             "spool_pending": [j.id for j in printer.spool.pending()]}), flush=True)
app.stop()
"""


def _env(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env.update(KIOSK_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    return env


def _line(proc: subprocess.Popen, prefix: str, bound: float) -> dict:
    """The JSON after ``prefix`` on the child's output (it prints nothing else to stdout)."""
    deadline = time.monotonic() + bound
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix + " "):
            return json.loads(line[len(prefix) + 1:])
    proc.kill()
    raise AssertionError(f"no {prefix} line; the child said: {''.join(seen)[-2000:]}{proc.stderr.read()[-3000:]}")


@pytest.mark.timeout(600)
def test_kill9_mid_session_loses_and_duplicates_nothing(tmp_path):
    data = tmp_path / "data"
    before = subprocess.Popen([sys.executable, "-c", textwrap.dedent(BEFORE), str(data)], env=_env(data),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        mid = _line(before, "MID-SESSION", 400)
    finally:
        for kill in (os.kill, os.killpg):  # the app alone, as a crash would; then what it started, as
            try:                            # systemd stops the unit's group
                kill(before.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            before.wait(60)
    assert len(mid["cases"]) == 3 and len(mid["kept"]) == 1 and mid["outbox"] >= 2

    after = subprocess.Popen([sys.executable, "-c", textwrap.dedent(AFTER), str(data)], env=_env(data),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        end = _line(after, "AFTER", 400)
        after.wait(60)
    finally:
        if after.poll() is None:
            os.killpg(after.pid, signal.SIGKILL)
    assert end["integrity"] == "ok"
    assert sorted(end["cases"]) == sorted(mid["cases"])          # every committed case is still there
    assert sorted(end["central"]) == sorted(mid["cases"])        # each at central exactly once
    assert end["stats"]["synced"] == 3 and end["stats"]["dead"] == 0
    assert end["pending"] == [] and end["spool_pending"] == []
    assert len(end["pages"]) == 1, end["pages"]  # the kept ticket, once
