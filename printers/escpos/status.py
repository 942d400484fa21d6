"""DLE EOT real-time status: parsing the printer's answers and mapping them to
the common device status.

Owned here rather than taken from python-escpos: its ``paper_status()`` treats
"no answer" as plenty of paper and its ``is_online()`` reads with the
transport's default (blocking) timeout, so an unplugged network printer looks
healthy or hangs the kiosk.  Here a missing or malformed answer is an error.

Each answer is one byte with fixed bits 1 and 4 set and 0 and 7 clear
(``b & 0x93 == 0x12``).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.base import DeviceError, DeviceState, DeviceStatus
from kiosk.core.i18n import text

PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER = 1, 2, 3, 4

# n=1 printer status
P_OFFLINE = 0x08
# n=2 offline cause
O_COVER_OPEN = 0x04
O_FEED_BUTTON = 0x08
O_PAPER_STOP = 0x20
O_ERROR = 0x40
# n=3 error cause
E_CUTTER = 0x08
E_UNRECOVERABLE = 0x20
E_AUTO_RECOVERABLE = 0x40
# n=4 paper roll sensor
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60

FIXED_MASK, FIXED_BITS = 0x93, 0x12


class StatusFormatError(ValueError):
    pass


def check_byte(b: int) -> int:
    if b & FIXED_MASK != FIXED_BITS:
        raise StatusFormatError(f"not a DLE EOT status byte: 0x{b:02X}")
    return b


@dataclass(frozen=True)
class PrinterState:
    """What the four status bytes say, in words."""

    offline: bool = False
    cover_open: bool = False
    paper: str = "full"  # full | low | out
    error: str | None = None  # cutter | unrecoverable | recoverable

    @property
    def printable(self) -> bool:
        return not (self.offline or self.cover_open or self.paper == "out" or self.error)

    def device_status(self, pending: int = 0) -> DeviceStatus:
        detail = {"paper": self.paper, "cover": "open" if self.cover_open else "closed"}
        if pending:
            detail["pending"] = pending
        problem = self.problem()
        if problem is not None:
            return DeviceStatus(problem.state, detail=detail, message=problem.text, last_error=str(problem))
        if self.paper == "low":
            return DeviceStatus(DeviceState.ONLINE, detail=detail, message=text("printing.escpos.paper_low"))
        return DeviceStatus(DeviceState.ONLINE, detail=detail)

    def problem(self) -> DeviceError | None:
        """The reason a job must not be sent now, as a catalog error."""
        if self.cover_open:
            return DeviceError("printing.escpos.cover_open", DeviceState.USER_ERROR)
        if self.paper == "out":
            return DeviceError("printing.escpos.paper_out", DeviceState.USER_ERROR)
        if self.error == "cutter":
            return DeviceError("printing.escpos.cutter_error", DeviceState.HARDWARE_ERROR)
        if self.error:
            return DeviceError("printing.escpos.hardware_error", DeviceState.HARDWARE_ERROR)
        if self.offline:
            return DeviceError("printing.escpos.offline", DeviceState.OFFLINE)
        return None


def parse(answers: dict[int, int]) -> PrinterState:
    """``answers`` maps n (1..4) to the byte the printer sent; missing n are
    taken as "nothing to report" (some printers lack n=3)."""
    for b in answers.values():
        check_byte(b)
    p = answers.get(PRINTER, FIXED_BITS)
    o = answers.get(OFFLINE_CAUSE, FIXED_BITS)
    e = answers.get(ERROR_CAUSE, FIXED_BITS)
    r = answers.get(PAPER, FIXED_BITS)
    if r & PAPER_END or o & O_PAPER_STOP:
        paper = "out"
    elif r & PAPER_NEAR_END:
        paper = "low"
    else:
        paper = "full"
    error = None
    if e & E_CUTTER:
        error = "cutter"
    elif e & E_UNRECOVERABLE:
        error = "unrecoverable"
    elif e & E_AUTO_RECOVERABLE:
        error = "recoverable"
    return PrinterState(offline=bool(p & P_OFFLINE), cover_open=bool(o & O_COVER_OPEN), paper=paper, error=error)


def encode(paper: str = "full", cover_open: bool = False, error: str | None = None) -> dict[int, int]:
    """The answers a printer in this state sends (used by the simulator).
    Paper out stops the printer (offline, paper-end stop); so does an open cover."""
    offline = cover_open or paper == "out" or error is not None
    return {
        PRINTER: FIXED_BITS | (P_OFFLINE if offline else 0),
        OFFLINE_CAUSE: FIXED_BITS | (O_COVER_OPEN if cover_open else 0) | (O_PAPER_STOP if paper == "out" else 0)
        | (O_ERROR if error else 0),
        ERROR_CAUSE: FIXED_BITS | {None: 0, "cutter": E_CUTTER, "unrecoverable": E_UNRECOVERABLE,
                                   "recoverable": E_AUTO_RECOVERABLE}[error],
        PAPER: FIXED_BITS | {"full": 0, "low": PAPER_NEAR_END, "out": PAPER_END}[paper],
    }


UNKNOWN = DeviceStatus(DeviceState.ONLINE, detail={"paper": "unknown", "cover": "unknown"},
                       message=text("printing.escpos.no_status"))
