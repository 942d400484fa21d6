"""Finding, starting and stopping pcscd with the vpcd virtual reader driver.

The simulator, the tests and ``kiosk devices read-card --reader sim`` need a
running pcscd whose vpcd driver listens on TCP 35963. ``ensure_running()``
uses one that is already there (a system service, another kiosk process) or
starts ``pcscd -f`` in the background, and returns a lease. Leases are
counted across processes (one file per user process under a state directory,
guarded by an flock), and the pcscd this module started is stopped when the
last lease is released, so concurrent simulators share one daemon and
nothing is left running afterwards. A pcscd this module did not start is
never stopped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devices.base import DeviceError, DeviceState

from .vpcd import VPCD_PORT, reader_name

log = logging.getLogger(__name__)

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_DRIVER_DIRS = (Path("/usr/lib/pcsc/drivers/serial"), Path("/usr/local/lib/pcsc/drivers/serial"))
START_TIMEOUT_S = 15.0

_local = threading.Lock()
_local_users = 0  # leases held by this process (the per-process file stands for all of them)
_children: dict[int, subprocess.Popen] = {}  # daemons started here, kept so they can be reaped


def find_pcscd() -> str | None:
    return shutil.which("pcscd") or next(
        (p for p in ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd") if os.access(p, os.X_OK)), None)


def vpcd_installed() -> bool:
    return any((d / "libifdvpcd.so").exists() for d in VPCD_DRIVER_DIRS)


def socket_alive(path: Path = PCSCD_SOCKET) -> bool:
    """pcscd answers on its socket (a stale socket file after a crash does not count)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_listening(port: int = VPCD_PORT) -> bool:
    """Whether something listens on ``port``, read from /proc without connecting:
    a connection to vpcd would count as a card being inserted."""
    needle = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 3 and cols[1].endswith(needle) and cols[3] == "0A":  # 0A = LISTEN
                return True
    return False


