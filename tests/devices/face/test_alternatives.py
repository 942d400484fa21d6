from __future__ import annotations

from devices.face.alternatives import ALTERNATIVES, EXPIRED, LOCKED, OK, WRONG, OneTimeCode
from kiosk.core.i18n import has, t


def test_both_alternatives_have_texts():
    assert set(ALTERNATIVES) == {"staff", "sms_code"}
    for alt in ALTERNATIVES.values():
        assert has(alt.label_key) and has(alt.detail_key)
    for key in ("face.consent.body", "face.consent.decline", "face.alternative.title"):
        assert has(key)
    body = t("face.consent.body", "zh")
    assert "不保存" in body and "其他方式" in body
    assert "never stored" in t("face.consent.body", "en")


def test_code_is_six_digits_and_single_use():
    code, otp = OneTimeCode.issue()
    assert len(code) == 6 and code.isdigit()
    assert code not in repr(otp)
    assert otp.check(code) == OK
    assert otp.check(code) == LOCKED


def test_wrong_codes_lock_after_three():
    code, otp = OneTimeCode.issue(max_tries=3)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert otp.check(wrong) == WRONG
    assert otp.check("12") == WRONG
    assert otp.check(wrong) == LOCKED
    assert otp.check(code) == LOCKED


def test_code_expires():
    now = [100.0]
    code, otp = OneTimeCode.issue(ttl_s=300, clock=lambda: now[0])
    now[0] += 301
    assert otp.expired and otp.check(code) == EXPIRED
