"""``kiosk central ...``: run the sandbox central platform, read its counters."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
from pathlib import Path

import click

from kiosk.core.clikit import emit, fail


@click.group("central")
def central() -> None:
    """The central platform sandbox (contract: central/openapi.yaml)."""


@central.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8480, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--db", "db_url", default=None,
              help="sqlite:///PATH (default: <data dir>/central/central.db) or postgresql://...")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (on PostgreSQL; they share nothing but the database).")
@click.option("--auto-pay-s", type=float, default=3.0, show_default=True,
              help="Sandbox payments turn paid this long after creation (0: only when paid explicitly).")
@click.option("--faults", default=None, help='Fault switches as JSON, e.g. \'{"fail_rate": 0.2}\'.')
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--client-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Require client certificates signed by this CA (mutual TLS).")
@click.option("--stale-s", type=click.FloatRange(1, 86400), default=None,
              help="Availability report: a heartbeat's state holds at most this long (default: 3 x sync.heartbeat_s).")
@click.option("--raw-heartbeats-days", type=click.FloatRange(1, 366), default=8.0, show_default=True,
              help="Raw heartbeats older than this are pruned (reports read the hourly and daily rollups).")
@click.pass_obj
def serve(obj, port, host, db_url, workers, auto_pay_s, faults, tls_cert, tls_key, client_ca,
          stale_s, raw_heartbeats_days) -> None:
    """Run the platform in the foreground.

    Every request is bound to one terminal: its client certificate's CN (with
    --client-ca) or its own token (``kiosk central token ID``)."""
    import uvicorn

    from .app import SETTINGS_ENV, create_app
    from .faults import Faults
    from .report import DEFAULT_HEARTBEAT_S, STALE_FACTOR

    cfg = obj.config
    db_url = db_url or f"sqlite:///{cfg.data_dir / 'central' / 'central.db'}"
    try:
        fault_dict = json.loads(faults) if faults else None
        fault_switches = Faults.from_dict(fault_dict) if faults else Faults.from_env()
    except (ValueError, TypeError) as exc:
        fail(f"--faults: {exc}", code=2)
    if bool(tls_cert) != bool(tls_key):
        fail("--tls-cert and --tls-key go together", code=2)
    if client_ca and not tls_cert:
        fail("--client-ca needs --tls-cert/--tls-key", code=2)
    settings = {"db_url": db_url, "auto_pay_s": auto_pay_s, "demo": cfg.demo, "raw_keep_s": raw_heartbeats_days * 86400,
                "report_stale_s": stale_s or STALE_FACTOR * float(cfg.get("sync.heartbeat_s", DEFAULT_HEARTBEAT_S))}
    try:
        # Built here also with workers: the schema is migrated and the state files made once, up front.
        app = create_app(faults=fault_switches, **settings)
    except Exception as exc:  # noqa: BLE001 (any reason the database cannot be opened is one line)
        fail(f"cannot open {db_url}: {type(exc).__name__}: {exc}")
    tls = {}
    if tls_cert:
        tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key, "http": "central.tls_protocol:PeerCertProtocol"}
        if client_ca:
            tls.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    target, metrics_dir = app, None
    if workers > 1:
        import tempfile

        app.state.sandbox.db.close()
        os.environ[SETTINGS_ENV] = json.dumps({**settings, "faults": fault_dict})
        # each process writes its metrics here; /metrics adds them up (removed on exit unless given)
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kiosk-central-metrics-")
        # A worker answers uvicorn's health check from a thread that needs the GIL: a long
        # report on a busy machine kept it from answering within the default 5 s, and the
        # worker was killed with the heartbeats it was storing.
        target, tls = "central.app:app_from_env", {**tls, "factory": True, "workers": workers,
                                                   "timeout_worker_healthcheck": 60}
    scheme = "https" if tls_cert else "http"
    click.echo(f"central platform on {scheme}://{host}:{port} ({workers} worker{'s' if workers > 1 else ''};"
               f" db {_masked(db_url)}; report at /console/report)", err=True)
    try:
        # uvicorn stops gracefully on SIGINT and SIGTERM once it serves; before that
        # (and after) they end the command the same quiet way.
        signal.signal(signal.SIGTERM, _interrupted)
        uvicorn.run(target, host=host, port=port, log_level="warning", access_log=False, **tls)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    click.echo("central platform stopped", err=True)


def _masked(url: str) -> str:
    """A database URL without its password (it goes to the terminal and logs)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


@central.command("migrate")
@click.option("--db", "db_url", default=None, help="sqlite:///PATH (default: <data dir>/central/central.db) "
                                                    "or postgresql://...")
