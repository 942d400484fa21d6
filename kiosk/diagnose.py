"""Terminal self-check, shared by ``kiosk diagnose`` and the technician screen.

``Diagnostics(config, source)`` takes a running ``KioskApp`` (or the UI's
backend wrapping one, or a bare ``DeviceManager``) and runs named actions:

- ``report``: the status model (kiosk/status.py): every device with its
  common status and last error, what keeps the terminal from serving, the
  outbox and last sync, the network check, the data directory; ``ok`` is
  False when the terminal cannot serve or its data directory is unusable.
- test actions: ``read_id``, ``read_smartcard``, ``camera``, ``print_ticket``,
  ``print_a4``, ``printer_status``, ``network``, ``logs``.

Every result is a JSON-able dict with personal data masked.  Qt-free.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import shutil
import time
from typing import Any

import click

from .core.i18n import t
from .core.masking import mask_mapping

log = logging.getLogger(__name__)

ACTIONS = ("report", "read_id", "read_smartcard", "camera", "face", "print_ticket", "print_a4", "printer_status",
           "network", "logs")


class LogTail(logging.Handler):
    """Keeps the last lines of the log, masked like every other handler."""

    def __init__(self, size: int = 200):
        super().__init__(level=logging.INFO)
        from .core.logs import MaskingFilter

        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.addFilter(MaskingFilter())
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            pass


_tail: LogTail | None = None


def log_tail() -> LogTail:
    global _tail
    if _tail is None:
        _tail = LogTail()
        logging.getLogger().addHandler(_tail)
    return _tail


def local_time(iso: str | None) -> str | None:
    """'2026-11-23T09:00:54.268+00:00' -> '2026-11-23 17:00:54' in the terminal's time zone."""
    if not iso:
        return None
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(iso)


def _app_of(source: Any) -> Any:
    return getattr(source, "app", None) if hasattr(source, "camera_latest") else source


def _manager_of(source: Any) -> Any:
    app = _app_of(source)
    if app is None:
        return None
    if hasattr(app, "by_family") and hasattr(app, "devices"):
        return app  # a DeviceManager
    return getattr(app, "devices", None)


def _detail_text(detail: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(detail.items()) if v not in (None, "", [], {}))



def _both(key: str, **kw) -> dict:
    """A catalog text in both languages (the technician screen picks one)."""
    return {"zh": t(key, "zh", **kw), "en": t(key, "en", **kw)}

