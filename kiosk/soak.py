"""Endurance run: many sessions of every shipped service through one
long-lived ``KioskApp``, with a seeded schedule of device, network, disk and
clock faults between and during sessions.

It watches what grows in a process that must run for months: resident memory,
open descriptors, threads, child processes, the store's WAL, and the machine
time per session.  Every injected fault must leave the resident a clear screen
(the affected services shown unavailable with a reason, or an error screen in
the session) and the terminal must recover by itself, without a restart,
within two health intervals of the fault clearing.

``benchmarks/soak.py`` prints the figures; ``tests/flows/test_soak.py`` runs a
short fixed-seed soak and asserts the growth bounds.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.runner import Runner, demo_scripts, load_script, shipped_script

HEALTH_INTERVAL_S = 5.0   # the app's status snapshot period (kiosk.health.StatusPublisher)
WAL_LIMIT_KB = 16 * 1024
FAULT_SHARE = 0.08        # share of sessions preceded by an injected fault


# ----------------------------------------------------------------------------- process figures
def _status_kb(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def child_pids(pid: int | None = None) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid`` (default: this one)."""
    pid = os.getpid() if pid is None else pid
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _restarted_by_design(pid: int) -> bool:
    """The face encoder child: the app ends it when overloaded and starts it
    again minutes later, so its coming and going is not a leak."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"devices.face.encoder" in f.read()
    except OSError:
        return False


def process_figures(wal: Path | None = None) -> dict:
    """RSS (MB), open descriptors, threads, child processes (but the face
    encoder's one) and WAL size (KB) now."""
    return {
        "rss_mb": _status_kb("VmRSS") / 1024.0,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": _status_kb("Threads") or threading.active_count(),
        "children": len([pid for pid in child_pids() if not _restarted_by_design(pid)]),
        "wal_kb": (wal.stat().st_size / 1024.0) if wal is not None and wal.exists() else 0.0,
    }


# ----------------------------------------------------------------------------- faults
@dataclass
class Fault:
    """``inject`` breaks something; ``visible`` says what the resident sees
    (None: nothing visible, a string: what was seen); ``clear`` repairs it."""

    name: str
    inject: Callable[[Soak], None]
    clear: Callable[[Soak], None]
    affects: tuple[str, ...] = ()          # services that must show as unavailable meanwhile
    session: str | None = None             # a script played while the fault is on (a "during" fault)


def _sim(soak: Soak, family: str):
    devices = soak.app.devices
    for dev in devices.by_family(family):
        handle = devices.simulators.get(dev.name)
        if handle is not None:
            return handle
    raise LookupError(f"no simulated {family}")


def _sandbox_faults(soak: Soak, **faults: Any) -> None:
    soak.app.embedded.sandbox.faults.update(faults)
    soak.app.forget_backend_status()


def _central_down(soak: Soak) -> None:
    soak.app.embedded.stop()
    soak.app.forget_backend_status()


def _central_up(soak: Soak) -> None:
    soak.app.restart_embedded()
    soak.app.forget_backend_status()


def _disk_full(soak: Soak) -> None:
    """The store's file may not grow and ballast fills its last free pages;
    its own probe must then find no room."""
    store = soak.app.store
    store.simulate_full_disk(True)
    if store.recheck():
        raise RuntimeError("the store still has room after filling it")


def _disk_freed(soak: Soak) -> None:
    soak.app.store.simulate_full_disk(False)


def _clock_step(seconds: float) -> Callable[[Soak], None]:
    def step(soak: Soak) -> None:
        soak.clock_offset += seconds
    return step


PRINT_SERVICES = ("queue_ticket",)
A4_SERVICES = ("no_property_proof",)
CARD_SERVICES = ("no_property_proof", "provident_fund_withdrawal", "restricted_area_pass")
CENTRAL_SERVICES = ("no_property_proof", "traffic_violations")

FAULTS: list[Fault] = [
    Fault("printer_paper_out", lambda s: _sim(s, "escpos").set_paper("out"),
          lambda s: _sim(s, "escpos").set_paper("ok"), PRINT_SERVICES),
    Fault("printer_cover_open", lambda s: _sim(s, "escpos").set_cover(True),
          lambda s: _sim(s, "escpos").set_cover(False), PRINT_SERVICES),
    Fault("a4_printer_gone", lambda s: _sim(s, "a4").set_fault("offline"),
          lambda s: _sim(s, "a4").set_fault(None), A4_SERVICES),
    Fault("id_reader_unplugged", lambda s: _sim(s, "idcard").set_fault("silent"),
          lambda s: _sim(s, "idcard").set_fault(None), CARD_SERVICES),
    Fault("camera_gone", lambda s: _sim(s, "camera").unplug(), lambda s: _sim(s, "camera").plug(),
          ("no_property_proof",)),
    Fault("central_down", _central_down, _central_up, CENTRAL_SERVICES),
    Fault("central_5xx", lambda s: _sandbox_faults(s, fail_rate=1.0, statuses=[500, 503]),
          lambda s: _sandbox_faults(s, fail_rate=0.0), CENTRAL_SERVICES),
    Fault("central_slow", lambda s: _sandbox_faults(s, latency_ms=1500),
          lambda s: _sandbox_faults(s, latency_ms=0), session="traffic_violations"),
    Fault("sms_gateway_down", lambda s: setattr(s.app.sms, "down", True),
          lambda s: setattr(s.app.sms, "down", False), session="sms_down"),
    Fault("card_pulled_mid_read", lambda s: None, lambda s: _sim(s, "idcard").set_fault(None),
          session="card_pulled"),
    Fault("disk_nearly_full", _disk_full, _disk_freed, ("queue_ticket", "no_property_proof")),
    Fault("clock_step_back", _clock_step(-3600.0), _clock_step(3600.0), session="social_security_proof"),
    Fault("clock_step_forward", _clock_step(7200.0), _clock_step(-7200.0), session="queue_ticket"),
]


# ----------------------------------------------------------------------------- the run
@dataclass
class Sample:
    sessions: int
    rss_mb: float
    fds: int
    threads: int
    children: int
    wal_kb: float
    p50_ms: float
    p95_ms: float

    def line(self) -> str:
        return (f"{self.sessions:>6} sessions  rss {self.rss_mb:7.1f} MB  fds {self.fds:4d}  threads {self.threads:3d}"
                f"  children {self.children:2d}  wal {self.wal_kb:8.0f} KB  machine p50 {self.p50_ms:6.0f} ms"
                f"  p95 {self.p95_ms:6.0f} ms")


@dataclass
class SoakResult:
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)          # sessions that failed without a fault
    warmup_failures: list[str] = field(default_factory=list)   # the same in the warm-up (cold start), reported
    faults: list[dict] = field(default_factory=list)           # one per injected fault
    sessions: int = 0
    rss_from: int = 200                                         # RSS growth counts from here

    @property
    def warm(self) -> Sample:
        return self.samples[0]

    def rss_base(self) -> Sample:
        """RSS is compared with the first sample at or after ``rss_from``
        sessions (caches, allocator pools and lazily loaded models fill up
        until then), when the run goes on after it."""
        later = [x for x in self.samples if x.sessions >= self.rss_from]
        return later[0] if len(later) >= 2 else self.samples[0]

    def growth(self) -> dict:
        first, last = self.samples[0], self.samples[-1]
        return {"rss_mb": last.rss_mb - self.rss_base().rss_mb, "fds": last.fds - first.fds,
                "threads": last.threads - first.threads, "children": last.children - first.children,
                "wal_kb": last.wal_kb - first.wal_kb}

    def problems(self, rss_mb: float = 20.0, fds: int = 3, threads: int = 3) -> list[str]:
        """What breaks the endurance goals (empty when the run is clean)."""
        out = list(self.failures)
        out += [f"fault {f['name']} at session {f['at']}: {f['problem']}" for f in self.faults if f.get("problem")]
        if len(self.samples) < 2:
            return out
        g = self.growth()
        if g["fds"] > fds:
            out.append(f"open descriptors grew by {g['fds']}")
        if g["threads"] > threads:
            out.append(f"threads grew by {g['threads']}")
        if g["children"] > 0:
            out.append(f"{g['children']} more child process(es)")
        if g["rss_mb"] > rss_mb:
            out.append(f"RSS grew by {g['rss_mb']:.1f} MB")
        # SQLite checkpoints at ~4 MB of WAL; more means a reader starves checkpoints
        if max(x.wal_kb for x in self.samples) > WAL_LIMIT_KB:
            out.append(f"the WAL grew past {WAL_LIMIT_KB // 1024} MB")
        return out


