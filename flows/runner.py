"""The headless session runner: a scripted resident through the real engine.

A script (YAML) says what the person does and what the simulated devices
see; the runner drives a :class:`flows.session.Session` from ``KioskApp`` with
the real drivers on the simulators, collects what the resident would take
home (PDFs, ticket and receipt images) and reports per-step timings: machine
time (the terminal working) against waiting for the person.

Script::

    service: no_property_proof
    lang: zh
    setup: {idcard: remove, camera: resident_blink}
    steps:
      - expect: card                 # wait until this step is on screen (and not busy)
      - card: resident               # the ID-card simulator: present a packaged card
      - tap: agree
      - input: {amount: "1500"}      # typed values ("{today+3}" = a date, "{plate_with_fines}",
                                   # "{unrated_case}" = the newest unrated case's reference)
      - submit: true
    end: completed                   # the outcome that counts as success

Actions: expect (a step, or {step, view, hint, timeout}), tap, input, submit, back, cancel, choose (n-th enabled choice
or "all"), card / remove_card, smartcard (kind or {insert, data}) / remove_smartcard,
camera (scene or image path), printer ({device, paper, cover}), a4 ({fault}),
pay (settle the QR payment in the sandbox), sms_code (type the code sent; ``wrong``: mistype it),
sms_gateway (``down`` / ``up``: the sandbox SMS gateway fails or works),
wait (seconds of the person's time, no real sleep), idle (stay away until the
idle timeout; ``idle: warning`` until the warning), assert / assert_in ({dotted.path: value}), central_faults.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .availability import ServiceUnavailable
from .journal import Journal
from .session import Session

# The last code shown to each scanner, across runners: a script run right after
# another that showed the same code must wait out the scanner's repeat window.
_LAST_SCANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

EXPECT_TIMEOUT_S = 40.0


class ScriptError(Exception):
    """A script that cannot be followed: the one line says where and why."""


class RunnerClock:
    """Real monotonic time plus the person's time the script skipped (``wait``/``idle``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class RunReport:
    service: str
    ok: bool = False
    outcome: str | None = None
    expected: str = "completed"
    machine_ms: float = 0.0
    budget_ms: int | None = None
    wall_ms: float = 0.0
    steps: list[dict] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    case_ref: str | None = None
    result: dict = field(default_factory=dict)
    error: str | None = None
    journal: str | None = None

    def as_dict(self) -> dict:
        return {"service": self.service, "ok": self.ok, "outcome": self.outcome, "expected": self.expected,
                "machine_ms": round(self.machine_ms, 1), "budget_ms": self.budget_ms,
                "wall_ms": round(self.wall_ms, 1), "steps": self.steps, "artifacts": self.artifacts,
                "case_ref": self.case_ref, "result": self.result, "error": self.error, "journal": self.journal}


