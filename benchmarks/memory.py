"""Memory of ``kiosk run`` at idle: the app process and the face encoder child.

    python benchmarks/memory.py [--idle 20] [--runs 1] [--maps 15]

Starts ``kiosk run`` headless (Qt offscreen, software renderer, simulated
devices, embedded sandbox, a fresh data dir), waits until it says it is warm
(documents and face models loaded, the encoder child up) and its RSS has
settled, lets it idle ``--idle`` seconds, then prints the app's RSS split into
anonymous (heap, stacks, models), file-backed (code and data of the libraries
and fonts it mapped) and shared memory, the encoder child's RSS, and the goal
(app <= 350 MB).  ``--maps N`` also lists the N mapped files holding most
resident memory.  Exit 1 when the app is over the goal.

The same command as a hall runs (``python -m kiosk.cli run``); figures move
a few MB with machine load and with what the warm-up happened to allocate.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.soak import child_pids  # noqa: E402

GOAL_MB = 350.0
ENCODER_ARG = "devices.face.encoder"


def status_kb(pid: int) -> dict[str, int]:
    """The ``kB`` fields of /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem, ...)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0])
    except OSError:
        pass
    return out


def encoder_child(pid: int) -> int | None:
    for child in child_pids(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if ENCODER_ARG.encode() in f.read():
                    return child
        except OSError:
            continue
    return None


def mapped_files(pid: int, top: int) -> list[tuple[float, str]]:
    """Resident MB per mapped file (libraries, fonts, model files), largest first."""
    per: dict[str, int] = defaultdict(int)
    name = ""
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and ":" not in head[0]:
                name = head[5] if len(head) > 5 else "[anon]"
            elif head[0] == "Rss:":
                per[name] += int(head[1])
    ranked = sorted(((kb / 1024.0, path) for path, kb in per.items()), reverse=True)
    return ranked[:top]


class Kiosk:
    """``kiosk run`` in its own process group, its output collected."""

    def __init__(self, data_dir: str):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_QUICK_BACKEND="software", KIOSK_DATA_DIR=data_dir,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        for key in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL", "DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(key, None)
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run"], cwd=str(ROOT), env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     process_group=0)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def said(self, words: str) -> bool:
        return any(words in line for line in self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)


def wait_for(check, timeout: float, what: str, kiosk: Kiosk) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if kiosk.proc.poll() is not None:
            raise RuntimeError(f"kiosk run ended before {what}:\n" + "\n".join(kiosk.lines[-20:]))
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)


def settled(pid: int, window_s: float = 6.0, within_kb: int = 2048, timeout: float = 180.0) -> None:
    """Wait until the RSS moved less than ``within_kb`` over ``window_s`` (the warm-up is over)."""
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        samples.append((now, status_kb(pid).get("VmRSS", 0)))
        recent = [kb for t, kb in samples if now - t <= window_s]
        if samples[0][0] <= now - window_s and max(recent) - min(recent) <= within_kb:
            return
        time.sleep(0.5)


def measure(idle_s: float, maps: int) -> dict:
    data = tempfile.mkdtemp(prefix="kiosk-memory-")
    kiosk = Kiosk(data)
    try:
        pid = kiosk.proc.pid
        t0 = time.monotonic()
        wait_for(lambda: kiosk.said("kiosk warm in"), 300, "warm-up", kiosk)
        wait_for(lambda: encoder_child(pid) is not None, 60, "face encoder child", kiosk)
        settled(pid)
        warm_s = time.monotonic() - t0
        time.sleep(idle_s)
        samples = []
        for _ in range(5):
            samples.append(status_kb(pid))
            time.sleep(0.4)
        child = encoder_child(pid)
        out = {"warm_s": warm_s, "child_mb": (status_kb(child).get("VmRSS", 0) / 1024.0) if child else None,
               "maps": mapped_files(pid, maps) if maps else []}
        for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
            out[key] = statistics.median(s.get(key, 0) for s in samples) / 1024.0
        out["threads"] = status_kb(pid).get("Threads", 0) or len(os.listdir(f"/proc/{pid}/task"))
        out["lines"] = list(kiosk.lines)
        return out
    finally:
        kiosk.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=float, default=20.0, help="seconds at idle after the warm-up (default 20)")
    ap.add_argument("--runs", type=int, default=1, help="fresh kiosk run processes to measure (default 1)")
    ap.add_argument("--maps", type=int, default=0, help="list the N mapped files holding most memory")
    ap.add_argument("--output", action="store_true", help="also print what kiosk run printed")
    args = ap.parse_args()
    apps = []
    for run in range(1, args.runs + 1):
        r = measure(args.idle, args.maps)
        apps.append(r["VmRSS"])
        child = f"{r['child_mb']:.0f} MB" if r["child_mb"] is not None else "not running"
        print(f"run {run}: app {r['VmRSS']:.0f} MB at idle (anonymous {r['RssAnon']:.0f}, file-backed "
              f"{r['RssFile']:.0f}, shared {r['RssShmem']:.0f}; peak {r['VmHWM']:.0f}; {r['threads']} threads); "
              f"face encoder child {child}; warm after {r['warm_s']:.0f} s", flush=True)
        for line in r["lines"] if args.output else []:
            print(f"    | {line}")
        for mb, path in r["maps"]:
            print(f"    {mb:7.1f} MB  {path}")
    app = statistics.median(apps)
    ok = app <= GOAL_MB
    print(f"kiosk run app process at idle: {app:.0f} MB (goal <= {GOAL_MB:.0f} MB: {'met' if ok else 'NOT met'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
