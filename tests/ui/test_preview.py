"""The preview page of a document: rendered in memory, never written to disk."""

from __future__ import annotations

import io
import os
import shutil

import pytest

pytestmark = pytest.mark.qt


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_a_pdf_page_renders_in_memory_and_leaves_no_file(qapp, tmp_path, monkeypatch):
    from reportlab.pdfgen import canvas

    from ui.app import _pdf_page_image

    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(100, 700, "preview")
    page.showPage()
    page.save()
    monkeypatch.chdir(tmp_path)
    image = _pdf_page_image(buf.getvalue(), 1)
    assert not image.isNull() and image.width() > 300
    assert os.listdir(tmp_path) == []
