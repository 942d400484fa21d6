"""Demo applicant data for ``kiosk print certificate`` and the document images.

The person is fictitious; the ID number has a valid GB 11643 check digit.
"""

from __future__ import annotations

import datetime as dt

from kiosk.core.idnumber import make

DEMO_ID = make("33010619900101001")
DEMO_APPLICANT = {"name": "欧阳娜娜", "id_number": DEMO_ID}


def no_property(now: dt.datetime | None = None) -> dict:
    return {"applicant": dict(DEMO_APPLICANT), "purpose": "办理住房公积金提取", "issued_at": now, "query_time": now}


def social_security(now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now()
    months = []
    y, m = now.year, now.month
    for _ in range(12):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        months.append({"month": f"{y}-{m:02d}", "base": 8000, "employer": 1280, "personal": 640, "status": "已缴"})
    months.reverse()
    months[-1]["status"] = "欠缴"
    return {"applicant": dict(DEMO_APPLICANT), "insured_no": DEMO_ID, "employer": "杭州示例科技有限公司",
            "insurance": "城镇职工基本养老保险", "months": months, "issued_at": now}


def provident_fund(now: dt.datetime | None = None) -> dict:
    return {"applicant": dict(DEMO_APPLICANT), "account_no": "1201008800123456", "reason": "购买自住住房",
            "amount": "52000.00", "balance_after": "3864.27", "bank": "中国建设银行杭州分行",
            "bank_account": "6217001540012345678", "issued_at": now, "approved_at": now}
