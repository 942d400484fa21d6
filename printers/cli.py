"""``kiosk print ...``, ``kiosk printers ...`` and (re-exported) ``kiosk certificate ...``.

Exit codes follow kiosk.cli: 0 the printer confirmed the job, 1 it did not
(one line says why: paper out, cover open, unreachable...), 2 bad usage.
``--printer sim://`` starts the built-in ESC/POS simulator and saves the
printed paper as PNG (``sim://?paper=out`` or ``?cover=open`` start it faulty).
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import click

from kiosk.core.clikit import LazyGroup, emit, fail
from kiosk.core.i18n import t

DOCUMENTS_CLI = "printers.documents.cli"


def __getattr__(name: str):
    # kiosk.cli's LAZY_COMMANDS names printers.cli:certificate_group; the group
    # belongs to the documents package and is imported on first use (an
    # ImportError reaches kiosk.cli, which shows the command as unavailable).
    if name == "certificate_group":
        return importlib.import_module(DOCUMENTS_CLI).certificate_group
    raise AttributeError(name)


# --- opening a printer from a URL or the config ---------------------------------
class _Session:
    """The printer (and simulator, for sim://) used by one command."""

    def __init__(self, ctx: click.Context, url: str | None, width: int | None, out: str | None):
        from printers.escpos.driver import EscPosPrinter

        config = ctx.obj.config
        options: dict = {}
        name = "cli"
        if url is None:  # the configured ticket printer
            for dev_name, spec in config.devices.items():
                if spec.get("family") == "escpos":
                    name, url = dev_name, spec["url"]
                    options = {k: v for k, v in spec.items() if k not in ("family", "url")}
                    break
            else:
                fail("no ESC/POS printer configured; pass --printer URL", code=2)
        else:
            name = "cli-" + re.sub(r"[^A-Za-z0-9]+", "_", url.split("?")[0]).strip("_")
        if width is not None:
            options["paper_width_mm"] = width
        options.setdefault("spool_dir", str(config.data_dir / "spool" / "escpos"))
        self.sim = None
        self._tmp = None
        if url.startswith("sim://"):
            # a fresh simulated printer each run: its spool lives and dies with it
            self._tmp = tempfile.TemporaryDirectory(prefix="kiosk-print-")
            options["spool_dir"] = self._tmp.name
            from printers.escpos.simulator import EscPosSimulator

            params = dict(parse_qsl(urlsplit(url).query))
            out_dir = Path(out) if out else config.data_dir / "prints"
            try:
                self.sim = EscPosSimulator(paper=params.get("paper", "ok"), cover_open=params.get("cover") == "open",
                                           paper_mm=int(options.get("paper_width_mm", 80)), out_dir=out_dir).start()
            except (KeyError, ValueError) as exc:
                fail(f"bad simulator URL {url!r}: {exc}", code=2)
            self.out_dir = out_dir
            url = self.sim.url
            name = "cli-sim"
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in EscPosPrinter.schemes:
            fail(f"unsupported printer URL {url!r} (use tcp://, serial://, usb://, file:// or sim://)", code=2)
        self.printer = EscPosPrinter(name, url, options).open()

    def close(self) -> None:
        self.printer.close()
        if self.sim is not None:
            self.sim.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def saved_pages(self, before: int) -> list[Path]:
        if self.sim is None:
            return []
        self.sim.wait_drawn()  # pages are drawn on the simulator's own worker
        return sorted(self.out_dir.glob("page-*.png"))[before:] if self.out_dir.is_dir() else []


def _run_job(ctx: click.Context, what: str, ref: str, url: str | None, width: int | None, out: str | None,
             as_json: bool, job) -> None:
    from devices.base import DeviceError, DeviceState

    session = _Session(ctx, url, width, out)
    before = len(session.saved_pages(0))
    try:
        try:
            result = job(session.printer)
        except DeviceError as exc:
            if exc.key == "printing.escpos.bad_job":
                fail(str(exc), code=2)
            kept = ("; kept, it prints with the next job once the printer is back"
                    if getattr(exc, "pending", False) and session.sim is None else "")
            fail(f"{exc} ({what} {ref} not printed{kept})", code=1 if exc.state != DeviceState.NO_DEVICE else 2)
            return
        pages = session.saved_pages(before)
    finally:
        session.close()
    data = result.as_dict()
    data["pages"] = [str(p) for p in pages]
    if as_json:
        emit(data, True)
    else:
        label = t(f"printing.cli.{what}", "en")
        if result.state == "duplicate":
            click.echo(f"{label} {ref} was already printed (job {result.job_id}); not printed again")
        elif result.state == "written":
            click.echo(t("printing.cli.written", "en", what=label, ref=ref))
        else:
            click.echo(t("printing.cli.printed", "en", what=label, ref=ref))
        for p in pages:
            click.echo(f"paper image: {p}")
    if result.warning is not None:
        click.echo(f"warning: {result.warning.en}", err=True)


def _logo(cfg, given: str | None) -> str:
    """--logo, else the branding logo when it is a PNG the printer can take."""
    if given is not None:
        return given
    logo = cfg.get("branding.logo", "") or ""
    return logo if logo.lower().endswith(".png") and Path(logo).expanduser().is_file() else ""


def _printer_options(f):
    f = click.option("--logo", default=None, type=click.Path(dir_okay=False),
                     help="PNG printed on top (default: branding.logo when it is a PNG).")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print the job result as JSON.")(f)
    f = click.option("--out", type=click.Path(file_okay=False),
                     help="With sim://: where to save the printed paper as PNG (default <data dir>/prints).")(f)
    f = click.option("--width", type=click.Choice(["58", "80"]), default=None,
                     help="Paper width in mm (default: the printer's config, else 80).")(f)
    f = click.option("--printer", "url", default=None, metavar="URL",
                     help="tcp://host:9100, serial:///dev/ttyUSB0?baud=115200, usb://vid:pid, file://path or "
                          "sim:// (default: the configured ticket printer).")(f)
    return f


@click.group("print", cls=LazyGroup,
             lazy={"certificate": (f"{DOCUMENTS_CLI}:print_certificate", "Print or save a signed A4 certificate.")})
def print_group() -> None:
    """Print queue tickets, receipts and certificates."""


@print_group.command("ticket")
@_printer_options
@click.option("--service", required=True, help="Service name (Chinese; add --service-en for English).")
@click.option("--service-en", default="", help="English service name.")
@click.option("--number", required=True, help="Ticket number, e.g. A012.")
@click.option("--waiting", required=True, type=click.IntRange(min=0), help="People waiting ahead.")
@click.option("--hall", default=None, help="Hall name (default: terminal.hall).")
@click.option("--hall-en", default=None, help="English hall name (default: terminal.hall_en).")
@click.option("--follow-url", default="", help="URL in the QR code to follow the queue.")
@click.option("--job-id", default=None, help="Idempotency key (default: ticket-<date>-<number>).")
@click.pass_context
def ticket_cmd(ctx, url, width, out, as_json, logo, service, service_en, number, waiting, hall, hall_en, follow_url,
               job_id) -> None:
    """Print a queue ticket; exit 0 only when the printer confirmed it."""
    cfg = ctx.obj.config
    ticket = {"hall": hall if hall is not None else cfg.get("terminal.hall", ""),
              "hall_en": hall_en if hall_en is not None else cfg.get("terminal.hall_en", ""),
              "service": {"zh": service, "en": service_en}, "number": number, "waiting": waiting,
              "follow_url": follow_url, "logo": _logo(cfg, logo)}
    if job_id:
        ticket["job_id"] = job_id
    _run_job(ctx, "ticket", number, url, int(width) if width else None, out, as_json,
             lambda p: p.print_ticket(ticket))


@print_group.command("receipt")
@_printer_options
@click.option("--case-no", required=True, help="Case number.")
@click.option("--service", required=True, help="Service name (Chinese).")
@click.option("--service-en", default="", help="English service name.")
@click.option("--applicant", required=True, help="Applicant name (printed masked).")
@click.option("--id-number", default="", help="Applicant ID number (printed masked).")
@click.option("--result", default="accepted", show_default=True,
              help="accepted, completed, pending, rejected, or free text.")
@click.option("--verify-url", default="", help="URL in the QR code to verify the receipt.")
@click.option("--hall", default=None, help="Hall name (default: terminal.hall).")
@click.option("--job-id", default=None, help="Idempotency key (default: receipt-<case no>).")
@click.pass_context
def receipt_cmd(ctx, url, width, out, as_json, logo, case_no, service, service_en, applicant, id_number, result,
                verify_url, hall, job_id) -> None:
    """Print a service receipt; exit 0 only when the printer confirmed it."""
    cfg = ctx.obj.config
    receipt = {"hall": hall if hall is not None else cfg.get("terminal.hall", ""),
               "hall_en": cfg.get("terminal.hall_en", "") if hall is None else "",
               "case_no": case_no, "service": {"zh": service, "en": service_en}, "applicant": applicant,
               "id_number": id_number, "result": result, "verify_url": verify_url, "logo": _logo(cfg, logo)}
    if job_id:
        receipt["job_id"] = job_id
    _run_job(ctx, "receipt", case_no, url, int(width) if width else None, out, as_json,
             lambda p: p.print_receipt(receipt))


@click.group("printers")
def printers_group() -> None:
    """Printer status (ESC/POS ticket printers and A4 printers)."""


@printers_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--device", "names", multiple=True, help="Only this configured printer (repeatable).")
@click.pass_context
def status_cmd(ctx, as_json: bool, names: tuple[str, ...]) -> None:
    """Status of every configured printer (paper, cover, pending jobs)."""
    from devices.manager import DeviceManager
    from printers.families import printer_registry

    config = ctx.obj.config
    printers = [n for n, spec in config.devices.items() if spec.get("family") in ("escpos", "a4")]
    unknown = [n for n in names if n not in printers]
    if unknown:
        fail(f"no printer named {unknown[0]!r} in the config (printers: {', '.join(printers) or 'none'})", code=2)
    manager = DeviceManager(config, registry=printer_registry(), only=list(names) or printers)
    try:
        manager.start()
        rows = manager.describe(refresh=True)
        for row, dev in zip(rows, manager.devices.values()):
            if hasattr(dev, "pending"):
                row["pending"] = dev.pending()
    finally:
        manager.stop()
    if as_json:
        emit(rows, True)
        return
    for row in rows:
        detail = ", ".join(f"{k} {v}" for k, v in row["detail"].items() if k != "pending")
        pending = f", {len(row.get('pending', []))} pending" if row.get("pending") else ""
        click.echo(f"{row['name']:<16} {row['family']:<7} {row['device']:<13} {row['message']['en']}"
                   + (f" ({detail}{pending})" if detail or pending else ""))
