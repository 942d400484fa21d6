"""The four card text layouts, validation problems, and the encoder."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.idcard import textparse as tp
from devices.idcard.simulator import load_card, packaged_cards
from kiosk.core import idnumber
from kiosk.core.domain import FOREIGNER_PERMANENT, FOREIGNER_PERMANENT_2023, HMT_RESIDENCE, RESIDENT
from kiosk.core.i18n import has

TODAY = dt.date(2026, 11, 23)


def u(s: str) -> bytes:
    return s.encode("utf-16-le")


def test_resident_layout_byte_offsets():
    text = tp.encode_text(load_card("resident"))
    assert len(text) == 256
    assert text[0:6] == u("欧阳明") and text[6:30] == u(" " * 12)
    assert text[30:32] == u("1") and text[32:36] == u("01")
    assert text[36:52] == u("19850312")
    assert text[122:158] == u("110101198503120316")
    assert text[188:204] == u("20160520") and text[204:220] == u("20360520")
    assert text[248:250] == u(" ")
    ident = tp.parse_text(text, today=TODAY)
    assert (ident.name, ident.sex, ident.nation) == ("欧阳明", "男", "汉")
    assert ident.birth == dt.date(1985, 3, 12) and ident.valid_to == dt.date(2036, 5, 20)
    assert ident.card_type == RESIDENT and ident.problems == []


def test_long_term_card():
    ident = tp.parse_text(tp.encode_text(load_card("resident_long_term")), today=TODAY)
    assert ident.long_term and ident.valid_to is None and ident.as_dict()["valid_to"] == "长期"
    assert ident.sex == "女" and ident.id_number.endswith("X") and ident.problems == []


def test_expired_card_is_reported():
    ident = tp.parse_text(tp.encode_text(load_card("expired")), today=TODAY)
    assert ident.problems == ["idcard.expired"]
    assert tp.parse_text(tp.encode_text(load_card("expired")), today=dt.date(2025, 1, 1)).problems == []


def test_wrong_check_digit_is_reported():
    card = load_card("bad_check_digit")
    ident = tp.parse_text(tp.encode_text(card), today=TODAY)
    assert ident.problems == ["idnumber.check_digit"]
    assert ident.nation == "壮"


def test_impossible_birth_date_is_reported():
    card = dict(load_card("resident"), birth="19850230")
    ident = tp.parse_text(tp.encode_text(card), today=TODAY)
    assert ident.birth is None and "idcard.birth_date" in ident.problems


def test_birth_date_not_matching_number_is_reported():
    card = dict(load_card("resident"), birth="19850313")
    assert tp.parse_text(tp.encode_text(card), today=TODAY).problems == ["idcard.birth_mismatch"]


def test_hmt_residence_permit():
    text = tp.encode_text(load_card("hmt_J"))
    assert text[248:250] == u("J") and text[220:238] == u("H60123456")
    ident = tp.parse_text(text, today=TODAY)
    assert ident.card_type == HMT_RESIDENCE and ident.nation == ""
    assert ident.extra == {"pass_number": "H60123456", "issue_count": "01", "region": "香港"}
    assert ident.address.startswith("广东省深圳市") and ident.problems == []


def test_old_foreigner_card():
    text = tp.encode_text(load_card("foreigner_I"))
    assert text[0:36] == u("SMITH, JOHN ANDREW") and text[152:158] == u("USA") and text[248:250] == u("I")
    ident = tp.parse_text(text, today=TODAY)
    assert ident.card_type == FOREIGNER_PERMANENT
    assert (ident.name, ident.nation, ident.sex) == ("史密斯", "USA", "男")
    assert ident.id_number == "USA110075061821" and ident.birth == dt.date(1975, 6, 18)
    assert ident.extra["english_name"] == "SMITH, JOHN ANDREW" and ident.authority == "1100"
    assert ident.problems == []


def test_old_foreigner_card_check_digit():
    card = dict(load_card("foreigner_I"), id_number="USA110075061820")
    assert tp.parse_text(tp.encode_text(card), today=TODAY).problems == ["idcard.foreign_check_digit"]


def test_2023_foreigner_card_long_english_name_spans_two_fields():
    text = tp.encode_text(load_card("foreigner_Y"))
    assert text[248:250] == u("Y") and text[242:248] == u("ESP")
    ident = tp.parse_text(text, today=TODAY)
    assert ident.card_type == FOREIGNER_PERMANENT_2023
    assert ident.extra["english_name"] == "FERNANDEZ-GARCIA, ALEJANDRO MANUEL JOSE"
    assert ident.name == "费南德" and ident.nation == "ESP" and ident.id_number.startswith("9")
    assert ident.problems == [] and idnumber.is_valid(ident.id_number)


def test_unknown_layout_marker_is_named():
    text = bytearray(tp.encode_text(load_card("resident")))
    text[248:250] = u("Z")
    with pytest.raises(tp.UnsupportedLayout) as err:
        tp.parse_text(bytes(text))
    assert err.value.marker == "Z"


def test_nation_table_has_the_56_groups():
    assert len([c for c in tp.NATIONS if int(c) <= 56]) == 56
    assert tp.NATIONS["01"] == "汉" and tp.NATIONS["56"] == "基诺"


@pytest.mark.parametrize("name", packaged_cards())
def test_packaged_cards_are_consistent(name):
    card = load_card(name)
    ident = tp.parse_text(tp.encode_text(card), today=TODAY)
    assert ident.id_number == card["id_number"]
    for key in ident.problems:
        assert has(key), key
    if name == "bad_check_digit":
        assert ident.problems == ["idnumber.check_digit"]
    elif name == "expired":
        assert ident.problems == ["idcard.expired"]
    else:
        assert ident.problems == []


names = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=15)


@settings(max_examples=100, deadline=None)
@given(name=names, nation=st.sampled_from(sorted(tp.NATIONS)), sex=st.sampled_from(["1", "2"]),
       born=st.dates(dt.date(1920, 1, 1), dt.date(2020, 12, 31)), seq=st.integers(0, 999),
       address=st.text(alphabet="北京市东城区和平里1234567890号楼室", max_size=35))
def test_resident_encode_parse_round_trip(name, nation, sex, born, seq, address):
    number = idnumber.make(f"110101{born:%Y%m%d}{seq:03d}")
    card = {"name": name, "sex": sex, "nation": nation, "birth": f"{born:%Y%m%d}", "address": address,
            "id_number": number, "authority": "北京市公安局", "valid_from": "20200101", "valid_to": "长期"}
    ident = tp.parse_text(tp.encode_text(card), today=TODAY)
    assert (ident.name, ident.nation, ident.address, ident.id_number) == (name, tp.NATIONS[nation], address, number)
    assert ident.sex == tp.SEX[sex] and ident.birth == born and ident.problems == []


def test_encoder_refuses_overlong_fields():
    with pytest.raises(ValueError):
        tp.encode_text(dict(load_card("resident"), name="欧" * 16))
