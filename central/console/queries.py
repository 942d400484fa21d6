"""What the console reads and writes beyond central's own storage and report
functions: the fleet at a glance (from each terminal's last heartbeat), one
terminal's hourly timeline and recent problems, fleet-wide service figures
(from ``central.report``), config pushes and the console's audit trail.

Terminal-supplied text (site names, versions, device details) is data: it is
escaped by the templates and defused in CSV cells here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from .. import report as availability_report
from ..common import json_object
from ..report import Beat

# Created by migration 3 (central/migrations.py).
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS console_audit (
        id          BIGINT PRIMARY KEY,
        at          DOUBLE PRECISION NOT NULL,
        operator    TEXT NOT NULL,
        action      TEXT NOT NULL,
        targets     TEXT NOT NULL,
        detail      TEXT NOT NULL,
        address     TEXT NOT NULL)""",
]

STATES = ("reporting", "stale", "never")
FILTERS = ("site", "profile", "version", "state")
MAX_SETTINGS = 16 * 1024          # bytes of TOML an operator may push at once
MAX_TARGETS = 5000


def _text(value: Any, limit: int = 80) -> str:
    return value[:limit] if isinstance(value, str) else ""


# -- the fleet ------------------------------------------------------------------------

def terminal_row(tid: str, registered: float, last_at: float | None, body: dict, now: float, stale_s: float) -> dict:
    state = "never" if last_at is None else ("stale" if now - last_at > stale_s else "reporting")
    services = body.get("services") if isinstance(body.get("services"), Mapping) else {}
    devices = body.get("devices") if isinstance(body.get("devices"), Mapping) else {}
    outbox = body.get("outbox") if isinstance(body.get("outbox"), Mapping) else {}
    up = sum(1 for v in services.values() if isinstance(v, Mapping) and v.get("available") is True)
    bad = sorted((str(name)[:64], _text(st.get("family") if isinstance(st, Mapping) else "", 32))
                 for name, st in devices.items()
                 if not isinstance(st, Mapping) or st.get("device") not in ("online", "deviceBusy"))
    return {"terminal_id": tid, "site": _text(body.get("site")), "site_en": _text(body.get("site_en")),
            "profile": _text(body.get("profile"), 16),
            "version": _text(body.get("software_version"), 64), "state": state, "registered_at": registered,
            "last_at": last_at, "age_s": None if last_at is None else max(now - last_at, 0.0),
            "services_up": up, "services_total": len(services), "devices_bad": bad[:10],
            "outbox_pending": outbox.get("pending") if isinstance(outbox.get("pending"), int) else None,
            "outbox_dead": outbox.get("dead") if isinstance(outbox.get("dead"), int) else None}


def fleet(db, now: float, stale_s: float) -> list[dict]:
    """Every terminal central knows, with its state from the last heartbeat."""
    with db.read() as tx:
        rows = tx.all("SELECT terminal_id, registered_at, last_heartbeat_at, last_heartbeat FROM terminals"
                      " ORDER BY terminal_id")
    return [terminal_row(tid, reg, last, json_object(body), now, stale_s) for tid, reg, last, body in rows]


def filter_choices(rows: list[dict]) -> dict[str, list[str]]:
    return {"site": sorted({r["site"] for r in rows if r["site"]}),
            "profile": sorted({r["profile"] for r in rows if r["profile"]}),
            "version": sorted({r["version"] for r in rows if r["version"]}),
            "state": list(STATES)}


def apply_filters(rows: list[dict], chosen: Mapping[str, str]) -> list[dict]:
    out = rows
    for key in FILTERS:
        want = chosen.get(key) or ""
        if want:
            out = [r for r in out if r[key] == want]
    return out


