"""``kiosk cases ...``: the terminal's case store and its sync, for
technicians and scripts. Listings are always masked."""

from __future__ import annotations

import random
import signal
import threading
import time

import click

from kiosk.core.clikit import emit, fail


def _store(obj, strict: bool = True):
    from .store import CaseStore

    store = CaseStore.from_config(obj.config)
    if strict and store.problem is not None:
        fail(f"case store {store.path}: {store.problem}")
    return store


def _client(obj):
    """The application's central client (it starts the embedded sandbox for embedded://)."""
    from .client import CentralClient

    make = getattr(obj, "central_client", None) or CentralClient
    try:
        return make(obj.config)
    except (RuntimeError, ValueError) as exc:
        fail(f"central: {exc}")


@click.group("cases")
def cases() -> None:
    """Cases kept on this terminal and their sync to the central platform."""


@cases.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--dead", is_flag=True, help="Only the dead-letter list (refused by central) with reasons.")
@click.option("--status", type=click.Choice(["pending", "synced", "dead"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_obj
def list_cmd(obj, as_json: bool, dead: bool, status: str | None, limit: int) -> None:
    """List cases (newest first), personal fields masked."""
    store = _store(obj)
    if dead:
        rows = store.dead_letters()
        human = "\n".join(f"{r['ref']}  {r['kind']:<10} {r['service']:<26} {r['reason']}" for r in rows) \
            or "no dead-lettered cases"
        emit(rows, as_json, human)
        return
    rows = store.list_cases(status=status, limit=limit)
    lines = []
    for r in rows:
        who = r["applicant"].get("name", "") if isinstance(r["applicant"], dict) else ""
        idn = r["applicant"].get("id_number", "") if isinstance(r["applicant"], dict) else ""
        lines.append(f"{r['ref']}  {r['status']:<8} {r['service']:<26} {who} {idn}  {r['created_at']}")
    emit(rows, as_json, "\n".join(lines) or "no cases")


@cases.command("show")
@click.argument("case_id")
@click.pass_obj
def show(obj, case_id: str) -> None:
    """One case (masked)."""
    case = _store(obj).get_case(case_id)
    if case is None:
        fail(f"no case {case_id}")
    emit(case, True)


@cases.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(obj, as_json: bool) -> None:
    """Counts: pending, synced, dead (and outbox depth, purged)."""
    s = _store(obj).stats()
    emit(s, as_json, f"pending {s['pending']}  synced {s['synced']}  dead {s['dead']}  "
                     f"outbox {s['outbox']}  purged {s['purged']}")


@cases.command("health")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def health(obj, as_json: bool) -> None:
    """Store status (accepting cases or why not); exit 1 when not accepting."""
    h = _store(obj, strict=False).health()
    emit(h, as_json, f"{h['state']}: {h['message']['en']}")
    if not h["accepting"]:
        raise SystemExit(1)


@cases.command("sync")
@click.option("--once", is_flag=True, help="One pass: send what is pending, then exit.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--heartbeat/--no-heartbeat", default=False,
              help="Also send heartbeats (off by default: the app sends them with device status).")
@click.pass_obj
def sync(obj, once: bool, as_json: bool, heartbeat: bool) -> None:
    """Send pending cases to the central platform.

    With --once: one pass, exit 1 if some could not be sent. Without it: runs
    until stopped (Ctrl-C or SIGTERM), one line per batch and heartbeat."""
    from kiosk.core.config import ConfigError
    from kiosk.core.production import check_can_start

    from .sync import SyncWorker

    try:
        check_can_start(obj.config)
    except ConfigError as exc:
        fail(str(exc), code=2)
    store = _store(obj)
    client = _client(obj)
    try:
        from kiosk.core.audit import audit_for

        worker = SyncWorker.from_config(obj.config, store, client, send_heartbeats=heartbeat)
        worker.attach_audit(audit_for(obj.config))
        if once:
            result = worker.sync_once()
            left = store.stats()
            out = {k: result[k] for k in ("sent", "replayed", "dead", "retry", "batches")}
            out.update(pending=left["outbox"], error=result.get("error"))
            emit(out, as_json, f"sent {out['sent']} (replayed {out['replayed']}), dead {out['dead']}, "
                               f"still pending {out['pending']}")
            if result.failed:
                fail(f"sync incomplete: {result['error']}")
            return
        _run_daemon(worker, store)
    finally:
        client.close()


def _run_daemon(worker, store) -> None:
    """Foreground loop for systemd (Type=notify, WatchdogSec): READY once
    running, WATCHDOG pings only while the loop turns. One line per batch
    sent or failed and per heartbeat; Ctrl-C or SIGTERM end it within a
    few seconds (a request still in flight is resent later under the same
    idempotency key, so nothing is stored twice)."""
    from kiosk.core.watchdog import Watchdog, claim_notify_environment

    claim_notify_environment()
    dog = Watchdog()
    check_in = dog.register("sync-loop", deadline_s=max(30.0, worker.interval_s * 4))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.on_pass = lambda result: _print_pass(result, store)
    if worker.send_heartbeats:
        send_heartbeat = worker.heartbeat_once

        def heartbeat():
            ack = send_heartbeat()
            click.echo(f"{_now()} heartbeat " + ("answered" if ack is not None else "not answered (kept, sent later)"))
            return ack
        worker.heartbeat_once = heartbeat
    click.echo(f"{_now()} syncing cases to {worker.client.base_url} every {worker.interval_s:g} s"
               f" ({_pending(store)} pending); runs until stopped (Ctrl-C or SIGTERM)")
    loop = threading.Thread(target=worker.run_forever, kwargs={"tick": check_in}, name="case-sync", daemon=True)
    dog.start()
    loop.start()
    dog.ready("syncing cases")
    try:
        while not stop.wait(0.5) and loop.is_alive():
            pass
    finally:
        worker.stop(timeout=0)
        loop.join(3.0)
        dog.stop()
    sent = worker.totals
    click.echo(f"{_now()} stopped: sent {sent['sent']} this run, {_pending(store)} pending")


def _now() -> str:
    return time.strftime("%H:%M:%S")


def _pending(store) -> str:
    try:
        return str(store.stats()["outbox"])
    except Exception:  # the line must not fail for a busy or failing store
        return "?"


def _print_pass(result, store) -> None:
    if result.failed:
        click.echo(f"{_now()} not sent: {result.get('error')}; next try in {result.get('next_attempt_in_s', 0):.0f} s")
    elif result["batches"]:
        click.echo(f"{_now()} sent {result['sent']} (replayed {result['replayed']}), dead {result['dead']},"
                   f" {_pending(store)} pending")


@cases.command("simulate")
@click.option("--count", type=click.IntRange(1, 1_000_000), required=True)
@click.option("--service", default=None, help="Only this service id.")
@click.option("--seed", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def simulate(obj, count: int, service: str | None, seed: int | None, as_json: bool) -> None:
    """Create COUNT realistic cases through the store API flows use."""
    from .simulate import make_case
    from .store import StoreUnavailable

    store = _store(obj)
    rng = random.Random(seed)
    made = []
    try:
        for _ in range(count):
            made.append(store.commit_case(**make_case(rng, service)).as_dict())
    except StoreUnavailable as exc:
        fail(f"stopped after {len(made)} cases: {exc}")
    emit({"created": len(made), "first": made[0]["ref"], "last": made[-1]["ref"]}, as_json,
         f"created {len(made)} cases ({made[0]['ref']} .. {made[-1]['ref']})")


@cases.command("requeue")
@click.option("--seq", type=int, default=None, help="One outbox entry (outbox_seq from list --dead).")
@click.option("--all", "everything", is_flag=True, help="Every dead-lettered entry.")
@click.pass_obj
def requeue(obj, seq: int | None, everything: bool) -> None:
    """Send dead-lettered entries again after the cause was fixed."""
    if seq is None and not everything:
        fail("give --seq N or --all", code=2)
    n = _store(obj).requeue_dead(seq)
    click.echo(f"requeued {n}")


@cases.command("purge")
@click.pass_obj
def purge(obj) -> None:
    """Delete cases acknowledged by central more than store.retention_days ago."""
    click.echo(f"purged {_store(obj).purge_expired()}")


@cases.command("rotate-key")
@click.option("--reencrypt/--no-reencrypt", default=True, show_default=True,
              help="Re-encrypt stored cases under the new key.")
@click.option("--retire", is_flag=True, help="Delete key files no stored row uses any more.")
@click.pass_obj
def rotate_key(obj, reencrypt: bool, retire: bool) -> None:
    """Make a new encryption key current (see docs/cases.md)."""
    emit(_store(obj).rotate_key(reencrypt=reencrypt, retire=retire), True)


@cases.command("check")
@click.pass_obj
def check(obj) -> None:
    """Full integrity check of the store (exit 1 if damaged)."""
    store = _store(obj)
    result = store.integrity_check()
    if result != "ok":
        fail(f"integrity check failed: {result}")
    click.echo("ok")
