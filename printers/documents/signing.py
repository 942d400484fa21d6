"""Signing certificates: a PAdES signature over the whole PDF and a signed QR code.

Both are made with the terminal's document-signing key, whose X.509
certificate the deployment CA issued (``kiosk/core/pki.py``).  The PDF signature
(PAdES baseline B-B, pyHanko, a certification signature that allows no
changes) makes any change to the file detectable with any PDF reader; the QR
code lets a reader check the paper.

QR payload, one line of ASCII (on paper it follows ``<public URL>/v1/verify/<serial>#``)::

    KC2.<base64url(JSON claims)>.<base64url(ECDSA P-256 signature, raw r||s)>

The signature covers ``KC2.<base64url(JSON claims)>``.  Claims:

    v  format version (2)           t  document type (no_property, ...)
    s  serial number                a  masked holder ("欧** 3****************6")
    r  result (short text)          i  issue time (ISO 8601, seconds)
    u  valid until (ISO 8601)       h  base64url SHA-256 of the canonical content
    k  key id (16 hex: SHA-256 of the signing certificate's public key, first 8 bytes)

Canonical content: the printed fields as a JSON object, strings NFC
normalised, keys sorted, no insignificant whitespace, UTF-8.  The PDF's
document information holds the payload (``/KioskCertificate``) and the
canonical content (``/KioskContent``) inside the signed bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import os
import unicodedata
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from kiosk.core import pki

log = logging.getLogger(__name__)

PREFIX = "KC2."
PDF_PAYLOAD_KEY = "/KioskCertificate"
PDF_CONTENT_KEY = "/KioskContent"
SIGNATURE_BYTES = 3072  # room reserved for the CMS signature (about 1.5 KB used; parsers read it as hex)

VALID, TAMPERED, UNKNOWN_KEY, EXPIRED, UNREADABLE = "valid", "tampered", "unknown key", "expired", "unreadable"


class KeyFileError(Exception):
    pass


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(str(k)): _nfc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nfc(v) for v in value]
    return value


def canonical_content(content: dict) -> str:
    """The one text form of a document's content that its hash is taken over."""
    return json.dumps(_nfc(content), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(content: dict) -> str:
    return b64e(hashlib.sha256(canonical_content(content).encode("utf-8")).digest())


def key_id(public_key) -> str:
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()[:16]


def qr_signature(key: ec.EllipticCurvePrivateKey, signed: str) -> str:
    r, s = decode_dss_signature(key.sign(signed.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return b64e(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def qr_signature_ok(public_key, signed: str, sig: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    if len(sig) != 64 or not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public_key.verify(der, signed.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class Signer:
    """The terminal's document-signing key and certificate chain.  Never shows key material."""

    def __init__(self, issued: pki.Issued, key_path: Path | None = None):
        self._issued = issued
        self.key_path = key_path
        self.cert = issued.cert
        self.chain = issued.chain          # leaf first, up to the CA when known
        self.public_key = issued.cert.public_key()
        self.key_id = key_id(self.public_key)
        self._pyhanko = None

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id}, subject={self.cert.subject.rfc4514_string()!r})"

    @property
    def ca_cert(self) -> x509.Certificate:
        return self.chain[-1]

    @classmethod
    def generate(cls, terminal_id: str = "T-TEST") -> Signer:
        """A throw-away CA and terminal certificate (tests, benchmarks)."""
        return cls(pki.issue_signing_cert(pki.create_ca(name="Throw-away test CA"), terminal_id))

    @classmethod
    def load(cls, key_path: Path, cert_path: Path, ca_path: Path | None = None) -> Signer:
        try:
            key = pki.load_private_key(Path(key_path))
            certs = pki.load_certs(Path(cert_path))
            if ca_path is not None and Path(ca_path).is_file():
                certs += [c for c in pki.load_certs(Path(ca_path)) if c not in certs]
        except (pki.PkiError, OSError) as exc:
            raise KeyFileError(str(exc)) from None
        if key.public_key().public_numbers() != certs[0].public_key().public_numbers():
            raise KeyFileError(f"{key_path} is not the key of the certificate {cert_path}")
        return cls(pki.Issued(key, certs[0], certs), Path(key_path))

    def sign_payload(self, doc_type: str, serial: str, holder_masked: str, result: str, issued: dt.datetime,
                     valid_until: dt.datetime, content: dict) -> str:
        claims = {"v": 2, "t": doc_type, "s": serial, "a": holder_masked, "r": result,
                  "i": issued.replace(microsecond=0).isoformat(), "u": valid_until.replace(microsecond=0).isoformat(),
                  "h": content_hash(content), "k": self.key_id}
        body = PREFIX + b64e(json.dumps(claims, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
        return body + "." + qr_signature(self._issued.key, body)

    def _pyhanko_signer(self):
        if self._pyhanko is None:
            from asn1crypto import keys as akeys
            from asn1crypto import x509 as ax509
            from pyhanko.sign import signers
            from pyhanko_certvalidator.registry import SimpleCertificateStore

            der = serialization.Encoding.DER
            key = akeys.PrivateKeyInfo.load(self._issued.key.private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            certs = [ax509.Certificate.load(c.public_bytes(der)) for c in self.chain]
            # The CA is not embedded: verifiers hold it as their trust anchor.
            self._pyhanko = signers.SimpleSigner(signing_cert=certs[0], signing_key=key,
                                                 cert_registry=SimpleCertificateStore.from_certs(certs[1:-1]))
        return self._pyhanko

    def sign_pdf(self, pdf: bytes, info: dict[str, str] | None = None) -> bytes:
        """Add ``info`` to the document information and a PAdES certification signature
        covering the whole file (no changes allowed after it), in one incremental update."""
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        meta = signers.PdfSignatureMetadata(
            field_name="KioskSignature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if info:
            ref = writer.trailer.raw_get("/Info")
            info_dict = ref.get_object()
            for key, value in info.items():
                info_dict[generic.NameObject(key)] = generic.TextStringObject(value)
            writer.mark_update(ref)
        out = signers.sign_pdf(writer, meta, signer=self._pyhanko_signer(), existing_fields_only=False,
                               bytes_reserved=SIGNATURE_BYTES)
        return out.getvalue()


# --- the terminal's signer and a verifier's trust, from the configuration --------


def signing_dir(config) -> Path:
    configured = str(config.get("certificates.signing_dir", "") or "")
    return Path(configured).expanduser() if configured else config.data_dir / "signing"


def _paths(config) -> tuple[Path, Path, Path]:
    folder = signing_dir(config)
    key = str(config.get("certificates.signing_key", "") or "")
    cert = str(config.get("certificates.signing_cert", "") or "")
    return (Path(key).expanduser() if key else folder / "signing.key",
            Path(cert).expanduser() if cert else folder / "signing.pem",
            folder / "ca.pem")


def is_demo(config) -> bool:
    """Demo mode (``mode = "demo"``); a config without the key counts as demo."""
    return str(config.get("mode", "demo") or "demo") == "demo"


def signer_for_config(config) -> Signer:
    """The terminal's signer.  In demo mode a demo CA and terminal certificate are
    created on first use in the signing folder; in production they come from install."""
    key_path, cert_path, ca_path = _paths(config)
    if not key_path.exists() and is_demo(config):
        _create_demo(config, key_path, cert_path)
    if not key_path.exists() or not cert_path.exists():
        raise KeyFileError(f"no document-signing key and certificate at {key_path} and {cert_path} "
                           f"(issued at install: deploy/install.sh)")
    return Signer.load(key_path, cert_path, ca_path)


def verify_base(config, central_base: str = "") -> str:
    """Where QR codes point: ``central.public_url``; in demo mode, failing that, central's own address."""
    public = str(config.get("central.public_url", "") or "").rstrip("/")
    if public or not is_demo(config):
        return public
    base = central_base or str(config.get("central.url", "") or "")
    return base.rstrip("/") if base.startswith(("http://", "https://")) else ""


def _create_demo(config, key_path: Path, cert_path: Path) -> None:
    folder = signing_dir(config)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = pki.ensure_ca(folder / "demo-ca")
    issued = pki.issue_signing_cert(ca, config.terminal_id)
    try:
        pki.save(issued, key_path, cert_path)
    except FileExistsError:
        return  # another process created it first
    pki.write_certs(folder / "ca.pem", [ca.cert])
    log.info("demo document-signing certificate created", extra={"key_id": key_id(issued.cert.public_key()),
                                                                  "path": str(key_path)})


class Trust:
    """What a verifier trusts: deployment CA certificates, and terminal certificates
    it knows (for QR codes read off paper: the QR carries no certificate)."""

    def __init__(self, cas: list[x509.Certificate], terminals: list[x509.Certificate] = ()):
        self.cas = list(cas)
        self.terminals = [c for c in terminals if self.issued_by_trusted_ca(c)]

    def issued_by_trusted_ca(self, cert: x509.Certificate) -> bool:
        for ca in self.cas:
            try:
                cert.verify_directly_issued_by(ca)
            except Exception:  # noqa: BLE001 - wrong issuer, bad signature, odd key: not this CA
                continue
            return True
        return False

    def add(self, path: str | os.PathLike) -> None:
        """A PEM file of CA or terminal certificates (CA certificates become anchors)."""
        for cert in pki.load_certs(Path(path)):
            if _is_ca(cert):
                self.cas.append(cert)
            elif self.issued_by_trusted_ca(cert):
                self.terminals.append(cert)

    def key_for(self, kid: str):
        for cert in self.terminals:
            if key_id(cert.public_key()) == kid:
                return cert.public_key()
        return None

    def pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.cas + self.terminals)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def trust_for_config(config, extra: list[str] = ()) -> Trust:
    """``certificates.trusted_cas`` (default: the deployment CA in the signing folder),
    ``certificates.terminal_certs`` and the terminal's own certificate; ``extra``: more PEM files."""
    folder = signing_dir(config)
    trust = Trust([])
    cas = [Path(p).expanduser() for p in config.get("certificates.trusted_cas", []) or []] or [folder / "ca.pem"]
    files = cas + [Path(p).expanduser() for p in config.get("certificates.terminal_certs", []) or []]
    files += [_paths(config)[1]] + [Path(p) for p in extra]
    for path in files:
        if path.is_file():
            try:
                trust.add(path)
            except pki.PkiError as exc:
                log.warning("trusted certificate file skipped", extra={"path": str(path), "reason": str(exc)})
    return trust
