"""The UI's one door into the Qt-free core.

``EngineBackend`` wraps ``KioskApp`` (kiosk/app.py): the service catalog with
availability, one ``flows.engine.Session`` at a time, the camera's latest
frame, documents for previews, the staff call.  View-models call it from
their worker thread; engine state changes arrive through ``subscribe``
callbacks on whatever thread the engine is on.  Nothing here imports Qt.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from kiosk.status import out_of_service_reason

log = logging.getLogger(__name__)


def _text_dict(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else {"zh": str(value), "en": str(value)}


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

    def _notify(self, session) -> None:
        state = session.state()
        for cb in list(self._listeners):
            try:
                cb(state)
            except Exception:
                log.exception("ui listener failed")

    # --- catalog --------------------------------------------------------------
    def services(self) -> list[dict]:
        """[{id, category, title, summary, available, reason, keywords}] for the catalog."""
        out = []
        if self.app is None:  # still starting
            return out
        for item in self.app.services():
            out.append({
                "id": item["id"],
                "category": item.get("category", "public"),
                "title": _text_dict(item.get("title")) or {"zh": item["id"], "en": item["id"]},
                "summary": _text_dict(item.get("description") or item.get("summary")),
                "available": bool(item.get("available", True)),
                "reason": _first_reason(item),
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

    def start(self, service_id: str, lang: str = "zh", elderly: bool = False) -> dict:
        if self.app is None:
            raise RuntimeError("kiosk core is still starting")
        self._drop()
        session = self.app.new_session(service_id, lang=lang, **self.session_options)
        with self._lock:
            self._session = session
            self._unsubscribe = session.on_change(self._notify)
        if hasattr(session, "data") and elderly:
            session.data["elderly"] = True
        if getattr(session, "step", None) is None and not getattr(session, "ended", False):
            session.start()
        return session.state()

    def dispatch(self, event: dict) -> dict | None:
        session = self._session
        if session is None:
            return None
        session.dispatch(event)
        state = session.state()
        if state.get("ended"):
            self._drop()
        return state

    def tick(self) -> dict | None:
        return self.dispatch({"type": "tick"})

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
            if not session.state().get("ended"):
                session.close()
        self._drop()

    def timeout(self) -> None:
        session = self._session
        if session is not None and not session.ended:
            session.finish("timeout", cause="ui-idle")
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
        return call(reason=page, service=(service or {}).get("id") if isinstance(service, dict) else service) is not False

    def close(self) -> None:
        self._drop()


def _first_reason(item: dict) -> dict | None:
    reasons = item.get("reasons") or ([item["reason"]] if item.get("reason") else [])
    return _text_dict(reasons[0]) if reasons else None
