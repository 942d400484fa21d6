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

import threading
import time
from typing import Any

import click

from . import __version__
from .core.clikit import emit
from .core.status_file import read_snapshot, write_snapshot
from .status import build, judge

SOURCES = {"app": "running app", "quick": "quick checks, app not reporting", "probe": "probed now"}


class StatusPublisher:
    """Writes the status report (kiosk/status.py) to the status file every ``interval_s`` for ``kiosk health``."""

    def __init__(self, app, interval_s: float = 5.0):
        self.app = app
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    on_report = None  # optional callable(report), e.g. to refresh metric gauges

    def publish(self) -> dict:
        report = build(self.app)
        write_snapshot(self.app.config.data_dir, report)
        if self.on_report is not None:
            self.on_report(report)
        return report

    def start(self) -> StatusPublisher:
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
    lines.append(f"  outbox  pending {ob.get('pending')}  dead {ob.get('dead')}"
                 f"  last sync {report.get('last_sync') or 'never'}")
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
        judge(report)
    elif probe:
        from kiosk.app import KioskApp

        app = KioskApp(config, start_sync=False)
        try:
            app.start()
            report = build(app, refresh_devices=True)
        finally:
            app.stop()
        report["source"] = "probe"
    else:
        from .health_probe import quick_report, snapshot_age

        report = quick_report(config, snapshot_age(config.data_dir))
        report["source"] = "quick"
        judge(report)
        central = report["central"]
        report["problems"] = [report["app"]] + ([f"central platform not answering: {central.get('error')}"]
                                                if central.get("ok") is False else []) + report["problems"]
    report["checked_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    emit(report, as_json, _human(report))
    raise SystemExit(1 if report["state"] == "out_of_service" else 0)
