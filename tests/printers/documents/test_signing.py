"""Signed QR payloads (valid, tampered, unknown key, expired) and the deployment PKI on disk."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.core import pki
from kiosk.core.config import load_config
from printers.documents.signing import (
    EXPIRED,
    TAMPERED,
    UNKNOWN_KEY,
    VALID,
    Signer,
    Trust,
    canonical_content,
    content_hash,
    signer_for_config,
    trust_for_config,
    verify_base,
)
from printers.documents.verify import decode_payload, verify_qr

WHEN = dt.datetime(2026, 11, 23, 10, 32, 15)
UNTIL = dt.datetime(2026, 12, 23, 23, 59, 59)
CONTENT = {"name": "欧阳娜娜", "id_number": "3****************8",
           "result": "未查询到该权利人名下的房屋等不动产登记信息"}


def sign(signer: Signer, until: dt.datetime = UNTIL) -> str:
    return signer.sign_payload("no_property", "BDC0001", "欧** 3****************8", "无房", WHEN, until, CONTENT)


def reencode(payload: str, **changes) -> str:
    """Change claims but keep the original signature (what a forger can do)."""
    claims, _, sig = decode_payload(payload)
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode()).rstrip(b"=").decode()
    return "KC2." + body + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signer():
    return Signer.generate()


def trusting(*signers: Signer) -> Trust:
    return Trust([s.ca_cert for s in signers], [s.cert for s in signers])


def test_valid_payload_shows_the_signed_fields(signer):
    verdict = verify_qr(sign(signer), trusting(signer), now=WHEN)
    assert verdict.status == VALID and verdict.ok
    d = verdict.details
    assert (d["type"], d["serial"], d["holder"], d["result"]) == ("no_property", "BDC0001", "欧** 3****************8",
                                                                   "无房")
    assert d["issued"] == "2026-11-23T10:32:15" and d["valid_until"] == "2026-12-23T23:59:59"
    # what a phone reads off paper: the public verify URL with the payload after '#'
    url = "https://verify.example.gov.cn/v1/verify/BDC0001#" + sign(signer)
    assert verify_qr(url, trusting(signer), now=WHEN).ok


def test_changed_field_is_tampered(signer):
    payload = sign(signer)
    for change in ({"s": "BDC0002"}, {"a": "张* 1****************1"}, {"h": content_hash({"x": "y"})},
                   {"u": "2099-12-31T23:59:59"}, {"t": "provident_fund"}, {"r": "有房"}):
        assert verify_qr(reencode(payload, **change), trusting(signer), now=WHEN).status == TAMPERED, change
    broken = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    assert verify_qr(broken, trusting(signer), now=WHEN).status == TAMPERED
    for junk in ("", "hello", "KC2.not-base64!.x", "KC2.e30.AAAA", "KC1.e30.AAAA", "x" * 100000):
        assert verify_qr(junk, trusting(signer), now=WHEN).status == TAMPERED


def test_expired_code_says_expired(signer):
    verdict = verify_qr(sign(signer, until=dt.datetime(2019, 3, 31)), trusting(signer))
    assert verdict.status == EXPIRED and verdict.details["valid_until"] == "2019-03-31T00:00:00"


def test_unknown_terminal_or_ca_is_unknown_key(signer):
    other = Signer.generate()
    assert verify_qr(sign(other), trusting(signer), now=WHEN).status == UNKNOWN_KEY
    # a terminal certificate is only trusted when a trusted CA issued it
    assert verify_qr(sign(other), Trust([signer.ca_cert], [other.cert]), now=WHEN).status == UNKNOWN_KEY
    assert verify_qr(sign(other), trusting(signer, other), now=WHEN).ok


def test_canonical_form_ignores_key_order_and_unicode_composition():
    a = {"b": "é", "a": ["1", {"y": "2", "x": "3"}]}
    b = {"a": ["1", {"x": "3", "y": "2"}], "b": "e\u0301"}
    assert canonical_content(a) == canonical_content(b) == '{"a":["1",{"x":"3","y":"2"}],"b":"é"}'
    assert content_hash(a) == content_hash(b) != content_hash({"a": [], "b": "é"})


def test_deployment_pki_certificates(tmp_path):
    ca = pki.ensure_ca(tmp_path / "ca")
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    assert pki.ensure_ca(tmp_path / "ca").cert == ca.cert  # created once
    signing = pki.issue_signing_cert(ca, "T-0042")
    tls = pki.issue_tls_client_cert(ca, "T-0042")
    for issued in (signing, tls):
        issued.cert.verify_directly_issued_by(ca.cert)
        assert issued.chain[-1] == ca.cert
    assert tls.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "T-0042"
    eku = tls.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and pki.DOCUMENT_SIGNING not in eku
    assert signing.cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    pki.save(tls, tmp_path / "tls" / "client.key", tmp_path / "tls" / "client.pem")
    assert stat.S_IMODE((tmp_path / "tls" / "client.key").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):  # a key is never overwritten
        pki.save(tls, tmp_path / "tls" / "client.key", tmp_path / "tls" / "client.pem")
    assert "PRIVATE" not in repr(tls)


def test_demo_terminal_creates_its_certificate_apart_from_the_store_keys(tmp_path):
    config = load_config(env={"KIOSK_DATA_DIR": str(tmp_path)})
    first = signer_for_config(config)
    key = tmp_path / "signing" / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "keys" / "signing.key").exists()
    assert signer_for_config(config).key_id == first.key_id
    trust = trust_for_config(config)
    assert trust.cas == [first.ca_cert] and first.cert in trust.terminals
    assert verify_qr(sign(first), trust, now=WHEN).ok
    # production: nothing is generated; the installer issues the certificate
    prod = load_config(env={"KIOSK_DATA_DIR": str(tmp_path / "prod")}, overrides={"mode": "production"}) \
        if "mode" in _schema_keys() else None
    if prod is not None:
        with pytest.raises(Exception, match="install"):
            signer_for_config(prod)


def test_verify_base_is_the_configured_public_url(tmp_path):
    env = {"KIOSK_DATA_DIR": str(tmp_path)}
    config = load_config(env=env, overrides={"central": {"public_url": "https://verify.example.gov.cn/"}})
    assert verify_base(config, "http://127.0.0.1:8080") == "https://verify.example.gov.cn"
    assert verify_base(load_config(env=env), "http://127.0.0.1:8080") == "http://127.0.0.1:8080"  # demo only


def _schema_keys() -> set:
    from kiosk.core import config as config_module

    return {k.split(".")[0] for k in getattr(config_module, "_SCHEMA", {})}
