"""GB 11643 citizen identity numbers: check digit, birth date, region."""

from __future__ import annotations

import datetime as dt

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def ascii_digits(s: str) -> bool:
    """Only 0-9: str.isdigit() also accepts '²' or '٣', which int() then rejects or misreads."""
    return s.isascii() and s.isdigit()


def check_digit(first17: str) -> str:
    if len(first17) != 17 or not ascii_digits(first17):
        raise ValueError("need the first 17 digits")
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except (ValueError, IndexError):
        return None


def validate(number: str, today: dt.date | None = None) -> str | None:
    """None if valid, else a catalog key naming the problem."""
    n = (number or "").strip().upper()
    if len(n) != 18 or not ascii_digits(n[:17]) or not (ascii_digits(n[17]) or n[17] == "X"):
        return "idnumber.format"
    if check_digit(n[:17]) != n[17]:
        return "idnumber.check_digit"
    born = birth_date(n)
    today = today or dt.date.today()
    if born is None or born > today or born.year < 1900:
        return "idnumber.birth_date"
    return None


def is_valid(number: str) -> bool:
    return validate(number) is None


def make(first17: str) -> str:
    """Complete a 17-digit prefix with its check digit (used by simulators and demo data)."""
    return first17 + check_digit(first17)
