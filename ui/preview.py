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

import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .audit import images_loaded

SETTLE_S = 15.0
QUIET = {"expect", "assert", "assert_in", "input", "wait", "sleep", "central_faults", "sms_gateway", "printer", "a4"}


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
                        and images_loaded(self.ui):
                    break
                QCoreApplication.processEvents()
                time.sleep(0.02)
            QCoreApplication.processEvents()
            name = f"{len(self.files) + 1:02d}-{step}{'' if view not in ('error',) else '-' + view}.png"
            self.files.append(self.ui.grab(self.out / name))
        finally:
            done.set()


@contextlib.contextmanager
def _screen(lang: str = "zh", elderly: bool = False, orientation: str | None = None):
    """The real core (simulated devices, embedded sandbox) and the touch screen over it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    from .app import build_ui
    from .backend import EngineBackend

    with tempfile.TemporaryDirectory(prefix="kiosk-preview-") as data:
        config = load_config(env={"KIOSK_DATA_DIR": data}, remote=False, overrides={"mode": "demo"})
        app = KioskApp(config, auto_pay_s=600.0).start()   # the script pays
        ui = None
        try:
            ui = build_ui(config, EngineBackend(app), lang=lang, elderly=elderly, orientation=orientation)
            yield app, ui, Path(data)
        finally:
            if ui is not None:
                ui.backend.close()
                ui.close()
            app.stop()


def _play(app: Any, ui: Any, flow: Any, script: dict, out: Path, work: Path) -> tuple[list[Path], Any]:
    from PySide6.QtCore import QCoreApplication

    from flows.runner import Runner

    from .soak import through_screen

    app.catalog.setdefault(flow.id, flow)   # a service file not shipped yet
    runner = Runner(app, work / flow.id, expect_timeout_s=30)
    through_screen(runner, app, ui, ui.backend)
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


def preview(flow: Any, script: dict, out: Path, *, lang: str = "zh", elderly: bool = False,
            orientation: str | None = None) -> tuple[list[Path], Any]:
    """Screens of ``flow`` along ``script`` into ``out``; returns the PNGs and the run's report."""
    out.mkdir(parents=True, exist_ok=True)
    with _screen(lang, elderly, orientation) as (app, ui, work):
        return _play(app, ui, flow, script, out, work)


def _settle(ui: Any, seconds: float = 1.0) -> None:
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)


def catalog_pages(ui: Any, out: Path) -> list[Path]:
    """The whole menu: every page of "全部" and the themes tab, in the screen's mode and language."""
    vm, files = ui.vm, []
    mode = "elderly" if vm.elderly else "standard"
    vm.touchStart()
    vm.refresh_services()
    _settle(ui, 3.0)
    for tab in ("all", "theme"):
        vm.catalog.setCategory(tab)
        _settle(ui)
        for page in range(vm.catalog.pages):
            files.append(ui.grab(out / f"menu_{tab}_{page + 1}_{mode}_{vm.lang}.png"))
            vm.catalog.turnPage(1)
            _settle(ui, 0.5)
    return files


def docs_screenshots(out: Path, services: list[str]) -> list[Path]:
    """docs/screenshots: the whole menu in both modes and languages, and every
    screen of each of ``services`` along its shipped script (standard, Chinese)."""
    from flows.runner import load_script, shipped_script

    files: list[Path] = []
    with _screen() as (app, ui, work):
        for elderly in (False, True):
            for lang in ("zh", "en"):
                ui.vm.setElderly(elderly)
                ui.vm.setLang(lang)
                files += catalog_pages(ui, out)
        ui.vm.setElderly(False)
        ui.vm.setLang("zh")
        ui.vm.catalog.reset()
        for sid in services:
            shots, report = _play(app, ui, app.catalog[sid], load_script(shipped_script(sid)), out / sid, work)
            if report is None or not report.ok:   # said, and the other services still shot
                print(f"{sid}: {getattr(report, 'error', None)}", file=sys.stderr)
            files += shots
    return files


if __name__ == "__main__":   # python -m ui.preview OUT [SERVICE...]: docs/screenshots
    folder = Path(__file__).resolve().parents[1] / "flows" / "catalog"
    texts = {p.stem: p.read_text("utf-8") for p in sorted(folder.glob("*.yaml"))}
    data_only = [name for name, text in texts.items()   # no "@function" of their own, no theme
                 if "@" not in text.replace('"@document"', "") and "bundle:" not in text]
    for f in docs_screenshots(Path(sys.argv[1]), sys.argv[2:] or data_only):
        print(f)
