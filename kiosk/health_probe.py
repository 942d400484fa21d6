"""What ``kiosk health`` can learn in well under a second when the app is not
running (or its status is stale): the case store and outbox, the disk, the
clock, the remote configuration, whether each configured device is there at
all (a device node exists, a network printer accepts a connection) and
whether central answers. It starts no simulators and opens no device: the app
owns them, and ``kiosk health --probe`` starts the whole core when a
technician wants every device exercised.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from . import __version__

CONNECT_TIMEOUT_S = 0.3
CENTRAL_TIMEOUT_S = 0.8


def _device(spec: dict) -> dict:
    url = str(spec.get("url", "sim://"))
    scheme, _, rest = url.partition("://")
    out = {"family": spec.get("family"), "url_scheme": scheme}
    if scheme == "sim":
        return {**out, "device": "notProbed", "message": {"en": "simulated: starts with the app", "zh": "模拟设备"}}
    if scheme in ("serial", "v4l2", "usb", "evdev", "camera") and rest.startswith("/"):
        path = rest.split("?", 1)[0]
        there = os.path.exists(path)
        return {**out, "device": "present" if there else "noDevice",
                "message": {"en": f"{path} {'present' if there else 'missing'}", "zh": path}}
    if scheme in ("tcp", "ipp", "ipps", "rfc2217"):
        host, _, port = rest.split("/", 1)[0].rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port or 631)), timeout=CONNECT_TIMEOUT_S):
                pass
            return {**out, "device": "present", "message": {"en": f"{host}:{port} answers", "zh": f"{host}:{port}"}}
        except (OSError, ValueError) as exc:
            return {**out, "device": "offline", "message": {"en": f"{host}:{port}: {exc}", "zh": f"{host}:{port}"}}
    return {**out, "device": "notProbed", "message": {"en": "checked by the running app only",
                                                      "zh": "由运行中的程序检查"}}


def _central(config) -> dict:
    url = str(config.get("central.url", "embedded://"))
    if url.startswith("embedded:"):
        return {"ok": None, "note": "embedded sandbox: runs inside the app"}
    from offline_cache.client import CentralClient, CentralError

    client = CentralClient(config, connect_timeout_s=CENTRAL_TIMEOUT_S, read_timeout_s=CENTRAL_TIMEOUT_S)
    try:
        client.health()
        return {"ok": True}
    except CentralError as exc:
        return {"ok": False, "error": exc.detail}
    finally:
        client.close()


def _store(config) -> tuple[dict, dict, Any]:
    from offline_cache.store import CaseStore

    try:
        store = CaseStore.from_config(config)
    except Exception as exc:  # a store that cannot open is the finding
        return {"ok": False, "accepting": False, "state": "unavailable", "message": {"en": str(exc)}}, {}, None
    try:
        health = store.health()
    finally:
        store.close()
    outbox = {"pending": health.get("outbox"), "dead": health.get("dead"), "synced": health.get("synced"),
              "oldest_pending_at": health.get("oldest_pending_at")}
    keep = ("ok", "accepting", "state", "message", "schema_version", "integrity")
    return {k: health.get(k) for k in keep}, outbox, health.get("last_acked_at")


def quick_report(config, snapshot_age_s: float | None) -> dict:
    """A report in the status model's shape (kiosk/status.py) without the app:
    no services (only the app knows them), so the terminal counts as out of service."""
    from . import status

    store, outbox, last_sync = _store(config)
    devices = {name: _device(spec) for name, spec in config.devices.items()}
    app_note = ("the kiosk app is not running" if snapshot_age_s is None
                else f"the kiosk app's status is {snapshot_age_s:.0f} s old (app hung or stopped)")
    report = {
        "version": __version__,
        "terminal": config.terminal_id,
        "profile": config.get("terminal.profile"),
        "devices": devices,
        "services": {},
        "store": store,
        "outbox": outbox,
        "last_sync": last_sync,
        "sync": None,
        "central": _central(config),
        "disk": status.disk(config.data_dir),
        "time": status.time_sync(),
        "remote_config": status.remote_config(config),
        "mode": config.mode,
        "app": app_note,
    }
    return report


def snapshot_age(data_dir: Path) -> float | None:
    """Seconds since the app last wrote its status, None when there is none."""
    import time

    from .core.status_file import snapshot_path

    try:
        return max(0.0, time.time() - snapshot_path(data_dir).stat().st_mtime)
    except OSError:
        return None
