import datetime as dt

from kiosk.core import idnumber


def test_check_digit_known_numbers():
    assert idnumber.check_digit("11010519491231002") == "X"
    assert idnumber.is_valid("11010519491231002X")
    assert idnumber.validate("110105194912310021") == "idnumber.check_digit"


def test_birth_and_format():
    assert idnumber.validate("12345") == "idnumber.format"
    bad_date = idnumber.make("11010519491331002")
    assert idnumber.validate(bad_date) == "idnumber.birth_date"
    future = idnumber.make("11010530000101002")
    assert idnumber.validate(future, today=dt.date(2026, 1, 1)) == "idnumber.birth_date"
