"""The session journal: JSON lines of every event and transition, no personal data."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


class Journal:
    """JSON-lines record of a session: events and transitions, no personal data."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.records: list[dict] = []
        self._fh = open(self.path, "a", encoding="utf-8") if self.path else None

    def write(self, record: dict) -> None:
        self.records.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def lines(self) -> list[str]:
        return [json.dumps(r, ensure_ascii=False, default=str) for r in self.records]

    def transitions(self) -> list[str]:
        return [r["to"] for r in self.records if r.get("kind") == "transition"]

    @staticmethod
    def load(source: str | Path | Iterable[str]) -> list[dict]:
        if isinstance(source, (str, Path)) and Path(source).exists():
            lines = Path(source).read_text("utf-8").splitlines()
        else:
            lines = list(source)  # type: ignore[arg-type]
        return [json.loads(line) for line in lines if line.strip()]