@click.option("--to", "target", type=int, default=None, help="Schema version (default: the latest; lower: down).")
@click.pass_obj
def migrate_cmd(obj, db_url: str | None, target: int | None) -> None:
    """Bring the platform's database schema up (or down) to a version."""
    from .db import Database
    from .migrations import LATEST, current_version, migrate

    db_url = db_url or f"sqlite:///{obj.config.data_dir / 'central' / 'central.db'}"
    try:
        db = Database(db_url, migrate=False)
        try:
            done = migrate(db, target)
            with db.transaction() as tx:
                now = current_version(tx)
        finally:
            db.close()
    except ValueError as exc:
        fail(str(exc), code=2)
    except Exception as exc:  # noqa: BLE001 (one line, never a traceback)
        fail(f"cannot migrate {_masked(db_url)}: {type(exc).__name__}: {exc}")
    for line in done:
        click.echo(line)
    click.echo(f"schema version {now} (latest {LATEST})")


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


@central.command("token")
@click.argument("terminal_id", required=False)
@click.option("--operator", is_flag=True, help="The operator's token (any case, any terminal's sandbox config).")
@click.option("--db", "db_url", default=None, help="The sandbox database (default: <data dir>/central/central.db).")
@click.pass_obj
def token(obj, terminal_id: str | None, operator: bool, db_url: str | None) -> None:
    """Print the sandbox's bearer token for one terminal (its per-install secret)."""
    from kiosk.core.config import _SCHEMA

    from .auth import TerminalAuth
    from .db import Database

    if bool(terminal_id) == operator:
        fail("give a terminal id or --operator", code=2)
    if terminal_id and not _SCHEMA["terminal.id"][1](terminal_id):
        fail(f"terminal id: {_SCHEMA['terminal.id'][2]}", code=2)
    db = Database(db_url or f"sqlite:///{obj.config.data_dir / 'central' / 'central.db'}")
    try:
        auth = TerminalAuth(db.state_dir)
    finally:
        db.close()
    click.echo(auth.operator_token if operator else auth.token_for(terminal_id))


