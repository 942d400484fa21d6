"""``kiosk devices ...``: technicians' view of every configured device.

Subcommands owned by other device families are imported only when used, so
``kiosk devices read-id`` works on a machine without pyscard or OpenCV.
"""

from __future__ import annotations

import json

import click

from kiosk.core.clikit import LazyGroup, emit, fail

# subcommand -> ("module:attribute" of a click command imported on first use, short help)
LAZY_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "read-card": ("devices.smartcard.cli:read_card", "Read a PC/SC social security card."),
    "camera-test": ("devices.camera.cli:camera_test", "Check the face camera."),
    "read-code": ("devices.scanner.cli:read_code", "Read one QR code or barcode from a scanner."),
}

ID_FIELDS = ("name", "sex", "nation", "birth", "address", "id_number", "authority",
             "valid_from", "valid_to", "card_type", "photo_decoded")
ID_LABELS = {
    "name": "姓名 Name", "sex": "性别 Sex", "nation": "民族/国籍 Nation", "birth": "出生 Birth",
    "address": "住址 Address", "id_number": "证件号码 ID number", "authority": "签发机关 Authority",
    "valid_from": "有效期起 Valid from", "valid_to": "有效期止 Valid to", "card_type": "证件类型 Card type",
    "photo_decoded": "照片 Photo decoded",
}


@click.group("devices", cls=LazyGroup, lazy=LAZY_SUBCOMMANDS)
def devices() -> None:
    """List, check and exercise the kiosk's devices."""


def _describe(ctx: click.Context, only: tuple[str, ...]) -> list[dict]:
    from devices.manager import DeviceManager
    from devices.registry import default_registry

    config = ctx.obj.config
    if only:
        unknown = sorted(set(only) - set(config.devices))
        if unknown:
            fail(f"no configured device named {', '.join(unknown)} (configured: {', '.join(config.devices)})", code=2)
    # the application's registry (every family it wires) when run from its CLI
    registry = getattr(ctx.obj, "device_registry", default_registry)()
    manager = DeviceManager(config, registry=registry, only=list(only) or None)
    try:
        manager.start()
        return manager.describe()
    finally:
        manager.stop()


_only = click.option("--only", multiple=True, metavar="NAME", help="Only this configured device (repeatable).")


@devices.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_only
@click.pass_context
def list_devices(ctx: click.Context, as_json: bool, only: tuple[str, ...]) -> None:
    """Every configured device: family, transport and state."""
    rows = [{k: d[k] for k in ("name", "family", "url", "simulated", "device", "last_error")}
            for d in _describe(ctx, only)]
    human = "\n".join(f"{r['name']:<16} {r['family']:<10} {r['device']:<14} {r['url']}"
                      + (f"  ({r['last_error']})" if r["last_error"] else "") for r in rows)
    emit(rows, as_json, human)


@devices.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="en", show_default=True,
              help="Language of the messages in the human listing.")
@_only
@click.pass_context
def status(ctx: click.Context, as_json: bool, lang: str, only: tuple[str, ...]) -> None:
    """Common status of every configured device (starts simulators for sim:// devices)."""
    rows = _describe(ctx, only)
    human = "\n".join(
        f"{r['name']:<16} {r['device']:<14} {json.dumps(r['detail'], ensure_ascii=False):<36} {r['message'][lang]}"
        + (f"  ({r['last_error']})" if r["last_error"] else "") for r in rows)
    emit(rows, as_json, human)


@devices.command("read-id")
@click.option("--port", required=True, metavar="URL",
              help="Reader URL: serial:///dev/ttyUSB0?baud=115200, rfc2217://host:port, socket://host:port, "
                   "or sim:// for the built-in simulator.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--reveal", is_flag=True, help="Show personal data unmasked.")
@click.option("--timeout", type=click.FloatRange(0, 600), default=0.0, show_default=True,
              help="Seconds to wait for a card to be put on the reader.")
@click.option("--card", default=None, help="With --port sim://: the card the simulator presents.")
@click.pass_obj
def read_id(obj, port: str, as_json: bool, reveal: bool, timeout: float, card: str | None) -> None:
    """Read one ID card (resident ID, HK/Macao/Taiwan permit, foreigner permanent residence card)."""
    from devices.base import DeviceState
    from devices.idcard.driver import IdCardReader, serial_target
    from kiosk.core.i18n import t

    sim = None
    if port.startswith("sim://"):
        from devices.idcard.simulator import DEFAULT_CARD, IdCardSimulator

        try:
            sim = IdCardSimulator(card=card or DEFAULT_CARD).start()
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc), code=2)
        port = sim.url
    else:
        try:
            serial_target(port)
        except ValueError as exc:
            fail(f"invalid --port {port!r}: {exc}", code=2)
    # the built-in simulator is demo by definition; a real port reads as the config says
    mode = "demo" if sim is not None else obj.config.get("mode", "production")
    reader = IdCardReader("idcard", port, {"mode": mode})
    ident = one_operation(reader, lambda: reader.read_card(timeout=timeout), sim, (DeviceState.NO_DEVICE,))
    out = identity_output(ident, reveal)
    ident.wipe()
    lines = [f"{ID_LABELS[k]}: {out[k]}" for k in ID_FIELDS]
    lines += [f"{k}: {v}" for k, v in out.get("extra", {}).items()]
    lines += [f"problem: {t(k, 'en')}" for k in out.get("problems", [])]
    human = "\n".join(lines)
    emit(out, as_json, human)


def one_operation(device, operation, sim=None, unusable=()):
    """Open ``device``, run ``operation()`` once and close it (and stop the
    simulator it talks to); a device in an ``unusable`` state or a failed
    operation ends the command with one line."""
    from devices.base import DeviceError

    try:
        device.open()
        st = device.status()
        if st.device in unusable:
            fail(st.last_error or st.message_en)
        try:
            return operation()
        except DeviceError as exc:
            fail(str(exc))
    finally:
        device.close()
        if sim is not None:
            sim.stop()


def identity_output(ident, reveal: bool) -> dict:
    """The read-id record: the fixed keys first, then problems/notes; no binary data."""
    d = ident.as_dict(reveal=reveal)
    out = {k: d.get(k, "") for k in ID_FIELDS}
    extra = {k: v for k, v in d.get("extra", {}).items() if not isinstance(v, (bytes, bytearray))}
    if extra:
        out["extra"] = extra
    if d.get("problems"):
        out["problems"] = d["problems"]
    return out
