"""The one masking policy for personal data: logs, CLI listings, store
summaries, screens, receipts, certificates, the central API and reports.

Rule: everything one masked record shows together must leave at least
100,000 candidates for the full ID or permit number, even for someone who
already knows where the card holder was registered (the region or place code).
tests/kiosk/test_masking_candidates.py counts the candidates per card type.
So a masked record shows:

- ID and permit numbers: the first character; the last too for 18-character
  numbers (its GB 11643 check character removes only 1 in 11):
  ``3****************6``, ``U**************`` (2017 foreigner card),
  ``H********`` (Hong Kong/Macao pass). A birth date inside them is never shown.
- Birth date, issuing authority, card issue date, the 2023 foreigner card's link
  to the previous number: hidden (``***``); the expiry date stays (it says
  whether the card can be used and, without the issue date, not the age).
- Names: the first character and always two stars, whatever the length: ``欧**``.
- Addresses: province and city only: ``江苏省泰州市***``.
- Phone numbers: the first 3 and last 4 digits: ``138****5678`` (landlines keep
  the area code: ``0755****8888``).
- Bank and social-security card numbers: the last 4 digits: ``************3445``.

Every function is idempotent (masking a masked value changes nothing), so a
value may pass through several layers.
"""

from __future__ import annotations

import re
import threading

HIDDEN = "***"
NAME_STARS = "**"

# -- single values ------------------------------------------------------------


def mask_id_number(value: str | None) -> str:
    """ID, permit and pass numbers (any card type)."""
    if not value:
        return ""
    v = str(value).strip()
    if len(v) <= 4:
        return "*" * len(v)
    if len(v) == 18:
        return v[0] + "*" * 16 + v[-1]
    return v[0] + "*" * (len(v) - 1)


mask_permit_number = mask_id_number


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    if len(v) <= 1:
        return NAME_STARS
    return v[0] + NAME_STARS


def _phone_digits(value: str) -> str:
    v = re.sub(r"[\s()\-.]", "", str(value))
    for prefix in ("+86", "0086"):
        if v.startswith(prefix):
            v = v[len(prefix):]
            if not re.fullmatch(r"1[3-9]\d{9}", v) and not v.startswith("0"):
                v = "0" + v  # +86 10 1234 5678 is the Beijing landline 010...
            break
    return v


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    v = _phone_digits(value)
    if len(v) < 8:
        return "*" * len(v)
    if v.startswith("0"):  # landline: keep the area code (010, 02x: 3 digits; others 4)
        head = 3 if v[1] in "12" else 4
        return v[:head] + "*" * (len(v) - head - 4) + v[-4:]
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_card_number(value: str | None) -> str:
    if not value:
        return ""
    v = re.sub(r"[\s\-]", "", str(value))
    if len(v) <= 4:
        return "*" * len(v)
    return "*" * (len(v) - 4) + v[-4:]


_PROVINCE = r"[^\s\d]{2,8}?(?:省|自治区|特别行政区)"
_CITY = r"[^\s\d区县路街道号镇乡村巷弄栋室]{1,9}?(?:市|自治州|州(?!市)|地区|盟)"
_ADDRESS_HEAD = re.compile(rf"^(?:{_PROVINCE})?(?:{_CITY})?")


def address_head(value: str) -> str:
    """The province/city part of an address ('' when none is recognised)."""
    return _ADDRESS_HEAD.match(str(value).strip()).group(0)


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    masked = v.endswith(HIDDEN)
    if masked:
        v = v[:-len(HIDDEN)]
    head = address_head(v)
    return head + HIDDEN if masked or head != v else head


def hide(value) -> str:
    """A field a masked record never shows (birth date, authority...)."""
    return HIDDEN if value else ""


# Field names that carry personal data wherever they appear in dicts.
PERSONAL_FIELDS = {
    "id_number": mask_id_number,
    "idnum": mask_id_number,
    "principal_id_number": mask_id_number,
    "agent_id_number": mask_id_number,
    "insured_no": mask_id_number,
    "pass_number": mask_permit_number,
    "permit_number": mask_permit_number,
    "name": mask_name,
    "applicant_name": mask_name,
    "principal_name": mask_name,
    "agent_name": mask_name,
    "cardholder": mask_name,
    "english_name": mask_name,
    "chinese_name": mask_name,
    "previous_card_number": mask_card_number,
    "birthplace": mask_address,
    "phone": mask_phone,
    "mobile": mask_phone,
    "address": mask_address,
    "new_address": mask_address,
    "card_number": mask_card_number,
    "account_no": mask_card_number,
    "bank_account": mask_card_number,
    "pan": mask_card_number,
    "bank_card": mask_card_number,
    "birth": hide,
    "birth_date": hide,
    "authority": hide,
    "valid_from": hide,
    "previous_number_link": hide,
}

# Identifiers the system itself made (certificate serials, hashes, case
# references): long digit runs in them are not card numbers.
PLAIN_FIELDS = {"serial", "sha256", "hash", "prev", "document_hash", "case_id", "ref", "case_ref",
                "idempotency_key"}

