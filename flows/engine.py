"""The flow engine: declarative steps driven by events, Qt-free.

A :class:`Flow` is an ordered set of :class:`Step` objects (data plus a few
small hooks).  A :class:`Session` runs one flow for one resident: the UI, the
headless runner and tests call :meth:`Session.dispatch` with plain-dict events
and render :meth:`Session.state`, a JSON-able snapshot (contract in
docs/flows.md).

Threading: ``dispatch`` may be called from any thread; it holds the session
lock only for bookkeeping.  Device and back-end work never runs inside
``dispatch``: steps start a :class:`Job` on an executor, and the job posts a
``done``/``failed`` event back when it finishes, so the caller (the UI thread)
never blocks.

Recording: every dispatched event and every step transition is written to a
journal (JSON lines, personal values replaced by ``"*"``).  :func:`replay`
feeds a journal into a fresh session and reports whether the same step
sequence came out.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from kiosk.core import logs
from kiosk.core.i18n import Text, text

log = logging.getLogger(__name__)

VIEWS = ("insert_card", "consent", "face", "form", "choose", "result", "preview", "printing",
         "take_paper", "evaluation", "payment_qr", "message", "error", "start")
CATEGORIES = ("approval", "convenience", "public")
USER_EVENTS = ("tap", "input", "submit", "back", "cancel", "lang", "stay")
END = "__end__"


class FlowError(Exception):
    """A flow definition problem (caught when the catalog is loaded)."""


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reasons: list[Text]):
        self.service = service
        self.reasons = reasons
        super().__init__(f"{service} unavailable: " + "; ".join(r.en for r in reasons))


def as_text(value: Any) -> Text | None:
    if value is None or isinstance(value, Text):
        return value
    return text(str(value))


def text_dict(value: Any) -> dict | None:
    t = as_text(value)
    return t.as_dict() if t is not None else None


# --------------------------------------------------------------------------- data

@dataclass
class Field:
    """One value a step collects.  ``validate(value, session)`` returns None, a
    catalog key or a Text; ``clean`` (kind-specific normalising) runs first."""

    name: str
    kind: str = "text"            # text number amount date plate phone id_number code checkbox pin
    label: str | None = None
    required: bool = True
    personal: bool = False        # masked in state and journal
    secret: bool = False          # never shown at all (PINs, one-time codes)
    keyboard: str | None = None   # on-screen keyboard the UI shows: plate numeric id text date none
    max_length: int | None = None
    placeholder: str | None = None
    default: Any = None
    validate: Callable[[Any, "Session"], Any] | None = None
    replay_value: str | None = None   # synthetic value used when replaying a masked journal

    def clean(self, raw: Any, session: "Session") -> tuple[Any, Text | None]:
        from . import validators

        value = raw.strip() if isinstance(raw, str) else raw
        if value in (None, "", False) and self.kind != "checkbox":
            return None, (text("flows.field.required") if self.required else None)
        if self.kind == "checkbox":
            value = value in (True, "true", "1", 1, "yes", "on")
            if self.required and not value:
                return value, text("flows.field.must_confirm")
            return value, None
        value, err = validators.clean(self.kind, value, session.clock_date())
        if err is None and self.max_length and isinstance(value, str) and len(value) > self.max_length:
            err = text("flows.field.too_long", n=self.max_length)
        if err is None and self.validate is not None:
            err = as_text(self.validate(value, session))
        return value, err

    def shown(self, value: Any) -> Any:
        from kiosk.core.masking import PERSONAL_FIELDS, mask_text

        if value is None:
            return ""
        if self.secret:
            return "•" * len(str(value))
        if self.personal:
            masker = PERSONAL_FIELDS.get(self.name) or PERSONAL_FIELDS.get(self.kind)
            return masker(str(value)) if masker else mask_text(str(value))
        return value if isinstance(value, (bool, int, float)) else str(value)


@dataclass
class Choice:
    id: str
    label: Any                      # Text, catalog key, or plain (non-catalog) text via Text("raw")
    detail: Any = None
    enabled: bool = True
    value: Any = None
    reason: Any = None              # why disabled

    def as_dict(self, selected: bool) -> dict:
        return {"id": self.id, "label": _shown_text(self.label), "detail": _shown_text(self.detail),
                "enabled": self.enabled, "selected": selected, "reason": _shown_text(self.reason)}


def raw_text(zh: str, en: str | None = None) -> dict:
    """Non-catalog display text (data from the back-end such as a violation's place)."""
    return {"key": None, "zh": zh, "en": en if en is not None else zh}


def _shown_text(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    return text_dict(value)


class Step:
    """A screen in a flow.  Subclasses override the hooks they need; plain
    form/choose/message steps are fully described by their attributes."""

    view = "message"
    defaults: dict = {}   # keyword defaults of a step type; subclasses add theirs

    def __init__(self, id: str, **kw: Any):
        merged: dict = {}
        for cls in reversed(type(self).__mro__):
            merged.update(cls.__dict__.get("defaults", {}))
        self._init(id, **{**merged, **kw})

    def _init(self, id: str, *, view: str | None = None, title: str | None = None, prompt: str | None = None,
                 fields: Iterable[Field] = (), choices: Iterable[Choice] | None = None, store: str | None = None,
                 multi: bool = False, actions: Iterable[Choice] = (), devices: Iterable[str] = (),
                 timeout_s: float | None = None, auto_s: float | None = None, next: Any = None,
                 can_back: bool = True, can_cancel: bool = True, final: bool = False, history: bool = True,
                 agent_skip: bool = False, progress: bool = True, options: dict | None = None):
        self.id = id
        if view:
            self.view = view
        if self.view not in VIEWS:
            raise FlowError(f"step {id}: unknown view {self.view!r}")
        self.title = title
        self.prompt = prompt
        self.fields = list(fields)
        self.choices_fn = choices if callable(choices) else None
        self.choices = list(choices) if choices is not None and not callable(choices) else None
        self.store = store or id          # data key a choice is stored under
        self.multi = multi
        self.actions = list(actions)
        self.devices = tuple(devices)
        self.timeout_s = timeout_s
        self.auto_s = auto_s
        self.next = next
        self.can_back = can_back
        self.can_cancel = can_cancel
        self.final = final
        self.history = history            # False: back skips over this step (busy/transient screens)
        self.agent_skip = agent_skip      # skipped when a flow runs on a principal's behalf
        self.progress = progress
        self.options = dict(options or {})

    # --- hooks ----------------------------------------------------------------
    def skip(self, s: "Session") -> bool:
        return self.agent_skip and bool(s.data.get("on_behalf"))

    def enter(self, s: "Session") -> None:
        """Called on arrival; may start jobs.  Values already collected are pre-filled."""
        for f in self.fields:
            if f.name in s.data and not f.secret:
                s.local.setdefault("values", {})[f.name] = s.data[f.name]
            elif f.default is not None:
                s.local.setdefault("values", {})[f.name] = f.default
        hook = self.options.get("enter")
        if hook is not None:
            hook(s)

    def get_choices(self, s: "Session") -> list[Choice]:
        if self.choices_fn is not None:
            return list(self.choices_fn(s))
        return list(self.choices or [])

    def tap(self, s: "Session", action: str) -> bool:
        """A tap on a choice or action; return False when not understood."""
        choices = {c.id: c for c in self.get_choices(s)}
        if action in choices:
            choice = choices[action]
            if not choice.enabled:
                s.set_message(choice.reason or "flows.choice.unavailable")
                return True
            if self.multi:
                selected = s.local.setdefault("selected", [])
                if action in selected:
                    selected.remove(action)
                else:
                    selected.append(action)
                s.local.get("errors", {}).pop(self.store, None)
                return True
            s.data[self.store] = choice.value if choice.value is not None else choice.id
            s.go(self.next_step(s), cause=f"tap:{action}")
            return True
        if action in set(s.local.get("actions") or [a.id for a in self.actions]):
            return self.on_action(s, action)
        return False

    def on_action(self, s: "Session", action: str) -> bool:
        if action == "submit":
            self.submit(s)
            return True
        if action in ("next", "ok", "continue", "confirm", "finish_enquiry"):
            s.go(self.next_step(s), cause=f"tap:{action}")
            return True
        return False

    def submit(self, s: "Session") -> None:
        errors: dict[str, Text] = {}
        values = s.local.setdefault("values", {})
        cleaned: dict[str, Any] = {}
        for f in self.fields:
            value, err = f.clean(values.get(f.name), s)
            if err is not None:
                errors[f.name] = err
            else:
                cleaned[f.name] = value
        if self.multi:
            selected = s.local.get("selected", [])
            if not selected and self.options.get("min_select", 1) > 0:
                errors[self.store] = text("flows.choice.select_one")
        if not errors:
            more = self.check(s, cleaned)
            errors.update({k: as_text(v) for k, v in (more or {}).items()})
        s.local["errors"] = errors
        if errors:
            s.journal_note("invalid", fields=sorted(errors))
            return
        s.data.update(cleaned)
        if self.multi:
            s.data[self.store] = list(s.local.get("selected", []))
        self.accept(s)

    def check(self, s: "Session", values: dict) -> dict | None:
        """Cross-field validation after each field passed on its own."""
        hook = self.options.get("check")
        return hook(s, values) if hook is not None else None

    def accept(self, s: "Session") -> None:
        hook = self.options.get("accept")
        if hook is not None:
            hook(s)
        else:
            s.go(self.next_step(s), cause="submit")

    def on_done(self, s: "Session", job: "Job", result: Any) -> None:
        s.go(self.next_step(s), cause=f"done:{job.name}")

    def on_failed(self, s: "Session", job: "Job", error: BaseException) -> None:
        s.fail_here(error, retry=True)

    def on_device(self, s: "Session", event: dict) -> None:
        pass

    def on_auto(self, s: "Session") -> None:
        s.go(self.next_step(s), cause="auto")

    def on_timeout(self, s: "Session") -> None:
        s.finish("completed" if (self.final or s.delivered) else "timeout")

    def next_step(self, s: "Session") -> str:
        nxt = self.next
        if callable(nxt):
            nxt = nxt(s)
        if nxt is None:
            nxt = s.flow.after(self.id)
        return nxt

    def extra_state(self, s: "Session") -> dict:
        return {}

    # --- description --------------------------------------------------------
    def interactive(self) -> bool:
        """Counted in "step n of m": a screen the resident acts on (steps that
        are machine work, asides, the rating and the goodbye set progress off)."""
        return bool(self.progress)


@dataclass
class Flow:
    id: str
    category: str
    title: str
    steps: dict[str, Step]
    first: str
    description: str | None = None
    devices: list[str] = field(default_factory=list)    # families; "idcard|smartcard" = either
    backends: list[str] = field(default_factory=list)   # central, store, signer
    agency: bool = False           # may be done on a principal's behalf
    offered: bool = True           # shown in the catalog (evaluation is not a service of its own)
    icon: str = ""
    budget_ms: int | None = None   # machine-time goal, reported by the runner
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise FlowError(f"{self.id}: category must be one of {', '.join(CATEGORIES)}")
        if self.first not in self.steps:
            raise FlowError(f"{self.id}: first step {self.first!r} not defined")
        for step in self.steps.values():
            if isinstance(step.next, str) and step.next != END and step.next not in self.steps:
                raise FlowError(f"{self.id}.{step.id}: next step {step.next!r} not defined")

    def after(self, step_id: str) -> str:
        ids = list(self.steps)
        i = ids.index(step_id)
        return ids[i + 1] if i + 1 < len(ids) else END

    def describe(self) -> dict:
        return {"id": self.id, "category": self.category, "title": text_dict(self.title),
                "description": text_dict(self.description), "icon": self.icon,
                "devices": list(self.devices), "backends": list(self.backends),
                "steps": [{"id": s.id, "view": s.view} for s in self.steps.values()]}


# --------------------------------------------------------------------------- availability

@dataclass
class Availability:
    ok: bool
    reasons: list[Text] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"available": self.ok, "reasons": [r.as_dict() for r in self.reasons]}


def resident_reason(status: Any) -> Text:
    """Why a device cannot serve, in a resident's words: "out of paper" says
    what anyone can see; anything else is "under maintenance" (the
    technician's detail stays in diagnostics and the log)."""
    detail = getattr(status, "detail", None) or {}
    if detail.get("paper") == "out":
        return text("flows.reason.paper_out")
    return text("flows.reason.maintenance")


def check_availability(flow: Flow, services: Any) -> Availability:
    """Every device family and back-end the flow needs must be usable now.

    ``services.device_status(family)`` returns the best DeviceStatus of that
    family (or None when none is configured); ``services.backend_status(name)``
    returns (ok, reason Text or None)."""
    reasons: list[Text] = []
    for need in flow.devices:
        options = need.split("|")
        statuses = [(fam, services.device_status(fam)) for fam in options]
        if any(st is not None and st.usable for _, st in statuses):
            continue
        for fam, st in statuses[:1] if len(options) == 1 else statuses:
            if st is None:
                reasons.append(text("flows.unavailable.no_device", device=text(f"flows.device.{fam}").zh,
                                    device_en=text(f"flows.device.{fam}").en))
            else:
                why = resident_reason(st)
                reasons.append(text("flows.unavailable.device", device=text(f"flows.device.{fam}").zh,
                                    device_en=text(f"flows.device.{fam}").en, reason=why.zh, reason_en=why.en))
    for backend in flow.backends:
        ok, why = services.backend_status(backend)
        if not ok:
            reasons.append(why or text(f"flows.unavailable.{backend}"))
    return Availability(not reasons, reasons)


# --------------------------------------------------------------------------- clock & jobs

class FakeClock:
    """An injectable monotonic clock for tests and replay."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class Job:
    """Work started by a step, run off the caller's thread.

    The function receives the job: it checks ``cancelled``, calls
    ``person_done()`` when the part that waits for the person (a card to be
    placed, a blink) is over, and may ``post`` progress events."""

    def __init__(self, session: "Session", seq: int, name: str, step: str, person: bool, background: bool):
        self.session = session
        self.seq = seq
        self.name = name
        self.step = step
        self.person = person
        self.background = background
        self.cancel_event = threading.Event()
        self.started = time.perf_counter()
        self.machine_from: float | None = None if person else self.started
        self.machine_before = 0.0  # machine seconds of earlier rounds (see person_again)
        self.future: cf.Future | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def person_done(self) -> None:
        if self.machine_from is None:
            self.machine_from = time.perf_counter()

    def person_again(self) -> None:
        """Back to waiting for the person (e.g. the wrong card was read)."""
        if self.machine_from is not None:
            self.machine_before += time.perf_counter() - self.machine_from
            self.machine_from = None

    def post(self, event: dict) -> None:
        if not self.cancelled:
            self.session.dispatch({**event, "job_seq": self.seq})

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self.cancel_event.wait(seconds)


class InlineExecutor:
    """Runs nothing until told: used by replay so a job finishes exactly where
    the journal says it did."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[Callable, tuple]] = {}

    def submit_job(self, job: Job, fn: Callable, args: tuple) -> None:
        self.pending[job.seq] = (fn, args)

    def run(self, seq: int):
        fn, args = self.pending.pop(seq)
        return fn(*args)


# --------------------------------------------------------------------------- session

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
        self._listeners: list[Callable[["Session"], None]] = []
        self._job_seq = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._results: dict[int, tuple[bool, Any]] = {}
        self._tmpdir: Path | None = None
        self.data: dict[str, Any] = {}
        self.local: dict[str, Any] = {}
        self.history: list[tuple[str, str]] = []
        self.step: Step | None = None
        self.delivered = False       # the service was given (case committed / paper printed)
        self.artifacts: list[dict] = []
        self._artifact_bytes: dict[str, bytes] = {}
        self.result: dict | None = None
        self.ended = False
        self.outcome: str | None = None
        self.summary: dict | None = None
        self.visited: list[str] = []
        self.timings: list[dict] = []
        self._t0 = self.clock()
        self._last_activity = self._t0
        self._entered_at = self._t0
        self._perf_entered = time.perf_counter()
        self._busy_since: float | None = None
        self._depth = 0
        self.replaying = isinstance(self.executor, InlineExecutor)
        self.availability: Availability | None = None
        if check and services is not None:
            self.availability = check_availability(flow, services)
            if not self.availability.ok:
                self._close_executor()
                raise ServiceUnavailable(flow.id, self.availability.reasons)

    # --- public API -------------------------------------------------------------
    def start(self) -> "Session":
        with self._lock:
            self.journal.write({"kind": "start", "t": 0.0, "service": self.flow.id, "lang": self.lang,
                                "session": self.id, "idle_timeout_s": self.idle_timeout_s,
                                "idle_warning_s": self.idle_warning_s})
            self.go(self.flow.first, cause="start")
            self._changed()
        return self

    def on_change(self, callback: Callable[["Session"], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

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

    def state(self) -> dict:
        with self._lock:
            return self._state()

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float) -> dict:
        """Block until ``predicate(state)`` holds (runner and tests; never the UI)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                st = self._state()
                if predicate(st):
                    return st
                left = deadline - time.monotonic()
                if left <= 0:
                    why = f" ({st['message']['en']})" if st.get("message") else ""
                    raise TimeoutError(f"waited {timeout:g}s; state is {st['step']}/{st['view']}{why}")
                self._cond.wait(min(left, 0.2))

    def document(self, doc_id: str) -> bytes | None:
        """Bytes of a document shown in a preview (PDF), for the UI to render."""
        with self._lock:
            return self._artifact_bytes.get(doc_id)

    def close(self) -> None:
        """Stop without an outcome of its own (app shutdown)."""
        if not self.ended:
            self.finish("cancelled", cause="shutdown")

    # --- used by steps ------------------------------------------------------------
    def go(self, step_id: str, cause: str = "", push: bool = True) -> None:
        if self.ended:
            return
        self._depth += 1
        try:
            if self._depth > 50:
                raise FlowError(f"step loop at {step_id}")
            if step_id == END:
                self.finish("completed", cause=cause)
                return
            flow_id, _, sid = step_id.rpartition(":")
            flow = self.flows[flow_id] if flow_id else self.flow
            step = flow.steps.get(sid)
            if step is None:
                raise FlowError(f"{flow.id}: no step {sid!r}")
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
            self._last_activity = self._entered_at
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
        if step is None or not self._can_back():
            return
        flow_id, sid = self.history.pop()
        self.journal.write({"kind": "back", "t": self._t(), "to": sid})
        self.go(f"{flow_id}:{sid}", cause="back", push=False)

    def chain(self, flow: Flow, cause: str = "chain") -> None:
        """Continue with another flow in the same session (agency: a service done
        on the principal's behalf)."""
        self.flows[flow.id] = flow
        self.go(f"{flow.id}:{flow.first}", cause=cause)

    def start_job(self, name: str, fn: Callable[..., Any], *args: Any, person: bool = False,
                  background: bool = False) -> Job:
        job = Job(self, next(self._job_seq), name, self.step.id if self.step else "", person, background)
        self._jobs[job.seq] = job
        if not background and self._busy_since is None:
            self._busy_since = time.perf_counter()
        self.journal.write({"kind": "job", "t": self._t(), "job": name, "seq": job.seq, "step": job.step})
        if isinstance(self.executor, InlineExecutor):
            self.executor.submit_job(job, self._run_job, (job, fn, args))
        else:
            job.future = self.executor.submit(self._run_job_and_post, job, fn, args)
        return job

    def cancel_jobs(self, include_background: bool = False) -> None:
        for job in list(self._jobs.values()):
            if include_background or not job.background:
                job.cancel()
                self._jobs.pop(job.seq, None)
        self._update_busy()

    def set_error(self, field_name: str, message: Any, **kw: Any) -> None:
        self.local.setdefault("errors", {})[field_name] = text(message, **kw) if isinstance(message, str) else message

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

    def update_artifact(self, art_id: str, **changes: Any) -> None:
        for art in self.artifacts:
            if art["id"] == art_id:
                art.update(changes)

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
        """End the session: record a summary without personal data, then wipe."""
        if self.ended:
            return
        if self.step is not None:
            self._leave(self.step)
        self.ended = True
        self.outcome = outcome
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
            f = self._field(event.get("field"))
            if f is None or f.personal or f.secret:
                rec["value"] = "*"
        if etype == "failed":
            rec.pop("detail", None)
        self.journal.write({"kind": "event", "t": round(now - self._t0, 3), "event": rec})

    def _field(self, name: str | None) -> Field | None:
        if self.step is None:
            return None
        for f in self.step.fields:
            if f.name == name:
                return f
        return None

    def _handle(self, event: dict, now: float) -> None:
        etype = event.get("type")
        step = self.step
        if etype in USER_EVENTS:
            self._last_activity = now
            self.local.pop("idle_warning", None)
        if etype == "tick":
            self._tick(now)
        elif etype == "cancel":
            if self._can_cancel():
                self.finish("completed" if self.delivered else "cancelled", cause="cancel")
        elif etype == "back":
            self.back()
        elif etype == "lang":
            if event.get("lang") in ("zh", "en"):
                self.lang = event["lang"]
        elif etype == "stay":
            pass
        elif etype == "input":
            name = event.get("field")
            if self._field(name) is None:
                return
            self.local.setdefault("values", {})[name] = event.get("value")
            self.local.get("errors", {}).pop(name, None)
        elif etype == "submit":
            if step is not None and not self._busy() and not self.local.get("failed"):
                step.submit(self)
        elif etype == "tap":
            action = str(event.get("action", ""))
            if action == "back":
                self.back()
            elif action == "cancel":
                if self._can_cancel():
                    self.finish("completed" if self.delivered else "cancelled", cause="cancel")
            elif self.local.get("failed") and action == "retry":
                self.retry_step()
            elif self.local.get("failed") and action == "counter":
                self.to_counter()
            elif self.local.get("counter") and action == "finish":
                self.finish("counter", cause="counter")
            elif step is not None and not step.tap(self, action):
                self.journal_note("ignored", action=action)
        elif etype in ("done", "failed"):
            self._job_finished(event)
        elif etype == "device":
            if step is not None:
                step.on_device(self, event)

    def _tick(self, now: float) -> None:
        step = self.step
        if step is None:
            return
        if self._busy():
            self._last_activity = now  # the machine is working; the person is not idle
            return
        if step.auto_s is not None and not self.local.get("failed") and now - self._entered_at >= step.auto_s:
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "auto"})
            step.on_auto(self)
            return
        timeout = self._timeout()
        idle = now - self._last_activity
        if idle >= timeout:
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "timeout"})
            if self.local.get("counter"):
                self.finish("counter", cause="idle")
            else:
                step.on_timeout(self)
        elif idle >= timeout - self.idle_warning_s and not self.local.get("idle_warning"):
            self.journal.write({"kind": "tick", "t": round(now - self._t0, 3), "what": "warning"})
            self.local["idle_warning"] = True

    def _timeout(self) -> float:
        return self.step.timeout_s if self.step and self.step.timeout_s else self.idle_timeout_s

    def _run_job(self, job: Job, fn: Callable, args: tuple) -> tuple[bool, Any]:
        try:
            return True, fn(job, *args)
        except BaseException as exc:  # delivered to the step as a failed event
            if not getattr(exc, "key", None):
                log.warning("job failed", exc_info=True, extra={"job": job.name})
            return False, exc

    def _run_job_and_post(self, job: Job, fn: Callable, args: tuple) -> None:
        ok, value = self._run_job(job, fn, args)
        self._results[job.seq] = (ok, value)
        if job.cancelled:
            self._results.pop(job.seq, None)
            return
        self.dispatch(self._job_event(job, ok, value))

    @staticmethod
    def _job_event(job: Job, ok: bool, value: Any) -> dict:
        if ok:
            return {"type": "done", "job": job.name, "seq": job.seq}
        return {"type": "failed", "job": job.name, "seq": job.seq,
                "error": getattr(value, "key", None) or type(value).__name__}

    def _job_finished(self, event: dict) -> None:
        seq = int(event.get("seq", 0))
        if isinstance(self.executor, InlineExecutor) and seq in self.executor.pending:
            self._results[seq] = self.executor.run(seq)
        job = self._jobs.pop(seq, None)
        result = self._results.pop(seq, None)
        if job is None or result is None:
            return  # a job of a step already left (stale) or cancelled
        if not job.background:
            spent = job.machine_before + (time.perf_counter() - job.machine_from if job.machine_from is not None else 0.0)
            if spent:
                self._add_machine(job.step, spent)
        self._update_busy()
        ok, value = result
        handler = self.step
        if handler is None or handler.id != job.step:
            return
        if ok:
            handler.on_done(self, job, value)
        else:
            handler.on_failed(self, job, value)

    def _add_machine(self, step_id: str, seconds: float) -> None:
        for t in reversed(self.timings):
            if t["step"] == step_id:
                t["machine_ms"] = round(t["machine_ms"] + seconds * 1000.0, 2)
                return

    def _update_busy(self) -> None:
        if not self._busy():
            self._busy_since = None

    def _busy(self) -> bool:
        # Waiting for the person (a card, a blink, a payment) is not busy: the
        # idle timeout runs and the screen stays interactive.
        return any(not j.background and j.machine_from is not None for j in self._jobs.values())

    def _leave(self, step: Step) -> None:
        for job in list(self._jobs.values()):
            if not job.background:
                job.cancel()
                self._jobs.pop(job.seq, None)
        self._update_busy()
        for t in reversed(self.timings):
            if t["step"] == step.id:
                t["total_ms"] = round((time.perf_counter() - self._perf_entered) * 1000.0, 2)
                t["wait_ms"] = round(max(0.0, t["total_ms"] - t["machine_ms"]), 2)
                break

    def _can_back(self) -> bool:
        return bool(self.step and self.step.can_back and self.history and not self.local.get("counter")
                    and not self.local.get("no_back"))

    def _can_cancel(self) -> bool:
        return bool(self.step is None or self.step.can_cancel or self.local.get("failed"))

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
        self._cond.notify_all()
        for cb in list(self._listeners):
            try:
                cb(self)
            except Exception:
                log.exception("session listener failed")

    def _close_executor(self) -> None:
        if self._own_executor and isinstance(self.executor, cf.ThreadPoolExecutor):
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _wipe(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel()
        self._jobs.clear()
        self._results.clear()
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

    def _state(self) -> dict:
        if self.ended or self.step is None:
            return {"session": self.id, "service": self._service_dict(), "lang": self.lang, "step": None,
                    "view": "start", "title": None, "prompt": None, "hint": None, "message": None,
                    "fields": [], "errors": {}, "choices": [], "multi": False, "actions": [], "progress": None,
                    "can_back": False, "can_cancel": False, "seconds_left": None, "idle_warning": False,
                    "busy": False, "result": None, "preview": None, "payment": None, "artifacts": [],
                    "on_behalf": None, "ended": self.ended, "outcome": self.outcome}
        step = self.step
        values = self.local.get("values", {})
        errors = self.local.get("errors", {})
        failed = bool(self.local.get("failed"))
        fields = [] if failed else [{
            "name": f.name, "kind": f.kind, "label": text_dict(f.label or f"flows.field.{f.name}"),
            "keyboard": f.keyboard or _default_keyboard(f.kind), "required": f.required,
            "personal": f.personal or f.secret, "max_length": f.max_length,
            "placeholder": text_dict(f.placeholder), "value": f.shown(values.get(f.name)),
            "error": text_dict(errors.get(f.name)),
        } for f in step.fields]
        selected = self.local.get("selected", [])
        chosen = self.data.get(step.store)
        choices = [] if failed else [c.as_dict(c.id in selected if step.multi else c.id == chosen)
                                     for c in step.get_choices(self)]
        action_ids = self.local["actions"] if failed else (self.local.get("actions") or [a.id for a in step.actions])
        labels = {a.id: a.label for a in step.actions}
        actions = [{"id": a, "label": text_dict(labels.get(a) or f"flows.action.{a}")} for a in action_ids]
        timeout = self._timeout()
        busy = self._busy()
        idle = self.clock() - self._last_activity
        seconds_left = None if busy else max(0, int(round(timeout - idle)))
        interactive = [s for s in self.flow.steps.values() if s.interactive() and not s.skip(self)]
        ids = [s.id for s in interactive]
        index = ids.index(step.id) + 1 if step.id in ids else None
        extra = step.extra_state(self)
        state = {
            "session": self.id,
            "service": self._service_dict(),
            "lang": self.lang,
            "step": step.id,
            "view": self.local.get("view") or step.view,
            "title": text_dict(self.local.get("title") or step.title),
            "prompt": text_dict(self.local.get("prompt") or step.prompt),
            "hint": text_dict(self.local.get("hint")),
            "message": text_dict(self.local.get("message")),
            "fields": fields,
            "errors": {k: text_dict(v) for k, v in errors.items()},
            "choices": choices,
            "multi": step.multi,
            "actions": actions,
            "progress": {"index": index, "total": len(ids)} if index else None,
            "can_back": self._can_back(),
            "can_cancel": self._can_cancel(),
            "seconds_left": seconds_left,
            "idle_warning": bool(self.local.get("idle_warning")),
            "busy": busy,
            "result": dict(self.result) if self.result else None,
            "preview": self.local.get("preview"),
            "payment": None,
            "artifacts": [dict(a) for a in self.artifacts],
            "on_behalf": self.data.get("on_behalf_shown"),
            "ended": False,
            "outcome": None,
        }
        state.update(extra)
        return state

    def _service_dict(self) -> dict:
        return {"id": self.flow.id, "title": text_dict(self.flow.title), "category": self.flow.category,
                "root": self.root.id}


def _default_keyboard(kind: str) -> str:
    return {"plate": "plate", "number": "numeric", "amount": "numeric", "phone": "numeric", "code": "numeric",
            "pin": "numeric", "id_number": "id", "date": "date", "checkbox": "none"}.get(kind, "text")


# --------------------------------------------------------------------------- journal & replay

class Journal:
    """JSON-lines record of a session: events and transitions, no personal data."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.records: list[dict] = []
        self._fh = open(self.path, "a", encoding="utf-8") if self.path else None

    def write(self, record: dict) -> None:
        self.records.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def lines(self) -> list[str]:
        return [json.dumps(r, ensure_ascii=False, default=str) for r in self.records]

    def transitions(self) -> list[str]:
        return [r["to"] for r in self.records if r.get("kind") == "transition"]

    @staticmethod
    def load(source: str | Path | Iterable[str]) -> list[dict]:
        if isinstance(source, (str, Path)) and Path(source).exists():
            lines = Path(source).read_text("utf-8").splitlines()
        else:
            lines = list(source)  # type: ignore[arg-type]
        return [json.loads(line) for line in lines if line.strip()]


def replay(records: list[dict], flows: dict[str, Flow], services: Any = None, **session_kw: Any) -> dict:
    """Re-run a recorded session and compare the step sequence.

    Jobs run inline exactly where the journal says they finished; masked
    inputs get the field's ``replay_value``.  Returns ``{"same": bool,
    "recorded": [...], "replayed": [...], "outcome": ...}``."""
    start = next(r for r in records if r.get("kind") == "start")
    clock = FakeClock(0.0)
    journal = Journal()
    for key in ("idle_timeout_s", "idle_warning_s"):
        if key in start:
            session_kw.setdefault(key, start[key])
    session = Session(flows[start["service"]], services, lang=start.get("lang", "zh"), clock=clock,
                      executor=InlineExecutor(), journal=journal, flows=flows, check=False, **session_kw)
    session.start()
    for rec in records:
        kind = rec.get("kind")
        if kind == "event":
            clock.now = rec["t"]
            event = dict(rec["event"])
            if event.get("job_seq"):
                continue  # progress posted by a job; replayed jobs post their own
            if event.get("type") == "input" and event.get("value") == "*":
                f = session._field(event.get("field"))
                event["value"] = f.replay_value if f is not None else ""
            session.dispatch(event)
        elif kind == "tick":
            clock.now = rec["t"]
            session.dispatch({"type": "tick"})
    recorded = [r["to"] for r in records if r.get("kind") == "transition"]
    replayed = journal.transitions()
    end = next((r for r in records if r.get("kind") == "end"), {})
    return {"same": recorded == replayed and end.get("outcome") == session.outcome,
            "recorded": recorded, "replayed": replayed, "outcome": session.outcome,
            "recorded_outcome": end.get("outcome")}
