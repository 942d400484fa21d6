"""The endurance soak inside ``kiosk run`` (``--soak N``, hidden): the same
seeded sessions and faults as ``benchmarks/soak.py``, but every session is
opened and every tap sent through the touch screen's view-model, so the QML
screens render each state and whatever the UI layer keeps is measured too."""

from __future__ import annotations

import logging
import threading
import time

import click

log = logging.getLogger(__name__)
OPEN_TIMEOUT_S = 30.0


def through_screen(runner, app, ui, backend) -> None:
    """Route a ``flows.runner.Runner``'s sessions and taps through the touch
    screen's view-model: each session opens with a tap on its catalog tile,
    each event is a tap, and the QML screens render every state."""
    from flows.engine import ServiceUnavailable

    def opener(service: str, lang: str, clock, journal, on_artifact):
        avail = app.availability(service)
        if not avail.ok:  # the screen shows the notice; the runner counts it as unavailable
            raise ServiceUnavailable(service, avail.reasons)
        before = backend.session
        backend.session_options = {"clock": clock, "journal": journal, "on_artifact": on_artifact}
        if lang != ui.vm.lang:
            ui.vm.run_on_gui(lambda: ui.vm.setLang(lang))
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while time.monotonic() < deadline:
            # The catalog the screen shows is refreshed in the background; a tap
            # on a tile it still shows as unavailable (just after a fault) only
            # gives a notice, so tap again once the list has caught up.
            ui.vm.run_on_gui(lambda: (ui.vm.touchStart(), ui.vm.refresh_services(), ui.vm.catalog.open(service)))
            tap_until = time.monotonic() + 10.0
            while time.monotonic() < tap_until:
                if backend.session is not before and backend.session is not None:
                    return backend.session
                time.sleep(0.02)
        raise RuntimeError(f"the screen did not open {service}")

    def sender(event: dict) -> None:
        """A tap through the view-model; returns once the engine has taken it
        (the view-model's one engine thread runs its calls in order)."""
        payload = {k: v for k, v in event.items() if k != "type"}
        taken = threading.Event()
        ui.vm.run_on_gui(lambda: (ui.vm.session.send(event["type"], payload), ui.vm.calls.worker.submit(taken.set)))
        if not taken.wait(OPEN_TIMEOUT_S):
            raise RuntimeError(f"the screen did not take {event['type']}")

    runner.opener, runner.sender = opener, sender


def screen_left_on_step(ui, timeout_s: float = 10.0) -> str | None:
    """After a session ended (however it ended): None once the screen has
    left the step page, else what it is stuck on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ui.vm.page != "step":
            return None
        time.sleep(0.02)
    raw = ui.vm.session.raw
    return f"the screen stayed on {raw.get('step')} ({raw.get('view')}) after the session ended"


def start_ui_soak(app, ui, backend, sessions: int, seed: int, every: int) -> threading.Thread:
    """Run the soak on a thread; the app quits with 0 (goals met) or 1 when it is done."""
    from kiosk.soak import Soak, SoakResult, child_pids, process_figures

    def run() -> None:
        app.wait_ready()
        missing = [name for name, spec in app.config.devices.items()
                   if spec["url"].startswith("sim://") and name not in app.devices.simulators]
        if missing:  # e.g. both machine-wide virtual smart-card slots taken by other runs
            click.echo(f"soak: no simulator for {', '.join(missing)}; their services would fail, not starting")
            ui.vm.run_on_gui(lambda: ui.qapp.exit(2))
            return
        idle = process_figures()
        children = ", ".join(f"{pid}: {_rss_mb(pid):.0f} MB" for pid in child_pids())
        click.echo(f"idle: app process {idle['rss_mb']:.0f} MB RSS; child processes {children or 'none'}")
        soak = Soak(app, seed=seed, out=lambda line: click.echo(line))
        through_screen(soak.runner, soak.app, ui, backend)
        soak.screen_check = lambda: screen_left_on_step(ui)
        started = time.monotonic()
        code = 1
        result = SoakResult()
        try:
            soak.run(sessions, every=every, result=result)
            code = 0 if _summary(result, started) else 1
        except Exception as exc:  # reported, and the process still ends
            log.exception("UI soak stopped")
            click.echo(f"UI soak stopped: {type(exc).__name__}: {exc}")
        after = process_figures()
        click.echo(f"after the soak: app process {after['rss_mb']:.0f} MB RSS; child processes "
                   + (", ".join(f"{pid}: {_rss_mb(pid):.0f} MB" for pid in child_pids()) or "none"))
        ui.vm.run_on_gui(lambda: ui.qapp.exit(code))

    thread = threading.Thread(target=run, name="ui-soak", daemon=True)
    thread.start()
    return thread


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _summary(result, started: float) -> bool:
    from kiosk.soak import report_lines

    lines, ok = report_lines(result, started)
    for line in lines:
        click.echo(line)
    return ok
