"""APDU, BER-TLV and vpcd framing: exact bytes, no pcscd needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.smartcard import apdu
from devices.smartcard.apdu import ApduError, Command, Response
from devices.smartcard.vpcd import FrameDecoder, encode_frame


def test_select_social_security_application_bytes():
    # the DF name is "sx1.sh." followed by 社会保障 in GBK
    cmd = apdu.select_by_name(b"sx1.sh." + "社会保障".encode("gbk"))
    assert cmd.to_bytes().hex().upper() == "00A404000F7378312E73682EC9E7BBE1B1A3D5CF00"


def test_command_builders_exact_bytes():
    assert apdu.select_ef(0xEF05).to_bytes() == bytes.fromhex("00A4020002EF05")
    assert apdu.read_record(7).to_bytes() == bytes.fromhex("00B2070400")
    assert apdu.read_record(1, sfi=2).to_bytes() == bytes.fromhex("00B2011400")
    assert apdu.get_response(0x1C).to_bytes() == bytes.fromhex("00C000001C")
    assert apdu.get_processing_options(b"\x01\x02").to_bytes() == bytes.fromhex("80A80000048302010200")


@pytest.mark.parametrize("raw, expected", [
    ("00A40000", Command(0, 0xA4, 0, 0)),
    ("00B2010410", Command(0, 0xB2, 1, 4, le=0x10)),
    ("00A4020002EF06", Command(0, 0xA4, 2, 0, b"\xEF\x06")),
    ("00A4040002A00000", Command(0, 0xA4, 4, 0, b"\xA0\x00", le=0)),
])
def test_command_parse_cases_1_to_4(raw, expected):
    assert Command.parse(bytes.fromhex(raw)) == expected
    assert expected.to_bytes().hex().upper() == raw


@pytest.mark.parametrize("raw", ["00A4", "00A4040005A000", "00A404000300"])
def test_malformed_commands_are_rejected(raw):
    with pytest.raises(ApduError):
        Command.parse(bytes.fromhex(raw))


def test_response_status_words():
    r = Response.parse(bytes.fromhex("01029000"))
    assert r.ok and r.data == b"\x01\x02" and (r.sw1, r.sw2) == (0x90, 0x00)
    assert "not found" in str(Response.parse(bytes.fromhex("6A82")))
    assert "exact length is 18" in apdu.sw_text(0x6C12)
    with pytest.raises(ApduError):
        Response.parse(b"\x90")


def test_tlv_nested_multibyte_tags_and_long_lengths():
    name = b"A" * 200
    data = apdu.tlv(0x70, [apdu.tlv(0x5F20, name), apdu.tlv(0x9F1F, b"\x00\x01")])
    assert data[:4] == bytes.fromhex("7081D15F")  # 0x81 long form: 209 bytes
    items = apdu.parse_tlv(data)
    assert [i.tag for i in items] == [0x70] and items[0].constructed
    assert [c.tag for c in items[0].children()] == [0x5F20, 0x9F1F]
    assert apdu.find_tlv(data, 0x5F20) == name
    assert apdu.find_tlv(data, 0x5A) is None


def test_tlv_two_byte_length_and_padding():
    data = b"\x00\xFF" + apdu.tlv(0x84, b"x" * 300)
    assert apdu.parse_tlv(data)[0].value == b"x" * 300
    assert apdu.tlv(0x84, b"x" * 300)[:4] == bytes.fromhex("84820" + "12C")


@pytest.mark.parametrize("raw", ["5F", "5A05010203", "5A", "5A84FFFFFFFF00"])
def test_truncated_tlv_raises(raw):
    with pytest.raises(ApduError):
        apdu.parse_tlv(bytes.fromhex(raw))


@given(st.lists(st.tuples(st.sampled_from([0x01, 0x09, 0x57, 0x5A, 0x5F20, 0x9F1F, 0x9F8101]),
                          st.binary(max_size=300)), max_size=6))
def test_tlv_roundtrip(items):
    data = b"".join(apdu.tlv(tag, value) for tag, value in items)
    assert [(t.tag, t.value) for t in apdu.parse_tlv(data)] == items


def test_dol_parsing():
    assert apdu.parse_dol(bytes.fromhex("9F66049F02069A039C01")) == [(0x9F66, 4), (0x9F02, 6), (0x9A, 3), (0x9C, 1)]
    with pytest.raises(ApduError):
        apdu.parse_dol(bytes.fromhex("9F66"))


def test_bcd_and_luhn():
    assert apdu.bcd("20310315") == bytes.fromhex("20310315")
    assert apdu.bcd("123") == bytes.fromhex("123F")
    assert apdu.unbcd(bytes.fromhex("123F")) == "123"
    assert apdu.luhn_ok("6217000000123456786")
    assert not apdu.luhn_ok("6217000000123456787")
    assert apdu.luhn_complete("621700000012345678") == "6217000000123456786"


def test_vpcd_frame_bytes():
    assert encode_frame(b"\x04") == b"\x00\x01\x04"
    assert encode_frame(bytes(300))[:2] == b"\x01\x2C"


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=8), st.data())
def test_vpcd_frames_survive_any_segmentation(payloads, data):
    stream = b"".join(encode_frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder, out, start = FrameDecoder(), [], 0
    for cut in cuts + [len(stream)]:
        out += decoder.feed(stream[start:cut])
        start = cut
    assert out == payloads
