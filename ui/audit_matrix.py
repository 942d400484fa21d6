"""Every step of every shipped script, rendered and audited (``ui.audit``).

Each script plays through the touch screen (``ui.soak.through_screen``: a
tile tap opens the session, every event is a tap).  Before the resident acts
on a step, the runner waits while the screen shows that step at the sizes,
languages and modes the matrix picks for it, and each rendering is audited.
The attract screen and the catalog are audited the same way.

The full matrix renders every step at every combination (4 sizes x zh/en x
standard/elderly); the reduced one, which ``make test`` runs, renders each
step once, turning through the combinations step by step (deterministic).

    python -m ui.audit_matrix [--full] [--shots DIR] [SERVICE...]
"""

from __future__ import annotations

import itertools
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .audit import audit_screen, images_loaded

SIZES = ((1920, 1080), (1366, 768), (1280, 1024), (1080, 1920))
COMBOS = tuple((w, h, lang, elderly) for (w, h), elderly, lang in
               itertools.product(SIZES, (False, True), ("zh", "en")))


def combo_name(combo) -> str:
    w, h, lang, elderly = combo
    return f"{w}x{h}_{'elderly' if elderly else 'standard'}_{lang}"


@dataclass
class Matrix:
    """Which combinations each rendered screen gets, and what was found."""

    full: bool = False
    shots: Path | None = None
    verbose: bool = False
    rendered: int = 0
    findings: dict[str, list[str]] = field(default_factory=dict)   # finding -> where (screen @ combo)
    _turn: int = 0

    def combos(self, frame: bool = False) -> tuple:
        if self.full:
            return COMBOS
        if frame:   # one of each size, both languages and modes among them
            return COMBOS[::5]
        self._turn += 1
        return (COMBOS[(self._turn - 1) % len(COMBOS)],)

    def add(self, where: str, found: list[str]) -> None:
        if self.verbose:
            print(where, *found, sep="\n  ", flush=True)
        self.rendered += 1
        for line in found:
            self.findings.setdefault(line, []).append(where)

    def summary(self) -> list[str]:
        lines = [f"{self.rendered} renderings, {len(self.findings)} distinct findings"]
        for line, where in sorted(self.findings.items()):
            lines.append(f"- {line}  [{len(where)}x, e.g. {where[0]}]")
        return lines


