"""Operations around a running KioskApp: status snapshot, metrics endpoint,
remote configuration, and watchdog liveness of the device loops.

``kiosk run`` starts one ``Operations`` next to the app; tests and the
headless runner do not (they need none of it and must not bind ports).
"""

from __future__ import annotations

import logging
import threading
import time

from .core.watchdog import Watchdog
from .health import StatusPublisher

log = logging.getLogger(__name__)

DEVICE_LOOP_DEADLINE_S = 120.0   # a long reprint queue is legitimate; a stuck transport is not
DEVICE_PROBE_EVERY_S = 10.0


class Operations:
    def __init__(self, app, watchdog: Watchdog | None = None, serve_metrics: bool = True):
        self.app = app
        self.watchdog = watchdog
        self.serve_metrics = serve_metrics
        self.metrics_port: int | None = None
        self.publisher: StatusPublisher | None = None
        self.poller = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Operations:
        self.publisher = StatusPublisher(self.app)
        self.publisher.on_report = self._update_gauges  # type: ignore[attr-defined]
        self.publisher.start()
        if self.serve_metrics:
            self._serve_metrics()
        self._start_remote_config()
        if self.watchdog is not None and self.app.devices is not None:
            self._watch_devices()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.publisher:
            self.publisher.stop()
        if self.poller:
            self.poller.stop()
        if self.app.metrics is not None and self.metrics_port is not None:
            self.app.metrics.stop()

    # -- metrics -------------------------------------------------------------
    def _serve_metrics(self) -> None:
        cfg = self.app.config
        if self.app.metrics is None or not cfg.get("metrics.enabled", True):
            return
        try:
            self.metrics_port = self.app.metrics.serve(int(cfg.get("metrics.port")), cfg.get("metrics.host",
                                                                                             "127.0.0.1"))
            log.info("metrics served", extra={"port": self.metrics_port})
        except OSError as exc:  # port taken: the kiosk still serves residents
            log.warning("metrics endpoint not started", extra={"reason": str(exc)})

    def _update_gauges(self, report: dict) -> None:
        m = self.app.metrics
        if m is None:
            return
        m.can_serve.set(1 if report.get("can_serve") else 0)
        outbox = report.get("outbox") or {}
        m.outbox_depth.set(outbox.get("pending") or 0)
        m.dead_letters.set(outbox.get("dead") or 0)
        oldest = outbox.get("oldest_pending_at")
        m.sync_lag.set(max(0.0, time.time() - _epoch(oldest)) if oldest else 0.0)
        if report.get("last_sync"):
            m.last_sync.set(_epoch(report["last_sync"]))

    # -- remote configuration -------------------------------------------------
    def _start_remote_config(self, start: bool = True) -> None:
        cfg = self.app.config
        if not cfg.get("remote_config.enabled", True) or self.app.central is None:
            return
        from .core.config import _merge, validate
        from .core.remote_config import RemoteConfigPoller, RemoteConfigStore, trusted_keys_from_config

        keys = trusted_keys_from_config(cfg)
        if not keys:
            log.warning("remote config disabled: no trusted config-signing key (remote_config.public_key)")
            return
        store = RemoteConfigStore(cfg.data_dir, cfg.terminal_id, keys)
        base = self.app.config

        def on_applied(_overrides: dict) -> None:
            # Reload the whole stack (default < site < remote < env); sessions
            # started from now on see the new services, timeouts and branding.
            self.app.config = base.reload()
            log.info("remote config in force", extra={"version": (store.current() or {}).get("version")})

        self.poller = RemoteConfigPoller(self.app.central.terminal_config, store,
                                         float(cfg.get("remote_config.interval_s", 600)),
                                         validate=lambda o: validate(_merge(base.data, o)), on_applied=on_applied)
        if start:
            self.poller.start()

    # -- watchdog: each device's command thread must keep answering ------------
    def _watch_devices(self) -> None:
        checks = {}
        for name, dev in self.app.devices.devices.items():
            if getattr(dev, "_thread", None) is None:
                continue  # unavailable devices have no loop to hang
            checks[name] = (dev, self.watchdog.register(f"device:{name}", DEVICE_LOOP_DEADLINE_S))

        def probe() -> None:
            pending: dict[str, object] = {}
            while not self._stop.wait(DEVICE_PROBE_EVERY_S):
                for name, (dev, check_in) in checks.items():
                    fut = pending.get(name)
                    if fut is not None and not fut.done():  # type: ignore[attr-defined]
                        continue  # still queued behind a running command: no check-in
                    pending[name] = f = dev.submit(lambda: None)
                    f.add_done_callback(lambda _f, c=check_in: c())

        t = threading.Thread(target=probe, name="device-liveness", daemon=True)
        t.start()
        self._threads.append(t)


def _epoch(iso: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
