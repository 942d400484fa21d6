"""Scanner line format: AIM identifiers, suffixes, framing, vendor trigger bytes, repeats."""

import pytest

from devices.base import DeviceError
from devices.scanner import protocol as p


@pytest.mark.parametrize("line, text, symbology", [
    ("]Q1https://gov.example/a?b=1", "https://gov.example/a?b=1", "qr"),
    ("]E06901234567892", "6901234567892", "ean13"),
    ("]E469012341", "69012341", "ean8"),
    ("]C1\x1d0106901234567892", "\x1d0106901234567892", "gs1-128"),
    ("]C0ABC-123", "ABC-123", "code128"),
    ("]d2data", "data", "gs1-datamatrix"),
    ("]Y9not an identifier", "]Y9not an identifier", None),
    ("plain text", "plain text", None),
])
def test_aim_identifiers_become_symbology(line, text, symbology):
    scan = p.text_to_scan(line)
    assert (scan.text, scan.symbology) == (text, symbology)


def test_aim_can_be_off():
    assert p.text_to_scan("]Q1abc", aim=False).as_dict() == {"text": "]Q1abc", "symbology": None}


def test_suffix_names_and_literals():
    assert [p.suffix_bytes(s) for s in ("CR", "lf", "CRLF", "Tab", "", "\\x03")] == [
        b"\r", b"\n", b"\r\n", b"\t", b"", b"\x03"]


def test_framer_cuts_lines_across_chunks_and_keeps_the_partial():
    f = p.LineFramer(b"\r\n")
    assert f.feed(b"]Q1ab", now=1.0) == [] and f.last_byte_at == 1.0
    assert f.feed(b"c\r\nde", now=2.0) == [b"]Q1abc"]
    assert f.pending == b"de" and f.last_byte_at == 2.0
    assert f.feed(b"\r\n") == [b"de"] and f.last_byte_at is None


def test_gb18030_and_garbled_lines():
    raw = "电子社保卡".encode("gb18030")
    assert p.decode_line(raw, "gb18030").text == "电子社保卡"
    for bad, enc in ((b"\x81\x20\xff", "gb18030"), ("码".encode("gb18030"), "ascii"), (b"a\x07b", "ascii")):
        with pytest.raises(DeviceError) as e:
            p.decode_line(bad, enc)
        assert e.value.key == "scanner.garbled" and e.value.state.usable


def test_missing_prefix_is_garbled():
    assert p.decode_line(b"\x02abc", "ascii", prefix=b"\x02").text == "abc"
    with pytest.raises(DeviceError):
        p.decode_line(b"abc", "ascii", prefix=b"\x02")


def test_zebra_ssi_packets_carry_their_checksum():
    assert p.ZEBRA_ON == bytes.fromhex("04e40400ff14")
    assert p.ZEBRA_OFF == bytes.fromhex("04e50400ff13")
    assert p.ZEBRA_ACK == bytes.fromhex("04d00000ff2c")
    for packet in (p.ZEBRA_ON, p.ZEBRA_OFF, p.ZEBRA_ACK):
        assert (sum(packet[:-2]) + int.from_bytes(packet[-2:], "big")) & 0xFFFF == 0


def test_repeat_filter_suppresses_a_held_code_only():
    f = p.RepeatFilter(1.5)
    assert f.accept(p.Scan("A", "qr", 10.0))
    assert not f.accept(p.Scan("A", "qr", 11.0))
    assert not f.accept(p.Scan("A", "qr", 12.0))  # still held under the scanner
    assert f.accept(p.Scan("B", "qr", 12.1))
    assert f.accept(p.Scan("A", "qr", 12.2))
    assert f.accept(p.Scan("A", "qr", 14.0))
    assert p.RepeatFilter(0).accept(p.Scan("A", None, 1.0))


def test_framer_drops_an_ack_split_across_reads():
    f = p.LineFramer(b"\r", drop=p.ZEBRA_ACK)
    assert f.feed(p.ZEBRA_ACK[:1]) == []
    assert f.feed(p.ZEBRA_ACK[1:] + b"]Q1x\r") == [b"]Q1x"]