def state_counts(rows: Iterable[dict]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for r in rows:
        counts[r["state"]] += 1
    return counts


def stale_alerts(rows: list[dict]) -> list[dict]:
    """Terminals not reporting: the longest silent first, then those never heard from."""
    stale = sorted((r for r in rows if r["state"] == "stale"), key=lambda r: -r["age_s"])
    never = sorted((r for r in rows if r["state"] == "never"), key=lambda r: r["registered_at"])
    return stale + never


# -- one terminal ----------------------------------------------------------------------

def beats(db, tid: str, start: float, end: float) -> list[Beat]:
    """Heartbeats received in [start, end], with the last one before ``start``."""
    with db.read() as tx:
        before = tx.one("SELECT received_at, body FROM heartbeats WHERE terminal_id = ? AND received_at < ?"
                        " ORDER BY received_at DESC LIMIT 1", (tid, start))
        rows = tx.all("SELECT received_at, body FROM heartbeats WHERE terminal_id = ? AND received_at >= ?"
                      " AND received_at <= ? ORDER BY received_at", (tid, start, end))
    out = [Beat(at, json_object(body)) for at, body in ([before] if before else []) + rows]
    return out


def hour_starts(end: float, hours: int) -> list[float]:
    """The starts of the last ``hours`` clock hours, the one holding ``end`` last."""
    top = end if end % 3600 == 0 else end - end % 3600 + 3600
    return [top - 3600 * (hours - i) for i in range(hours)]


def timeline(db, tid: str, services: Iterable[str], *, end: float, hours: int, stale_s: float,
             first_seen: float | None, service_first_seen: Mapping[str, float], last: Beat | None) -> dict:
    """Per service, the availability of each of the last ``hours`` clock hours
    (None: nothing to count, e.g. before the first heartbeat), from the hourly
    rollups the report reads too, plus the last heartbeat's open span."""
    from ..rollups import HOUR, window_from_rollups

    starts = hour_starts(end, hours)
    with db.read() as tx:
        rows = tx.all("SELECT service, bucket, available_s, not_offered_s FROM availability_rollups"
                      " WHERE terminal_id = ? AND span = ? AND bucket >= ? AND bucket < ?",
                      (tid, HOUR, starts[0], end))
    sums: dict[float, dict[str, tuple[float, float]]] = {}
    for sid, bucket, up, off in rows:
        sums.setdefault(float(bucket), {})[sid] = (float(up), float(off))
    out: dict[str, list] = {sid: [] for sid in services}
    for a in starts:
        part = window_from_rollups(sums.get(a, {}), last, start=a, end=min(a + HOUR, end), stale_s=stale_s,
                                   first_seen=first_seen, service_first_seen=service_first_seen)
        for sid, cells in out.items():
            fig = part["services"].get(sid)
            cells.append(fig["availability"] if fig else None)
    return {"starts": starts, "services": out}


def recent_problems(heartbeats: list[Beat], *, stale_s: float, limit: int = 40) -> list[dict]:
    """Onsets of trouble in the heartbeats, newest first: a device leaving
    online, a service becoming unavailable, a sync failing, a silence (time
    no heartbeat or reported offline span speaks for)."""
    events: list[dict] = []
    devices: dict[str, str] = {}
    services: dict[str, bool] = {}
    sync_failing = False
    covered: float | None = None          # until when the heartbeats so far speak
    for beat in sorted(heartbeats, key=lambda b: b.at):
        body = beat.body
        if covered is not None and beat.at > covered:
            events.append({"at": covered, "kind": "silence", "name": "", "detail": beat.at - covered})
        hold = body.get("hold_s") if body.get("backfilled") is True else None
        until = beat.at + (float(hold) if isinstance(hold, (int, float)) else stale_s)
        covered = until if covered is None else max(covered, until)
        _device_events(events, devices, beat)
        for sid, ok in availability_report.service_states(body).items():
            if not ok and services.get(sid, True):
                entry = body["services"][sid]
                reasons = entry.get("reasons") if isinstance(entry, Mapping) else None
                why = "; ".join(str(r)[:80] for r in reasons[:2]) if isinstance(reasons, list) else ""
                events.append({"at": beat.at, "kind": "service", "name": sid[:64], "detail": why})
            services[sid] = ok
        sync = body.get("sync")
        if isinstance(sync, Mapping):
            failing = isinstance(sync.get("consecutive_failures"), int) and sync["consecutive_failures"] > 0
            if failing and not sync_failing:
                events.append({"at": beat.at, "kind": "sync", "name": "", "detail": _text(sync.get("state"), 40)})
            sync_failing = failing
    return sorted(events, key=lambda e: -e["at"])[:limit]


def _device_events(events: list[dict], devices: dict[str, str], beat: Beat) -> None:
    reported = beat.body.get("devices")
    for name, st in reported.items() if isinstance(reported, Mapping) else ():
        state = str(st.get("device")) if isinstance(st, Mapping) else "?"
        if state not in ("online", "deviceBusy") and devices.get(name, "online") != state:
            events.append({"at": beat.at, "kind": "device", "name": str(name)[:64], "detail": state})
        devices[name] = state


def devices_of(body: Mapping) -> dict[str, dict]:
    """The devices of a heartbeat: name -> state, family, detail, last error."""
    devices = body.get("devices") if isinstance(body.get("devices"), Mapping) else {}
    return {str(name)[:64]: {"device": _text(st.get("device"), 32), "family": _text(st.get("family"), 32),
                             "detail": st.get("detail") if isinstance(st.get("detail"), Mapping) else {},
                             "last_error": _text(st.get("last_error"), 200),
                             "message": {lang: _text(text, 200) for lang, text in st["message"].items()
                                         if lang in ("zh", "en")} if isinstance(st.get("message"), Mapping) else {}}
            for name, st in list(devices.items())[:50] if isinstance(st, Mapping)}


def terminal_detail(db, tid: str) -> dict | None:
    with db.read() as tx:
        row = tx.one("SELECT registered_at, last_heartbeat_at, last_heartbeat FROM terminals WHERE terminal_id = ?",
                     (tid,))
        if row is None:
            return None
        first = tx.one("SELECT first_heartbeat_at FROM terminals WHERE terminal_id = ?", (tid,))[0]
        seen = dict(tx.all("SELECT service, first_seen_at FROM terminal_services WHERE terminal_id = ?", (tid,)))
        cfg = tx.all("SELECT target, version, config FROM terminal_configs WHERE target IN ('*', ?)", (tid,))
    return {"registered_at": row[0], "last_at": row[1], "body": json_object(row[2]), "first_seen": first,
            "service_first_seen": seen, "configs": {t: {"version": v, "config": json_object(c)} for t, v, c in cfg}}


# -- services across the fleet ---------------------------------------------------------

def service_summary(report: dict) -> list[dict]:
    """Per service: terminals offering it, how many serve it now, and fleet
    availability per window (time-weighted over all terminals)."""
    out: dict[str, dict] = {}
    for term in report["terminals"]:
        for sid, svc in term["services"].items():
            row = out.setdefault(sid, {"service": sid, "title": svc["title"], "terminals": 0,
                                       "now": {"available": 0, "unavailable": 0, "unknown": 0, "not_offered": 0},
                                       "windows": {w: {"up_s": 0.0, "counted_s": 0.0, "sessions": 0}
                                                   for w in report["windows"]}})
            row["terminals"] += 1
            row["now"][svc["now"]] += 1
            for w, fig in svc["windows"].items():
                agg = row["windows"][w]
                agg["up_s"] += fig["up_s"]
                agg["counted_s"] += fig["counted_s"]
                agg["sessions"] += fig["sessions"]
    for row in out.values():
        for agg in row["windows"].values():
            agg["availability"] = availability_report.share(agg["up_s"], agg["counted_s"])
    return sorted(out.values(), key=lambda r: (r["windows"][next(iter(r["windows"]))]["availability"] or 0,
                                               r["service"]))


# -- config push -----------------------------------------------------------------------

class SettingsError(ValueError):
    """Settings an operator may not push: a code for the page's own words, and its arguments."""

    def __init__(self, code: str, **args: Any):
        super().__init__(code)
        self.code, self.params = code, args


def flatten(data: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _matches(dotted: str, entries: Iterable[str]) -> bool:
    return any(dotted == p or (p.endswith(".") and dotted.startswith(p)) for p in entries)


def check_keys(keys: list[str]) -> None:
    """The terminal's own rule (``key_problem``) decides; the console only
    sorts the refused keys into security-relevant, not remote and unknown."""
    from kiosk.core.remote_config import ALLOWED_PREFIXES, SECURITY_KEYS, key_problem

    refused = [k for k in keys if key_problem([k])]
    if not refused and key_problem(keys) is None:
        return
    security = [k for k in refused if _matches(k, SECURITY_KEYS)]
    if security:
        raise SettingsError("security", keys=", ".join(security))
    local = [k for k in refused if not _matches(k, ALLOWED_PREFIXES)]
    if local:
        raise SettingsError("not_allowed", keys=", ".join(local))
    raise SettingsError("unknown", keys=", ".join(refused or keys))


def parse_settings(text: str) -> dict:
    """TOML settings, checked as a terminal will check them (allowed keys,
    none of the security-relevant ones, values the config schema takes)."""
    from kiosk.core.config import ConfigError, load_config

    if len(text.encode("utf-8", "replace")) > MAX_SETTINGS:
        raise SettingsError("too_large", kb=MAX_SETTINGS // 1024)
    try:
        settings = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise SettingsError("toml", line=line.group(1) if line else "?") from None
    if not settings:
        raise SettingsError("empty")
    check_keys(list(flatten(settings)))
    try:
        load_config(None, env={}, overrides=settings, remote=False)
    except ConfigError as exc:
        raise SettingsError("invalid", setting=exc.key, problem=exc.problem) from None
    return settings


def merge(base: Mapping, over: Mapping) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) \
            else value
    return out


def known_terminals(db, ids: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(ids))[:MAX_TARGETS]
    with db.read() as tx:
        have = {r[0] for r in tx.all("SELECT terminal_id FROM terminals")}
    return [t for t in wanted if t in have]


def push_config(db, *, operator: str, targets: list[str], settings: dict, now: float, address: str) -> dict:
    """Merge ``settings`` into each target's own config and record who did it,
    in one transaction. Central signs each terminal's document when it asks
    for it (``GET /v1/terminals/{id}/config``)."""
    versions = {}
    with db.transaction() as tx:
        star = tx.one("SELECT version FROM terminal_configs WHERE target = '*'")
        for tid in targets:
            row = tx.one("SELECT version, config FROM terminal_configs WHERE target = ?", (tid,))
            version = (row[0] if row else 0) + 1
            config = merge(json_object(row[1]) if row else {}, settings)
            tx.run("DELETE FROM terminal_configs WHERE target = ?", (tid,))
            tx.run("INSERT INTO terminal_configs(target, version, config, updated_at) VALUES (?,?,?,?)",
                   (tid, version, json.dumps(config, ensure_ascii=False), now))
            versions[tid] = 1 + version + (star[0] if star else 0)   # what the terminal's document will say
        audit_id = _audit(tx, now=now, operator=operator, action="config_push", targets=targets,
                          detail={"settings": settings, "versions": versions}, address=address)
    return {"audit_id": audit_id, "versions": versions}


# -- the console's audit trail -----------------------------------------------------------

def _audit(tx, *, now: float, operator: str, action: str, targets: list[str], detail: dict, address: str) -> int:
    audit_id = tx.bump("console_audit")
    tx.run("INSERT INTO console_audit(id, at, operator, action, targets, detail, address) VALUES (?,?,?,?,?,?,?)",
           (audit_id, now, operator[:64], action, json.dumps(targets), json.dumps(detail, ensure_ascii=False),
            address[:64]))
    return audit_id


def audit(db, **fields) -> int:
    with db.transaction() as tx:
        return _audit(tx, **fields)


def audit_records(db, limit: int = 200, record_id: int | None = None) -> list[dict]:
    with db.read() as tx:
        if record_id is not None:
            rows = tx.all("SELECT id, at, operator, action, targets, detail, address FROM console_audit"
                          " WHERE id = ?", (record_id,))
        else:
            rows = tx.all("SELECT id, at, operator, action, targets, detail, address FROM console_audit"
                          " ORDER BY id DESC LIMIT ?", (limit,))
    return [{"id": i, "at": at, "operator": op, "action": act, "targets": json.loads(tg),
             "detail": json.loads(dt), "address": ad} for i, at, op, act, tg, dt, ad in rows]


# -- CSV -------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    """A spreadsheet must not run a terminal-supplied '=...' as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(header: list[str], rows: Iterable[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()
