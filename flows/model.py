"""The flow model: a :class:`Flow` is an ordered set of :class:`Step` objects
(data plus a few small hooks) collecting :class:`Field` values and offering
:class:`Choice` taps.  Steps act on the :class:`flows.session.Session` they are
given; how to write one is in docs/flows.md ("Writing a step")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.core.i18n import Text, text

from .state import shown_text

if TYPE_CHECKING:
    from .jobs import Job
    from .session import Session

VIEWS = ("insert_card", "consent", "face", "form", "choose", "result", "preview", "printing",
         "take_paper", "evaluation", "payment_qr", "message", "error", "start")
CATEGORIES = ("approval", "convenience", "public")
THEME = "theme"   # the menu's fourth tab: theme bundles (flows/catalog/bundles.py), never a single service
USER_EVENTS = ("tap", "input", "submit", "back", "cancel", "lang", "stay")
END = "__end__"


class FlowError(Exception):
    """A flow definition problem (caught when the catalog is loaded)."""


class StepError(Exception):
    """A failure a step reports in the resident's words (a catalog key): the
    error screen shows it, and a job ending with it is not logged as a fault."""

    def __init__(self, key: str, **kwargs: Any):
        self.text = text(key, **kwargs)
        super().__init__(self.text.en)

    @property
    def key(self) -> str:
        return self.text.key


def as_text(value: Any) -> Text | None:
    if value is None or isinstance(value, Text):
        return value
    return text(str(value))


def text_dict(value: Any) -> dict | None:
    """A state text (see :func:`flows.state.shown_text`): a string is a catalog key."""
    return shown_text(value)


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
    validate: Callable[[Any, Session], Any] | None = None
    replay_value: str | None = None   # synthetic value used when replaying a masked journal

    def clean(self, raw: Any, session: Session) -> tuple[Any, Text | None]:
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
        return {"id": self.id, "label": shown_text(self.label), "detail": shown_text(self.detail),
                "enabled": self.enabled, "selected": selected, "reason": shown_text(self.reason)}


def raw_text(zh: str, en: str | None = None) -> dict:
    """Non-catalog display text (data from the back-end such as a violation's place)."""
    return {"key": None, "zh": zh, "en": en if en is not None else zh}


class Step:
    """A screen in a flow.  Subclasses override the hooks they need; plain
    form/choose/message steps are fully described by their attributes."""

    view = "message"
    defaults: dict = {}   # keyword defaults of a step type; subclasses add theirs
    # In a flow called by another (a theme bundle's member): "skip" (receipts and
    # take-paper: the bundle gives one at the end), "return" (the rating and the
    # goodbye: back to the caller), None (as usual).
    on_call: str | None = None

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
    def skip(self, s: Session) -> bool:
        called = s.called()
        if self.agent_skip and (s.data.get("on_behalf") or called):
            return True   # the caller (agent, bundle) identified the person already
        return called and (self.on_call == "skip" or self.carried(s))

    def carried(self, s: Session) -> bool:
        """A plain question whose answer the caller already has (and that is
        valid here too): asked once per session, not once per service."""
        if type(self) is not Step or self.view not in ("form", "choose") or self.options.get("enter"):
            return False
        if self.fields:
            return all(s.data.get(f.name) not in (None, "") for f in self.fields if f.required or f.name in s.data)
        if self.multi or self.store not in s.data:
            return False
        try:
            choices = self.get_choices(s)
        except (KeyError, TypeError, AttributeError):
            return False   # the choices need data not there yet (the progress looks ahead)
        return any((c.value if c.value is not None else c.id) == s.data[self.store] and c.enabled for c in choices)

    def enter(self, s: Session) -> None:
        """Called on arrival; may start jobs.  Values already collected are pre-filled."""
        for f in self.fields:
            if f.name in s.data and not f.secret:
                s.local.setdefault("values", {})[f.name] = s.data[f.name]
            elif f.default is not None:
                s.local.setdefault("values", {})[f.name] = f.default
        hook = self.options.get("enter")
        if hook is not None:
            hook(s)

    def get_choices(self, s: Session) -> list[Choice]:
        if self.choices_fn is not None:
            return list(self.choices_fn(s))
        return list(self.choices or [])

    def tap(self, s: Session, action: str) -> bool:
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

    def on_action(self, s: Session, action: str) -> bool:
        if action == "submit":
            self.submit(s)
            return True
        if action in ("next", "ok", "continue", "confirm", "finish_enquiry"):
            s.go(self.next_step(s), cause=f"tap:{action}")
            return True
        return False

    def submit(self, s: Session) -> None:
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

    def check(self, s: Session, values: dict) -> dict | None:
        """Cross-field validation after each field passed on its own."""
        hook = self.options.get("check")
        return hook(s, values) if hook is not None else None

    def accept(self, s: Session) -> None:
        hook = self.options.get("accept")
        if hook is not None:
            hook(s)
        else:
            s.go(self.next_step(s), cause="submit")

    def on_done(self, s: Session, job: Job, result: Any) -> None:
        s.go(self.next_step(s), cause=f"done:{job.name}")

    def on_failed(self, s: Session, job: Job, error: BaseException) -> None:
        s.fail_here(error, retry=True)

    def on_device(self, s: Session, event: dict) -> None:
        pass

    def on_auto(self, s: Session) -> None:
        s.go(self.next_step(s), cause="auto")

    def on_timeout(self, s: Session) -> None:
        s.finish("completed" if (self.final or s.delivered) else "timeout")

    def next_step(self, s: Session) -> str:
        nxt = self.next
        if callable(nxt):
            nxt = nxt(s)
        if nxt is None:
            nxt = s.flow.after(self.id)
        return nxt

    def extra_state(self, s: Session) -> dict:
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
        if self.category not in (*CATEGORIES, THEME):
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
