"""ID-card read speed over the pty simulator at 115200 baud.

The simulator runs in its own process (``kiosk sim idcard``) and paces its
bytes like a real 8N1 line, so the floor for a find/select/read is the wire
time of the bytes exchanged.  Printed: median wall time of a plain client
(raw pyserial, exact reads: the baseline) and of IdCardReader.read_card()
(parsing, photo decoding, device thread included), each with its ratio to
the wire time.  Goal: driver ratio <= 1.1.

    python benchmarks/idcard_read.py [--reads 20] [--baud 115200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import serial  # noqa: E402

from devices.idcard import protocol as p  # noqa: E402
from devices.idcard.driver import IdCardReader  # noqa: E402

EXCHANGES = [(p.Command.FIND_CARD, 15), (p.Command.SELECT_CARD, 19), (p.Command.READ_TEXT_PHOTO, 1295)]


def plain_read(ser: serial.Serial) -> int:
    """find/select/read with nothing but exact-length reads; returns bytes moved."""
    moved = 0
    for cmd, answer in EXCHANGES:
        req = p.build_request(cmd)
        ser.write(req)
        got = ser.read(answer)
        if len(got) != answer:
            raise SystemExit(f"plain client: short answer to {cmd.name} ({len(got)} of {answer} bytes)")
        moved += len(req) + len(got)
    return moved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=20)
    ap.add_argument("--baud", type=int, default=115200, choices=sorted(p.BAUD_CODES))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="idcard-bench-") as tmp:
        link = Path(tmp) / "ttyBENCH"
        sim = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "idcard", "--link", str(link),
                                "--card", "resident", "--baud", str(args.baud)],
                               cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        try:
            url = sim.stdout.readline().strip()
            if not url:
                raise SystemExit("simulator did not start")

            with serial.Serial(str(link), args.baud, timeout=2) as ser:
                plain_read(ser)  # warm-up
                plain, moved = [], 0
                for _ in range(args.reads):
                    t0 = time.perf_counter()
                    moved = plain_read(ser)
                    plain.append(time.perf_counter() - t0)

            reader = IdCardReader("bench", url, {"mode": "demo"}).open()
            try:
                reader.read_card()  # warm-up
                driver = []
                for _ in range(args.reads):
                    before = reader.bytes_in + reader.bytes_out
                    t0 = time.perf_counter()
                    ident = reader.read_card()
                    driver.append(time.perf_counter() - t0)
                    driver_moved = reader.bytes_in + reader.bytes_out - before
                    assert ident.photo_decoded
            finally:
                reader.close()
        finally:
            sim.terminate()
            sim.wait(timeout=10)

    wire = p.wire_seconds(moved, args.baud)
    driver_wire = p.wire_seconds(driver_moved, args.baud)
    med_plain, med_driver = statistics.median(plain), statistics.median(driver)
    print(f"idcard read (find+select+read) at {args.baud} baud, {args.reads} reads, median")
    print(f"  wire time        {wire * 1000:8.1f} ms  ({moved} bytes)")
    print(f"  plain client     {med_plain * 1000:8.1f} ms  ratio {med_plain / wire:5.3f}")
    print(f"  IdCardReader     {med_driver * 1000:8.1f} ms  ratio {med_driver / driver_wire:5.3f}  "
          f"({driver_moved} bytes; goal <= 1.1)")


if __name__ == "__main__":
    main()
