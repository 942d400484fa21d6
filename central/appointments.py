"""Counter appointments (预约) on the platform: a calendar of slots with a
capacity, booking, cancelling, rescheduling and check-in.

Exactly one winner for the last seat: a booking takes the lowest free seat
number of its slot, and ``(slot_id, seat)`` is UNIQUE, so two terminals (or
two server processes) racing for the last seat cannot both insert; the loser
finds the slot full.  A cancelled booking gives its seat back (seat NULL).

The sandbox calendar: every business of ``demo_data.BUSINESSES``, the next 7
days, half-hour slots 09:00-11:30 and 14:00-16:30, 2 seats each.  No-show
rules (shown to residents, enforced at check-in): check in on the day up to
15 minutes after the slot starts; later is a no-show, and 3 no-shows within
90 days block online booking for 30 days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

from . import demo_data
from .auth import load_secret
from .db import IntegrityError

CAPACITY = 2
TIMES = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
DAYS = 7
LATE_S = 15 * 60
CODE_PREFIX = "HKAP1."


class Refused(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


def slot_id(business: str, day: dt.date, start: str) -> str:
    return f"{business}.{day.isoformat()}.{start.replace(':', '')}"


def appointments_for(sb) -> Appointments:
    a = getattr(sb, "appointments", None)
    if a is None:
        a = sb.appointments = Appointments(sb)
    return a


def parse_slot(sid: str) -> tuple[dict, dt.datetime]:
    try:
        business, day, hhmm = sid.split(".")
        b = next(x for x in demo_data.BUSINESSES if x["code"] == business)
        when = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(int(hhmm[:2]), int(hhmm[2:])))
    except (ValueError, StopIteration):
        raise Refused("no_such_slot", "no such slot") from None
    return b, when


class Appointments:
    def __init__(self, sb):
        self.sb = sb
        self._secret = load_secret(sb.db.state_dir / "appointments.key")  # the table: schema migration 4

    def holder(self, id_number: str) -> str:
        return hmac.new(self._secret, id_number.upper().encode(), hashlib.sha256).hexdigest()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.sb.clock())

    def slots(self, business: str) -> list[dict]:
        if not any(b["code"] == business for b in demo_data.BUSINESSES):
            raise Refused("no_such_business", "no such business")
        now = self.now()
        with self.sb.db.read() as tx:
            taken = dict(tx.all("SELECT slot_id, COUNT(*) FROM appointments WHERE slot_id LIKE ? AND seat IS NOT NULL"
                                " GROUP BY slot_id", (f"{business}.%",)))
        out = []
        for d in range(DAYS):
            day = now.date() + dt.timedelta(days=d)
            for start in TIMES:
                when = dt.datetime.combine(day, dt.time(int(start[:2]), int(start[3:])))
                if when <= now:
                    continue
                sid = slot_id(business, day, start)
                out.append({"slot_id": sid, "business": business, "day": day.isoformat(), "start": start,
                            "capacity": CAPACITY, "free": max(0, CAPACITY - int(taken.get(sid, 0)))})
        return out

    def book(self, sid: str, id_number: str, terminal_id: str, demo_walk_in: bool = False) -> dict:
        b, when = parse_slot(sid)
        if f"{when:%H:%M}" not in TIMES and not demo_walk_in:
            raise Refused("no_such_slot", "no such slot")
        if when <= self.now() and not demo_walk_in:
            raise Refused("slot_past", "this slot has begun or passed")
        holder = self.holder(id_number)
        with self.sb.db.transaction() as tx:
            if demo_walk_in:  # the demo's "appointment in a few minutes" replaces that day's booking
                tx.run("UPDATE appointments SET status = 'cancelled', seat = NULL WHERE holder = ? AND"
                       " status = 'booked' AND slot_id LIKE ?", (holder, f"{b['code']}.{when.date().isoformat()}.%"))
            if tx.one("SELECT 1 FROM appointments WHERE holder = ? AND status = 'booked' AND slot_id LIKE ?",
                      (holder, f"{b['code']}.{when.date().isoformat()}.%")):
                raise Refused("already_booked", "this person already has an appointment for this business that day")
            seats = {r[0] for r in tx.all("SELECT seat FROM appointments WHERE slot_id = ? AND seat IS NOT NULL",
                                          (sid,))}
            free = [n for n in range(1, CAPACITY + 1) if n not in seats]
            if not free:
                raise Refused("slot_full", "this slot is fully booked")
            aid = f"AP{uuid.uuid4().hex[:16].upper()}"
            code = CODE_PREFIX + secrets.token_urlsafe(12)
            try:   # the UNIQUE (slot_id, seat) constraint decides a race for the last seat
                tx.run("INSERT INTO appointments(appointment_id, slot_id, seat, holder, code, status, terminal_id,"
                       " created_at) VALUES (?,?,?,?,?,?,?,?)",
                       (aid, sid, free[0], holder, code, "booked", terminal_id, self.sb.clock()))
            except IntegrityError:
                raise Refused("slot_full", "this slot is fully booked") from None
            tx.bump("appointments")
        return self.view(aid)

    def view(self, aid: str) -> dict:
        with self.sb.db.read() as tx:
            row = tx.one("SELECT appointment_id, slot_id, code, status, checked_in_at FROM appointments"
                         " WHERE appointment_id = ?", (aid,))
        if row is None:
            raise Refused("not_found", "no such appointment")
        b, when = parse_slot(row[1])
        return {"appointment_id": row[0], "slot_id": row[1], "code": row[2], "status": row[3],
                "business": b["code"], "name_zh": b["name_zh"], "name_en": b["name_en"], "counters": b["counters"],
                "day": when.date().isoformat(), "start": f"{when:%H:%M}"}

    def of_holder(self, id_number: str) -> list[dict]:
        with self.sb.db.read() as tx:
            rows = tx.all("SELECT appointment_id FROM appointments WHERE holder = ? AND status = 'booked'"
                          " ORDER BY slot_id", (self.holder(id_number),))
        return [self.view(r[0]) for r in rows]

    def _own(self, aid: str, id_number: str) -> None:
        with self.sb.db.read() as tx:
            row = tx.one("SELECT holder, status FROM appointments WHERE appointment_id = ?", (aid,))
        if row is None or not hmac.compare_digest(row[0], self.holder(id_number)):
            raise Refused("not_found", "no such appointment for this person")
        if row[1] != "booked":
            raise Refused("not_booked", f"the appointment is {row[1]}")

    def cancel(self, aid: str, id_number: str) -> dict:
        self._own(aid, id_number)
        with self.sb.db.transaction() as tx:
            tx.run("UPDATE appointments SET status = 'cancelled', seat = NULL WHERE appointment_id = ?", (aid,))
        return self.view(aid)

    def reschedule(self, aid: str, id_number: str, sid: str, terminal_id: str) -> dict:
        self._own(aid, id_number)
        self.cancel(aid, id_number)
        try:
            return self.book(sid, id_number, terminal_id)
        except Refused:   # the new slot went: the old booking comes back if its seat is still free
            with self.sb.db.transaction() as tx:
                old = tx.one("SELECT slot_id FROM appointments WHERE appointment_id = ?", (aid,))[0]
                seats = {r[0] for r in tx.all("SELECT seat FROM appointments WHERE slot_id = ? AND seat IS NOT NULL",
                                              (old,))}
                free = [n for n in range(1, CAPACITY + 1) if n not in seats]
                if free:
                    tx.run("UPDATE appointments SET status = 'booked', seat = ? WHERE appointment_id = ?",
                           (free[0], aid))
            raise

    def check_in(self, code: str | None, id_number: str | None) -> dict:
        now = self.now()
        with self.sb.db.read() as tx:
            if code:
                rows = tx.all("SELECT appointment_id, slot_id FROM appointments WHERE code = ? AND status = 'booked'",
                              (code,))
            else:
                rows = tx.all("SELECT appointment_id, slot_id FROM appointments WHERE holder = ? AND status = 'booked'",
                              (self.holder(id_number or ""),))
        today = [r for r in rows if parse_slot(r[1])[1].date() == now.date()]
        if not today:
            raise Refused("no_appointment_today", "no booked appointment today")
        aid, sid = min(today, key=lambda r: r[1])
        b, when = parse_slot(sid)
        if (now - when).total_seconds() > LATE_S:
            with self.sb.db.transaction() as tx:
                tx.run("UPDATE appointments SET status = 'no_show', seat = NULL WHERE appointment_id = ?", (aid,))
            raise Refused("too_late", "more than 15 minutes after the appointment: a no-show")
        with self.sb.db.transaction() as tx:
            if tx.run("UPDATE appointments SET status = 'checked_in', checked_in_at = ? WHERE appointment_id = ?"
                      " AND status = 'booked'", (self.sb.clock(), aid)) != 1:
                raise Refused("not_booked", "already checked in")
            n = tx.bump(f"priority:{b['code']}:{now.date().isoformat()}")
        return {**self.view(aid), "number": f"{b['prefix']}V{n:02d}", "priority": True}
