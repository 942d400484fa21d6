"""Masking of personal data for logs, listings and screens.

Rules (the same everywhere, so a technician learns them once):
- ID numbers (18 chars, GB 11643): first 4 and last 4 kept -> ``3210**********0016``;
  15-digit legacy numbers keep 4 + 3.
- Names: first character kept -> ``欧**``.
- Phone numbers: ``138****5678``.
- Bank / social-security card numbers (12-19 digits): last 4 kept.
- Addresses: first 6 characters kept.
"""

from __future__ import annotations

import re

ID18_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
ID15_RE = re.compile(r"(?<![0-9A-Za-z])(\d{15})(?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
CARD_RE = re.compile(r"(?<!\d)(\d{12,19})(?!\d)")


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    if len(v) <= 8:
        return "*" * len(v)
    keep_tail = 4 if len(v) >= 18 else 3
    return v[:4] + "*" * (len(v) - 4 - keep_tail) + v[-keep_tail:]


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    if len(v) <= 1:
        return "*"
    return v[0] + "*" * (len(v) - 1)


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    if len(v) < 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_card_number(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).replace(" ", "")
    if len(v) <= 4:
        return "*" * len(v)
    return "*" * (len(v) - 4) + v[-4:]


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    v = str(value).strip()
    return v[:6] + "*" * max(0, min(len(v) - 6, 8))


# Field names that carry personal data wherever they appear in dicts.
PERSONAL_FIELDS = {
    "id_number": mask_id_number,
    "idnum": mask_id_number,
    "principal_id_number": mask_id_number,
    "agent_id_number": mask_id_number,
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
    "pan": mask_card_number,
    "bank_card": mask_card_number,
}

# Values that must never be shown even masked (binary photos, encodings).
DROP_FIELDS = {"photo", "photo_bmp", "photo_wlt", "face_encoding", "fingerprint", "image", "frame"}


def mask_text(text: str) -> str:
    """Mask ID numbers, phone numbers and long card numbers in free text."""
    text = ID18_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    text = ID15_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    text = PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
    text = CARD_RE.sub(lambda m: mask_card_number(m.group(0)), text)
    return text


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
