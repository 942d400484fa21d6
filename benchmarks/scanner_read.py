"""Scanner read latency over the pty simulator, trigger mode (Honeywell).

From the trigger command to the decoded scan: a plain client (raw pyserial:
write SYN T CR, read to the CR: the baseline) against SerialScanner.read_code()
(device thread, framing, GB18030 decoding, AIM identifier, repeat filter, the
stop command).  The simulator answers at once (no UART pacing), so both
figures are software overhead.  Goal: read_code within 5 ms of the plain
client's median.

    python benchmarks/scanner_read.py [--reads 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import serial  # noqa: E402

from devices.scanner.driver import SerialScanner  # noqa: E402
from devices.scanner.protocol import HONEYWELL_OFF, HONEYWELL_ON  # noqa: E402
from devices.scanner.simulator import ScannerSimulator  # noqa: E402

# a resident-code sized payload: ~200 characters with Chinese
PAYLOAD = "https://gov.example/rc?v=1&name=居民码&n=" + "8f3a2c9d" * 20


def plain_read(ser: serial.Serial, sim: ScannerSimulator) -> float:
    sim.scan(PAYLOAD, "qr")
    t0 = time.perf_counter()
    ser.write(HONEYWELL_ON)
    line = b""
    while not line.endswith(b"\r"):  # what arrived, at least one byte: no byte-by-byte reads
        got = ser.read(max(1, ser.in_waiting))
        if not got:
            break
        line += got
    ser.write(HONEYWELL_OFF)
    took = time.perf_counter() - t0
    if not line.endswith(b"\r") or line[3:-1].decode("gb18030") != PAYLOAD:
        raise SystemExit("plain client: wrong or short scan")
    return took


def driver_read(dev: SerialScanner, sim: ScannerSimulator, n: int) -> float:
    sim.scan(PAYLOAD + str(n), "qr")  # a new code each time: the repeat filter lets it through
    t0 = time.perf_counter()
    scan = dev.read_code(timeout=5)
    took = time.perf_counter() - t0
    if scan.text != PAYLOAD + str(n) or scan.symbology != "qr":
        raise SystemExit("driver: wrong scan")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scanner-bench-") as tmp:
        sim = ScannerSimulator(trigger="honeywell", link=Path(tmp) / "ttyBENCH").start()
        try:
            with serial.Serial(sim.path, 9600, timeout=2) as ser:
                plain_read(ser, sim)  # warm-up
                plain = [plain_read(ser, sim) for _ in range(args.reads)]
            sim.wait_commands(2 * (args.reads + 1))  # the last stop command is heard before the driver opens
            dev = SerialScanner("bench", sim.url, {}).open()
            try:
                driver_read(dev, sim, -1)  # warm-up
                driver = [driver_read(dev, sim, i) for i in range(args.reads)]
            finally:
                dev.close()
        finally:
            sim.stop()
    med_plain, med_driver = statistics.median(plain) * 1000, statistics.median(driver) * 1000
    print(f"scanner read (trigger to scan, {len(PAYLOAD.encode('gb18030'))}-byte QR), {args.reads} reads, median")
    print(f"  plain client     {med_plain:7.2f} ms")
    print(f"  read_code        {med_driver:7.2f} ms  (+{med_driver - med_plain:.2f} ms; goal <= +5 ms)")


if __name__ == "__main__":
    main()
