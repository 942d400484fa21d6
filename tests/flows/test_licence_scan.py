"""营业执照信息查询: the licence's QR code on the scanner, the credit code typed as the fallback."""

from __future__ import annotations

LICENCE_QR = "http://www.gsxt.gov.cn/index.html?uniscid=92321002MA1P8K3X8K"


def run(runner, steps):
    report = runner.run({"service": "business_licence_query", "steps": steps, "end": "completed"})
    assert report.ok, report.error
    return report


def test_the_licence_qr_code_is_scanned(runner):
    run(runner, [{"expect": "code"}, {"scan": LICENCE_QR}, {"expect": "licence"},
                 {"assert": {"result.rows.1.value.zh": "92321002MA1P8K3X8K"}},
                 {"tap": "finish_enquiry"}, {"expect": "evaluation"}, {"tap": "skip"}])


def test_another_code_asks_again_and_typing_still_works(runner):
    run(runner, [{"expect": "code"}, {"scan": "https://example.org/menu?table=12"},
                 {"expect": {"step": "code", "hint": "hall.licence.scan_wrong"}},
                 {"input": {"code": "92321002MA1P8K3X8K"}}, {"submit": True},
                 {"expect": "licence"}, {"tap": "finish_enquiry"}, {"expect": "evaluation"}, {"tap": "skip"}])

