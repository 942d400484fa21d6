"""Signed QR payloads: valid, tampered, unknown key; the key file on disk."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import stat

from printers.documents.signing import (Signer, TAMPERED, UNKNOWN_KEY, VALID, canonical_content, content_hash,
                                        decode_payload, verify_qr)

WHEN = dt.datetime(2026, 11, 23, 10, 32, 15)
CONTENT = {"name": "欧阳娜娜", "id_number": "3301**********0018", "result": "未查询到该权利人名下的房屋等不动产登记信息"}


def sign(signer: Signer, content: dict = CONTENT) -> str:
    return signer.sign_payload("no_property", "BDC0001", "欧*** 3301**********0018", WHEN, content)


def reencode(payload: str, **changes) -> str:
    """Change claims but keep the original signature (what a forger can do)."""
    claims, _, sig = decode_payload(payload)
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode()).rstrip(b"=").decode()
    return "KC1." + body + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_valid_payload_carries_the_claims():
    signer = Signer.generate()
    verdict = verify_qr(sign(signer), [signer.public_key])
    assert verdict.status == VALID and verdict.ok
    assert verdict.details["serial"] == "BDC0001" and verdict.details["type"] == "no_property"
    assert verdict.details["applicant"] == "欧*** 3301**********0018"
    assert verdict.details["issued"] == "2026-11-23T10:32:15"
    assert verdict.details["content_hash"] == content_hash(CONTENT)
    assert verdict.line().startswith("valid:")


def test_changed_field_is_tampered():
    signer = Signer.generate()
    payload = sign(signer)
    for change in ({"s": "BDC0002"}, {"a": "张* 1101**********0011"}, {"h": content_hash({"x": "y"})},
                   {"i": "2027-01-01T00:00:00"}, {"t": "provident_fund"}):
        verdict = verify_qr(reencode(payload, **change), [signer.public_key])
        assert verdict.status == TAMPERED, change
        assert verdict.line().startswith("tampered:")
    broken = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    assert verify_qr(broken, [signer.public_key]).status == TAMPERED
    for junk in ("", "hello", "KC1.not-base64!.x", "KC1.e30.AAAA"):
        assert verify_qr(junk, [signer.public_key]).status == TAMPERED


def test_other_key_is_unknown_key():
    ours, theirs = Signer.generate(), Signer.generate()
    verdict = verify_qr(sign(theirs), [ours.public_key])
    assert verdict.status == UNKNOWN_KEY and not verdict.ok
    assert verdict.details["key_id"] == theirs.key_id
    assert verdict.line().startswith("unknown key")
    # trusting both keys makes it valid
    assert verify_qr(sign(theirs), [ours.public_key, theirs.public_key]).ok


def test_canonical_form_ignores_key_order_and_unicode_composition():
    a = {"b": "é", "a": ["1", {"y": "2", "x": "3"}]}
    b = {"a": ["1", {"x": "3", "y": "2"}], "b": "e\u0301"}
    assert canonical_content(a) == canonical_content(b) == '{"a":["1",{"x":"3","y":"2"}],"b":"é"}'
    assert content_hash(a) == content_hash(b) != content_hash({"a": [], "b": "é"})


def test_key_file_created_0600_once_and_reloaded(tmp_path, caplog):
    path = tmp_path / "keys" / "signing.key"
    with caplog.at_level(logging.DEBUG):
        first = Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.with_suffix(".pub").read_bytes() == first.public_key_pem()
    second = Signer.load_or_create(path)
    assert second.key_id == first.key_id
    pem = path.read_text()
    body = "".join(pem.strip().splitlines()[1:-1])
    assert body not in caplog.text and body not in repr(first)  # never logged or shown
    assert verify_qr(sign(first), [path.with_suffix(".pub")]).ok


def test_loose_key_permissions_are_tightened(tmp_path):
    path = tmp_path / "signing.key"
    Signer.load_or_create(path)
    os.chmod(path, 0o644)
    Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
