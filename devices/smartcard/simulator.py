"""Smart-card simulator: a virtual card in pcscd's "Virtual PCD" reader.

``start_for_device`` makes sure pcscd runs with the vpcd driver, claims a free
vpcd slot and connects a virtual card (``cards.py``) to it. The kiosk's real
driver then opens ``pcsc://Virtual PCD 00 00`` and talks to the card through
pcscd like to any other reader.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

from devices.base import DeviceError

from ..console import run_console
from . import pcscd
from .cards import KINDS, make_card
from .vpcd import VPCD_HOST, VPCD_PORT, VirtualCardServer, claim_slot, reader_name

log = logging.getLogger(__name__)

SETTLE_TIMEOUT_S = 5.0
SLOT_WAIT_S = 30.0  # vpcd has two slots; a third simulator on the machine waits for one


def reader_has_card(reader: str, wait_ms: int = 0) -> bool | None:
    """Whether pcscd reports a card in ``reader`` (None: pcscd or reader absent)."""
    from smartcard import scard

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, states = scard.SCardGetStatusChange(ctx, wait_ms, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hresult != scard.SCARD_S_SUCCESS:
            return None
        if states[0][1] & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            return None
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(ctx)


class SmartCardSimulator:
    """Handle for one virtual reader slot with a card that can be inserted and removed."""

    def __init__(self, card: str | None = "social_security", data: dict | None = None, slot: int | None = None,
                 slot_wait_s: float = SLOT_WAIT_S):
        self._initial = (card, data)
        self._slot_request = slot
        self._slot_wait_s = slot_wait_s
        self._lease: pcscd.PcscdLease | None = None
        self._slot = None
        self.server: VirtualCardServer | None = None
        self.reader = ""
        self.url = ""
        self.kind: str | None = None

    def start(self) -> SmartCardSimulator:
        card, data = self._initial
        first = make_card(card, data) if card else None  # bad kind/data fail before anything starts
        self._slot = claim_slot(self._slot_request, wait_s=self._slot_wait_s)
        try:
            self.reader = reader_name(self._slot.slot)
            self.url = f"pcsc://{self.reader}"
            self._lease = pcscd.ensure_running(self.reader)
            self.server = VirtualCardServer(VPCD_HOST, VPCD_PORT + self._slot.slot).start()
            self._settle(False)  # a card of a previous user of the slot may still look present
            if first is not None:
                self._put(first)
        except BaseException:
            self.stop()
            raise
        log.info("smart-card simulator ready", extra={"reader": self.reader, "kind": self.kind})
        return self

    def _put(self, card) -> None:
        assert self.server is not None
        self.server.insert(card)
        self.kind = card.kind
        self._settle(True)

    def _settle(self, present: bool) -> None:
        """Wait until pcscd itself reports the change, so callers see a consistent reader."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            if reader_has_card(self.reader, 100) is present:
                return
            time.sleep(0.05)
        log.warning("virtual reader did not settle", extra={"reader": self.reader, "present": present})

    # --- controls (used by tests and the session runner) ---------------
    def insert(self, kind: str = "social_security", data: dict | None = None) -> None:
        """Insert a card of ``kind`` (social_security | bank | unknown), replacing any card present."""
        card = make_card(kind, data)
        self.remove()  # also lets pcscd notice a card pulled mid-read before the next one goes in
        self._put(card)

    def remove(self) -> None:
        if self.server is None:
            return
        self.server.remove()
        self.kind = None
        self._settle(False)

    def pull_after(self, apdus: int | None) -> None:
        """Pull the card out when the ``apdus``-th APDU of the next read arrives."""
        if self.server is not None:
            self.server.pull_after(apdus)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            if self._lease is not None:
                self._settle(False)  # leave the slot visibly empty for the next user
        if self._slot is not None:
            self._slot.release()
            self._slot = None
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def __enter__(self) -> SmartCardSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_for_device(name: str, options: dict, workdir: Path) -> SmartCardSimulator:
    """Simulator starter for ``sim://`` (see devices/registry.py). Options:
    ``card`` initial card kind or "none" (default social_security),
    ``card_data`` field overrides, ``slot`` vpcd slot (default: first free)."""
    card = options.get("card", "social_security")
    return SmartCardSimulator(None if card in ("none", "", None) else card,
                              options.get("card_data"), options.get("slot")).start()


@click.command("smartcard")
@click.option("--card", "kind", type=click.Choice(list(KINDS) + ["none"]), default="social_security",
              show_default=True, help="Card in the reader at start.")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False),
              help="JSON object overriding the card's fields (e.g. name, id_number, pan).")
@click.option("--slot", type=click.IntRange(0, 1), default=None, help="vpcd slot (default: first free).")
def cli(kind: str, data_file: str | None, slot: int | None) -> None:
    """Serve a virtual social security / bank / unknown card to pcscd via vpcd.

    Runs until Ctrl-C. Type 'insert KIND', 'remove' or 'quit' on stdin to
    change the card.
    """
    from kiosk.core.clikit import fail

    try:
        data = json.loads(Path(data_file).read_text("utf-8")) if data_file else None
        sim = SmartCardSimulator(None if kind == "none" else kind, data, slot).start()
    except DeviceError as exc:
        fail(str(exc))
    except (ValueError, RuntimeError, OSError) as exc:
        fail(str(exc), code=2 if isinstance(exc, ValueError) else 1)
    click.echo(f"virtual reader: {sim.url}  card: {sim.kind or 'none'}  (Ctrl-C to stop)")

    def command(words: list[str]) -> None:
        if words[:1] == ["insert"]:
            sim.insert(words[1] if len(words) > 1 else "social_security")
        elif words[:1] == ["remove"]:
            sim.remove()
        elif words:
            click.echo("commands: insert social_security|bank|unknown, remove, quit")
            return
        else:
            return
        click.echo(f"card: {sim.kind or 'none'}")

    try:
        run_console(command)  # a supervisor's SIGTERM also releases pcscd
    finally:
        sim.stop()
