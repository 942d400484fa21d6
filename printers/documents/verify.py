"""Offline verification of certificates: the PDF file or the QR code read off paper.

A PDF is valid only when all of this holds:

1. bytes (no PDF parsing yet): exactly one ``/ByteRange [0 b c d]`` whose two
   ranges cover the whole file except the signature's hex hole, the hole
   holding only the upper-case hex of one DER object followed by zero padding,
   and the CMS ``messageDigest`` equal to the SHA-256 of the covered bytes.
   Most damage (edits, overlays, incremental updates, truncation) ends here
   as ``tampered`` in well under a millisecond per 100 KB;
2. the CMS signature verifies with its certificate, which chains to a
   trusted deployment CA (else ``unknown key``);
3. pyHanko validates the embedded signature: intact, valid, trusted, and
   covering the entire file (nothing added after signing);
4. the signed document information holds the QR payload and the content:
   the payload's signature verifies with the same certificate, its content
   hash, serial and type match the content;
5. its validity has not ended (else ``expired``).

Hostile files are verified in a forked child with address-space and CPU
limits and a wall-clock deadline (``verify_pdf_bounded``): any input is
answered with one verdict, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import resource
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from .signing import (
    EXPIRED,
    PDF_CONTENT_KEY,
    PDF_PAYLOAD_KEY,
    PREFIX,
    TAMPERED,
    UNKNOWN_KEY,
    UNREADABLE,
    VALID,
    Trust,
    b64d,
    content_hash,
    key_id,
    qr_signature_ok,
)

MAX_FILE = 8 * 1024 * 1024     # a certificate is ~100 KB; anything this big is not one
MAX_HOLE = 64 * 1024           # hex of the CMS signature (about 3 KB reserved)
DEADLINE_S = 2.0
MEMORY_MB = 200
_BYTERANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*\]")
_HEX = re.compile(rb"<([0-9A-F]+)>")
_DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Verdict:
    status: str                      # valid | tampered | unknown key | expired | unreadable
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def as_dict(self) -> dict:
        return {"status": self.status, **self.details}


def _bad(status: str, reason: str, **details) -> Verdict:
    return Verdict(status, {"reason": reason, **details})


# --- QR payloads -----------------------------------------------------------------

def payload_of(text: str) -> str:
    """The payload in what a QR scanner read: the bare payload or a verify URL ending in ``#<payload>``."""
    text = (text or "").strip()
    return text.rsplit("#", 1)[-1] if "#" in text else text


def decode_payload(text: str) -> tuple[dict, str, bytes]:
    """(claims, signed part, signature); raises ValueError on anything malformed."""
    text = payload_of(text)
    if len(text) > 4096 or not text.startswith(PREFIX) or text.count(".") != 2:
        raise ValueError("not a kiosk certificate code")
    signed, _, sig = text.rpartition(".")
    claims = json.loads(b64d(signed[len(PREFIX):]).decode("utf-8"))
    if not isinstance(claims, dict) or claims.get("v") != 2:
        raise ValueError("unsupported certificate code version")
    for k in ("t", "s", "a", "r", "i", "u", "h", "k"):
        if not isinstance(claims.get(k), str):
            raise ValueError(f"claim {k} missing")
    return claims, signed, b64d(sig)


_PAYLOAD_IN_PDF = re.compile(rb"/KioskCertificate\s*\((KC2[A-Za-z0-9_\\.-]{1,4000})\)")


def issued_fields(pdf: bytes) -> dict | None:
    """The signed fields of a certificate this terminal just rendered (not a verification)."""
    found = _PAYLOAD_IN_PDF.findall(pdf)
    if not found:
        return None
    # a PDF string literal: writers may escape '.' as \056
    text = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8) & 0xFF]), found[-1])
    try:
        return fields_of(decode_payload(text.decode("ascii"))[0])
    except (ValueError, UnicodeDecodeError):
        return None


def fields_of(claims: dict) -> dict:
    return {"type": claims.get("t"), "serial": claims.get("s"), "holder": claims.get("a"),
            "result": claims.get("r"), "issued": claims.get("i"), "valid_until": claims.get("u"),
            "key_id": claims.get("k")}


def _expired(claims: dict, now: dt.datetime | None) -> bool:
    until = dt.datetime.fromisoformat(claims["u"])
    return (now or dt.datetime.now(until.tzinfo)) > until


