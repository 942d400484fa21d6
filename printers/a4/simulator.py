"""Simulated A4 printer: a real IPP Everywhere printer (``ippeveprinter`` from CUPS).

The driver talks to it exactly as to a hall printer: IPP over HTTP on loopback.
ippeveprinter needs DNS-SD, so a system D-Bus and avahi-daemon are started
when none is running, and stopped again by the last simulator user on the
machine once no ippeveprinter is left (avahi going away takes every
ippeveprinter down with it).

Faults (``set_fault``), each produced by the printer itself:

- ``media-empty`` / ``media-low``: ippeveprinter's own media form (``/media``):
  the main tray's sheet count.  With media-empty it holds jobs (media-needed).
- ``toner-low`` / ``toner-empty``: its supplies form (``/supplies``).
- ``cover-open``, ``media-jam``, ``input-tray-missing``, ``marker-waste-full``,
  ``paused``...: ippeveprinter has no operator switch for these; its print
  command reports them with ``STATE: +keyword`` lines on stderr (the CUPS
  filter protocol), so a service job named ``kiosk-sim-state +keyword`` is run
  through the command.  Service jobs are hidden from ``jobs()``.
- ``job-abort``: the print command fails every job (``ERROR:`` + exit 1), the
  way a printer whose interpreter rejects documents aborts them.
- ``offline``: the printer process is stopped (connection refused);
  clearing the fault starts it again on the same port.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import click
import requests

from devices.console import run_console

from .ipp import JOB_STATES, TERMINAL_JOB_STATES, IppClient, IppError

log = logging.getLogger(__name__)

SERVICE_JOB_PREFIX = "kiosk-sim-state "
STATE_FAULTS = ("cover-open", "media-jam", "input-tray-missing", "marker-waste-full", "marker-waste-almost-full",
                "marker-supply-empty", "marker-supply-low", "paused", "spool-area-full", "other")
MEDIA_FAULTS = {"media-empty": 0, "media-low": 5}
SUPPLY_FAULTS = {"toner-low": 5, "toner-empty": 0}
ALIASES = {"paper-out": "media-empty", "paper-low": "media-low", "door-open": "cover-open", "jam": "media-jam"}
FAULTS = (*MEDIA_FAULTS, *SUPPLY_FAULTS, *STATE_FAULTS, "job-abort", "offline")

MEDIA_FULL = {"size1": "iso_a4_210x297mm", "type1": "stationery", "level1": "250",
              "size3": "", "type3": "", "level3": "-2"}
SUPPLIES_FULL = {"supply0": "25", "supply1": "75"}

_COMMAND = """#!/bin/sh
# Print command of the simulated A4 printer (run by ippeveprinter -c).
# ippeveprinter reads STATE:/ERROR:/ATTR: lines on stderr like a CUPS filter's.
case "$IPP_JOB_NAME" in
  "{prefix}"*) echo "STATE: ${{IPP_JOB_NAME#{prefix}}}" >&2; exit 0 ;;
esac
if [ -f "{workdir}/abort" ]; then
  echo "ERROR: $(cat "{workdir}/abort")" >&2
  exit 1
