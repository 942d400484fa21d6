"""Durable pending-jobs journal (JSON lines), so a ticket number that could not
be printed is neither lost (power cut, paper out) nor printed for a second
person.

Records: ``{"op": "add", "id", "kind", "ref", "created", "data"}`` (data is the
job's ESC/POS bytes in base64; layouts mask personal data before this point),
``{"op": "sent", "id"}`` (bytes went out but the printer has not confirmed)
and ``{"op": "done", "id", "at"}``.  A job id is printed at most once: adding an
id that is pending or done is a no-op.  Every change is appended and fsynced
under an exclusive lock, so the kiosk and a technician's CLI can share a spool.

A line that is not a well-formed record (torn by a power cut, damaged on disk)
is skipped; the next write moves it to ``<spool>.torn`` and rewrites the spool
from the good records, so one bad line never stops the printer or costs
another job.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

KEEP_DONE_S = 3 * 86400  # remember printed ids this long (tickets restart daily)
COMPACT_AFTER = 500  # lines
OPS = ("add", "sent", "done")


def _record(raw: bytes) -> dict | None:
    """A well-formed record, or None for a torn or damaged line."""
    try:
        rec = json.loads(raw.decode("utf-8"))
        if not isinstance(rec, dict) or rec.get("op") not in OPS or not isinstance(rec.get("id"), str):
            return None
        if rec["op"] == "add":
            if not all(isinstance(rec.get(k, ""), str) for k in ("kind", "ref", "data")):
                return None
            if not isinstance(rec.get("created", 0.0), (int, float)):
                return None
            rec["data"] = base64.b64decode(rec.get("data", ""), validate=True)
        elif rec["op"] == "done" and not isinstance(rec.get("at", 0.0), (int, float)):
            return None
        return rec
    except (ValueError, binascii.Error, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


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
        pending, done, lines, _ = self._scan()
        return pending, done, lines

    def _scan(self) -> tuple[dict[str, PendingJob], dict[str, float], int, list[bytes]]:
        pending: dict[str, PendingJob] = {}
        done: dict[str, float] = {}
        torn: list[bytes] = []
        lines = 0
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return pending, done, 0, torn
        with f:
            for raw in f:
                lines += 1
                rec = _record(raw)
                if rec is None:
                    if raw.strip():
                        torn.append(raw)
                    continue
                op, jid = rec["op"], rec["id"]
                if op == "add" and jid not in done:
                    pending[jid] = PendingJob(jid, rec.get("kind", "raw"), rec.get("ref", ""),
                                              float(rec.get("created", 0.0)), rec["data"])
                elif op == "sent" and jid in pending:
                    pending[jid].sent += 1
                elif op == "done":
                    done[jid] = float(rec.get("at", 0.0))
                    pending.pop(jid, None)
        return pending, done, lines, torn

    def _repair(self) -> tuple[dict[str, PendingJob], dict[str, float], int]:
        """Under the lock, before a write: quarantine damaged lines, keep the rest."""
        pending, done, lines, torn = self._scan()
        if torn:
            with open(self.path.with_name(self.path.name + ".torn"), "ab") as q:
                q.writelines(line if line.endswith(b"\n") else line + b"\n" for line in torn)
                q.flush()
                os.fsync(q.fileno())
            self._compact(pending, done)
            lines = len(done) + len(pending)
        return pending, done, lines

    def _append(self, *records: dict) -> None:
        with open(self.path, "a+b") as f:
            # a record cut before its newline must not swallow the next one
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            for rec in records:
                f.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    # --- API -----------------------------------------------------------
    def add(self, job_id: str, kind: str, ref: str, data: bytes) -> str:
        """Returns "added", "pending" (already queued) or "done" (already printed)."""
        with self._locked():
            pending, done, _ = self._repair()
            if job_id in done:
                return "done"
            if job_id in pending:
                return "pending"
            self._append({"op": "add", "id": job_id, "kind": kind, "ref": ref, "created": time.time(),
                          "data": base64.b64encode(data).decode("ascii")})
            return "added"

    def mark_sent(self, job_id: str) -> None:
        with self._locked():
            self._repair()
            self._append({"op": "sent", "id": job_id})

    def mark_done(self, job_id: str) -> None:
        with self._locked():
            self._repair()
            self._append({"op": "done", "id": job_id, "at": time.time()})
            pending, done, lines = self._read()
            if lines > COMPACT_AFTER:
                self._compact(pending, done)

    def pending(self) -> list[PendingJob]:
        """Oldest first: reprints keep the order numbers were issued in."""
        with self._locked():
            pending, _, _ = self._read()
        return sorted(pending.values(), key=lambda j: j.created)

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
