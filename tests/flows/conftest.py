"""One KioskApp (simulated devices + embedded sandbox) shared by the flow tests.

Starting the simulators (pty ID reader, pcscd + vpcd, camera folder, ESC/POS
on TCP, ippeveprinter) costs a few seconds, so the tests share one app and
reset the devices they touch.
"""

from __future__ import annotations

import os

import pytest

from kiosk.core.config import load_config


@pytest.fixture(scope="session")
def kiosk_app(tmp_path_factory):
    from kiosk.app import KioskApp

    data = tmp_path_factory.mktemp("kiosk-data")
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_CONFIG", "KIOSK_CENTRAL_URL")}
    env["KIOSK_DATA_DIR"] = str(data)
    config = load_config(env=env, overrides={"ui": {"idle_timeout_s": 60, "idle_warning_s": 10}})
    app = KioskApp(config).start()
    # the flow tests share one resident card: lift the sandbox's per-identity
    # limit on phone lookups (tests/central checks the limits themselves)
    app.embedded.sandbox.phones.per_identity = (10_000, 3600.0)
    app.embedded.sandbox.phones.per_terminal = (10_000, 3600.0)
    yield app
    app.stop()


@pytest.fixture
def runner(kiosk_app, tmp_path):
    from flows.runner import Runner

    printer = kiosk_app.devices.simulators.get("ticket_printer")
    if printer is not None:
        printer.set_paper("ok")
        printer.set_cover(False)
    a4 = kiosk_app.devices.simulators.get("a4_printer")
    if a4 is not None and hasattr(a4, "set_fault"):
        a4.set_fault(None)
    runner = Runner(kiosk_app, tmp_path / "out", expect_timeout_s=30)
    # What the voice guidance says on each screen of the session (ui.voice builds
    # it from the engine's state, the same way the touch screen does).
    from ui.voice import step_speech

    runner.spoken = []
    make = kiosk_app.new_session

    def new_session(*args, **kw):
        session = make(*args, **kw)
        lang = kw.get("lang", "zh")

        def changed(s):
            state = s.state()
            problems.update(validate_state(state))
            if state.get("step") and not state.get("busy") and \
                    (not runner.spoken or runner.spoken[-1][0] != state["step"]):
                runner.spoken.append((state["step"], step_speech(state, lang)))
        session.on_change(changed)
        return session
    kiosk_app.new_session = new_session

    # Every state the screen would be given matches the engine <-> UI
    # contract (flows/state.py), at every change of every scripted run.
    from flows.state import validate_state

    problems: set[str] = set()
    run = runner.run

    def checked_run(*args, **kw):
        problems.clear()
        report = run(*args, **kw)
        if runner.session is not None:
            problems.update(validate_state(runner.session.state()))
        assert not problems, sorted(problems)
        return report
    runner.run = checked_run
    yield runner
    del kiosk_app.new_session
