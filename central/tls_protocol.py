"""uvicorn's h11 protocol that puts the verified TLS client certificate's CN
in each request's state (``tls_peer_cn``); a module of its own so server
worker processes can import it by name."""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol


class PeerCertProtocol(H11Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cn = None
        ssl_object = transport.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    cn = value
        self.app_state = {**self.app_state, "tls_peer_cn": cn}
