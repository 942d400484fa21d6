"""The one status model of a terminal, and the one "can it serve" rule.

``build(app)`` is the report every reader uses: the heartbeat to central
(``heartbeat``), ``kiosk health`` (through the status snapshot the running app
publishes), ``kiosk diagnose`` and the technician screen, the metrics gauges
and the touch screen's out-of-service page (``out_of_service_reason``).  Its
parts have one shape each:

- ``devices``: ``{name: {family, url, simulated, device, detail, message,
  timestamp, last_error, usable}}`` (``DeviceManager.describe``);
- ``services``: ``{service_id: {available, reasons}}`` (reasons in English);
- ``store``: the case store's health; ``outbox``: ``{pending, dead, synced,
  oldest_pending_at}``; ``last_sync``; ``sync``; ``disk``; ``time``.

``evaluate(report)`` is the rule: ``out_of_service`` when an essential device
family has no usable device, the store does not accept cases, or no service
can be offered; ``degraded`` when anything else is wrong; ``ok`` otherwise.
A part missing from the report (``kiosk diagnose --devices-only`` has no
store and no services) is not judged.  No personal data in any part.
"""

from __future__ import annotations

import shutil
import subprocess
import time

from . import __version__
from .core.i18n import text

# Families without which the terminal cannot serve anyone: every service
# starts from an ID card.  A missing printer or camera makes the services
# that need it unavailable (shown with the reason), not the whole terminal.
ESSENTIAL_FAMILIES = ("idcard",)
USABLE_STATES = ("online", "deviceBusy")
# kiosk health's quick checks without the app: the device is there, not exercised
UNPROBED_STATES = ("present", "notProbed")
DEVICE_KEYS = ("family", "device", "detail", "message", "last_error")

DISK_LOW_BYTES = 500 * 1024 * 1024
DISK_LOW_SHARE = 0.05
TIME_SYNC_TTL_S = 60.0
_time_sync_cache: tuple[float, dict] | None = None


# --- parts ---------------------------------------------------------------------
def devices(manager, refresh: bool = False) -> dict[str, dict]:
    """Every configured device in the one device shape, by name."""
    if manager is None:
        return {}
    return {entry.pop("name"): entry for entry in manager.describe(refresh=refresh)}


def services(app) -> dict[str, dict]:
    """Each offered service's availability now (device checks are rate-limited,
    so a printer that ran out of paper while nobody used the screen shows)."""
    out = {}
    for item in app.catalog_state(refresh=True):
        out[item["id"]] = {"available": bool(item["available"]),
                           "reasons": [r["en"] for r in item.get("reasons") or []]}
    return out


def outbox(app) -> tuple[dict, dict | None, dict, str | None]:
    """(store health, sync status, outbox counts, last sync).

    The last sync is the store's newest acknowledged case, so it is right when
    a separate kiosk-sync service does the syncing (``sync.in_app = false``);
    the in-process worker's last success is only the fallback.
    """
    store = getattr(app, "store", None)
    sync = getattr(app, "sync", None)
    health = store.health() if store is not None else {"ok": False, "accepting": False, "state": "unavailable"}
    status = sync.status() if sync is not None else None
    counts = {"pending": health.get("outbox"), "dead": health.get("dead"), "synced": health.get("synced"),
              "oldest_pending_at": health.get("oldest_pending_at")}
    return health, status, counts, health.get("last_acked_at") or (status or {}).get("last_success_at")


