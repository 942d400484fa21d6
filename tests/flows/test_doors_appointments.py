"""Appointments: booking with a slip, the last seat to exactly one of several
terminals racing for it, check-in by scanning the slip (priority number),
offline check-in (normal number with a note), change and cancel."""

from __future__ import annotations

import concurrent.futures as cf

from flows.runner import load_script, shipped_script
from kiosk.core import idnumber

RESIDENT_ID = "110101198503120316"


def _people(n):
    return [idnumber.make(f"3201021990010{i:04d}"[:17]) for i in range(n)]


def _client(app, terminal):
    from offline_cache.client import CentralClient

    return CentralClient(url=app.embedded.url, token=app.embedded.token_for(terminal), terminal_id=terminal)


def test_booking_prints_a_slip_and_the_case_shows_as_booked(runner, kiosk_app):
    report = runner.run(load_script(shipped_script("appointment")))
    assert report.ok, report.error
    assert any(a.endswith(".png") for a in report.artifacts)
    progress = kiosk_app.backend("progress", ref=report.case_ref)
    assert progress["cases"][0]["status"] == "booked"


def test_the_last_seat_goes_to_exactly_one_of_several_terminals(kiosk_app):
    from offline_cache.client import CentralRejected

    slot = next(s for s in kiosk_app.backend("appointment_slots", business="exit_entry") if s["free"] == 2)
    first, *racers = _people(7)
    kiosk_app.backend("appointment_book", slot_id=slot["slot_id"], id_number=first)   # one seat left
    clients = [_client(kiosk_app, f"T-SEAT-{i}") for i in range(len(racers))]

    def book(pair):
        client, person = pair
        try:
            client.call("POST", "/v1/appointments", json_body={"slot_id": slot["slot_id"], "id_number": person})
            return "booked"
        except CentralRejected as exc:
            return exc.code
    try:
        with cf.ThreadPoolExecutor(len(racers)) as pool:
            answers = list(pool.map(book, zip(clients, racers)))
    finally:
        for c in clients:
            c.close()
    assert sorted(answers) == ["booked"] + ["slot_full"] * (len(racers) - 1)
    after = next(s for s in kiosk_app.backend("appointment_slots", business="exit_entry")
                 if s["slot_id"] == slot["slot_id"])
    assert after["free"] == 0


def test_cancel_gives_the_seat_back_and_reschedule_moves_it(kiosk_app):
    person = _people(9)[8]
    slots = [s for s in kiosk_app.backend("appointment_slots", business="vehicles") if s["free"] == 2]
    a = kiosk_app.backend("appointment_book", slot_id=slots[0]["slot_id"], id_number=person)
    moved = kiosk_app.backend("appointment_reschedule", appointment_id=a["appointment_id"], id_number=person,
                              slot_id=slots[1]["slot_id"])
    free = {s["slot_id"]: s["free"] for s in kiosk_app.backend("appointment_slots", business="vehicles")}
    assert (free[slots[0]["slot_id"]], free[slots[1]["slot_id"]]) == (2, 1)
    kiosk_app.backend("appointment_cancel", appointment_id=moved["appointment_id"], id_number=person)
    assert kiosk_app.backend("appointment_mine", id_number=person) == []


def test_check_in_by_scanning_the_slip_gives_a_priority_number(runner):
    report = runner.run(load_script(shipped_script("appointment_check_in")))
    assert report.ok, report.error
    assert report.result["ticket"].startswith("DV") and not report.result["offline"]


def test_offline_check_in_gives_a_normal_number_with_a_note(runner):
    report = runner.run(load_script(shipped_script("errors/appointment_offline_check_in")))
    assert report.ok, report.error
    assert report.result["offline"] and not report.result["ticket"].startswith("AV")
