"""``KioskApp``: the Qt-free composition root.

One object owns everything a terminal runs: devices (simulated for ``sim://``),
the embedded central sandbox (``central.url = "embedded://"``), the case
store and its sync worker, the central client, the certificate signer, the
face verifier (loaded on first use) and the service catalog.  The touch UI,
the headless session runner, ``kiosk diagnose`` and ``kiosk health`` all use it.

It is also the ``services`` object flow steps talk to (see flows/services.py):
device lookups, back-end calls, case commits, document rendering, the staff
call and the one-time-code messages.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.core.config import Config
from kiosk.core.i18n import Text, text
from kiosk.core.memory import release_free_memory
from kiosk.sms import SmsGateway

log = logging.getLogger(__name__)

BACKEND_TTL_S = 5.0      # how long a central health answer is trusted
DEVICE_TTL_S = 2.0       # how long a refreshed device status is trusted
# stop() waits for the warm-up's next stage boundary: a process ending while a
# thread is inside dlib's C++ code aborts ("terminate called...").
STOP_WARM_WAIT_S = 10.0


def device_registry(families: list[str] | None = None):
    """Every device family of a terminal: the devices package's and the printers'."""
    from devices import registry
    from printers import families as printer_families

    return registry.build_registry({**registry.DRIVER_TABLE, **printer_families.DRIVER_TABLE},
                                   {**registry.SIMULATOR_TABLE, **printer_families.SIMULATOR_TABLE}, families)


class KioskApp:
    def __init__(self, config: Config, *, auto_pay_s: float = 3.0, start_sync: bool | None = None,
                 workdir: Path | None = None):
        self.config = config
        self.auto_pay_s = auto_pay_s
        self.start_sync = start_sync
        self.workdir = workdir
        self.devices = None
        self.embedded = None
        self.central = None
        self.store = None
        self.sync = None
        self.signer = None
        self.audit = None            # kiosk.core.audit.AuditLog: app.audit.record(kind, **fields)
        self.metrics = None
        self.catalog: dict = {}
        self.sms = SmsGateway.from_config(config)
        self.staff_calls: list[dict] = []
        self._face = None
        self._face_lock = threading.Lock()
        self._backend_cache: dict[str, tuple[float, bool, Text | None]] = {}
        self._device_refreshed: dict[str, float] = {}
        self.last_availability: dict[str, bool] | None = None  # per service, from the last catalog check
        self._offline_numbers = None
        self._started = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> KioskApp:
        from devices.manager import DeviceManager
        from flows.catalog import load_catalog
        from flows.queue import OfflineNumbers
        from kiosk.core.production import check_can_start

        check_can_start(self.config)  # a production terminal never runs on demo parts
        data_dir = self.config.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = load_catalog()
        try:
            from kiosk.metrics import KioskMetrics

            self.metrics = KioskMetrics()
        except Exception:  # metrics are optional (prometheus-client missing)
            self.metrics = None
        self.devices = DeviceManager(self._device_config(), registry=device_registry(),
                                     workdir=self.workdir).start(on_status=self._on_device_status)
        from kiosk.core.audit import audit_for

        self.audit = audit_for(self.config)
        self._start_central()
        self._start_store()
        self._start_signer()
        self._offline_numbers = OfflineNumbers(data_dir, self.config.terminal_id, self._offline_block())
        self._warm_stop = threading.Event()
        self._warm = threading.Thread(target=self._warm_up, name="kiosk-warm-up", daemon=True)
        self._warm.start()
        self._started = True
        log.info("kiosk core started", extra={"services": len(self.catalog), "devices": len(self.devices.devices)})
        return self

    def _warm_up(self) -> None:
        """Pay the one-time costs (CJK fonts, first PDF, face models: about 1.5 s)
        while the attract screen shows, not while a resident waits."""
        try:
            if self.signer is not None:
                from printers.documents import render_no_property

                render_no_property({"applicant": {"name": "预热", "id_number": "110101199003070011"}}, self.signer)
        except Exception as exc:
            log.info("document warm-up skipped", extra={"reason": str(exc)})
        if self._warm_stop.is_set():
            return
        if any(f.devices and any("camera" in need for need in f.devices) for f in self.catalog.values()):
            try:
                self.face_verifier().warm_up(stop=self._warm_stop)
            except Exception as exc:
                log.info("face warm-up skipped", extra={"reason": str(exc)})
        release_free_memory()  # the rehearsals' scratch memory

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until the warm-up is done (the runner measures steady-state machine time)."""
        warm = getattr(self, "_warm", None)
        if warm is not None:
            warm.join(timeout)
            return not warm.is_alive()
        return True

    def _device_config(self) -> Config:
        # Printer spools live in this terminal's data dir (not the process default).
        overrides: dict = {"devices": {}}
        for name, spec in self.config.devices.items():
            if spec.get("family") == "escpos" and not spec.get("spool_dir"):
                overrides["devices"][name] = {"spool_dir": str(self.config.data_dir / "spool" / "escpos")}
        return self.config.with_overrides(overrides) if overrides["devices"] else self.config

    def _start_central(self) -> None:
        try:
            import offline_cache.client  # noqa: F401
        except ImportError as exc:
            log.warning("central client unavailable", extra={"reason": str(exc)})
            return
        try:
            self.central = central_client(self.config, auto_pay_s=self.auto_pay_s)
            self.embedded = self.central.embedded
        except Exception as exc:
            # The terminal still runs: services needing central show as unavailable.
            log.error("central platform client could not start", extra={"reason": str(exc)})
            self.central = None

    def restart_embedded(self) -> None:
        """Start the embedded sandbox again after it was stopped, on the same
        port and data dir: its per-install secret, so the client's token, still holds."""
        from central.embedded import start_embedded

        port = int(self.central.base_url.rsplit(":", 1)[1])
        self.embedded = start_embedded(self.config.data_dir, port=port, auto_pay_s=self.auto_pay_s)

    def _start_store(self) -> None:
        try:
            from offline_cache.store import CaseStore
        except ImportError as exc:
            log.warning("case store unavailable", extra={"reason": str(exc)})
            return
        self.store = CaseStore.from_config(self.config)
        if self.central is None or self.start_sync is False:
            return
        from offline_cache.sync import SyncWorker

        # With sync.in_app = false (installed terminals) kiosk-sync.service sends
        # the cases, but only the app knows device and service states, so the
        # app still sends the heartbeat the operator's availability figures use.
        send_cases = bool(self.config.get("sync.in_app", True)) or bool(self.start_sync)
        self.sync = SyncWorker.from_config(self.config, self.store, self.central, status_provider=self.heartbeat_status,
                                           send_cases=send_cases)
        if send_cases:  # audit records go with the cases (kiosk-sync sends both otherwise)
            self.sync.attach_audit(self.audit)
        self.sync.start()

    def _start_signer(self) -> None:
        try:
            from printers.documents import signer_for_config
            from printers.documents.signing import KeyFileError
        except ImportError as exc:
            log.warning("documents unavailable", extra={"reason": str(exc)})
            return
        try:
            self.signer = signer_for_config(self.config)
        except KeyFileError as exc:
            log.error("certificates cannot be signed", extra={"reason": str(exc)})

    def _offline_block(self) -> int | None:
        """The queue-number block central assigned to this terminal (cached on disk)."""
        path = self.config.data_dir / "queue" / "offline_block.json"
        if self.central is not None:
            try:
                doc = self.central.terminal_config()
                block = int(doc["queue_offline"]["block"])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"block": block}), "utf-8")
                return block
            except Exception as exc:
                log.info("terminal config not fetched", extra={"reason": str(exc)})
        try:
            return int(json.loads(path.read_text("utf-8"))["block"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def stop(self) -> None:
        warm = getattr(self, "_warm", None)
        if warm is not None:
            self._warm_stop.set()
            warm.join(STOP_WARM_WAIT_S)
        # Never pull the face models out from under a warm-up still loading them
        # (a stop soon after start): the process is ending, and the encoder
        # child ends by itself when its pipe closes with this process.
        warming = warm is not None and warm.is_alive()
        if warming:
            log.info("face warm-up still running at stop; its models go with the process")
        for closer in (lambda: self.sync and self.sync.stop(), lambda: self.central and self.central.close(),
                       lambda: self.embedded and self.embedded.stop(), lambda: self.store and self.store.close(),
                       lambda: self.audit and self.audit.close(),
                       lambda: self._face and not warming and self._face.close(),
                       lambda: self.devices and self.devices.stop()):
            try:
                closer()
            except Exception:
                log.exception("shutdown step failed")
        self.sync = self.central = self.embedded = None
        self._started = False

    def __enter__(self) -> KioskApp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ catalog & sessions
    def _enabled(self, service_id: str) -> bool:
        enabled = self.config.get("services.enabled", []) or []
        hidden = self.config.get("services.hidden", []) or []
        return (not enabled or service_id in enabled) and service_id not in hidden

    def availability(self, service_id: str, refresh: bool = True):
        from flows.availability import Availability, check_availability

        flow = self.catalog[service_id]
        if not self._enabled(service_id):
            return Availability(False, [text("flows.unavailable.disabled")])
        if refresh:
            self._refresh_devices(flow)
        return check_availability(flow, self)

    def catalog_state(self, refresh: bool = True) -> list[dict]:
        """Every service offered here, with availability and the reason (zh/en)."""
        out, known = [], {}
        for sid, flow in self.catalog.items():
            if not flow.offered or not self._enabled(sid):
                continue
            avail = self.availability(sid, refresh=refresh)
            item = flow.describe()
            item.update({"available": avail.ok, "reasons": [r.as_dict() for r in avail.reasons],
                         "reason": avail.reasons[0].as_dict() if avail.reasons else None,
                         "keywords": list(flow.options.get("keywords", [])), "agency": flow.agency})
            if self.metrics is not None:
                self.metrics.service_available.labels(sid).set(1 if avail.ok else 0)
            out.append(item)
            known[sid] = avail.ok
        self.last_availability = known
        return out

    services = catalog_state  # the UI's name for it

    def new_session(self, service_id: str, lang: str = "zh", *, clock=None, journal=None, on_artifact=None,
                    start: bool = False):
        """A session for ``service_id`` (not started: subscribe, then ``start()``).
        Raises ``flows.availability.ServiceUnavailable`` with the reasons when the
        service cannot be offered now, so nobody is stranded half-way."""
        from flows.availability import ServiceUnavailable
        from flows.session import Session

        if service_id not in self.catalog:
            raise KeyError(service_id)
        avail = self.availability(service_id)
        if not avail.ok:
            raise ServiceUnavailable(service_id, avail.reasons)
        session = Session(self.catalog[service_id], self, lang=lang, clock=clock, journal=journal,
                          idle_timeout_s=float(self.config.get("ui.idle_timeout_s", 90)),
                          idle_warning_s=float(self.config.get("ui.idle_warning_s", 15)),
                          flows=dict(self.catalog), on_artifact=on_artifact, check=False)
        session.availability = avail
        if self.metrics is not None:
            self.metrics.sessions_started.labels(service_id).inc()
            session.on_end(self._session_metrics)
        return session.start() if start else session

    def _session_metrics(self, session) -> None:
        if self.metrics is None:
            return
        summary = session.summary or {}
        sid = summary.get("service", session.root.id)
        if summary.get("outcome") == "completed":
            self.metrics.sessions_completed.labels(sid).inc()
        else:
            self.metrics.sessions_abandoned.labels(sid, summary.get("outcome") or "unknown").inc()
        self.metrics.flow_machine_seconds.labels(sid).observe(summary.get("machine_ms", 0) / 1000.0)
        timings = summary.get("timings") or []
        for t in timings:  # step ids are catalog names: no personal data in labels
            self.metrics.step_seconds.labels(sid, t["step"]).observe(t.get("total_ms", 0) / 1000.0)
        self.metrics.flow_seconds.labels(sid).observe(sum(t.get("total_ms", 0) for t in timings) / 1000.0)

    # ------------------------------------------------------------------ services for flow steps
    def flow(self, service_id: str):
        return self.catalog[service_id]

    def agency_targets(self) -> list:
        return [(sid, self.availability(sid, refresh=False)) for sid, f in self.catalog.items()
                if f.agency and self._enabled(sid)]

    def config_get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def device(self, family: str):
        if self.devices is None:
            return None
        found = self.devices.by_family(family)
        for dev in found:
            if dev.status().usable:
                return dev
        return found[0] if found else None

    def device_status(self, family: str):
        dev = self.device(family)
        return dev.status() if dev is not None else None

    def _refresh_devices(self, flow) -> None:
        now = time.monotonic()
        for need in flow.devices:
            for family in need.split("|"):
                for dev in (self.devices.by_family(family) if self.devices else []):
                    if now - self._device_refreshed.get(dev.name, 0.0) >= DEVICE_TTL_S:
                        dev.refresh_status()
                        self._device_refreshed[dev.name] = now

    def _on_device_status(self, dev, status) -> None:
        if self.metrics is not None:
            self.metrics.set_device_state(dev.name, dev.family, status.device.value)

    def backend_status(self, name: str) -> tuple[bool, Text | None]:
        if name == "store":
            if self.store is None:
                return False, text("flows.unavailable.store")
            health = self.store.health() if not self.store.accepting else {"ok": True}
            return (True, None) if health.get("ok") else (False, text("flows.unavailable.store"))
        if name == "signer":
            # Production without an installed signing certificate: the services
            # that issue certificates are unavailable, not offered and then failing.
            return (True, None) if self.signer is not None else (False, text("flows.unavailable.signer"))
        if name == "central":
            cached = self._backend_cache.get(name)
            if cached and time.monotonic() - cached[0] < BACKEND_TTL_S:
                return cached[1], cached[2]
            ok = False
            if self.central is not None:
                try:
                    # An authenticated service call, not just /v1/health: a platform
                    # that refuses this terminal is as unusable as an unreachable one.
                    self.central.queue_businesses()
                    ok = True
                except Exception as exc:
                    log.info("central unreachable", extra={"reason": str(exc)})
            why = None if ok else text("flows.unavailable.central")
            self._backend_cache[name] = (time.monotonic(), ok, why)
            return ok, why
        return False, text("flows.error.backend")

    def backend(self, op: str, **kw: Any) -> Any:
        """The service back-ends flows use, by operation name."""
        from kiosk import doors

        if doors.handles(op):  # resident code, progress, appointments, guide, complaints
            return doors.doors_for(self).call(op, **kw)
        if self.central is None:
            from offline_cache.client import CentralUnavailable

            raise CentralUnavailable("no central client")
        c = self.central
        if op == "property_query":
            return c.property_query(kw["id_number"], kw.get("name"))
        if op == "social_security_records":
            return c.social_security_records(kw["id_number"], kw.get("months", 12))
        if op == "provident_fund_account":
            return c.provident_fund_account(kw["id_number"])
        if op == "traffic_violations":
            return c.traffic_violations(kw["plate"])
        if op == "payment_create":
            from decimal import Decimal

            p = c.create_payment(kw.get("case_ref", ""), Decimal(int(kw["amount_cents"])) / 100,
                                 kw.get("subject", ""), kw.get("items", ()))
            return {"payment_id": p["payment_id"], "qr": p.get("qr_text", ""), "amount": p.get("amount"),
                    "expires_at": p.get("expires_at")}
        if op == "payment_status":
            return c.payment_status(kw["payment_id"])
        if op == "provident_fund_withdraw":
            return c.submit_withdrawal(kw["id_number"], kw["amount"], kw["bank_card"], kw["case_ref"],
                                       purpose=kw.get("purpose", "rent"), name=kw.get("name"),
                                       idempotency_key=kw.get("idempotency_key"))
        if op == "hall_query":  # the data-driven services' back-ends (central contract: /v1/services/hall/...)
            return c.call("POST", f"/v1/services/hall/{kw['dataset']}/query", json_body=kw.get("params") or {})
        if op == "hall_apply":
            return c.call("POST", f"/v1/services/hall/{kw['dataset']}/applications", json_body=kw.get("params") or {},
                          idempotency_key=kw["key"], attempts=3)
        if op == "sandbox_pay":
            return c.call("POST", f"/v1/sandbox/payments/{kw['payment_id']}/pay")
        raise KeyError(f"unknown back-end operation {op}")

    def queue_businesses(self) -> list[dict]:
        try:
            if self.central is None:
                raise ConnectionError("no central client")
            return self.central.queue_businesses()
        except Exception:
            from central.demo_data import BUSINESSES

            return [dict(b) for b in BUSINESSES]

    def queue_number(self, business: dict) -> dict:
        """A number from the central queue, or offline from this terminal's block."""
        try:
            if self.central is None:
                raise ConnectionError("no central client")
            t = self.central.queue_ticket(business["code"])
            return {"number": t["number"], "waiting": t.get("waiting", 0), "offline": False}
        except Exception as exc:
            if getattr(exc, "status", None) and 400 <= exc.status < 500:
                raise
            log.warning("queue service unreachable, issuing an offline number", extra={"reason": str(exc)})
            number = self._offline_numbers.take(business["code"], business["prefix"])
            return {"number": number, "waiting": None, "offline": True}  # the queue length is unknown here

    def commit_case(self, *, service: str, applicant: Any, result: dict, document_hash: str | None = None,
                    agent: Any = None, extra: dict | None = None, evaluation: dict | None = None):
        return self.store.commit_case(service, applicant or {}, result, document_hash=document_hash,
                                      evaluation=evaluation, agent=agent, extra=extra)

    def set_evaluation(self, case_id: str, level: int, reasons: list[str], comment: str | None = None) -> dict:
        return self.store.set_evaluation(case_id, level, reasons, comment)

    def find_case(self, ref: str) -> dict | None:
        case = self.store.find_by_ref(ref)
        if case is None:
            return None
        return {"case_id": case["case_id"], "ref": case["ref"], "evaluated": bool(case.get("evaluation"))}

    def render_document(self, kind: str, data: dict, lang: str = "zh") -> bytes:
        """A signed certificate PDF (kiosk/documents.py)."""
        from kiosk.documents import render_document

        return render_document(self, kind, data, lang)

    def document_fields(self, pdf: bytes) -> dict | None:
        """The signed fields of a certificate this terminal just rendered."""
        from printers.documents.verify import issued_fields

        return issued_fields(pdf)

    def render_slip(self, kind: str, job: dict) -> bytes:
        """A receipt or ticket on an A4 page, when the receipt printer cannot print it."""
        from kiosk.documents import render_slip

        return render_slip(kind, job)

    def verify_url(self, ref: str) -> str:
        """The public page a receipt's QR code opens (``central.public_url``; demo: central itself)."""
        from kiosk.documents import verify_url

        return verify_url(self, ref)

    def face_verifier(self):
        with self._face_lock:
            if self._face is None:
                from devices.face.verifier import FaceVerifier

                self._face = FaceVerifier.from_config(self.config)
            return self._face

    def face_session(self, id_face, max_attempts: int):
        """One resident's face attempts against the card photo (a decision fused from several frames)."""
        from devices.face.verifier import FaceSession

        return FaceSession(self.face_verifier(), id_face, max_attempts)

    def sample_card(self, name: str) -> dict:
        """A packaged simulator card's fields, for the scripted resident (runner)."""
        from devices.idcard.simulator import load_card

        return load_card(name)

    def one_time_code(self, clock=None):
        """A fresh SMS code and its checker (only a salted digest is kept)."""
        from devices.face.alternatives import OneTimeCode

        return OneTimeCode.issue(clock=clock) if clock is not None else OneTimeCode.issue()

    def liveness_checker(self):
        mode = self.config.get("face.liveness", "blink")
        if mode == "off":
            return None
        from devices.face.liveness import LivenessChecker

        return LivenessChecker(mode, float(self.config.get("face.liveness_seconds", 6.0)), self.face_verifier())

    def face_outcome(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.face_outcomes.labels(outcome).inc()

    def call_staff(self, reason: str = "", service: str | None = None) -> bool:
        call = {"terminal": self.config.terminal_id, "reason": reason, "service": service,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.staff_calls.append(call)
        self.staff_called_at = time.time()  # a staff PIN is accepted only after this
        target = self.config.get("staff_call.target", "log://")
        log.warning("staff called", extra={"reason": reason, "service": service})
        if target.startswith(("http://", "https://")):
            def post() -> None:
                try:
                    import requests

                    requests.post(target, json=call, timeout=3)
                except Exception as exc:
                    log.warning("staff pager unreachable", extra={"reason": str(exc)})
            threading.Thread(target=post, name="staff-call", daemon=True).start()
        return True

    def verify_staff(self, staff_id: str, pin: str) -> tuple[str | None, Text | None]:
        """The staff id when ``staff_id`` + ``pin`` are right and staff were
        called to this terminal; else None and the message to show."""
        from kiosk.staff import StaffGate

        res, who = StaffGate(self.config).verify(staff_id, pin, getattr(self, "staff_called_at", None))
        if who is not None:
            log.info("staff verification", extra={"staff": who})
            return who, None
        if res.disabled:
            return None, text("flows.staff.not_called")
        if res.locked:
            log.warning("staff verification refused: too many wrong PINs", extra={"wait_s": res.locked_for_s})
            return None, text("flows.staff.locked", seconds=res.locked_for_s)
        return None, text("flows.staff.wrong_pin")

    def phone_on_record(self, id_number: str) -> dict:
        """Central's masked number on record and a handle to send a code to."""
        if self.central is None:
            raise RuntimeError("central platform unavailable")
        return self.central.phone_on_record(id_number)

    def send_sms(self, handle: str, message: Text, masked: str = "") -> bool:
        return self.sms.send(handle, message, masked=masked)

    # ------------------------------------------------------------------ status for heartbeat / health
    def heartbeat_status(self) -> dict:
        """The app's part of each heartbeat: the one status model (kiosk/status.py),
        and where the terminal stands (the operator console's site and profile filters)."""
        from kiosk.status import heartbeat

        where = {"site": self.config.get("terminal.hall", ""), "site_en": self.config.get("terminal.hall_en", ""),
                 "profile": self.config.get("terminal.profile", "")}
        return {**where, **heartbeat(self)}

    def forget_backend_status(self) -> None:
        """Check the back-ends again on the next availability question (after
        faults were injected into or lifted from the sandbox)."""
        self._backend_cache.clear()


def central_client(config: Config, *, auto_pay_s: float = 3.0, **kw: Any):
    """The terminal's client of central. With ``central.url = "embedded://"``
    (demo mode only) the sandbox is started here, in this process, and the
    client stops it when closed; the sandbox's own per-install token for this
    terminal is used unless ``central.token`` is set."""
    from offline_cache.client import CentralClient

    if not str(config.get("central.url", "embedded://")).startswith("embedded:"):
        return CentralClient(config, **kw)
    if not config.demo:
        raise ValueError("central.url embedded:// (the sandbox) is not allowed in production mode")
    from central.embedded import start_embedded

    embedded = start_embedded(config.data_dir, auto_pay_s=auto_pay_s)
    try:
        token = config.get("central.token") or embedded.token_for(config.terminal_id)
        return CentralClient(config, url=embedded.url, token=token, embedded=embedded, **kw)
    except BaseException:
        embedded.stop()
        raise
