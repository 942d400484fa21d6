"""Realistic cases for ``kiosk cases simulate``, benchmarks and tests: the
same shapes flows commit (applicant from an ID card, service results,
sometimes an agent, a document hash, an evaluation)."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from kiosk.core.idnumber import make

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高欧阳"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞"]
REGIONS = [("110101", "北京市东城区"), ("320102", "南京市玄武区"), ("410105", "郑州市金水区"),
           ("310101", "上海市黄浦区"), ("440106", "广州市天河区"), ("330106", "杭州市西湖区")]
STREETS = ["和平里东街", "中山路", "北京东路", "经三路", "南京东路", "体育西路", "文三路"]
SERVICES = ["no_property_proof", "social_security_proof", "provident_fund_withdrawal", "queue_ticket",
            "traffic_violations", "restricted_area_pass"]
REASONS = ["waiting_too_long", "hard_to_use", "device_fault", "unclear_instructions"]


def person(rng: random.Random) -> dict:
    code, area = rng.choice(REGIONS)
    year, month, day = rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
    number = make(f"{code}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}")
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return {
        "name": name, "id_number": number, "sex": "男" if int(number[16]) % 2 else "女", "nation": "汉",
        "birth": f"{year:04d}-{month:02d}-{day:02d}",
        "address": (f"{area}{rng.choice(STREETS)}{rng.randint(1, 300)}号"
                    f"{rng.randint(1, 30)}栋{rng.randint(101, 2504)}室"),
        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
        "card_type": "resident",
    }


def service_result(service: str, rng: random.Random) -> tuple[dict, str | None]:
    doc = None
    if service == "no_property_proof":
        result = {"owns_property": False, "query_id": f"PQ{rng.randint(0, 10**12):012d}", "printed": True}
        doc = hashlib.sha256(str(rng.random()).encode()).hexdigest()
    elif service == "social_security_proof":
        result = {"months": rng.choice([6, 12, 24, 36]), "printed": True}
        doc = hashlib.sha256(str(rng.random()).encode()).hexdigest()
    elif service == "provident_fund_withdrawal":
        result = {"amount_cents": rng.randint(100, 30000) * 100, "bank_card": f"6222{rng.randint(0, 10**12):012d}",
                  "withdrawal_id": f"W{rng.randint(0, 16**16):016X}", "purpose": "rent"}
    elif service == "queue_ticket":
        prefix = rng.choice("ABCDEF")
        result = {"business": prefix, "number": f"{prefix}{rng.randint(1, 300):03d}", "offline": rng.random() < 0.1}
    elif service == "traffic_violations":
        result = {"plate": "苏A12345", "violations": 2, "paid_cents": 40000, "payment_id": f"P{rng.randint(0, 10**9)}"}
    else:
        result = {"plate": f"苏A{rng.randint(10000, 99999)}", "from": "2026-12-01", "to": "2026-12-31",
                  "area": "老城区"}
    return result, doc


def make_case(rng: random.Random, service: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``CaseStore.commit_case``."""
    service = service or rng.choice(SERVICES)
    result, doc = service_result(service, rng)
    kw: dict[str, Any] = {"service": service, "applicant": person(rng), "result": result, "document_hash": doc}
    if rng.random() < 0.1:
        kw["agent"] = dict(person(rng), relationship=rng.choice(["子女", "配偶", "孙子女"]))
    if rng.random() < 0.3:
        level = rng.choice([5, 5, 5, 4, 4, 3, 2, 1])
        kw["evaluation"] = {"level": level, "reasons": [rng.choice(REASONS)] if level <= 2 else []}
    return kw
