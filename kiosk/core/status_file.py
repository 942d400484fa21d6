"""The running app's status snapshot, for ``kiosk health`` and the operator.

The app owns the devices (a serial port cannot be opened twice), so it writes
what it knows to ``<data_dir>/run/status.json`` every few seconds; other
processes read it instead of fighting over the hardware.  Written atomically.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

RELPATH = Path("run") / "status.json"


def snapshot_path(data_dir: Path) -> Path:
    return Path(data_dir) / RELPATH


def write_snapshot(data_dir: Path, snapshot: dict) -> None:
    path = snapshot_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    body = dict(snapshot, written_at=time.time(), pid=os.getpid())
    tmp.write_text(json.dumps(body, ensure_ascii=False, default=str), "utf-8")
    os.replace(tmp, path)


def read_snapshot(data_dir: Path, max_age_s: float = 30.0) -> dict | None:
    """The snapshot if a live app wrote it recently, else None."""
    try:
        data = json.loads(snapshot_path(data_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if time.time() - float(data.get("written_at", 0)) > max_age_s:
        return None
    pid = data.get("pid")
    if isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by the kiosk user
    return data
