"""Honest availability: per terminal and per service, the share of the last
24 hours / 7 days a service was actually usable, with the sessions and
evaluations central received.

How time is counted (server receive times only; a terminal's clock may be wrong):

- a heartbeat's state holds from its arrival until the next heartbeat, but
  for at most ``stale_s`` (3 x the heartbeat interval by default);
- time no heartbeat speaks for counts as unavailable: central cannot tell a
  dead terminal from an unreachable one;
- except what a terminal reports afterwards: while its heartbeats fail it
  keeps spans of its service states and sends them with the next heartbeat
  that gets through (``backfill``). Central places them by its own receive
  time, only after the terminal's previous heartbeat, and each holds for its
  ``hold_s``, so hours served offline count as served and services that
  need central count as unavailable, as the terminal reported them;
- a heartbeat without any service states (the app did not report) counts
  as unavailable for every service;
- a heartbeat listing other services but not this one means the service
  was not offered then (disabled by configuration): that time is left out;
- time before the terminal's first-ever heartbeat, and before a service
  was first reported, is left out (not installed yet).

The arithmetic is pure functions over rows (``Beat``, level counts);
``read_report`` is the query layer over ``central.db``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WINDOWS: dict[str, float] = {"24h": 86400.0, "7d": 7 * 86400.0}
DEFAULT_HEARTBEAT_S = 30.0          # sync.heartbeat_s default
STALE_FACTOR = 3
DEFAULT_STALE_S = STALE_FACTOR * DEFAULT_HEARTBEAT_S
LEVELS = (1, 2, 3, 4, 5)            # 5 非常满意 very satisfied ... 1 非常不满意 very dissatisfied
SATISFIED = (4, 5)                  # 满意 and 非常满意
MAX_SERVICES = 100                  # per heartbeat; more is not a real terminal
BACKFILL_MAX_SPANS = 500            # per heartbeat (offline spans a terminal reports afterwards)
BACKFILL_MAX_S = 8 * 86400.0        # the longest a span may reach back or last


@dataclass(frozen=True)
class Beat:
    at: float        # server receive time (epoch seconds)
    body: dict


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def window_names(choice: str) -> tuple[str, ...]:
    """``24h``, ``7d`` or ``both``."""
    if choice == "both":
        return tuple(WINDOWS)
    if choice not in WINDOWS:
        raise ValueError(f"unknown window {choice!r}: use 24h, 7d or both")
    return (choice,)


def service_states(body: Mapping) -> dict[str, bool]:
    """{service_id: usable} from a heartbeat body; only ``available: true`` is usable."""
    services = body.get("services") if isinstance(body, Mapping) else None
    if not isinstance(services, Mapping):
        return {}
    return {str(sid): isinstance(v, Mapping) and v.get("available") is True
            for sid, v in list(services.items())[:MAX_SERVICES]}


def _hold(beat: Beat, stale_s: float) -> float:
    """How long a heartbeat speaks for at most: ``stale_s``, or a backfilled span's length."""
    if isinstance(beat.body, Mapping) and beat.body.get("backfilled") is True:
        hold = beat.body.get("hold_s")
        if isinstance(hold, (int, float)) and 0 < hold <= BACKFILL_MAX_S:
            return float(hold)
    return stale_s


def spans(beats: Sequence[Beat], start: float, end: float, stale_s: float) -> list[tuple[float, float, Beat]]:
    """The pieces [a, b) of [start, end) each heartbeat speaks for: from its
    arrival until the next one, for at most ``stale_s`` (a backfilled span: its ``hold_s``)."""
    ordered = sorted(beats, key=lambda b: b.at)
    out = []
    for i, beat in enumerate(ordered):
        if beat.at >= end:
            break
        until = beat.at + _hold(beat, stale_s)
        if i + 1 < len(ordered):
            until = min(until, ordered[i + 1].at)
        a, b = max(beat.at, start), min(until, end)
        if b > a:
            out.append((a, b, beat))
    return out


def share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole > 0 else None


def window_availability(beats: Sequence[Beat], *, start: float, end: float, stale_s: float,
                        first_seen: float | None, service_first_seen: Mapping[str, float] | None = None) -> dict:
    """Availability of the terminal and of every service it reported, in [start, end).

    ``first_seen`` is the terminal's first-ever heartbeat (None: never
    reported, nothing can be counted); ``service_first_seen`` the first time
    each service was reported (missing: from ``first_seen``). ``beats`` must
    include the last heartbeat before ``start`` when it still covers it.
    """
    begin = end if first_seen is None else min(end, max(start, first_seen))
    pieces: list[tuple[float, float, dict]] = []
    for a, b, beat in spans(beats, begin, end, stale_s):
        states = service_states(beat.body)
        if pieces and pieces[-1][1] == a and pieces[-1][2] == states:
            pieces[-1] = (pieces[-1][0], b, states)      # same states back to back: one run
        else:
            pieces.append((a, b, states))
    reported = sum(b - a for a, b, _ in pieces)
    seen = dict(service_first_seen or {})
    for a, _, states in pieces:
        for sid in states:
            seen.setdefault(sid, first_seen if first_seen is not None else a)
    services = {}
    for sid in sorted(seen):
        s_begin = min(end, max(begin, seen[sid]))
        up = not_offered = 0.0
        for a, b, states in pieces:
            a = max(a, s_begin)
            if b <= a:
                continue
            if states and sid not in states:
                not_offered += b - a
            elif states.get(sid):
                up += b - a
        counted = end - s_begin - not_offered
        services[sid] = {"availability": share(up, counted), "up_s": round(up, 3),
                         "counted_s": round(max(counted, 0.0), 3), "not_offered_s": round(not_offered, 3)}
    return {"start": iso(begin), "end": iso(end), "counted_s": round(end - begin, 3),
            "reporting_s": round(reported, 3), "reporting": share(reported, end - begin), "services": services}


