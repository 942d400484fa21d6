"""The masking rule, counted: a masked record must leave at least 100,000
candidates for the full ID or permit number.

For every card type the reader decodes (resident ID card, 'J' residence permit
for Hong Kong/Macao/Taiwan residents, 'I' 2017 and 'Y' 2023 foreigner permanent
residence cards) the test reads a card through the real text parser, takes the
masked record, and enumerates every number consistent with it for an attacker
who ALSO knows the region or place code (easy to learn, so it buys nothing) and
infers what the shown expiry date allows about the age (validity rules).
Numbers are counted by their check character (exact: the check is linear in the
digits), and random members of every counted group are rebuilt as cards whose
masked record must equal the one shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from importlib import resources

import numpy as np
import pytest

from devices.idcard import textparse as tp
from kiosk.core import idnumber
from kiosk.core.domain import FOREIGNER_PERMANENT, FOREIGNER_PERMANENT_2023, HMT_RESIDENCE, RESIDENT
from kiosk.core.masking import mask_holder, mask_mapping, mask_permit_number

TODAY = dt.date(2026, 11, 28)
EARLIEST = dt.date(1900, 1, 1)
MIN_CANDIDATES = 100_000

# (validity in years, youngest and oldest age at issue) per card family
RESIDENT_PERIODS = [(5, 0, 15), (10, 16, 25), (20, 26, 45)]   # 居民身份证法 art. 5; 46+: long-term
FOREIGNER_PERIODS = [(5, 0, 17), (10, 18, 120)]
HMT_PERIODS = [(5, 0, 120)]


def sample(name: str) -> dict:
    return json.loads(resources.files("devices.idcard.cards").joinpath(f"{name}.json").read_text("utf-8"))


def made(card_type: str, born: str, issued: str, years: int | None, seq: str, sex: str) -> dict:
    """A synthetic card of the given age and validity (ages where the windows are tightest)."""
    valid_to = "长期" if years is None else str(int(issued[:4]) + years) + issued[4:]
    card = {"type": card_type, "name": "欧阳娜娜", "sex": sex, "birth": born, "valid_from": issued,
            "valid_to": valid_to}
    if card_type == FOREIGNER_PERMANENT:
        first14 = "CAN" + "3100" + born[2:] + seq[-1]
        return {**card, "english_name": "LEE, ANNA", "id_number": first14 + tp.foreign_check_digit(first14),
                "nationality": "CAN", "card_version": "01", "authority": "3100"}
    region = {RESIDENT: "320102", HMT_RESIDENCE: "830000", FOREIGNER_PERMANENT_2023: "932124"}[card_type]
    card["id_number"] = idnumber.make(region + born + seq)
    if card_type == RESIDENT:
        return {**card, "nation": "汉", "address": "江苏省南京市玄武区北京东路71号2栋601室",
                "authority": "南京市公安局玄武分局"}
    if card_type == HMT_RESIDENCE:
        return {**card, "address": "上海市浦东新区世纪大道100号", "authority": "上海市公安局",
                "pass_number": "12345678"}
    return {**card, "english_name": "LEE, ANNA", "nationality": "CAN", "renewal_count": "00"}


CARDS = {name: sample(name) for name in
         ("resident", "resident_biden", "resident_long_term", "expired", "hmt_J", "foreigner_I", "foreigner_Y")}
CARDS.update({
    "resident_16_ten_years": made(RESIDENT, "20080601", "20240605", 10, "123", "女"),
    "resident_26_twenty_years": made(RESIDENT, "19980101", "20240301", 20, "457", "男"),
    "resident_child": made(RESIDENT, "20180101", "20240101", 5, "010", "女"),
    "hmt_taiwan": made(HMT_RESIDENCE, "19900202", "20240202", 5, "041", "女"),
    "foreigner_I_adult": made(FOREIGNER_PERMANENT, "19900101", "20230301", 10, "3", "男"),
    "foreigner_Y_adult": made(FOREIGNER_PERMANENT_2023, "20000710", "20250101", 10, "022", "女"),
    "foreigner_Y_minor": made(FOREIGNER_PERMANENT_2023, "20150710", "20250101", 5, "021", "男"),
})


def read(card: dict):
    return tp.parse_text(tp.encode_text(card), today=TODAY)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_windows(shown: dict) -> list[tuple[dt.date, dt.date]]:
    """Birth dates an attacker can infer from the shown expiry and the validity rules."""
    if shown["card_type"] == RESIDENT:
        periods = RESIDENT_PERIODS
    elif shown["card_type"] == HMT_RESIDENCE:
        periods = HMT_PERIODS
    else:
        periods = FOREIGNER_PERIODS
    if shown["valid_to"] == "长期":
        return [(EARLIEST, years_before(TODAY, 46))]
    valid_to = dt.date.fromisoformat(shown["valid_to"])
    windows = []
    for years, youngest, oldest in periods:
        issued = years_before(valid_to, years)
        if issued <= TODAY:
            windows.append((max(EARLIEST, years_before(issued, oldest + 1) + dt.timedelta(days=1)),
                            min(TODAY, years_before(issued, youngest))))
    return windows or [(EARLIEST, TODAY)]


def birth_strings(windows, fmt: str) -> list[str]:
    out: set[str] = set()
    for start, end in windows:
        days = np.arange(np.datetime64(start), np.datetime64(end) + 1)
        iso = np.char.replace(np.datetime_as_string(days, unit="D"), "-", "")
        out.update(d if fmt == "%Y%m%d" else d[2:] for d in iso.tolist())
    return sorted(out)


def layout(ident) -> tuple[str, str, int, list[int], int, str]:
    """(known prefix, birth format, sequence digits, weights, modulus, check alphabet) of a card's number."""
    if ident.card_type == FOREIGNER_PERMANENT:
        return ident.id_number[:7], "%y%m%d", 1, [(7, 3, 1)[i % 3] for i in range(14)], 10, "0123456789"
    return ident.id_number[:6], "%Y%m%d", 3, list(idnumber.WEIGHTS), 11, idnumber.CHECK_CHARS


