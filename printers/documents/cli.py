"""``kiosk certificate verify|ca|signing-cert|provision`` and ``kiosk print certificate ...``.

Verification is offline: the trusted deployment CA and terminal certificates
come from the config (``certificates.trusted_cas``, ``certificates.terminal_certs``)
and the signing folder.  Exit codes: 0 valid (or printed/written), 1 tampered /
unreadable / expired / unknown key / print failed, 2 usage.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import click
from cryptography.hazmat.primitives.serialization import Encoding

from kiosk.core.clikit import emit, fail

_PEM = Encoding.PEM


@click.group("certificate")
def certificate_group() -> None:
    """Verify signed certificates offline; the deployment CA and this terminal's signing certificate."""


@certificate_group.command("verify")
@click.argument("pdf_file", required=False, type=click.Path(dir_okay=False))
@click.option("--qr", "qr_text", default=None, metavar="TEXT", help="The text read from the certificate's QR code.")
@click.option("--cert", "certs", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Also trust this PEM file (a deployment CA or a terminal's signing certificate); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable verdict with the reason.")
@click.pass_context
def verify_cmd(ctx, pdf_file: str | None, qr_text: str | None, certs: tuple[str, ...], as_json: bool) -> None:
    """Say whether a certificate is valid, tampered, unreadable, expired or signed by an unknown key.

    Give the PDF file (one line: the verdict), or --qr with the QR code's text (the verdict, then
    the signed fields to compare with the paper).  Exit 0 only when valid.
    """
    from .signing import trust_for_config
    from .verify import verify_pdf_bounded, verify_qr

    if (pdf_file is None) == (qr_text is None):
        fail("give either a PDF file or --qr TEXT", code=2)
    try:
        trust = trust_for_config(ctx.obj.config, list(certs))
    except Exception as exc:  # noqa: BLE001 - a broken --cert file is one line, like any other input
        fail(f"cannot read the trusted certificates: {exc}", code=2)
    verdict = verify_pdf_bounded(pdf_file, trust) if pdf_file is not None else verify_qr(qr_text or "", trust)
    if as_json:
        emit(verdict.as_dict(), True)
    else:
        click.echo(verdict.status)
        if qr_text is not None and verdict.status in ("valid", "expired"):
            d = verdict.details
            for label, key in (("type", "type"), ("serial", "serial"), ("holder", "holder"), ("result", "result"),
                               ("issued", "issued"), ("valid until", "valid_until")):
                click.echo(f"  {label}: {d.get(key)}")
    ctx.exit(0 if verdict.ok else 1)


@certificate_group.command("ca")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the PEM here instead of stdout.")
@click.pass_context
def ca_cmd(ctx, out: str | None) -> None:
    """The deployment CA certificate (PEM) verifiers trust."""
    from .signing import trust_for_config

    trust = trust_for_config(ctx.obj.config)
    if not trust.cas:
        fail("no deployment CA certificate here (certificates.trusted_cas or <signing dir>/ca.pem)")
    _emit_pem(b"".join(c.public_bytes(_PEM) for c in trust.cas), out, "deployment CA certificate")


@certificate_group.command("signing-cert")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the PEM here instead of stdout.")
@click.pass_context
def signing_cert_cmd(ctx, out: str | None) -> None:
    """This terminal's document-signing certificate: lets an offline verifier check its QR codes."""
    from .signing import KeyFileError, signer_for_config

    try:
        signer = signer_for_config(ctx.obj.config)
    except KeyFileError as exc:
        fail(str(exc))
    _emit_pem(signer.cert.public_bytes(_PEM), out, f"signing certificate {signer.key_id}")


@certificate_group.command("provision")
@click.option("--ca-dir", type=click.Path(file_okay=False), required=True,
              help="The deployment CA (ca.pem + ca.key); created there when absent.")
@click.option("--tls-dir", type=click.Path(file_okay=False), default=None,
              help="Also issue the terminal's TLS client certificate (client.pem + client.key) here.")
@click.pass_context
def provision_cmd(ctx, ca_dir: str, tls_dir: str | None) -> None:
    """Issue this terminal's document-signing certificate (install time); keys are written 0600."""
    from kiosk.core import pki

    from .signing import _paths, signing_dir

    config = ctx.obj.config
    try:
        ca = pki.ensure_ca(Path(ca_dir))
        key_path, cert_path, ca_path = _paths(config)
        if not key_path.exists():
            pki.save(pki.issue_signing_cert(ca, config.terminal_id), key_path, cert_path)
        pki.write_certs(ca_path, [ca.cert])
        if tls_dir and not (Path(tls_dir) / "client.key").exists():
            pki.save(pki.issue_tls_client_cert(ca, config.terminal_id), Path(tls_dir) / "client.key",
                     Path(tls_dir) / "client.pem")
    except (pki.PkiError, OSError) as exc:
        fail(f"cannot provision: {exc}")
    click.echo(f"terminal {config.terminal_id}: signing certificate in {signing_dir(config)}")


def _emit_pem(pem: bytes, out: str | None, what: str) -> None:
    if out:
        _write(out, pem)
        click.echo(f"{what} written to {out}")
    else:
        click.echo(pem.decode().rstrip())


# --- kiosk print certificate ----------------------------------------------------


def _output_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(f)
    f = click.option("--printer", "printer_url", default=None, metavar="URL",
                     help="Print on ipp://host:port/path, ipps://..., cups://Queue"
                          " or sim:// (a temporary ippeveprinter).")(f)
    f = click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the PDF here.")(f)
    return f


def _applicant_options(f):
    f = click.option("--id-number", default=None, help="Applicant ID number (default: the demo applicant).")(f)
    f = click.option("--name", default=None, help="Applicant name (default: the demo applicant).")(f)
    return f


@click.group("certificate")
def print_certificate() -> None:
    """Render a certificate (demo applicant data unless given) to a PDF and/or an A4 printer."""


def _issue(ctx, doc_type: str, data: dict, out: str | None, printer_url: str | None, as_json: bool,
           name: str | None = None, id_number: str | None = None) -> None:
    from kiosk.core.idnumber import validate

    from . import RENDERERS
    from .signing import KeyFileError, signer_for_config, verify_base

    if not out and not printer_url:
        fail("give --out FILE.pdf and/or --printer URL", code=2)
    config = ctx.obj.config
    if name:
        data["applicant"]["name"] = name
    if id_number:
        problem = validate(id_number)
        if problem:
            fail(f"--id-number: {problem}", code=2)
        data["applicant"]["id_number"] = id_number
    data.setdefault("terminal_id", config.terminal_id)
    data.setdefault("valid_days", config.get("certificates.valid_days", 30))
    if doc_type == "no_property":
        data.setdefault("authority", config.get("certificates.issuer"))
    data.setdefault("verify_base", verify_base(config))
    try:
        signer = signer_for_config(config)
    except (KeyFileError, OSError) as exc:
        fail(f"signing key: {exc}")
    try:
        pdf = RENDERERS[doc_type](data, signer)
    except ValueError as exc:
        fail(str(exc), code=2)
    serial = _serial_of(pdf)
    _deliver(pdf, f"certificate {serial}", f"{doc_type} {serial}", out, printer_url, as_json,
             {"document": doc_type, "serial": serial, "bytes": len(pdf), "key_id": signer.key_id})


def _deliver(pdf: bytes, label: str, job_title: str, out: str | None, printer_url: str | None, as_json: bool,
             result: dict) -> None:
    if out:
        _write(out, pdf)
        result["out"] = out
    if printer_url:
        result["job"] = _print(pdf, job_title, printer_url)
    if as_json:
        emit(result, True)
        return
    if out:
        click.echo(f"{label} written to {out} ({len(pdf) // 1024} KiB)")
    if printer_url:
        click.echo(f"{label} printed on {printer_url} (job {result['job']['job_id']})")


def _serial_of(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    from .signing import PDF_PAYLOAD_KEY
    from .verify import decode_payload

    claims, _, _ = decode_payload(str(PdfReader(io.BytesIO(pdf)).metadata[PDF_PAYLOAD_KEY]))
    return str(claims["s"])


def _write(out: str, pdf: bytes) -> None:
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(pdf)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")


def _print(pdf: bytes, title: str, url: str) -> dict:
    """Print on the A4 printer at ``url`` and follow the job; fails with one line."""
    from devices.base import DeviceError
    from printers.a4.driver import A4Printer
    from printers.a4.simulator import IppPrinterSimulator, SimulatorError

    sim = None
    tmp = None
    if url.startswith("sim://"):
        tmp = tempfile.TemporaryDirectory(prefix="kiosk-ipp-")
        try:
            sim = IppPrinterSimulator(Path(tmp.name), job_seconds=0.2).start()
        except SimulatorError as exc:
            tmp.cleanup()
            fail(f"cannot start the simulated A4 printer: {exc}")
        url = sim.url
    elif url.split("://", 1)[0] not in A4Printer.schemes:
        fail(f"unsupported A4 printer URL {url!r} (use ipp://, ipps://, cups:// or sim://)", code=2)
    printer = A4Printer("cli-a4", url).open()
    try:
        result = printer.print_pdf(pdf, title)
    except DeviceError as exc:
        fail(f"not printed: {exc}")
    finally:
        printer.close()
        if sim is not None:
            sim.stop()
        if tmp is not None:
            tmp.cleanup()
    return result.as_dict()


def _issue_demo(ctx, doc_type: str, out, printer_url, as_json, name, id_number, **extra) -> None:
    """The demo data of ``doc_type`` with the options given on the command line."""
    from . import demo

    data = getattr(demo, doc_type)(dt.datetime.now().replace(microsecond=0))
    data.update({k: v for k, v in extra.items() if v is not None})
    _issue(ctx, doc_type, data, out, printer_url, as_json, name, id_number)


@print_certificate.command("no-property")
@_output_options
@_applicant_options
@click.option("--purpose", default=None, help="Purpose printed on the proof.")
@click.pass_context
def no_property_cmd(ctx, out, printer_url, as_json, name, id_number, purpose) -> None:
    """Proof of no property (不动产登记信息查询结果)."""
    _issue_demo(ctx, "no_property", out, printer_url, as_json, name, id_number, purpose=purpose)


@print_certificate.command("social-security")
@_output_options
@_applicant_options
@click.pass_context
def social_security_cmd(ctx, out, printer_url, as_json, name, id_number) -> None:
    """Social security payment proof (社会保险参保缴费证明), last 12 months."""
    _issue_demo(ctx, "social_security", out, printer_url, as_json, name, id_number)


@print_certificate.command("provident-fund")
@_output_options
@_applicant_options
@click.option("--amount", default=None, help="Withdrawn amount in CNY.")
@click.pass_context
def provident_fund_cmd(ctx, out, printer_url, as_json, name, id_number, amount) -> None:
    """Provident fund withdrawal receipt (住房公积金提取回执)."""
    _issue_demo(ctx, "provident_fund", out, printer_url, as_json, name, id_number, amount=amount)


@print_certificate.command("test-page")
@_output_options
@click.pass_context
def test_page_cmd(ctx, out, printer_url, as_json) -> None:
    """Printer test page: alignment marks, gray scale, fonts, QR."""
    from .test_page import render_test_page

    if not out and not printer_url:
        fail("give --out FILE.pdf and/or --printer URL", code=2)
    pdf = render_test_page({"terminal_id": ctx.obj.config.terminal_id, "printer": printer_url or ""})
    _deliver(pdf, "test page", "test page", out, printer_url, as_json, {"document": "test_page", "bytes": len(pdf)})
