"""A simulated ESC/POS printer on TCP (the JetDirect "port 9100" protocol).

It parses exactly the bytes a real printer receives (``render.Interpreter``),
keeps each cut page as a PNG of the paper, answers DLE EOT status at any time
(also in the middle of a job), and changes state while running: paper ok /
near end / out, cover open, or a roll that runs out after a given length.
While the paper is out or the cover is open, incoming print data is lost, as
on a printer whose buffer is cleared when the operator reloads it.

``kiosk sim escpos --port 9100 [--paper ok|near|out] [--cover open] [--out DIR]``
reads state changes on stdin: ``paper out``, ``paper ok``, ``cover open``,
``cover closed``, ``status``, ``quit``.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import socket
import socketserver
import threading
from pathlib import Path

import click

from devices.console import run_console

from . import status as st
from .render import Interpreter, Page, page_png

log = logging.getLogger(__name__)

PAPER_STATES = {"ok": "full", "full": "full", "near": "low", "low": "low", "out": "out"}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sim: EscPosSimulator = self.server.sim  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sim._connection_started()
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            reply = sim._receive(data)
            if reply:
                try:
                    sock.sendall(reply)
                except OSError:
                    return


KEEP_PAGES = 32
KEEP_BYTES = 1 << 20


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class EscPosSimulator:
    """Also the simulator handle used by ``DeviceManager`` (``url``, ``stop()``,
    ``set_paper()``, ``set_cover()``, ``pages()``, ``last_text()``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, paper: str = "ok", cover_open: bool = False,
                 paper_mm: int = 80, out_dir: str | Path | None = None, keep_files: int | None = None):
        self.paper_mm = paper_mm
        self.out_dir = Path(out_dir) if out_dir else None
        self.keep_files = keep_files  # only the last this many PNG files in out_dir (None: all)
        self._lock = threading.RLock()
        self._paper = PAPER_STATES[paper]
        self._cover_open = cover_open
        # A simulator in a kiosk that runs for months keeps only recent output.
        self._pages: collections.deque[Page] = collections.deque(maxlen=KEEP_PAGES)
        self._pngs: collections.deque[bytes] = collections.deque(maxlen=KEEP_PAGES)
        self.pages_printed = 0  # every page since start, also those no longer kept
        # Pages become PNGs on a worker of their own: drawing one (the first
        # loads the fonts) must not hold up the status answer after a cut.
        self._renderer = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="escpos-sim-render")
        self._rendering: list[cf.Future] = []
        # continue numbering in a folder that already holds pages from earlier runs
        self._first_page = len(list(self.out_dir.glob("page-*.png"))) if self.out_dir and self.out_dir.is_dir() else 0
        self.received = bytearray()  # the last KEEP_BYTES received
        self.status_queries = 0
        self.it = Interpreter(paper_mm, status=self._status_byte, on_page=self._page_done)
        self.it.on_paper_out = self._ran_out
        self._sync_accepting()
        self._server = _Server((host, port), _Handler)
        self._server.sim = self  # type: ignore[attr-defined]
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------
    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> EscPosSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="escpos-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._renderer.shutdown(wait=True)

    def __enter__(self) -> EscPosSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- controls ------------------------------------------------------
    def set_paper(self, state: str) -> None:
        """ok (or full) | near (or low) | out.  Loading paper after "out" gives a fresh roll."""
        with self._lock:
            new = PAPER_STATES[state]
            if self._paper == "out" and new != "out":
                self.it.reload()
            self._paper = new
            if new == "out" and self.it.page.elements:  # the page being printed is torn off
                self.it.page.complete = False
                self.it._finish_page()
            self._sync_accepting()

    def set_cover(self, open: bool) -> None:  # noqa: A002 - the handle contract names it "open"
        with self._lock:
            self._cover_open = bool(open)
            self._sync_accepting()

    def set_paper_left(self, dots: int | None) -> None:
        """The roll ends after ``dots`` more dot rows (8 per mm); None = endless."""
        with self._lock:
            self.it.paper_left = dots

    def state(self) -> dict:
        with self._lock:
            return {"paper": self._paper, "cover": "open" if self._cover_open else "closed",
                    "pages": self.pages_printed}

    def wait_drawn(self) -> None:
        """Until every page printed so far has its PNG (and its file in ``out_dir``)."""
        with self._lock:
            pending = list(self._rendering)
        cf.wait(pending)

    def pages(self) -> list[bytes]:
        """PNG images of the last pages printed (at most KEEP_PAGES)."""
        self.wait_drawn()
        with self._lock:
            return list(self._pngs)

    def pages_since(self, printed: int) -> list[bytes]:
        """The pages printed after ``pages_printed`` was ``printed`` (those still kept)."""
        self.wait_drawn()
        with self._lock:
            new = self.pages_printed - printed
            return list(self._pngs)[-new:] if new > 0 else []

    def page_texts(self) -> list[str]:
        with self._lock:
            return [p.text for p in self._pages]

    def complete_page_texts(self) -> list[str]:
        """Text of pages that came out whole (cut), leaving out torn ones."""
        with self._lock:
            return [p.text for p in self._pages if p.complete]

    def last_text(self) -> str:
        with self._lock:
            if self._pages:
                return self._pages[-1].text
            return self.it.page.text

    # --- printer side --------------------------------------------------
    def _sync_accepting(self) -> None:
        self.it.accepting = not (self._cover_open or self._paper == "out")

    def _status_byte(self, n: int) -> int:
        self.status_queries += 1
        return st.encode(self._paper, self._cover_open).get(n, st.FIXED_BITS)

    def _ran_out(self) -> None:
        self._paper = "out"
        log.info("simulated printer ran out of paper")

    def _connection_started(self) -> None:
        with self._lock:
            self.it._buf.clear()  # a half command from a dropped connection is discarded

    def _receive(self, data: bytes) -> bytes:
        with self._lock:
            self.received += data
            if len(self.received) > 2 * KEEP_BYTES:
                del self.received[:-KEEP_BYTES]
            return self.it.feed(data)

    def _page_done(self, page: Page) -> None:  # under the lock
        self._pages.append(page)
        self.pages_printed += 1
        self._rendering = [f for f in self._rendering if not f.done()]
        self._rendering.append(self._renderer.submit(self._draw, page, self._first_page + self.pages_printed))

    def _draw(self, page: Page, number: int) -> None:
        png = page_png(page, self.paper_mm)
        with self._lock:
            self._pngs.append(png)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            suffix = "" if page.complete else "-torn"
            (self.out_dir / f"page-{number:04d}{suffix}.png").write_bytes(png)
            if self.keep_files is not None:  # a demo terminal prints for months
                for old in ("", "-torn"):
                    (self.out_dir / f"page-{number - self.keep_files:04d}{old}.png").unlink(missing_ok=True)


