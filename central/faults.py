"""Fault injection for the sandbox and a TCP fault proxy.

``Faults`` are the sandbox's server-side switches (never part of the central
contract): answer a share of requests with 500/503/429 before doing any
work, commit and then fail (the client never learns its case was stored),
hold an idempotency key for a while (so a concurrent retry sees "in
progress"), add latency. Set them with ``KIOSK_SANDBOX_FAULTS`` (JSON) or
``POST /v1/sandbox/faults``.

``FaultProxy`` sits between a terminal and central on loopback and breaks the
connection the ways networks do: latency, reset after the server answered
(the server committed, the client sees ECONNRESET), blackhole (bytes vanish),
slow drip (the answer arrives a few bytes at a time), refuse. A plain socket
relay is written by hand because the faults live at the TCP level, below any
HTTP library.
"""

from __future__ import annotations

import json
import os
import random
import select
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Faults:
    fail_rate: float = 0.0                  # share of requests answered with one of ``statuses``
    statuses: list[int] = field(default_factory=lambda: [500, 503, 429])
    commit_then_fail_rate: float = 0.0      # share of stored cases answered with 500 after commit
    hold_ms: int = 0                        # keep an idempotency key in progress this long
    latency_ms: int = 0                     # added to every request
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.held = 0                       # requests holding their key right now


    @classmethod
    def from_env(cls, env: dict | None = None) -> Faults:
        raw = (env if env is not None else os.environ).get("KIOSK_SANDBOX_FAULTS", "")
        return cls.from_dict(json.loads(raw)) if raw.strip() else cls()

    @classmethod
    def from_dict(cls, data: dict) -> Faults:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def update(self, data: dict) -> None:
        with self._lock:
            for key, value in data.items():
                if key in self.__dataclass_fields__:
                    setattr(self, key, value)
            if "seed" in data:
                self._rng = random.Random(self.seed)
            if "hold_ms" in data and self.hold_ms <= 0:
                self._released.set()        # switching the hold off lets held requests go now
                self._released = threading.Event()

    def as_dict(self) -> dict:
        return asdict(self)

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def injected_status(self) -> int | None:
        if self._roll(self.fail_rate):
            with self._lock:
                return self._rng.choice(self.statuses or [500])
        return None

    def hold(self) -> None:
        """Keep the caller (holding an idempotency key) waiting ``hold_ms``, or
        until the hold is switched off."""
        with self._lock:
            seconds, released = self.hold_ms / 1000, self._released
            if seconds <= 0:
                return
            self.held += 1
        try:
            released.wait(seconds)
        finally:
            with self._lock:
                self.held -= 1

    def fail_after_commit(self) -> bool:
        return self._roll(self.commit_then_fail_rate)


# -- TCP fault proxy ----------------------------------------------------------

MODES = ("pass", "latency", "reset_after_response", "blackhole", "slow_drip", "refuse")


class FaultProxy:
    """``FaultProxy(target_port).start()``; ``.port`` is where clients connect.
    Each new connection gets a mode from ``choose()`` (default: ``mode``)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", mode: str = "pass",
                 weights: dict[str, float] | None = None, seed: int | None = None,
                 latency_s: float = 0.05, drip_bytes: int = 7, drip_interval_s: float = 0.01,
                 drip_limit: int = 300):
        self.target = (target_host, target_port)
        self.mode = mode
        self.weights = weights
        self.rng = random.Random(seed)
        self.latency_s = latency_s
        self.drip_bytes = drip_bytes
        self.drip_interval_s = drip_interval_s
        self.drip_limit = drip_limit
        self.counts: dict[str, int] = {m: 0 for m in MODES}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def choose(self) -> str:
        with self._lock:
            if self.weights:
                modes = list(self.weights)
                mode = self.rng.choices(modes, weights=[self.weights[m] for m in modes])[0]
            else:
                mode = self.mode
            self.counts[mode] += 1
            return mode

    def start(self) -> FaultProxy:
        t = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            for s in list(self._open):
                _close(s)
            self._open.clear()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            mode = self.choose()
            if mode == "refuse":
                _reset(client)
                continue
            t = threading.Thread(target=self._serve, args=(client, mode), daemon=True)
            t.start()

    def _serve(self, client: socket.socket, mode: str) -> None:
        self._track(client)
        if mode == "blackhole":
            # Swallow everything, answer nothing, until the client gives up.
            try:
                while not self._stop.is_set():
                    r, _, _ = select.select([client], [], [], 0.2)
                    if r and not client.recv(65536):
                        break
            except OSError:
                pass
            _close(client)
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        self._track(server)
        try:
            self._relay(client, server, mode)
        except OSError:
            pass
        finally:
            if mode == "reset_after_response":
                _reset(client)
            else:
                _close(client)
            _close(server)
            with self._lock:
                self._open.discard(client)
                self._open.discard(server)

    def _relay(self, client: socket.socket, server: socket.socket, mode: str) -> None:
        dripped = 0
        while not self._stop.is_set():
            r, _, _ = select.select([client, server], [], [], 0.5)
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                if s is client:
                    if mode == "latency":
                        time.sleep(self.latency_s)
                    server.sendall(data)
                    continue
                if mode == "reset_after_response":
                    return  # the server answered (and committed); the client gets a reset
                if mode == "latency":
                    time.sleep(self.latency_s)
                if mode == "slow_drip" and dripped < self.drip_limit:
                    for i in range(0, len(data), self.drip_bytes):
                        client.sendall(data[i:i + self.drip_bytes])
                        dripped += self.drip_bytes
                        if dripped >= self.drip_limit:
                            client.sendall(data[i + self.drip_bytes:])
                            break
                        time.sleep(self.drip_interval_s)
                else:
                    client.sendall(data)


def _close(s: socket.socket) -> None:
    try:
        s.close()
    except OSError:
        pass


def _reset(s: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER with a zero timeout)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(s)
