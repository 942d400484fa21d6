"""The frame around every screen (``vm`` in QML): which page shows, the
language, elderly mode, volume, the clock, the idle countdown outside a
session, notices, call-staff and the out-of-service page.

It owns the screen's focused view-models - ``catalog`` (CatalogViewModel)
and ``session`` (SessionViewModel) - and the spoken guidance, and wires
them: a tapped tile starts a session, a session's first state shows the
step page, its end brings the next resident's start page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Property, QObject, QTimer, Signal, Slot

from kiosk.core import i18n

from .. import pinyin
from ..theme import Theme
from ..usage import UsageStats
from ..voice import SHIPPED_PACK, Voice
from .branding import Branding
from .catalog import CatalogViewModel
from .common import GuiCalls, localize, ui_strings
from .guidance import Guidance
from .session import SessionViewModel

log = logging.getLogger(__name__)

PAGES = ("attract", "catalog", "step", "outOfService", "techPin", "diagnostics")
REFRESH_EVERY_TICKS = 15   # a printer may have run out of paper (or been refilled)


def _usage_path(config) -> Path | None:
    try:
        return Path(config.data_dir) / "ui" / "service_usage.json"
    except (AttributeError, TypeError):
        return None


class KioskViewModel(QObject):
    """The resident-facing frame (``vm`` in QML)."""

    changed = Signal()            # frame properties (lang, elderly, page...)
    clockChanged = Signal()
    idleChanged = Signal()
    noticeChanged = Signal()

    def __init__(self, backend, config, theme: Theme | None = None, voice: Voice | None = None, parent=None):
        super().__init__(parent)
        self.backend = backend
        self.config = config
        self.theme = theme or Theme(config.get("branding.primary", "#B71C1C"), config.get("branding.accent", "#0D47A1"))
        self.voice = voice or Voice(bool(config.get("ui.voice", True)), float(config.get("ui.volume", 0.8)),
                                    pack=str(config.get("ui.voice_pack", "") or "") or SHIPPED_PACK)
        self.calls = GuiCalls(parent=self)
        self.branding = Branding(config)
        self.guide = Guidance(self.voice)
        self.default_lang = self._lang = config.get("terminal.language", "zh")
        self._elderly = False
        self._page = "attract"
        self._strings = ui_strings(self._lang)
        self._notice = ""
        self.notices: list[str] = []
        self._oos_reason: dict | str = ""
        self._core_error = ""
        self._idle_timeout = int(config.get("ui.idle_timeout_s", 90))
        self._idle_warning = int(config.get("ui.idle_warning_s", 15))
        self._idle_left = self._idle_timeout
        self._last_activity = time.monotonic()
        self._ticks = 0
        self.catalog = CatalogViewModel(backend, self.calls, UsageStats(_usage_path(config)), lang=lambda: self._lang,
                                        touched=self.touched, per_page=lambda: self.theme.property("perPage"),
                                        parent=self)
        self.session = SessionViewModel(backend, self.calls, self._lang, parent=self)
        self._wire()
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self._notice_timer = QTimer(self, singleShot=True, interval=8000)
        self._notice_timer.timeout.connect(lambda: self.show_notice(""))
        self.catalog.refresh()

    def _wire(self) -> None:
        self.catalog.refreshed.connect(self._check_out_of_service)
        self.catalog.notice.connect(self.show_notice)
        self.catalog.openRequested.connect(self._open)
        self.session.shown.connect(self._on_step)
        self.session.ended.connect(self._on_ended)
        self.session.clockChanged.connect(self.idleChanged)
        self.session.notice.connect(self.show_notice)

    def run_on_gui(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the GUI thread (callable from any thread)."""
        self.calls.on_gui(fn)

    # --- properties ------------------------------------------------------
    lang = Property(str, lambda self: self._lang, notify=changed)
    elderly = Property(bool, lambda self: self._elderly, notify=changed)
    page = Property(str, lambda self: self._page, notify=changed)
    t = Property("QVariantMap", lambda self: self._strings, notify=changed)
    hallName = Property(str, lambda self: self.branding.hall(self._lang), notify=changed)
    brandName = Property(str, lambda self: self.branding.brand(self._lang), notify=changed)
    logoUrl = Property(str, lambda self: self.branding.logo_url, constant=True)
    counterHours = Property(str, lambda self: self.branding.counter_hours(self._lang), notify=changed)
    oosReason = Property(str, lambda self: str(localize(self._oos_reason, self._lang) or ""), notify=changed)
    notice = Property(str, lambda self: self._notice, notify=noticeChanged)
    volume = Property(float, lambda self: self.voice.volume, notify=changed)
    voiceOn = Property(bool, lambda self: self.voice.enabled, notify=changed)

    @Property(str, notify=changed)
    def otherStart(self) -> str:
        """"Touch to start" in the other language, under the screen's own."""
        return i18n.t("ui.attract.start", "en" if self._lang == "zh" else "zh")

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
        if self._page == "step":  # the engine owns the session's idle timeout
            left = self.session.seconds_left
            return self._idle_timeout if left is None else left
        return self._idle_left

    @Property(bool, notify=idleChanged)
    def idleWarning(self) -> bool:
        if self._page == "step":
            return self.session.idle_warning
        return self._page == "catalog" and 0 < self._idle_left <= self._idle_warning

    @Property(str, notify=idleChanged)
    def idleText(self) -> str:
        return i18n.t("ui.idle.warning", self._lang, seconds=self.idleLeft)

    # --- navigation ------------------------------------------------------
    def navigate(self, page: str) -> None:
        """Show ``page`` (one of PAGES); the technician's pages come this way too."""
        if page not in PAGES or page == self._page:
            return
        self._page = page
        self.changed.emit()
        self.idleChanged.emit()
        if page == "catalog":
            self.guide.say(i18n.text("ui.catalog.voice"), self._lang)
        elif page == "attract":
            self.guide.stop()

    def go_home(self) -> None:
        """The start page for the next resident: nothing of this one is kept
        (session texts, search, language and elderly mode chosen)."""
        self.session.clear()
        self.catalog.reset()
        if self._elderly:
            self._set_elderly(False)
        if self._lang != self.default_lang:
            self._set_lang(self.default_lang)
        self.show_notice("")
        self.guide.forget()
        self.navigate("attract")
        self.changed.emit()
        self._check_out_of_service()

    @Slot()
    def touchStart(self) -> None:
        self.touched()
        if self._page == "attract":
            self.catalog.refresh()
            self.navigate("catalog")

    def _open(self, service_id: str) -> None:
        def started(ok: bool) -> None:
            if ok:
                self.catalog.opened(service_id)
                self.show_notice("")  # the last resident's "session ended" line is not this one's
        self.session.open(service_id, self._lang, self._elderly, then=started)

    def _on_step(self) -> None:
        if self._page not in ("techPin", "diagnostics"):
            self.navigate("step")
        if self._page == "step":
            self.guide.step(self.session.raw, self._lang)

    def _on_ended(self) -> None:
        if self._page == "step":
            self.go_home()

    @Slot()
    def back(self) -> None:
        if self._page == "catalog":
            self.go_home()
        elif self._page == "step":
            self.session.back()

    @Slot()
    def home(self) -> None:
        if self._page == "step":
            self.session.cancel()
        else:
            self.go_home()

    # --- the core ---------------------------------------------------------
    def refresh_services(self) -> None:
        self.catalog.refresh()

    def core_ready(self) -> None:
        """KioskApp finished starting (devices, store, central)."""
        self._core_error = ""
        self.catalog.refresh()

    def core_failed(self, reason: str) -> None:
        self._core_error = reason
        self._oos_reason = reason
        self.navigate("outOfService")
        self.changed.emit()

    def _check_out_of_service(self) -> None:
        if self._core_error:
            return
        reason = self.backend.out_of_service_reason()
        self._oos_reason = reason or ""   # {zh, en}; shown in the current language
        if reason and self._page in ("attract", "catalog"):
            self.navigate("outOfService")
        elif not reason and self._page == "outOfService":
            self.navigate("attract")
        self.changed.emit()

    # --- language, elderly mode, voice, staff -------------------------------
    def _set_lang(self, lang: str) -> None:
        self._lang = lang
        self._strings = ui_strings(lang)
        self.session.set_lang(lang)
        self.catalog.relayout()
        self.changed.emit()
        self.clockChanged.emit()
        self.idleChanged.emit()

    @Slot(str)
    def setLang(self, lang: str) -> None:
        self.touched()
        if lang in i18n.LANGUAGES and lang != self._lang:
            self._set_lang(lang)
            self.session.set_preferences(lang, self._elderly)
            self.guide.forget()
            if self._page == "step":
                self.guide.step(self.session.raw, self._lang)

    @Slot()
    def toggleLang(self) -> None:
        self.setLang("en" if self._lang == "zh" else "zh")

    def _set_elderly(self, on: bool) -> None:
        self._elderly = on
        self.theme.set_elderly(on)
        self.guide.set_elderly(on)
        self.catalog.relayout()
        self.changed.emit()

    @Slot()
    def toggleElderly(self) -> None:
        self.setElderly(not self._elderly)

    @Slot(bool)
    def setElderly(self, on: bool) -> None:
        self.touched()
        self._set_elderly(bool(on))
        self.session.set_preferences(self._lang, self._elderly)
        if self._elderly and self._page == "step":
            self.guide.step(self.session.raw, self._lang)

    @Slot(float)
    def setVolume(self, volume: float) -> None:
        self.touched()
        self.voice.set_volume(volume)
        self.changed.emit()

    # --- pinyin input on the on-screen keyboard -------------------------------
    @Slot(str, result="QVariantList")
    def pinyinCandidates(self, composition: str) -> list:
        return [{"text": w, "used": n} for w, n in pinyin.candidates(composition)]

    @Slot()
    def pinyinWarmUp(self) -> None:
        pinyin.warm_up()

    @Slot()
    def repeatVoice(self) -> None:
        """再听一遍: the screen's guidance once more (the voice comes on if the
        volume was off)."""
        self.touched()
        if self.guide.louder_if_silent():
            self.changed.emit()
        if self._page == "step":
            self.guide.step(self.session.raw, self._lang, again=True)
        elif self._page == "catalog":
            self.guide.say(i18n.text("ui.catalog.voice"), self._lang)

    @Slot()
    def callStaff(self) -> None:
        self.touched()

        def done(result):
            ok = not isinstance(result, Exception) and result is not False
            key = "ui.staff.called" if ok else "ui.staff.failed"
            hours = self.branding.counter_hours(self._lang)  # when someone is at the counters
            self.show_notice(i18n.t(key, self._lang) + ("\n" + hours if hours else ""))
            self.guide.say(i18n.text(key), self._lang)
        self.calls.call(self.backend.call_staff, self.session.raw.get("service"), self._page, then=done)

    def show_notice(self, text: str) -> None:
        """A band under the header for a few seconds ("" hides it)."""
        if text:
            self.notices = (self.notices + [text])[-10:]  # recent notices, for diagnostics and tests
        self._notice = text
        self.noticeChanged.emit()
        if text:
            self._notice_timer.start()

    # --- idle -------------------------------------------------------------
    @Slot()
    def touched(self) -> None:
        """Any tap: the person is here.  In a session the engine keeps the
        idle clock; a tap that is not itself an engine event (paging,
        focusing a field, "continue" on the warning) tells it so."""
        self._last_activity = time.monotonic()
        if self._idle_left != self._idle_timeout:
            self._idle_left = self._idle_timeout
            self.idleChanged.emit()
        if self._page == "step":
            self.session.stay()

    def _on_tick(self) -> None:
        self.clockChanged.emit()
        self._ticks += 1
        if self._ticks % REFRESH_EVERY_TICKS == 0 and self._page in ("attract", "catalog", "outOfService"):
            self.catalog.refresh()
        if self._page == "step":
            self.session.tick()
            self.idleChanged.emit()
        elif self._page == "catalog":
            self._idle_left = max(0, self._idle_timeout - int(time.monotonic() - self._last_activity))
            self.idleChanged.emit()
            if self._idle_left <= 0:
                self.idleExpired()

    @Slot()
    def idleExpired(self) -> None:
        """Idle timeout: wipe the session and go back to the start."""
        if self._page == "step":
            self.session.timeout()
        else:
            self.go_home()

    def shutdown(self) -> None:
        self._tick.stop()
        self.voice.close()
        self.calls.shutdown()
