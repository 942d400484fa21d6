"""IPP binary encoding (RFC 8010) and printer URL handling, byte for byte."""

from __future__ import annotations

import struct

import pytest

from printers.a4 import ipp


def test_request_header_and_groups_exact_bytes():
    body = ipp.encode_request(ipp.GET_PRINTER_ATTRIBUTES, 7, [
        (ipp.OPERATION_GROUP, [("attributes-charset", ipp.CHARSET, "utf-8"),
                               ("requested-attributes", ipp.KEYWORD, ["printer-state", "printer-state-reasons"])]),
    ])
    expected = (
        b"\x02\x00" b"\x00\x0b" b"\x00\x00\x00\x07"   # version 2.0, Get-Printer-Attributes, request-id 7
        b"\x01"                                        # operation-attributes-tag
        b"\x47\x00\x12attributes-charset\x00\x05utf-8"
        b"\x44\x00\x14requested-attributes\x00\x0dprinter-state"
        b"\x44\x00\x00\x00\x15printer-state-reasons"  # additional value: empty name
        b"\x03"
    )
    assert body == expected


def test_integer_boolean_range_and_language_values():
    body = ipp.encode_request(ipp.PRINT_JOB, 1, [(ipp.JOB_GROUP, [
        ("copies", ipp.INTEGER, 2), ("x", ipp.BOOLEAN, True), ("page-ranges", ipp.RANGE, (1, 3)),
        ("job-name", ipp.NAME_WITH_LANGUAGE, ("zh", "证明")),
    ])])
    assert b"\x21\x00\x06copies\x00\x04\x00\x00\x00\x02" in body
    assert b"\x22\x00\x01x\x00\x01\x01" in body
    assert b"\x33\x00\x0bpage-ranges\x00\x08\x00\x00\x00\x01\x00\x00\x00\x03" in body
    name = "证明".encode()
    value = b"\x00\x02zh" + struct.pack(">H", len(name)) + name  # language, then the text
    assert b"\x36\x00\x08job-name" + struct.pack(">H", len(value)) + value in body


def _triplet(tag: int, name: str, value: bytes) -> bytes:
    nb = name.encode()
    return struct.pack(">BH", tag, len(nb)) + nb + struct.pack(">H", len(value)) + value


def test_decode_response_with_sets_collections_and_out_of_band():
    data = (
        b"\x02\x00\x00\x00\x00\x00\x00\x09"
        + b"\x01" + _triplet(ipp.CHARSET, "attributes-charset", b"utf-8")
        + _triplet(ipp.TEXT, "status-message", b"successful-ok")
        + b"\x04" + _triplet(ipp.ENUM, "printer-state", struct.pack(">i", 5))
        + _triplet(ipp.KEYWORD, "printer-state-reasons", b"media-empty-error")
        + _triplet(ipp.KEYWORD, "", b"cover-open-error")
        + _triplet(ipp.BOOLEAN, "printer-is-accepting-jobs", b"\x00")
        + _triplet(ipp.NO_VALUE, "printer-location", b"")
        + _triplet(ipp.BEGIN_COLLECTION, "media-col-ready", b"")
        + _triplet(ipp.MEMBER_NAME, "", b"media-source")
        + _triplet(ipp.KEYWORD, "", b"main")
        + _triplet(ipp.END_COLLECTION, "", b"")
        + b"\x03" + b"%PDF"
    )
    resp = ipp.decode_response(data)
    assert resp.ok and resp.request_id == 9 and resp.status_message == "successful-ok"
    printer = resp.group(ipp.PRINTER_GROUP)
    assert printer.one("printer-state") == 5
    assert printer.all("printer-state-reasons") == ["media-empty-error", "cover-open-error"]
    assert printer.one("printer-is-accepting-jobs") is False
    assert printer.one("printer-location") is None
    assert printer.one("media-col-ready") == {"media-source": "main"}
    assert resp.data == b"%PDF"


def test_error_status_and_truncated_message():
    resp = ipp.decode_response(b"\x02\x00\x05\x06\x00\x00\x00\x01\x03")
    assert not resp.ok and resp.status_name == "server-error-not-accepting-jobs"
    with pytest.raises(ipp.IppError):
        ipp.decode_response(b"\x02\x00\x00\x00\x00\x00\x00\x01\x01\x47\x00\x10abc")


@pytest.mark.parametrize("url,http_url,printer_uri", [
    ("ipp://127.0.0.1:8631/ipp/print", "http://127.0.0.1:8631/ipp/print", "ipp://127.0.0.1:8631/ipp/print"),
    ("ipp://printer.local/ipp/print", "http://printer.local:631/ipp/print", "ipp://printer.local:631/ipp/print"),
    ("ipps://10.0.0.5/ipp/print", "https://10.0.0.5:631/ipp/print", "ipps://10.0.0.5:631/ipp/print"),
    ("cups://Hall_A4", "http://localhost:631/printers/Hall_A4", "ipp://localhost:631/printers/Hall_A4"),
    ("cups://Hall_A4?server=print-srv:8631", "http://print-srv:8631/printers/Hall_A4",
     "ipp://print-srv:8631/printers/Hall_A4"),
])
def test_printer_urls(url, http_url, printer_uri, monkeypatch):
    monkeypatch.delenv("CUPS_SERVER", raising=False)
    ep = ipp.endpoint_for(url)
    assert (ep.http_url, ep.printer_uri) == (http_url, printer_uri)


def test_bad_printer_urls():
    for url in ("cups://", "tcp://host:9100", "ipp:///ipp/print"):
        with pytest.raises(ValueError):
            ipp.endpoint_for(url)
    assert ipp.endpoint_for("ipps://h/p?verify=0").verify is False
