"""The 256-byte text block of a second-generation card, in all four layouts.

Text is UCS-2 little-endian, each field a fixed number of bytes padded with
spaces.  Byte 248 (a UCS-2 letter) tells the layout apart: 'J' residence
permit for Hong Kong/Macao/Taiwan residents, 'I' foreigner permanent residence
card (2017), 'Y' foreigner permanent residence card (2023); anything else
(normally a space) is a resident ID card.

Layouts (byte offset, length) as published for card-reader integrators:

resident      name 0/30, sex 30/2, nation 32/4, birth 36/16, address 52/70,
              id 122/36, authority 158/30, from 188/16, to 204/16, reserved 220/36
J             as resident, but 32/4 reserved (no nation), pass number 220/18,
              issue count 238/4, reserved 242/6, 'J' 248/2, reserved 250/6
I             english name 0/120, sex 120/2, card number 122/30 (15 chars),
              nationality 152/6 (ISO 3166 alpha-3), chinese name 158/30,
              from 188/16, to 204/16, birth 220/16, card version 236/4,
              authority code 240/8, 'I' 248/2, reserved 250/6
Y             chinese name 0/30, sex 30/2, renewal count 32/4, birth 36/16,
              english name 52/70, id 122/36, (158/30 see below), from 188/16,
              to 204/16, english name continued 220/22, nationality 242/6,
              'Y' 248/2, link to the previous card number 250/6

Uncertain, so kept but not interpreted: the 'Y' block 158/30 (vendor SDKs read
it as the issuing authority, sample cards leave it blank; it is returned as
``authority`` when not blank) and the 'Y' link field 250/6 (returned raw as
``extra["previous_number_link"]``).
"""

from __future__ import annotations

import datetime as dt

from kiosk.core import idnumber
from kiosk.core.domain import FOREIGNER_PERMANENT, FOREIGNER_PERMANENT_2023, HMT_RESIDENCE, RESIDENT, Identity

TEXT_LEN = 256
LONG_TERM = "长期"

# GB/T 2261.1
SEX = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
SEX_CODE = {v: k for k, v in SEX.items()}

# GB 3304: the 56 ethnic groups, plus 97 other and 98 foreign-born Chinese citizens.
NATIONS = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮",
    "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼",
    "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜",
    "25": "水", "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土", "31": "达斡尔",
    "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯",
    "39": "阿昌", "40": "普米", "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克",
    "46": "德昂", "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士",
}
NATION_CODE = {v: k for k, v in NATIONS.items()}

# Region of a 'J' permit from the first two digits of its ID number.
HMT_REGIONS = {"81": "香港", "82": "澳门", "83": "台湾"}

LAYOUT_MARKERS = {"J": HMT_RESIDENCE, "I": FOREIGNER_PERMANENT, "Y": FOREIGNER_PERMANENT_2023}
MARKER_OF = {v: k for k, v in LAYOUT_MARKERS.items()}

Field = tuple[int, int]  # byte offset, byte length

LAYOUTS: dict[str, dict[str, Field]] = {
    RESIDENT: {
        "name": (0, 30), "sex": (30, 2), "nation": (32, 4), "birth": (36, 16), "address": (52, 70),
        "id_number": (122, 36), "authority": (158, 30), "valid_from": (188, 16), "valid_to": (204, 16),
    },
    HMT_RESIDENCE: {
        "name": (0, 30), "sex": (30, 2), "birth": (36, 16), "address": (52, 70), "id_number": (122, 36),
        "authority": (158, 30), "valid_from": (188, 16), "valid_to": (204, 16),
        "pass_number": (220, 18), "issue_count": (238, 4), "marker": (248, 2),
    },
    FOREIGNER_PERMANENT: {
        "english_name": (0, 120), "sex": (120, 2), "id_number": (122, 30), "nationality": (152, 6),
        "name": (158, 30), "valid_from": (188, 16), "valid_to": (204, 16), "birth": (220, 16),
        "card_version": (236, 4), "authority": (240, 8), "marker": (248, 2),
    },
    FOREIGNER_PERMANENT_2023: {
        "name": (0, 30), "sex": (30, 2), "renewal_count": (32, 4), "birth": (36, 16),
        "english_name": (52, 70), "id_number": (122, 36), "authority": (158, 30), "valid_from": (188, 16),
        "valid_to": (204, 16), "english_name_more": (220, 22), "nationality": (242, 6), "marker": (248, 2),
        "previous_number_link": (250, 6),
    },
}


class UnsupportedLayout(ValueError):
    def __init__(self, marker: str):
        self.marker = marker
        super().__init__(f"unsupported card layout marker {marker!r}")


def layout_of(text: bytes) -> str:
    """The card_type a text block is laid out for; raises UnsupportedLayout."""
    if len(text) != TEXT_LEN:
        raise ValueError(f"card text must be {TEXT_LEN} bytes, got {len(text)}")
    marker = text[248:250].decode("utf-16-le", "replace")
    if marker in LAYOUT_MARKERS:
        return LAYOUT_MARKERS[marker]
    if marker.strip(" \x00") == "":
        return RESIDENT
    raise UnsupportedLayout(marker)


def _field(text: bytes, spec: Field) -> str:
    off, n = spec
    return text[off:off + n].decode("utf-16-le", "replace").strip(" \x00\u3000")


