"""The UI side of the engine<->UI contract (flows/state.py): every key of the
engine's state that the QML screens and the view-models read is one the
contract declares, so a drift (a ``texts`` key, a ``preview.doc`` the engine
never sends) fails here instead of leaving a blank screen."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest

from flows.state import SessionState, validate_state

QML = Path(__file__).resolve().parents[2] / "ui" / "qml"
ALIAS = re.compile(r"property var (\w+):\s*((?:session\.state|\w+)(?:\.\w+)*)")
JS_MEMBERS = {"length", "slice"}   # what QML may ask of a list


def _typed(tp):
    """The TypedDict or list inside ``tp`` (X | None), else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = arms[0] if len(arms) == 1 else None
    if tp is not None and (typing.is_typeddict(tp) or typing.get_origin(tp) is list):
        return tp
    return None


def _member(tp, name: str, where: str):
    """The type of ``tp.name``; fails the test when the contract lacks it."""
    if typing.get_origin(tp) is list:
        assert name in JS_MEMBERS, f"{where}: .{name} of a list"
        return None
    hints = typing.get_type_hints(tp)
    assert name in hints, f"{where}: reads {name!r}, which {tp.__name__} (flows/state.py) does not declare"
    return _typed(hints[name])


def _resolve(path: list[str], names: dict, where: str):
    tp = names.get(path[0])
    for name in path[1:]:
        if tp is None:
            return None
        tp = _member(tp, name, where)
    return tp


def test_every_state_key_the_screens_read_is_in_the_contract():
    checked = 0
    for qml in sorted(QML.rglob("*.qml")):
        src = qml.read_text("utf-8")
        names: dict = {"session.state": SessionState}
        for alias, expr in ALIAS.findall(src):
            head = "session.state" if expr.startswith("session.state") else expr.split(".")[0]
            rest = expr[len(head):].strip(".").split(".") if expr != head else []
            if head in names:
                names[alias] = _resolve([head, *[r for r in rest if r]], names, qml.name)
        for alias, tp in list(names.items()):
            if tp is None:
                continue
            pattern = r"(?<![\w.])" + re.escape(alias) + r"((?:\.[a-z_]\w*)+)"
            for chain in re.findall(pattern, src):
                _resolve([alias, *chain.strip(".").split(".")], names, f"{qml.name}: {alias}{chain}")
                checked += 1
    assert checked > 50   # the step screens read the state through these names


class Watched(dict):
    """A state that remembers which of its keys were read."""

    def __init__(self, data, seen: set):
        super().__init__(data)
        self.seen = seen

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)


@pytest.mark.qt
def test_the_view_models_and_the_voice_read_only_declared_keys(qtbot):
    from flows.engine import END, Field, Flow, Session, Step
    from ui.viewmodels.common import GuiCalls
    from ui.viewmodels.session import SessionViewModel
    from ui.voice import step_speech

    steps = {"plate": Step("plate", view="form", title="flows.traffic.plate_title", prompt="flows.traffic.plate_prompt",
                           fields=[Field("plate", kind="plate")], next=END)}
    session = Session(Flow("toy", "convenience", "flows.svc.traffic_violations.title", steps, "plate"), None).start()
    session.dispatch({"type": "submit"})   # an error to speak too
    state = session.state()
    assert validate_state(state) == []

    class Backend:
        def __init__(self):
            self.session = session

        def subscribe(self, _cb):
            pass

    seen: set = set()
    calls = GuiCalls()
    vm = SessionViewModel(Backend(), calls, "zh")
    vm._apply(Watched(state, seen))
    assert vm.view == "form" and vm.onBehalf == ""
    step_speech(Watched(state, seen), "zh")
    step_speech(Watched(state, seen), "en")
    assert seen and seen <= set(SessionState.__annotations__), seen - set(SessionState.__annotations__)
    session.close()
    calls.shutdown()
