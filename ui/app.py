"""``kiosk run``: the full-screen touch kiosk.

Start-up order is chosen for a fast first screen: the QML attract screen is
shown first, then ``KioskApp`` (devices, simulators, case store, sandbox) is
started on a background thread and attached when ready; heavy libraries
(OpenCV, dlib) load only when a step needs them.

On a machine without a display the command starts a private Xvfb server (or
falls back to Qt's offscreen platform), says so, keeps running until Ctrl-C,
and writes a screenshot of the attract screen to a path it prints.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from kiosk.core.watchdog import Watchdog, claim_notify_environment
from kiosk.ops import Operations

QML_DIR = Path(__file__).resolve().parent / "qml"
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
EXIT_RESTART = 75  # the technician's "restart app": run_command re-executes itself

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- display

@dataclass
class Display:
    kind: str                       # native | xvfb | offscreen
    note: str = ""
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _start_xvfb(size: tuple[int, int]) -> Display | None:
    binary = shutil.which("Xvfb")
    if binary is None:
        return None
    read_fd, write_fd = os.pipe()
    try:
        # Its own process group: a Ctrl-C or SIGTERM to the whole group must not
        # take the display away while Qt still draws on it ("The X11 connection
        # broke"); the app stops Xvfb itself after Qt. The parent-death signal
        # ends it if the app is killed outright.
        proc = subprocess.Popen(
            [binary, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            process_group=0, preexec_fn=_die_with_parent)
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 10
    with os.fdopen(read_fd, "rb") as pipe:
        while time.monotonic() < deadline and not number.endswith(b"\n"):
            chunk = pipe.read(1)
            if not chunk:
                break
            number += chunk
    if not number.strip().isdigit():
        proc.kill()
        return None
    os.environ["DISPLAY"] = f":{number.strip().decode()}"
    return Display("xvfb", f"no display found: started Xvfb on {os.environ['DISPLAY']} "
                           f"({size[0]}x{size[1]}); the kiosk runs there, nothing appears on this terminal",
                   process=proc)


def prepare_display(size: tuple[int, int], env: dict | None = None) -> Display:
    """Make sure Qt has somewhere to draw; never crash for lack of a screen."""
    env = os.environ if env is None else env
    if env.get("QT_QPA_PLATFORM"):
        return Display("native" if env["QT_QPA_PLATFORM"] not in ("offscreen", "minimal") else "offscreen",
                       f"using QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']}")
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return Display("native")
    xvfb = _start_xvfb(size)
    if xvfb is not None:
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        os.environ.setdefault("QT_QUICK_BACKEND", "software")  # no GPU behind Xvfb
        return xvfb
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    return Display("offscreen", "no display and no Xvfb found: running with Qt's offscreen platform "
                                "(install xvfb to get a virtual screen)")


# --------------------------------------------------------------------------- UI assembly

@dataclass
class KioskUI:
    """Everything the screen needs; tests build one with ``build_ui``."""

    qapp: Any
    view: Any
    vm: Any
    tech: Any
    theme: Any
    feed: Any
    backend: Any
    shown_at: float | None = None
    qml_warnings: list[str] = field(default_factory=list)   # what the QML engine complained about
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def root(self):
        return self.view.rootObject()

    def find(self, object_name: str):
        """The first item named ``object_name``, searching the visual tree
        (Repeater delegates are not QObject children) then QObject children."""
        from PySide6.QtCore import QObject

        root = self.root()
        if root is None:
            return None
        stack = [root]
        while stack:
            item = stack.pop(0)
            if item.objectName() == object_name:
                return item
            stack.extend(item.childItems())
        return root.findChild(QObject, object_name)

    def grab(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = self.view.grabWindow()
        if image.isNull() or not image.save(str(path)):
            raise OSError(f"cannot write screenshot {path}")
        return path

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                log.exception("ui cleanup failed")
        self.cleanups.clear()


def _image_provider(backend):
    """image://kiosk/qr/<payload> and image://kiosk/doc/<session>/<doc>/<page>."""
    from PySide6.QtGui import QImage
    from PySide6.QtQuick import QQuickImageProvider

    class Provider(QQuickImageProvider):
        def __init__(self):
            super().__init__(QQuickImageProvider.Image)
            self._pages: dict[str, QImage] = {}

        def requestImage(self, ident, size, requested):  # noqa: N802 - Qt override
            kind, _, rest = ident.partition("/")
            image = QImage()
            if kind == "qr":
                image = _qr_image(urllib.parse.unquote(rest))
            elif kind == "doc":
                image = self._pages.get(rest) or self._render_doc(rest)
            if size is not None and not image.isNull():
                size.setWidth(image.width())
                size.setHeight(image.height())
            return image

        def _render_doc(self, rest: str):
            parts = rest.split("/")
            if len(parts) != 3:
                return QImage()
            _session, doc_id, page = parts
            data = backend.document(doc_id)
            image = _pdf_page_image(data, int(page) if page.isdigit() else 1) if data else QImage()
            if not image.isNull():
                self._pages = {rest: image}  # keep only the document on screen
            return image

    return Provider()


