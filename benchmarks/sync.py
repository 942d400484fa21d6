"""Case store and sync speed.

1. Commit latency: ``CaseStore.commit_case`` (masking, AES-GCM encryption of
   the body, case + outbox entry in one WAL transaction with
   synchronous=FULL) against a bare SQLite transaction inserting a case row
   and an outbox row with the same settings, in the same run on the same
   disk. Runs alternate so both see the same load. Goal: p99 <= 2 ms.
2. Drain: time for the sync worker to send a 10,000-case backlog to the
   sandbox central platform on loopback (sandbox in its own process, as in a
   real deployment; default batch size from config). Goal: <= 30 s.

    python benchmarks/sync.py [--commits 2000] [--backlog 10000] [--batch 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from central.auth import TerminalAuth  # noqa: E402
from offline_cache.client import CentralClient  # noqa: E402
from offline_cache.simulate import make_case  # noqa: E402
from offline_cache.store import CaseStore  # noqa: E402
from offline_cache.sync import SyncWorker  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bare_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE cases (seq INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT UNIQUE, body TEXT)")
    conn.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT, key TEXT UNIQUE)")
    return conn


def bench_commits(n: int, workdir: Path) -> None:
    rng = random.Random(1)
    cases = [make_case(rng) for _ in range(n)]
    bodies = [json.dumps(c, ensure_ascii=False) for c in cases]
    store = CaseStore(workdir / "store", "T-BENCH")
    bare = bare_db(workdir / "bare.db")
    for c in cases[:50]:  # warm up both (page cache, key load)
        store.commit_case(**c)
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("INSERT INTO cases(case_id, body) VALUES (?, ?)", (str(uuid.uuid4()), "{}"))
        bare.execute("INSERT INTO outbox(case_id, key) VALUES (?, ?)", (str(uuid.uuid4()), str(uuid.uuid4())))
        bare.execute("COMMIT")
    ours, base = [], []
    for c, body in zip(cases, bodies):
        t = time.perf_counter()
        store.commit_case(**c)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        case_id = str(uuid.uuid4())
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("INSERT INTO cases(case_id, body) VALUES (?, ?)", (case_id, body))
        bare.execute("INSERT INTO outbox(case_id, key) VALUES (?, ?)", (case_id, str(uuid.uuid4())))
        bare.execute("COMMIT")
        base.append((time.perf_counter() - t) * 1000)
    store.close()
    bare.close()
    p50, p99, b50, b99 = pct(ours, 50), pct(ours, 99), pct(base, 50), pct(base, 99)
    print(f"commit latency over {n} cases (ms):")
    print(f"  bare SQLite case+outbox   p50 {b50:6.3f}  p99 {b99:6.3f}")
    print(f"  CaseStore.commit_case     p50 {p50:6.3f}  p99 {p99:6.3f}   "
          f"ratio p50 {p50 / b50:4.2f}x  p99 {p99 / b99:4.2f}x   goal p99 <= 2 ms: {'met' if p99 <= 2 else 'MISSED'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_drain(n: int, batch: int, workdir: Path) -> None:
    store = CaseStore(workdir / "drain", "T-BENCH")
    rng = random.Random(2)
    t = time.perf_counter()
    for _ in range(n):
        store.commit_case(**make_case(rng))
    made = time.perf_counter() - t
    port = free_port()
    token = TerminalAuth(workdir).token_for("T-BENCH")  # the server reads the same per-install secret
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "central", "serve", "--port", str(port),
                               "--db", f"sqlite:///{workdir / 'central.db'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "KIOSK_DATA_DIR": str(workdir / "serve")})
    client = CentralClient(url=f"http://127.0.0.1:{port}", token=token, terminal_id="T-BENCH")
    try:
        end = time.monotonic() + 30
        while True:
            try:
                client.health()
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > end:
                    raise SystemExit(f"sandbox did not start: {server.stderr.read().decode()[-500:]}") from None
                time.sleep(0.1)
        worker = SyncWorker(store, client, batch_size=batch, send_heartbeats=False)
        t = time.perf_counter()
        result = worker.sync_once()
        drained = time.perf_counter() - t
        left = store.stats()["outbox"]
        received = client.stats()["cases"]
    finally:
        client.close()
        server.terminate()
        server.wait(10)
        store.close()
    print(f"backlog of {n} cases ({n / made:,.0f} commits/s to build it):")
    print(f"  drained in {drained:6.2f} s with batch size {batch} ({result['batches']} requests, "
          f"{n / drained:,.0f} cases/s); central received {received}, left {left}   "
          f"goal <= 30 s: {'met' if drained <= 30 and left == 0 and received == n else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--backlog", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=50, help="sync.batch_size (default config: 50)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-sync-", dir=os.environ.get("KIOSK_BENCH_DIR")) as d:
        bench_commits(args.commits, Path(d))
        bench_drain(args.backlog, args.batch, Path(d))


if __name__ == "__main__":
    main()