def load_script(path: str | Path) -> dict:
    try:
        doc = yaml.safe_load(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise ScriptError(f"script not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ScriptError(f"script {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps", []), list):
        raise ScriptError(f"script {path} must be a mapping with a list of steps")
    return doc


def shipped_script(name: str) -> Path:
    return Path(str(resources.files("flows") / "scripts" / f"{name}.yaml"))


def demo_scripts() -> list[Path]:
    """One script per seed service, in catalog order (error paths live in scripts/errors/)."""
    folder = Path(str(resources.files("flows") / "scripts"))
    return sorted(folder.glob("*.yaml"), key=lambda p: (load_script(p).get("order", 100), p.name))


_DATE_RE = re.compile(r"\{today([+-]\d+)?\}")


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return _DATE_RE.sub(lambda m: (dt.date.today() + dt.timedelta(days=int(m.group(1) or 0))).isoformat(), value)
    return value


def _dig(state: dict, path: str) -> Any:
    node: Any = state
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


class Runner:
    def __init__(self, app: Any, out_dir: str | Path | None = None, expect_timeout_s: float = EXPECT_TIMEOUT_S):
        self.app = app
        self.out = Path(out_dir) if out_dir else None
        self.expect_timeout_s = expect_timeout_s
        self.session: Session | None = None
        self.clock = RunnerClock()
        self._artifacts: list[str] = []
        self._stop_ticks = threading.Event()
        # How sessions are opened and events sent; the UI soak routes both
        # through the touch screen's view-model instead of the engine directly.
        self.opener: Any = None   # (service, lang, clock, journal, on_artifact) -> Session
        self.sender: Any = None   # (event) -> None

    def _send(self, event: dict) -> None:
        (self.sender or self.session.dispatch)(event)

    # --- simulators -------------------------------------------------------------
    def sim(self, family: str, name: str | None = None) -> Any:
        manager = self.app.devices
        if name:
            handle = manager.simulators.get(name)
        else:
            handle = next((manager.simulators[d.name] for d in manager.by_family(family)
                           if d.name in manager.simulators), None)
        if handle is None:
            raise ScriptError(f"no simulated {name or family} device to control")
        return handle

    def _setup(self, setup: dict) -> None:
        for key, value in (setup or {}).items():
            self._act({key: value})

    # --- running ------------------------------------------------------------------
    def run(self, script: dict, service: str | None = None) -> RunReport:
        service = service or script.get("service")
        if not service:
            raise ScriptError("the script names no service")
        if script.get("service") and script["service"] != service:
            raise ScriptError(f"the script is for {script['service']}, not {service}")
        if service not in self.app.catalog:
            raise ScriptError(f"unknown service {service!r} (known: {', '.join(self.app.catalog)})")
        report = RunReport(service, expected=script.get("end", "completed"),
                           budget_ms=self.app.catalog[service].budget_ms)
        self.clock = RunnerClock()
        self._artifacts = []
        self.session = None
        pages_before = self._escpos_pages()
        journal_path = None
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            journal_path = self.out / f"{service}.journal.jsonl"
            journal_path.unlink(missing_ok=True)
        journal = Journal(journal_path)
        if hasattr(self.app, "wait_ready"):
            self.app.wait_ready()
        t0 = time.perf_counter()
        try:
            self._setup(script.get("setup", {}))
            try:
                open_session = self.opener or (lambda sid, lang, clock, journal, on_artifact: self.app.new_session(
                    sid, lang=lang, clock=clock, journal=journal, on_artifact=on_artifact))
                self.session = open_session(service, script.get("lang", "zh"), self.clock, journal, self._on_artifact)
            except ServiceUnavailable as exc:
                report.outcome = "unavailable"
                report.error = "; ".join(r.en for r in exc.reasons)
                report.result = {"reasons": [r.as_dict() for r in exc.reasons]}
                report.ok = report.expected == "unavailable"
                return report
            ticker = threading.Thread(target=self._tick_loop, name="runner-tick", daemon=True)
            self._stop_ticks.clear()
            if self.session.step is None and not self.session.ended:
                self.session.start()
            ticker.start()
            for i, action in enumerate(script.get("steps", []), 1):
                try:
                    self._act(action if isinstance(action, dict) else {action: True})
                except ScriptError as exc:
                    shown = json.dumps(action, ensure_ascii=False, default=str)
                    raise ScriptError(f"step {i} {shown}: {exc}") from None
            try:
                self.session.wait_for(lambda st: st["ended"], 10)
            except TimeoutError:
                st = self.session.state()
                raise ScriptError(f"the script ended but the session is still at {st['step']} ({st['view']})") from None
        except ScriptError as exc:
            report.error = str(exc)
        finally:
            self._stop_ticks.set()
            if self.session is not None and not self.session.ended:
                self.session.close()
            journal.close()
            report.wall_ms = (time.perf_counter() - t0) * 1000.0
            if journal_path is not None:
                report.journal = str(journal_path)
            self._collect(report, pages_before)
            self._reset_faults(script)
        summary = (self.session.summary if self.session is not None else None) or {}
        report.outcome = summary.get("outcome")
        report.machine_ms = float(summary.get("machine_ms", 0.0))
        report.steps = [{"step": t["step"], "view": t["view"], "machine_ms": t["machine_ms"],
                         "wait_ms": t.get("wait_ms", 0.0)} for t in summary.get("timings", [])]
        report.result = {k: v for k, v in (summary.get("result") or {}).items() if k != "rows"}
        report.case_ref = (summary.get("result") or {}).get("case_ref")
        report.ok = report.error is None and report.outcome == report.expected
        if report.error is None and not report.ok:
            report.error = f"ended with {report.outcome}, expected {report.expected}"
        return report

    def _tick_loop(self) -> None:
        while not self._stop_ticks.wait(0.2):
            s = self.session
            if s is None or s.ended:
                return
            s.dispatch({"type": "tick"})

    def _reset_faults(self, script: dict) -> None:
        if "central_faults" in (script.get("setup") or {}) or any(
                isinstance(a, dict) and "central_faults" in a for a in script.get("steps", [])):
            try:
                self._act({"central_faults": {"fail_rate": 0.0}})
            except ScriptError:
                pass

    # --- artifacts ------------------------------------------------------------------
    def _on_artifact(self, session: Session, art: dict, data: bytes) -> None:
        if self.out is None:
            return
        ext = "pdf" if data[:5] == b"%PDF-" else "bin"
        path = self.out / f"{session.root.id}-{len(self._artifacts) + 1:02d}-{art['kind']}.{ext}"
        path.write_bytes(data)
        self._artifacts.append(str(path))

    def _escpos_pages(self) -> dict[str, int]:
        out = {}
        for dev in self.app.devices.by_family("escpos"):
            handle = self.app.devices.simulators.get(dev.name)
            if handle is not None:
                out[dev.name] = handle.pages_printed
        return out

    def _collect(self, report: RunReport, before: dict[str, int]) -> None:
        for dev in self.app.devices.by_family("escpos"):
            handle = self.app.devices.simulators.get(dev.name)
            if handle is None:
                continue
            if self.out is not None:
                # A ticket kept while the paper was out is printed by the spool shortly after.
                deadline = time.monotonic() + 3.0
                while dev.pending() and time.monotonic() < deadline:
                    time.sleep(0.1)
            pages = handle.pages_since(before.get(dev.name, 0))
            if self.out is not None:
                for i, png in enumerate(pages, 1):
                    path = self.out / f"{report.service}-{dev.name}-{i:02d}.png"
                    path.write_bytes(png)
                    self._artifacts.append(str(path))
        report.artifacts = list(self._artifacts)

    # --- actions ------------------------------------------------------------------------
    def _state(self) -> dict:
        return self.session.state()

    def _wait_ready(self, step: str | None = None, view: str | None = None, timeout: float | None = None,
                    hint: str | None = None) -> dict:
        def ready(st: dict) -> bool:
            if st["ended"]:
                return True
            if st["busy"] and hint is None:
                return False
            return ((step is None or st["step"] == step) and (view is None or st["view"] == view)
                    and (hint is None or (st.get("hint") or {}).get("key") == hint))
        try:
            st = self.session.wait_for(ready, timeout or self.expect_timeout_s)
        except TimeoutError as exc:
            raise ScriptError(str(exc)) from None
        if st["ended"] and step is not None:
            raise ScriptError(f"the session ended ({st['outcome']}) before {step}")
        return st

    def _expand(self, value: Any) -> Any:
        if value == "{plate_with_fines}":
            return self._plate_with_fines()
        if value == "{last_slip}":
            return getattr(self, "_last_slip", "")
        if value == "{unrated_case}":
            # the newest case on this terminal nobody has rated yet (e.g. a queue ticket)
            for case in self.app.store.list_cases(limit=500):
                if not case.get("evaluation"):
                    return case["ref"]
            raise ScriptError("no unrated case on this terminal to rate")
        return _expand(value)

    def _plate_with_fines(self) -> str:
        """A plate the sandbox has unpaid, payable fines for (paid fines stay
        paid, so a fixed plate would make a second demo run find nothing)."""
        import random

        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        rng = random.Random()
        for _ in range(200):
            plate = "苏" + rng.choice(letters) + f"{rng.randrange(10**5):05d}"
            found = self.app.backend("traffic_violations", plate=plate)
            if any(v.get("payable") and not v.get("paid") for v in found):
                return plate
        raise ScriptError("the sandbox has no plate with unpaid fines")

    def _act(self, action: dict) -> None:
        if len(action) != 1:
            raise ScriptError("each script step is one action")
        (name, arg), = action.items()
        handler = ACTIONS.get(name)
        if handler is None:
            raise ScriptError(f"unknown action {name!r}")
        handler(self, self._expand(arg))

    # --- what the person does -----------------------------------------------------
    def _expect(self, arg: Any) -> None:
        spec = arg if isinstance(arg, dict) else {"step": arg}
        self._wait_ready(spec.get("step"), spec.get("view"), spec.get("timeout"), spec.get("hint"))

    def _tap(self, arg: Any) -> None:
        self._wait_ready()
        self._send({"type": "tap", "action": str(arg)})

    def _input(self, arg: dict) -> None:
        self._wait_ready()
        for fname, value in arg.items():
            self._send({"type": "input", "field": fname, "value": self._expand(value)})

    def _submit(self, arg: Any) -> None:
        self._wait_ready()
        self._send({"type": "submit"})

    def _back(self, arg: Any) -> None:
        self._send({"type": "back"})

    def _cancel(self, arg: Any) -> None:
        self._send({"type": "cancel"})

    def _choose(self, arg: Any) -> None:
        st = self._wait_ready()
        enabled = [c["id"] for c in st["choices"] if c["enabled"]]
        picks = enabled if arg == "all" else [enabled[int(arg)]] if int(arg) < len(enabled) else []
        if not picks:
            raise ScriptError(f"no enabled choice {arg} on {st['step']}")
        for cid in picks:
            self._send({"type": "tap", "action": cid})

    def _pay(self, arg: Any) -> None:
        st = self._wait_ready(view="payment_qr")
        payment = st["payment"] or {}
        if not payment.get("payment_id"):
            raise ScriptError("no payment QR is shown")
        self.app.backend("sandbox_pay", payment_id=payment["payment_id"])

    def _sms_code(self, arg: Any) -> None:
        self._wait_ready()
        code = self.app.sms.last_code()
        if code is None:
            raise ScriptError("no one-time code was sent")
        if arg == "wrong":  # a mistyped code: every digit off by one
            code = "".join(str((int(c) + 1) % 10) for c in code)
        self._send({"type": "input", "field": "code", "value": code})

    def _wait(self, arg: Any) -> None:
        self.clock.offset += float(arg)
        self._send({"type": "tick"})

    def _idle(self, arg: Any) -> None:
        # stay away: until the warning shows ("warning"), or until the session is wiped
        s = self.session
        left = s.state()["seconds_left"] or 0
        self.clock.offset += max(0.0, left - s.idle_warning_s + 1) if arg == "warning" else left + 1
        self._send({"type": "tick"})

    def _assert(self, arg: dict, contains: bool = False) -> None:
        st = self._wait_ready()
        for path, want in arg.items():
            got = _dig(st, path)
            if not contains and got != want:
                raise ScriptError(f"{path} is {got!r}, expected {want!r}")
            if contains and str(want) not in json.dumps(got, ensure_ascii=False):
                raise ScriptError(f"{path} ({got!r}) does not contain {want!r}")

    def _assert_in(self, arg: dict) -> None:
        self._assert(arg, contains=True)

    def _scan_action(self, arg: Any) -> None:
        self._scan(str(arg))

    def _appointment_slip_action(self, arg: Any) -> None:
        # {scan: false}: book only; scan "{last_slip}" later
        spec = arg if isinstance(arg, dict) else {"card": arg}
        self._last_slip = self._appointment_slip(spec)
        if spec.get("scan", True):
            self._scan(self._last_slip)

    def _resident_code_action(self, arg: Any) -> None:
        self._scan(self._resident_code(arg if isinstance(arg, dict) else {"card": arg}))

    def _sleep(self, arg: Any) -> None:
        time.sleep(float(arg))

    # --- what the simulated devices and the sandbox see ---------------------------
    def _card(self, arg: Any) -> None:
        self.sim("idcard").present(arg)

    def _remove_card(self, arg: Any) -> None:
        self.sim("idcard").remove()

    def _idcard(self, arg: Any) -> None:
        if arg == "remove":
            self.sim("idcard").remove()
        else:
            self.sim("idcard").present(arg)

    def _idcard_fault(self, arg: Any) -> None:
        self.sim("idcard").set_fault(arg)

    def _smartcard(self, arg: Any) -> None:
        if arg == "remove":
            self.sim("smartcard").remove()
        elif isinstance(arg, dict):
            self.sim("smartcard").insert(arg.get("insert", "social_security"), arg.get("data"))
        else:
            self.sim("smartcard").insert(str(arg))

    def _remove_smartcard(self, arg: Any) -> None:
        self.sim("smartcard").remove()

    def _camera(self, arg: Any) -> None:
        self.sim("camera").show(arg)

    def _printer(self, arg: Any) -> None:
        spec = arg if isinstance(arg, dict) else {"paper": arg}
        handle = self.sim("escpos", spec.get("device"))
        if "paper" in spec:
            handle.set_paper(spec["paper"])
        if "cover" in spec:
            handle.set_cover(spec["cover"] in (True, "open"))

    def _a4(self, arg: Any) -> None:
        spec = arg if isinstance(arg, dict) else {"fault": arg}
        self.sim("a4", spec.get("device")).set_fault(spec.get("fault"))

    def _sms_gateway(self, arg: Any) -> None:
        if arg not in ("down", "up"):
            raise ScriptError("sms_gateway is 'down' or 'up'")
        self.app.sms.down = arg == "down"

    def _central_faults(self, arg: dict) -> None:
        central = getattr(self.app, "central", None)
        if central is None:
            raise ScriptError("no central platform to inject faults into")
        try:
            central.call("POST", "/v1/sandbox/faults", json_body=arg)
        except Exception as exc:
            if arg.get("fail_rate", 0) == 0:
                raise ScriptError(f"cannot reset sandbox faults: {exc}") from None
        self.app.forget_backend_status()

    def _scan(self, text: str) -> None:
        """The resident holds a code under the scanner (once the screen listens for one)."""
        dev = next(iter(self.app.devices.by_family("scanner")), None)
        if dev is None or not dev.wait_listening(self.expect_timeout_s):
            raise ScriptError("the scanner is not waiting for a code")
        last_text, last_at = _LAST_SCANS.get(dev, (None, 0.0))
        if text == last_text:
            # the scanner takes the same code within its repeat window as one
            # scan (a phone held still), whichever script showed it: a second
            # showing comes after it
            left = last_at + dev.repeat_window_s + 0.1 - time.monotonic()
            if left > 0:
                time.sleep(left)
        for _showing in range(2):
            before = dev.scans
            self.sim("scanner").scan(text, "qr")
            _LAST_SCANS[dev] = (text, time.monotonic())
            deadline = time.monotonic() + 5.0
            while dev.scans == before and time.monotonic() < deadline:
                time.sleep(0.05)
            if dev.scans != before or not dev.wait_listening(self.expect_timeout_s):
                return
            # not taken (it reached a read that was ending): shown again, as a resident would
            time.sleep(dev.repeat_window_s + 0.1)

    def _appointment_slip(self, spec: dict) -> str:
        """The QR of a slip for an appointment starting in a few minutes (sandbox)."""
        card = self.app.sample_card(spec.get("card", "resident"))
        business = spec.get("business", "property")
        try:
            a = self.app.central.call("POST", "/v1/sandbox/appointments", json_body={
                "id_number": card["id_number"], "business": business, "in_minutes": int(spec.get("in_minutes", 10))})
        except Exception as exc:  # noqa: BLE001 - any refusal ends the script with its reason
            raise ScriptError(f"the sandbox made no appointment: {exc}") from None
        return f"{a['code']}.{business}"

    def _resident_code(self, spec: dict) -> str:
        """A demo resident code from the sandbox for a packaged card's holder;
        ``variant``: fresh, replay (the last code again), expired, forged."""
        variant = spec.get("variant", "fresh")
        if variant == "replay":
            if not getattr(self, "_last_code", None):
                raise ScriptError("no resident code was scanned before")
            return self._last_code
        card = self.app.sample_card(spec.get("card", "resident"))
        body = {"id_number": card["id_number"], "name": card["name"]}
        if variant == "expired":
            body["age_s"] = 120
        code = self.app.central.call("POST", "/v1/sandbox/resident-codes", json_body=body)["code"]
        if variant == "forged":  # the holder's name changed after signing
            head, payload, sig = code.split(".")
            doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            doc["name"] = "冒名" + doc["name"][-1:]
            payload = base64.urlsafe_b64encode(json.dumps(doc, ensure_ascii=False, sort_keys=True,
                                                          separators=(",", ":")).encode()).rstrip(b"=").decode()
            code = f"{head}.{payload}.{sig}"
        self._last_code = code
        return code


ACTIONS: dict[str, Callable[[Runner, Any], None]] = {
    "expect": Runner._expect, "tap": Runner._tap, "input": Runner._input, "submit": Runner._submit,
    "back": Runner._back, "cancel": Runner._cancel, "choose": Runner._choose, "pay": Runner._pay,
    "sms_code": Runner._sms_code, "wait": Runner._wait, "idle": Runner._idle, "assert": Runner._assert,
    "assert_in": Runner._assert_in, "sleep": Runner._sleep,
    "card": Runner._card, "remove_card": Runner._remove_card, "idcard": Runner._idcard,
    "idcard_fault": Runner._idcard_fault, "smartcard": Runner._smartcard,
    "remove_smartcard": Runner._remove_smartcard, "camera": Runner._camera, "printer": Runner._printer,
    "a4": Runner._a4, "sms_gateway": Runner._sms_gateway, "central_faults": Runner._central_faults,
    "scan": Runner._scan_action, "resident_code": Runner._resident_code_action,
    "appointment_slip": Runner._appointment_slip_action,
}


def format_report(report: RunReport) -> str:
    lines = [f"{report.service}: {'ok' if report.ok else 'FAILED'} ({report.outcome or '-'}"
             f"{'' if report.ok else ', expected ' + report.expected})"]
    lines.append(f"  {'step':<18} {'view':<12} {'machine ms':>10} {'person ms':>10}")
    for t in report.steps:
        lines.append(f"  {t['step']:<18} {t['view']:<12} {t['machine_ms']:>10.1f} {t['wait_ms']:>10.1f}")
    budget = f" (goal {report.budget_ms} ms)" if report.budget_ms else ""
    lines.append(f"  machine time {report.machine_ms:.1f} ms{budget}, wall {report.wall_ms:.0f} ms")
    if report.case_ref:
        lines.append(f"  case {report.case_ref}")
    for a in report.artifacts:
        lines.append(f"  wrote {a}")
    if report.error:
        lines.append(f"  error: {report.error}")
    return "\n".join(lines)
