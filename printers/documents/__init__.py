"""A4 documents: certificate templates with an embedded CJK font, signed QR
payloads (Ed25519) and offline verification.

Public API::

    render_no_property(data, signer, lang="zh") -> bytes           # PDF
    render_social_security_proof(data, signer, lang="zh") -> bytes
    render_provident_fund_receipt(data, signer, lang="zh") -> bytes
    render_test_page(info=None, lang="zh") -> bytes
    Signer.load_or_create(key_path); verify_qr(text, keys); verify_pdf(pdf, keys) -> Verdict
"""

from .no_property import render_no_property
from .provident_fund import render_provident_fund_receipt
from .signing import Signer, Verdict, verify_pdf, verify_qr
from .social_security import render_social_security_proof
from .test_page import render_test_page

RENDERERS = {
    "no_property": render_no_property,
    "social_security": render_social_security_proof,
    "provident_fund": render_provident_fund_receipt,
}

__all__ = ["render_no_property", "render_social_security_proof", "render_provident_fund_receipt",
           "render_test_page", "Signer", "Verdict", "verify_qr", "verify_pdf", "RENDERERS"]
