"""Durable pending-jobs journal (JSON lines), so a ticket number that could not
be printed is neither lost (power cut, paper out) nor printed for a second
person.

Records: ``{"op": "add", "id", "kind", "ref", "created", "data"}`` (data is the
job's ESC/POS bytes in base64; layouts mask personal data before this point),
``{"op": "sent", "id"}`` (bytes went out but the printer has not confirmed)
and ``{"op": "done", "id", "at"}``.  A job id is printed at most once: adding an
id that is pending or done is a no-op.  Every change is appended and fsynced
under an exclusive lock, so the kiosk and a technician's CLI can share a spool.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

KEEP_DONE_S = 3 * 86400  # remember printed ids this long (tickets restart daily)
COMPACT_AFTER = 500  # lines


@dataclass
class PendingJob:
    id: str
    kind: str
    ref: str
    created: float
    data: bytes
    sent: int = 0  # times the bytes went out without a confirmation

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "ref": self.ref, "sent": self.sent,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.created))}


class JobSpool:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lockfile = self.path.with_suffix(self.path.suffix + ".lock")

    @contextlib.contextmanager
    def _locked(self):
        with open(self._lockfile, "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    def _read(self) -> tuple[dict[str, PendingJob], dict[str, float], int]:
        pending: dict[str, PendingJob] = {}
        done: dict[str, float] = {}
        lines = 0
        try:
            f = open(self.path, encoding="utf-8")
        except FileNotFoundError:
            return pending, done, 0
        with f:
            for raw in f:
                lines += 1
                try:
                    rec = json.loads(raw)
                    op, jid = rec["op"], rec["id"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a power cut
                if op == "add" and jid not in done:
                    pending[jid] = PendingJob(jid, rec.get("kind", "raw"), rec.get("ref", ""),
                                              rec.get("created", 0.0), base64.b64decode(rec.get("data", "")))
                elif op == "sent" and jid in pending:
                    pending[jid].sent += 1
                elif op == "done":
                    done[jid] = rec.get("at", 0.0)
                    pending.pop(jid, None)
        return pending, done, lines

    def _append(self, *records: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    # --- API -----------------------------------------------------------
    def add(self, job_id: str, kind: str, ref: str, data: bytes) -> str:
        """Returns "added", "pending" (already queued) or "done" (already printed)."""
        with self._locked():
            pending, done, _ = self._read()
            if job_id in done:
                return "done"
            if job_id in pending:
                return "pending"
            self._append({"op": "add", "id": job_id, "kind": kind, "ref": ref, "created": time.time(),
                          "data": base64.b64encode(data).decode("ascii")})
            return "added"

    def mark_sent(self, job_id: str) -> None:
        with self._locked():
            self._append({"op": "sent", "id": job_id})

    def mark_done(self, job_id: str) -> None:
        with self._locked():
            self._append({"op": "done", "id": job_id, "at": time.time()})
            pending, done, lines = self._read()
            if lines > COMPACT_AFTER:
                self._compact(pending, done)

    def pending(self) -> list[PendingJob]:
        """Oldest first: reprints keep the order numbers were issued in."""
        with self._locked():
            pending, _, _ = self._read()
        return sorted(pending.values(), key=lambda j: j.created)

    def is_done(self, job_id: str) -> bool:
        with self._locked():
            return job_id in self._read()[1]

    def _compact(self, pending: dict[str, PendingJob], done: dict[str, float]) -> None:
        horizon = time.time() - KEEP_DONE_S
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for jid, at in done.items():
                if at >= horizon:
                    f.write(json.dumps({"op": "done", "id": jid, "at": at}) + "\n")
            for job in sorted(pending.values(), key=lambda j: j.created):
                f.write(json.dumps({"op": "add", "id": job.id, "kind": job.kind, "ref": job.ref,
                                    "created": job.created, "data": base64.b64encode(job.data).decode()}) + "\n")
                f.writelines(json.dumps({"op": "sent", "id": job.id}) + "\n" for _ in range(job.sent))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