def pump(ui, until: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ui.qapp.processEvents()
        if until():
            return True
        time.sleep(0.01)
    return until()


def settle(ui) -> None:
    """Until every engine call queued so far has run and reached the screen."""
    done: list[bool] = []
    ui.vm.calls.call(lambda: None, then=lambda _r: done.append(True))
    if not pump(ui, lambda: bool(done)):
        raise RuntimeError("the screen's engine calls did not finish")
    pump(ui, lambda: images_loaded(ui), 15.0)
    ui.qapp.processEvents()


def render(ui, combo) -> None:
    w, h, lang, elderly = combo
    ui.view.resize(w, h)
    if ui.vm.lang != lang:
        ui.vm.setLang(lang)
    if bool(ui.vm.elderly) != elderly:
        ui.vm.setElderly(elderly)
    settle(ui)


def audit_here(ui, matrix: Matrix, screen: str, restore: tuple | None = None) -> None:
    """Audit the screen as it is now at the matrix's combinations for it."""
    for combo in matrix.combos():
        render(ui, combo)
        _audit_once(ui, matrix, screen, combo)
    if restore is not None:
        render(ui, restore)


def audit_frame(ui, matrix: Matrix) -> None:
    """The attract screen, the first page of every catalog tab and every page
    of 全部, each combination laid out once for all of them (the number of
    pages follows the size)."""
    base = (ui.view.width(), ui.view.height(), ui.vm.lang, False)
    catalog = ui.vm.catalog
    for combo in matrix.combos(frame=True):
        ui.vm.go_home()
        render(ui, combo)
        ui.vm.touchStart()
        settle(ui)
        for tab in [t["id"] for t in catalog.property("tabs")]:
            catalog.setCategory(tab)
            settle(ui)
            _audit_once(ui, matrix, f"catalog_{tab}", combo)
            while tab == "all" and catalog.property("page") < catalog.property("pages") - 1:
                catalog.turnPage(1)
                settle(ui)
                _audit_once(ui, matrix, f"catalog_all_page{catalog.property('page') + 1}", combo)
        ui.vm.go_home()
        settle(ui)
        _audit_once(ui, matrix, "attract", combo)
    render(ui, base)


def _audit_once(ui, matrix: Matrix, screen: str, combo) -> None:
    where = f"{screen} @ {combo_name(combo)}"
    matrix.add(where, audit_screen(ui))
    if matrix.shots is not None:
        ui.grab(matrix.shots / f"{screen}_{combo_name(combo)}.png")


def play(ui, app, script_path: Path, matrix: Matrix, out: Path) -> str | None:
    """Play one shipped script through the screen, auditing each step the
    resident acts on; returns the runner's error, or None."""
    from flows.runner import Runner, load_script

    from .soak import through_screen

    script = load_script(script_path)
    if "smartcard" not in app.devices.simulators:
        script.get("setup", {}).pop("smartcard", None)
    runner = Runner(app, out / script_path.stem, expect_timeout_s=30)
    through_screen(runner, app, ui, ui.backend)
    base_send = runner.sender
    requests: queue.Queue = queue.Queue()
    seen: set = set()

    def hold(state: dict) -> None:
        """Keep the runner here while the screen is audited at this step."""
        key = (state["step"], state["view"])
        if not state["ended"] and not state["busy"] and key not in seen:
            seen.add(key)
            done = threading.Event()
            requests.put((state["step"], done))
            done.wait(900)

    def hold_and_send(event: dict) -> None:
        hold(runner.session.state())
        base_send(event)

    def act_and_hold(action: dict) -> None:
        base_act(action)
        if "expect" in action:   # a step the resident meets by a card, a face or a payment
            hold(runner.session.state())

    base_act = runner._act
    runner.sender = hold_and_send
    runner._act = act_and_hold
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(report=runner.run(script)), daemon=True,
                              name=f"audit-{script_path.stem}")
    thread.start()
    base = (ui.view.width(), ui.view.height(), script.get("lang", "zh"), False)
    session = ui.vm.session
    while thread.is_alive():
        pump(ui, lambda: not requests.empty() or not thread.is_alive(), 0.5)
        try:
            step, done = requests.get_nowait()
        except queue.Empty:
            continue
        try:
            if pump(ui, lambda s=step: ui.vm.page == "step" and session.raw.get("step") == s
                    and not session.raw.get("busy")):
                audit_here(ui, matrix, f"{script_path.stem}.{step}", base)
        finally:
            done.set()
    report = result.get("report")
    pump(ui, lambda: ui.vm.page == "attract", 30)
    if report is None:
        return "the runner stopped"
    return None if report.ok else report.error


def scripts(names: list[str] | None = None) -> list[Path]:
    from flows.runner import demo_scripts

    found = demo_scripts()
    return [p for p in found if not names or p.stem in names]


def run(names: list[str] | None, full: bool, shots: Path | None, verbose: bool = False,
        echo: Callable[[str], None] = print) -> int:
    """The command: a core with simulated devices, the window, every script."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    from .app import build_ui
    from .backend import EngineBackend
    from .voice import Voice

    data = Path(tempfile.mkdtemp(prefix="kiosk-audit-"))
    config = load_config(None, env={"KIOSK_DATA_DIR": str(data)}, remote=False,
                         overrides={"mode": "demo", "ui": {"idle_timeout_s": 900}})
    app = KioskApp(config, auto_pay_s=1.0).start()
    sims = app.devices.simulators
    sims["camera"].show("obama_blink")
    ui = build_ui(config, EngineBackend(app), voice=Voice(enabled=False, volume=0.0, runner=lambda cmd: None))
    matrix = Matrix(full=full, shots=shots, verbose=verbose)
    failed = []
    try:
        app.wait_ready()
        settle(ui)
        audit_frame(ui, matrix)
        for path in scripts(names):
            t0 = time.monotonic()
            error = play(ui, app, path, matrix, data / "out")
            echo(f"{path.stem}: {'ok' if error is None else error} ({time.monotonic() - t0:.0f} s)")
            if error is not None:
                failed.append(path.stem)
    finally:
        ui.backend.close()
        ui.close()
        app.stop()
    for line in matrix.summary():
        echo(line)
    return 1 if matrix.findings or failed else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ui.audit_matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="*", help="script names (default: every shipped script)")
    parser.add_argument("--full", action="store_true", help="every size, language and mode for every step")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each rendering's findings as it goes")
    parser.add_argument("--shots", type=Path, help="write every rendering as a PNG here")
    args = parser.parse_args(argv)
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    return run(args.services, args.full, args.shots, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
