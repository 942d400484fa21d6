"""Terminal identity by mutual TLS: the sandbox requires a client
certificate from the hall's CA, the client verifies the server against the
configured CA bundle (verification is on by default)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from central.app import create_app
from central.embedded import serve_in_thread
from offline_cache.client import CentralClient, CentralUnavailable


def _cert(subject, issuer_key, issuer_name, key, ca=False, san_ip=None):
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san_ip:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path, cert=None, key=None):
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hall CA")])
    ca = _cert("Hall CA", ca_key, ca_name, ca_key, ca=True)
    srv_key, cli_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    srv = _cert("central", ca_key, ca_name, srv_key, san_ip="127.0.0.1")
    cli = _cert("T-TLS", ca_key, ca_name, cli_key)
    return {
        "ca": _write(tmp_path / "ca.pem", ca),
        "srv_cert": _write(tmp_path / "srv.pem", srv), "srv_key": _write(tmp_path / "srv.key", key=srv_key),
        "cli_cert": _write(tmp_path / "cli.pem", cli), "cli_key": _write(tmp_path / "cli.key", key=cli_key),
    }


def test_mutual_tls_without_token(tmp_path, pki):
    app = create_app(f"sqlite:///{tmp_path / 'c.db'}")
    tls = {"ssl_certfile": pki["srv_cert"], "ssl_keyfile": pki["srv_key"], "ssl_ca_certs": pki["ca"],
           "ssl_cert_reqs": ssl.CERT_REQUIRED}
    server, thread, port = serve_in_thread(app, ssl=tls)
    url = f"https://127.0.0.1:{port}"
    try:
        good = CentralClient(url=url, token="", client_cert=pki["cli_cert"], client_key=pki["cli_key"],
                             ca_bundle=pki["ca"], terminal_id="T-TLS")
        assert good.queue_ticket("A")["number"].startswith("A")
        good.close()
        no_cert = CentralClient(url=url, token="", ca_bundle=pki["ca"], terminal_id="T-TLS")
        with pytest.raises(CentralUnavailable):
            no_cert.queue_businesses()
        no_cert.close()
        # Verification is on by default: an unknown server certificate is refused.
        default_trust = CentralClient(url=url, token="", client_cert=pki["cli_cert"], client_key=pki["cli_key"],
                                      terminal_id="T-TLS")
        with pytest.raises(CentralUnavailable) as exc:
            default_trust.queue_businesses()
        assert "SSL" in exc.value.detail or "certificate" in exc.value.detail
        default_trust.close()
    finally:
        server.should_exit = True
        thread.join(5)
        app.state.sandbox.db.close()


def test_a_certificate_acts_only_as_its_own_terminal(tmp_path, pki):
    """The client certificate's CN is the terminal: T-TLS's certificate cannot
    heartbeat, fetch config or submit as another terminal, and a token of
    another terminal next to it is refused."""
    from offline_cache.client import CentralAuthError

    app = create_app(f"sqlite:///{tmp_path / 'c.db'}")
    tls = {"ssl_certfile": pki["srv_cert"], "ssl_keyfile": pki["srv_key"], "ssl_ca_certs": pki["ca"],
           "ssl_cert_reqs": ssl.CERT_REQUIRED}
    server, thread, port = serve_in_thread(app, ssl=tls)
    url = f"https://127.0.0.1:{port}"
    cert = {"client_cert": pki["cli_cert"], "client_key": pki["cli_key"], "ca_bundle": pki["ca"]}
    try:
        with CentralClient(url=url, token="", terminal_id="T-TLS", **cert) as own:
            assert own.heartbeat({"software_version": "1"})["terminal_id"] == "T-TLS"
            assert own.terminal_config()["terminal"] == "T-TLS"
        with CentralClient(url=url, token="", terminal_id="T-OTHER", **cert) as posing:
            with pytest.raises(CentralAuthError) as exc:
                posing.heartbeat({"software_version": "1"})
            assert exc.value.status == 403 and exc.value.code == "forbidden_terminal"
            with pytest.raises(CentralAuthError):
                posing.terminal_config()
        other_token = app.state.sandbox.auth.token_for("T-OTHER")
        with CentralClient(url=url, token=other_token, terminal_id="T-OTHER", **cert) as mixed:
            with pytest.raises(CentralAuthError) as exc:
                mixed.heartbeat({"software_version": "1"})
            assert exc.value.code == "identity_mismatch"
        assert app.state.sandbox.stats()["cross_terminal_refused"] >= 3
    finally:
        server.should_exit = True
        thread.join(5)
        app.state.sandbox.db.close()
