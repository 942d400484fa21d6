"""The page a phone opens from a receipt's or certificate's QR code: status and masked fields only."""

from __future__ import annotations

from html import escape

LABELS = {"status": "状态 / Status", "service": "事项 / Service", "holder": "申请人 / Holder",
          "created_at": "办理时间 / Time", "type": "证明类型 / Type", "serial": "编号 / Serial",
          "result": "结果 / Result", "issued": "出具时间 / Issued", "valid_until": "有效期至 / Valid until"}
STATUS = {"valid": "有效 / Valid", "expired": "已过期 / Expired", "recorded": "已登记 / Recorded"}


def render(ref: str, view: dict | None) -> str:
    head = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" \
           "<title>核验 / Verify</title><h1>核验 / Verify</h1>"
    if view is None:
        return head + f"<p>未找到 / Not found: {escape(ref)}</p>"
    rows = {"status": STATUS.get(view.get("status"), view.get("status")), "service": view.get("service"),
            "holder": view.get("holder"), "created_at": view.get("created_at"), **(view.get("certificate") or {})}
    body = "".join(f"<tr><th>{escape(LABELS.get(k, k))}</th><td>{escape(str(v))}</td></tr>"
                   for k, v in rows.items() if v not in (None, ""))
    return head + f"<table>{body}</table><p>请与纸质证明逐项核对 / Compare with the paper.</p>"
