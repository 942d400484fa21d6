"""``kiosk services preview FILE --out DIR``: every step of a service as the
resident sees it, one PNG per screen, rendered by the real QML screens.

The service (shipped, or a new catalog file not shipped yet) runs on the real
core with the simulated devices and the embedded sandbox; its resident script
(``flows/scripts/ID.yaml``, or ``--script``) gives the sample data.  The
script's taps go through the touch screen's view-model (ui.soak), and before
the resident acts (a tap, a card, a scan; a form once it is filled) the
screen is grabbed once per step and view, after it shows the engine's state
and its images have loaded.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SETTLE_S = 15.0
QUIET = {"expect", "assert", "assert_in", "input", "wait", "sleep", "central_faults", "sms_gateway", "printer", "a4"}


def _images_loaded(ui: Any) -> bool:
    from PySide6.QtQml import QQmlEngine, QQmlExpression

    stack = [ui.view.rootObject()]
    while stack:
        item = stack.pop()
        if item.isVisible() and item.metaObject().className().startswith("QQuickImage"):
            loading = QQmlExpression(QQmlEngine.contextForObject(item), item, "status === Image.Loading")
            if loading.evaluate()[0]:
                return False
        stack.extend(item.childItems())
    return True


class Shooter:
    """Grabs the screen once per (step, view) the script acts on."""

    def __init__(self, ui: Any, runner: Any, out: Path):
        self.ui, self.runner, self.out = ui, runner, out
        self.seen: set[tuple[str, str]] = set()
        self.files: list[Path] = []

    def before(self) -> None:
        """Runs on the script's thread before the resident acts: waits for the GUI's grab."""
        engine = self.runner.session.state() if self.runner.session is not None else None
        if not engine or not engine.get("step") or engine.get("busy"):
            return
        key = (engine["step"], engine["view"])
        if key in self.seen:
            return
        self.seen.add(key)
        done = threading.Event()
        self.ui.vm.run_on_gui(lambda: self._grab(engine["step"], engine["view"], done))
        done.wait(SETTLE_S * 2)

    def _grab(self, step: str, view: str, done: threading.Event) -> None:
        from PySide6.QtCore import QCoreApplication

        try:
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline:
                shown = self.ui.vm.session.raw
                if self.ui.vm.page == "step" and shown.get("step") == step and shown.get("view") == view \
                        and _images_loaded(self.ui):
                    break
                QCoreApplication.processEvents()
                time.sleep(0.02)
            QCoreApplication.processEvents()
            name = f"{len(self.files) + 1:02d}-{step}{'' if view not in ('error',) else '-' + view}.png"
            self.files.append(self.ui.grab(self.out / name))
        finally:
            done.set()


def preview(flow: Any, script: dict, out: Path, *, lang: str = "zh", elderly: bool = False,
            orientation: str | None = None) -> tuple[list[Path], Any]:
    """Screens of ``flow`` along ``script`` into ``out``; returns the PNGs and the run's report."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from PySide6.QtCore import QCoreApplication

    from flows.runner import Runner
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    from .app import build_ui
    from .backend import EngineBackend
    from .soak import through_screen

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-preview-") as data:
        config = load_config(env={"KIOSK_DATA_DIR": data}, remote=False, overrides={"mode": "demo"})
        app = KioskApp(config, auto_pay_s=1.0).start()
        ui = None
        try:
            app.catalog.setdefault(flow.id, flow)   # a service file not shipped yet
            backend = EngineBackend(app)
            ui = build_ui(config, backend, lang=lang, elderly=elderly, orientation=orientation)
            runner = Runner(app, Path(data) / "run", expect_timeout_s=30)
            through_screen(runner, app, ui, backend)
            shooter = Shooter(ui, runner, out)
            act = runner._act

            def acting(action: dict) -> None:
                if not set(action) & QUIET:
                    shooter.before()
                act(action)
            runner._act = acting
            done: dict = {}
            thread = threading.Thread(target=lambda: done.update(report=runner.run(script, flow.id)),
                                      name="preview-script", daemon=True)
            thread.start()
            while thread.is_alive():
                QCoreApplication.processEvents()
                thread.join(0.01)
            return shooter.files, done.get("report")
        finally:
            if ui is not None:
                ui.backend.close()
                ui.close()
            app.stop()
