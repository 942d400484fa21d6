"""Cards with characters that look like digits to str.isdigit() ('²', '٣')
are read and flagged, never a traceback."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.idcard import textparse
from flows import validators
from kiosk.core import idnumber

ROOT = Path(__file__).resolve().parents[3]
RESIDENT = json.loads((ROOT / "devices/idcard/cards/resident.json").read_text("utf-8"))
FOREIGNER = json.loads((ROOT / "devices/idcard/cards/foreigner_I.json").read_text("utf-8"))
TODAY = dt.date(2026, 11, 1)
ODD_DIGITS = ["²", "٣", "３", "①"]


@pytest.mark.parametrize("odd", ODD_DIGITS)
def test_id_number_with_odd_digit_is_a_format_problem(odd):
    number = "11010119850312" + odd + "316"
    assert idnumber.validate(number, TODAY) == "idnumber.format"
    value, err = validators.id_number(number, TODAY)
    assert err.key == "idnumber.format" and value == number
    with pytest.raises(ValueError):
        idnumber.check_digit("1101011985031" + odd + "031")


@pytest.mark.parametrize("odd", ODD_DIGITS)
def test_card_text_with_odd_digits_parses_with_problems(odd):
    card = dict(RESIDENT, id_number="11010119850312" + odd + "316", birth="1985031" + odd)
    ident = textparse.parse_text(textparse.encode_text(card), today=TODAY)
    assert "idnumber.format" in ident.problems and "idcard.birth_date" in ident.problems
    foreign = dict(FOREIGNER, id_number=FOREIGNER["id_number"][:-1] + odd)
    ident = textparse.parse_text(textparse.encode_text(foreign), today=TODAY)
    assert "idcard.foreign_number_format" in ident.problems


def test_phone_and_code_accept_only_ascii_digits():
    assert validators.phone("13٣12345678")[1].key == "flows.phone.format"
    assert validators.code("١٢٣٤")[1].key == "flows.code.format"
    assert validators.date("٢٠٢٦٠٥٠٣", TODAY)[1].key == "flows.date.format"


def test_read_id_with_superscript_digit_card_is_read_and_flagged(data_dir, tmp_path):
    card = tmp_path / "odd.json"
    card.write_text(json.dumps(dict(RESIDENT, id_number="11010119850312²316"), ensure_ascii=False), "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    res = subprocess.run([sys.executable, "-m", "kiosk.cli", "devices", "read-id", "--port", "sim://",
                          "--card", str(card), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "idnumber.format" in json.loads(res.stdout)["problems"]