def report_lines(result: SoakResult, started: float) -> tuple[list[str], bool]:
    """The growth, each kind of fault with what the resident saw and the
    slowest recovery, the problems and the verdict; and whether goals were met."""
    import collections

    g = result.growth()
    lines = [f"growth: rss {g['rss_mb']:+.1f} MB (since session {result.rss_base().sessions})  fds {g['fds']:+d}"
             f"  threads {g['threads']:+d}  children {g['children']:+d}  wal {g['wal_kb']:+.0f} KB"]
    by_name: dict[str, list] = collections.defaultdict(list)
    for f in result.faults:
        by_name[f["name"]].append(f)
    for name, items in sorted(by_name.items()):
        worst = max(f.get("recovery_s", 0) for f in items)
        seen = next((f.get("seen") for f in items if f.get("seen")), "")
        lines.append(f"fault {name:<22} x{len(items):<3} recovered within {worst:5.2f} s  resident saw: {seen}")
    problems = result.problems()
    lines += [f"warm-up (cold start, not counted): {w}" for w in result.warmup_failures[:10]]
    lines += [f"PROBLEM: {p}" for p in problems[:20]]
    lines.append(f"{result.sessions} sessions, {len(result.faults)} faults, {len(result.failures)} failed sessions"
                 f" in {time.monotonic() - started:.0f} s: {'goals met' if not problems else 'GOALS MISSED'}")
    return lines, not problems


