"""Shipped resident scripts played through the touch screen: the session is
opened by a tap on its tile, every event is a tap through the view-model,
and the QML screens render every state the engine delivers.  Each screen
binds without a QML warning (the make_ui fixture checks), has guidance to
speak in Chinese and in English, and a session done on someone's behalf
says so with both names masked."""

from __future__ import annotations

import re
import threading

import pytest

from flows.runner import Runner, load_script, shipped_script
from ui.soak import through_screen
from ui.voice import step_speech

pytestmark = pytest.mark.qt


def play(kiosk, tmp_path, service: str) -> tuple[object, list[dict]]:
    """Run the shipped script of ``service`` through the screen; returns the
    report and every state the step screen showed."""
    runner = Runner(kiosk.app, tmp_path / service, expect_timeout_s=30)
    through_screen(runner, kiosk.app, kiosk.ui, kiosk.ui.backend)
    shown: list[dict] = []
    session = kiosk.ui.vm.session

    def changed():
        if kiosk.ui.vm.page == "step" and session.raw.get("step"):
            shown.append({"state": dict(session.raw), "on_behalf": session.onBehalf})
    session.changed.connect(changed)
    script = load_script(shipped_script(service))
    if "smartcard" not in kiosk.app.devices.simulators:  # no PC/SC reader here: its card stays out anyway
        script.get("setup", {}).pop("smartcard", None)
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(report=runner.run(script)),
                              name=f"script-{service}", daemon=True)
    thread.start()
    try:
        kiosk.qtbot.waitUntil(lambda: "report" in done, timeout=240_000)
        assert done["report"].ok, done["report"].error
        kiosk.wait_page("attract", timeout=30)
    finally:
        session.changed.disconnect(changed)
        thread.join(timeout=30)
    return done["report"], shown


def test_every_screen_of_a_shipped_service_binds_and_speaks(real_kiosk, tmp_path):
    """亲属代办 meets most views: two ID cards, consent, face, choices, a
    form with an error, a chained service, preview, paper, evaluation."""
    service = "family_agency"
    kiosk = real_kiosk()
    report, shown = play(kiosk, tmp_path, service)
    assert report.ok, report.error
    steps = {s["state"]["step"] for s in shown}
    assert len(steps) >= 5, steps
    for entry in shown:
        state = entry["state"]
        for lang in ("zh", "en"):
            said = " ".join(text for _, text in step_speech(state, lang))
            assert said.strip() and "{" not in said, (state["step"], lang, said)
        zh = " ".join(text for _, text in step_speech(state, "zh"))
        assert not re.search(r"[A-Za-z]{3,}", zh), (state["step"], zh)   # no English on a Chinese screen
    assert not kiosk.ui.qml_warnings
    # the chained service's screens name the agent and the principal, masked
    lines = {e["on_behalf"] for e in shown if e["state"].get("on_behalf")}
    assert lines and all(re.fullmatch(r"欧\*\* 代 李\*\* 办理（子女）", line) for line in lines), lines
    assert all(e["on_behalf"] == "" for e in shown if not e["state"].get("on_behalf"))
