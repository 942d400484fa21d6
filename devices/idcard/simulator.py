"""ID-card reader simulator: the same SAM_V bytes as a real reader, on a pty.

The driver opens the pty's slave side like any serial port.  Output is paced
at the configured baud rate (10 bits per byte, each byte handed over only
once it would have fully arrived on a real line) and a request is answered
only after it would have fully arrived, so timings match a real 8N1 line.

Fault switches (``set_fault``):

  no_card            the reader finds no card
  bad_checksum       every answer has a corrupted checksum
  bad_checksum_once  the next answer only (a retry recovers)
  noise              random bytes on the line before every answer
  slow               every answer starts 0.4 s late (within the driver's limit)
  silent             the reader never answers
  sam_fault          the security module failed its self-test (SW3 0x60)
  pulled             the card is pulled during the next read (SW3 0x41, card gone)

Cards are JSON files (``devices/idcard/cards/``), see ``load_card``.
"""

from __future__ import annotations

import json
import os
import random
import select
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import click

from .. import sim_pty as pty
from ..console import run_console
from . import protocol as p
from .textparse import encode_text
from .wlt import simulator_wlt

FAULTS = ("no_card", "bad_checksum", "bad_checksum_once", "noise", "slow", "silent", "sam_fault", "pulled")
DEFAULT_CARD = "resident"
DEFAULT_SAM_ID = "05.01-20230615-0000012345-0000067890"
SLOW_DELAY_S = 0.4


def packaged_cards() -> list[str]:
    folder = resources.files("devices.idcard") / "cards"
    return sorted(e.name[:-5] for e in folder.iterdir() if e.name.endswith(".json"))


def load_card(card: str | os.PathLike | dict) -> dict:
    """A card description: a packaged card name, a JSON file path, or a dict.

    Keys: ``type`` and the text fields (see textparse.encode_text), ``photo``
    (name of a packaged photo, or null for an opaque WLT), ``newest_address``
    (optional), ``fingerprint`` (true to carry 1024 fingerprint bytes),
    ``text_hex`` (raw text block instead of the fields)."""
    if isinstance(card, dict):
        return dict(card)
    name = str(card)
    entry = resources.files("devices.idcard") / "cards" / f"{name}.json"
    if "/" not in name and not name.endswith(".json") and entry.is_file():
        return json.loads(entry.read_text("utf-8"))
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no such card: {name} (packaged: {', '.join(packaged_cards())})")
    return json.loads(path.read_text("utf-8"))


