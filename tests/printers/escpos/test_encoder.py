"""Exact bytes of every command the ticket and receipt layouts use."""

from __future__ import annotations

import pytest
from PIL import Image

from printers.escpos.encoder import Encoder, process_id_request, status_query, text_width


def enc(mm: int = 80) -> Encoder:
    return Encoder(mm)


def test_init_align_size_bold():
    assert enc().init().bytes() == b"\x1b\x40"
    assert enc().align("left").align("center").align("right").bytes() == b"\x1ba\x00\x1ba\x01\x1ba\x02"
    assert enc().size(1, 1).size(2, 2).size(6, 6).size(1, 2).bytes() == b"\x1d!\x00\x1d!\x11\x1d!\x55\x1d!\x01"
    assert enc().bold(True).bold(False).bytes() == b"\x1bE\x01\x1bE\x00"
    with pytest.raises(ValueError):
        enc().size(9, 1)


def test_ascii_text_has_no_chinese_mode():
    assert enc().line("A012").bytes() == b"A012\n"


def test_chinese_text_is_gb18030_after_fs_ampersand():
    data = enc().init().line("市民中心 A012").bytes()
    assert data == b"\x1b@" + b"\x1c&" + "市民中心".encode("gb18030") + b" A012\n"
    assert "市民中心".encode("gb18030") == b"\xca\xd0\xc3\xf1\xd6\xd0\xd0\xc4"


def test_chinese_mode_sent_once_and_reset_by_init():
    data = enc().text("办理").text("业务").init().text("号").bytes()
    assert data.count(b"\x1c&") == 2  # once per ESC @
    assert data == b"\x1c&" + "办理业务".encode("gb18030") + b"\x1b@\x1c&" + "号".encode("gb18030")
    assert enc().chinese(True).chinese(False).bytes() == b"\x1c&\x1c."


def test_name_characters_outside_the_common_range_stay_chinese():
    # python-escpos sends U+4DAE (as in the name 刘䶮) as "?" in code page 437
    # because it only switches to GB18030 for U+4E00..U+9FA5
    assert enc().text("\u4dae").bytes() == b"\x1c&\xfe\x9f"
    # extension characters take GB18030's four-byte form
    assert enc().text("\u3400").bytes() == b"\x1c&\x81\x39\xee\x39"
    assert enc().text("\U00020000").bytes() == b"\x1c&\x95\x32\x82\x36"


def test_qr_code_sequence():
    data = enc().qr("AB12", module=6, level="M").bytes()
    assert data == (
        b"\x1d(k\x04\x001A2\x00"  # model 2
        b"\x1d(k\x03\x001C\x06"  # module 6 dots
        b"\x1d(k\x03\x001E1"  # error level M
        b"\x1d(k\x07\x001P0AB12"  # store 4 bytes
        b"\x1d(k\x03\x001Q0"  # print
    )
    assert enc().qr("x", level="H", module=3).bytes()[17:25] == b"\x1d(k\x03\x001E3"


def test_code128_barcode():
    data = enc().barcode("C001", height=60, module=2).bytes()
    assert data == b"\x1dh\x3c\x1dw\x02\x1dH\x02\x1dk\x49\x06{BC001"


def test_raster_image_gs_v_0():
    img = Image.new("1", (16, 2), 1)
    img.putpixel((0, 0), 0)  # one black dot, top-left
    img.putpixel((15, 1), 0)  # one black dot, bottom-right
    data = enc().image(img).bytes()
    assert data == b"\x1dv0\x00\x02\x00\x02\x00" + b"\x80\x00" + b"\x00\x01"


def test_wide_image_is_scaled_to_paper():
    data = enc(58).image(Image.new("1", (800, 10), 1)).bytes()
    assert data[:8] == b"\x1dv0\x00" + bytes((384 // 8, 0, 4, 0))  # 48 bytes wide, 4 rows
    assert len(data) == 8 + 48 * 4


def test_feed_and_cut():
    assert enc().feed(3).bytes() == b"\x1bd\x03"
    assert enc().cut().bytes() == b"\x1dV\x00"
    assert enc().cut(partial=True).bytes() == b"\x1dV\x01"
    assert enc().cut(feed_dots=40).bytes() == b"\x1dVA\x28"


def test_status_and_process_id_requests():
    assert [status_query(n) for n in (1, 2, 4)] == [b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"]
    assert process_id_request(b"0042") == b"\x1d(H\x06\x00\x30\x300042"


def test_text_width_counts_cjk_double():
    assert text_width("A012") == 4
    assert text_width("社保A") == 5
    with pytest.raises(ValueError):
        Encoder(76)
