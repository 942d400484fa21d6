"""``kiosk health``: the truth about this terminal, for operators and timers.

The running app publishes its view every few seconds (``kiosk.core.status_file``);
``kiosk health`` reads that when it is fresh, and otherwise makes only quick
checks (``kiosk.health_probe``: store, disk, clock, device nodes, central),
never starting simulators; ``--probe`` starts the core and exercises every
device.  Exit status: 0 when the
terminal can serve (``ok`` or ``degraded``), 1 when it cannot
(``out_of_service``), 2 for a configuration error.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import Any

import click

from . import __version__
from .core.clikit import emit
from .core.status_file import read_snapshot, write_snapshot

DISK_LOW_BYTES = 500 * 1024 * 1024
DISK_LOW_SHARE = 0.05
SYNC_LAG_WARN_S = 3600


SOURCES = {"app": "running app", "quick": "quick checks, app not reporting", "probe": "probed now"}
TIME_SYNC_TTL_S = 60.0
_time_sync_cache: tuple[float, dict] | None = None


def _time_sync() -> dict:
    """Whether the clock is NTP-synchronised, probed at most once a minute: the
    status publisher asks every few seconds and each probe starts a process."""
    global _time_sync_cache
    now = time.monotonic()
    if _time_sync_cache is not None and now - _time_sync_cache[0] < TIME_SYNC_TTL_S:
        return dict(_time_sync_cache[1])
    result = _probe_time_sync()
    _time_sync_cache = (now, result)
    return dict(result)


def _probe_time_sync() -> dict:
    """systemd-timesyncd or chrony; unknown in containers."""
    probes = (["timedatectl", "show", "-p", "NTPSynchronized", "--value"], ["chronyc", "-n", "tracking"])
    for cmd in probes:
        if not shutil.which(cmd[0]):
            continue
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        if cmd[0] == "timedatectl":
            return {"synchronized": out.stdout.strip() == "yes", "source": "systemd-timesyncd"}
        return {"synchronized": "Leap status     : Normal" in out.stdout, "source": "chrony"}
    return {"synchronized": None, "source": "unknown"}


def disk_summary(path) -> dict:
    """Free space where cases are kept; shared by ``kiosk health`` and ``kiosk diagnose``."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"path": str(path), "ok": False, "error": exc.strerror or str(exc)}
    share = usage.free / usage.total if usage.total else 0.0
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total,
            "free_share": round(share, 4), "ok": usage.free >= DISK_LOW_BYTES and share >= DISK_LOW_SHARE}


def outbox_summary(app) -> dict:
    """Outbox depth and last sync; shared by ``kiosk health`` and ``kiosk diagnose``.

    The last sync is the store's newest acknowledged case, so it is right
    when a separate kiosk-sync service does the syncing (``sync.in_app =
    false``); the in-process worker's last success is only the fallback.
    """
    store = getattr(app, "store", None)
    sync = getattr(app, "sync", None)
    health = store.health() if store is not None else {"ok": False, "accepting": False}
    status = sync.status() if sync is not None else None
    return {
        "store": health,
        "sync": status,
        "pending": health.get("outbox"),
        "dead": health.get("dead"),
        "synced": health.get("synced"),
        "oldest_pending_at": health.get("oldest_pending_at"),
        "last_sync": health.get("last_acked_at") or (status or {}).get("last_success_at"),
    }


def _remote_config(app) -> dict:
    try:
        from .core.remote_config import RemoteConfigStore, trusted_keys_from_config

        store = RemoteConfigStore(app.config.data_dir, app.config.terminal_id, trusted_keys_from_config(app.config))
        doc = store.current()
        return {"version": doc["version"] if doc else None, "last_error": store.last_error or None}
    except Exception as exc:
        return {"version": None, "last_error": str(exc)}


def collect(app) -> dict:
    """Everything an operator needs, from a started KioskApp; no personal data."""
    beat = app.heartbeat_status()
    devices = {}
    if app.devices is not None:
        for entry in app.devices.describe():
            devices[entry["name"]] = {k: entry[k] for k in ("family", "device", "detail", "message", "last_error")}
    box = outbox_summary(app)
    store, sync = box["store"], box["sync"]
    outbox = {k: box[k] for k in ("pending", "dead", "synced", "oldest_pending_at")}
    report = {
        "version": __version__,
        "terminal": app.config.terminal_id,
        "profile": app.config.get("terminal.profile"),
        "devices": devices,
        "services": beat["services"],
        "store": {k: store.get(k) for k in ("ok", "accepting", "state", "message", "schema_version", "integrity")},
        "outbox": outbox,
        "last_sync": box["last_sync"],
        "sync": {k: sync.get(k) for k in ("state", "message", "last_error", "consecutive_failures")} if sync else None,
        "disk": disk_summary(app.config.data_dir),
        "time": _time_sync(),
        "remote_config": _remote_config(app),
        "mode": app.config.mode,
    }
    report["state"], report["problems"] = evaluate(report)
    return report