class _Card:
    def __init__(self, spec: dict):
        self.spec = spec
        # "text_hex" gives the raw 256 bytes, for layouts the encoder does not make
        self.text = bytes.fromhex(spec["text_hex"]) if "text_hex" in spec else encode_text(spec)
        self.photo = simulator_wlt(spec.get("photo"), seed=str(spec.get("id_number", "")))
        self.fingerprint = (simulator_wlt(None, seed="fp" + str(spec.get("id_number", "")))
                            if spec.get("fingerprint") else b"")
        addr = spec.get("newest_address")
        self.newest_address = None
        if addr:
            raw = addr.encode("utf-16-le")[: p.ADDRESS_LEN]
            self.newest_address = raw + " ".encode("utf-16-le") * ((p.ADDRESS_LEN - len(raw)) // 2)


class IdCardSimulator:
    """One simulated reader on a pty; thread-safe controls."""

    def __init__(self, card: str | dict | None = DEFAULT_CARD, baud: int = 115200, fault: str | None = None,
                 seed: int | None = None):
        self.baud = baud
        self._master, self._slave, self.slave_path = pty.open_raw()
        self.link: Path | None = None
        self._lock = threading.Lock()
        self._card: _Card | None = _Card(load_card(card)) if card is not None else None
        self._found = self._selected = False
        self._fault: str | None = None
        self.set_fault(fault)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests: list[tuple[int, int]] = []   # (CMD, PARA) received, for tests and demos

    # --- controls ------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"serial://{self.link or self.slave_path}?baud={self.baud}"

    def present(self, card: str | os.PathLike | dict) -> None:
        c = _Card(load_card(card))
        with self._lock:
            self._card, self._found, self._selected = c, False, False

    def remove(self) -> None:
        with self._lock:
            self._card, self._found, self._selected = None, False, False

    def set_fault(self, name: str | None) -> None:
        if name in ("", "none"):
            name = None
        if name is not None and name not in FAULTS:
            raise ValueError(f"unknown fault {name!r} (choose from {', '.join(FAULTS)})")
        with self._lock:
            self._fault = name

    @property
    def fault(self) -> str | None:
        return self._fault

    @property
    def card(self) -> dict | None:
        c = self._card
        return dict(c.spec) if c else None

    # --- lifecycle -------------------------------------------------------------
    def start(self) -> IdCardSimulator:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sim-idcard", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        pty.close(self._master, self._slave)
        self._master = self._slave = -1
        pty.drop_link(self.link)

    def make_link(self, path: str | os.PathLike) -> Path:
        link = Path(path)
        pty.point_link(link, self.slave_path)
        self.link = link
        return link

    def __enter__(self) -> IdCardSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the line ----------------------------------------------------------------
    def _run(self) -> None:
        parser = p.FrameParser()
        first_byte_at: float | None = None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(self._master, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.05)  # no reader on the slave side yet
                continue
            if not data:
                continue
            if first_byte_at is None:
                first_byte_at = time.monotonic()
            for event in parser.feed(data):
                # a request is complete only once its last byte has crossed the line
                self._sleep_until(first_byte_at + p.wire_seconds(len(event.raw), self.baud))
                answer, delay = self._answer(event)
                if delay:
                    time.sleep(delay)
                if answer:
                    self._send(answer)
            first_byte_at = time.monotonic() if parser.buffered else None

    def _answer(self, event: p.Frame | p.BadFrame) -> tuple[bytes, float]:
        """(bytes to send, delay before sending) for one request."""
        with self._lock:
            fault = self._fault
            if fault == "silent":
                return b"", 0.0
            if isinstance(event, p.BadFrame):
                frame = p.build_response(0x10 if event.reason == "checksum" else 0x11)
            else:
                self.requests.append(event.command)
                frame = self._respond(event, fault)
            if frame and fault in ("bad_checksum", "bad_checksum_once"):
                frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
                if fault == "bad_checksum_once":
                    self._fault = None
            if fault == "noise" and frame:
                frame = self._noise() + frame
            return frame, SLOW_DELAY_S if fault == "slow" else 0.0

    def _noise(self) -> bytes:
        # line garbage: never 0xAA, so it cannot complete a preamble by itself
        return bytes(self._rng.choice([b for b in range(256) if b != 0xAA]) for _ in range(self._rng.randint(3, 24)))

    def _respond(self, frame: p.Frame, fault: str | None) -> bytes:
        cmd = p.Command.lookup(*frame.command)
        if fault == "sam_fault" and cmd is not p.Command.RESET_SAM:
            return p.build_response(0x60)
        card = None if fault == "no_card" else self._card
        if cmd is None:
            return p.build_response(0x21)
        if cmd in (p.Command.RESET_SAM, p.Command.SAM_STATUS):
            return p.build_response(p.SW3_OK)
        if cmd is p.Command.SAM_ID:
            return p.build_response(p.SW3_OK, p.build_sam_id(DEFAULT_SAM_ID))
        if cmd is p.Command.SET_BAUD:
            rate = p.BAUD_BY_CODE.get(frame.command[1])
            if rate is None:
                return p.build_response(0x21)
            answer = p.build_response(p.SW3_OK)
            self._send(answer)  # answered at the old rate, then switched
            self.baud = rate
            return b""
        if cmd is p.Command.FIND_CARD:
            self._found = card is not None
            self._selected = False
            return p.build_response(p.SW3_CARD_FOUND, bytes(4)) if card else p.build_response(0x80)
        if cmd is p.Command.SELECT_CARD:
            self._selected = card is not None and self._found
            return p.build_response(p.SW3_OK, bytes(8)) if self._selected else p.build_response(0x81)
        # read commands need a found and selected card
        if card is None or not self._selected:
            return p.build_response(0x41)
        if fault == "pulled":
            self._card, self._found, self._selected, self._fault = None, False, False, None
            return p.build_response(0x41)
        if cmd is p.Command.READ_TEXT_PHOTO:
            return p.build_response(p.SW3_OK, p.build_read_data(card.text, card.photo))
        if cmd is p.Command.READ_WITH_FINGERPRINT:
            return p.build_response(p.SW3_OK, p.build_read_data(card.text, card.photo, card.fingerprint))
        if cmd is p.Command.READ_NEWEST_ADDRESS:
            if card.newest_address is None:
                return p.build_response(p.SW3_NO_CONTENT)
            return p.build_response(p.SW3_OK, card.newest_address)
        return p.build_response(0x21)

    @staticmethod
    def _sleep_until(t: float) -> None:
        left = t - time.monotonic()
        if left > 0:
            time.sleep(left)

    def _send(self, data: bytes) -> None:
        """Hand bytes to the driver no earlier than a real UART would deliver them."""
        per_byte = 10.0 / self.baud
        chunk = max(1, int(0.001 / per_byte))  # wake about once per millisecond
        t0 = time.monotonic()
        sent = 0
        while sent < len(data) and not self._stop.is_set():
            target = min(len(data), sent + chunk)
            self._sleep_until(t0 + target * per_byte)
            try:
                sent += os.write(self._master, data[sent:target])
            except BlockingIOError:
                return  # nobody reads the line: the bytes are lost, as on a real wire
            except OSError:
                return


# --- registry entry -------------------------------------------------------------
def start_for_device(name: str, options: dict, workdir: Path) -> IdCardSimulator:
    """Starter used by DeviceManager for ``sim://``: options may carry ``card``,
    ``baud`` and ``fault``."""
    sim = IdCardSimulator(card=options.get("card", DEFAULT_CARD), baud=int(options.get("baud", 115200)),
                          fault=options.get("fault"))
    return sim.start()


# --- kiosk sim idcard --------------------------------------------------------------
HELP_COMMANDS = "commands: present CARD | remove | fault NAME|none | status | quit"


@click.command("idcard")
@click.option("--link", type=click.Path(dir_okay=False), help="Create this symlink to the simulated serial port.")
@click.option("--card", default=DEFAULT_CARD, show_default=True,
              help=f"Card on the reader: a JSON file or a packaged card ({', '.join(packaged_cards())}).")
@click.option("--no-card", is_flag=True, help="Start with the reader empty.")
@click.option("--baud", default=115200, show_default=True, type=click.Choice([str(b) for b in p.BAUD_CODES]))
@click.option("--fault", type=click.Choice(FAULTS), help="Start with a fault switched on.")
def cli(link: str | None, card: str, no_card: bool, baud: str, fault: str | None) -> None:
    """Simulated ID-card reader on a pty (GA 467 SAM_V bytes).

    Prints the serial URL to use, then reads control commands on stdin
    (present CARD, remove, fault NAME|none, status, quit) until interrupted."""
    try:
        sim = IdCardSimulator(card=None if no_card else card, baud=int(baud), fault=fault)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    if link:
        try:
            sim.make_link(link)
        except OSError as exc:
            sim.stop()
            raise click.ClickException(f"cannot create {link}: {exc}") from None
    sim.start()
    click.echo(sim.url, err=False)
    click.echo(HELP_COMMANDS, err=True)
    sys.stdout.flush()
    try:
        run_console(lambda words: _control(sim, words))
    finally:
        sim.stop()


def _control(sim: IdCardSimulator, words: list[str]) -> None:
    if not words:
        return
    cmd, args = words[0], words[1:]
    try:
        if cmd == "present" and args:
            sim.present(args[0])
        elif cmd == "remove":
            sim.remove()
        elif cmd == "fault" and args:
            sim.set_fault(args[0])
        elif cmd == "status":
            pass
        else:
            click.echo(HELP_COMMANDS, err=True)
            return
    except (FileNotFoundError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        return
    card = sim.card
    click.echo(f"card: {card.get('type', 'resident') + ' ' + str(card.get('photo')) if card else 'none'}; "
               f"fault: {sim.fault or 'none'}", err=True)
