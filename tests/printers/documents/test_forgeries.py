"""Forged, altered, expired and hostile certificate files, as an attacker makes them.

Each is refused with one verdict word; a genuine file passes ours and poppler's pdfsig.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import subprocess
import sys
import zlib

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from printers.documents import Signer, demo, render_no_property
from printers.documents.fonts import FONT, register_fonts
from printers.documents.signing import EXPIRED, TAMPERED, UNKNOWN_KEY, UNREADABLE, VALID, Trust
from printers.documents.verify import run_bounded, verify_pdf, verify_pdf_bounded

ALLOWED = {TAMPERED, UNREADABLE, EXPIRED, UNKNOWN_KEY}


@pytest.fixture(scope="module")
def signer():
    return Signer.generate("T-0001")


@pytest.fixture(scope="module")
def trust(signer):
    return Trust([signer.ca_cert])


@pytest.fixture(scope="module")
def genuine(signer):
    return render_no_property(demo.no_property(dt.datetime.now().replace(microsecond=0)), signer)


def _overlay(text: str) -> bytes:
    """A white box with new text drawn where the name and validity line are."""
    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFillColorRGB(1, 1, 1)
    c.rect(150, 560, 300, 40, stroke=0, fill=1)
    c.rect(60, 50, 480, 20, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT, 12)
    c.drawString(160, 575, text)
    c.drawString(180, 58, "仅供办理政务服务事项时使用，有效期至2099年12月31日")
    c.save()
    return buf.getvalue()


def forgery_overlay_incremental(genuine: bytes) -> bytes:
    """(a) the overlay merged onto the genuine page and saved as an incremental update."""
    writer = PdfWriter(io.BytesIO(genuine), incremental=True)
    writer.pages[0].merge_page(PdfReader(io.BytesIO(_overlay("张三丰"))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def forgery_overlay_rewritten(genuine: bytes) -> bytes:
    """(a) the same overlay, the file rewritten from scratch with the genuine metadata."""
    reader = PdfReader(io.BytesIO(genuine))
    writer = PdfWriter(clone_from=reader)
    writer.pages[0].merge_page(PdfReader(io.BytesIO(_overlay("张三丰"))).pages[0])
    writer.add_metadata(dict(reader.metadata))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def forgery_new_page(genuine: bytes, appended: bool) -> bytes:
    """(b) a new page: forged visible text, the genuine values as invisible text, the genuine metadata."""
    reader = PdfReader(io.BytesIO(genuine))
    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont(FONT, 14)
    c.drawString(100, 700, "不动产登记信息查询结果  权利人 张三丰  有效期至2099年12月31日")
    hidden = c.beginText(100, 600)
    hidden.setTextRenderMode(3)  # invisible
    hidden.setFont(FONT, 10)
    hidden.textLine(reader.metadata["/KioskContent"])
    c.drawText(hidden)
    c.save()
    page = PdfReader(io.BytesIO(buf.getvalue())).pages[0]
    if appended:
        writer = PdfWriter(io.BytesIO(genuine), incremental=True)
        writer.add_page(page)
    else:
        writer = PdfWriter()
        writer.add_page(page)
        writer.add_metadata(dict(reader.metadata))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def flate_bomb() -> bytes:
    """About 70 KB that inflate to 70 MB, as a page's content stream."""
    bomb = zlib.compress(b"\0" * 70_000_000, 9)
    return (b"%PDF-1.7\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
            b"3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>> endobj\n"
            b"4 0 obj <</Length " + str(len(bomb)).encode() + b"/Filter/FlateDecode>> stream\n" + bomb +
            b"\nendstream endobj\ntrailer <</Root 1 0 R/Size 5>>\n%%EOF\n")


def test_genuine_certificate_is_valid_here_and_in_pdfsig(genuine, trust, tmp_path):
    assert verify_pdf(genuine, trust).status == VALID
    path = tmp_path / "proof.pdf"
    path.write_bytes(genuine)
    assert verify_pdf_bounded(path, trust).status == VALID
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    assert "Signature Validation: Signature is Valid." in out.stdout, out.stdout
    assert "Total document signed" in out.stdout