class Soak:
    def __init__(self, app, seed: int = 1, fault_share: float = FAULT_SHARE, out: Callable[[str], None] = print,
                 health_interval_s: float = HEALTH_INTERVAL_S, faults: list[Fault] | None = None):
        self.app = app
        self.rng = random.Random(seed)
        self.fault_share = fault_share
        self.out = out
        self.health_interval_s = health_interval_s
        self.faults = faults if faults is not None else FAULTS
        # Generous: the soak measures what grows, not speed (a face check on a
        # machine shared at load 15 can take 20 s; speed lives in the face benchmarks).
        self.runner = Runner(app, None, expect_timeout_s=60)
        self.scripts = [load_script(p) for p in demo_scripts()]
        self.clock_offset = 0.0
        # After each session: what is wrong with the screen (None: back at the start).
        self.screen_check: Callable[[], str | None] | None = None
        self._machine_ms: list[float] = []
        store = app.store
        self.wal = Path(str(store.path) + "-wal") if store is not None else None
        if store is not None:
            real = store.clock
            store.clock = lambda: real() + self.clock_offset

    def sample(self, sessions: int) -> Sample:
        gc.collect()
        fig = process_figures(self.wal)
        recent = self._machine_ms[-200:] or [0.0]
        p95 = statistics.quantiles(recent, n=20)[-1] if len(recent) >= 20 else max(recent)
        return Sample(sessions, fig["rss_mb"], fig["fds"], fig["threads"], fig["children"], fig["wal_kb"],
                      statistics.median(recent), p95)

    def every_fault_once(self, sessions: int) -> dict[int, Fault]:
        """A seeded schedule with each kind of fault once, spread over
        ``sessions`` (the short soak in ``make test`` covers every kind)."""
        slots = self.rng.sample(range(1, sessions + 1), len(self.faults))
        return dict(zip(sorted(slots), self.rng.sample(self.faults, len(self.faults)), strict=True))

    def run(self, sessions: int, every: int = 100, warmup: int | None = None,
            result: SoakResult | None = None, schedule: dict[int, Fault] | None = None) -> SoakResult:
        """``warmup`` sessions (default: one round of every service, twice) run
        before the first sample, so lazily built things are not counted as growth.
        ``schedule`` (session number -> fault) replaces the random faults.
        Pass ``result`` to keep what was measured when the run is interrupted."""
        result = result if result is not None else SoakResult()
        warmup = 2 * len(self.scripts) if warmup is None else warmup
        for i in range(warmup):
            report = self._play(self.scripts[i % len(self.scripts)])
            if not report.ok:
                result.warmup_failures.append(f"{report.service}: {report.error}")
                self.out(f"FAILED in the warm-up: {result.warmup_failures[-1]}")
        result.samples.append(self.sample(0))
        self.out(result.samples[-1].line() + "  (after warm-up)")
        for i in range(1, sessions + 1):
            if schedule is not None:
                if i in schedule:
                    self._fault(schedule[i], i, result)
            elif self.rng.random() < self.fault_share:
                self._fault(self.rng.choice(self.faults), i, result)
            self._session(self.scripts[i % len(self.scripts)], result)
            result.sessions = i
            if i % every == 0 or i == sessions:
                result.samples.append(self.sample(i))
                self.out(result.samples[-1].line())
        return result

    def _play(self, script: dict):
        """One session; a screen left on a step after it ended fails it."""
        report = self.runner.run(script)
        stuck = self.screen_check() if self.screen_check is not None else None
        if stuck and report.ok:
            report.ok, report.error = False, stuck
        return report

    def _session(self, script: dict, result: SoakResult):
        report = self._play(script)
        if report.ok:
            self._machine_ms.append(report.machine_ms)
        else:
            result.failures.append(f"{report.service}: {report.error}")
            self.out(f"FAILED session {result.sessions + 1}: {result.failures[-1]}")
        return report

    # -- faults --------------------------------------------------------------------
    def _fault(self, fault: Fault, at: int, result: SoakResult) -> None:
        record: dict[str, Any] = {"name": fault.name, "at": at}
        result.faults.append(record)
        fault.inject(self)
        try:
            record["seen"] = self._resident_view(fault)
        except Exception as exc:
            record["problem"] = f"while on: {type(exc).__name__}: {exc}"
        finally:
            fault.clear(self)
        t0 = time.monotonic()
        left = self._wait_recovered(2 * self.health_interval_s)
        record["recovery_s"] = round(time.monotonic() - t0, 2)
        if left:
            record.setdefault("problem", f"not recovered within two health intervals: {', '.join(left)}")
        self.out(f"fault {fault.name} before session {at}: " + (f"PROBLEM {record['problem']}" if record.get("problem")
                 else f"resident saw {record.get('seen')!r}, recovered in {record['recovery_s']} s"))

    def _resident_view(self, fault: Fault) -> str:
        """What the resident sees while the fault is on; raises when it is not clear."""
        if fault.affects:
            deadline = time.monotonic() + 2 * self.health_interval_s
            while True:
                state = {s["id"]: s for s in self.app.catalog_state(refresh=True)}
                bad = [sid for sid in fault.affects if state.get(sid, {}).get("available", True)]
                if not bad:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"still offered: {', '.join(bad)}")
                time.sleep(0.2)
            reason = state[fault.affects[0]]["reason"] or {}
            if not reason.get("zh"):
                raise AssertionError(f"{fault.affects[0]} unavailable without a reason")
            return reason["zh"]
        script = _fault_script(fault.session)
        report = self._play(script)
        if not report.ok:
            raise AssertionError(f"{script['service']}: {report.error}")
        return report.outcome or ""

    def _wait_recovered(self, bound_s: float) -> list[str]:
        """Poll like the health publisher does until every service is offered
        again; the names still unavailable when ``bound_s`` runs out."""
        deadline = time.monotonic() + bound_s
        while True:
            down = [s["id"] for s in self.app.catalog_state(refresh=True) if not s["available"]]
            store = self.app.store
            if store is not None and not store.health().get("accepting"):
                down.append("case store")
            if not down or time.monotonic() > deadline:
                return down
            time.sleep(0.25)


