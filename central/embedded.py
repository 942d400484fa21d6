"""The sandbox central platform inside the terminal's own process.

``central.url = "embedded://"`` (the default) makes ``kiosk run``, ``kiosk
demo`` and the session runner start the sandbox on 127.0.0.1 with a free
port and its database under ``<data_dir>/central/``; everything else talks
to it over real HTTP exactly as it would to a remote platform.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedError(RuntimeError):
    pass


@dataclass
class EmbeddedCentral:
    url: str
    db_path: Path
    app: object
    _server: object = field(repr=False, default=None)
    _thread: threading.Thread | None = field(repr=False, default=None)

    @property
    def sandbox(self):
        return self.app.state.sandbox  # type: ignore[attr-defined]

    def token_for(self, terminal_id: str) -> str:
        """This sandbox's bearer token for one terminal (per-install secret)."""
        return self.sandbox.auth.token_for(terminal_id)

    @property
    def operator_token(self) -> str:
        return self.sandbox.auth.operator_token

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is None:
            return
        self._server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout)
        self.sandbox.db.close()
        self._server = None

    def __enter__(self) -> EmbeddedCentral:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, name: str = "central-sandbox",
                    ssl: dict | None = None, timeout: float = 10.0):
    """Run ``app`` with uvicorn on a thread; returns (server, thread, port).
    The socket is bound here so port 0 gives a free port without races."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    from central.auth import peer_cert_protocol

    # with TLS, the protocol hands the client certificate's CN to the app
    extra = {"http": peer_cert_protocol(), **ssl} if ssl else {}
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_keep_alive=30, **extra)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if failure or not thread.is_alive():
            raise EmbeddedError(str(failure[0]) if failure else "server thread ended")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise EmbeddedError("server did not start in time")
        time.sleep(0.01)
    return server, thread, port


def start_embedded(data_dir: str | os.PathLike, *, host: str = "127.0.0.1",
                   port: int = 0, auto_pay_s: float = 3.0, faults=None, db_url: str | None = None) -> EmbeddedCentral:
    """Start the sandbox for this terminal; returns a handle with ``url`` and ``stop()``.
    Its database is ``<data_dir>/central/central.db`` unless ``db_url`` names another
    (the file state stays in ``<data_dir>/central/``)."""
    from central.app import create_app

    db_path = Path(data_dir) / "central" / "central.db"
    try:
        app = create_app(db_url or f"sqlite:///{db_path}", auto_pay_s=auto_pay_s,
                         faults=faults, state_dir=str(db_path.parent))
        server, thread, port = serve_in_thread(app, host, port)
    except EmbeddedError:
        raise
    except Exception as exc:
        raise EmbeddedError(f"{type(exc).__name__}: {exc}") from exc
    url = f"http://{host}:{port}"
    log.info("embedded central sandbox started", extra={"url": url})
    return EmbeddedCentral(url, db_path, app, server, thread)
