"""Fixtures for the touch UI: offscreen Qt, the QML window over the real
flow engine, helpers to tap items and read their text, and screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

import pytest

pytest.importorskip("PySide6.QtQuick")
import PySide6.QtQuick  # noqa: E402,F401 - must be imported before QML loads
from PySide6.QtCore import QCoreApplication, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# `make screenshots` sets KIOSK_SCREENSHOTS=docs/screenshots to refresh the
# committed images; a plain test run saves them to a temp folder so it leaves
# the checkout untouched.
SCRATCH = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
SHOTS = Path(os.environ.get("KIOSK_SCREENSHOTS") or SCRATCH)


class Recorder:
    """A voice runner that records what would be spoken (no audio in tests)."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, cmd):
        self.commands.append(list(cmd))
        return None

    def texts(self) -> list[str]:
        return [c[-1] for c in self.commands]


class Driver:
    """Drives a KioskUI the way a finger would."""

    def __init__(self, ui, qtbot):
        self.ui = ui
        self.qtbot = qtbot

    def settle(self, timeout: float = 15.0) -> None:
        """Until every engine call queued so far (taps, refreshes) has run on
        the view-model's engine thread and its result has reached the screen."""
        done: list[bool] = []
        self.ui.vm.calls.call(lambda: None, then=lambda _r: done.append(True))
        self.qtbot.waitUntil(lambda: bool(done), timeout=int(timeout * 1000))
        QCoreApplication.processEvents()

    def images_loaded(self) -> bool:
        """No visible image on the screen is still loading."""
        from ui.audit import images_loaded

        return images_loaded(self.ui)

    def item(self, name: str, timeout: float = 5.0):
        found = {}

        def check():
            obj = self.ui.find(name)
            assert obj is not None and obj.property("visible") is not False, f"{name} not on screen"
            found["obj"] = obj
        self.qtbot.waitUntil(check, timeout=int(timeout * 1000))
        return found["obj"]

    def absent(self, name: str) -> bool:
        obj = self.ui.find(name)
        return obj is None or obj.property("visible") is False

    def text(self, name: str) -> str:
        return str(self.item(name).property("text"))

    def tap(self, name: str, hold_ms: int = 0) -> None:
        item = self.item(name)
        self.qtbot.waitUntil(lambda: item.property("width") > 0, timeout=3000)
        centre = item.mapToScene(QPointF(item.property("width") / 2, item.property("height") / 2)).toPoint()
        window = self.ui.view
        if hold_ms:
            QTest.mousePress(window, Qt.LeftButton, Qt.NoModifier, centre)
            self.qtbot.wait(hold_ms)   # the gesture itself: a finger held down this long
            QTest.mouseRelease(window, Qt.LeftButton, Qt.NoModifier, centre)
        else:
            QTest.mouseClick(window, Qt.LeftButton, Qt.NoModifier, centre)
        self.settle()

    def wait_page(self, page: str, timeout: float = 10.0) -> None:
        self.qtbot.waitUntil(lambda: self.ui.vm.page == page, timeout=int(timeout * 1000))
        self.settle()

    def wait_view(self, view: str, timeout: float = 15.0) -> dict:
        try:
            self.qtbot.waitUntil(lambda: self.ui.vm.page == "step" and self.ui.vm.session.view == view,
                                 timeout=int(timeout * 1000))
        except Exception:
            raw = self.ui.vm.session.raw
            seen = (f"notices={self.ui.vm.notices!r} page={self.ui.vm.page} view={raw.get('view')} "
                    f"step={raw.get('step')} message={raw.get('message')}")
            raise AssertionError(f"waited {timeout:g}s for view {view!r}; screen shows {seen}") from None
        self.settle()
        return self.ui.vm.session.raw

    def show_service(self, service: str, tab: str = "all") -> None:
        """On the catalog: open ``tab`` and turn pages until the tile of
        ``service`` shows (26+ services do not fit one page)."""
        self.tap(f"tab_{tab}")
        catalog = self.ui.vm.catalog
        while self.absent(f"service_{service}"):
            assert catalog.page < catalog.pages - 1, f"{service} is on no page of {tab}"
            turned_to = catalog.page + 1
            self.tap("btnNextPage")
            self.qtbot.waitUntil(lambda n=turned_to: catalog.page == n, timeout=5000)
        self.item(f"service_{service}")

    def unnamed(self) -> list[str]:
        """Items a screen reader would meet without a name on the current
        screen: every visible touch area (a MouseArea: its own or its
        parent's accessible name) and every visible non-empty text."""
        from PySide6.QtGui import QAccessible

        QAccessible.setActive(True)
        missing: list[str] = []

        def named(item) -> bool:
            iface = QAccessible.queryAccessibleInterface(item)
            return iface is not None and bool(iface.text(QAccessible.Name).strip())

        def label(item) -> str:
            parent = item.parentItem()
            return item.objectName() or (parent.objectName() if parent is not None else "") or \
                str(item.property("text") or type(item).__name__)[:40]

        def walk(item) -> None:
            if not item.isVisible() or item.opacity() == 0:
                return
            kind = item.metaObject().className()
            if item.objectName() == "techCorner":  # a technician's entry, hidden from residents on purpose
                return
            parent = item.parentItem()
            if kind.startswith("QQuickMouseArea") and item.isEnabled():
                if not (named(item) or (parent is not None and named(parent))):
                    missing.append(f"touch area in {label(item)}")
            elif kind.startswith("QQuickText") and str(item.property("text") or "").strip():
                if not (named(item) or (parent is not None and named(parent))):
                    missing.append(f"text {label(item)!r}")
            for child in item.childItems():
                walk(child)

        walk(self.ui.view.rootObject())
        return missing

    def shot(self, name: str, docs: bool = True) -> Path:
        """<shots>/<name>_<standard|elderly>_<zh|en>.png; ``docs=False`` for
        screens over a fake backend, which must not stand in the docs for the
        real catalog.  Every screen shot is also one a screen reader can read:
        no touch area or text without an accessible name."""
        self.settle()
        self.qtbot.waitUntil(self.images_loaded, timeout=15000)
        missing = self.unnamed()
        assert not missing, f"{name}: no accessible name for " + "; ".join(missing[:12])
        mode = "elderly" if self.ui.vm.elderly else "standard"
        folder = SHOTS if docs else SCRATCH
        return self.ui.grab(folder / f"{name}_{mode}_{self.ui.vm.lang}.png")

    def type_keys(self, keys: str) -> None:
        for k in keys:
            self.tap(f"key_{k}")

    def rect(self, name: str) -> tuple[float, float, float, float]:
        """(x, y, width, height) of a visible item in window coordinates."""
        item = self.item(name)
        self.qtbot.waitUntil(lambda: item.property("width") > 0 and item.property("height") > 0, timeout=3000)
        pos = item.mapToScene(QPointF(0, 0))
        return pos.x(), pos.y(), float(item.property("width")), float(item.property("height"))

    def on_screen(self, *names: str, min_height: float = 0) -> None:
        """Each named item lies wholly inside the window (nothing cut off at
        an edge) and, for touch targets, is at least ``min_height`` tall."""
        win_w, win_h = self.ui.view.width(), self.ui.view.height()
        for name in names:
            x, y, w, h = self.rect(name)
            assert x >= -0.5 and y >= -0.5 and x + w <= win_w + 0.5 and y + h <= win_h + 0.5, \
                f"{name} at ({x:.0f},{y:.0f}) {w:.0f}x{h:.0f} leaves the {win_w}x{win_h} window"
            assert h >= min_height, f"{name} is {h:.0f} px high, below {min_height:.0f} px"


