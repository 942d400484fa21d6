"""A4 documents: certificate templates with an embedded CJK font, a PAdES
signature over the whole file, signed QR payloads and offline verification.

Public API::

    render_no_property(data, signer, lang="zh") -> bytes           # PDF
    render_social_security_proof(data, signer, lang="zh") -> bytes
    render_provident_fund_receipt(data, signer, lang="zh") -> bytes
    render_test_page(info=None, lang="zh") -> bytes
    signer_for_config(config) -> Signer; trust_for_config(config) -> Trust
    verify_qr(text, trust); verify_pdf(pdf, trust); verify_pdf_bounded(path, trust) -> Verdict
"""

from .no_property import render_no_property
from .provident_fund import render_provident_fund_receipt
from .signing import Signer, Trust, signer_for_config, trust_for_config
from .verify import Verdict, verify_pdf, verify_pdf_bounded, verify_qr
from .social_security import render_social_security_proof
from .test_page import render_test_page

RENDERERS = {
    "no_property": render_no_property,
    "social_security": render_social_security_proof,
    "provident_fund": render_provident_fund_receipt,
}

__all__ = ["render_no_property", "render_social_security_proof", "render_provident_fund_receipt",
           "render_test_page", "Signer", "Trust", "Verdict", "signer_for_config", "trust_for_config",
           "verify_qr", "verify_pdf", "verify_pdf_bounded", "RENDERERS"]
