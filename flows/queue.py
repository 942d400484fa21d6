"""Queue numbers issued by the terminal itself while the central queue is unreachable.

Online numbers are a prefix and three digits (A001-A999).  Offline, terminal
block k issues prefix + (5000 + 100k + n), n = 0..99, per business and day,
so no two terminals and no online number can collide.  The next n is
persisted (write, fsync, rename) before the number is shown or printed, so a
restart never issues a number twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from pathlib import Path

OFFLINE_BASE, OFFLINE_BLOCK = 5000, 100


class RangeExhausted(Exception):
    key = "flows.queue.range_exhausted"


def block_for_terminal(terminal_id: str) -> int:
    """Default block from the terminal id's digits (T-0001 -> 1); the central
    platform may assign another one in the terminal config."""
    digits = re.sub(r"\D", "", terminal_id)
    return int(digits) % 50 if digits else 0


class OfflineNumbers:
    def __init__(self, data_dir: Path, terminal_id: str, block: int | None = None):
        self.path = Path(data_dir) / "queue" / "offline_numbers.json"
        self.block = block_for_terminal(terminal_id) if block is None else int(block)
        self._lock = threading.Lock()

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def _save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def take(self, business: str, prefix: str, today: dt.date | None = None) -> str:
        day = (today or dt.date.today()).isoformat()
        with self._lock:
            state = self._load()
            if state.get("day") != day:
                state = {"day": day, "next": {}}
            n = int(state["next"].get(business, 0))
            if n >= OFFLINE_BLOCK:
                raise RangeExhausted()
            state["next"][business] = n + 1
            self._save(state)
        return f"{prefix}{OFFLINE_BASE + OFFLINE_BLOCK * self.block + n}"
