"""A :class:`Session` runs one flow for one resident.

The UI, the headless runner and tests call :meth:`Session.dispatch` with
plain-dict events and render :meth:`Session.state` (the contract is
flows/state.py).  ``dispatch`` may be called from any thread; it holds the
session lock only for bookkeeping.  Device and back-end work never runs inside
``dispatch``: steps start a :class:`flows.jobs.Job`, and the job posts a
``done``/``failed`` event back when it finishes.  Every event and transition is
written to the journal (personal values replaced by ``"*"``).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kiosk.core import logs
from kiosk.core.i18n import Text, text

from .availability import Availability, ServiceUnavailable, check_availability, resident_reason
from .jobs import Job, JobBoard
from .journal import Journal
from .model import END, USER_EVENTS, Field, Flow, FlowError, Step, text_dict
from .projection import project
from .state import SessionState

log = logging.getLogger(__name__)


class Session:
    """One resident's session in one flow (plus any flow chained onto it)."""

    def __init__(self, flow: Flow, services: Any = None, *, lang: str = "zh", clock: Callable[[], float] | None = None,
                 idle_timeout_s: float = 90.0, idle_warning_s: float = 15.0, executor: Any = None,
                 journal: Any = None, flows: dict[str, Flow] | None = None, on_artifact: Callable | None = None,
                 check: bool = True):
        self.id = uuid.uuid4().hex[:12]
        self.flow = flow
        self.root = flow
        self.flows = dict(flows or {})
        self.flows.setdefault(flow.id, flow)
        self.services = services
        self.lang = lang
        self.clock = clock or time.monotonic
        self.idle_timeout_s = idle_timeout_s
        self.idle_warning_s = idle_warning_s
        self._own_executor = executor is None
        self.executor = executor or cf.ThreadPoolExecutor(max_workers=3, thread_name_prefix=f"flow-{self.id[:4]}")
        self.journal = journal if journal is not None else Journal()
        self.on_artifact = on_artifact
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._listeners: list[Callable[[Session], None]] = []
        self._watchers: list[Callable[[SessionState], None]] = []
        self._enders: list[Callable[[Session], None]] = []
        self._delivered_state: SessionState | None = None
        self.jobs = JobBoard(self, self.executor)
        self._tmpdir: Path | None = None
        self.data: dict[str, Any] = {}
        self.local: dict[str, Any] = {}
        self.history: list[tuple[str, str]] = []
        self.returns: dict[str, tuple[str, Any]] = {}   # called flow -> (where it returns to, banner)
        self.step: Step | None = None
        self.delivered = False       # the service was given (case committed / paper printed)
        self.artifacts: list[dict] = []
        self._artifact_bytes: dict[str, bytes] = {}
        self.result: dict | None = None
        self.ended = False
        self.outcome: str | None = None
        self.cause = ""              # what ended it ("cancel", "ui-idle", "shutdown"...)
        self.summary: dict | None = None
        self.visited: list[str] = []
        self.timings: list[dict] = []
        self._t0 = self.clock()
        self.last_activity = self._t0   # the person's last event (the idle clock)
        self._entered_at = self._t0
        self._perf_entered = time.perf_counter()
        self._depth = 0
        self.availability: Availability | None = None
        if check and services is not None:
            self.availability = check_availability(flow, services)
            if not self.availability.ok:
                self._close_executor()
                raise ServiceUnavailable(flow.id, self.availability.reasons)

    # --- public API -------------------------------------------------------------
    def start(self) -> Session:
        with self._lock:
            self.journal.write({"kind": "start", "t": 0.0, "service": self.flow.id, "lang": self.lang,
                                "session": self.id, "idle_timeout_s": self.idle_timeout_s,
                                "idle_warning_s": self.idle_warning_s})
            self.go(self.flow.first, cause="start")
            self._changed()
        return self

    def subscribe(self, callback: Callable[[SessionState], None]) -> Callable[[], None]:
        """``callback(state)`` once per change of the state, on whatever thread
        made it (the one snapshot is shared by every subscriber; an event that
        changes nothing on the screen delivers nothing).  Returns the unsubscribe."""
        return _add(self._watchers, callback)

    def on_change(self, callback: Callable[[Session], None]) -> Callable[[], None]:
        """``callback(session)`` after every dispatched event (the session's lock held)."""
        return _add(self._listeners, callback)

    def on_end(self, callback: Callable[[Session], None]) -> Callable[[], None]:
        """``callback(session)`` once, when the session has ended (its summary is set)."""
        return _add(self._enders, callback)

    def dispatch(self, event: dict) -> None:
        """Apply one event.  Never blocks on a device."""
        with self._lock:
            if self.ended:
                return
            t0 = time.perf_counter()
            step_before = self.step
            now = self.clock()
            self._record_event(event, now)
            try:
                self._handle(event, now)
            except Exception as exc:  # a broken step must not freeze the screen
                log.exception("step failed", extra={"service": self.flow.id,
                                                    "step": self.step.id if self.step else None})
                if not self.ended:
                    self.fail_here(exc, retry=False)
            if step_before is not None and not self.ended:
                self._add_machine(step_before.id, time.perf_counter() - t0)
            self._changed()

    def state(self) -> SessionState:
        with self._lock:
            return project(self)

    def wait_for(self, predicate: Callable[[SessionState], bool], timeout: float) -> SessionState:
        """Block until ``predicate(state)`` holds (runner and tests; never the UI)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                st = project(self)
                if predicate(st):
                    return st
                left = deadline - time.monotonic()
                if left <= 0:
                    why = f" ({st['message']['en']})" if st["message"] else ""
                    raise TimeoutError(f"waited {timeout:g}s; state is {st['step']}/{st['view']}{why}")
                self._cond.wait(min(left, 0.2))

    def document(self, doc_id: str) -> bytes | None:
        """Bytes of a document shown in a preview (PDF), for the UI to render."""
        with self._lock:
            return self._artifact_bytes.get(doc_id)

    def close(self, cause: str = "shutdown") -> None:
        """Stop without an outcome of its own (app shutdown, a technician, a
        harness): the screen is told, as of every end."""
        with self._lock:
            if not self.ended:
                self.finish("cancelled", cause=cause)

    # --- used by steps ------------------------------------------------------------
    def go(self, step_id: str, cause: str = "", push: bool = True) -> None:
        if self.ended:
            return
        self._depth += 1
        try:
            if self._depth > 50:
                raise FlowError(f"step loop at {step_id}")
            if step_id == END and self.called():
                step_id = self.returns.pop(self.flow.id)[0]   # a called flow ended: back to the caller
            if step_id == END:
                self.finish("completed", cause=cause)
                return
            flow_id, _, sid = step_id.rpartition(":")
            flow = self.flows[flow_id] if flow_id else self.flow
            step = flow.steps.get(sid)
            if step is None:
                raise FlowError(f"{flow.id}: no step {sid!r}")
            if step.on_call == "return" and flow.id in self.returns:
                self.go(self.returns.pop(flow.id)[0], cause=cause or "return", push=False)
                return
            previous = self.step
            if previous is not None:
                self._leave(previous)
                if push and previous.history:
                    self.history.append((self.flow.id, previous.id))
            self.flow = flow
            if step.skip(self):
                self.journal.write({"kind": "skip", "t": self._t(), "step": step.id})
                self.step = step
                self.local = {}
                self.go(step.next_step(self), cause="skip", push=False)
                return
            self.step = step
            self.local = {}
            self._entered_at = self.clock()
            self.last_activity = self._entered_at
            self._perf_entered = time.perf_counter()
            self.visited.append(step.id)
            self.timings.append({"step": step.id, "view": step.view, "machine_ms": 0.0, "total_ms": 0.0})
            self.journal.write({"kind": "transition", "t": self._t(), "from": previous.id if previous else None,
                                "to": step.id, "flow": flow.id, "cause": cause})
            unusable = self._unusable_devices(step)
            if unusable:
                self.fail_here(None, retry=True, message=unusable)
                return
            step.enter(self)
        finally:
            self._depth -= 1

    def back(self) -> None:
        step = self.step
        if step is None or not self.can_back():
            return
        flow_id, sid = self.history.pop()
        self.journal.write({"kind": "back", "t": self._t(), "to": sid})
        self.go(f"{flow_id}:{sid}", cause="back", push=False)

    def chain(self, flow: Flow, cause: str = "chain") -> None:
        """Continue with another flow in the same session (agency: a service done
        on the principal's behalf)."""
        self.flows[flow.id] = flow
        self.go(f"{flow.id}:{flow.first}", cause=cause)

    def call(self, flow: Flow, return_to: str, banner: Any = None) -> None:
        """Run another flow as a part of this one (a theme bundle's member):
        its identification, receipts and rating are the caller's, and where it
        would rate and say goodbye it returns to ``return_to``."""
        self.flows[flow.id] = flow
        self.returns[flow.id] = (return_to, banner)
        self.history.clear()   # back never leads into the service before
        self.go(f"{flow.id}:{flow.first}", cause="call")

    def called(self) -> bool:
        """The current flow runs as a part of another one (see :meth:`call`)."""
        return self.flow.id in self.returns

    def start_job(self, name: str, fn: Callable[..., Any], *args: Any, person: bool = False,
                  background: bool = False) -> Job:
        """Run ``fn(job, *args)`` off the caller's thread; the step's ``on_done``/
        ``on_failed`` get the outcome.  ``person``: it waits for the person first
        (not busy until ``job.person_done()``); ``background``: it outlives the step."""
        job = self.jobs.new(name, self.step.id if self.step else "", person, background)
        self.journal.write({"kind": "job", "t": self._t(), "job": name, "seq": job.seq, "step": job.step})
        self.jobs.submit(job, fn, args)
        return job

    def set_message(self, message: Any, **kw: Any) -> None:
        self.local["message"] = text(message, **kw) if isinstance(message, str) else message

    def set_hint(self, message: Any, **kw: Any) -> None:
        self.local["hint"] = text(message, **kw) if isinstance(message, str) else message

    def fail_here(self, error: BaseException | None, retry: bool = True, message: Any = None,
                  actions: Iterable[str] | None = None) -> None:
        """Turn the current step into an error screen with a clear next step."""
        key = getattr(error, "key", None)
        msg = message or (getattr(error, "text", None) if key else None) or text("flows.error.internal")
        if isinstance(msg, str):
            msg = text(msg)
        acts = list(actions) if actions is not None else (["retry"] if retry else []) + ["counter"]
        if self.called():   # a member of a bundle: leave it undone and go on with the others
            acts = [a for a in acts if a != "counter"] + ["skip_service"]
        self.local.update({"view": "error", "message": msg, "actions": acts, "failed": True})
        self.journal_note("error", error=key or (type(error).__name__ if error else "device"))

    def to_counter(self) -> None:
        """The resident is sent to a staffed counter: say where, when, and with
        which reference (the case stays as committed; nothing is redone)."""
        result = self.result or {}
        ref = result.get("ticket") or result.get("case_ref") or ""
        get = getattr(self.services, "config_get", None)
        hours = get("counters.hours", "") if get else ""
        hours_en = get("counters.hours_en", hours) if get else hours
        key = "flows.counter.go" if ref else "flows.counter.go_noref"
        self.local = {"view": "message", "counter": True, "title": text("flows.counter.title"),
                      "message": text(key, ref=ref, hours=hours, hours_en=hours_en), "actions": ["finish"]}
        self.journal_note("counter")

    def retry_step(self) -> None:
        if self.step is not None:
            self.go(f"{self.flow.id}:{self.step.id}", cause="retry", push=False)

    def add_artifact(self, kind: str, title: Any, data: bytes | None = None, printer: str | None = None,
                     status: str = "printed", meta: dict | None = None) -> dict:
        art_id = f"{kind}-{len(self.artifacts) + 1}"
        art = {"id": art_id, "kind": kind, "title": text_dict(title), "printer": printer, "status": status,
               **(meta or {})}
        self.artifacts.append(art)
        if data is not None:
            self._artifact_bytes[art_id] = data
            if self.on_artifact is not None:
                try:
                    self.on_artifact(self, art, data)
                except Exception:
                    log.exception("artifact sink failed")
        return art

    def show_document(self, doc_id: str, data: bytes) -> None:
        """Offer a document (PDF) for preview: the state names it, the UI
        fetches the bytes with ``document(doc_id)``."""
        self._artifact_bytes[doc_id] = data
        self.local["preview"] = {"document": doc_id, "bytes": len(data), "kind": "pdf"}

    def set_result(self, **values: Any) -> None:
        self.result = {**(self.result or {}), **values}

    def journal_note(self, what: str, **kw: Any) -> None:
        self.journal.write({**kw, "kind": "note", "t": self._t(), "what": what,
                            "step": self.step.id if self.step else None})

    def tempdir(self) -> Path:
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="kiosk-session-"))
        return self._tmpdir

    def clock_date(self):
        import datetime as dt

        return dt.date.today()

    def finish(self, outcome: str, cause: str = "") -> None:
        """End the session: record a summary without personal data, wipe, and
        tell the screen (also when the end was not the screen's own doing)."""
        with self._lock:
            self._finish(outcome, cause)

    def _finish(self, outcome: str, cause: str) -> None:
        if self.ended:
            return
        if self.step is not None:
            self._leave(self.step)
        self.ended = True
        self.outcome, self.cause = outcome, cause
        machine = sum(t["machine_ms"] for t in self.timings)
        self.summary = {
            "session": self.id, "service": self.root.id, "flows": [f for f in self.flows if f in self._flows_used()],
            "outcome": outcome, "cause": cause, "steps": list(self.visited), "timings": [dict(t) for t in self.timings],
            "machine_ms": round(machine, 1), "result": dict(self.result or {}),
            "artifacts": [dict(a) for a in self.artifacts], "case_id": self.data.get("case_id"),
            "delivered": self.delivered,
        }
        self.journal.write({"kind": "end", "t": self._t(), "outcome": outcome, "cause": cause})
        log.info("session ended", extra={"service": self.root.id, "outcome": outcome,
                                         "machine_ms": round(machine, 1)})
        self._wipe()
        self._publish()  # before the enders, which may unsubscribe the screen
        for cb in list(self._enders):
            try:
                cb(self)
            except Exception:
                log.exception("session end listener failed")

    # --- read by the projection and the runner ------------------------------------
    def busy(self) -> bool:
        """The machine is working for the current step (a spinner, taps ignored)."""
        return self.jobs.busy()

    def timeout(self) -> float:
        """The current step's idle timeout in seconds."""
        return self.step.timeout_s if self.step and self.step.timeout_s else self.idle_timeout_s

    def can_back(self) -> bool:
        return bool(self.step and self.step.can_back and self.history and not self.local.get("counter")
                    and not self.local.get("no_back"))

    def can_cancel(self) -> bool:
        return bool(self.step is None or self.step.can_cancel or self.local.get("failed"))

    def field(self, name: str | None) -> Field | None:
        """The current step's field ``name``."""
        if self.step is None:
            return None
        return next((f for f in self.step.fields if f.name == name), None)

    # --- internals -----------------------------------------------------------------
    def _flows_used(self) -> set[str]:
        return {self.root.id, self.flow.id, *(f for f, _ in self.history)}

    def _t(self) -> float:
        return round(self.clock() - self._t0, 3)

    def _record_event(self, event: dict, now: float) -> None:
        etype = event.get("type")
        if etype == "tick":
            return  # ticks are journaled only when they change something
        rec = dict(event)
        if etype == "input":
            f = self.field(event.get("field"))
            if f is None or f.personal or f.secret:
                rec["value"] = "*"
        if etype == "failed":
            rec.pop("detail", None)
        self.journal.write({"kind": "event", "t": round(now - self._t0, 3), "event": rec})

    def _handle(self, event: dict, now: float) -> None:
        etype = event.get("type")
        if etype in USER_EVENTS:
            self.last_activity = now
            self.local.pop("idle_warning", None)
        handler = self._HANDLERS.get(str(etype))
        if handler is not None:
            handler(self, event, now)

    def _on_tick(self, event: dict, now: float) -> None:
        step = self.step
        if step is None:
            return
        if self.busy():
            self.last_activity = now  # the machine is working; the person is not idle
            return
        if step.auto_s is not None and not self.local.get("failed") and now - self._entered_at >= step.auto_s:
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "auto"})
            step.on_auto(self)
            return
        timeout = self.timeout()
        idle = now - self.last_activity
        if idle >= timeout:
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "timeout"})
            if self.local.get("counter"):
                self.finish("counter", cause="idle")
            else:
                step.on_timeout(self)
        elif idle >= timeout - self.idle_warning_s and not self.local.get("idle_warning"):
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "warning"})
            self.local["idle_warning"] = True

    def _on_cancel(self, event: dict, now: float) -> None:
        if self.can_cancel():
            self.finish("completed" if self.delivered else "cancelled", cause="cancel")

    def _on_back(self, event: dict, now: float) -> None:
        self.back()

    def _on_lang(self, event: dict, now: float) -> None:
        if event.get("lang") in ("zh", "en"):
            self.lang = event["lang"]

    def _on_stay(self, event: dict, now: float) -> None:
        pass  # "I am still here": the idle clock restarted above

    def _on_input(self, event: dict, now: float) -> None:
        name = event.get("field")
        if self.field(name) is None:
            return
        self.local.setdefault("values", {})[name] = event.get("value")
        self.local.get("errors", {}).pop(name, None)

    def _on_submit(self, event: dict, now: float) -> None:
        if self.step is not None and not self.busy() and not self.local.get("failed"):
            self.step.submit(self)

    def _on_tap(self, event: dict, now: float) -> None:
        action = str(event.get("action", ""))
        failed, counter = self.local.get("failed"), self.local.get("counter")
        if action == "back":
            self.back()
        elif action == "cancel":
            self._on_cancel(event, now)
        elif failed and action == "retry":
            self.retry_step()
        elif failed and action == "counter":
            self.to_counter()
        elif failed and action == "skip_service" and self.called():
            self.data["call_failed"] = self.local.get("message") or text("flows.error.internal")
            self.journal_note("service_skipped")
            self.go(self.returns.pop(self.flow.id)[0], cause="skip_service", push=False)
        elif counter and action == "finish":
            self.finish("counter", cause="counter")
        elif self.step is not None and not self.step.tap(self, action):
            self.journal_note("ignored", action=action)

    def _on_job(self, event: dict, now: float) -> None:
        found = self.jobs.finished(int(event.get("seq", 0)))
        if found is None:
            return  # a job of a step already left (stale) or cancelled
        job, ok, value = found
        if not job.background:
            running = time.perf_counter() - job.machine_from if job.machine_from is not None else 0.0
            spent = job.machine_before + running
            if spent:
                self._add_machine(job.step, spent)
        handler = self.step
        if handler is None or handler.id != job.step:
            return
        if ok:
            handler.on_done(self, job, value)
        else:
            handler.on_failed(self, job, value)

    def _on_device(self, event: dict, now: float) -> None:
        if self.step is not None:
            self.step.on_device(self, event)

    _HANDLERS: dict[str, Callable[[Session, dict, float], None]] = {
        "tick": _on_tick, "cancel": _on_cancel, "back": _on_back, "lang": _on_lang, "stay": _on_stay,
        "input": _on_input, "submit": _on_submit, "tap": _on_tap, "done": _on_job, "failed": _on_job,
        "device": _on_device,
    }

    def _add_machine(self, step_id: str, seconds: float) -> None:
        for t in reversed(self.timings):
            if t["step"] == step_id:
                t["machine_ms"] = round(t["machine_ms"] + seconds * 1000.0, 2)
                return

    def _leave(self, step: Step) -> None:
        self.jobs.cancel()
        for t in reversed(self.timings):
            if t["step"] == step.id:
                t["total_ms"] = round((time.perf_counter() - self._perf_entered) * 1000.0, 2)
                t["wait_ms"] = round(max(0.0, t["total_ms"] - t["machine_ms"]), 2)
                break

    def _unusable_devices(self, step: Step) -> Text | None:
        if not step.devices or self.services is None:
            return None
        for need in step.devices:
            statuses = [self.services.device_status(fam) for fam in need.split("|")]
            if not any(st is not None and st.usable for st in statuses):
                fam = need.split("|")[0]
                why = resident_reason(statuses[0])
                return text("flows.error.device_unusable", device=text(f"flows.device.{fam}").zh,
                            device_en=text(f"flows.device.{fam}").en, reason=why.zh, reason_en=why.en)
        return None

    def _changed(self) -> None:
        for cb in list(self._listeners):
            try:
                cb(self)
            except Exception:
                log.exception("session listener failed")
        self._publish()

    def _publish(self) -> None:
        """The state to every subscriber, when it differs from the last one sent."""
        self._cond.notify_all()
        if not self._watchers:
            return
        state = project(self)
        if state == self._delivered_state:
            return
        self._delivered_state = state
        for watcher in list(self._watchers):
            try:
                watcher(state)
            except Exception:
                log.exception("session subscriber failed")

    def _close_executor(self) -> None:
        if self._own_executor and isinstance(self.executor, cf.ThreadPoolExecutor):
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _wipe(self) -> None:
        self.jobs.cancel(background=True)
        for value in list(self.data.values()):
            if isinstance(value, cf.Future):  # e.g. the card photo's face encoding
                value.cancel()
                if value.done() and not value.cancelled() and value.exception() is None:
                    value = value.result()
            wipe = getattr(value, "wipe", None)
            if callable(wipe):
                try:
                    wipe()
                except Exception:
                    pass
        self.data.clear()
        self.local = {}
        self.history.clear()
        self._artifact_bytes.clear()
        self.result = None
        self.step = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        logs.forget_personal()
        self._close_executor()


def _add(listeners: list, callback: Callable) -> Callable[[], None]:
    listeners.append(callback)
    return lambda: listeners.remove(callback) if callback in listeners else None
