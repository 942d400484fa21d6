"""Certificate PDFs: embedded CJK font, extractable Chinese text, signed QR, offline verification."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from pypdf import PdfReader

from printers.documents import (
    Signer,
    demo,
    render_no_property,
    render_provident_fund_receipt,
    render_social_security_proof,
    render_test_page,
    verify_pdf,
)
from printers.documents.provident_fund import amount_in_words
from printers.documents.signing import PDF_PAYLOAD_KEY, Trust
from printers.documents.verify import issued_fields

NOW = dt.datetime(2026, 11, 23, 10, 32, 15)


@pytest.fixture(scope="module")
def signer():
    return Signer.generate()


@pytest.fixture(scope="module")
def trust(signer):
    return Trust([signer.ca_cert])


def pdftotext(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, timeout=30, check=True)
    return out.stdout.decode("utf-8")


def pdffonts(pdf: bytes) -> str:
    out = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, timeout=30, check=True)
    return out.stdout.decode()


DOCS = {
    "no_property": (render_no_property, demo.no_property,
                    ["不动产登记信息查询结果", "无房证明", "欧阳娜娜", "未查询到该权利人名下的房屋等不动产登记信息",
                     "查询范围", "查询时间", "2026年11月23日 10:32", "市不动产登记中心"]),
    "social_security": (render_social_security_proof, demo.social_security,
                        ["社会保险参保缴费证明", "费款所属期", "缴费基数", "2026-10", "1,280.00", "14,080.00", "欠缴"]),
                         # the 欠缴 month is not in the total
    "provident_fund": (render_provident_fund_receipt, demo.provident_fund,
                       ["住房公积金提取回执", "购买自住住房", "52,000.00", "人民币伍万贰仟元整", "中国建设银行"]),
}


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_certificate_text_font_and_signature(doc, signer, trust):
    render, data_fn, expected = DOCS[doc]
    pdf = render(data_fn(NOW), signer)
    text = pdftotext(pdf)
    for phrase in expected + ["仅供办理政务服务事项时使用，有效期至2026年12月23日", "3****************8"]:
        assert phrase in text, phrase
    assert demo.DEMO_ID not in text  # the ID number is only ever printed masked
    fonts = pdffonts(pdf)
    assert "WenQuanYi" in fonts and " no " not in fonts.split("\n", 2)[2]  # every font embedded
    verdict = verify_pdf(pdf, trust, now=NOW)
    assert verdict.ok, verdict
    assert verdict.details["type"] == doc and verdict.details["holder"] == "欧** 3****************8"
    assert verdict.details["valid_until"] == "2026-12-23T23:59:59"
    assert issued_fields(pdf) == {k: v for k, v in verdict.details.items() if k != "signer"}


def test_qr_code_on_the_page_decodes_to_the_signed_payload(signer, tmp_path):
    cv2 = pytest.importorskip("cv2")
    pdf = render_no_property(demo.no_property(NOW), signer)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    # the QR sits in the bottom-left corner; 300 dpi like a scanner
    subprocess.run(["pdftoppm", "-png", "-r", "300", "-x", "0", "-y", "2300", "-W", "1000", "-H", "1100",
                    str(tmp_path / "doc.pdf"), str(tmp_path / "qr")], check=True, timeout=60)
    image = cv2.imread(str(next(tmp_path.glob("qr*.png"))))
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == PdfReader(io.BytesIO(pdf)).metadata[PDF_PAYLOAD_KEY]
    # with a public verify address the code opens central's verify page; the payload follows '#'
    pdf = render_no_property(dict(demo.no_property(NOW), verify_base="https://verify.example.gov.cn"), signer)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    for old in tmp_path.glob("qr*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "300", "-x", "0", "-y", "2300", "-W", "1000", "-H", "1100",
                    str(tmp_path / "doc.pdf"), str(tmp_path / "qr")], check=True, timeout=60)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.imread(str(next(tmp_path.glob("qr*.png")))))
    serial = verify_pdf(pdf, Trust([signer.ca_cert]), now=NOW).details["serial"]
    assert decoded == (f"https://verify.example.gov.cn/v1/verify/{serial}#"
                       + PdfReader(io.BytesIO(pdf)).metadata[PDF_PAYLOAD_KEY])


def test_found_records_and_page_limits(signer):
    data = demo.no_property(NOW)
    data["records"] = [{"location": "西湖区文三路100号3幢2单元501室",
                        "certificate_no": "浙(2020)杭州市不动产权第0123456号",
                        "area": "89.50", "registered": "2020-06-01"}]
    text = pdftotext(render_no_property(data, signer))
    assert "查询到该权利人名下不动产登记信息 1 条" in text and "文三路100号" in text
    data["records"] *= 7
    with pytest.raises(ValueError):
        render_no_property(data, signer)
    ss = demo.social_security(NOW)
    ss["months"] *= 6
    with pytest.raises(ValueError):  # 72 months: more than a proof lists
        render_social_security_proof(ss, signer)
    with pytest.raises(ValueError):
        render_no_property({"applicant": {"name": "", "id_number": ""}}, signer)


def test_english_labels(signer):
    text = pdftotext(render_no_property(demo.no_property(NOW), signer, lang="en"))
    assert "Real Estate Registration Query Result" in text and "valid until 23 Dec 2026" in text


def test_test_page():
    text = pdftotext(render_test_page({"terminal_id": "T-0009", "printer": "ipp://localhost:8631/ipp/print"}))
    for phrase in ("打印机测试页", "T-0009", "ipp://localhost:8631/ipp/print", "字体样张", "四角标记应完整可见"):
        assert phrase in text


@pytest.mark.parametrize("value,words", [
    (0, "人民币零元整"), (1005, "人民币壹仟零伍元整"), (10100, "人民币壹万零壹佰元整"), (50000.5, "人民币伍万元伍角"),
    ("23000.05", "人民币贰万叁仟元零伍分"), (123456.78, "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
    (100010000, "人民币壹亿零壹万元整"),
])
def test_amount_in_words(value, words):
    assert amount_in_words(value) == words


def test_long_social_security_proof_continues_on_numbered_pages(signer, trust):
    ss = demo.social_security(NOW)
    ss["months"] = [dict(ss["months"][i % 12], month=f"{2023 + i // 12}-{i % 12 + 1:02d}") for i in range(36)]
    pdf = render_social_security_proof(ss, signer)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    text = pdftotext(pdf)
    assert "第1页/共2页" in text.replace(" ", "") and "第2页/共2页" in text.replace(" ", "")
    # every month, and the total of the 33 paid ones (each year's last month is 欠缴)
    assert "2023-01" in text and "2025-12" in text and "42,240.00" in text
    assert text.count("仅供办理政务服务事项时使用") == 1  # the closing block once, on the last page
    assert verify_pdf(pdf, trust, now=NOW).ok
