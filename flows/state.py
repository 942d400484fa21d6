"""The engine <-> UI contract: exactly what ``Session.state()`` produces.

The snapshot is a plain JSON-able dict (the UI localises it, the runner digs
into it, tests compare it), typed here with TypedDicts.  Nothing else may be
read from it: a key the UI reads that is not declared here is a drift, and
:func:`validate_state` reports a key the engine produces that is not declared,
a declared key it leaves out, and a value of the wrong shape.  Both sides test
against this module (tests/flows/test_state_contract.py runs every shipped
service script through it at every change).

Every text is a :class:`TextDict` (``key`` is None for data from a back-end,
e.g. a violation's place); personal values are already masked.
"""

import types
import typing
from typing import Any, Literal, NotRequired, TypedDict

from kiosk.core.i18n import Text, text

View = Literal["insert_card", "consent", "face", "form", "choose", "result", "preview", "printing",
               "take_paper", "evaluation", "payment_qr", "message", "error", "start"]
Keyboard = Literal["plate", "numeric", "id", "date", "text", "none"]
Outcome = Literal["completed", "cancelled", "timeout", "counter", "failed"]


class TextDict(TypedDict):
    """A text in both languages; ``key`` names its catalog entry (None: data)."""

    key: str | None
    zh: str
    en: str


class ServiceRef(TypedDict):
    id: str
    title: TextDict
    category: str
    root: str                 # the service started (differs after agency chaining)


class FieldState(TypedDict):
    name: str
    kind: str
    label: TextDict
    keyboard: Keyboard
    required: bool
    personal: bool            # masked value (personal data or a secret)
    max_length: int | None
    placeholder: TextDict | None
    value: str | bool | int | float   # masked when personal, dots when secret
    error: TextDict | None


class ChoiceState(TypedDict):
    id: str
    label: TextDict | None
    detail: TextDict | None
    enabled: bool
    selected: bool
    reason: TextDict | None   # why disabled


class ActionState(TypedDict):
    id: str
    label: TextDict


class Progress(TypedDict):
    index: int
    total: int


class ResultRow(TypedDict):
    label: TextDict
    value: TextDict


class MonthState(TypedDict):
    month: str
    status: str | None
    base: str


class Result(TypedDict, total=False):
    """What a back-end said and what the session produced; every key optional."""

    status: Literal["ok", "warn"]
    headline: TextDict
    rows: list[ResultRow]
    case_ref: str
    ticket: str
    waiting: int | None
    offline: bool
    counters: str
    paid: str                 # amount paid by QR, yuan
    months: list[MonthState]
    evaluation: int | None    # the level given


class Preview(TypedDict):
    document: str             # Session.document(id) gives the bytes
    bytes: int
    kind: Literal["pdf"]


class Payment(TypedDict):
    payment_id: str
    qr: str                   # draw as a QR code
    amount: str
    currency: str
    status: str
    expires_at: str | None


class Artifact(TypedDict):
    id: str
    kind: str                 # pdf receipt ticket
    title: TextDict | None
    printer: str | None
    status: str
    job: NotRequired[str | int | None]   # the printer's job id


class OnBehalf(TypedDict):
    """Agency: shown as a banner (names masked)."""

    agent: str
    principal: str
    relationship: TextDict


class SessionState(TypedDict):
    session: str
    service: ServiceRef
    lang: Literal["zh", "en"]
    step: str | None          # None once ended
    view: View                # "start" once ended
    title: TextDict | None
    prompt: TextDict | None
    hint: TextDict | None
    message: TextDict | None
    fields: list[FieldState]
    errors: dict[str, TextDict]
    choices: list[ChoiceState]
    multi: bool
    actions: list[ActionState]
    progress: Progress | None
    can_back: bool
    can_cancel: bool
    seconds_left: int | None  # None while busy
    idle_warning: bool
    busy: bool
    result: Result | None
    preview: Preview | None
    payment: Payment | None
    artifacts: list[Artifact]
    on_behalf: OnBehalf | None
    ended: bool
    outcome: Outcome | None


STATE_KEYS: frozenset[str] = frozenset(SessionState.__annotations__)


def shown_text(value: Any) -> TextDict | None:
    """The one way a value becomes a state text: None stays None, a
    :class:`TextDict`-shaped dict is kept, a Text is rendered, a string is a
    catalog key."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value  # type: ignore[return-value]
    t = value if isinstance(value, Text) else text(str(value))
    return t.as_dict()  # type: ignore[return-value]


# --------------------------------------------------------------------------- checking

def validate_state(state: Any) -> list[str]:
    """Every way ``state`` departs from :class:`SessionState` (empty: it conforms)."""
    problems: list[str] = []
    _check(state, SessionState, "state", problems)
    return problems


def _check(value: Any, tp: Any, path: str, out: list[str]) -> None:
    if tp is Any:
        return
    if tp is None or tp is type(None):
        if value is not None:
            out.append(f"{path}: expected null, got {value!r}")
        return
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(tp) if not (value is not None and a is type(None))]
        reports = []
        for arm in arms:
            found: list[str] = []
            _check(value, arm, path, found)
            if not found:
                return
            reports.append(found)
        # one candidate shape (X | None with a value): say what is wrong inside it
        out.extend(reports[0] if len(reports) == 1 else [f"{path}: {value!r:.60} is none of {tp}"])
        return
    if origin is Literal:
        if value not in typing.get_args(tp):
            out.append(f"{path}: {value!r} is not one of {typing.get_args(tp)}")
        return
    if origin is list:
        if not isinstance(value, list):
            out.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        (item,) = typing.get_args(tp)
        for i, v in enumerate(value):
            _check(v, item, f"{path}[{i}]", out)
        return
    if origin is dict:
        if not isinstance(value, dict):
            out.append(f"{path}: expected a mapping, got {type(value).__name__}")
            return
        _, item = typing.get_args(tp)
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(f"{path}: key {k!r} is not a string")
            _check(v, item, f"{path}.{k}", out)
        return
    if typing.is_typeddict(tp):
        _check_typeddict(value, tp, path, out)
        return
    _check_scalar(value, tp, path, out)


def _check_typeddict(value: Any, tp: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
        return
    hints = typing.get_type_hints(tp)
    for key in sorted(tp.__required_keys__ - value.keys()):
        out.append(f"{path}: missing key {key!r}")
    for key in sorted(value.keys() - hints.keys()):
        out.append(f"{path}: undeclared key {key!r}")
    for key, v in value.items():
        if key in hints:
            _check(v, hints[key], f"{path}.{key}", out)


def _check_scalar(value: Any, tp: Any, path: str, out: list[str]) -> None:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp)
    if not ok:
        out.append(f"{path}: expected {getattr(tp, '__name__', tp)}, got {type(value).__name__} {value!r:.60}")
