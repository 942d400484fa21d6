"""Plumbing the view-models share: language picking, the engine thread and
the hop back to the GUI thread."""

from __future__ import annotations

import concurrent.futures as cf
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from kiosk.core import i18n

log = logging.getLogger(__name__)


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


class Worker:
    """One background thread for engine calls, so events keep their order."""

    def __init__(self, name: str = "ui-engine"):
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, fn: Callable, *args, **kwargs) -> cf.Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class GuiCalls(QObject):
    """Runs engine calls on the one worker thread and their results on the
    GUI thread.  Every view-model of a screen shares one, so a catalog
    refresh never overtakes a tap."""

    _ran = Signal(object)         # a callable to run on the GUI thread (queued)

    def __init__(self, name: str = "ui-engine", parent=None):
        super().__init__(parent)
        self.worker = Worker(name)
        self._ran.connect(lambda fn: fn(), Qt.QueuedConnection)

    def on_gui(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the GUI thread (callable from any thread)."""
        self._ran.emit(fn)

    def call(self, fn: Callable, *args, then: Callable[[Any], None] | None = None) -> cf.Future:
        """``fn(*args)`` on the worker; ``then(result)`` on the GUI thread,
        with the exception as the result when it failed."""
        def job():
            try:
                result = fn(*args)
            except Exception as exc:  # engine errors become a notice or an error screen, never a crash
                log.exception("engine call failed")
                result = exc
            if then is not None:
                self.on_gui(lambda: then(result))
            return result
        return self.worker.submit(job)

    def shutdown(self) -> None:
        self.worker.shutdown()