class Diagnostics:
    def __init__(self, config, source: Any = None):
        self.config = config
        self.source = source
        log_tail()

    # --- helpers ----------------------------------------------------------------
    @property
    def manager(self):
        return _manager_of(self.source)

    @property
    def app(self):
        return _app_of(self.source)

    def _device(self, family: str):
        manager = self.manager
        return manager.first(family) if manager is not None else None

    def run_action(self, name: str) -> dict:
        if name not in ACTIONS:
            return {"ok": False, "error": f"unknown action {name!r}"}
        try:
            result = getattr(self, f"action_{name}")()
        except Exception as exc:
            log.warning("diagnostic action failed", extra={"action": name, "reason": str(exc)})
            result = {"ok": False, "error": _error_text(exc)}
        return mask_mapping(result)

    # --- report (the one status model, kiosk/status.py) ----------------------------
    def devices(self, refresh: bool = True) -> list[dict]:
        """The status model's devices as a list for the technician screen, keyed
        "id", not "name": "name" is a personal field for the masking rules."""
        from . import status

        return [{"id": name, **d, "detail_text": _detail_text(d["detail"])}
                for name, d in status.devices(self.manager, refresh=refresh).items()]

    def outbox(self) -> dict:
        from . import status

        app = self.app
        if app is None or getattr(app, "store", None) is None:
            return {"ok": False, "pending": None, "last_sync": None, "error": "case store not running"}
        _store, sync, counts, last_sync = status.outbox(app)
        sync = sync or {}
        dead = counts["dead"] or 0
        pending = counts["pending"] or 0
        return {"ok": dead == 0, "pending": pending, "dead": dead,
                "oldest_pending_at": counts["oldest_pending_at"], "last_sync": last_sync,
                "last_sync_local": local_time(last_sync),
                "sync_state": sync.get("state"), "last_error": sync.get("last_error")}

    def data_dir(self) -> dict:
        from .status import disk

        path = self.config.data_dir
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return {"ok": False, "path": str(path), "error": exc.strerror or str(exc)}
        found = disk(path)
        if "error" in found:
            return found
        writable = os.access(path, os.W_OK)
        free_mb = found["free_bytes"] // (1024 * 1024)
        return {"ok": writable and found["ok"], "path": str(path), "free_mb": free_mb, "writable": writable,
                "free_share": found["free_share"]}

    def status(self) -> dict:
        """The status model's verdict: the whole report from a running app, or
        the devices alone (``--devices-only``, a bare DeviceManager)."""
        from . import status

        app = self.app
        if app is not None and hasattr(app, "catalog_state"):
            return status.build(app, refresh_devices=True)
        return status.judge({"devices": status.devices(self.manager, refresh=True)})

    def face(self) -> dict | None:
        """Which face encoder runs (None without a kiosk app, e.g. --devices-only)."""
        app = self.app
        if app is None or not hasattr(app, "face_verifier"):
            return None
        try:
            status = app.face_verifier().engine_status()
        except ImportError as exc:
            return {"ok": False, "error": f"face verification not installed: {exc}"}
        return {"ok": True, **status}

    def action_report(self) -> dict:
        verdict = self.status()
        devices = [{"id": name, **d, "detail_text": _detail_text(d["detail"])}
                   for name, d in verdict["devices"].items()]
        data = self.data_dir()
        report = {
            "terminal": self.config.terminal_id,
            "state": verdict["state"],
            "can_serve": verdict["can_serve"],
            "blocking": verdict["blocking"],
            "problems": verdict["problems"],
            "devices": devices,
            "outbox": self.outbox(),
            "network": self.action_network(),
            "data_dir": data,
            "voice": {"ok": shutil.which("espeak-ng") is not None},
            "face": self.face(),
            "logs": list(log_tail().lines)[-40:],
        }
        report["ok"] = verdict["can_serve"] and data["ok"]
        report["summary"] = (t("ui.diag.core_broken", "en", names="; ".join(verdict["blocking"]))
                             if verdict["blocking"] else t("ui.diag.all_ok", "en"))
        return report

    # --- test actions -------------------------------------------------------------
    def action_read_id(self) -> dict:
        dev = self._need("idcard")
        identity = dev.read_card(timeout=3.0)
        try:
            fields = identity.as_dict(reveal=False)
        finally:
            identity.wipe()
        return {"ok": not fields.get("problems"), "fields": fields,
                "summary": f"{fields['name']} {fields['id_number']} ({fields['card_type']})"}

    def action_read_smartcard(self) -> dict:
        dev = self._need("smartcard")
        try:
            identity = dev.read_social_security(timeout=3.0)
        except Exception as first:
            try:
                card = dev.read_bank_card(timeout=3.0)
            except Exception:
                raise first from None
            card = mask_mapping({"pan": card.get("pan", ""), "expiry": card.get("expiry", ""),
                                 "scheme": card.get("scheme", "")})
            return {"ok": True, "card": card, "summary": f"bank {card['pan']}"}
        fields = identity.as_dict(reveal=False)
        identity.wipe()
        return {"ok": True, "fields": fields, "summary": f"{fields['name']} {fields['id_number']}"}

    def action_camera(self) -> dict:
        dev = self._need("camera")
        got = dev.latest()
        if not got:
            return {"ok": False, "error": "no frame yet"}
        frame, _ts = got
        fps = float(dev.fps()) if hasattr(dev, "fps") else 0.0
        h, w = frame.shape[:2]
        return {"ok": True, "fps": round(fps, 1), "size": f"{w}x{h}", "summary": f"{w}x{h} @ {fps:.1f} fps"}

    def action_face(self) -> dict:
        """Face stack self-test: models load, the encoder agrees with dlib, and what the
        camera sees now (face count and the first quality reason; no image is kept)."""
        face = self.face()
        if face is None:
            return {"ok": False, "error": "face verification runs only inside the kiosk app"}
        if not face["ok"]:
            return face
        import numpy as np

        from devices.face import resnet

        verifier = self.app.face_verifier()
        chip = resnet.reference_chip()
        runs = []
        for _ in range(3):  # the best of three: the first call also warms caches and BLAS threads
            started = time.perf_counter()
            verifier.encode_chip(chip)
            runs.append((time.perf_counter() - started) * 1000)
        encode_ms = round(min(runs), 1)
        engines = {lang: t("ui.diag.face_engine", lang, engine=face["active"], ms=encode_ms) for lang in ("zh", "en")}
        if face.get("problem"):
            engines = {lang: e + t("ui.diag.numpy_refused", lang, problem=face["problem"]) for lang,
                       e in engines.items()}
        out = {"ok": True, **face, "encode_ms": encode_ms}
        cam = self.manager.by_family("camera") if self.manager is not None else []
        got = cam[0].latest() if cam else None
        if got:
            analysis = verifier.analyse(np.asarray(got[0]))
            out["faces"] = len(analysis.faces)
            out["quality"] = list(analysis.quality)
            seen = analysis.quality[0] if analysis.quality else "ui.tech.face_ready"
        else:
            seen = "ui.tech.no_frame"
        out["summary"] = {"zh": f"{engines['zh']}；摄像头：{t(seen, 'zh')}",
                          "en": f"{engines['en']}; camera: {t(seen, 'en')}"}
        return out

    def action_print_ticket(self) -> dict:
        dev = self._need("escpos")
        result = dev.print_ticket({"number": "TEST", "service": {"zh": "打印测试", "en": "Print test"},
                                   "hall": self.config.get("terminal.hall", ""), "waiting": 0,
                                   "job_id": f"diag-{int(time.time())}"})
        state = getattr(result, "state", "printed")
        return {"ok": bool(getattr(result, "confirmed", True)), "state": state,
                "summary": _both("ui.diag.ticket_" + (state if state in ("printed", "duplicate",
                                                                         "written") else "printed"))}

    def action_print_a4(self) -> dict:
        dev = self._need("a4")
        pdf = _test_page_pdf(self.config)
        result = dev.print_pdf(pdf, "kiosk test page")
        return {"ok": bool(result.ok), "state": result.state, "reasons": list(result.reasons),
                "summary": _both("ui.diag.a4_done", seconds=f"{result.seconds:.1f}")}

    def action_printer_status(self) -> dict:
        manager = self.manager
        out = []
        for family in ("escpos", "a4"):
            for dev in (manager.by_family(family) if manager is not None else []):
                st = dev.refresh_status()
                out.append({"id": dev.name, "device": st.device.value, "detail": dict(st.detail),
                            "message": {"zh": st.message_zh, "en": st.message_en}, "family": family})
        ok = bool(out) and all(p["device"] in ("online", "deviceBusy") for p in out)
        sep = {"zh": ("：", "；"), "en": (": ", "; ")}
        summary = {lang: sep[lang][1].join(
            f"{t('ui.tech.family.' + p['family'], lang)}{sep[lang][0]}{p['message'][lang]}" for p in out)
            for lang in ("zh", "en")}
        return {"ok": ok, "printers": out, "summary": summary if out else _both("ui.diag.no_printer")}

    def action_network(self) -> dict:
        app = self.app
        central = getattr(app, "central", None) if app is not None else None
        if central is None:
            return {"ok": False, "error": "central client not running"}
        started = time.perf_counter()
        url = str(getattr(central, "base_url", ""))
        try:
            central.health()
        except Exception as exc:
            return {"ok": False, "url": url, "error": f"central platform unreachable: {_error_text(exc)}"}
        ms = round((time.perf_counter() - started) * 1000, 1)
        return {"ok": True, "latency_ms": ms, "url": url, "summary": _both("ui.diag.network_ok", ms=ms)}

    def action_logs(self) -> dict:
        lines = list(log_tail().lines)[-80:]
        return {"ok": True, "lines": lines, "summary": _both("ui.diag.log_lines", count=len(lines))}

    def _need(self, family: str):
        dev = self._device(family)
        if dev is None:
            raise LookupError(f"no {family} device configured")
        return dev


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "text", None)
    return str(message) if message is not None else f"{type(exc).__name__}: {exc}"