fi
echo "INFO: Printing." >&2
sleep {seconds}
echo "ATTR: job-impressions=1 job-impressions-completed=1" >&2
exit 0
"""


class SimulatorError(Exception):
    pass


# --- DNS-SD daemons -----------------------------------------------------------


class _DnsSd:
    """D-Bus + avahi for the simulated printers of every process on this machine.

    Whoever starts a daemon leaves a marker in ``MARKERS``; when a process
    releases its last printer and no ippeveprinter is left anywhere, it stops
    the marked daemons.  So the last user cleans up, whichever process that is,
    and daemons that were already running (a real system's) are never touched.
    """

    MARKERS = Path("/run/kiosk-sim")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0

    @staticmethod
    def avahi_running() -> bool:
        return subprocess.run(["avahi-daemon", "--check"], capture_output=True).returncode == 0

    @staticmethod
    def dbus_alive() -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1)
        try:
            sock.connect("/run/dbus/system_bus_socket")
            return True
        except OSError:
            return False
        finally:
            sock.close()

    def acquire(self) -> None:
        with self.lock:
            self.users += 1
            try:
                self._start()
            except Exception:
                self.users -= 1
                raise

    def ensure(self) -> None:
        with self.lock:
            self._start()

    def _start(self) -> None:
        if self.avahi_running():
            return
        for tool in ("dbus-daemon", "avahi-daemon"):
            if not shutil.which(tool):
                raise SimulatorError(f"{tool} not installed (packages dbus, avahi-daemon)")
        try:
            self.MARKERS.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SimulatorError(f"cannot start DNS-SD daemons here ({exc.strerror}; run as root)") from None
        if not self.dbus_alive():
            # A crashed or killed bus leaves its pid file and socket behind, and
            # dbus-daemon refuses to start over a pid file: clear them first.
            for stale in ("/run/dbus/pid", "/run/dbus/system_bus_socket"):
                Path(stale).unlink(missing_ok=True)
            Path("/run/dbus").mkdir(parents=True, exist_ok=True)
            out = subprocess.run(["dbus-daemon", "--system", "--fork", "--print-pid"],
                                 capture_output=True, text=True, timeout=10)
            if out.returncode != 0:
                raise SimulatorError(f"cannot start the system D-Bus: {out.stderr.strip()[:200]}")
            (self.MARKERS / "dbus.pid").write_text(out.stdout.split()[0])
        out = subprocess.run(["avahi-daemon", "--no-drop-root", "-D"], capture_output=True, text=True, timeout=10)
        if out.returncode != 0 and not self.avahi_running():
            raise SimulatorError(f"cannot start avahi-daemon: {out.stderr.strip()[:200]}")
        (self.MARKERS / "avahi").touch()
        for _ in range(50):  # the daemon forks before it registers on the bus
            if self.avahi_running():
                break
            time.sleep(0.1)

    def release(self) -> None:
        with self.lock:
            self.users = max(0, self.users - 1)
            if self.users:
                return
            if subprocess.run(["pgrep", "-x", "ippeveprinter"], capture_output=True).returncode == 0:
                return  # another process's printer still depends on avahi
            avahi, dbus = self.MARKERS / "avahi", self.MARKERS / "dbus.pid"
            if avahi.exists():
                subprocess.run(["avahi-daemon", "-k"], capture_output=True)
                avahi.unlink(missing_ok=True)
            if dbus.exists():
                try:
                    os.kill(int(dbus.read_text().strip()), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
                dbus.unlink(missing_ok=True)


_dnssd = _DnsSd()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, so a killed test
    run or kiosk never leaves a printer (and avahi with it) behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def unavailable_reason() -> str | None:
    """Why an ippeveprinter cannot be started here, or None (tests skip on this; in CI that fails)."""
    if os.geteuid() != 0:
        return "ippeveprinter needs avahi-daemon and a system D-Bus, which need root"
    for tool in ("ippeveprinter", "avahi-daemon", "dbus-daemon"):
        if not shutil.which(tool):
            return f"{tool} not installed (deploy/apt-packages.txt: cups-ipp-utils, avahi-daemon, dbus)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the printer --------------------------------------------------------------


class IppPrinterSimulator:
    """One ippeveprinter process; also the handle ``start_for_device`` returns."""

    def __init__(self, workdir: Path, port: int | None = None, name: str = "Kiosk Test",
                 job_seconds: float = 0.5):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.name = f"{name} {self.port}"
        self.job_seconds = job_seconds
        self.spool = self.workdir / "spool"
        self.command = self.workdir / "print-command.sh"
        self.log_path = self.workdir / "ippeveprinter.log"
        self.url = f"ipp://localhost:{self.port}/ipp/print"
        self.fault: str | None = None
        self._proc: subprocess.Popen | None = None
        self._dnssd_held = False
        self._lock = threading.RLock()

    # --- lifecycle ---
    def start(self) -> IppPrinterSimulator:
        if not shutil.which("ippeveprinter"):
            raise SimulatorError("ippeveprinter not installed (Debian package cups-ipp-utils)")
        self.spool.mkdir(parents=True, exist_ok=True)
        self.command.write_text(_COMMAND.format(prefix=SERVICE_JOB_PREFIX, workdir=self.workdir,
                                                seconds=f"{self.job_seconds:g}"))
        self.command.chmod(0o755)
        if not self._dnssd_held:
            _dnssd.acquire()
            self._dnssd_held = True
        try:
            self._spawn()
        except Exception:
            self.stop()
            raise
        _live.add(self)
        return self

    def _spawn(self) -> None:
        for attempt in range(2):
            logf = open(self.log_path, "ab")
            self._proc = subprocess.Popen(
                ["ippeveprinter", "-p", str(self.port), "-f", "application/pdf", "-d", str(self.spool), "-k",
                 "-c", str(self.command), "-l", "Kiosk simulator", self.name],
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                # Linux ties PDEATHSIG to the spawning *thread*: only the main thread lives as long as we do
                preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )
            logf.close()
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                try:
                    IppClient(self.url, timeout=1).get_printer_attributes(["printer-state"])
                    return
                except IppError:
                    time.sleep(0.1)
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            self._terminate()
            if attempt == 0 and ("DNS-SD" in tail[0] or "Avahi" in tail[0]):
                _dnssd.ensure()  # avahi went away (another process stopped it): start it again, once
                continue
            raise SimulatorError(f"ippeveprinter did not start on port {self.port}: {tail[0]}")

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        with self._lock:
            self._terminate()
            if self._dnssd_held:
                self._dnssd_held = False
                _dnssd.release()
            _live.discard(self)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # --- faults ---
    def set_fault(self, reason: str | None) -> None:
        """Put the printer into one fault (see the module doc) or back to normal (None)."""
        reason = ALIASES.get(reason, reason) if reason else None
        if reason is not None and reason not in FAULTS:
            raise SimulatorError(f"unknown fault {reason!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            if reason != "offline" and not self.running:
                self._spawn()
            if self.running:
                self._clear()
            self.fault = reason
            if reason in MEDIA_FAULTS:
                self._form("/media", {**MEDIA_FULL, "level1": str(MEDIA_FAULTS[reason])})
            elif reason in SUPPLY_FAULTS:
                self._form("/supplies", {**SUPPLIES_FULL, "supply1": str(SUPPLY_FAULTS[reason])})
            elif reason in STATE_FAULTS:
                self._service_job(f"+{reason}")
            elif reason == "job-abort":
                (self.workdir / "abort").write_text("Document could not be printed (interpreter error).\n")
            elif reason == "offline":
                self._terminate()

    def _clear(self) -> None:
        (self.workdir / "abort").unlink(missing_ok=True)
        self._form("/media", MEDIA_FULL)
        self._form("/supplies", SUPPLIES_FULL)
        self._service_job("none")

    def _form(self, path: str, params: dict) -> None:
        resp = requests.get(f"http://localhost:{self.port}{path}", params=params, timeout=5)
        resp.raise_for_status()

    def _service_job(self, change: str) -> None:
        client = IppClient(self.url, timeout=5)
        try:
            job_id = client.print_job(_TINY_PDF, SERVICE_JOB_PREFIX + change, busy_wait=10).one("job-id")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if client.get_job_attributes(job_id).one("job-state") in TERMINAL_JOB_STATES:
                    return
                time.sleep(0.05)
            raise SimulatorError(f"service job for {change!r} did not finish")
        finally:
            client.close()

    # --- inspection ---
    def jobs(self) -> list[dict]:
        """Jobs the printer received (newest first), without service jobs."""
        client = IppClient(self.url, timeout=5)
        try:
            groups = client.get_jobs("all")
        finally:
            client.close()
        out = []
        for g in groups:
            name = str(g.one("job-name", ""))
            if name.startswith(SERVICE_JOB_PREFIX):
                continue
            job_id = g.one("job-id")
            files = sorted(self.spool.glob(f"{job_id}-*.pdf"))
            out.append({
                "id": job_id,
                "name": name,
                "state": JOB_STATES.get(g.one("job-state"), str(g.one("job-state"))),
                "reasons": g.all("job-state-reasons"),
                "message": g.one("job-state-message", ""),
                "document": str(files[0]) if files else None,
            })
        return out

    def __enter__(self) -> IppPrinterSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# A valid one-page PDF for service jobs (the printer only takes application/pdf).
_TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

_live: set[IppPrinterSimulator] = set()


@atexit.register
def _stop_all() -> None:
    for sim in list(_live):
        sim.stop()


def start_for_device(name: str, options: dict, workdir: Path) -> IppPrinterSimulator:
    """Registry entry point for ``url = "sim://"`` in an a4 device's config."""
    workdir = Path(workdir) / f"ipp-{name}"
    workdir.mkdir(parents=True, exist_ok=True)
    sim = IppPrinterSimulator(workdir, port=options.get("sim_port"), job_seconds=float(options.get("sim_job_seconds",
                                                                                                   0.5)))
    sim.start()
    if options.get("sim_fault"):
        sim.set_fault(options["sim_fault"])
    return sim


@click.command("ipp")
@click.option("--port", type=int, default=8631, show_default=True, help="TCP port (all addresses).")
@click.option("--fault", type=click.Choice(FAULTS), default=None, help="Start in this fault state.")
@click.option("--job-seconds", type=float, default=0.5, show_default=True, help="Time each job spends printing.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Spool and log folder (default: temporary).")
def cli(port: int, fault: str | None, job_seconds: float, workdir: str | None) -> None:
    """A4 printer: ippeveprinter serving ipp://localhost:PORT/ipp/print.

    Type `fault NAME`, `fault none`, `jobs` or `quit` on stdin while it runs;
    the printer's web page http://localhost:PORT/ also sets media and supplies.
    """
    tmp = None if workdir else tempfile.TemporaryDirectory(prefix="kiosk-ipp-")
    folder = Path(workdir or tmp.name)  # type: ignore[union-attr]
    folder.mkdir(parents=True, exist_ok=True)
    sim = IppPrinterSimulator(folder, port=port, job_seconds=job_seconds)

    def command(words: list[str]) -> None:
        if words[:1] == ["fault"] and len(words) == 2:
            sim.set_fault(None if words[1] == "none" else words[1])
            click.echo(f"fault: {sim.fault or 'none'}")
        elif words[:1] == ["jobs"]:
            for job in sim.jobs():
                click.echo(f"{job['id']} {job['state']} {job['name']}")
        elif words:
            click.echo("commands: fault NAME|none, jobs, quit", err=True)

    try:
        try:
            sim.start()
        except SimulatorError as exc:
            raise click.ClickException(str(exc)) from None
        if fault:
            sim.set_fault(fault)
        click.echo(f"A4 printer at {sim.url} (faults: {', '.join(FAULTS)})", err=True)
        run_console(command, errors=(SimulatorError, IppError, requests.RequestException))
    finally:
        sim.stop()
        if tmp is not None:
            tmp.cleanup()