def verify_qr(text: str, trust: Trust, now: dt.datetime | None = None, public_key=None) -> Verdict:
    """A QR payload: signature by a terminal certificate the verifier knows, then expiry."""
    try:
        claims, signed, sig = decode_payload(text)
        dt.datetime.fromisoformat(claims["u"])
    except (ValueError, UnicodeDecodeError, TypeError):
        return _bad(TAMPERED, "the code is damaged or altered")
    details = fields_of(claims)
    key = public_key if public_key is not None else trust.key_for(claims["k"])
    if key is None:
        return _bad(UNKNOWN_KEY, "signed by a key this verifier does not know", **details)
    if key_id(key) != claims["k"] or not qr_signature_ok(key, signed, sig):
        return _bad(TAMPERED, "signature does not match the code", **details)
    if _expired(claims, now):
        return _bad(EXPIRED, "the certificate's validity has ended", **details)
    return Verdict(VALID, details)


# --- PDFs ---------------------------------------------------------------------------

def _der_length(der: bytes) -> int:
    """Total length of the DER object at the start of ``der`` (tag, length, content)."""
    if len(der) < 2 or der[0] != 0x30:
        raise ValueError("not a DER sequence")
    first = der[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if not 1 <= n <= 4 or len(der) < 2 + n:
        raise ValueError("bad DER length")
    return 2 + n + int.from_bytes(der[2:2 + n], "big")


def byte_check(data: bytes):
    """Step 1-2 on the raw bytes.  Returns (None, signer cert) or (Verdict, None)."""
    from asn1crypto import cms

    if not data.startswith(b"%PDF-"):
        return _bad(UNREADABLE, "not a PDF file"), None
    ranges = _BYTERANGE.findall(data)
    if not ranges:
        return _bad(TAMPERED, "no signature: not an issued certificate"), None
    if len(ranges) != 1:
        return _bad(TAMPERED, "more than one signature"), None
    a, b, c, d = (int(x) for x in ranges[0])
    if a != 0 or not 0 < b < c or c + d != len(data):
        return _bad(TAMPERED, "the signature does not cover the whole file"), None
    if c - b > MAX_HOLE:
        return _bad(TAMPERED, "the signature value is too large"), None
    hole = _HEX.fullmatch(data, b, c)
    if hole is None or len(hole.group(1)) % 2:
        return _bad(TAMPERED, "the signature value was altered"), None
    raw = bytes.fromhex(hole.group(1).decode("ascii"))
    try:
        end = _der_length(raw)
        if end > len(raw) or raw[end:].strip(b"\0"):
            raise ValueError("bytes after the signature")
        info = cms.ContentInfo.load(raw[:end], strict=True)
        signed = info["content"]
        signer_info = signed["signer_infos"][0]
        algo = signer_info["digest_algorithm"]["algorithm"].native
        attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
        expected = attrs["message_digest"].native
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return _bad(TAMPERED, "the signature value was altered"), None
    if algo not in _DIGESTS:
        return _bad(TAMPERED, f"digest {algo} not accepted"), None
    h = _DIGESTS[algo]()
    h.update(memoryview(data)[:b])
    h.update(memoryview(data)[c:])
    if h.digest() != expected:
        return _bad(TAMPERED, "the file was changed after signing"), None
    return None, (signed, signer_info)


def _cms_signer(signed, signer_info, trust: Trust):
    """Step 2: the signature over the signed attributes, and the certificate's chain."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    sid = signer_info["sid"].chosen
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
    leaf = next((c for c in certs if c.serial_number == sid["serial_number"].native), None)
    if leaf is None:
        return _bad(TAMPERED, "the signer's certificate is missing"), None
    if not _unsigned_parts_exact(signed, signer_info, leaf, certs, trust):
        return _bad(TAMPERED, "the signature container was altered"), None
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return _bad(UNKNOWN_KEY, "not a deployment signing key"), None
    attrs = signer_info["signed_attrs"].untag().dump()
    try:
        key.verify(signer_info["signature"].native, attrs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return _bad(TAMPERED, "the signature does not match"), None
    if not trust.issued_by_trusted_ca(leaf):
        if _claims_trusted_issuer(leaf, trust):  # names our CA's key, but the CA's signature fails
            return _bad(TAMPERED, "the signer's certificate was altered"), None
        return _bad(UNKNOWN_KEY, "signed by a certificate no trusted deployment CA issued",
                    signer=leaf.subject.rfc4514_string()), None
    return None, leaf


def _unsigned_parts_exact(signed, signer_info, leaf, certs, trust: Trust) -> bool:
    """The CMS parts no signature covers hold exactly what a terminal writes:
    the signer's digest algorithm, detached data, no CRLs or unsigned
    attributes, and only the signer's and trusted CAs' own certificates."""
    from cryptography.hazmat.primitives import serialization

    der = serialization.Encoding.DER
    allowed = {leaf.public_bytes(der)} | {ca.public_bytes(der) for ca in trust.cas}
    if any(c.public_bytes(der) not in allowed for c in certs):
        return False
    if [a.dump() for a in signed["digest_algorithms"]] != [signer_info["digest_algorithm"].dump()]:
        return False
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "data" or encap["content"].native is not None:
        return False
    if signed["crls"].native or signer_info["unsigned_attrs"].native:
        return False
    if signed["version"].native != "v1" or signer_info["version"].native != "v1":
        return False
    return signer_info["signature_algorithm"]["algorithm"].native in ("sha256_ecdsa", "ecdsa")


def _claims_trusted_issuer(leaf, trust: Trust) -> bool:
    from cryptography import x509

    try:
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return False
    return any(x509.SubjectKeyIdentifier.from_public_key(ca.public_key()).digest == aki for ca in trust.cas)


def _pyhanko_check(data: bytes, trust: Trust):
    """Step 3: pyHanko's validation; returns (None, document information) or (Verdict, None)."""
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data), strict=True)
    sigs = reader.embedded_signatures
    if len(sigs) != 1:
        return _bad(TAMPERED, "more than one signature"), None
    roots = [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust.cas]
    status = validate_pdf_signature(sigs[0], ValidationContext(trust_roots=roots, allow_fetching=False),
                                    skip_diff=True)
    if not (status.intact and status.valid):
        return _bad(TAMPERED, "the signature does not match"), None
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return _bad(TAMPERED, "something was added after signing"), None
    if not status.trusted:
        return _bad(UNKNOWN_KEY, "the signer's certificate does not chain to a trusted deployment CA"), None
    info = reader.trailer_view.get("/Info")
    info = info.get_object() if info is not None else {}
    return None, {k: str(info.get(k, "")) for k in (PDF_PAYLOAD_KEY, PDF_CONTENT_KEY)}