# Scripts for faults that bite during a session (the resident's screens are asserted).
_FAULT_SCRIPTS: dict[str, dict] = {
    "card_pulled": {
        "service": "restricted_area_pass",
        "setup": {"idcard": "remove"},
        "steps": [{"expect": "card"}, {"idcard_fault": "pulled"}, {"card": "resident"},
                  {"expect": {"step": "card", "view": "error"}}, {"assert": {"message.key": "idcard.card_removed"}},
                  {"tap": "cancel"}],
        "end": "cancelled",
    },
    "sms_down": {
        "service": "no_property_proof",
        "setup": {"idcard": "remove", "camera": "resident_blink"},
        "steps": [{"expect": "card"}, {"card": "resident"}, {"expect": "consent"}, {"tap": "decline"},
                  {"expect": "other_way"}, {"tap": "sms"}, {"expect": "sms_phone"}, {"tap": "send"},
                  {"expect": {"step": "sms_phone", "view": "error"}},
                  {"assert": {"message.key": "flows.sms.send_failed"}}, {"tap": "cancel"}],
        "end": "cancelled",
    },
}


def _fault_script(name: str) -> dict:
    if name in _FAULT_SCRIPTS:
        return _FAULT_SCRIPTS[name]
    return load_script(shipped_script(name))
