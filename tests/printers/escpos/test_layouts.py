"""Ticket and receipt layouts: what lands on paper, at both widths."""

from __future__ import annotations

import pytest

from printers.escpos.layouts import LayoutError, load_layout, render_receipt, render_ticket, wrap
from printers.escpos.render import render_bytes

TICKET = {"hall": "市民中心24小时自助服务厅", "hall_en": "Citizen Center 24h Self-Service Hall",
          "service": {"zh": "社保卡补办", "en": "Social Security Card Replacement"}, "number": "A012",
          "waiting": 12, "time": "2024-05-06T09:31", "follow_url": "https://q.example.gov.cn/t/A012"}
RECEIPT = {"hall": "市民中心", "case_no": "C20240506-0012", "service": "无房证明开具", "applicant": "欧阳娜娜",
           "id_number": "321002199001010016", "result": "accepted", "time": "2024-05-06 09:40",
           "verify_url": "https://v.example.gov.cn/r/C20240506-0012"}


@pytest.mark.parametrize("mm", [58, 80])
def test_ticket_carries_everything_a_resident_needs(mm):
    [page] = render_bytes(render_ticket(TICKET, mm), mm)
    text = page.text
    for expected in ("市民中心24小时自助服务厅", "社保卡补办", "A012", "前面还有 12 人等候", "12 people ahead of you",
                     "2024-05-06 09:31", "[QR] https://q.example.gov.cn/t/A012", "请留意屏幕和语音叫号"):
        assert expected in text, expected
    assert page.complete


def test_ticket_number_is_printed_large():
    [page] = render_bytes(render_ticket(TICKET, 80), 80)
    line = next(e for e in page.elements if e.kind == "line" and "".join(r.text for r in e.runs) == "A012")
    assert line.runs[0].w == 6 and line.runs[0].h == 6 and line.runs[0].bold


def test_long_number_shrinks_to_fit_58mm():
    [page] = render_bytes(render_ticket({**TICKET, "number": "VIP-A0123"}, 58), 58)
    assert "VIP-A0123" in page.text.splitlines()  # on one line


def test_nobody_waiting_reads_naturally():
    [page] = render_bytes(render_ticket({**TICKET, "waiting": 0}, 80), 80)
    assert "前面无人等候" in page.text and "You are next" in page.text


@pytest.mark.parametrize("mm,cols", [(58, 32), (80, 48)])
def test_no_line_overflows_the_paper(mm, cols):
    for data in (render_ticket(TICKET, mm), render_receipt(RECEIPT, mm)):
        [page] = render_bytes(data, mm)
        for el in page.elements:
            if el.kind == "line":
                width = sum(r.w * sum(2 if ord(c) > 0x2E80 else 1 for c in r.text) for r in el.runs)
                assert width <= cols


def test_receipt_masks_the_applicant():
    [page] = render_bytes(render_receipt(RECEIPT, 80), 80)
    assert "欧**" in page.text and "3****************6" in page.text
    assert "欧阳娜娜" not in page.text and "321002199001010016" not in page.text
    assert "已受理 Accepted" in page.text
    assert "[BARCODE] C20240506-0012" in page.text
    assert "[QR] https://v.example.gov.cn/r/C20240506-0012" in page.text


def test_missing_fields_are_refused():
    with pytest.raises(LayoutError):
        render_ticket({"service": "x"})
    with pytest.raises(LayoutError):
        render_ticket({**TICKET, "waiting": "many"})
    with pytest.raises(LayoutError):
        render_receipt({"case_no": "C1"})


def test_templates_are_data():
    kinds = [b["type"] for b in load_layout("ticket")]
    assert {"text", "label", "pair", "qr", "cut"} <= set(kinds)
    with pytest.raises(LayoutError):
        load_layout("nonexistent")


def test_wrap_breaks_words_and_cjk():
    assert wrap("Watch the screen for your number", 12) == ["Watch the", "screen for", "your number"]
    assert wrap("请留意屏幕和语音叫号", 8) == ["请留意屏", "幕和语音", "叫号"]
    assert wrap("ABCDEFGHIJ", 4) == ["ABCD", "EFGH", "IJ"]


def test_logo_is_printed_as_raster_and_a_missing_one_is_skipped(tmp_path):
    from PIL import Image, ImageDraw

    logo = tmp_path / "emblem.png"
    img = Image.new("RGBA", (600, 200), (255, 255, 255, 0))
    ImageDraw.Draw(img).ellipse([200, 0, 400, 199], fill=(183, 28, 28, 255))
    img.save(logo)
    [page] = render_bytes(render_ticket({**TICKET, "logo": str(logo)}, 80), 80)
    assert page.text.splitlines()[0] == "[IMAGE 240x80]"  # scaled to the layout's max_width
    [page] = render_bytes(render_ticket({**TICKET, "logo": str(tmp_path / "missing.png")}, 80), 80)
    assert page.text.splitlines()[0] == "市民中心24小时自助服务厅"