@pytest.mark.parametrize("forge", ["overlay_incremental", "overlay_rewritten", "new_page", "new_page_appended"])
def test_forgeries_are_tampered(forge, genuine, trust, tmp_path):
    forged = {"overlay_incremental": forgery_overlay_incremental, "overlay_rewritten": forgery_overlay_rewritten,
              "new_page": lambda g: forgery_new_page(g, False),
              "new_page_appended": lambda g: forgery_new_page(g, True)}[forge](genuine)
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    assert verify_pdf_bounded(path, trust).status == TAMPERED
    if forge == "overlay_incremental":  # pdfsig sees it too: the signature no longer covers the file
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
        assert "Total document signed" not in out.stdout


def test_one_byte_change_anywhere_is_tampered(genuine, trust):
    stream = genuine.index(b"stream\n", 2000) + 20   # inside a compressed content stream
    for pos in (stream, 10, len(genuine) // 2, len(genuine) - 3):
        altered = bytearray(genuine)
        altered[pos] ^= 0x01
        assert verify_pdf(bytes(altered), trust).status == TAMPERED, pos


def test_old_certificate_is_expired(signer, trust, tmp_path):
    old = render_no_property(dict(demo.no_property(dt.datetime(2019, 3, 1, 9, 0)), valid_days=30), signer)
    path = tmp_path / "old.pdf"
    path.write_bytes(old)
    verdict = verify_pdf_bounded(path, trust)
    assert verdict.status == EXPIRED and verdict.details["valid_until"] == "2019-03-31T23:59:59"


def test_other_deployment_is_unknown_key(genuine):
    assert verify_pdf(genuine, Trust([Signer.generate().ca_cert])).status == UNKNOWN_KEY


def test_flate_bomb_and_junk_are_answered_quickly(trust, tmp_path):
    for name, data in (("bomb.pdf", flate_bomb()), ("junk.pdf", os.urandom(5000)), ("empty.pdf", b"")):
        path = tmp_path / name
        path.write_bytes(data)
        assert verify_pdf_bounded(path, trust).status in ALLOWED


def _hog_memory() -> dict:
    chunks = []
    while True:
        chunks.append(bytearray(16 << 20))


def _spin() -> dict:
    while True:
        pass


def test_bounded_child_stops_memory_and_time_hogs():
    assert run_bounded(_hog_memory)["status"] == UNREADABLE
    assert run_bounded(_spin, deadline_s=0.5)["status"] == UNREADABLE


def test_cli_answers_forgeries_with_one_line(genuine, signer, tmp_path):
    """What a bank clerk runs: one word, exit 1, never a traceback."""
    from kiosk.core import pki

    data_dir = tmp_path / "data"
    (data_dir / "signing").mkdir(parents=True)
    pki.write_certs(data_dir / "signing" / "ca.pem", [signer.ca_cert])
    cases = {"forged.pdf": (forgery_overlay_incremental(genuine), "tampered"),
             "old.pdf": (render_no_property(demo.no_property(dt.datetime(2019, 3, 1)), signer), "expired")}
    env = dict(os.environ, KIOSK_DATA_DIR=str(data_dir))
    env.pop("KIOSK_CONFIG", None)
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        res = subprocess.run([sys.executable, "-m", "kiosk.cli", "certificate", "verify", str(tmp_path / name)],
                             capture_output=True, text=True, timeout=120, env=env)
        assert res.stdout == expected + "\n" and res.stderr == "", (name, res.stdout, res.stderr)
        assert res.returncode == (0 if expected == "valid" else 1)


def test_altered_files_never_reach_the_pdf_parser(genuine, trust, tmp_path):
    """A file whose bytes are not what a trusted terminal signed is refused before any PDF parsing."""
    from kiosk.core import pki

    forged = tmp_path / "forged.pdf"
    forged.write_bytes(forgery_overlay_incremental(genuine))
    pki.write_certs(tmp_path / "ca.pem", [trust.cas[0]])
    script = ("import sys; from printers.documents.signing import Trust; from kiosk.core import pki; "
              "from printers.documents.verify import verify_pdf_bounded; "
              f"v = verify_pdf_bounded({str(forged)!r}, Trust(pki.load_certs({str(tmp_path / 'ca.pem')!r}))); "
              "print(v.status, any(m.startswith(('pyhanko', 'pypdf', 'reportlab')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["tampered", "False"], out.stderr