def evaluation_summary(levels: Mapping[int, int]) -> dict:
    """Counts per level 1..5, the average level and the share of 4-5 (满意, 非常满意)."""
    if not levels:  # most services of most terminals in a fleet report
        return {"count": 0, "levels": dict.fromkeys(map(str, LEVELS), 0), "average": None, "satisfied": None}
    counts = {str(level): int(levels.get(level, 0)) for level in LEVELS}
    n = sum(counts.values())
    total = sum(level * counts[str(level)] for level in LEVELS)
    happy = sum(counts[str(level)] for level in SATISFIED)
    return {"count": n, "levels": counts, "average": round(total / n, 2) if n else None,
            "satisfied": round(happy / n, 4) if n else None}


@functools.lru_cache(maxsize=1024)
def _title(service_id: str) -> tuple[str, str]:
    from kiosk.core.i18n import has, t

    key = f"flows.svc.{service_id}.title"
    return (t(key, "zh"), t(key, "en")) if has(key) else (service_id, service_id)


def service_title(service_id: str) -> dict:
    zh, en = _title(service_id)
    return {"zh": zh, "en": en}


def _clean_devices(body: Mapping) -> dict:
    devices = body.get("devices") if isinstance(body, Mapping) else None
    out = {}
    for name, st in (devices.items() if isinstance(devices, Mapping) else ()):
        if isinstance(st, Mapping):
            out[str(name)] = {k: st[k] for k in ("family", "device", "detail", "message", "last_error") if k in st}
    return out


def _now_state(last: Beat | None, now: float, stale_s: float, sid: str,
               states: Mapping[str, bool]) -> tuple[str, list]:
    if last is None or now - last.at > stale_s:
        return "unknown", []
    if not states:
        return "unknown", []
    if sid not in states:
        return "not_offered", []
    entry = last.body["services"][sid]
    entry = entry if isinstance(entry, Mapping) else {}
    reasons = entry.get("reasons") if isinstance(entry.get("reasons"), list) else \
        ([entry["reason"]] if entry.get("reason") else [])
    return ("available" if states[sid] else "unavailable"), reasons[:5]


def terminal_report(terminal_id: str, beats: Sequence[Beat], *, now: float, stale_s: float,
                    windows: Iterable[str] = tuple(WINDOWS), first_seen: float | None = None,
                    last: Beat | None = None, service_first_seen: Mapping[str, float] | None = None,
                    sessions: Mapping[str, Mapping[str, int]] | None = None,
                    levels: Mapping[str, Mapping[str, Mapping[int, int]]] | None = None,
                    registered_at: float | None = None, per_window: Mapping[str, dict] | None = None) -> dict:
    """One terminal's report. ``sessions[window][service]`` = cases received,
    ``levels[window][service][level]`` = evaluations received, per window;
    ``per_window`` the availability figures when already computed (from
    rollups), else they are computed from ``beats``."""
    windows = list(windows)
    beats = [b for b in beats if b.at <= now]
    if last is None and beats:
        last = max(beats, key=lambda b: b.at)
    if first_seen is None and beats:
        first_seen = min(b.at for b in beats)
    body = last.body if last is not None else {}
    age = round(now - last.at, 3) if last is not None else None
    stale = last is None or age > stale_s
    if per_window is None:
        per_window = {w: window_availability(beats, start=now - WINDOWS[w], end=now, stale_s=stale_s,
                                             first_seen=first_seen, service_first_seen=service_first_seen)
                      for w in windows}
    states = service_states(body) if last is not None else {}
    sids = set(states)
    for w in windows:
        sids |= set(per_window[w]["services"]) | set((sessions or {}).get(w, {})) | set((levels or {}).get(w, {}))
    # The terminal's own order (its catalog) first, then services it no longer reports.
    ordered = [sid for sid in states if sid in sids] + sorted(sids - set(states))
    services = {}
    for sid in ordered:
        state, reasons = _now_state(last, now, stale_s, sid, states)
        entry: dict[str, Any] = {"title": service_title(sid), "now": state, "reasons": reasons, "windows": {}}
        for w in windows:
            avail = per_window[w]["services"].get(sid, {"availability": None, "up_s": 0.0, "counted_s": 0.0,
                                                        "not_offered_s": 0.0})
            entry["windows"][w] = {**avail, "sessions": int((sessions or {}).get(w, {}).get(sid, 0)),
                                   "evaluations": evaluation_summary((levels or {}).get(w, {}).get(sid, {}))}
        services[sid] = entry
    return {
        "terminal_id": terminal_id,
        "state": "never" if last is None else ("stale" if stale else "reporting"),
        "stale": stale,
        "registered_at": iso(registered_at),
        "first_heartbeat_at": iso(first_seen),
        "last_heartbeat_at": iso(last.at) if last else None,
        "last_heartbeat_age_s": age,
        "software_version": body.get("software_version"),
        "devices": _clean_devices(body),
        "outbox": body.get("outbox") if isinstance(body.get("outbox"), Mapping) else {},
        "store": body.get("store") if isinstance(body.get("store"), Mapping) else {},
        "sync": body.get("sync") if isinstance(body.get("sync"), Mapping) else {},
        "windows": {w: {k: v for k, v in per_window[w].items() if k != "services"} for w in windows},
        "services": services,
    }


