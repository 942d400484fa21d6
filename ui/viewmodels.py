"""Thin view-models: flow state in, taps out.

The flow engine (``flows``) owns every decision; these objects only
- expose the engine's ``Session.state()`` snapshot to QML, with every
  ``{"zh": ..., "en": ...}`` text already picked for the current language,
- turn taps into ``Session.dispatch(event)`` calls, run on one worker thread so
  device work never blocks the GUI thread (events stay in order),
- marshal state changes from any thread to the GUI thread with a queued signal,
- keep the frame around the flow: language, elderly mode, voice, idle
  countdown, call-staff, catalog search, technician entry.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Property, QObject, Qt, QTimer, Signal, Slot

from kiosk.core import i18n
from kiosk.core.masking import mask_mapping

from . import pinyin
from .theme import Theme
from .voice import Voice, step_speech

log = logging.getLogger(__name__)

CATEGORIES = ("approval", "convenience", "public")


def localize(obj: Any, lang: str) -> Any:
    """Pick ``lang`` out of every {zh, en} text in a JSON-able structure."""
    if isinstance(obj, dict):
        if "zh" in obj and "en" in obj and all(isinstance(obj[k], str) for k in ("zh", "en")):
            return obj.get(lang) or obj["zh"]
        return {str(k): localize(v, lang) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [localize(v, lang) for v in obj]
    return obj


def ui_strings(lang: str) -> dict[str, str]:
    """Every ``ui.*`` catalog entry in ``lang`` (QML looks them up by key)."""
    return {k: i18n.t(k, lang) for k in i18n.catalog() if k.startswith("ui.")}


_CLOCK_KEYS = ("seconds_left", "idle_warning")


def _same_screen(a: dict, b: dict) -> bool:
    if not a or not b:
        return False
    return {k: v for k, v in a.items() if k not in _CLOCK_KEYS} == {k: v for k, v in b.items() if k not in _CLOCK_KEYS}


class Worker:
    """One background thread for engine calls, so events keep their order."""

    def __init__(self, name: str = "ui-engine"):
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, fn: Callable, *args, **kwargs) -> cf.Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class KioskViewModel(QObject):
    """The resident-facing view-model (``vm`` in QML)."""

    changed = Signal()            # frame properties (lang, elderly, page...)
    sessionChanged = Signal()     # engine snapshot
    catalogChanged = Signal()
    clockChanged = Signal()
    idleChanged = Signal()
    noticeChanged = Signal()
    _posted = Signal(object)      # any thread -> GUI thread (queued)
    _ran = Signal(object)         # callable to run on the GUI thread

    def __init__(self, backend, config, theme: Theme | None = None, voice: Voice | None = None, parent=None):
        super().__init__(parent)
        self.backend = backend
        self.config = config
        self.theme = theme or Theme(config.get("branding.primary", "#B71C1C"), config.get("branding.accent", "#0D47A1"))
        self.voice = voice or Voice(bool(config.get("ui.voice", True)), float(config.get("ui.volume", 0.8)),
                                    pack=str(config.get("ui.voice_pack", "") or "") or None)
        self.worker = Worker()
        self._lang = config.get("terminal.language", "zh")
        self._default_lang = self._lang
        self._elderly = False
        self._page = "attract"
        self._raw: dict = {}
        self._state: dict = {}
        self._strings = ui_strings(self._lang)
        self._services: list[dict] = []
        self._category = "all"
        self._search = ""
        self._catalog_page = 0
        self._fit = 0
        self._notice = ""
        self.notices: list[str] = []
        self._oos_reason = ""
        self._core_error = ""
        self._logo_url = self._find_logo()
        self._last_activity = time.monotonic()
        self._idle_left = int(config.get("ui.idle_timeout_s", 90))
        self._idle_timeout = int(config.get("ui.idle_timeout_s", 90))
        self._idle_warning = int(config.get("ui.idle_warning_s", 15))
        self._spoken_key = None
        self._tick_pending = False
        self._stay_pending = False
        self._ticks = 0
        self._posted.connect(self._apply_state, Qt.QueuedConnection)
        self._ran.connect(lambda fn: fn(), Qt.QueuedConnection)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self._notice_timer = QTimer(self, singleShot=True, interval=8000)
        self._notice_timer.timeout.connect(lambda: self._set_notice(""))
        backend.subscribe(self.post_state)
        self.refresh_services()

    # --- cross-thread plumbing -------------------------------------------
    def post_state(self, state: dict) -> None:
        """Engine listener: may be called on any thread."""
        self._posted.emit(state)

    def run_on_gui(self, fn: Callable[[], None]) -> None:
        self._ran.emit(fn)

    def _in_background(self, fn: Callable, *args, then: Callable[[Any], None] | None = None) -> cf.Future:
        def job():
            try:
                result = fn(*args)
            except Exception as exc:  # engine errors become an error screen, never a crash
                log.exception("engine call failed")
                result = exc
            if then is not None:
                self.run_on_gui(lambda: then(result))
            return result
        return self.worker.submit(job)

    @Slot(object)
    def _apply_state(self, state: dict | None) -> None:
        state = dict(state or {})
        if self._page == "step" and _same_screen(state, self._raw):
            self._raw = state  # only the countdown moved: no re-render
            self.idleChanged.emit()
            return
        self._raw = state
        self._state = localize(state, self._lang)
        if state.get("ended") or state.get("view") in (None, "", "start"):
            if self._page == "step":
                self._go_home(wiped=True)
            return
        elif self._page not in ("techPin", "diagnostics"):
            self._set_page("step")
        self.sessionChanged.emit()
        self._speak_step()

    # --- properties ------------------------------------------------------
    def _get_lang(self) -> str:
        return self._lang

    lang = Property(str, _get_lang, notify=changed)
    elderly = Property(bool, lambda self: self._elderly, notify=changed)
    page = Property(str, lambda self: self._page, notify=changed)
    t = Property("QVariantMap", lambda self: self._strings, notify=changed)
    session = Property("QVariantMap", lambda self: self._state, notify=sessionChanged)
    view = Property(str, lambda self: str(self._state.get("view") or ""), notify=sessionChanged)
    hallName = Property(str, lambda self: self._hall(), notify=changed)
    brandName = Property(str, lambda self: self._brand(), notify=changed)
    logoUrl = Property(str, lambda self: self._logo_url, constant=True)
    counterHours = Property(str, lambda self: self._counter_hours(), notify=changed)
    oosReason = Property(str, lambda self: str(localize(self._oos_reason, self._lang) or ""), notify=changed)
    notice = Property(str, lambda self: self._notice, notify=noticeChanged)
    volume = Property(float, lambda self: self.voice.volume, notify=changed)
    voiceOn = Property(bool, lambda self: self.voice.enabled, notify=changed)

    def _pick(self, key: str) -> str:
        """``key`` (Chinese) or ``key_en`` in the current language; the other
        language when one is left empty."""
        zh, en = str(self.config.get(key, "") or ""), str(self.config.get(key + "_en", "") or "")
        return (en or zh) if self._lang == "en" else (zh or en)

    def _hall(self) -> str:
        """The place (terminal.hall): the attract screen's title."""
        return self._pick("terminal.hall") or self._pick("branding.name")

    def _brand(self) -> str:
        """Who runs the terminal (branding.name): the header's name."""
        return self._pick("branding.name") or self._pick("terminal.hall")

    def _counter_hours(self) -> str:
        hours = self._pick("counters.hours")
        return i18n.t("ui.counter.hours", self._lang, hours=hours) if hours else ""

    def _find_logo(self) -> str:
        """branding.logo as a file URL ("" = the built-in emblem).  A relative
        path is read next to the site config file, then from the working
        directory; a missing file is logged once and the emblem shows."""
        logo = str(self.config.get("branding.logo", "") or "").strip()
        if not logo:
            return ""
        path = Path(logo).expanduser()
        if not path.is_absolute():
            source = Path(str(getattr(self.config, "source", "") or ""))
            near = source.parent / path if source.is_file() else None
            path = near if near is not None and near.is_file() else Path.cwd() / path
        if not path.is_file():
            log.warning("branding logo not found, showing the emblem", extra={"path": str(path)})
            return ""
        return path.resolve().as_uri()

    @Property(str, notify=clockChanged)
    def clock(self) -> str:
        return time.strftime("%H:%M")

    @Property(str, notify=clockChanged)
    def date(self) -> str:
        now = time.localtime()
        if self._lang == "zh":
            week = "一二三四五六日"[now.tm_wday]
            return f"{now.tm_year}年{now.tm_mon}月{now.tm_mday}日 星期{week}"
        return time.strftime("%a %d %b %Y", now)

    @Property(str, notify=clockChanged)
    def shortDate(self) -> str:
        """The date without the weekday: the elderly header's 40 px text keeps it whole."""
        now = time.localtime()
        return f"{now.tm_year}年{now.tm_mon}月{now.tm_mday}日" if self._lang == "zh" else time.strftime("%d %b %Y", now)

    @Property(int, notify=idleChanged)
    def idleLeft(self) -> int:
        if self._page == "step":
            left = self._raw.get("seconds_left")
            return int(left) if isinstance(left, (int, float)) else self._idle_timeout
        return self._idle_left

    @Property(bool, notify=idleChanged)
    def idleWarning(self) -> bool:
        if self._page == "step":  # the engine owns the session's idle timeout
            return bool(self._raw.get("idle_warning"))
        return self._page == "catalog" and 0 < self._idle_left <= self._idle_warning

    @Property(str, notify=idleChanged)
    def idleText(self) -> str:
        return i18n.t("ui.idle.warning", self._lang, seconds=self.idleLeft)

    # --- catalog ---------------------------------------------------------
    def refresh_services(self) -> None:
        def done(result):
            if isinstance(result, Exception):
                return
            self._services = list(result or [])
            self._check_out_of_service()
            self.catalogChanged.emit()
        self._in_background(self.backend.services, then=done)

    def core_ready(self) -> None:
        """KioskApp finished starting (devices, store, central)."""
        self._core_error = ""
        self.refresh_services()

    def core_failed(self, reason: str) -> None:
        self._core_error = reason
        self._oos_reason = reason
        self._set_page("outOfService")
        self.changed.emit()

    def _check_out_of_service(self) -> None:
        if self._core_error:
            return
        reason = self.backend.out_of_service_reason()
        self._oos_reason = reason or ""   # {zh, en}; shown in the current language
        if reason and self._page in ("attract", "catalog"):
            self._set_page("outOfService")
        elif not reason and self._page == "outOfService":
            self._set_page("attract")
        self.changed.emit()

    def _filtered(self) -> list[dict]:
        q = self._search.strip().lower()
        out = []
        for svc in self._services:
            if self._category != "all" and svc.get("category") != self._category:
                continue
            if q:
                titles = [str(v) for v in (svc.get("title") or {}).values()]
                keywords = [str(k) for k in svc.get("keywords", [])]
                hay = " ".join(titles + keywords) + " " + str(svc.get("id", ""))
                # typed letters also find Chinese names by pinyin (wfzm -> 无房证明)
                if q not in hay.lower() and not pinyin.matches(q, *titles, *keywords):
                    continue
            out.append(svc)
        return out

    def _per_page(self) -> int:
        per = int(self.theme.property("perPage"))
        return max(1, min(per, self._fit)) if self._fit else per

    @Slot(int)
    def fitTiles(self, count: int) -> None:
        """The catalog grid says how many tiles fit the screen (short screens
        page sooner instead of squeezing text)."""
        if count > 0 and count != self._fit:
            self._fit = count
            self._catalog_page = 0
            self.catalogChanged.emit()

    @Property("QVariantList", notify=catalogChanged)
    def services(self) -> list:
        items = self._filtered()
        per = self._per_page()
        start = self._catalog_page * per
        return localize(items[start:start + per], self._lang)

    @Property(int, notify=catalogChanged)
    def catalogPages(self) -> int:
        per = self._per_page()
        return max(1, -(-len(self._filtered()) // per))

    @Property(int, notify=catalogChanged)
    def catalogPage(self) -> int:
        return self._catalog_page

    @Property(str, notify=catalogChanged)
    def catalogPageText(self) -> str:
        return i18n.t("ui.catalog.page", self._lang, page=self._catalog_page + 1, pages=self.catalogPages)

    @Property("QVariantList", notify=catalogChanged)
    def availableNow(self) -> list:
        return localize([s for s in self._services if s.get("available")], self._lang)

    @Property("QVariantList", notify=catalogChanged)
    def quickWords(self) -> list:
        """One search word per service offered here (its first keyword in the
        current language), so a profile never suggests a service it lacks."""
        words = []
        for svc in self._services:
            for word in svc.get("keywords") or []:
                if (word.isascii() == (self._lang == "en")) and word not in words:
                    words.append(word)
                    break
        return words

    @Property(str, notify=catalogChanged)
    def category(self) -> str:
        return self._category

    @Property(str, notify=catalogChanged)
    def search(self) -> str:
        return self._search

    @Slot(str)
    def setCategory(self, category: str) -> None:
        self.touched()
        self._category = category if category in CATEGORIES else "all"
        self._catalog_page = 0
        self.catalogChanged.emit()

    @Slot(str)
    def setSearch(self, text: str) -> None:
        self.touched()
        self._search = text
        self._catalog_page = 0
        self.catalogChanged.emit()

    @Slot(int)
    def turnPage(self, delta: int) -> None:
        self.touched()
        self._catalog_page = max(0, min(self.catalogPages - 1, self._catalog_page + delta))
        self.catalogChanged.emit()

    # --- navigation ------------------------------------------------------
    def _set_page(self, page: str) -> None:
        if page != self._page:
            self._page = page
            self.changed.emit()
            self.idleChanged.emit()
            if page == "catalog":
                self._say(i18n.text("ui.catalog.voice"))
            elif page == "attract":
                self.voice.stop()

    @Slot()
    def touchStart(self) -> None:
        self.touched()
        if self._page == "attract":
            self.refresh_services()
            self._set_page("catalog")

    @Slot(str)
    def openService(self, service_id: str) -> None:
        self.touched()
        svc = next((s for s in self._services if s.get("id") == service_id), None)
        if svc is not None and not svc.get("available", True):
            self._set_notice(localize(svc.get("reason") or i18n.text("ui.catalog.unavailable").as_dict(), self._lang))
            return
        self._in_background(self.backend.start, service_id, self._lang, self._elderly, then=self._after_call)

    def _after_call(self, result) -> None:
        if isinstance(result, Exception):
            self._set_notice(self._error_text(result))
        elif isinstance(result, dict):
            self._apply_state(result)

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
        """A tap on a step screen -> one engine event."""
        self.touched()
        event = {"type": kind}
        event.update(payload or {})
        self._in_background(self.backend.dispatch, event, then=self._after_call)

    @Slot()
    def back(self) -> None:
        if self._page == "catalog":
            self._go_home()
        elif self._page == "step" and self._state.get("can_back"):
            self.send("back")
        elif self._page == "step":
            self.cancel()

    @Slot()
    def cancel(self) -> None:
        self.touched()
        self._in_background(self.backend.cancel, then=lambda _r: self._go_home(wiped=True))

    @Slot()
    def home(self) -> None:
        if self._page == "step":
            self.cancel()
        else:
            self._go_home()

    def _go_home(self, wiped: bool = False) -> None:
        self._raw, self._state = {}, {}
        self._search, self._category, self._catalog_page = "", "all", 0
        if self._elderly:
            self._elderly = False
            self.theme.set_elderly(False)
            self.voice.elderly = False
        if self._lang != self._default_lang:
            self._set_lang(self._default_lang)
        self._notice = ""
        self._spoken_key = None
        self._set_page("attract")
        self.sessionChanged.emit()
        self.catalogChanged.emit()
        self.noticeChanged.emit()
        self.changed.emit()
        self._check_out_of_service()

    # --- frame: language, elderly, voice, staff ---------------------------
    def _set_lang(self, lang: str) -> None:
        self._lang = lang
        self._strings = ui_strings(lang)
        self._state = localize(self._raw, lang)
        self.changed.emit()
        self.sessionChanged.emit()
        self.catalogChanged.emit()
        self.clockChanged.emit()
        self.idleChanged.emit()

    @Slot(str)
    def setLang(self, lang: str) -> None:
        self.touched()
        if lang in i18n.LANGUAGES and lang != self._lang:
            self._set_lang(lang)
            if self._raw:
                self._in_background(self.backend.set_preferences, lang, self._elderly)
            self._spoken_key = None
            self._speak_step()

    @Slot()
    def toggleLang(self) -> None:
        self.setLang("en" if self._lang == "zh" else "zh")

    @Slot()
    def toggleElderly(self) -> None:
        self.setElderly(not self._elderly)

    @Slot(bool)
    def setElderly(self, on: bool) -> None:
        self.touched()
        self._elderly = bool(on)
        self.theme.set_elderly(self._elderly)
        self.voice.elderly = self._elderly
        self._catalog_page = 0
        if self._raw:
            self._in_background(self.backend.set_preferences, self._lang, self._elderly)
        self.changed.emit()
        self.catalogChanged.emit()
        self._spoken_key = None
        if self._elderly:
            self._speak_step()

    @Slot(float)
    def setVolume(self, volume: float) -> None:
        self.touched()
        self.voice.set_volume(volume)
        self.changed.emit()

    @Slot()
    def callStaff(self) -> None:
        self.touched()

        def done(result):
            ok = not isinstance(result, Exception) and result is not False
            key = "ui.staff.called" if ok else "ui.staff.failed"
            hours = self._counter_hours()  # when someone is at the counters
            self._set_notice(i18n.t(key, self._lang) + ("\n" + hours if hours else ""))
            self._say(i18n.text(key))
        self._in_background(self.backend.call_staff, self._raw.get("service"), self._page, then=done)

    def _set_notice(self, text: str) -> None:
        if text:
            self.notices = (self.notices + [text])[-10:]  # recent notices, for diagnostics and tests
        self._notice = text
        self.noticeChanged.emit()
        if text:
            self._notice_timer.start()

    # --- voice -------------------------------------------------------------
    def _say(self, message: i18n.Text | dict | str) -> None:
        if isinstance(message, i18n.Text):
            message = message.as_dict()
        if isinstance(message, dict):
            message = localize(message, self._lang)
        # ui.voice (Voice.enabled) switches guidance on for every mode;
        # elderly mode speaks more slowly (Voice.elderly).
        self.voice.say(str(message), self._lang)

    def _speak_step(self, again: bool = False) -> None:
        raw = self._raw
        key = (raw.get("step"), raw.get("view"), str(raw.get("errors")), str(raw.get("message")), self._lang)
        if not raw or (key == self._spoken_key and not again):
            return
        self._spoken_key = key
        parts = step_speech(raw, self._lang)
        if parts:
            self.voice.say_parts(parts, self._lang)

    @Slot()
    def repeatVoice(self) -> None:
        """再听一遍: the step's guidance once more (the voice comes on if the
        volume was off)."""
        self.touched()
        if self.voice.volume <= 0:
            self.voice.set_volume(0.8)
            self.changed.emit()
        if self._page == "step":
            self._speak_step(again=True)
        elif self._page == "catalog":
            self._say(i18n.text("ui.catalog.voice"))

    # --- idle -------------------------------------------------------------
    @Slot()
    def touched(self) -> None:
        """Any tap: the person is here.  In a session the engine keeps the
        idle clock; taps that are not engine events (paging, focusing a
        field, "continue" on the warning) tell it with a ``stay`` event."""
        self._last_activity = time.monotonic()
        if self._idle_left != self._idle_timeout:
            self._idle_left = self._idle_timeout
            self.idleChanged.emit()
        if self._page == "step" and self._raw and not self._stay_pending:
            self._stay_pending = True

            def sent(result):
                self._stay_pending = False
                self._after_call(result)
            self._in_background(self.backend.dispatch, {"type": "stay"}, then=sent)

    def _on_tick(self) -> None:
        self.clockChanged.emit()
        self._ticks += 1
        if self._ticks % 15 == 0 and self._page in ("attract", "catalog", "outOfService"):
            self.refresh_services()  # a printer may have run out of paper (or been refilled)
        if self._page == "step":
            # The engine's idle timeout and auto-advance run on ticks.
            if not self._tick_pending:
                self._tick_pending = True

                def ticked(result):
                    self._tick_pending = False
                    self._after_call(result)
                self._in_background(self.backend.tick, then=ticked)
            self.idleChanged.emit()
            return
        if self._page != "catalog":
            return
        self._idle_left = max(0, self._idle_timeout - int(time.monotonic() - self._last_activity))
        self.idleChanged.emit()
        if self._idle_left <= 0:
            self.idleExpired()

    @Slot()
    def idleExpired(self) -> None:
        """Idle timeout: wipe the session and go back to the start."""
        if self._page == "step":
            self._in_background(self.backend.timeout, then=lambda _r: self._go_home(wiped=True))
        else:
            self._go_home()

    def shutdown(self) -> None:
        self._tick.stop()
        self.voice.close()
        self.worker.shutdown()


class TechnicianViewModel(QObject):
    """PIN gate and diagnostics (``tech`` in QML)."""

    changed = Signal()
    _result = Signal(str, object)
    restartRequested = Signal()

    def __init__(self, kiosk_vm: KioskViewModel, gate, diagnostics, parent=None):
        super().__init__(parent)
        self.vm = kiosk_vm
        self.gate = gate
        self.diag = diagnostics
        self._message = ""
        self._report: dict = {}
        self._results: dict[str, str] = {}
        self._running: set[str] = set()
        self._logs: list[str] = []
        self._result.connect(self._on_result, Qt.QueuedConnection)
        self._worker = Worker("ui-tech")

    @Property(str, notify=changed)
    def message(self) -> str:
        return self._message

    @Property("QVariantList", notify=changed)
    def devices(self) -> list:
        return localize(self._report.get("devices", []), self.vm.lang)

    @Property(str, notify=changed)
    def outbox(self) -> str:
        ob = self._report.get("outbox") or {}
        last = ob.get("last_sync_local") or ob.get("last_sync") or i18n.t("ui.tech.never", self.vm.lang)
        return i18n.t("ui.tech.outbox", self.vm.lang, depth=ob.get("depth", "?"), last=last)

    @Property("QVariantMap", notify=changed)
    def results(self) -> dict:
        return dict(self._results)

    @Property(str, notify=changed)
    def logText(self) -> str:
        return "\n".join(self._logs[-40:])

    @Property(bool, notify=changed)
    def running(self) -> bool:
        return bool(self._running)

    @Slot()
    def enter(self) -> None:
        """Long-press on the hidden corner."""
        configured = getattr(self.gate, "configured", True)
        self._message = i18n.t("ui.tech.pin_prompt" if configured else "ui.tech.no_pin", self.vm.lang)
        self.vm._set_page("techPin")
        self.changed.emit()

    @Slot(str)
    def submitPin(self, pin: str) -> None:
        result = self.gate.attempt(pin)
        lang = self.vm.lang
        if result.ok:
            self._message = ""
            self.vm._set_page("diagnostics")
            self.refresh()
        elif getattr(result, "disabled", False):
            self._message = i18n.t("ui.tech.no_pin", lang)
        elif result.locked:
            self._message = i18n.t("ui.tech.pin_locked", lang, seconds=result.locked_for_s)
        else:
            self._message = i18n.t("ui.tech.pin_wrong", lang, tries=result.remaining_tries)
        self.changed.emit()

    @Slot()
    def leave(self) -> None:
        self._results.clear()
        self._report = {}
        self.vm._go_home()
        self.changed.emit()

    @Slot()
    def refresh(self) -> None:
        self.run("report")

    @Slot(str)
    def run(self, action: str) -> None:
        if action in self._running:
            return
        self._running.add(action)
        self._results[action] = i18n.t("ui.tech.running", self.vm.lang)
        self.changed.emit()

        def job():
            try:
                value = self.diag.run_action(action)
            except Exception as exc:
                value = {"ok": False, "error": str(exc)}
            self._result.emit(action, value)
        self._worker.submit(job)

    @Slot(str, object)
    def _on_result(self, action: str, value) -> None:
        self._running.discard(action)
        value = mask_mapping(value)
        if action == "report":
            self._report = value
            self._logs = list(value.get("logs", []))
        elif action == "logs":
            self._logs = list(value.get("lines", []))
            self._results[action] = ""
        if action != "report" and action != "logs":
            self._results[action] = self._summarise(value)
        self._results.pop("report", None)
        self.changed.emit()

    def _summarise(self, value: dict) -> str:
        lang = self.vm.lang
        head = i18n.t("ui.tech.ok" if value.get("ok") else "ui.tech.failed", lang)
        detail = value.get("summary") or value.get("error") or ""
        detail = localize(detail, lang)
        return f"{head} · {detail}" if detail else head

    @Slot()
    def restart(self) -> None:
        self.restartRequested.emit()

    def shutdown(self) -> None:
        self._worker.shutdown()
