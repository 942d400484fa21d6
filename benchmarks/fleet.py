"""A province's fleet against the central platform on PostgreSQL.

Starts a throwaway PostgreSQL server (Debian's postgresql package, temp dir,
fsync on) and ``kiosk central serve --workers 2`` on it, then simulates
terminals with asyncio + httpx for ``--minutes``:

- every terminal heartbeats every 30 s with the real payload (a KioskApp on
  simulated devices is started once to build it), first beats spread over
  the first interval;
- 5 % of them send case batches (1-5 cases, every 60 s on average; one in
  ten is sent again, as a terminal does when an acknowledgement is lost);
- every terminal polls its signed config every 5 minutes.

Prints p50/p95/p99 per request kind, errors, and duplicates (cases stored
more than once: stored minus distinct sent). Then seeds 7 days of hourly and
daily rollups for every terminal (a generator writing them with COPY) and
times the availability report for the whole fleet and for one terminal.

Goals: heartbeat p99 <= 100 ms, batch p99 <= 200 ms, 0 errors, 0 duplicates,
fleet report <= 1 s, one terminal's <= 50 ms.

    python benchmarks/fleet.py [--minutes 5] [--terminals 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from central.auth import TerminalAuth  # noqa: E402
from offline_cache.simulate import make_case  # noqa: E402

HEARTBEAT_S = 30.0
BATCH_EVERY_S = 60.0
CONFIG_EVERY_S = 300.0
GOALS = {"heartbeat": 100.0, "batch": 200.0}


def _pgserver():
    spec = importlib.util.spec_from_file_location("pgserver", ROOT / "tests" / "central" / "pgserver.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def real_payload(workdir: Path) -> dict:
    """The heartbeat body a terminal on simulated devices sends."""
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    config = load_config(env={"KIOSK_MODE": "demo", "KIOSK_DATA_DIR": str(workdir / "terminal")})
    app = KioskApp(config, start_sync=False)
    app.start()
    try:
        from offline_cache.sync import SyncWorker

        worker = SyncWorker.from_config(config, app.store, app.central, status_provider=app.heartbeat_status)
        return json.loads(json.dumps(worker.heartbeat_body()))
    finally:
        app.stop()


class Stats:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.sent_cases: set[str] = set()
        self.replayed = 0
        self.lag: list[float] = []  # how late the client sent each request (seconds)
        self.slots = None

    def __getstate__(self) -> dict:  # back from a client process without its semaphore
        return {k: v for k, v in self.__dict__.items() if k != "slots"}

    def add(self, kind: str, ms: float, ok: bool) -> None:
        self.ms.setdefault(kind, []).append(ms)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1


IN_FLIGHT = 64  # requests one client process has on the wire at once


async def timed(stats: Stats, kind: str, send, due: float) -> object:
    """``send()`` once a slot is free; the latency counts from then (httpx's pool gets
    slow with thousands of queued requests, which would measure the client, not central)."""
    async with stats.slots:
        stats.lag.append(max(0.0, time.monotonic() - due))
        t0 = time.perf_counter()
        try:
            resp = await send()
            ok = 200 <= resp.status_code < 300
        except Exception:  # noqa: BLE001 (a failed request is an error in the figures)
            resp, ok = None, False
        stats.add(kind, (time.perf_counter() - t0) * 1000, ok)
    return resp if ok else None


def case_body(rng: random.Random, tid: str, seq: int) -> dict:
    kw = make_case(rng)
    cid = str(uuid.UUID(int=rng.getrandbits(128)))
    body = {"case_id": cid, "ref": f"{tid}-{seq}", "terminal_id": tid, "seq": seq,
            "created_at": "2027-01-15T08:00:00+08:00", **kw}
    return {k: v for k, v in body.items() if v is not None}


async def terminal(client, stats: Stats, tid: str, token: str, payload: dict, *, batches: bool,
                   until: float, rng: random.Random) -> None:
    headers = {"Authorization": f"Bearer {token}", "X-Terminal-Id": tid}
    now = time.monotonic()
    next_beat = now + rng.uniform(0, HEARTBEAT_S)
    next_config = now + rng.uniform(0, CONFIG_EVERY_S)
    next_batch = now + rng.expovariate(1 / BATCH_EVERY_S) if batches else float("inf")
    seq = 0
    while True:
        at = min(next_beat, next_config, next_batch)
        if at >= until or time.monotonic() >= until:  # a client that fell behind stops on time too
            return
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if at == next_beat:
            next_beat += HEARTBEAT_S
            await timed(stats, "heartbeat", lambda: client.post(f"/v1/terminals/{tid}/heartbeat", json=payload,
                                                                 headers=headers), at)
        elif at == next_config:
            next_config += CONFIG_EVERY_S
            await timed(stats, "config", lambda: client.get(f"/v1/terminals/{tid}/config", headers=headers), at)
        else:
            next_batch += rng.expovariate(1 / BATCH_EVERY_S)
            items = []
            for _ in range(rng.randint(1, 5)):
                seq += 1
                body = case_body(rng, tid, seq)
                items.append({"kind": "case", "idempotency_key": f"case-{body['case_id']}", "body": body})
            for _attempt in range(2 if rng.random() < 0.1 else 1):  # a lost acknowledgement: sent again
                resp = await timed(stats, "batch", lambda batch={"items": items}: client.post(
                    "/v1/cases/batch", json=batch, headers=headers), at)
                if resp is not None:
                    results = resp.json()["results"]
                    stats.replayed += sum(1 for r in results if r["replayed"])
                    if any(r["status"] >= 300 for r in results):
                        stats.errors["batch item"] = stats.errors.get("batch item", 0) + 1
            stats.sent_cases.update(i["body"]["case_id"] for i in items)


def load_part(url: str, tokens: dict[str, str], payload: dict, minutes: float, seed: int, first: int) -> Stats:
    return asyncio.run(load(url, tokens, payload, minutes, seed, first))


def load_all(url: str, tokens: dict[str, str], payload: dict, minutes: float, seed: int, clients: int) -> Stats:
    """The terminals split over ``clients`` processes (one event loop keeps up with about a thousand)."""
    from concurrent.futures import ProcessPoolExecutor

    if clients <= 1:
        return asyncio.run(load(url, tokens, payload, minutes, seed))
    items = list(tokens.items())
    parts = [dict(items[i::clients]) for i in range(clients)]
    stats = Stats()
    with ProcessPoolExecutor(clients) as pool:
        for part in pool.map(load_part, [url] * clients, parts, [payload] * clients, [minutes] * clients,
                             [seed + i for i in range(clients)], range(clients)):
            for kind, ms in part.ms.items():
                stats.ms.setdefault(kind, []).extend(ms)
            for kind, n in part.errors.items():
                stats.errors[kind] = stats.errors.get(kind, 0) + n
            stats.sent_cases |= part.sent_cases
            stats.replayed += part.replayed
            stats.lag.extend(part.lag)
    return stats


async def load(url: str, tokens: dict[str, str], payload: dict, minutes: float, seed: int, first: int = 0) -> Stats:
    import httpx

    stats = Stats()
    stats.slots = asyncio.Semaphore(IN_FLIGHT)
    rng = random.Random(seed)
    until = time.monotonic() + minutes * 60
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0, trust_env=False) as client:
        tasks = [terminal(client, stats, tid, tok, payload, batches=int(tid[3:]) % 20 == 0, until=until,
                          rng=random.Random(rng.random()))
                 for tid, tok in tokens.items()]
        await asyncio.gather(*tasks)
    return stats


def seed_rollups(db_url: str, tids: list[str], services: list[str], now: float, rng: random.Random) -> int:
    """Seven days of hourly and daily rollups for every terminal (COPY)."""
    import psycopg

    hour0 = (now // 3600) * 3600 - 7 * 86400
    rows = 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE terminals SET first_heartbeat_at = %s", (hour0,))
        conn.execute("UPDATE terminal_services SET first_seen_at = %s", (hour0,))
        conn.execute("DELETE FROM availability_rollups")
        with conn.cursor() as cur, cur.copy("COPY availability_rollups (terminal_id, service, span, bucket,"
                                            " available_s, unavailable_s, not_offered_s) FROM STDIN") as copy:
            for size, count in ((3600.0, 7 * 24), (86400.0, 8)):
                start = (hour0 // size) * size
                for tid in tids:
                    for k in range(count):
                        bucket = start + k * size
                        copy.write_row((tid, "", size, bucket, size * 0.99, 0.0, 0.0))
                        for sid in services:
                            down = size * rng.choice((0.0, 0.0, 0.0, 0.05, 0.3))
                            copy.write_row((tid, sid, size, bucket, size * 0.99 - down, down, 0.0))
                        rows += 1 + len(services)
        conn.execute("ANALYZE")
    return rows


def time_report(url: str, operator: str, tid: str, runs: int = 3) -> tuple[float, float, int]:
    import httpx

    headers = {"Authorization": f"Bearer {operator}"}
    fleet, one, size = [], [], 0
    with httpx.Client(base_url=url, headers=headers, timeout=120.0, trust_env=False) as client:
        for _ in range(runs):
            t0 = time.perf_counter()
            r = client.get("/v1/report")
            fleet.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            size = len(r.json()["terminals"])
            t0 = time.perf_counter()
            client.get("/v1/report", params={"terminal": tid}).raise_for_status()
            one.append((time.perf_counter() - t0) * 1000)
    return pct(fleet, 50), pct(one, 50), size


def start_server(db_url: str, workdir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KIOSK_DATA_DIR": str(workdir / "central-data"), "KIOSK_CENTRAL_STATE": str(workdir / "state"),
           "KIOSK_MODE": "demo", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "central", "serve", "--db", db_url, "--port", str(port),
                             "--workers", str(workers)], env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("central serve ended at start")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("central serve did not answer in time")


def report(stats: Stats, stored: int, minutes: float) -> None:
    print(f"\n{'kind':<10} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}  goal")
    for kind in ("heartbeat", "batch", "config"):
        ms = stats.ms.get(kind, [])
        goal = f"p99 <= {GOALS[kind]:.0f} ms" if kind in GOALS else ""
        print(f"{kind:<10} {len(ms):>9} {len(ms) / (minutes * 60):>7.1f} {pct(ms, 50):>8.1f} {pct(ms, 95):>8.1f}"
              f" {pct(ms, 99):>8.1f} {stats.errors.get(kind, 0):>7}  {goal}")
    print(f"client lateness (scheduled to sent): p50 {pct(stats.lag, 50):.2f} s, p99 {pct(stats.lag, 99):.2f} s")
    print(f"batch items refused: {stats.errors.get('batch item', 0)}; cases sent {len(stats.sent_cases)},"
          f" stored {stored}, duplicates {stored - len(stats.sent_cases)}, replays answered {stats.replayed}")


ROUTES = {"heartbeat": "/v1/terminals/{terminal_id}/heartbeat", "batch": "/v1/cases/batch",
          "config": "/v1/terminals/{terminal_id}/config"}


def server_side(url: str) -> None:
    """Latency as the server measured it (/metrics histogram; no client queueing), p50/p99 by bucket."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, dict[float, float]] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text):
        for sample in family.samples:
            if sample.name == "central_request_seconds_bucket" and sample.labels.get("status") == "2xx":
                le = float(sample.labels["le"])
                row = counts.setdefault(sample.labels["route"], {})
                row[le] = row.get(le, 0.0) + sample.value
    print("server side (histogram buckets; the upper bound of the bucket holding the quantile):")
    for kind, route in ROUTES.items():
        row = sorted(counts.get(route, {}).items())
        total = row[-1][1] if row else 0
        marks = []
        for q in (0.5, 0.95, 0.99):
            bound = next((le for le, n in row if n >= q * total), float("inf"))
            marks.append(f"p{int(q * 100)} <= {bound * 1000:g} ms")
        print(f"  {kind:<10} {int(total):>7} requests  " + "  ".join(marks))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--terminals", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clients", type=int, default=1, help="client processes the terminals are split over")
    args = ap.parse_args()
    print(f"machine load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" (1/5/15 min), {os.cpu_count()} CPUs")
    pg = _pgserver().PostgresServer(fsync=True, max_connections=200).start()
    proc = None
    try:
        with tempfile.TemporaryDirectory(prefix="kiosk-fleet-") as tmp:
            workdir = Path(tmp)
            payload = real_payload(workdir)
            print(f"payload: {len(json.dumps(payload))} bytes, {len(payload.get('devices', {}))} devices,"
                  f" {len(payload.get('services', {}))} services")
            db_url = pg.create_database("fleet")
            proc, url = start_server(db_url, workdir, args.workers)
            auth = TerminalAuth(workdir / "state")
            tokens = {f"T-F{i:05d}": auth.token_for(f"T-F{i:05d}") for i in range(args.terminals)}
            print(f"{args.terminals} terminals against {url} ({args.workers} workers, PostgreSQL) for"
                  f" {args.minutes:g} min")
            stats = load_all(url, tokens, payload, args.minutes, args.seed, args.clients)
            import httpx

            operator = {"Authorization": f"Bearer {auth.operator_token}"}
            counters = httpx.get(f"{url}/v1/stats", headers=operator, timeout=30).json()
            report(stats, counters["cases_stored"], args.minutes)
            server_side(url)
            print(f"machine load after the run: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}"
                  f" {os.getloadavg()[2]:.2f}")
            rows = seed_rollups(db_url, list(tokens), list(payload.get("services", {})), time.time(),
                                random.Random(args.seed))
            fleet_ms, one_ms, size = time_report(url, auth.operator_token, next(iter(tokens)))
            print(f"\nrollups seeded: {rows} rows (7 days x {args.terminals} terminals)")
            print(f"report, whole fleet ({size} terminals): p50 {fleet_ms:.0f} ms   goal <= 1000 ms")
            print(f"report, one terminal: p50 {one_ms:.1f} ms   goal <= 50 ms")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        pg.stop()


if __name__ == "__main__":
    main()
