"""Virtual card applications at the APDU level, and the driver's record parsers."""

from __future__ import annotations

import datetime as dt

import pytest

from devices.smartcard import apdu, cards
from devices.smartcard.apdu import Response
from devices.smartcard.vpcd import respond
from kiosk.core import idnumber

pytest.importorskip("smartcard")  # the parsers live in the pyscard driver module
from devices.smartcard.driver import bank_card_fields, social_security_identity  # noqa: E402


def tx(card, cmd) -> Response:
    raw = cmd.to_bytes() if isinstance(cmd, apdu.Command) else bytes.fromhex(cmd)
    return Response.parse(card.process(raw))


def test_social_security_card_session():
    card = cards.SocialSecurityCard()
    assert tx(card, apdu.read_record(7)).sw == apdu.SW_NO_CURRENT_EF
    assert tx(card, apdu.select_ef(0xEF05)).sw == apdu.SW_FILE_NOT_FOUND  # application not selected yet
    assert tx(card, apdu.select_by_name(cards.SSC_AID)).ok
    assert tx(card, apdu.select_ef(0xEF05)).ok
    rec = tx(card, apdu.read_record(7))
    assert rec.ok and rec.data == b"\x07\x09" + b"D32010215"
    assert tx(card, apdu.read_record(7, le=5)).sw == 0x6C0B  # wrong Le: the card tells the length
    assert tx(card, apdu.read_record(0x20)).sw == apdu.SW_RECORD_NOT_FOUND
    assert tx(card, apdu.select_ef(0xEF06)).ok
    name = tx(card, "00B2090420")
    assert name.ok and name.data[:2] == b"\x09\x1E" and name.data[2:8] == "王晓明".encode("gbk")
    assert tx(card, "00B20E0400").data == bytes.fromhex("0E0419850612")


def test_social_security_default_data_is_valid():
    d = cards.SocialSecurityData()
    assert idnumber.validate(d.id_number) is None
    assert d.sex_code() == "1"  # 17th digit odd: male


def test_unknown_fields_are_rejected():
    with pytest.raises(ValueError, match="unknown social security card fields: shoe_size"):
        cards.make_card("social_security", {"shoe_size": 42})
    with pytest.raises(ValueError, match="unknown card kind"):
        cards.make_card("library")


def test_bank_card_t0_chaining_and_gpo():
    card = cards.BankCard()
    first = tx(card, apdu.select_by_name(cards.PSE))
    assert first.sw1 == 0x61 and not first.data
    fci = tx(card, apdu.get_response(first.sw2))
    assert fci.ok and apdu.find_tlv(fci.data, 0x88) == b"\x01"
    assert tx(card, apdu.get_response(5)).sw == apdu.SW_NO_CURRENT_EF  # nothing pending any more
    sel = tx(card, apdu.select_by_name(cards.UNIONPAY_DEBIT[:5]))  # partial AID selection
    assert sel.sw1 == 0x61
    pdol = apdu.find_tlv(tx(card, apdu.get_response(sel.sw2)).data, 0x9F38)
    assert tx(card, apdu.get_processing_options(b"\x00")).sw == apdu.SW_WRONG_LENGTH
    size = sum(n for _, n in apdu.parse_dol(pdol))
    gpo = tx(card, apdu.get_processing_options(bytes(size)))
    body = tx(card, apdu.get_response(gpo.sw2)).data
    assert apdu.find_tlv(body, 0x94) == bytes.fromhex("0801010010010100")


def test_unknown_card_refuses_every_application():
    card = cards.UnknownCard()
    for name in (cards.SSC_AID, cards.PSE, cards.PPSE, cards.UNIONPAY_DEBIT):
        assert tx(card, apdu.select_by_name(name)).sw == apdu.SW_FILE_NOT_FOUND
    assert tx(card, apdu.read_record(1)).sw == apdu.SW_INS_NOT_SUPPORTED


def test_vpcd_controls():
    card = cards.SocialSecurityCard()
    assert respond(card, b"\x04") == card.atr
    tx(card, apdu.select_by_name(cards.SSC_AID))
    assert respond(card, b"\x02") is None  # reset: application deselected
    assert tx(card, apdu.select_ef(0xEF05)).sw == apdu.SW_FILE_NOT_FOUND
    assert respond(card, b"\x00A4") == bytes.fromhex("6700")  # a 3-byte "APDU" is malformed


def test_atr_check_byte():
    atr = cards.SocialSecurityCard.atr
    x = 0
    for b in atr[1:]:
        x ^= b
    assert x == 0  # TCK makes T0..TCK xor to zero


def _ssc_records(**overrides) -> dict[int, bytes]:
    card = cards.SocialSecurityCard(overrides)
    return {**card.records[cards.EF_CARD_INFO], **card.records[cards.EF_HOLDER_INFO]}


def test_social_security_identity_from_records():
    person = social_security_identity(_ssc_records(), today=dt.date(2025, 1, 1))
    assert (person.name, person.sex, person.nation) == ("王晓明", "男", "汉")
    assert person.birth == dt.date(1985, 6, 12)
    assert person.card_type == "social_security"
    assert person.extra["card_number"] == "D32010215"
    assert person.extra["issue_date"] == "2021-03-15"
    assert person.extra["issuing_region"] == "江苏省"
    assert person.problems == []


def test_social_security_identity_flags_problems():
    bad_id = "110105199001011234"  # wrong check digit
    rec = _ssc_records(id_number=bad_id, expiry="20200101", name="欧阳娜娜", sex="女", nation_code="05")
    person = social_security_identity(rec, today=dt.date(2025, 1, 1))
    assert (person.name, person.sex, person.nation) == ("欧阳娜娜", "女", "维吾尔")
    assert person.problems == ["idnumber.check_digit", "smartcard.problem.expired"]


def test_missing_records_are_bad_data():
    from devices.base import DeviceError

    rec = _ssc_records()
    del rec[0x08]
    with pytest.raises(DeviceError) as err:
        social_security_identity(rec)
    assert err.value.key == "smartcard.bad_data"


def test_bank_card_fields_from_track2_only():
    data = cards.BankData()
    out = bank_card_fields(cards.UNIONPAY_DEBIT, {0x57: data.track2()}, today=dt.date(2025, 1, 1))
    assert out["pan"] == data.pan
    assert out["expiry"] == "2030-12-31"  # YYMM: end of that month
    assert (out["scheme"], out["product"]) == ("UnionPay", "debit")
    assert out["problems"] == []


def test_bank_card_fields_problems():
    data = cards.BankData(pan="6217000000123456787")
    found = {0x57: cards.BankData().track2(), 0x5A: apdu.bcd(data.pan), 0x5F24: bytes.fromhex("200131")}
    out = bank_card_fields(cards.UNIONPAY_CREDIT, found, today=dt.date(2025, 1, 1))
    assert out["problems"] == ["smartcard.problem.pan_mismatch", "smartcard.problem.pan_check_digit",
                               "smartcard.problem.expired"]
    assert out["product"] == "credit"