def _test_page_pdf(config) -> bytes:
    """The documents package's test page when present, else a one-page PDF."""
    try:
        from printers.documents import render_test_page  # type: ignore[attr-defined]

        return render_test_page({"terminal": config.terminal_id, "hall": config.get("terminal.hall", "")}, None)
    except Exception:
        from io import BytesIO

        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        buf = BytesIO()
        c = canvas.Canvas(buf, pagesize=A4)
        c.setFont("Helvetica-Bold", 28)
        c.drawString(72, 760, "Kiosk A4 test page")
        c.setFont("Helvetica", 14)
        c.drawString(72, 730, f"terminal {config.terminal_id}  {time.strftime('%Y-%m-%d %H:%M:%S')}")
        c.rect(72, 400, 451, 300)
        c.showPage()
        c.save()
        return buf.getvalue()


# --- CLI ---------------------------------------------------------------------------

def _human(report: dict) -> str:
    lines = [f"terminal {report['terminal']}: {'OK' if report['ok'] else 'BROKEN'} - {report['summary']}"]
    for d in report["devices"]:
        mark = "ok " if d["usable"] else "BAD"
        extra = f" [{d['detail_text']}]" if d["detail_text"] else ""
        err = f" last error: {d['last_error']}" if d["last_error"] else ""
        lines.append(f"  {mark} {d['id']:<16} {d['family']:<9} {d['device']:<13} {d['message']['en']}{extra}{err}")
    ob = report["outbox"]
    last = ob.get("last_sync_local") or "never"
    lines.append(f"  outbox: {ob.get('pending')} pending, {ob.get('dead', 0)} dead, last sync {last}"
                 + (f" ({ob['error']})" if ob.get("error") else ""))
    net = report["network"]
    lines.append(f"  network: {net.get('summary') or net.get('error')}")
    dd = report["data_dir"]
    lines.append(f"  data dir: {dd['path']} " + (f"{dd.get('free_mb')} MB free" if dd.get("ok") else f"PROBLEM {dd}"))
    lines.append(f"  voice: {'espeak-ng found' if report['voice']['ok'] else 'espeak-ng missing (no voice guidance)'}")
    face = report.get("face")
    if face is not None:
        if not face.get("ok"):
            lines.append(f"  face: PROBLEM {face.get('error')}")
        elif face.get("problem"):
            lines.append(f"  face: dlib's encoder, slower (numpy encoder refused: {face['problem']})")
        else:
            checked = " (checked against dlib)" if face["active"] == "numpy" else ""
            lines.append(f"  face: {face['active']} encoder{checked}")
    return "\n".join(lines)


@click.command("diagnose")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--devices-only", is_flag=True, help="Check devices only (no case store, no central platform).")
@click.pass_context
def diagnose(ctx: click.Context, as_json: bool, devices_only: bool) -> None:
    """Run the technician checks without a screen; exit 1 when something core is broken."""
    import sys

    from .core.clikit import emit, fail

    config = ctx.obj.config
    source: Any = None
    try:
        if devices_only:
            raise ImportError("devices only")
        from .app import KioskApp

        source = KioskApp(config)
        source.start()
    except ImportError:
        from devices.manager import DeviceManager

        from .app import device_registry

        source = DeviceManager(config, registry=device_registry()).start()
    except Exception as exc:
        fail(f"cannot start the kiosk core: {_error_text(exc)}")
    try:
        report = Diagnostics(config, source).run_action("report")
    finally:
        stop = getattr(source, "stop", None)
        if callable(stop):
            stop()
    emit(report, as_json, human=_human(report))
    if not report.get("ok"):
        sys.exit(1)
