"""kill -9 at random points, hundreds of times.

A process commits cases (and ratings) and syncs them, and is killed with
SIGKILL after a random delay: while opening the store, mid-transaction,
mid-request, between "central stored it" and "we recorded that". Every case
whose commit returned (the resident was told it is done) is written to an
acknowledgement file right after. Afterwards the store passes a full
integrity check and, once drained, central holds every acknowledged case
exactly once, with its rating.

The number of runs is fixed (``KIOSK_KILL_RUNS``, default 200), not a time
budget, so a slow or busy machine runs the same test, only longer. A
single-threaded "zygote" process imports everything once and forks a fresh
worker per run, which keeps a run cheap.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from offline_cache.client import CentralClient
from offline_cache.store import CaseStore
from offline_cache.sync import SyncWorker

RUNS = int(os.environ.get("KIOSK_KILL_RUNS", "200"))

ZYGOTE = textwrap.dedent("""
    import os, random, sys, traceback
    from offline_cache.client import CentralClient
    from offline_cache.simulate import make_case
    from offline_cache.store import CaseStore
    from offline_cache.sync import SyncWorker

    data_dir, url, token, ack_path = sys.argv[1:5]

    def child(seed):
        rng = random.Random(seed)
        store = CaseStore(data_dir, "T-KILL")
        client = CentralClient(url=url, token=token, terminal_id="T-KILL", connect_timeout_s=1, read_timeout_s=3)
        worker = SyncWorker(store, client, batch_size=rng.choice([1, 4, 25]), send_heartbeats=False)
        fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        while True:
            for _ in range(rng.randint(1, 6)):
                kw = make_case(rng)
                rec = store.commit_case(**kw)
                level = kw["evaluation"]["level"] if "evaluation" in kw else 0
                os.write(fd, f"C {rec.case_id} {level}\\n".encode())
                if not level and rng.random() < 0.3:
                    level = rng.randint(1, 5)
                    store.set_evaluation(rec.case_id, level, ["too_slow"] if level <= 2 else [])
                    os.write(fd, f"E {rec.case_id} {level}\\n".encode())
            worker.sync_once()

    for line in sys.stdin:
        cmd, arg = line.split()
        if cmd == "run":
            pid = os.fork()
            if pid == 0:
                try:
                    child(int(arg))
                except BaseException:
                    traceback.print_exc()
                    os._exit(3)
                os._exit(0)
            print(pid, flush=True)
        elif cmd == "reap":
            _, status = os.waitpid(int(arg), 0)
            print(status, flush=True)
""")


@pytest.mark.slow
@pytest.mark.timeout(900)  # a bound for a hung run, far above the usual ~30 s
def test_kill9_at_random_points_loses_and_duplicates_nothing(tmp_path, central, central_cases,
                                                              central_evaluations):
    data_dir, ack = tmp_path / "terminal", tmp_path / "acks.txt"
    script = tmp_path / "zygote.py"
    script.write_text(ZYGOTE)
    errors = open(tmp_path / "zygote.err", "w+")
    central.sandbox.faults.update({"fail_rate": 0.05, "commit_then_fail_rate": 0.05, "seed": 1})
    zygote = subprocess.Popen([sys.executable, str(script), str(data_dir), central.url, central.token_for("T-KILL"),
                               str(ack)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, bufsize=1)
    rng = random.Random(2024)
    runs, exited_early = 0, 0
    try:
        while runs < RUNS:
            zygote.stdin.write(f"run {rng.randrange(1 << 30)}\n")
            pid = int(zygote.stdout.readline())
            time.sleep(rng.choice([rng.uniform(0.0, 0.02), rng.uniform(0.02, 0.3)]))  # the random kill point
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            zygote.stdin.write(f"reap {pid}\n")
            status = int(zygote.stdout.readline())
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                exited_early += 1
            runs += 1
    finally:
        zygote.stdin.close()
        zygote.wait(10)
    errors.seek(0)
    err_text = errors.read()
    errors.close()
    assert exited_early == 0, f"a worker died on its own:\n{err_text[-3000:]}"

    acked, ratings = set(), {}
    for line in ack.read_text().splitlines():
        kind, case_id, level = line.split()
        acked.add(case_id)
        if int(level):
            ratings[case_id] = int(level)

    store = CaseStore(data_dir, "T-KILL", full_check=True)
    assert store.integrity == "ok" and store.accepting
    central.sandbox.faults.update({"fail_rate": 0.0, "commit_then_fail_rate": 0.0})
    client = CentralClient(url=central.url, token=central.token_for("T-KILL"), terminal_id="T-KILL")
    worker = SyncWorker(store, client, batch_size=200, send_heartbeats=False)
    for _ in range(20):
        if not worker.sync_once().failed and store.stats()["outbox"] == 0:
            break
    client.close()

    stored = {c["case_id"] for c in store.list_cases(limit=1_000_000)}
    assert acked <= stored, f"{len(acked - stored)} acknowledged cases are missing from the store"
    rows = central_cases()
    central_ids = [r[0] for r in rows]
    assert len(central_ids) == len(set(central_ids))
    assert set(central_ids) == stored, "central and terminal disagree"
    assert len({r[1] for r in rows}) == len(rows), "a local sequence number arrived twice"
    evaluations = central_evaluations()
    assert {cid: evaluations.get(cid) for cid in ratings} == ratings
    s = store.stats()
    assert s["dead"] == 0 and s["outbox"] == 0 and s["synced"] == len(stored)
    assert store.integrity_check() == "ok"
    stats = central.sandbox.stats()
    print(f"\n{runs} kill -9 runs, {len(acked)} acknowledged cases, {len(ratings)} ratings, "
          f"{stats['duplicates_rejected']} duplicate sends answered from the idempotency record")
    store.close()
