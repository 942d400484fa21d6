"""Reading one QR code from the scanner inside a step's job.

``read_scan(job, dev)`` waits for the resident's scan with one long read
(a scan is never lost between short reads), and a small watcher ends that
read as soon as the job is cancelled (the resident tapped back, used the ID
card instead, or left), so the scanner is free for the next screen.
Garbled or half-read scans only ask the resident to scan again.
"""

from __future__ import annotations

import threading
from typing import Any

from ..engine import Job

READ_S = 30.0        # one read; the loop reads again until the job ends
SCAN_AGAIN = ("scanner.garbled", "scanner.partial")


def _watch(job: Job, dev: Any, done: threading.Event) -> None:
    while not done.wait(0.1):
        if job.cancelled:
            dev.cancel()
            return


def read_scan(job: Job, dev: Any) -> Any:
    """The next scan (``.text``, ``.symbology``), or None once the job is cancelled."""
    while not job.cancelled:
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(job, dev, done), name="scan-watch", daemon=True)
        watcher.start()
        try:
            return dev.read_code(timeout=READ_S)
        except Exception as exc:
            key = getattr(exc, "key", "")
            if job.cancelled or key in ("scanner.no_scan", "device.cancelled"):
                continue
            if key in SCAN_AGAIN:
                job.post({"type": "device", "event": "scan_again"})
                continue
            raise
        finally:
            done.set()
            watcher.join()
    return None


def scanner(s: Any) -> Any:
    """The usable scanner of this terminal, or None."""
    dev = s.services.device("scanner")
    return dev if dev is not None and dev.status().usable else None