# Values that must never be shown even masked (binary photos, encodings).
DROP_FIELDS = {"photo", "photo_bmp", "photo_wlt", "face_encoding", "fingerprint", "image", "frame"}


# -- free text ----------------------------------------------------------------

# Numbers are masked even when glued to letters ("tel13812345678"); only a
# longer digit group around them stops a match.
_GB = r"(?<![0-9+])(?<!\d[ \-])"
_GA = r"(?!\d)(?![ \-]\d)"
_SEP = r"[ \-]?"
_CC = r"(?:(?:\+|00)86[ \-]?|\(\+?86\)[ \-]?)"  # country code forms

_PATTERNS: list[tuple[re.Pattern, object]] = [
    # ID numbers (18: resident, 'J' permit, 2023 foreigner card), optionally grouped 6-8-4
    (re.compile(rf"{_GB}\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[0-9Xx](?![0-9A-Za-z])(?![ \-]\d)"),
     lambda s: mask_id_number(re.sub(r"[ \-]", "", s))),
    # 2017 foreigner card, Hong Kong/Macao passes, passports
    (re.compile(r"[A-Z]{3}\d{12}(?!\d)"), mask_permit_number),
    (re.compile(r"[HM]\d{10}(?!\d)|[EGHMPSDK]\d{8}(?!\d)"), mask_permit_number),
    # mobiles: 13812345678, 138 1234 5678, +86 138-1234-5678, 0086..., (+86)...
    (re.compile(rf"{_GB}{_CC}?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}{_GA}"), mask_phone),
    # landlines with area code: 010-12345678, (0755) 8888 8888, +86 10 1234 5678
    (re.compile(rf"{_GB}(?:\(0\d{{2,3}}\)|0\d{{2,3}}){_SEP}\d{{3,4}}{_SEP}\d{{4}}{_GA}"), mask_phone),
    (re.compile(rf"{_GB}{_CC}\(?[1-9]\d{{1,2}}\)?{_SEP}\d{{3,4}}{_SEP}\d{{4}}{_GA}"), mask_phone),
    # bank cards written in groups of 4 (6222 0202 0011 2233 445)
    (re.compile(rf"{_GB}\d{{4}}(?:[ \-]\d{{4}}){{2,3}}(?:[ \-]\d{{1,4}})?{_GA}"), mask_card_number),
    # legacy 15-digit ID numbers, then any other long digit run (card numbers)
    (re.compile(r"(?<!\d)\d{15}(?!\d)"), mask_id_number),
    (re.compile(r"(?<!\d)\d{12,19}(?!\d)"), mask_card_number),
]

# Values learned in the current session (names, addresses, numbers read from a
# card), masked by exact match until forget_session().
_session: dict[str, str] = {}
_session_lock = threading.Lock()


def remember(value: str | None, masked: str) -> None:
    if value and len(value.strip()) >= 2:
        with _session_lock:
            _session[value.strip()] = masked


def remember_person(name: str | None = None, address: str | None = None, numbers=(), names=()) -> None:
    """Register a person's values for exact-match masking in free text."""
    for n in (name, *names):
        if n:
            remember(n, mask_name(n))
    if address:
        remember(address, mask_address(address))
        tail = address.strip()[len(address_head(address)):]
        if len(tail) >= 4:
            remember(tail, HIDDEN)  # the street part quoted on its own
    for number in numbers:
        if number:
            remember(number, mask_id_number(number))


def forget_session() -> None:
    with _session_lock:
        _session.clear()


def mask_text(text: str) -> str:
    """Mask identifiers, phone and card numbers and the session's known values in free text."""
    text = str(text)
    with _session_lock:
        known = sorted(_session.items(), key=lambda kv: len(kv[0]), reverse=True)
    # Longest first so an address containing a name is masked whole.
    for value, masked in known:
        if value in text:
            text = text.replace(value, masked)
    for pattern, masker in _PATTERNS:
        text = pattern.sub(lambda m, f=masker: f(m.group(0)), text)
    return text


# -- records ------------------------------------------------------------------


def mask_mapping(data, _depth: int = 0):
    """A masked deep copy of ``data`` (dicts, lists, strings)."""
    if _depth > 8:
        return "…"
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            k = str(key)
            if k in DROP_FIELDS:
                out[key] = f"<{len(value)} bytes>" if isinstance(value, (bytes, bytearray)) else "<omitted>"
            elif k in PERSONAL_FIELDS and isinstance(value, str):
                out[key] = PERSONAL_FIELDS[k](value)
            elif k in PLAIN_FIELDS and isinstance(value, str):
                out[key] = value
            else:
                out[key] = mask_mapping(value, _depth + 1)
        return out
    if isinstance(data, (list, tuple)):
        return [mask_mapping(v, _depth + 1) for v in data]
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, (bytes, bytearray)):
        return f"<{len(data)} bytes>"
    return data


def mask_holder(name: str | None, id_number: str | None) -> str:
    """The holder line of receipts, certificates and QR codes: ``欧** 3****************6``."""
    return f"{mask_name(name)} {mask_id_number(id_number)}".strip()