def list_readers() -> list[str]:
    """Reader names from pcscd; raises DeviceError when pcscd does not answer."""
    from smartcard import scard

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
    try:
        hresult, readers = scard.SCardListReaders(ctx, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceError("smartcard.pcscd_not_running", DeviceState.NO_DEVICE)
        return list(readers)
    finally:
        scard.SCardReleaseContext(ctx)


def _state_dir() -> Path:
    candidates = [Path("/run/kiosk-pcscd")] if os.geteuid() == 0 else []
    candidates.append(Path(tempfile.gettempdir()) / f"kiosk-pcscd-{os.getuid()}")
    for d in candidates:
        try:
            (d / "users").mkdir(parents=True, exist_ok=True, mode=0o700)
            return d
        except OSError:
            continue
    raise OSError("no writable state directory for pcscd management")


def _alive(pid: int, comm: str | None = None) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (comm) state ...": a zombie has exited already
    name, _, rest = stat.partition("(")[2].rpartition(")")
    if rest.split()[0] == "Z":
        return False
    return comm is None or name == comm


@contextmanager
def _locked() -> Iterator[Path]:
    d = _state_dir()
    fd = os.open(d / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield d
    finally:
        os.close(fd)


def _managed_pid(d: Path) -> int | None:
    try:
        pid = int((d / "pcscd.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid, "pcscd") else None


def _live_users(d: Path) -> list[int]:
    users = []
    for f in (d / "users").iterdir():
        if f.name.isdigit() and _alive(int(f.name)):
            users.append(int(f.name))
        else:
            f.unlink(missing_ok=True)
    return users


@dataclass
class PcscdInfo:
    installed: bool
    vpcd_installed: bool
    running: bool
    vpcd_listening: bool
    managed_pid: int | None
    readers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def info() -> PcscdInfo:
    running = socket_alive()
    readers: list[str] = []
    if running:
        try:
            readers = list_readers()
        except DeviceError:
            running = False
    try:
        with _locked() as d:
            managed = _managed_pid(d)
    except OSError:
        managed = None
    return PcscdInfo(find_pcscd() is not None, vpcd_installed(), running, port_listening(), managed, readers)


def _wait_ready(reader: str, proc: subprocess.Popen | None, timeout: float, log_path: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log_path is not None and log_path.exists():
                lines = log_path.read_text(errors="replace").strip().splitlines()
                tail = lines[-1] if lines else ""
            raise DeviceError("smartcard.pcscd_start_failed", DeviceState.NO_DEVICE,
                              reason=tail or f"exit code {proc.returncode}")
        if socket_alive():
            try:
                if reader in list_readers():
                    return
            except DeviceError:
                pass
        time.sleep(0.1)
    raise DeviceError("smartcard.vpcd_missing", DeviceState.NO_DEVICE, reader=reader)


def _start(d: Path, reader: str, timeout: float) -> int:
    exe = find_pcscd()
    if exe is None:
        raise DeviceError("smartcard.pcscd_not_installed", DeviceState.NO_DEVICE)
    if not vpcd_installed():
        raise DeviceError("smartcard.vpcd_not_installed", DeviceState.NO_DEVICE)
    if os.geteuid() != 0:
        raise DeviceError("smartcard.pcscd_not_root", DeviceState.NO_DEVICE)
    log_path = d / "pcscd.log"
    with open(log_path, "wb") as out:
        # own session: a Ctrl-C meant for the kiosk must not kill the shared daemon
        proc = subprocess.Popen([exe, "-f"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    _children[proc.pid] = proc
    (d / "pcscd.pid").write_text(str(proc.pid))
    log.info("pcscd started", extra={"pid": proc.pid})
    try:
        _wait_ready(reader, proc, timeout, log_path)
    except DeviceError:
        _terminate(proc.pid)
        (d / "pcscd.pid").unlink(missing_ok=True)
        raise
    return proc.pid


def _terminate(pid: int, timeout: float = 5.0) -> None:
    _children.pop(pid, None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # reap it when it is our child
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                pass
            if not _alive(pid):
                return
            time.sleep(0.05)


class PcscdLease:
    """Keeps pcscd (with vpcd) running until ``release()``."""

    def __init__(self, started: bool, pid: int | None):
        self.started = started        # this call started the daemon
        self.pid = pid                # pid of the kiosk-managed daemon, None for a system one
        self._released = False

    @property
    def managed(self) -> bool:
        return self.pid is not None

    def release(self) -> None:
        global _local_users
        if self._released:
            return
        self._released = True
        with _local:
            _local_users -= 1
            last_here = _local_users == 0
        with _locked() as d:
            if last_here:
                (d / "users" / str(os.getpid())).unlink(missing_ok=True)
            if _live_users(d):
                return
            pid = _managed_pid(d)
            if pid is not None:
                log.info("stopping pcscd", extra={"pid": pid})
                _terminate(pid)
            (d / "pcscd.pid").unlink(missing_ok=True)

    def restart(self, timeout: float = START_TIMEOUT_S) -> None:
        """Stop and start the kiosk-managed daemon (tests of reconnection)."""
        with _locked() as d:
            pid = _managed_pid(d)
            if pid is None:
                raise RuntimeError("pcscd is not managed by the kiosk; will not restart it")
            _terminate(pid)
            self.pid = _start(d, reader_name(0), timeout)

    def __enter__(self) -> PcscdLease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def ensure_running(reader: str | None = None, timeout: float = START_TIMEOUT_S) -> PcscdLease:
    """A lease on a pcscd that lists ``reader`` (default "Virtual PCD 00 00").

    Raises DeviceError (state noDevice) with a catalog key saying why not:
    pcscd not installed, vpcd not installed, not root, failed to start, or a
    running pcscd without the virtual reader.
    """
    global _local_users
    reader = reader or reader_name(0)
    with _locked() as d:
        pid = _managed_pid(d)
        started = False
        if not socket_alive():
            if pid is not None:  # our daemon hangs without its socket: replace it
                _terminate(pid)
            pid = _start(d, reader, timeout)
            started = True
        else:
            _wait_ready(reader, None, min(timeout, 3.0), None)
        with _local:
            _local_users += 1
        (d / "users" / str(os.getpid())).touch()
    return PcscdLease(started, pid)
