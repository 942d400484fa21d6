"""How often each service was opened on this terminal, for the catalog's
"常用" (frequently used) tab.

Only service ids and counts are kept - no person, time or session - in one
small JSON file under the data directory, replaced atomically on each
update.  A missing or damaged file starts the counts afresh (logged once).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

_SERVICE_ID = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_SERVICES = 500   # far above any catalog; a bound on what the file may hold


class UsageStats:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._counts = self._load()

    def _load(self) -> dict[str, int]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            raw = json.loads(self.path.read_text("utf-8"))
            counts = {str(k): int(v) for k, v in dict(raw.get("opened", {})).items()
                      if _SERVICE_ID.match(str(k)) and int(v) > 0}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("service usage counts unreadable, starting afresh: %s", exc)
            return {}
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_SERVICES])

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def record(self, service_id: str) -> None:
        """One more opening of ``service_id``."""
        if not _SERVICE_ID.match(service_id):
            return
        self._counts[service_id] = self._counts.get(service_id, 0) + 1
        if len(self._counts) > MAX_SERVICES:
            self._counts.pop(min(self._counts, key=self._counts.__getitem__))
        self._save()

    def ranked(self, ids: list[str]) -> list[str]:
        """``ids`` most used first; unused ones keep their catalog order."""
        order = {sid: i for i, sid in enumerate(ids)}
        return sorted(ids, key=lambda sid: (-self._counts.get(sid, 0), order[sid]))

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"opened": self._counts}, sort_keys=True), "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("service usage counts not saved: %s", exc)