def disk(path) -> dict:
    """Free space where cases are kept."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"path": str(path), "ok": False, "error": exc.strerror or str(exc)}
    share = usage.free / usage.total if usage.total else 0.0
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total,
            "free_share": round(share, 4), "ok": usage.free >= DISK_LOW_BYTES and share >= DISK_LOW_SHARE}


def time_sync() -> dict:
    """Whether the clock is NTP-synchronised, probed at most once a minute: the
    status publisher asks every few seconds and each probe starts a process."""
    global _time_sync_cache
    now = time.monotonic()
    if _time_sync_cache is not None and now - _time_sync_cache[0] < TIME_SYNC_TTL_S:
        return dict(_time_sync_cache[1])
    result = _probe_time_sync()
    _time_sync_cache = (now, result)
    return dict(result)


def _probe_time_sync() -> dict:
    """systemd-timesyncd or chrony; unknown in containers."""
    probes = (["timedatectl", "show", "-p", "NTPSynchronized", "--value"], ["chronyc", "-n", "tracking"])
    for cmd in probes:
        if not shutil.which(cmd[0]):
            continue
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        if cmd[0] == "timedatectl":
            return {"synchronized": out.stdout.strip() == "yes", "source": "systemd-timesyncd"}
        return {"synchronized": "Leap status     : Normal" in out.stdout, "source": "chrony"}
    return {"synchronized": None, "source": "unknown"}


def remote_config(config) -> dict:
    try:
        from .core.remote_config import RemoteConfigStore, trusted_keys_from_config

        store = RemoteConfigStore(config.data_dir, config.terminal_id, trusted_keys_from_config(config))
        doc = store.current()
        return {"version": doc["version"] if doc else None, "last_error": store.last_error or None}
    except Exception as exc:
        return {"version": None, "last_error": str(exc)}


# --- the report and the rule ----------------------------------------------------------
def build(app, refresh_devices: bool = False) -> dict:
    """The whole report from a started KioskApp, judged by ``evaluate``."""
    store, sync, counts, last_sync = outbox(app)
    report = {
        "version": __version__,
        "terminal": app.config.terminal_id,
        "profile": app.config.get("terminal.profile"),
        "mode": app.config.mode,
        "services": services(app),
        # after the services: their availability check has just refreshed the devices they need
        "devices": devices(app.devices, refresh=refresh_devices),
        "store": {k: store.get(k) for k in ("ok", "accepting", "state", "message", "schema_version", "integrity")},
        "outbox": counts,
        "last_sync": last_sync,
        "sync": {k: sync.get(k) for k in ("state", "message", "last_error", "consecutive_failures")} if sync else None,
        "disk": disk(app.config.data_dir),
        "time": time_sync(),
        "remote_config": remote_config(app.config),
    }
    return judge(report)


def judge(report: dict) -> dict:
    """Sets ``state``, ``can_serve``, ``problems`` and ``blocking`` on the report."""
    report["state"], report["problems"] = evaluate(report)
    report["blocking"] = blocking(report)
    report["can_serve"] = report["state"] != "out_of_service"
    return report


def blocking(report: dict) -> list[str]:
    """What keeps this terminal from serving anyone (English, for operators)."""
    found = []
    if report.get("devices") is not None:
        found += [f"essential device {name}" for name in essential_broken(report["devices"])]
    if report.get("store") is not None and not report["store"].get("accepting"):
        found.append(f"case store not accepting cases ({report['store'].get('state')})")
    if "services" in report and not any((v or {}).get("available") for v in (report["services"] or {}).values()):
        found.append("no service can be offered")
    return found


def essential_broken(devs: dict[str, dict]) -> list[str]:
    """Names of essential devices none of which is usable ("family (not configured)" when absent)."""
    broken = []
    for family in ESSENTIAL_FAMILIES:
        found = {name: d for name, d in devs.items() if d.get("family", name) == family}
        if not found:
            broken.append(f"{family} (not configured)")
        elif not any(usable(d) for d in found.values()):
            broken.extend(found)
    return broken


def usable(entry: dict) -> bool:
    return entry.get("device") in USABLE_STATES + UNPROBED_STATES


def evaluate(report: dict) -> tuple[str, list[str]]:
    """ok / degraded / out_of_service and the reasons, in English for logs."""
    cannot = blocking(report)
    problems: list[str] = list(cannot)
    if report.get("mode") == "demo":
        from .core.production import DEMO_PROBLEM
        problems.append(DEMO_PROBLEM)
    for sid, v in (report.get("services") or {}).items():
        if not v.get("available"):
            problems.append(f"service {sid} unavailable: {'; '.join(v.get('reasons') or []) or 'no reason given'}")
    for name, d in (report.get("devices") or {}).items():
        if not usable(d):
            why = f": {d['last_error']}" if d.get("last_error") else ""
            problems.append(f"device {name} {d.get('device')}{why}")
    if not (report.get("disk") or {}).get("ok", True):
        problems.append("disk space low")
    if (report.get("outbox") or {}).get("dead"):
        problems.append(f"{report['outbox']['dead']} case(s) rejected by the central platform (dead letters)")
    if (report.get("time") or {}).get("synchronized") is False:
        problems.append("clock not synchronised")
    if cannot:
        return "out_of_service", problems
    return ("degraded" if problems else "ok"), problems


# --- readers --------------------------------------------------------------------
def heartbeat(app) -> dict:
    """The application's part of the heartbeat (central/openapi.yaml ``Heartbeat``):
    devices and services, and whether the terminal can serve; the sync worker
    adds the outbox, store and sync parts itself."""
    report = build(app)
    devs = {name: {k: d.get(k) for k in DEVICE_KEYS} for name, d in report["devices"].items()}
    return {"devices": devs, "services": report["services"], "state": report["state"],
            "can_serve": report["can_serve"], "blocking": report["blocking"]}


def out_of_service_reason(app) -> dict | None:
    """The resident's reason for the out-of-service screen ({zh, en}), or None.

    The same rule as ``evaluate`` from what the app already knows, without
    probing anything (the screen asks on its own thread): the device states,
    whether the store accepts cases, and the services' last availability."""
    from flows.engine import resident_reason

    if app is None:
        return None
    manager = getattr(app, "devices", None)
    statuses = [(dev.family, dev.status()) for dev in (manager.devices.values() if manager is not None else ())]
    for family in ESSENTIAL_FAMILIES:
        found = [st for fam, st in statuses if fam == family]
        device = text(f"flows.device.{family}")
        if not found:
            return text("flows.unavailable.no_device", device=device.zh, device_en=device.en).as_dict()
        if not any(st.usable for st in found):
            # the resident gets the device and a plain reason; the technician's
            # detail is in diagnostics and the log
            why = resident_reason(found[0])
            return text("flows.unavailable.device", device=device.zh, device_en=device.en,
                        reason=why.zh, reason_en=why.en).as_dict()
    store = getattr(app, "store", None)
    if store is None or not store.accepting:
        return text("flows.unavailable.store").as_dict()
    last = getattr(app, "last_availability", None)
    if last and not any(last.values()):
        return text("status.no_service").as_dict()
    return None

