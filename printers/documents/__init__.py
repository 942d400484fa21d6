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

import importlib

# Loaded on first use: verifying a file needs neither reportlab nor the templates.
_WHERE = {
    "render_no_property": "no_property", "render_provident_fund_receipt": "provident_fund",
    "render_social_security_proof": "social_security", "render_test_page": "test_page", "render_hall": "hall",
    "Signer": "signing", "Trust": "signing", "signer_for_config": "signing", "trust_for_config": "signing",
    "Verdict": "verify", "verify_pdf": "verify", "verify_pdf_bounded": "verify", "verify_qr": "verify",
}
_RENDERERS = {"no_property": "render_no_property", "social_security": "render_social_security_proof",
              "provident_fund": "render_provident_fund_receipt", "hall": "render_hall"}


def __getattr__(name: str):
    if name == "RENDERERS":
        return {kind: __getattr__(fn) for kind, fn in _RENDERERS.items()}
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_WHERE, "RENDERERS"]