def start_for_device(name: str, options: dict, workdir: Path) -> EscPosSimulator:
    """Simulator starter for ``sim://`` in config (see devices.registry).

    The manager hands the same options dict to the driver next: a simulated
    printer gets a spool beside its pages unless one is configured, so a new
    simulator (fresh paper) does not inherit yesterday's printed job ids."""
    out = options.get("sim_out") or Path(workdir) / f"{name}-pages"
    options.setdefault("spool_dir", str(Path(workdir) / f"{name}-spool"))
    return EscPosSimulator(
        paper=options.get("sim_paper", "ok"), cover_open=bool(options.get("sim_cover_open", False)),
        paper_mm=int(options.get("paper_width_mm", 80)), out_dir=out,
        keep_files=None if options.get("sim_out") else KEEP_PAGES).start()


def apply_command(sim: EscPosSimulator, line: str) -> str:
    """One stdin command; returns the line to print."""
    words = line.strip().lower().split()
    if not words:
        return ""
    if words[0] == "paper" and len(words) == 2 and words[1] in PAPER_STATES:
        sim.set_paper(words[1])
    elif words[0] == "cover" and len(words) == 2 and words[1] in ("open", "closed", "close"):
        sim.set_cover(words[1] == "open")
    elif words[0] != "status":
        return "commands: paper ok|near|out, cover open|closed, status, quit"
    s = sim.state()
    return f"paper {s['paper']}, cover {s['cover']}, {s['pages']} pages"


@click.command("escpos")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
@click.option("--paper", type=click.Choice(["ok", "near", "out"]), default="ok", show_default=True)
@click.option("--cover", type=click.Choice(["open", "closed"]), default="closed", show_default=True)
@click.option("--width", "paper_mm", type=click.Choice(["58", "80"]), default="80", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Save each cut page as page-NNNN.png here.")
def cli(host: str, port: int, paper: str, cover: str, paper_mm: str, out_dir: str | None) -> None:
    """Simulated ESC/POS printer on TCP; state changes on stdin (paper out, cover open...)."""
    try:
        sim = EscPosSimulator(host, port, paper, cover == "open", int(paper_mm), out_dir).start()
    except OSError as exc:
        from kiosk.core.clikit import fail

        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
        return
    click.echo(f"ESC/POS printer simulator on {sim.url} ({paper_mm} mm); "
               "type 'paper out', 'cover open', 'status' or 'quit'", err=True)

    def command(words: list[str]) -> None:
        reply = apply_command(sim, " ".join(words))
        if reply:
            click.echo(reply)

    try:
        run_console(command)
    finally:
        sim.stop()