def _date(value: str) -> dt.date | None:
    if len(value) != 8 or not idnumber.ascii_digits(value):
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def fields(text: bytes) -> dict[str, str]:
    """Every field of the text block as stripped strings, keyed as in LAYOUTS."""
    layout = layout_of(text)
    return {"card_type": layout, **{k: _field(text, spec) for k, spec in LAYOUTS[layout].items()}}


# ISO 9303 style 7-3-1 check of the 15-character 2017 foreigner card number
# (3 letters nationality, 4 digits place of issue, 6 digits YYMMDD birth,
# 1 digit sequence, 1 check digit).
def foreign_check_digit(first14: str) -> str:
    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10

    return str(sum(value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(first14.upper())) % 10)


def _foreign_number_problem(number: str) -> str | None:
    n = number.upper()
    if len(n) != 15 or not (n[:3].isascii() and n[:3].isalpha()) or not idnumber.ascii_digits(n[3:]):
        return "idcard.foreign_number_format"
    if foreign_check_digit(n[:14]) != n[14]:
        return "idcard.foreign_check_digit"
    return None


def parse_text(text: bytes, today: dt.date | None = None) -> Identity:
    """Decode a 256-byte text block into an Identity.

    Problems found (wrong check digit, impossible birth date, expired card...)
    go into ``Identity.problems`` as catalog keys; they are reported, never
    silently accepted or dropped."""
    today = today or dt.date.today()
    f = fields(text)
    card_type = f["card_type"]
    problems: list[str] = []
    extra: dict = {}

    birth_raw = f.get("birth", "")
    birth = _date(birth_raw)
    if birth is None or birth > today or birth.year < 1900:
        problems.append("idcard.birth_date")

    valid_to_raw = f.get("valid_to", "")
    long_term = valid_to_raw == LONG_TERM
    valid_to = None if long_term else _date(valid_to_raw)
    valid_from = _date(f.get("valid_from", ""))
    if not long_term and valid_to is None:
        problems.append("idcard.validity")
    elif valid_to is not None and valid_to < today:
        problems.append("idcard.expired")

    number = f["id_number"].upper()
    if card_type == FOREIGNER_PERMANENT:
        key = _foreign_number_problem(number)
    else:
        key = idnumber.validate(number, today=today)
        if key is None and birth is not None and idnumber.birth_date(number) != birth:
            key = "idcard.birth_mismatch"
    if key:
        problems.append(key)

    sex = SEX.get(f["sex"], f["sex"])
    if card_type == RESIDENT:
        nation = NATIONS.get(f["nation"], f["nation"])
    elif card_type == HMT_RESIDENCE:
        nation = ""
        extra = {"pass_number": f["pass_number"], "issue_count": f["issue_count"],
                 "region": HMT_REGIONS.get(number[:2], "")}
    else:
        nation = f["nationality"]
        english = f["english_name"]
        if card_type == FOREIGNER_PERMANENT_2023:
            if f["english_name_more"]:
                # a long name fills all 35 characters of the first part, so
                # its last character may be a real space: do not strip it
                off, n = LAYOUTS[card_type]["english_name"]
                english = text[off:off + n].decode("utf-16-le", "replace") + f["english_name_more"]
            extra = {"renewal_count": f["renewal_count"], "previous_number_link": f["previous_number_link"]}
        else:
            extra = {"card_version": f["card_version"]}
        extra = {"english_name": english, "nationality_code": f["nationality"], **extra}

    name = f["name"] or extra.get("english_name", "")
    return Identity(
        name=name, id_number=number, sex=sex, nation=nation, birth=birth, address=f.get("address", ""),
        authority=f.get("authority", ""), valid_from=valid_from, valid_to=valid_to, long_term=long_term,
        card_type=card_type, extra={k: v for k, v in extra.items() if v != ""}, problems=problems,
    )


# --- encoder (simulator, tests) ------------------------------------------
def _put(buf: bytearray, spec: Field, value: str) -> None:
    off, n = spec
    raw = value.encode("utf-16-le")
    if len(raw) > n:
        raise ValueError(f"{value!r} does not fit {n} bytes")
    buf[off:off + n] = raw + " ".encode("utf-16-le") * ((n - len(raw)) // 2)


def _code(table: dict[str, str], value: str) -> str:
    return table.get(value, value)


def encode_text(card: dict) -> bytes:
    """Build the 256-byte text block from a card description.

    ``card`` keys: ``type`` (resident | hmt_residence | foreigner_permanent |
    foreigner_permanent_2023, default resident) and the field names of
    LAYOUTS; ``sex`` and ``nation`` may be codes ('1', '01') or text ('男',
    '汉'); dates are 'YYYYMMDD' (or '长期' for valid_to)."""
    card_type = card.get("type", RESIDENT)
    if card_type not in LAYOUTS:
        raise ValueError(f"unknown card type {card_type!r}")
    buf = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    values = dict(card)
    values["sex"] = _code(SEX_CODE, str(values.get("sex", "")))
    if "nation" in values:
        values["nation"] = _code(NATION_CODE, str(values["nation"]))
    if card_type in MARKER_OF:
        values["marker"] = MARKER_OF[card_type]
    if card_type == FOREIGNER_PERMANENT_2023:
        english = values.get("english_name", "")
        values["english_name"], values["english_name_more"] = english[:35], english[35:]
    for key, spec in LAYOUTS[card_type].items():
        if key in values and values[key] is not None:
            _put(buf, spec, str(values[key]))
    return bytes(buf)