TECH_PIN = "80516243"  # set by these tests; nothing ships a PIN


def tech_overrides() -> dict:
    from kiosk.technician import hash_pin

    return {"technician": {"pin_hash": hash_pin(TECH_PIN, iterations=1000)}}


def start_core(data: Path, profile: str | Path | None = None, overrides: dict | None = None):
    """The real KioskApp (simulated devices, embedded sandbox) for ``profile``
    (a site config file such as deploy/profiles/bank.toml) in ``data``."""
    from kiosk.app import KioskApp
    from kiosk.core.config import load_config

    config = load_config(profile, env={"KIOSK_DATA_DIR": str(data)}, remote=False,
                         overrides={"mode": "demo", "ui": {"idle_timeout_s": 120}, **tech_overrides(),
                                    **(overrides or {})})
    return config, KioskApp(config, auto_pay_s=1.0).start()


@pytest.fixture(scope="session")
def core_starter():
    """``start_core`` for test modules that need their own profile."""
    return start_core


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """One real core per test module (the simulators bind fixed resources, so
    two modules never run one at the same time)."""
    config, app = start_core(tmp_path_factory.mktemp("kiosk-data"))
    yield config, app
    app.stop()


@pytest.fixture
def real_kiosk(core, make_ui):
    """real_kiosk(**build_ui_kw) -> Driver over the real core, with a resident's
    ID card on the reader, a live face in front of the camera and paper."""
    def build(**kw):
        config, app = core
        sims = app.devices.simulators
        sims["idcard"].present("resident")
        sims["camera"].show("resident_blink")
        sims["ticket_printer"].set_paper("ok")
        from ui.backend import EngineBackend

        driver = make_ui(config, EngineBackend(app), **kw)
        driver.app = app
        return driver
    return build


@pytest.fixture
def voice_recorder():
    return Recorder()


@pytest.fixture
def make_ui(qtbot, voice_recorder):
    """make_ui(config, backend, **build_ui_kw) -> Driver; closed after the test."""
    from ui.app import build_ui
    from ui.voice import Voice

    made = []

    def build(config, backend, **kw):
        voice = Voice(enabled=True, volume=0.8, runner=voice_recorder)
        ui = build_ui(config, backend, voice=voice, **kw)
        driver = Driver(ui, qtbot)
        driver.voice = voice_recorder
        made.append((ui, backend))
        driver.settle()
        return driver

    yield build
    warned = [w for ui, _ in made for w in ui.qml_warnings]
    for ui, backend in made:
        backend.close()
        ui.close()
    # every screen a test walked through bound cleanly to the view-models
    assert not warned, "QML warnings:\n" + "\n".join(dict.fromkeys(warned))
