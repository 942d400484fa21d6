"""Per-kind cleaning and validation of what residents type.

Each function returns ``(clean value, None)`` or ``(raw value, Text)`` with a
catalog message that says what to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from kiosk.core import idnumber
from kiosk.core.i18n import Text, text

# Province / region abbreviations that start a mainland plate.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"          # I and O are never used on plates (read as 1 and 0)
_SERIAL = f"[{_LETTER}0-9]"
PLATE_RE = re.compile(f"^([{PROVINCES}])([{_LETTER}])({_SERIAL}{{4}}[{_LETTER}0-9挂学警港澳])$")
# New-energy plates have 8 characters: small cars D/F + 5, large vehicles 5 digits + D/F.
NEV_RE = re.compile(f"^([{PROVINCES}])([{_LETTER}])([DF]{_SERIAL}[0-9]{{4}}|[0-9]{{5}}[DF])$")
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def plate(value: str) -> tuple[Any, Text | None]:
    v = re.sub(r"[\s·•.\-]", "", str(value)).upper()
    if not v:
        return value, text("flows.field.required")
    if v[0] not in PROVINCES:
        return value, text("flows.plate.province")
    if "I" in v[1:] or "O" in v[1:]:
        return value, text("flows.plate.no_i_o")
    if len(v) not in (7, 8):
        return value, text("flows.plate.length")
    if len(v) == 7 and PLATE_RE.match(v):
        return v, None
    if len(v) == 8 and NEV_RE.match(v):
        return v, None
    return value, text("flows.plate.format" if len(v) == 7 else "flows.plate.nev_format")


def plate_kind(value: str) -> str:
    return "new_energy" if len(value) == 8 else "regular"


def phone(value: str) -> tuple[Any, Text | None]:
    v = re.sub(r"[\s\-]", "", str(value))
    if v.startswith("+86"):
        v = v[3:]
    if not PHONE_RE.match(v):
        return value, text("flows.phone.format")
    return v, None


def date(value: Any, today: dt.date) -> tuple[Any, Text | None]:
    if isinstance(value, dt.date):
        return value, None
    v = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        if re.fullmatch(r"[0-9]{8}", v):
            return dt.date(int(v[:4]), int(v[4:6]), int(v[6:])), None
        return dt.date.fromisoformat(v), None
    except ValueError:
        return value, text("flows.date.format")


def amount(value: Any) -> tuple[Any, Text | None]:
    try:
        d = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        return value, text("flows.amount.format")
    if not d.is_finite() or d <= 0:
        return value, text("flows.amount.positive")
    if d != d.quantize(Decimal("0.01")):
        return value, text("flows.amount.cents")
    return d.quantize(Decimal("0.01")), None


def number(value: Any) -> tuple[Any, Text | None]:
    try:
        return int(str(value).strip()), None
    except ValueError:
        return value, text("flows.number.format")


def id_number(value: str, today: dt.date) -> tuple[Any, Text | None]:
    v = str(value).strip().upper()
    problem = idnumber.validate(v, today)
    return (v, None) if problem is None else (value, text(problem))


def code(value: str) -> tuple[Any, Text | None]:
    v = str(value).strip()
    if not re.fullmatch(r"[0-9]{4,8}", v):
        return value, text("flows.code.format")
    return v, None


# kind -> cleaner; the ones that need today's date take it as a second argument
_CLEANERS = {"plate": plate, "phone": phone, "amount": amount, "number": number, "code": code, "pin": code}
_DATED = {"date": date, "id_number": id_number}


def clean(kind: str, value: Any, today: dt.date) -> tuple[Any, Text | None]:
    if kind in _DATED:
        return _DATED[kind](value, today)
    if kind in _CLEANERS:
        return _CLEANERS[kind](value)
    return (str(value) if not isinstance(value, str) else value), None