def verify_pdf_bytes(data: bytes, trust: Trust, now: dt.datetime | None = None) -> Verdict:
    """All checks, in this process (see ``verify_pdf_bounded`` for hostile input)."""
    if not trust.cas:
        return _bad(UNKNOWN_KEY, "no trusted deployment CA configured")
    verdict, found = byte_check(data)
    if verdict is not None:
        return verdict
    verdict, leaf = _cms_signer(*found, trust)
    if verdict is not None:
        return verdict
    verdict, info = _pyhanko_check(data, trust)
    if verdict is not None:
        return verdict
    qr = verify_qr(info[PDF_PAYLOAD_KEY], trust, now, public_key=leaf.public_key())
    if qr.status not in (VALID, EXPIRED):
        return _bad(TAMPERED, "the certificate code does not match the signed file")
    try:
        content = json.loads(info[PDF_CONTENT_KEY])
    except ValueError:
        return _bad(TAMPERED, "the content record is missing")
    d = qr.details
    if (not isinstance(content, dict) or content_hash(content) != decode_payload(info[PDF_PAYLOAD_KEY])[0]["h"]
            or content.get("serial") != d["serial"]):
        return _bad(TAMPERED, "the certificate code does not match the signed content")
    details = {**d, "signer": leaf.subject.rfc4514_string()}
    return Verdict(qr.status, {**details, "reason": qr.details.get("reason")} if qr.status == EXPIRED else details)