def _qr_image(payload: str):
    """A QR code as a crisp black-on-white QImage (module-exact, no smoothing)."""
    import qrcode
    from PySide6.QtGui import QImage

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n, scale = len(matrix), 8
    image = QImage(n * scale, n * scale, QImage.Format_RGB32)
    image.fill(0xFFFFFF)
    from PySide6.QtGui import QPainter

    painter = QPainter(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect(x * scale, y * scale, scale, scale, 0x000000)
    painter.end()
    return image


def _pdf_page_image(pdf: bytes, page: int):
    """Render one PDF page with poppler's pdftoppm, in memory: with no output
    root it writes the PNG to stdout (a root of "-" would be a file named
    "--1.png" in the working directory, holding a resident's document)."""
    from PySide6.QtGui import QImage

    binary = shutil.which("pdftoppm")
    if binary is None:
        return QImage()
    try:
        out = subprocess.run([binary, "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile", "-"],
                             input=pdf, capture_output=True, timeout=20, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return QImage()
    return QImage.fromData(out, "PNG")


def build_ui(config, backend, *, orientation: str | None = None, elderly: bool = False, lang: str | None = None,
             voice=None, show: bool = True, fullscreen: bool = False) -> KioskUI:
    """Create the QML window bound to view-models over ``backend``."""
    import PySide6.QtQuick  # noqa: F401 - registers the QtQuick types before QML loads
    from PySide6.QtCore import Qt, QUrl
    from PySide6.QtGui import QFont, QGuiApplication
    from PySide6.QtQuick import QQuickView

    from kiosk.diagnose import Diagnostics
    from kiosk.technician import PinGate

    from . import camera as _camera  # noqa: F401 - registers CameraView for "import Kiosk"
    from .camera import CameraFeed
    from .refcounts import pin_singletons
    from .theme import FONT_FAMILY, Theme
    from .viewmodels import KioskViewModel, TechnicianViewModel

    pin_singletons()  # PySide6 6.12 loses a reference to True and None per property read
    qapp = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    qapp.setFont(QFont(FONT_FAMILY))
    theme = Theme(config.get("branding.primary", "#B71C1C"), config.get("branding.accent", "#0D47A1"))
    vm = KioskViewModel(backend, config, theme=theme, voice=voice)
    if lang:
        vm.default_lang = lang
        vm.setLang(lang)
    if elderly:
        vm.setElderly(True)
    feed = CameraFeed(backend.camera_latest)
    tech = TechnicianViewModel(vm, PinGate(config), Diagnostics(config, backend))

    view = QQuickView()
    view.setResizeMode(QQuickView.SizeRootObjectToView)
    view.setColor(Qt.white)
    view.setTitle("Kiosk")
    engine = view.engine()
    warnings: list[str] = []

    def warned(errors) -> None:
        # a binding that no longer fits the engine's state shows here first
        for e in errors:
            warnings.append(e.toString())
            log.warning("QML: %s", e.toString())
    engine.setOutputWarningsToStandardError(False)
    engine.warnings.connect(warned)
    engine.addImageProvider("kiosk", _image_provider(backend))
    ctx = view.rootContext()
    ctx.setContextProperty("vm", vm)
    ctx.setContextProperty("catalog", vm.catalog)
    ctx.setContextProperty("session", vm.session)
    ctx.setContextProperty("tech", tech)
    ctx.setContextProperty("theme", theme)
    ctx.setContextProperty("cameraFeed", feed)
    view.setSource(QUrl.fromLocalFile(str(QML_DIR / "Main.qml")))
    if view.status() == QQuickView.Error:
        raise RuntimeError("QML failed to load: " + "; ".join(e.toString() for e in view.errors()))
    w, h = SIZES[orientation or config.get("ui.orientation", "landscape")]
    view.resize(w, h)
    ui = KioskUI(qapp, view, vm, tech, theme, feed, backend, qml_warnings=warnings)
    def release_view():
        # Destroy the QML tree before the view-models it binds to go away.
        view.close()
        view.setSource(QUrl())
        feed.release_all()

    ui.cleanups += [vm.shutdown, tech.shutdown, release_view]
    if show:
        view.showFullScreen() if fullscreen else view.show()
    return ui


# --------------------------------------------------------------------------- command

def _start_kiosk_app(config, backend, ui: KioskUI, ready: Callable[[Any], None]) -> threading.Thread:
    def run():
        try:
            from kiosk.app import KioskApp

            app = KioskApp(config)
            app.start()
        except Exception as exc:  # the screen shows out-of-service with the reason
            log.exception("kiosk core failed to start")
            reason = str(exc)
            ui.vm.run_on_gui(lambda: ui.vm.core_failed(reason))
            return
        ui.vm.run_on_gui(lambda: ready(app))

    thread = threading.Thread(target=run, name="kiosk-start", daemon=True)
    thread.start()
    return thread


@click.command("run")
@click.option("--windowed", is_flag=True, help="A normal window instead of full screen.")
@click.option("--portrait", is_flag=True, help="Portrait 1080x1920 (default: config ui.orientation).")
@click.option("--elderly", is_flag=True, help="Start in elderly mode (长辈版).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="First screen language.")
@click.option("--screenshot", "screenshot_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the attract-screen screenshot (default: <data dir>/screenshots/attract.png).")
@click.option("--exit-after", type=float, default=None, hidden=True, help="Quit after N seconds (scripts).")
@click.option("--soak", "soak_sessions", type=int, default=None, hidden=True,
              help="Play N scripted sessions with faults through the screen, print figures, quit "
                   "(benchmarks/soak.py --ui).")
@click.option("--soak-seed", type=int, default=1, hidden=True)
@click.option("--soak-every", type=int, default=100, hidden=True)
@click.pass_context
def run_command(ctx: click.Context, windowed: bool, portrait: bool, elderly: bool, lang: str | None,
                screenshot_path: str | None, exit_after: float | None, soak_sessions: int | None,
                soak_seed: int, soak_every: int) -> None:
    """Open the touch kiosk (simulated devices + sandbox central by default)."""
    from kiosk.core.clikit import fail
    from kiosk.core.config import ConfigError
    from kiosk.core.production import check_can_start

    t0 = time.perf_counter()
    claim_notify_environment()  # before any child process starts
    config = ctx.obj.config
    try:
        check_can_start(config)
    except ConfigError as exc:
        fail(str(exc), code=2)
    orientation = "portrait" if portrait else config.get("ui.orientation", "landscape")
    display, backend, ui = _open_window(config, orientation, elderly, lang, windowed)
    shot = Path(screenshot_path) if screenshot_path else config.data_dir / "screenshots" / "attract.png"
    write_shot = _attract_screenshot(ui, display, shot, t0)
    watchdog = Watchdog()
    qt_alive = watchdog.register("qt-event-loop", 10.0)
    soak = (soak_sessions, soak_seed, soak_every) if soak_sessions else None
    _start_kiosk_app(config, backend, ui, _attacher(config, backend, ui, watchdog, write_shot, t0, soak))
    code, stopped_by = _run_loop(ui, qt_alive, exit_after)
    watchdog.stop()
    backend.close()
    ui.close()  # the core and its devices, simulators and children
    ui.view.close()
    ui.qapp.processEvents()
    display.stop()  # Xvfb only after Qt let go of it
    if code == EXIT_RESTART:
        click.echo("restarting the kiosk app")
        os.execv(sys.executable, [sys.executable, "-m", "kiosk.cli", *sys.argv[1:]])
    if stopped_by:
        click.echo(f"kiosk stopped ({stopped_by[0]})")
    # Everything is closed: leave without the interpreter's finalisation, which
    # would tear down Qt objects in arbitrary order (PySide may abort there).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _open_window(config, orientation: str, elderly: bool, lang: str | None, windowed: bool):
    """A display to draw on and the kiosk window over a backend still without
    its core; one clear line and exit 1 when either cannot be had."""
    from kiosk.core.clikit import fail

    display = prepare_display(SIZES[orientation])
    if display.note:
        click.echo(display.note)
    try:
        import PySide6.QtCore  # noqa: F401 - present, or say how to get it
    except ImportError as exc:
        display.stop()
        fail(f"the touch UI needs PySide6 (pip install '.[ui]'): {exc}")
    from .backend import EngineBackend

    backend = EngineBackend(None)
    try:
        ui = build_ui(config, backend, orientation=orientation, elderly=elderly, lang=lang,
                      fullscreen=bool(config.get("ui.fullscreen", True)) and not windowed)
    except Exception as exc:
        display.stop()
        fail(f"cannot open the kiosk window: {exc}")
    return display, backend, ui


def _attract_screenshot(ui: KioskUI, display: Display, shot: Path, t0: float) -> Callable[[], None]:
    """Says when the first frame is up and returns ``write_shot``, which saves
    the attract screen once (after the core started, or 20 s after the first
    frame at the latest: it lists the services available now)."""
    from PySide6.QtCore import QTimer

    started: dict[str, Any] = {}

    def write_shot():
        if "shot" in started:
            return
        started["shot"] = True
        try:
            ui.grab(shot)
            click.echo(f"screenshot of the attract screen: {shot}")
        except OSError as exc:
            click.echo(f"warning: {exc}", err=True)

    def first_frame():
        if "shown" in started:
            return
        started["shown"] = time.perf_counter() - t0
        click.echo(f"attract screen shown in {started['shown']:.2f} s")
        QTimer.singleShot(20000, write_shot)

    ui.view.frameSwapped.connect(first_frame)
    if display.kind == "offscreen":
        QTimer.singleShot(200, first_frame)  # offscreen windows may never swap
    return write_shot


def _attacher(config, backend, ui: KioskUI, watchdog: Watchdog, write_shot: Callable[[], None], t0: float,
              soak: tuple[int, int, int] | None) -> Callable[[Any], None]:
    """What to do on the GUI thread once ``KioskApp`` has started."""
    from PySide6.QtCore import QTimer

    def attach(app):
        backend.app = app
        ui.cleanups.insert(0, app.stop)
        ops = Operations(app, watchdog=watchdog).start()
        ui.cleanups.insert(0, ops.stop)
        ui.vm.core_ready()
        click.echo(f"kiosk core ready in {time.perf_counter() - t0:.2f} s (devices, case store, central platform)")
        if ops.metrics_port:
            click.echo(f"metrics: http://{config.get('metrics.host')}:{ops.metrics_port}/metrics")
        # systemd (Type=notify): ready once the screen is up and the core serves;
        # from then on WATCHDOG=1 only while the Qt and device loops check in.
        watchdog.ready("attract screen up, core ready")
        watchdog.start()
        QTimer.singleShot(1500, write_shot)
        threading.Thread(target=lambda: app.wait_ready(600) and click.echo(
            f"kiosk warm in {time.perf_counter() - t0:.2f} s (documents, face models)"), name="warm-note",
            daemon=True).start()
        if soak:
            from .soak import start_ui_soak

            start_ui_soak(app, ui, backend, *soak)
    return attach


def _run_loop(ui: KioskUI, qt_alive: Callable[[], None], exit_after: float | None) -> tuple[int, list[str]]:
    """Qt's event loop until Ctrl-C, SIGTERM, --exit-after or the technician's
    restart; returns the exit code and the signal that stopped it, if any."""
    from PySide6.QtCore import QTimer

    # Ctrl-C: Qt's loop does not run Python signal handlers unless Python gets
    # the interpreter now and then.
    stopped_by: list[str] = []

    def on_signal(signum, _frame) -> None:
        stopped_by.append(signal.Signals(signum).name)
        ui.qapp.exit(0)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    heartbeat = QTimer()
    heartbeat.timeout.connect(qt_alive)  # also proves the Qt event loop turns
    heartbeat.start(200)
    ui.tech.restartRequested.connect(lambda: ui.qapp.exit(EXIT_RESTART))
    if exit_after:
        QTimer.singleShot(int(exit_after * 1000), lambda: ui.qapp.exit(0))
    click.echo("kiosk running; press Ctrl-C to stop")
    code = ui.qapp.exec()
    # Later signals must not interrupt the shutdown with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    heartbeat.stop()
    return code, stopped_by