def evaluate(report: dict) -> tuple[str, list[str]]:
    """ok / degraded / out_of_service and the reasons, in English for logs."""
    problems: list[str] = []
    if report.get("mode") == "demo":
        from .core.production import DEMO_PROBLEM
        problems.append(DEMO_PROBLEM)
    services = report.get("services") or {}
    available = [s for s, v in services.items() if v.get("available")]
    for sid, v in services.items():
        if not v.get("available"):
            problems.append(f"service {sid} unavailable: {'; '.join(v.get('reasons') or []) or 'no reason given'}")
    for name, d in (report.get("devices") or {}).items():
        if d.get("device") not in ("online", "deviceBusy", "present", "notProbed"):  # the last two: quick probe
            problems.append(f"device {name} {d.get('device')}" + (f": {d['last_error']}" if d.get("last_error") else ""))
    store = report.get("store") or {}
    if not store.get("accepting"):
        problems.append(f"case store not accepting cases ({store.get('state')})")
    if not (report.get("disk") or {}).get("ok", True):
        problems.append("disk space low")
    if (report.get("outbox") or {}).get("dead"):
        problems.append(f"{report['outbox']['dead']} case(s) rejected by the central platform (dead letters)")
    if (report.get("time") or {}).get("synchronized") is False:
        problems.append("clock not synchronised")
    if not services or not available or not store.get("accepting"):
        return "out_of_service", problems
    return ("degraded" if problems else "ok"), problems


class StatusPublisher:
    """Writes ``collect(app)`` to the status file every ``interval_s`` for ``kiosk health``."""

    def __init__(self, app, interval_s: float = 5.0):
        self.app = app
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    on_report = None  # optional callable(report), e.g. to refresh metric gauges

    def publish(self) -> dict:
        report = collect(self.app)
        write_snapshot(self.app.config.data_dir, report)
        if self.on_report is not None:
            self.on_report(report)
        return report

    def start(self) -> "StatusPublisher":
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.publish()
                except Exception:  # never take the app down for a status file
                    pass
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=run, name="status-publisher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def _human(report: dict) -> str:
    lines = [f"{report['state'].upper()}  terminal {report['terminal']}  version {report['version']}"
             f"  ({SOURCES.get(report.get('source'), 'probed now')})"]
    for sid, v in sorted((report.get("services") or {}).items()):
        lines.append(f"  service {sid:<28} {'available' if v.get('available') else 'UNAVAILABLE'}"
                     + ("" if v.get("available") else f"  {'; '.join(v.get('reasons') or [])}"))
    for name, d in sorted((report.get("devices") or {}).items()):
        lines.append(f"  device  {name:<28} {d.get('device'):<14} {d.get('message', {}).get('en', '')}")
    ob = report.get("outbox") or {}
    lines.append(f"  outbox  pending {ob.get('pending')}  dead {ob.get('dead')}  last sync {report.get('last_sync') or 'never'}")
    disk = report.get("disk") or {}
    if "free_bytes" in disk:
        lines.append(f"  disk    {disk['free_bytes'] // (1024 * 1024)} MiB free ({disk['free_share']:.0%})")
    for p in report.get("problems") or []:
        lines.append(f"  ! {p}")
    return "\n".join(lines)


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--max-age", default=30.0, show_default=True, help="Use the running app's snapshot if younger (s).")
@click.option("--probe", is_flag=True, help="Start the core and exercise every device now (slow; simulators too). "
              "Without it: the running app's status, or quick checks when it is not running.")
@click.pass_obj
def health(obj, as_json: bool, max_age: float, probe: bool) -> None:
    """Terminal health: devices, services, outbox, last sync, disk, version (exit 1 when it cannot serve)."""
    config = obj.config
    if not config.demo:
        from .core.production import report as production_report

        refused = production_report(config)
        if refused:  # the app refuses to start with these: say so, do not probe
            out = {"state": "out_of_service", "mode": config.mode, "terminal": config.terminal_id,
                   "version": __version__, "problems": [f"{p}; not allowed in production mode" for p in refused]}
            emit(out, as_json, "\n".join([f"OUT_OF_SERVICE  terminal {config.terminal_id}  version {__version__}"]
                                         + [f"  ! {p}" for p in out["problems"]]))
            raise SystemExit(1)
    report: dict[str, Any] | None = None if probe else read_snapshot(config.data_dir, max_age)
    if report is not None:
        report["source"] = "app"
        report["state"], report["problems"] = evaluate(report)
    elif probe:
        from kiosk.app import KioskApp

        app = KioskApp(config, start_sync=False)
        try:
            app.start()
            report = collect(app)
        finally:
            app.stop()
        report["source"] = "probe"
    else:
        from .health_probe import quick_report, snapshot_age

        report = quick_report(config, snapshot_age(config.data_dir))
        report["source"] = "quick"
        report["state"], problems = evaluate(report)
        central = report["central"]
        report["problems"] = [report["app"]] + ([f"central platform not answering: {central.get('error')}"]
                                                if central.get("ok") is False else []) + problems
    report["checked_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    emit(report, as_json, _human(report))
    raise SystemExit(1 if report["state"] == "out_of_service" else 0)