def verify_pdf(pdf, trust: Trust, now: dt.datetime | None = None) -> Verdict:
    """Bytes or a path, in this process; any failure of a hostile file is a verdict, not an exception."""
    try:
        data = pdf if isinstance(pdf, (bytes, bytearray)) else read_limited(Path(pdf))
    except OSError as exc:
        return _bad(UNREADABLE, f"cannot read the file ({exc.strerror or exc})")
    if data is None:
        return _bad(UNREADABLE, "too large to be a certificate")
    try:
        return verify_pdf_bytes(bytes(data), trust, now)
    except MemoryError:
        return _bad(UNREADABLE, "the file needs too much memory")
    except Exception as exc:  # noqa: BLE001 - a hostile file must never end in a traceback
        return _bad(TAMPERED, f"the file is damaged ({type(exc).__name__})")


def read_limited(path: Path) -> bytes | None:
    with open(path, "rb") as f:
        data = f.read(MAX_FILE + 1)
    return None if len(data) > MAX_FILE else data


# --- bounded child --------------------------------------------------------------------

def _memory_limit(mb: int) -> int:
    """Address space for the child: what the process maps now, plus what brings its resident size to ``mb``."""
    vm = rss = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                vm = int(line.split()[1]) * 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return vm + max(96 << 20, (mb << 20) - rss)


def run_bounded(fn, *args, deadline_s: float = DEADLINE_S, memory_mb: int = MEMORY_MB) -> dict:
    """Run ``fn(*args) -> dict`` in a forked child with memory, CPU and wall-clock bounds."""
    limit = _memory_limit(memory_mb)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        status = 0
        try:
            os.close(rfd)
            cpu = int(deadline_s) + 1
            try:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            except (OSError, ValueError):
                pass  # a sandbox that forbids setrlimit: the parent's deadline still bounds the child
            out = json.dumps(fn(*args), ensure_ascii=False).encode()
        except MemoryError:
            out = json.dumps(_bad(UNREADABLE, "the file needs too much memory").as_dict()).encode()
        except BaseException:  # noqa: BLE001
            out, status = b"", 1
        try:
            view = memoryview(out)
            while view:
                view = view[os.write(wfd, view):]
        finally:
            os._exit(status)
    os.close(wfd)
    chunks, end = [], time.monotonic() + deadline_s
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([rfd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                return _bad(UNREADABLE, "the file takes too long to check").as_dict()
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(rfd)
        os.waitpid(pid, 0)
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        result = None
    return result if isinstance(result, dict) else _bad(UNREADABLE, "the file could not be checked").as_dict()


def _child_verify(path: str, trust: Trust) -> dict:
    return verify_pdf(path, trust).as_dict()


def preload() -> None:
    """Import what verification uses before forking: the child's deadline is for the file, not for imports."""
    import asn1crypto.cms  # noqa: F401
    import pyhanko.pdf_utils.reader  # noqa: F401
    import pyhanko.sign.validation  # noqa: F401
    import pyhanko.sign.validation.status  # noqa: F401
    import pyhanko_certvalidator  # noqa: F401


def _quick_refusal(path, trust: Trust) -> Verdict | None:
    """Steps 1-2 in this process: bounded work (at most MAX_FILE bytes hashed, MAX_HOLE of DER parsed).
    Most hostile files end here, before pyHanko (about a second of imports) is loaded at all."""
    try:
        data = read_limited(Path(path))
        if data is None:
            return _bad(UNREADABLE, "too large to be a certificate")
        if not trust.cas:
            return _bad(UNKNOWN_KEY, "no trusted deployment CA configured")
        verdict, found = byte_check(data)
        return verdict if verdict is not None else _cms_signer(*found, trust)[0]
    except OSError as exc:
        return _bad(UNREADABLE, f"cannot read the file ({exc.strerror or exc})")
    except Exception:  # noqa: BLE001 - anything odd: the bounded child gives the verdict
        return None


def verify_pdf_bounded(path, trust: Trust, deadline_s: float = DEADLINE_S, memory_mb: int = MEMORY_MB) -> Verdict:
    """``verify_pdf`` in a child within ``deadline_s`` seconds and ``memory_mb`` MB; files that
    fail the byte and CMS checks are answered at once."""
    refused = _quick_refusal(path, trust)
    if refused is not None:
        return refused
    preload()
    result = run_bounded(_child_verify, str(path), trust, deadline_s=deadline_s, memory_mb=memory_mb)
    status = result.pop("status", UNREADABLE)
    return Verdict(status, result)