def digit_value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def partial_sums(digits: list[str], weights: list[int], modulus: int) -> np.ndarray:
    values = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8).reshape(len(digits), -1) - 48
    return (values.astype(np.int64) @ np.array(weights, dtype=np.int64)) % modulus


def candidates(ident, shown: dict, rng: np.random.Generator, windows=None) -> int:
    """Numbers consistent with ``shown``; checks random members by rebuilding the masked record."""
    prefix, birth_fmt, seq_len, weights, modulus, alphabet = layout(ident)
    births = birth_strings(windows or birth_windows(shown), birth_fmt)
    seqs = [f"{n:0{seq_len}d}" for n in range(10 ** seq_len)]
    if shown["sex"] in ("男", "女"):  # the last sequence digit is odd for men (assumed for 'I' too)
        seqs = [s for s in seqs if int(s[-1]) % 2 == (shown["sex"] == "男")]
    n_birth = len(births[0])
    base = sum(digit_value(c) * w for c, w in zip(prefix, weights)) % modulus
    b = partial_sums(births, weights[len(prefix):len(prefix) + n_birth], modulus)
    q = partial_sums(seqs, weights[len(prefix) + n_birth:], modulus)
    hb = np.bincount((b + base) % modulus, minlength=modulus)
    hq = np.bincount(q, minlength=modulus)
    total = 0
    for r in range(modulus):  # residue r of the full weighted sum
        count = int(sum(hb[i] * hq[(r - i) % modulus] for i in range(modulus)))
        if count == 0:
            continue
        check = alphabet[r] if modulus == 10 else idnumber.CHECK_CHARS[r]
        i_s, j_s = rng.integers(len(births), size=4000), rng.integers(len(seqs), size=4000)
        hit = (base + b[i_s] + q[j_s]) % modulus == r
        members = list(zip(i_s[hit][:30].tolist(), j_s[hit][:30].tolist()))
        assert members, "no sampled member for a non-empty group"
        consistent = [rebuilt(ident, prefix + births[i] + seqs[j] + check, births[i], birth_fmt) == shown
                      for i, j in members]
        assert len(set(consistent)) == 1, "the masked record depends on more than the counted digits"
        if consistent[0]:
            total += count
    return total


def rebuilt(ident, number: str, birth: str, fmt: str) -> dict:
    born = dt.datetime.strptime(birth, fmt).date()
    return dataclasses.replace(ident, id_number=number, birth=born, extra=dict(ident.extra)).as_dict(reveal=False)


@pytest.mark.parametrize("name", sorted(CARDS))
def test_masked_record_leaves_100000_candidates_for_the_number(name):
    ident = read(CARDS[name])
    shown = ident.as_dict(reveal=False)
    # every other masked view of this person shows nothing the record does not
    assert mask_mapping(ident.as_dict(reveal=True)) == shown
    assert mask_holder(ident.name, ident.id_number) == f"{shown['name']} {shown['id_number']}"
    assert ident.birth.isoformat() not in json.dumps(shown) and ident.id_number not in json.dumps(shown)
    count = candidates(ident, shown, np.random.default_rng(len(name)))
    assert count >= MIN_CANDIDATES, f"{name}: only {count} numbers fit the masked record"


@pytest.mark.parametrize("name", ["hmt_J", "hmt_taiwan"])
def test_masked_pass_number_leaves_100000_candidates(name):
    ident = read(CARDS[name])
    shown = ident.as_dict(reveal=False)["extra"]["pass_number"]
    true = ident.extra["pass_number"]
    hidden = [i for i, ch in enumerate(shown) if ch == "*"]
    rng = random.Random(name)
    for _ in range(200):  # any digits in the hidden places give the same masked value
        guess = list(true)
        for i in hidden:
            guess[i] = str(rng.randrange(10))
        assert mask_permit_number("".join(guess)) == shown
    assert 10 ** len(hidden) >= MIN_CANDIDATES


def test_the_count_catches_a_leaky_record():
    """Control: with the full birth date shown, as masked records did before,
    the same enumeration finds far fewer than 100,000 numbers."""
    ident = read(CARDS["resident"])
    leaky = ident.as_dict(reveal=False)
    count = candidates(ident, leaky, np.random.default_rng(1), windows=[(ident.birth, ident.birth)])
    assert 0 < count < 100
