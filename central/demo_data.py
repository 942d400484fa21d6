"""Deterministic demo data for the sandbox's service back-ends.

Everything is derived from a hash of the ID number (or plate), so the same
person always gets the same answer across runs and machines: about a third
own property, most have social security months (some with a gap), provident
fund balances vary and some accounts are not eligible for withdrawal, some
plates have violations. The simulated ID cards shipped in
``devices/idcard/cards/`` get fixed answers that the demo scripts rely on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

# Fixed answers for the simulated cards (see devices/idcard/cards/*.json).
NO_PROPERTY = {"110101198503120316"}            # 欧阳明 (resident.json): the proof-of-no-property demo
OWNS_PROPERTY = {"410105196211200573"}          # 白振东 (resident_biden.json)
FUND_INELIGIBLE = {"310101197809150131"}        # 王建国 (expired.json)

DISTRICTS = [
    ("东城区和平里东街", "北京市"), ("玄武区北京东路", "南京市"), ("金水区经三路", "郑州市"),
    ("黄浦区南京东路", "上海市"), ("青秀区民族大道", "南宁市"), ("天河区体育西路", "广州市"),
    ("鼓楼区中山路", "南京市"), ("西湖区文三路", "杭州市"),
]
EMPLOYERS = ["华信科技有限公司", "城建集团第三工程有限公司", "市第一人民医院", "新华书店股份有限公司",
             "远航物流有限公司", "市实验中学", "恒通商贸有限公司"]

BUSINESSES = [
    {"code": "household", "prefix": "A", "name_zh": "户籍业务", "name_en": "Household registration", "counters": "1-3"},
    {"code": "social_security", "prefix": "B", "name_zh": "社保医保", "name_en": "Social and medical insurance",
     "counters": "4-7"},
    {"code": "provident_fund", "prefix": "C", "name_zh": "住房公积金", "name_en": "Housing provident fund",
     "counters": "8-9"},
    {"code": "property", "prefix": "D", "name_zh": "不动产登记", "name_en": "Property registration",
     "counters": "10-12"},
    {"code": "exit_entry", "prefix": "E", "name_zh": "出入境", "name_en": "Exit and entry", "counters": "13-14"},
    {"code": "vehicles", "prefix": "F", "name_zh": "车驾管业务", "name_en": "Vehicles and driving licences",
     "counters": "15-16"},
]

# Offline queue numbers: online numbers are 3 digits (A001-A999); a terminal
# given block k issues A5000+100k ... A5099+100k while central is down, so two
# terminals never print the same number.
OFFLINE_BASE, OFFLINE_BLOCK = 5000, 100

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_RE = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{5,6}}$")

VIOLATIONS = [
    ("1039", "机动车违反规定停放、临时停车，驾驶人不在现场", "Illegal parking, driver absent", 20000, 0),
    ("1352", "机动车行驶超过规定时速未达20%", "Speeding by less than 20%", 20000, 3),
    ("1625", "驾驶机动车违反道路交通信号灯通行", "Running a red light", 20000, 6),
    ("1345", "机动车违反禁令标志指示", "Ignoring a prohibition sign", 10000, 3),
    ("1042", "机动车违反规定使用专用车道", "Driving in a reserved lane", 10000, 3),
]
PLACES = ["中山路与北京东路交叉口", "龙蟠中路华电路口", "江东中路奥体大街", "机场高速K12+300", "汉中门大街"]


def _h(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode("utf-8")).digest()[:8], "big")


def yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _birth(id_number: str) -> dt.date | None:
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except (ValueError, IndexError):
        return None


def property_query(id_number: str, name: str, today: dt.date) -> dict:
    h = _h("property", id_number)
    owns = id_number in OWNS_PROPERTY or (id_number not in NO_PROPERTY and h % 100 < 35)
    properties = []
    if owns:
        for i in range(1 + (h >> 8) % 2):
            street, city = DISTRICTS[(h >> (12 + i)) % len(DISTRICTS)]
            year = 2005 + (h >> (16 + i)) % 18
            properties.append({
                "address": (f"{city}{street}{(h >> (20 + i)) % 200 + 1}号{(h >> 24) % 20 + 1}栋"
                            f"{(h >> 28) % 30 + 1}0{i + 1}室"),
                "area_m2": round(45 + (h >> (32 + i)) % 120 + ((h >> 40) % 100) / 100, 2),
                "certificate_no": f"({year})不动产权第{(h >> (44 + i)) % 9000000 + 1000000:07d}号",
                "registered_on": dt.date(year, (h >> 48) % 12 + 1, (h >> 52) % 28 + 1).isoformat(),
                "usage": "住宅",
            })
    return {
        "query_id": f"PQ{today:%Y%m%d}{h % 10**8:08d}",
        "owns_property": owns,
        "properties": properties,
        "registry": "市不动产登记中心",
        "registry_en": "Municipal Real Estate Registration Center",
        "as_of": today.isoformat(),
    }


def social_security_records(id_number: str, months: int, today: dt.date) -> list[dict]:
    h = _h("social", id_number)
    if id_number not in NO_PROPERTY and h % 12 == 0:
        return []  # never insured here
    employer = EMPLOYERS[(h >> 4) % len(EMPLOYERS)]
    base = 400000 + (h >> 8) % 1800000 // 100 * 100     # contribution base, cents
    gap = (h >> 20) % 40                                 # a month without payment, if within range
    out = []
    y, m = today.year, today.month
    for i in range(months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        paid = i != gap
        out.append({
            "month": f"{y:04d}-{m:02d}",
            "employer": employer,
            "base_cents": base,
            "pension_employer_cents": base * 16 // 100,
            "pension_personal_cents": base * 8 // 100,
            "medical_cents": base * 10 // 100,
            "unemployment_cents": base * 1 // 100,
            "status": "paid" if paid else "unpaid",
        })
    return out


def provident_fund_account(id_number: str, today: dt.date) -> dict:
    h = _h("fund", id_number)
    balance = 500000 + (h >> 4) % 20000000                # 5,000 - 205,000 yuan
    monthly = 60000 + (h >> 30) % 300000
    reasons = []
    status = "normal"
    if id_number in FUND_INELIGIBLE or (id_number not in NO_PROPERTY and h % 7 == 0):
        status = "sealed"
        reasons.append({"code": "account_sealed", "zh": "账户已封存，请到公积金窗口办理启封",
                        "en": "The account is sealed; unseal it at the provident fund counter"})
    if id_number not in NO_PROPERTY and (h >> 3) % 11 == 0:
        reasons.append({"code": "loan_outstanding", "zh": "存在未结清的公积金贷款",
                        "en": "A provident fund loan is still outstanding"})
    eligible = not reasons
    # Rent withdrawal: up to the balance minus one month, capped per year.
    max_withdrawal = min(balance - monthly, 3600000) if eligible else 0
    birth = _birth(id_number)
    return {
        "account_no": f"{(h >> 12) % 10**12:012d}",
        "status": status,
        "balance_cents": balance,
        "balance": yuan(balance),
        "monthly_deposit_cents": monthly,
        "last_deposit_month": f"{today.year:04d}-{today.month:02d}",
        "eligible": eligible,
        "reasons": reasons,
        "max_withdrawal_cents": max(0, max_withdrawal),
        "purposes": ["rent", "retirement"] if birth and today.year - birth.year >= 60 else ["rent"],
    }


def traffic_violations(plate: str, now: dt.datetime) -> list[dict]:
    h = _h("plate", plate)
    if plate == "苏A12345":
        picks = [0, 1, 2]
    elif h % 10 < 4:
        picks = [(h >> 4) % len(VIOLATIONS)] + ([(h >> 8) % len(VIOLATIONS)] if h % 3 == 0 else [])
    else:
        picks = []
    out = []
    for i, idx in enumerate(picks):
        code, zh, en, fine, points = VIOLATIONS[idx]
        when = now - dt.timedelta(days=3 + (h >> (12 + i)) % 170, hours=(h >> (20 + i)) % 12,
                                  minutes=(h >> (24 + i)) % 60)
        out.append({
            "violation_id": f"V{_h('v', plate, str(i)) % 10**12:012d}",
            "plate": plate,
            "time": when.replace(microsecond=0, second=0).isoformat(),
            "place": PLACES[(h >> (28 + i)) % len(PLACES)],
            "code": code,
            "description": zh,
            "description_en": en,
            "fine_cents": fine,
            "fine": yuan(fine),
            "points": points,
            # Point deductions must be handled at a counter (driver's licence needed).
            "payable": points == 0 or points <= 3,
            "paid": False,
        })
    return out


def queue_waiting_base(business: str, day: str) -> int:
    return 2 + _h("queue", business, day) % 12
