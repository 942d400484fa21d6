"""The deployment's small PKI: one issuing CA per deployment, and per terminal a
document-signing certificate (certificates' PDF signatures and QR codes) and
a TLS client certificate whose subject CN is the terminal id.

Keys are ECDSA P-256 (fast to sign, accepted by poppler/NSS and pyHanko).
Private keys are written with mode 0600 at creation (O_EXCL: never readable
by others, and two processes cannot overwrite each other's key) in 0700
folders.  Nothing here is shipped: a CA is created once per deployment by the
installer (or given by path), and demo terminals create their own on first use.

Files of a terminal's signing folder (``<data_dir>/signing`` by default)::

    ca.pem          the deployment CA certificate (trust anchor for verifiers)
    signing.key     the terminal's document-signing key (0600)
    signing.pem     its certificate, issued by the CA
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 20
TERMINAL_YEARS = 5
# id-kp-documentSigning (RFC 9336): what a PDF signer's certificate is for.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


class PkiError(Exception):
    pass


@dataclass
class Issued:
    """A certificate with its private key and the chain up to (and including) the CA."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate]

    def __repr__(self) -> str:  # never key material
        return f"Issued(subject={self.cert.subject.rfc4514_string()!r}, serial={self.cert.serial_number:x})"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """PKCS#8 PEM, mode 0600 from the first byte; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def write_certs(path: Path, certs: list[x509.Certificate]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    os.chmod(tmp, 0o644)
    tmp.replace(path)


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)  # a copied key file keeps no looser mode
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise PkiError(f"{path} is not a readable PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path} is not an EC private key")
    return key


def load_certs(path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except ValueError:
        raise PkiError(f"{path} holds no readable PEM certificate") from None
    return certs


def create_ca(name: str = "", org: str = "Hall kiosk deployment", years: int = CA_YEARS) -> Issued:
    """A new deployment CA; its default name carries a random deployment id."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name or f"Hall kiosk deployment CA {secrets.token_hex(4)}", org)
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Issued(key, cert, [cert])


def _issue(ca: Issued, cn: str, key_usage: x509.KeyUsage, eku: list, years: int) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    org = ca.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    cert = (x509.CertificateBuilder().subject_name(_name(cn, str(org[0].value) if org else "Hall kiosk"))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + dt.timedelta(days=365 * years), ca.cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Issued(key, cert, [cert, *ca.chain])


def issue_signing_cert(ca: Issued, terminal_id: str, years: int = TERMINAL_YEARS) -> Issued:
    """The terminal's document-signing certificate (PDF signatures, QR codes)."""
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    return _issue(ca, f"{terminal_id} document signing", usage, [DOCUMENT_SIGNING], years)


def issue_tls_client_cert(ca: Issued, terminal_id: str, years: int = TERMINAL_YEARS) -> Issued:
    """The terminal's TLS client certificate: subject CN is the terminal id."""
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    return _issue(ca, terminal_id, usage, [ExtendedKeyUsageOID.CLIENT_AUTH], years)


def save(issued: Issued, key_path: Path, cert_path: Path) -> None:
    """Key (0600, never overwritten) and the certificate chain without the root."""
    write_private_key(Path(key_path), issued.key)
    leaf_chain = issued.chain[:-1] if len(issued.chain) > 1 else issued.chain
    write_certs(Path(cert_path), leaf_chain)


def load_ca(cert_path: Path, key_path: Path) -> Issued:
    certs = load_certs(Path(cert_path))
    key = load_private_key(Path(key_path))
    if key.public_key().public_numbers() != certs[0].public_key().public_numbers():
        raise PkiError(f"{key_path} is not the key of {cert_path}")
    return Issued(key, certs[0], certs)


def ensure_ca(folder: Path) -> Issued:
    """The CA in ``folder`` (ca.pem, ca.key), created on first use."""
    folder = Path(folder)
    cert_path, key_path = folder / "ca.pem", folder / "ca.key"
    if not cert_path.exists():
        ca = create_ca()
        try:
            write_private_key(key_path, ca.key)
        except FileExistsError:
            pass  # another process is creating it: load theirs below
        else:
            write_certs(cert_path, [ca.cert])
            return ca
    return load_ca(cert_path, key_path)
