"""The UI's one door into the Qt-free core.

``EngineBackend`` wraps ``KioskApp`` (kiosk/app.py): the service catalog with
availability, one ``flows.engine.Session`` at a time, the camera's latest
frame, documents for previews, the staff call.  View-models call it from
their worker thread.  Engine state reaches the screen one way only: through
``subscribe`` callbacks, once per change, on whatever thread the engine is
on; the calls that change it return nothing to apply again.  Nothing here
imports Qt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flows.state import shown_text
from kiosk.status import out_of_service_reason

log = logging.getLogger(__name__)


class EngineBackend:
    def __init__(self, app):
        self.app = app
        self._listeners: list[Callable[[dict], None]] = []
        self._session = None
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self.session_options: dict = {}  # extra new_session arguments (the UI soak's clock and journal)

    # --- listeners ----------------------------------------------------------
    def subscribe(self, callback: Callable[[dict], None]) -> None:
        self._listeners.append(callback)

    def _deliver(self, state: dict) -> None:
        for cb in list(self._listeners):
            try:
                cb(state)
            except Exception:
                log.exception("ui listener failed")

    # --- catalog --------------------------------------------------------------
    def services(self) -> list[dict]:
        """[{id, category, title, summary, available, reason, keywords}] for the
        catalog, every text through the engine's one projection (flows.state.shown_text)."""
        out = []
        if self.app is None:  # still starting
            return out
        for item in self.app.services():
            reasons = item.get("reasons") or ([item["reason"]] if item.get("reason") else [])
            out.append({
                "id": item["id"],
                "category": item.get("category", "public"),
                "title": shown_text(item.get("title")) or {"key": None, "zh": item["id"], "en": item["id"]},
                "summary": shown_text(item.get("description") or item.get("summary")),
                "available": bool(item.get("available", True)),
                "reason": shown_text(reasons[0]) if reasons else None,
                "keywords": list(item.get("keywords") or []),
            })
        return out

    def out_of_service_reason(self) -> dict | None:
        """{zh, en} when the out-of-service screen should show (kiosk/status.py's one rule)."""
        return out_of_service_reason(self.app)

    # --- sessions -------------------------------------------------------------
    @property
    def session(self):
        return self._session

    def start(self, service_id: str, lang: str = "zh", elderly: bool = False) -> None:
        """Open ``service_id``; its first state comes to the subscribers."""
        if self.app is None:
            raise RuntimeError("kiosk core is still starting")
        self._drop()
        session = self.app.new_session(service_id, lang=lang, **self.session_options)
        with self._lock:
            self._session = session
            self._unsubscribe = session.subscribe(self._deliver)   # the engine's one state per change
        session.on_end(self._ended)  # ended elsewhere (core timeout, technician, shutdown): let it go
        if hasattr(session, "data") and elderly:
            session.data["elderly"] = True
        if getattr(session, "step", None) is None and not getattr(session, "ended", False):
            session.start()
        else:
            self._deliver(session.state())   # started (or ended) before we listened: the screen still hears of it

    def dispatch(self, event: dict) -> None:
        session = self._session
        if session is None:
            return
        session.dispatch(event)
        if session.ended:
            self._drop()

    def tick(self) -> None:
        self.dispatch({"type": "tick"})

    def set_preferences(self, lang: str, elderly: bool) -> None:
        session = self._session
        if session is not None:
            session.dispatch({"type": "lang", "lang": lang})
            if hasattr(session, "data"):
                session.data["elderly"] = elderly

    def cancel(self) -> None:
        session = self._session
        if session is not None:
            session.dispatch({"type": "cancel"})
            if not session.ended:
                session.close()
        self._drop()

    def timeout(self) -> None:
        session = self._session
        if session is not None and not session.ended:
            session.finish("timeout", cause="ui-idle")
        self._drop()

    def _ended(self, session) -> None:
        """The session ended; its last state has already gone to the screen."""
        if self._session is session:
            self._drop()

    def _drop(self) -> None:
        with self._lock:
            unsub, self._unsubscribe = self._unsubscribe, None
            session, self._session = self._session, None
        if unsub:
            unsub()
        if session is not None and not session.ended:
            session.close()

    def document(self, doc_id: str) -> bytes | None:
        session = self._session
        return session.document(doc_id) if session is not None else None

    # --- devices --------------------------------------------------------------
    def camera_latest(self):
        devices = getattr(self.app, "devices", None)
        cam = devices.first("camera") if devices is not None else None
        if cam is None or not hasattr(cam, "latest"):
            return None
        return cam.latest()

    def call_staff(self, service: Any = None, page: str = "") -> bool:
        call = getattr(self.app, "call_staff", None)
        if call is None:
            log.warning("staff call requested", extra={"page": page})
            return True
        service_id = service.get("id") if isinstance(service, dict) else service
        return call(reason=page, service=service_id) is not False

    def close(self) -> None:
        self._drop()