@central.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", default=None, help="Central URL (default: central.url; embedded:// reads its database).")
@click.option("--db", "db_url", default=None, help="Read this sandbox database directly.")
@click.pass_obj
def stats(obj, as_json: bool, url: str | None, db_url: str | None) -> None:
    """Cases received, duplicates rejected and other counters."""
    cfg = obj.config
    url = url or cfg.get("central.url", "embedded://")
    if db_url or url.startswith("embedded:"):
        from .db import Database
        from .sandbox import read_stats

        db_url = _sandbox_db_url(cfg, db_url)
        try:
            db = Database(db_url)
            data = read_stats(db)
            db.close()
        except Exception as exc:
            fail(f"cannot read {db_url}: {exc}")
    else:
        data = _remote_get(cfg, url, "/v1/stats")
    emit(data, as_json, "  ".join(f"{k} {v}" for k, v in data.items()))


def _remote_get(cfg, url: str, path: str) -> dict:
    """GET a running platform's JSON with this terminal's credentials (central.token,
    client certificate, CA bundle); a failure is one line."""
    import httpx

    token = cfg.get("central.token", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(float(cfg.get("central.read_timeout_s", 10.0)),
                            connect=float(cfg.get("central.connect_timeout_s", 3.0)))
    try:
        tls = ssl.create_default_context(cafile=cfg.get("central.ca_bundle", "") or None)
        if not cfg.get("central.verify_tls", True):
            tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
        if cfg.get("central.client_cert", ""):
            tls.load_cert_chain(cfg.get("central.client_cert"), cfg.get("central.client_key", "") or None)
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, verify=tls, timeout=timeout,
                          trust_env=False) as client:
            resp = client.get(path)
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        fail(f"{url}: {type(exc).__name__}: {exc}")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        detail = f"{body.get('error', '')} {body.get('message', '')}".strip() if isinstance(body, dict) else ""
        fail(f"{url}: GET {path.split('?')[0]}: HTTP {resp.status_code} {detail}".rstrip())
    return body


def _sandbox_db_url(cfg, db_url: str | None) -> str:
    """--db, else the embedded sandbox's database under <data dir>/central/."""
    if db_url:
        return db_url
    path = Path(cfg.data_dir) / "central" / "central.db"
    if not path.exists():
        fail(f"no sandbox database at {path} (nothing received yet)")
    return f"sqlite:///{path}"


def _when(value: str | None) -> float:
    import datetime as dt
    import time

    if not value:
        return time.time()
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at {value!r}: not an ISO 8601 time (e.g. 2026-11-23T08:00:00+08:00)", code=2)
    return (stamp if stamp.tzinfo else stamp.astimezone()).timestamp()


def report_table(data: dict) -> str:
    """Terminal lines, then one row per terminal and service."""
    from .report_page import duration, local_time, percent

    windows = list(data["windows"])
    lines = []
    for term in data["terminals"]:
        outbox = term.get("outbox") or {}
        age = f" ({duration(term['last_heartbeat_age_s'])} ago)" if term["last_heartbeat_age_s"] is not None else ""
        coverage = "  ".join(f"{w} {percent(term['windows'][w]['reporting'])}" for w in windows)
        last = local_time(term["last_heartbeat_at"]) if term["last_heartbeat_at"] else "never"   # the operator's clock
        lines.append(f"{term['terminal_id']}: {term['state']}, last heartbeat {last}"
                     f"{age}, version {term.get('software_version') or '-'}, outbox {outbox.get('pending', '-')}"
                     f" pending / {outbox.get('dead', '-')} dead, heartbeat coverage {coverage}")
        devices = term.get("devices") or {}
        if devices:  # every device the terminal reported, the smart-card reader included
            lines.append("  devices: " + ", ".join(f"{name} {st.get('device', '?')}" for name, st in devices.items()))
    if not lines:
        return "no terminals"
    head = ["TERMINAL", "SERVICE", "NOW"]
    for w in windows:
        head += [f"AVAIL {w}", f"SESSIONS {w}", f"RATING {w}"]
    rows = [head]
    for term in data["terminals"]:
        for sid, svc in term["services"].items():
            row = [term["terminal_id"], sid, svc["now"]]
            for w in windows:
                fig = svc["windows"][w]
                ev = fig["evaluations"]
                row += [percent(fig["availability"]), str(fig["sessions"]),
                        f"{ev['average']:.2f} ({ev['count']})" if ev["count"] else "-"]
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    table = ["  ".join(c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
             for r in rows]
    return "\n".join(lines + [""] + table)


@central.command("report")
@click.option("--json", "as_json", is_flag=True)
@click.option("--terminal", default=None, help="Only this terminal.")
@click.option("--window", type=click.Choice(["24h", "7d", "both"]), default="both", show_default=True)
@click.option("--db", "db_url", default=None, help="Read this sandbox database (default with embedded://: "
                                                    "<data dir>/central/central.db).")
@click.option("--url", default=None, help="Ask a running central platform (GET /v1/report) instead.")
@click.option("--stale-s", type=click.FloatRange(1, 86400), default=None,
              help="A heartbeat's state holds at most this long (default: 3 x sync.heartbeat_s).")
@click.option("--at", "at", default=None, help="Report as of this ISO 8601 time (default: now).")
@click.pass_obj
def report(obj, as_json: bool, terminal: str | None, window: str, db_url: str | None, url: str | None,
           stale_s: float | None, at: str | None) -> None:
    """Per terminal and service: share of the last 24 h / 7 days the service was usable,
    sessions and evaluations (see docs/cases.md)."""
    from . import report as rep

    cfg = obj.config
    url = url or ("" if db_url else cfg.get("central.url", "embedded://"))
    if url and not url.startswith("embedded:"):
        if stale_s is not None or at is not None:
            fail("--stale-s and --at apply to a database read (--db or embedded://)", code=2)
        from urllib.parse import urlencode

        query = urlencode({k: v for k, v in (("terminal", terminal), ("window", window)) if v})
        data = _remote_get(cfg, url, f"/v1/report?{query}")
    else:
        from .db import Database

        db_url = _sandbox_db_url(cfg, db_url)
        stale = stale_s or rep.STALE_FACTOR * float(cfg.get("sync.heartbeat_s", rep.DEFAULT_HEARTBEAT_S))
        now = _when(at)
        try:
            db = Database(db_url)
            try:
                data = rep.read_report(db, now=now, windows=rep.window_names(window), terminal=terminal,
                                       stale_s=stale)
            finally:
                db.close()
        except Exception as exc:
            fail(f"cannot read {db_url}: {exc}")
        if terminal and not data["terminals"]:
            fail(f"no terminal {terminal!r} at {db_url}")
    emit(data, as_json, report_table(data))


def _resident_code_command():
    from .resident_codes import cli_command
    return cli_command()


central.add_command(_resident_code_command())


def _operator_command():
    from .console.cli import operator  # the console's operator accounts
    return operator


central.add_command(_operator_command())
