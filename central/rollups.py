"""Availability rollups: what each heartbeat said, folded at ingest into
per-terminal, per-service hourly and daily sums, so a report reads a few
rows per terminal and service instead of every heartbeat.

When heartbeat N arrives, the span of heartbeat N-1 is final: it held from
its arrival until N (or the first span N backfills), for at most the
staleness limit (a backfilled span: its ``hold_s``); see ``central.report``
for the rules. That span, and each backfilled span, is cut at hour
boundaries and added to ``availability_rollups`` by hour and by day
(seconds available, unavailable, not offered; the row with service ``''``
holds the seconds any heartbeat spoke for, ``reporting_s``). The last
heartbeat's span is still open: reports add it from the ``terminals`` row.
Time no heartbeat speaks for is unknown (counted as unavailable by reports).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from .report import Beat, service_states, spans

HOUR = 3600.0
DAY = 86400.0
SPANS = (HOUR, DAY)
TERMINAL = ""  # the service column of a terminal's own row (seconds reported)


def _cut(a: float, b: float, size: float) -> Iterable[tuple[float, float]]:
    """[a, b) as (bucket start, seconds) pieces, one per bucket of ``size``."""
    while b > a:
        bucket = math.floor(a / size) * size
        end = min(b, bucket + size)
        yield bucket, end - a
        a = end


def fold(beats: list[Beat], until: float, stale_s: float, known: Mapping[str, float],
         size: float) -> dict[tuple[str, float], list[float]]:
    """Seconds per (service, bucket): [available, unavailable, not offered].

    ``beats`` are the previous heartbeat and the spans backfilled after it,
    ``until`` the arrival of the new heartbeat; ``known`` the services first
    reported before (service -> first seen): a heartbeat without any service
    states leaves each of them unavailable, one listing others leaves it
    not offered. Nothing counts for a service before it was first seen.
    """
    out: dict[tuple[str, float], list[float]] = {}
    for a, b, beat in spans(beats + [Beat(until, {})], -math.inf, until, stale_s):
        states = service_states(beat.body)
        for bucket, secs in _cut(a, b, size):
            out.setdefault((TERMINAL, bucket), [0.0, 0.0, 0.0])[0] += secs
        for sid in set(states) | set(known):
            lo = max(a, known.get(sid, math.inf))
            if lo >= b:
                continue
            col = 2 if states and sid not in states else (0 if states.get(sid) else 1)
            for bucket, secs in _cut(lo, b, size):
                out.setdefault((sid, bucket), [0.0, 0.0, 0.0])[col] += secs
    return out


_ADD = (" ON CONFLICT (terminal_id, service, span, bucket) DO UPDATE SET"
        " available_s = availability_rollups.available_s + excluded.available_s,"
        " unavailable_s = availability_rollups.unavailable_s + excluded.unavailable_s,"
        " not_offered_s = availability_rollups.not_offered_s + excluded.not_offered_s")
_COLUMNS = ("INSERT INTO availability_rollups"
            " (terminal_id, service, span, bucket, available_s, unavailable_s, not_offered_s)")
# PostgreSQL: one statement over arrays, whatever the number of rows (the same text
# every time, so the server plans it once per connection), the arrays sent in binary
# (%b: no text quoting per element); SQLite: executemany of one row.
_UPSERT_PG = (_COLUMNS + " SELECT %s, * FROM unnest(%b::text[], %b::float8[], %b::float8[], %b::float8[],"
              " %b::float8[], %b::float8[])" + _ADD)
_UPSERT_ROW = _COLUMNS + " VALUES (?,?,?,?,?,?,?)" + _ADD


def store(tx, terminal_id: str, beats: list[Beat], until: float, stale_s: float, known: Mapping[str, float]) -> int:
    """Add the folded spans to the hourly and daily rollups (one statement); returns the rows touched."""
    rows = [(sid, span, float(bucket), *map(float, vals)) for span in SPANS
            for (sid, bucket), vals in sorted(fold(beats, until, stale_s, known, span).items())]
    if not rows:
        return 0
    if tx.dialect == "postgresql":
        tx.run(_UPSERT_PG, (terminal_id, *(list(column) for column in zip(*rows))))
    else:
        tx.many(_UPSERT_ROW, [(terminal_id, *row) for row in rows])
    return len(rows)


def rebuild(tx, stale_s: float) -> None:
    """Fold every raw heartbeat again (a database that predates rollups)."""
    import json

    tx.run("DELETE FROM availability_rollups")
    for (tid,) in tx.all("SELECT DISTINCT terminal_id FROM heartbeats"):
        first = dict(tx.all("SELECT service, first_seen_at FROM terminal_services WHERE terminal_id = ?", (tid,)))
        rows = tx.all("SELECT received_at, body FROM heartbeats WHERE terminal_id = ? ORDER BY received_at", (tid,))
        beats = [Beat(at, _load(json, body)) for at, body in rows]
        for prev, nxt in zip(beats, beats[1:]):
            known = {sid: at for sid, at in first.items() if at <= prev.at}
            store(tx, tid, [prev], nxt.at, stale_s, known)


def _load(json, raw: str) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# -- reading: the report's windows from the rollups ----------------------------------

def window_sums(tx, *, start: float, end: float, terminal: str | None) -> dict[str, dict[str, tuple[float, float]]]:
    """terminal -> service -> (available s, not offered s) in [start, end).

    Hourly rows for windows up to two days, daily rows beyond. The bucket
    holding ``start`` counts for the share of it inside the window (exact
    when the window starts on a bucket boundary or before the terminal's
    first heartbeat, pro-rated otherwise)."""
    size = HOUR if end - start <= 2 * DAY else DAY
    weight = f"CASE WHEN bucket < ? THEN (bucket + {size} - ?) / {size} ELSE 1.0 END"
    where = " AND terminal_id = ?" if terminal is not None else ""
    rows = tx.all(f"SELECT terminal_id, service, SUM(available_s * {weight}), SUM(not_offered_s * {weight})"
                  f" FROM availability_rollups WHERE span = ? AND bucket > ? AND bucket < ?{where}"
                  " GROUP BY terminal_id, service",
                  (start, start, start, start, size, start - size, end) + ((terminal,) if terminal is not None else ()))
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for tid, sid, up, off in rows:
        out.setdefault(tid, {})[sid] = (float(up or 0.0), float(off or 0.0))
    return out


def open_span(last: Beat | None, *, start: float, end: float, stale_s: float) -> tuple[float, float]:
    """The part of [start, end) the last heartbeat still speaks for (not in the rollups yet)."""
    if last is None:
        return end, end
    a, b = max(last.at, start), min(last.at + stale_s, end)
    return (a, b) if b > a else (end, end)


def window_from_rollups(sums: Mapping[str, tuple[float, float]], last: Beat | None, *, start: float, end: float,
                        stale_s: float, first_seen: float | None, service_first_seen: Mapping[str, float]) -> dict:
    """One terminal's figures for [start, end), shaped as ``report.window_availability``'s."""
    from .report import iso, share

    begin = end if first_seen is None else min(end, max(start, first_seen))
    a, b = open_span(last, start=begin, end=end, stale_s=stale_s)
    states = service_states(last.body) if last is not None else {}
    reported = min(sums.get(TERMINAL, (0.0, 0.0))[0] + (b - a), end - begin)
    services = {}
    for sid in sorted(service_first_seen):
        s_begin = min(end, max(begin, service_first_seen[sid]))
        up, not_offered = sums.get(sid, (0.0, 0.0))
        lo = max(a, s_begin)
        if b > lo:
            if states and sid not in states:
                not_offered += b - lo
            elif states.get(sid):
                up += b - lo
        counted = max(end - s_begin - not_offered, 0.0)
        up = min(up, counted)
        services[sid] = {"availability": share(up, counted), "up_s": round(up, 3),
                         "counted_s": round(counted, 3), "not_offered_s": round(not_offered, 3)}
    return {"start": iso(begin), "end": iso(end), "counted_s": round(end - begin, 3),
            "reporting_s": round(reported, 3), "reporting": share(reported, end - begin), "services": services}
