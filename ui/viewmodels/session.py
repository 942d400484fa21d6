"""The step screens' view-model (``session`` in QML): the engine's state
for the current step, and taps turned into engine events.

State arrives only through the backend's subscription, once per change of
the engine's state, and is marshalled to the GUI thread; the calls that
make it change (start, dispatch, tick) return nothing to apply a second time.
"""

from __future__ import annotations

from PySide6.QtCore import Property, QObject, Qt, QTimer, Signal, Slot

from kiosk.core import i18n

from .common import GuiCalls, localize

_CLOCK_KEYS = ("seconds_left", "idle_warning")


def same_screen(a: dict, b: dict) -> bool:
    """``a`` and ``b`` differ at most in the idle clock."""
    if not a or not b:
        return False
    return {k: v for k, v in a.items() if k not in _CLOCK_KEYS} == {k: v for k, v in b.items() if k not in _CLOCK_KEYS}


class SessionViewModel(QObject):
    changed = Signal()                # a new screen (or the same screen, other texts)
    clockChanged = Signal()           # only the idle countdown moved
    shown = Signal()                  # the engine has a step to show
    ended = Signal()                  # the session ended (done, cancelled, timed out): wiped
    notice = Signal(str)              # a call failed before any screen (service unavailable...)
    _posted = Signal(object)          # engine state from any thread -> GUI thread (queued)

    def __init__(self, backend, calls: GuiCalls, lang: str, parent=None):
        super().__init__(parent)
        self.backend = backend
        self.calls = calls
        self._lang = lang
        self.raw: dict = {}           # the engine's state as delivered ({zh, en} texts)
        self._state: dict = {}        # the same with texts in the screen's language
        self._stay_pending = False
        self._stay_wanted = False
        self._tick_pending = False
        self._posted.connect(self._apply, Qt.QueuedConnection)
        backend.subscribe(self._posted.emit)

    # --- state ----------------------------------------------------------------
    @Slot(object)
    def _apply(self, state: dict | None) -> None:
        state = dict(state or {})
        if self._stale(state):
            return
        if self.raw and same_screen(state, self.raw):
            self.raw = state  # only the countdown moved: no re-render
            self.clockChanged.emit()
            return
        self.raw = state
        self._state = localize(state, self._lang)
        if state.get("ended") or state.get("view") in (None, "", "start"):
            why = self._state.get("message")  # ended by no activity or by the terminal: say so
            self.ended.emit()
            if why:
                self.notice.emit(str(why))
            return
        self.changed.emit()
        self.shown.emit()

    def _stale(self, state: dict) -> bool:
        """State of a session the screen has already left (still queued when
        it was cancelled), which must not bring its step back."""
        current = getattr(self.backend, "session", None)
        current_id = getattr(current, "id", None)
        sid = state.get("session")
        return bool(sid) and sid != current_id and (current_id is not None or not state.get("ended"))

    def set_lang(self, lang: str) -> None:
        self._lang = lang
        self._state = localize(self.raw, lang)
        self.changed.emit()

    def clear(self) -> None:
        self.raw, self._state = {}, {}
        self.changed.emit()

    @property
    def active(self) -> bool:
        return bool(self.raw)

    @property
    def seconds_left(self) -> int | None:
        left = self.raw.get("seconds_left")
        return int(left) if isinstance(left, (int, float)) else None

    @property
    def idle_warning(self) -> bool:
        return bool(self.raw.get("idle_warning"))

    state = Property("QVariantMap", lambda self: self._state, notify=changed)
    view = Property(str, lambda self: str(self._state.get("view") or ""), notify=changed)

    @Property(str, notify=changed)
    def onBehalf(self) -> str:
        """"张* 代 李** 办理（子女）" while an agent acts for a relative; the
        engine gives the names already masked."""
        who = self._state.get("on_behalf")
        if not isinstance(who, dict) or not who.get("agent") or not who.get("principal"):
            return ""
        return i18n.t("ui.step.on_behalf", self._lang, agent=who["agent"], principal=who["principal"],
                      relationship=str(who.get("relationship") or ""))

    # --- engine calls -----------------------------------------------------------
    def open(self, service_id: str, lang: str, elderly: bool, then=None) -> None:
        """Start ``service_id``; ``then(True)`` once it started, else a notice."""
        def done(result):
            if isinstance(result, Exception):
                self.notice.emit(self._error_text(result))
            if then is not None:
                then(not isinstance(result, Exception))
        self.calls.call(self.backend.start, service_id, lang, elderly, then=done)

    def _failed(self, result) -> None:
        if isinstance(result, Exception):
            self.notice.emit(self._error_text(result))

    def _error_text(self, exc: Exception) -> str:
        reasons = getattr(exc, "reasons", None)  # flows.engine.ServiceUnavailable
        if reasons:
            return "；".join(r.render(self._lang) for r in reasons)
        message = getattr(exc, "text", None)
        if isinstance(message, i18n.Text):
            return message.render(self._lang)
        return i18n.t("ui.error.next", self._lang)

    @Slot(str)
    @Slot(str, "QVariantMap")
    def send(self, kind: str, payload: dict | None = None) -> None:
        """A tap on a step screen -> one engine event (which also tells the
        engine the person is here: no separate ``stay``)."""
        self._stay_wanted = False
        event = {"type": kind}
        event.update(payload or {})
        self.calls.call(self.backend.dispatch, event, then=self._failed)

    @Slot()
    def cancel(self) -> None:
        """Leave the service: the engine wipes the session."""
        self._stay_wanted = False
        self.calls.call(self.backend.cancel, then=lambda _r: self.ended.emit())

    def back(self) -> None:
        if self._state.get("can_back"):
            self.send("back")
        else:
            self.cancel()

    def stay(self) -> None:
        """A tap that is not an event (paging, focusing a field): the engine
        keeps its idle clock, so tell it the person is still here - unless
        the same tap also sends an event (a key that types), which says so
        itself: one event, one new state per tap."""
        if self.raw and not self._stay_wanted:
            self._stay_wanted = True
            QTimer.singleShot(0, self._send_stay)

    def _send_stay(self) -> None:
        if not self._stay_wanted or self._stay_pending:
            return
        self._stay_wanted = False
        self._stay_pending = True

        def sent(result):
            self._stay_pending = False
            self._failed(result)
        self.calls.call(self.backend.dispatch, {"type": "stay"}, then=sent)

    def tick(self) -> None:
        """The engine's idle timeout and auto-advance run on ticks."""
        if not self._tick_pending:
            self._tick_pending = True

            def ticked(result):
                self._tick_pending = False
                self._failed(result)
            self.calls.call(self.backend.tick, then=ticked)

    def timeout(self) -> None:
        self.calls.call(self.backend.timeout, then=lambda _r: self.ended.emit())

    def set_preferences(self, lang: str, elderly: bool) -> None:
        if self.raw:
            self.calls.call(self.backend.set_preferences, lang, elderly)
