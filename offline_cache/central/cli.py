"""``kiosk central ...``: run the sandbox central platform, read its counters."""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path

import click

from kiosk.cli import emit, fail


@click.group("central")
def central() -> None:
    """The central platform sandbox (contract: offline_cache/central/openapi.yaml)."""


@central.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8480, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--db", "db_url", default=None,
              help="sqlite:///PATH (default: <data dir>/central/central.db) or postgresql://...")
@click.option("--token", default=None, help="Bearer token terminals must send (default: central.token).")
@click.option("--no-auth", is_flag=True, help="Accept requests without a token (e.g. mutual TLS only).")
@click.option("--auto-pay-s", type=float, default=3.0, show_default=True,
              help="Sandbox payments turn paid this long after creation (0: only when paid explicitly).")
@click.option("--faults", default=None, help='Fault switches as JSON, e.g. \'{"fail_rate": 0.2}\'.')
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--client-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Require client certificates signed by this CA (mutual TLS).")
@click.pass_obj
def serve(obj, port, host, db_url, token, no_auth, auto_pay_s, faults, tls_cert, tls_key, client_ca) -> None:
    """Run the sandbox in the foreground."""
    import uvicorn

    from .app import DEFAULT_TOKEN, create_app
    from .faults import Faults

    cfg = obj.config
    db_url = db_url or f"sqlite:///{cfg.data_dir / 'central' / 'central.db'}"
    try:
        fault_switches = Faults.from_dict(json.loads(faults)) if faults else Faults.from_env()
    except (ValueError, TypeError) as exc:
        fail(f"--faults: {exc}", code=2)
    if bool(tls_cert) != bool(tls_key):
        fail("--tls-cert and --tls-key go together", code=2)
    if client_ca and not tls_cert:
        fail("--client-ca needs --tls-cert/--tls-key", code=2)
    try:
        app = create_app(db_url, token=None if no_auth else (token or cfg.get("central.token") or DEFAULT_TOKEN),
                         faults=fault_switches, auto_pay_s=auto_pay_s)
    except (ValueError, RuntimeError, OSError) as exc:
        fail(f"cannot open {db_url}: {exc}")
    tls = {}
    if tls_cert:
        tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key}
        if client_ca:
            tls.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    scheme = "https" if tls_cert else "http"
    click.echo(f"central sandbox on {scheme}://{host}:{port} (db {db_url})", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **tls)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


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
        from .app import read_stats
        from .db import Database

        if not db_url:
            path = Path(cfg.data_dir) / "central" / "central.db"
            if not path.exists():
                fail(f"no sandbox database at {path} (nothing received yet)")
            db_url = f"sqlite:///{path}"
        try:
            db = Database(db_url)
            data = read_stats(db)
            db.close()
        except Exception as exc:
            fail(f"cannot read {db_url}: {exc}")
    else:
        from ..client import CentralClient, CentralError

        client = CentralClient(cfg, url=url)
        try:
            data = client.stats()
        except CentralError as exc:
            fail(f"{url}: {exc.detail}")
        finally:
            client.close()
    emit(data, as_json, "  ".join(f"{k} {v}" for k, v in data.items()))
