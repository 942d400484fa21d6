"""``kiosk devices read-card``: read one social security or bank card over PC/SC."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from kiosk.core.masking import mask_mapping

SSC_KEYS = ("name", "sex", "nation", "birth", "id_number", "valid_from", "valid_to", "card_type")


def identity_record(person, reveal: bool) -> dict:
    """The read-id JSON shape, for a social security card: card fields at top level."""
    full = person.as_dict(reveal=True)
    out = {k: full[k] for k in SSC_KEYS}
    out.update(full.get("extra", {}))
    out["problems"] = list(person.problems)
    return out if reveal else mask_mapping(out)


def bank_record(card: dict, reveal: bool) -> dict:
    return dict(card) if reveal else mask_mapping(card)


def _configured_url(ctx: click.Context) -> str:
    """The smart-card URL from the kiosk config, or the first PC/SC reader."""
    try:
        config = ctx.find_root().obj.config if ctx.find_root().obj is not None else None
        if config is None:
            from kiosk.core.config import load_config
            config = load_config()
        for spec in config.devices.values():
            if spec.get("family") == "smartcard":
                return spec["url"]
    except (Exception, SystemExit):  # no usable config: fall back to the first reader
        pass
    return "pcsc://"


@contextlib.contextmanager
def _reader_url(reader: str, card: str | None) -> Iterator[str]:
    """``sim``/``sim://``/``sim:KIND`` start the virtual card for the time of the read."""
    if reader == "sim" or reader.startswith("sim:"):
        from .simulator import SmartCardSimulator

        kind = card or reader.partition(":")[2].strip("/") or "social_security"
        sim = SmartCardSimulator(kind).start()
        try:
            yield sim.url
        finally:
            sim.stop()
    else:
        yield reader if reader.startswith("pcsc://") else f"pcsc://{reader}"


def _human(record: dict) -> str:
    from devices.cli import ID_LABELS
    from kiosk.core.i18n import t

    lines = [f"{ID_LABELS.get(k, k)}: {v}" for k, v in record.items() if k != "problems"]
    lines += [f"problem: {t(k, 'en')}" for k in record.get("problems", [])]
    return "\n".join(lines)


@click.command("read-card")
@click.option("--reader", default=None, metavar="NAME",
              help="PC/SC reader name or pcsc:// URL ('pcsc://' = first reader); "
                   "'sim' (or sim:bank, sim:unknown) starts the virtual card. Default: the configured reader.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--reveal", is_flag=True, help="Show personal data unmasked.")
@click.option("--timeout", type=click.FloatRange(0, 600), default=0.0, show_default=True,
              help="Seconds to wait for a card to be inserted.")
@click.option("--card", type=click.Choice(["social_security", "bank", "unknown"]), default=None,
              help="With --reader sim: the card in the virtual reader (default social_security).")
@click.pass_context
def read_card(ctx: click.Context, reader: str | None, as_json: bool, reveal: bool, timeout: float,
              card: str | None) -> None:
    """Read one social security card (or bank card) from a PC/SC reader."""
    from devices.base import DeviceError
    from kiosk.core.clikit import emit, fail

    try:
        from .driver import SmartCardReader
    except ImportError as exc:  # pyscard missing
        fail(f"smart-card support unavailable: {exc}")
    url = reader or _configured_url(ctx)
    try:
        with _reader_url(url, card) as pcsc_url:
            with SmartCardReader("read-card", pcsc_url) as dev:
                found = dev.read_any(timeout=timeout)
                if isinstance(found, dict):
                    record = bank_record(found, reveal)
                else:
                    record = identity_record(found, reveal)
                    found.wipe()
                record["reader"] = dev.reader_name
    except DeviceError as exc:
        fail(str(exc))
    except (ValueError, RuntimeError, OSError) as exc:
        fail(str(exc))
    emit(record, as_json, human=_human(record))
