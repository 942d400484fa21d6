"""住房公积金提取回执 (provident fund withdrawal receipt)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from reportlab.lib.units import mm

from kiosk.core.i18n import t
from kiosk.core.masking import mask_card_number

from .common import BODY_TOP, CONTENT_FLOOR, applicant_rows, finish, open_sheet, prepare
from .layout import as_datetime, datetime_text, money
from .signing import Signer

DOC_TYPE = "provident_fund"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ["", "拾", "佰", "仟"]
_BIG = ["", "万", "亿", "万亿"]


def amount_in_words(value) -> str:
    """Chinese financial capitals, as written on receipts: 50000.5 -> 人民币伍万元伍角."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if amount < 0:
        raise ValueError("negative amount")
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    out = ""
    if yuan:
        groups = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        zero_pending = False
        for gi in range(len(groups) - 1, -1, -1):
            g = groups[gi]
            if g == 0:
                zero_pending = bool(out)
                continue
            if out and (zero_pending or g < 1000):
                out += "零"
            zero_pending = False
            digits = f"{g:04d}" if out else str(g)
            part, zero = "", False
            for i, ch in enumerate(digits):
                d = int(ch)
                pos = len(digits) - 1 - i
                if d == 0:
                    zero = bool(part)
                    continue
                if zero:
                    part += "零"
                    zero = False
                part += _DIGITS[d] + _SMALL[pos]
            out += part + _BIG[gi]
        out += "元"
    if not jiao and not fen:
        return "人民币" + (out or "零元") + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif out:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return "人民币" + out


def render_provident_fund_receipt(data: dict, signer: Signer, lang: str = "zh") -> bytes:
    """Render the receipt of a housing provident fund withdrawal.

    ``data``:
      applicant     {"name": str, "id_number": str}  (required)
      account_no    fund account number (printed with all but the last 4 digits masked)
      case_no       business serial of the withdrawal (default: the certificate serial)
      reason        withdrawal reason text, e.g. "购买自住住房"
      amount        withdrawn amount (number or numeric text, CNY)
      balance_after balance after the withdrawal
      bank          receiving bank name;  bank_account  receiving account (printed masked)
      approved_at   datetime or ISO text (default: issue time)
      status        result text (default: catalog doc.fund.status_default)
      serial, issued_at, valid_days, authority, terminal_id  as for ``render_no_property``
    """
    issue = prepare(DOC_TYPE, data, "GJJTQ", "doc.fund.authority_default", lang)
    try:
        amount = Decimal(str(data.get("amount")))
        balance = Decimal(str(data.get("balance_after", 0)))
    except (InvalidOperation, ValueError):
        raise ValueError("amount and balance_after must be numbers") from None
    sheet = open_sheet(issue, t("doc.fund.title", lang), "")
    values = {
        "account_no": mask_card_number(str(data.get("account_no") or "")) or "—",
        "case_no": str(data.get("case_no") or issue.serial),
        "reason": str(data.get("reason") or "—"),
        "amount": f"¥ {money(amount)}",
        "amount_words": amount_in_words(amount),
        "balance_after": f"¥ {money(balance)}",
        "bank": str(data.get("bank") or "—"),
        "bank_account": mask_card_number(str(data.get("bank_account") or "")) or "—",
        "approved_at": datetime_text(as_datetime(data.get("approved_at"), issue.issued), lang),
        "status": str(data.get("status") or sheet.t("doc.fund.status_default")),
    }
    labels = {"account_no": "account", "balance_after": "balance"}
    rows = applicant_rows(sheet, issue)
    rows += [(sheet.t(f"doc.fund.{labels.get(k, k)}"), v) for k, v in values.items()]
    strong = [len(rows) - len(values) + list(values).index("amount")]
    y = sheet.field_table(BODY_TOP, rows, label_w=34 * mm if lang == "zh" else 38 * mm, size=10.5, strong=strong)
    if y < CONTENT_FLOOR:
        raise ValueError("content does not fit on one page")
    return finish(sheet, issue, signer, values, [sheet.t("doc.fund.note1")], y,
                  f"{values['amount']} {values['status']}")
