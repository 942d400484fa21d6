"""The fleet's availability at a glance: per service across the fleet and
per terminal, from the rollups grouped in SQL (one query per window), for
thousands of terminals in well under a second.

``central.report.read_report`` gives every terminal x service entry (the
detail a terminal's page needs; for a province, tens of megabytes); this
summary adds the same figures up instead of listing them: a service's
availability is its available seconds over its counted seconds summed over
every terminal offering it, a terminal's the same over its services. The
rules are the report's (``cases.md``): time before a service was first
reported is not counted, time it was not offered is not counted, time no
heartbeat speaks for counts as unavailable; the last heartbeat's open span is
added from the ``terminals`` row.
"""

from __future__ import annotations

from .common import json_object
from .report import WINDOWS, Beat, iso, service_states, service_title, share
from .rollups import DAY, HOUR, TERMINAL, open_span


def read_fleet(db, *, now: float, stale_s: float, windows: tuple[str, ...] = tuple(WINDOWS)) -> dict:
    """The fleet summary at ``now``: the present (the current day's rollups hold time up to now)."""
    oldest = now - max(WINDOWS[w] for w in windows)
    with db.read() as tx:
        terminals = tx.all("SELECT terminal_id, first_heartbeat_at, last_heartbeat_at FROM terminals"
                           " ORDER BY terminal_id")
        # only a last heartbeat still speaking for part of a window is read (its open span)
        bodies = dict(tx.all("SELECT terminal_id, last_heartbeat FROM terminals WHERE last_heartbeat_at > ?"
                             " AND last_heartbeat_at <= ?", (oldest - stale_s, now)))
        figures = {w: _sums(tx, now - WINDOWS[w], now) for w in windows}
        pairs = None
        known = dict(tx.all("SELECT terminal_id, COUNT(*) FROM terminal_services WHERE first_seen_at <= ?"
                            " GROUP BY terminal_id", (now,)))
        states = {tid: service_states(json_object(body)) for tid, body in bodies.items()}
        if any(st and len(st) < known.get(tid, 0) for tid, st in states.items()):  # services not offered now
            pairs = tx.all("SELECT terminal_id, service FROM terminal_services WHERE first_seen_at <= ?", (now,))
    last = {tid: at for tid, _, at in terminals if at is not None and at <= now}
    first = {tid: f for tid, f, _ in terminals if f is not None and f <= now}
    offering = {}
    for tid, sid in pairs or ():
        offering.setdefault(tid, set()).add(sid)
    services: dict[str, dict] = {}
    rows = {tid: {"terminal_id": tid, "state": _state(last.get(tid), now, stale_s),
                  "last_heartbeat_at": iso(last.get(tid)), "windows": {}} for tid, _, _ in terminals}
    for w in windows:
        start, fig = now - WINDOWS[w], figures[w]
        for sid, n in fig["offering"].items():
            _service(services, sid, windows)["terminals"] = n
        for tid, f in first.items():
            begin = min(now, max(start, f))
            a, b = open_span(Beat(last[tid], {}) if tid in last else None, start=begin, end=now, stale_s=stale_s)
            term = fig["terminals"].setdefault(tid, [0.0, 0.0, 0.0, 0.0])  # up, not offered, possible, reported
            term[3] = min(term[3] + (b - a), now - begin)
            st = states.get(tid) or {}
            if b <= a or not st:
                continue
            for sid, ok in st.items():
                if ok:
                    term[0] += b - a
                    fig["services"].setdefault(sid, [0.0, 0.0, 0.0])[0] += b - a
            for sid in offering.get(tid, ()):
                if sid not in st:
                    term[1] += b - a
                    fig["services"].setdefault(sid, [0.0, 0.0, 0.0])[1] += b - a
        for sid, (up, off, possible) in fig["services"].items():
            _service(services, sid, windows)["windows"][w].update(_figures(up, possible - off))
        for tid, row in rows.items():
            up, off, possible, reported = fig["terminals"].get(tid, (0.0, 0.0, 0.0, 0.0))
            counted = now - min(now, max(start, first[tid])) if tid in first else 0.0
            row["windows"][w] = {**_figures(up, possible - off), "reporting": share(reported, counted),
                                 "sessions": fig["sessions_by_terminal"].get(tid, 0)}
        for sid, n in fig["sessions_by_service"].items():
            _service(services, sid, windows)["windows"][w]["sessions"] = n
    counts = {"reporting": 0, "stale": 0, "never": 0}
    for row in rows.values():
        counts[row["state"]] += 1
    return {"generated_at": iso(now), "stale_after_s": stale_s, "windows": {w: WINDOWS[w] for w in windows},
            "terminals_by_state": counts, "services": sorted(services.values(), key=lambda s: s["service"]),
            "terminals": list(rows.values())}


def _state(last: float | None, now: float, stale_s: float) -> str:
    return "never" if last is None else ("stale" if now - last > stale_s else "reporting")


def _figures(up: float, counted: float) -> dict:
    counted = max(counted, 0.0)
    up = min(up, counted)
    return {"availability": share(up, counted), "up_s": round(up, 3), "counted_s": round(counted, 3)}


