"""Prometheus metrics for the operator (no personal data in any label).

Each app owns its own ``CollectorRegistry`` (no process-global state), served
on loopback by ``serve()``; labels are service ids, step names, device names
and outcome words only.
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

DEVICE_STATES = ("online", "offline", "hardwareError", "userError", "deviceBusy", "noDevice")


class KioskMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.sessions_started = Counter("kiosk_sessions_started", "Sessions started", ["service"], registry=r)
        self.sessions_completed = Counter("kiosk_sessions_completed", "Sessions that reached their end state",
                                          ["service"], registry=r)
        self.sessions_abandoned = Counter("kiosk_sessions_abandoned", "Sessions cancelled, timed out or failed",
                                          ["service", "reason"], registry=r)
        self.step_seconds = Histogram("kiosk_step_seconds", "Time spent in a flow step", ["service", "step"],
                                      registry=r,
                                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
        self.flow_seconds = Histogram("kiosk_flow_seconds", "Whole-flow duration", ["service"], registry=r,
                                      buckets=(5, 10, 20, 30, 60, 90, 120, 180, 300, 600))
        self.flow_machine_seconds = Histogram("kiosk_flow_machine_seconds",
                                              "Machine time of a flow (excluding the person)",
                                              ["service"], registry=r, buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10))
        self.device_state = Gauge("kiosk_device_state", "1 for the device's current common state",
                                  ["device", "family", "state"], registry=r)
        self.device_errors = Counter("kiosk_device_errors", "Device errors by catalog key", ["device", "error"],
                                     registry=r)
        self.prints = Counter("kiosk_prints", "Print jobs by outcome", ["printer", "kind", "outcome"], registry=r)
        self.paper_warnings = Counter("kiosk_paper_warnings", "Paper near-end or out seen", ["printer", "paper"],
                                      registry=r)
        self.outbox_depth = Gauge("kiosk_outbox_depth", "Cases waiting to be sent", registry=r)
        self.dead_letters = Gauge("kiosk_outbox_dead", "Cases the central platform rejected permanently", registry=r)
        self.sync_lag = Gauge("kiosk_sync_lag_seconds", "Age of the oldest unsent case", registry=r)
        self.last_sync = Gauge("kiosk_last_sync_timestamp", "Unix time of the last successful sync", registry=r)
        self.face_outcomes = Counter("kiosk_face_verifications", "Face verification outcomes", ["outcome"], registry=r)
        self.can_serve = Gauge("kiosk_can_serve", "1 when the terminal can serve residents (kiosk/status.py)",
                               registry=r)
        self.service_available = Gauge("kiosk_service_available", "1 when the service can be offered now", ["service"],
                                       registry=r)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def set_device_state(self, device: str, family: str, state: str) -> None:
        for s in DEVICE_STATES:
            self.device_state.labels(device, family, s).set(1 if s == state else 0)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics; returns the bound port (port 0 picks a free one)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        return server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
