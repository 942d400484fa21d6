"""Endurance: N sessions of every shipped service through one long-lived
KioskApp (simulated devices, embedded sandbox), with a seeded fault schedule
(printers, ID reader, card pulled, camera, central down/slow/5xx, SMS gateway,
full disk, wall-clock steps) between and during sessions.

Every ``--every`` sessions it prints RSS, open descriptors, threads, child
processes, WAL size and p50/p95 machine time, then the growth since the
warm-up and every fault with what the resident saw and the recovery time.
Goals: descriptors and threads within 3 of the warm-up values, no child
process leaked, RSS growth <= 20 MB after the first 200 sessions, no failed
session apart from injected faults, every fault visible and recovered within
two health intervals. Exit 1 when a goal is missed.

    python benchmarks/soak.py [--sessions 5000] [--seed 1] [--every 100] [--ui] [--liveness off]

``--ui`` runs the same soak inside one ``kiosk run`` process (Qt offscreen),
sessions opened and events sent through the QML view-model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def run_core(args) -> int:
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config
    from kiosk.soak import Soak, SoakResult, report_lines

    data = Path(tempfile.mkdtemp(prefix="kiosk-soak-"))
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env["KIOSK_DATA_DIR"] = str(data)
    config = load_config(env=env, overrides={"face": {"liveness": args.liveness}} if args.liveness else None)
    logging.basicConfig(filename=str(data / "soak.log"), level=logging.INFO)  # faults log loudly by design
    started = time.monotonic()
    app = KioskApp(config).start()
    signal.signal(signal.SIGTERM, _interrupted)  # stop the simulators on the way out
    try:
        missing = [name for name, spec in config.devices.items()
                   if spec["url"].startswith("sim://") and name not in app.devices.simulators]
        if missing:  # e.g. both machine-wide virtual smart-card slots taken by other runs
            print(f"soak: no simulator for {', '.join(missing)}; their services would fail, not starting")
            return 2
        print(f"soak: {args.sessions} sessions through one core, seed {args.seed}, data in {data}", flush=True)
        result = SoakResult()
        try:
            Soak(app, seed=args.seed, fault_share=args.fault_share,
                 out=lambda line: print(line, flush=True)).run(args.sessions, every=args.every, result=result)
        except KeyboardInterrupt:
            print(f"interrupted after {result.sessions} sessions", flush=True)
        lines, ok = report_lines(result, started)
        print("\n".join(lines), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"samples": [s.__dict__ for s in result.samples],
                                                   "faults": result.faults, "failures": result.failures,
                                                   "warmup_failures": result.warmup_failures}))
    finally:
        app.stop()
    return 0 if ok else 1


def run_ui(args) -> int:
    """``kiosk run --soak N`` offscreen; its lines are passed through."""
    data = tempfile.mkdtemp(prefix="kiosk-soak-ui-")
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL", "DISPLAY")}
    env.update(KIOSK_DATA_DIR=data, QT_QPA_PLATFORM="offscreen", QT_QUICK_BACKEND="software",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    if args.liveness:  # a demo site file with only that changed
        site = Path(data) / "soak.toml"
        site.write_text(f'mode = "demo"\n[face]\nliveness = "{args.liveness}"\n', "utf-8")
        env["KIOSK_CONFIG"] = str(site)
    cmd = [sys.executable, "-m", "kiosk.cli", "run", "--windowed", "--soak", str(args.sessions),
           "--soak-seed", str(args.seed), "--soak-every", str(args.every)]
    print(f"soak through the UI: {' '.join(cmd[2:])}, data in {data}", flush=True)
    proc = subprocess.Popen(cmd, env=env)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the kiosk stops itself cleanly on SIGTERM
        proc.terminate()
        return proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--fault-share", type=float, default=0.08, help="share of sessions preceded by a fault")
    ap.add_argument("--ui", action="store_true", help="through the QML view-model in one `kiosk run` process")
    ap.add_argument("--json", help="also write samples and faults to this file")
    ap.add_argument("--liveness", choices=("blink", "turn", "off"),
                    help="face liveness challenge (default: the configured one); 'off' on a machine too loaded "
                         "for a real-time blink")
    args = ap.parse_args()
    return run_ui(args) if args.ui else run_core(args)


if __name__ == "__main__":
    sys.exit(main())
