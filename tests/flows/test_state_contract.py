"""The engine <-> UI contract (flows/state.py): every state the engine hands
the screen has exactly the declared keys and shapes.

The ``runner`` fixture (conftest.py) checks every state at every change of
every scripted run, so the shipped scripts the other flow tests run (the seed
services, the error paths...) are checked where they already run; the ones no
other test names are run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine import FakeClock, Flow, Session, Step
from flows.runner import load_script, shipped_script
from flows.state import STATE_KEYS, validate_state

HERE = Path(__file__).parent
FOLDER = Path(shipped_script("x")).parent
SHIPPED = sorted(str(p.relative_to(FOLDER).with_suffix("")) for p in FOLDER.rglob("*.yaml"))
RUN_ELSEWHERE = "".join(p.read_text("utf-8") for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)
NOT_RUN_ELSEWHERE = [name for name in SHIPPED if f'{Path(name).name}"' not in RUN_ELSEWHERE]


@pytest.mark.parametrize("script", NOT_RUN_ELSEWHERE)
def test_every_state_of_a_shipped_script_matches_the_contract(runner, script):
    report = runner.run(load_script(shipped_script(script)))   # the fixture checks every state
    assert report.ok, report.error


def test_a_drifted_key_fails_the_contract():
    flow = Flow("demo", "public", "flows.thanks.title", {"hello": Step("hello", view="message")}, "hello")
    session = Session(flow, clock=FakeClock()).start()
    st = session.state()
    assert validate_state(st) == []
    assert "texts" not in STATE_KEYS   # the voice reads title/prompt/hint/message, never "texts"
    assert validate_state({**st, "texts": []}) == ["state: undeclared key 'texts'"]
    assert validate_state({k: v for k, v in st.items() if k != "prompt"}) == ["state: missing key 'prompt'"]
    assert validate_state({**st, "on_behalf": "欧*明"})          # a dict, never a bare text
    assert validate_state({**st, "title": {"zh": "标题"}})        # texts carry key, zh and en
    session.finish("cancelled")
    assert validate_state(session.state()) == []                 # the wiped start state too