def _service(services: dict, sid: str, windows) -> dict:
    if sid not in services:
        services[sid] = {"service": sid, "title": service_title(sid), "terminals": 0,
                         "windows": {w: {"availability": None, "up_s": 0.0, "counted_s": 0.0, "sessions": 0}
                                     for w in windows}}
    return services[sid]


def _rows(start: float, end: float) -> tuple[str, str, tuple, tuple]:
    """Which rollup rows add up to [start, end), with their weights: (WHERE, weight, args).

    Daily rows for whole days; the first day's part from hourly rows, either
    those inside the window or (when fewer) the day's row minus those before
    it. The bucket holding ``start`` counts for its share inside the window."""
    if end - start > 2 * DAY:  # daily rows, the first pro-rated
        return ("span = ? AND bucket > ? AND bucket < ?", f"CASE WHEN bucket < ? THEN (bucket + {DAY} - ?) / {DAY}"
                " ELSE 1.0 END", (DAY, start - DAY, end), (start, start))
    h0 = start // HOUR * HOUR
    d0 = start // DAY * DAY
    inside = (h0 + HOUR - start) / HOUR
    if (d0 + DAY - h0) / HOUR <= 14:  # hourly rows from the start's hour, then days
        where, args = "(span = ? AND bucket >= ? AND bucket < ?) OR (span = ? AND bucket >= ? AND bucket < ?)", \
            (HOUR, h0, d0 + DAY, DAY, d0 + DAY, end)
        return where, "CASE WHEN span = ? AND bucket = ? THEN ? ELSE 1.0 END", args, (HOUR, h0, inside)
    where, args = "(span = ? AND bucket >= ? AND bucket <= ?) OR (span = ? AND bucket >= ? AND bucket < ?)", \
        (HOUR, d0, h0, DAY, d0, end)
    return where, "CASE WHEN span = ? AND bucket = ? THEN ? WHEN span = ? THEN -1.0 ELSE 1.0 END", args, \
        (HOUR, h0, inside - 1.0, HOUR)


def _sums(tx, start: float, end: float) -> dict:
    """One window's figures: per service [up, not offered, possible seconds], per terminal
    [up, not offered, possible, reported], sessions; grouped by the database."""
    where, weight, args, wargs = _rows(start, end)
    services: dict[str, list[float]] = {}
    terminals: dict[str, list[float]] = {}
    # per terminal and per service at once, never per pair: a province's pairs are
    # 10^5 groups the database would hash (and spill) and Python would add up again
    sums = (f"SUM(available_s * {weight}) FILTER (WHERE service <> '{TERMINAL}'),"
            f" SUM(not_offered_s * {weight}) FILTER (WHERE service <> '{TERMINAL}'),"
            f" SUM(available_s * {weight}) FILTER (WHERE service = '{TERMINAL}')")
    source = f" FROM availability_rollups WHERE {where}"
    if tx.dialect == "postgresql":  # one scan for both groupings
        query = f"SELECT terminal_id, service, {sums}{source} GROUP BY GROUPING SETS ((terminal_id), (service))"
        params = wargs * 3 + args
    else:
        query = (f"SELECT terminal_id, NULL, {sums}{source} GROUP BY terminal_id UNION ALL"
                 f" SELECT NULL, service, {sums}{source} GROUP BY service")
        params = (wargs * 3 + args) * 2
    for tid, sid, up, off, reported in tx.all(query, params):
        up, off = float(up or 0.0), float(off or 0.0)
        if tid is not None:
            terminals[tid] = [up, off, 0.0, float(reported or 0.0)]
        elif sid != TERMINAL:
            services[sid] = [up, off, 0.0]
    # seconds each pair could count: from the later of the window's start, the terminal's first
    # heartbeat and the service's first report
    hi, lo = ("GREATEST", "LEAST") if tx.dialect == "postgresql" else ("MAX", "MIN")
    possible = f"SUM(? - {lo}(?, {hi}(?, t.first_heartbeat_at, s.first_seen_at)))"
    join = (" FROM terminal_services s JOIN terminals t ON t.terminal_id = s.terminal_id"
            " WHERE t.first_heartbeat_at <= ? AND s.first_seen_at <= ?")
    offering = {}
    for sid, secs, n in tx.all(f"SELECT s.service, {possible}, COUNT(*){join} GROUP BY s.service",
                               (end, end, start, end, end)):
        services.setdefault(sid, [0.0, 0.0, 0.0])[2] = float(secs)
        offering[sid] = int(n)
    for tid, secs in tx.all(f"SELECT s.terminal_id, {possible}{join} GROUP BY s.terminal_id",
                            (end, end, start, end, end)):
        terminals.setdefault(tid, [0.0, 0.0, 0.0, 0.0])[2] = float(secs)
    cases = " FROM cases WHERE received_at > ? AND received_at <= ?"
    return {"services": services, "terminals": terminals, "offering": offering,
            "sessions_by_service": {sid: int(n) for sid, n in tx.all(
                f"SELECT service, COUNT(*){cases} GROUP BY service", (start, end))},
            "sessions_by_terminal": {tid: int(n) for tid, n in tx.all(
                f"SELECT terminal_id, COUNT(*){cases} GROUP BY terminal_id", (start, end))}}
