"""Free-text masking, property-based: identifiers written every common way
(ID and permit numbers, bank cards in groups, mobiles with +86/0086, spaces
and dashes, landlines with area codes) keep no more digits than the policy
allows, in plain text, in log lines and on receipts; names and addresses
learned in a session are masked until it ends."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.idcard.textparse import foreign_check_digit
from kiosk.core import idnumber, masking
from kiosk.core.logs import forget_personal, remember_personal, setup_logging
from kiosk.core.masking import (
    mask_address,
    mask_card_number,
    mask_id_number,
    mask_mapping,
    mask_name,
    mask_phone,
    mask_text,
)
from printers.escpos.layouts import render_receipt
from printers.escpos.render import render_bytes

SEPS = st.sampled_from(["", " ", "-"])
# Words around identifiers: Chinese, letters and punctuation, never digits.
FILLER = st.text(alphabet=st.sampled_from(list("卡号电话身份证办理欧阳娜您好的：，。 abcXYZ=:;/_[]{}\"'")), max_size=12)
AREA_CODES = st.sampled_from(["010", "020", "021", "022", "023", "024", "025", "027", "028", "029",
                              "0755", "0571", "0512", "0311", "0898", "0931"])


@st.composite
def id_numbers(draw):
    region = draw(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True))
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2026, 1, 1)))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    number = idnumber.make(region + born.strftime("%Y%m%d") + seq)
    sep = draw(SEPS)
    return f"{number[:6]}{sep}{number[6:14]}{sep}{number[14:]}", number, 2


@st.composite
def mobiles(draw):
    number = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    sep = draw(SEPS)
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "0086 ", "0086-", "(+86)", "+86-"]))
    return f"{prefix}{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}", number, 7


@st.composite
def landlines(draw):
    area = draw(AREA_CODES)
    local = draw(st.from_regex(r"[2-8][0-9]{7}", fullmatch=True)) if len(area) == 3 else \
        draw(st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
    sep = draw(SEPS)
    form = draw(st.sampled_from(["plain", "paren", "cc"]))
    head = {"plain": area, "paren": f"({area})", "cc": f"+86 {area[1:]}"}[form]
    mid = len(local) - 4
    return f"{head}{sep or ' '}{local[:mid]}{sep}{local[mid:]}", area + local, len(area) + 4


@st.composite
def bank_cards(draw):
    number = draw(st.from_regex(r"[3-6][0-9]{15,18}", fullmatch=True))
    sep = draw(SEPS)
    written = sep.join(number[i:i + 4] for i in range(0, len(number), 4)) if sep else number
    return written, number, 4


@st.composite
def permits(draw):
    kind = draw(st.sampled_from(["hk", "i2017"]))
    if kind == "hk":
        number = draw(st.from_regex(r"[HM][0-9]{8}", fullmatch=True))
    else:
        first14 = draw(st.from_regex(r"[A-Z]{3}[0-9]{11}", fullmatch=True))
        number = first14 + foreign_check_digit(first14)
    return number, number, 0


IDENTIFIERS = st.one_of(id_numbers(), mobiles(), landlines(), bank_cards(), permits())


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(SETTINGS, max_examples=25)  # rendering and logging cost more per example


@st.composite
def texts(draw):
    """Free text with 1-3 identifiers between words; (text, raw numbers, digits allowed)."""
    items = draw(st.lists(IDENTIFIERS, min_size=1, max_size=3))
    parts, numbers, budget = [draw(FILLER)], [], 0
    for written, number, keep in items:
        parts += [written, draw(st.sampled_from(["，", "; ", " and ", "。"])) + draw(FILLER)]
        numbers.append(number)
        budget += keep
    return "".join(parts), numbers, budget


def assert_masked(out: str, numbers: list[str], budget: int) -> None:
    for number in numbers:
        assert number not in digits(out) and number not in out, out
    assert len(digits(out)) <= budget, out


@SETTINGS
@given(texts())
def test_free_text_keeps_no_more_than_the_allowed_digits(sample):
    text, numbers, budget = sample
    assert_masked(mask_text(text), numbers, budget)


@SETTINGS
@given(texts())
def test_masking_twice_changes_nothing(sample):
    once = mask_text(sample[0])
    assert mask_text(once) == once


@pytest.mark.parametrize("written, shown", [
    ("卡号 6222 0202 0011 2233 445", "卡号 ***************3445"),
    ("+86 138-1234-5678", "138****5678"),
    ("0086 138 1234 5678", "138****5678"),
    ("(+86)13812345678", "138****5678"),
    ("电话 010-12345678", "电话 010****5678"),
    ("(0755) 8888 8888", "0755****8888"),
    ("+86 10 1234 5678", "010****5678"),
    ("身份证 110101 19850312 0316", "身份证 1****************6"),
    ("回乡证 H60123456", "回乡证 H********"),
    ("永久居留证 USA110075061821", "永久居留证 U**************"),
    ("ref T-0001-261128-000012 at 2026-11-28 03:52:47", "ref T-0001-261128-000012 at 2026-11-28 03:52:47"),
])
def test_common_forms(written, shown):
    assert mask_text(written) == shown


@st.composite
def people(draw):
    surname = draw(st.sampled_from(list("欧王李张陈刘杨黄赵周")))
    given_name = draw(st.text(alphabet=st.sampled_from(list("阳娜明秀英家豪伟芳军")), min_size=1, max_size=3))
    street = draw(st.text(alphabet=st.sampled_from(list("和平里东街北京路中山大道甲乙")), min_size=2, max_size=6))
    city = draw(st.sampled_from(["北京市东城区", "江苏省泰州市海陵区", "广东省深圳市福田区",
                                 "新疆维吾尔自治区乌鲁木齐市天山区"]))
    number = draw(st.integers(1, 999))
    return surname + given_name, f"{city}{street}{number}号"


@SETTINGS
@given(people(), FILLER)
def test_session_names_and_addresses_are_masked_until_the_session_ends(person, filler):
    name, address = person
    remember_personal(name=name, address=address)
    try:
        out = mask_text(f"{filler}{name}住在{address}{filler}")
        assert name not in out and address not in out
        assert mask_name(name) in out and mask_address(address) in out
        assert address[len(masking.address_head(address)):] not in out  # street part never shown
    finally:
        forget_personal()
    assert name in mask_text(name)


def test_one_name_style_whatever_the_length():
    assert {mask_name(n) for n in ("欧阳", "欧阳娜", "欧阳娜娜", "欧阳娜娜明")} == {"欧**"}
    assert mask_name("FERNANDEZ-GARCIA, ALEJANDRO") == "F**"


def test_single_values_are_idempotent():
    for fn, value in ((mask_id_number, "110101198503120316"), (mask_phone, "+86 138-1234-5678"),
                      (mask_card_number, "6222 0202 0011 2233 445"), (mask_address, "江苏省泰州市海陵区鼓楼路100号"),
                      (mask_name, "欧阳娜娜")):
        assert fn(fn(value)) == fn(value)


@pytest.fixture
def log_lines():
    buf = io.StringIO()
    setup_logging(level="debug", fmt="json", stream=buf)
    yield lambda: [json.loads(x) for x in buf.getvalue().splitlines()]
    setup_logging(level="warning", fmt="text")


@FEW
@given(texts())
def test_log_lines_are_masked(log_lines, sample):
    text, numbers, budget = sample
    log = logging.getLogger("kiosk.test.masking")
    log.warning("got %s", text, extra={"detail": {"note": text}, "comment": text})
    line = log_lines()[-1]
    for value in (line["msg"], line["detail"]["note"], line["comment"]):
        assert_masked(value, numbers, budget + len(digits("got ")))


@FEW
@given(people(), IDENTIFIERS, texts())
def test_receipts_are_masked(person, identifier, note):
    name, _ = person
    _, number, _ = identifier
    text, numbers, budget = note
    receipt = {"case_no": "T-0001-261128-000012", "service": "无房证明", "applicant": name,
               "id_number": number, "result": text, "time": "2026-11-28 10:00"}
    [page] = render_bytes(render_receipt(receipt, 80), 80)
    assert name not in page.text and number not in digits(page.text)
    assert mask_name(name) in page.text and mask_id_number(number) in page.text
    result_lines = page.text.replace("T-0001-261128-000012", "").replace("2026-11-28 10:00", "")
    assert len(digits(result_lines)) <= budget + len(digits(mask_id_number(number)))


def test_records_hide_birth_authority_and_issue_date():
    shown = mask_mapping({"name": "欧阳明", "id_number": "110101198503120316", "birth": "1985-03-12",
                          "authority": "北京市公安局东城分局", "valid_from": "2016-05-20", "valid_to": "2036-05-20",
                          "address": "北京市东城区和平里东街18号院3号楼502室", "extra": {"pass_number": "H60123456"}})
    assert shown == {"name": "欧**", "id_number": "1****************6", "birth": "***", "authority": "***",
                     "valid_from": "***", "valid_to": "2036-05-20", "address": "北京市***",
                     "extra": {"pass_number": "H********"}}


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    from central.embedded import start_embedded

    handle = start_embedded(tmp_path_factory.mktemp("central"), auto_pay_s=0)
    yield handle
    handle.stop()


@FEW
@given(people(), id_numbers(), mobiles(), texts())
def test_central_api_answers_masked(central, person, identifier, phone, note):
    import uuid

    import requests

    name, address = person
    number, text = identifier[1], note[0]
    body = {"case_id": str(uuid.uuid4()), "ref": "T-TEST-261128-000001", "terminal_id": "T-TEST", "seq": 1,
            "service": "no_property", "created_at": "2026-11-28T10:00:00+00:00",
            "applicant": {"name": name, "id_number": number, "address": address, "phone": phone[0],
                          "birth": "1985-03-12", "authority": "北京市公安局", "note": text},
            "result": {"owns_property": False}}
    auth = {"Authorization": f"Bearer {central.token_for('T-TEST')}"}
    r = requests.post(f"{central.url}/v1/cases", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                      timeout=10)
    assert r.status_code == 201, r.text
    got = requests.get(f"{central.url}/v1/cases/{body['case_id']}", headers=auth, timeout=10).json()["applicant"]
    assert got["name"] == mask_name(name) and got["id_number"] == mask_id_number(number)
    assert got["address"] == mask_address(address) and got["phone"] == mask_phone(phone[1])
    assert got["birth"] == got["authority"] == "***"
    assert_masked(got["note"], note[1], note[2])


def test_identifiers_the_system_made_stay_readable():
    shown = mask_mapping({"serial": "BDC202611280523469643", "ref": "T-0001-261128-000012",
                          "note": "BDC202611280523469643"})
    assert shown["serial"] == "BDC202611280523469643" and shown["ref"] == "T-0001-261128-000012"
    assert "202611280523469643" not in shown["note"]  # in free text a long digit run is still masked
