"""The catalog screen's view-model (``catalog`` in QML): tabs, search,
pages of tiles, availability, and the "常用" tab ranked by local use."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Property, QObject, Signal, Slot

from kiosk.core import i18n

from .. import pinyin
from ..usage import UsageStats
from .common import GuiCalls, localize

# The theme bundles (主题服务) and the three categories of the menu, in the
# order the tabs show them; a category the strings do not name is listed
# under "all" only.
CATEGORY_ORDER = ("theme", "approval", "convenience", "public")
FREQUENT, ALL = "frequent", "all"
QUICK_WORDS = 12   # suggestions under the search box: two short rows, not a wall of 26+


class CatalogViewModel(QObject):
    changed = Signal()
    tabsChanged = Signal()            # only when the set of tabs or their language changes
    refreshed = Signal()              # a new list of services (availability may have moved)
    notice = Signal(str)              # why a tapped service cannot start
    openRequested = Signal(str)       # an available service was tapped

    def __init__(self, backend, calls: GuiCalls, usage: UsageStats, *, lang: Callable[[], str],
                 touched: Callable[[], None], per_page: Callable[[], int], parent=None):
        super().__init__(parent)
        self.backend = backend
        self.calls = calls
        self.usage = usage
        self._lang = lang
        self._touched = touched
        self._theme_per_page = per_page
        self.items: list[dict] = []   # every service offered here, {zh, en} texts
        self._category = FREQUENT
        self._search = ""
        self._page = 0
        self._fit = 0

    # --- data -------------------------------------------------------------
    def refresh(self) -> None:
        """Ask the core for the services and their availability (worker thread)."""
        def done(result):
            if isinstance(result, Exception):
                return
            tabs = self._categories()
            self.items = list(result or [])
            self._page = min(self._page, self._pages() - 1)
            self.changed.emit()
            if tabs != self._categories():
                self.tabsChanged.emit()
            self.refreshed.emit()
        self.calls.call(self.backend.services, then=done)

    def reset(self) -> None:
        """The next resident starts on the first page of "常用", unfiltered."""
        self._search, self._category, self._page = "", FREQUENT, 0
        self.changed.emit()

    def relayout(self) -> None:
        """Language or elderly mode changed: texts and page size follow."""
        self._page = 0
        self.changed.emit()
        self.tabsChanged.emit()

    def _categories(self) -> list[str]:
        present = {s.get("category") for s in self.items}
        return [c for c in CATEGORY_ORDER if c in present and i18n.has(f"ui.catalog.tab.{c}")]

    def _filtered(self) -> list[dict]:
        q = self._search.strip().lower()
        if q:  # a search looks through every service, whatever the tab
            return [s for s in self.items if _matches(s, q)]
        if self._category == FREQUENT:
            by_id = {s["id"]: s for s in self.items}
            return [by_id[i] for i in self.usage.ranked(list(by_id))][:self._per_page()]
        if self._category == ALL:
            return list(self.items)
        return [s for s in self.items if s.get("category") == self._category]

    def _per_page(self) -> int:
        # The grid says how many whole rows fit (never more rows than the
        # theme's page needs), so a page fills every slot it draws: two
        # columns show ten tiles, not nine and a gap.
        return max(1, self._fit) if self._fit else int(self._theme_per_page())

    def _pages(self) -> int:
        return max(1, -(-len(self._filtered()) // self._per_page()))

    # --- properties ---------------------------------------------------------
    @Property("QVariantList", notify=changed)
    def services(self) -> list:
        """The tiles of the current page."""
        per = self._per_page()
        start = self._page * per
        return localize(self._filtered()[start:start + per], self._lang())

    @Property("QVariantList", notify=tabsChanged)
    def tabs(self) -> list:
        """[{id, label}]: 常用, 全部, then each category the services use."""
        lang = self._lang()
        ids = [FREQUENT, ALL] + self._categories()
        return [{"id": c, "label": i18n.t(f"ui.catalog.tab.{c}", lang)} for c in ids]

    @Property(int, notify=changed)
    def pages(self) -> int:
        return self._pages()

    @Property(int, notify=changed)
    def page(self) -> int:
        return self._page

    @Property(str, notify=changed)
    def pageText(self) -> str:
        return i18n.t("ui.catalog.page", self._lang(), page=self._page + 1, pages=self._pages())

    @Property(str, notify=changed)
    def category(self) -> str:
        return "" if self._search.strip() else self._category

    @Property(str, notify=changed)
    def search(self) -> str:
        return self._search

    @Property("QVariantList", notify=changed)
    def availableNow(self) -> list:
        return localize([s for s in self.items if s.get("available")], self._lang())

    @Property("QVariantList", notify=changed)
    def quickWords(self) -> list:
        """One search word per service offered here (its first keyword in the
        current language), so a profile never suggests a service it lacks;
        the most used services' words first."""
        en = self._lang() == "en"
        by_id = {s["id"]: s for s in self.items}
        words: list[str] = []
        for sid in self.usage.ranked(list(by_id)):
            word = next((w for w in by_id[sid].get("keywords") or [] if w.isascii() == en and w not in words), None)
            if word is not None:
                words.append(word)
        return words[:QUICK_WORDS]

    # --- taps ---------------------------------------------------------------
    @Slot(str)
    def setCategory(self, category: str) -> None:
        self._touched()
        known = (FREQUENT, ALL, *self._categories())
        self._category = category if category in known else ALL
        self._search, self._page = "", 0
        self.changed.emit()

    @Slot(str)
    def setSearch(self, text: str) -> None:
        self._touched()
        self._search = text
        self._page = 0
        self.changed.emit()

    @Slot(int)
    def turnPage(self, delta: int) -> None:
        self._touched()
        self._page = max(0, min(self._pages() - 1, self._page + delta))
        self.changed.emit()

    @Slot(int)
    def fitTiles(self, count: int) -> None:
        """The grid says how many tiles fit the screen (short screens page
        sooner instead of squeezing text)."""
        if count > 0 and count != self._fit:
            self._fit = count
            self._page = 0
            self.changed.emit()

    @Slot(str)
    def open(self, service_id: str) -> None:
        """A tile was tapped: start the service, or say why it cannot."""
        self._touched()
        svc = next((s for s in self.items if s.get("id") == service_id), None)
        if svc is not None and not svc.get("available", True):
            reason = svc.get("reason") or i18n.text("ui.catalog.unavailable").as_dict()
            self.notice.emit(str(localize(reason, self._lang())))
            return
        self.openRequested.emit(service_id)

    def opened(self, service_id: str) -> None:
        """The service really started: count it for "常用"."""
        self.usage.record(service_id)


def _matches(svc: dict, q: str) -> bool:
    titles = [str(v) for k, v in (svc.get("title") or {}).items() if k in ("zh", "en")]
    keywords = [str(k) for k in svc.get("keywords", [])]
    hay = " ".join(titles + keywords) + " " + str(svc.get("id", ""))
    # typed letters also find Chinese names by pinyin (wfzm -> 无房证明)
    return q in hay.lower() or pinyin.matches(q, *titles, *keywords)
