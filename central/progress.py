"""Case progress (进度查询) on the platform: a holder's cases from every
terminal, or one case by its receipt reference, each with a status timeline.

Cases are found by holder through ``progress_index``: a keyed hash of the ID
number (HMAC with a per-install secret, so the table alone does not give the
numbers back), filled incrementally from ``cases`` by ``central_no``.  The
timeline is a list of status codes with times; terminals put them into words
from their own catalog.  The sandbox's rule for what happens after a case is
received: services that deliver on the spot (a certificate, a ticket, a
payment) are completed; complaints and consultations are assigned to the
responsible department with a reply due in 5 days (the 12345 rule);
applications are accepted and in review, decided within 3 days; an
appointment is booked until its day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from .auth import load_secret

SECRET_FILE = "progress.key"
MAX_CASES = 50
ON_THE_SPOT = {"issued", "completed", "paid", "printed", "ticket", "checked_in"}
HOTLINE = {"hotline_12345"}


class Progress:
    def __init__(self, sb):
        self.sb = sb
        self._secret = load_secret(sb.db.state_dir / SECRET_FILE)  # progress_index: schema migration 4

    def holder_key(self, id_number: str) -> str:
        return hmac.new(self._secret, id_number.upper().encode(), hashlib.sha256).hexdigest()

    def _catch_up(self) -> None:
        with self.sb.db.transaction() as tx:
            last = tx.one("SELECT MAX(central_no) FROM progress_index")[0] or 0
            rows = tx.all("SELECT case_id, central_no, body FROM cases WHERE central_no > ?"
                          " ORDER BY central_no LIMIT 5000", (last,))
            for case_id, no, body in rows:
                number = str((json.loads(body).get("applicant") or {}).get("id_number") or "")
                tx.run("INSERT INTO progress_index(case_id, central_no, holder) VALUES (?,?,?)"
                       " ON CONFLICT (case_id) DO NOTHING", (case_id, no, self.holder_key(number) if number else ""))

    def of_holder(self, id_number: str) -> list[dict]:
        self._catch_up()
        with self.sb.db.read() as tx:
            rows = tx.all("SELECT c.body, c.received_at FROM progress_index p JOIN cases c ON c.case_id = p.case_id"
                          " WHERE p.holder = ? ORDER BY p.central_no DESC LIMIT ?",
                          (self.holder_key(id_number), MAX_CASES))
        return [self.view(json.loads(body), received) for body, received in rows]

    def by_ref(self, ref: str) -> dict | None:
        with self.sb.db.read() as tx:
            row = tx.one("SELECT body, received_at FROM cases WHERE ref = ?", (ref,))
        return self.view(json.loads(row[0]), row[1]) if row else None

    def view(self, case: dict, received_at: float) -> dict:
        """Masked: service, reference, terminal, times and the timeline (codes)."""
        created = str(case.get("created_at") or "")
        received = dt.datetime.fromtimestamp(received_at, dt.UTC).isoformat(timespec="seconds")
        service = str(case.get("service") or "")
        result = case.get("result") or {}
        timeline = [{"at": created, "code": "submitted", "terminal_id": case.get("terminal_id")},
                    {"at": received, "code": "received"}]
        due = None
        start = _date(created) or dt.date.fromtimestamp(received_at)
        if service in HOTLINE:
            timeline.append({"at": received, "code": "assigned", "department": result.get("department") or "",
                             "department_en": result.get("department_en") or ""})
            status, due = "in_progress", start + dt.timedelta(days=5)
        elif str(result.get("status") or "") in ON_THE_SPOT:
            timeline.append({"at": received, "code": "completed"})
            status = "completed"
        elif service == "appointment":
            status = "booked"
            timeline.append({"at": received, "code": "booked", "slot": result.get("slot") or ""})
        else:
            timeline.append({"at": received, "code": "in_review"})
            status, due = "in_review", start + dt.timedelta(days=3)
        out = {"ref": case.get("ref"), "service": service, "terminal_id": case.get("terminal_id"),
               "created_at": created, "status": status, "timeline": timeline}
        if due is not None:
            out["due"] = due.isoformat()
        return out


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


def progress_for(sb) -> Progress:
    p = getattr(sb, "progress", None)
    if p is None:
        p = sb.progress = Progress(sb)
    return p