# -- the query layer ---------------------------------------------------------------

def _load(raw: str) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_report(db, *, now: float, windows: Iterable[str] = tuple(WINDOWS), terminal: str | None = None,
                stale_s: float = DEFAULT_STALE_S) -> dict:
    """The report over a platform ``Database`` at time ``now`` (epoch seconds),
    from the availability rollups (``central.rollups``): a few grouped queries
    for the whole fleet, never one per terminal.

    The spans in the rollups were cut with the server's staleness limit when
    they arrived; ``stale_s`` here applies to the last heartbeat's open span
    and to the services' state now."""
    from .rollups import window_from_rollups, window_sums

    windows = list(windows)
    one = (terminal,) if terminal is not None else ()
    where = " WHERE terminal_id = ?" if terminal is not None else ""
    with db.read() as tx:
        rows = tx.all("SELECT terminal_id, registered_at, first_heartbeat_at, last_heartbeat_at, last_heartbeat"
                      f" FROM terminals{where} ORDER BY terminal_id", one)
        first_seen: dict[str, dict[str, float]] = {}
        for tid, sid, at in tx.all(f"SELECT terminal_id, service, first_seen_at FROM terminal_services{where}", one):
            first_seen.setdefault(tid, {})[sid] = at
        sums, sessions, levels = {}, {}, {}
        for w in windows:
            since = now - WINDOWS[w]
            sums[w] = window_sums(tx, start=since, end=now, terminal=terminal)
            sessions[w] = _grouped(tx.all(
                "SELECT terminal_id, service, COUNT(*) FROM cases WHERE received_at > ? AND received_at <= ?"
                + (" AND terminal_id = ?" if terminal is not None else "") + " GROUP BY terminal_id, service",
                (since, now) + one))
            levels[w] = {}
            for tid, sid, level, n in tx.all(
                    "SELECT c.terminal_id, c.service, e.level, COUNT(*) FROM evaluations e"
                    " JOIN cases c ON c.case_id = e.case_id WHERE e.received_at > ? AND e.received_at <= ?"
                    + (" AND c.terminal_id = ?" if terminal is not None else "")
                    + " GROUP BY c.terminal_id, c.service, e.level", (since, now) + one):
                levels[w].setdefault(tid, {}).setdefault(sid, {})[int(level)] = int(n)
        out = []
        for tid, registered, first, last_at, last_body in rows:
            if last_at is not None and last_at > now:  # a report as of an earlier time (--at)
                row = tx.one("SELECT received_at, body FROM heartbeats WHERE terminal_id = ? AND received_at <= ?"
                             " ORDER BY received_at DESC LIMIT 1", (tid, now))
                last_at, last_body = row if row else (None, None)
            first = first if first is not None and first <= now else None
            last = Beat(last_at, _load(last_body)) if last_at is not None else None
            per_window = {w: window_from_rollups(
                sums[w].get(tid, {}), last, start=now - WINDOWS[w], end=now,
                stale_s=stale_s, first_seen=first, service_first_seen=first_seen.get(tid, {})) for w in windows}
            out.append(terminal_report(
                tid, [], now=now, stale_s=stale_s, windows=windows, first_seen=first, last=last,
                service_first_seen=first_seen.get(tid, {}), per_window=per_window,
                sessions={w: sessions[w].get(tid, {}) for w in windows},
                levels={w: levels[w].get(tid, {}) for w in windows}, registered_at=registered))
    return {"generated_at": iso(now), "stale_after_s": stale_s,
            "windows": {w: WINDOWS[w] for w in windows}, "terminals": out}


def _grouped(rows: list[tuple]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for tid, sid, n in rows:
        out.setdefault(tid, {})[sid] = int(n)
    return out
