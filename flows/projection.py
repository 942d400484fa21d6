"""The state projection: what the screen shows of a session, as the typed
snapshot of flows/state.py.  Called under the session's lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Step, text_dict
from .state import ActionState, ChoiceState, FieldState, Progress, ServiceRef, SessionState

if TYPE_CHECKING:
    from .session import Session

KEYBOARDS = {"plate": "plate", "number": "numeric", "amount": "numeric", "phone": "numeric", "code": "numeric",
             "pin": "numeric", "id_number": "id", "date": "date", "checkbox": "none"}


def project(s: Session) -> SessionState:
    """The snapshot of ``s``: the start screen once ended, else the current step."""
    if s.ended or s.step is None:
        return ended_state(s)
    step = s.step
    busy = s.busy()
    idle = s.clock() - s.last_activity
    state: dict[str, Any] = {
        "session": s.id,
        "service": service_ref(s),
        "lang": s.lang,
        "step": step.id,
        "view": s.local.get("view") or step.view,
        "title": text_dict(s.local.get("title") or step.title),
        "prompt": text_dict(s.local.get("prompt") or step.prompt),
        "hint": text_dict(s.local.get("hint")),
        "message": text_dict(s.local.get("message")),
        "fields": fields(s, step),
        "errors": {k: text_dict(v) for k, v in s.local.get("errors", {}).items()},
        "choices": choices(s, step),
        "multi": step.multi,
        "actions": actions(s, step),
        "progress": progress(s, step),
        "can_back": s.can_back(),
        "can_cancel": s.can_cancel(),
        "seconds_left": None if busy else max(0, int(round(s.timeout() - idle))),
        "idle_warning": bool(s.local.get("idle_warning")),
        "busy": busy,
        "result": dict(s.result) if s.result else None,
        "preview": s.local.get("preview"),
        "payment": None,
        "artifacts": [dict(a) for a in s.artifacts],
        "on_behalf": s.data.get("on_behalf_shown"),
        "ended": False,
        "outcome": None,
    }
    state.update(step.extra_state(s))
    return state


# Ends the resident did not ask for on the screen: the start screen says why.
_SCREEN_CAUSES = ("cancel", "counter", "ui-idle")


def ended_message(s: Session) -> dict | None:
    """Why the session ended, when the resident may not know (None when they
    finished it, left it on the screen or were sent to a counter)."""
    if not s.ended or s.outcome in ("completed", "counter") or s.cause in _SCREEN_CAUSES:
        return None
    return text_dict("flows.ended.timeout" if s.outcome == "timeout" else "flows.ended.elsewhere")


def ended_state(s: Session) -> SessionState:
    return {"session": s.id, "service": service_ref(s), "lang": s.lang, "step": None,
            "view": "start", "title": None, "prompt": None, "hint": None, "message": ended_message(s),
            "fields": [], "errors": {}, "choices": [], "multi": False, "actions": [], "progress": None,
            "can_back": False, "can_cancel": False, "seconds_left": None, "idle_warning": False,
            "busy": False, "result": None, "preview": None, "payment": None, "artifacts": [],
            "on_behalf": None, "ended": s.ended, "outcome": s.outcome}


def service_ref(s: Session) -> ServiceRef:
    title = text_dict(s.flow.title)
    banner = s.returns.get(s.flow.id, (None, None))[1] if not s.ended else None
    if banner and title:   # a bundle's member: "我要退休 2/3 · 社保缴费证明"
        title = {"key": None, "zh": f"{banner['zh']} · {title['zh']}", "en": f"{banner['en']} · {title['en']}"}
    return {"id": s.flow.id, "title": title, "category": s.flow.category, "root": s.root.id}


def fields(s: Session, step: Step) -> list[FieldState]:
    if s.local.get("failed"):
        return []
    values = s.local.get("values", {})
    errors = s.local.get("errors", {})
    return [{
        "name": f.name, "kind": f.kind, "label": text_dict(f.label or f"flows.field.{f.name}"),
        "keyboard": f.keyboard or KEYBOARDS.get(f.kind, "text"), "required": f.required,
        "personal": f.personal or f.secret, "max_length": f.max_length,
        "placeholder": text_dict(f.placeholder), "value": f.shown(values.get(f.name)),
        "error": text_dict(errors.get(f.name)),
    } for f in step.fields]


def choices(s: Session, step: Step) -> list[ChoiceState]:
    if s.local.get("failed"):
        return []
    selected = s.local.get("selected", [])
    chosen = s.data.get(step.store)
    return [c.as_dict(c.id in selected if step.multi else c.id == chosen)
            for c in step.get_choices(s)]


def actions(s: Session, step: Step) -> list[ActionState]:
    ids = s.local["actions"] if s.local.get("failed") else (s.local.get("actions") or [a.id for a in step.actions])
    labels = {a.id: a.label for a in step.actions}
    return [{"id": a, "label": text_dict(labels.get(a) or f"flows.action.{a}")} for a in ids]


def progress(s: Session, step: Step) -> Progress | None:
    """Position among the steps that count ("step n of m")."""
    ids = [st.id for st in s.flow.steps.values() if st.interactive() and not st.skip(s)]
    return {"index": ids.index(step.id) + 1, "total": len(ids)} if step.id in ids else None
