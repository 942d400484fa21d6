"""The technician's view-model (``tech`` in QML): the PIN gate and the
diagnostics page, over ``kiosk.diagnose.Diagnostics``.  Device tests run on
their own thread so a slow test never holds up the resident's engine calls."""

from __future__ import annotations

from PySide6.QtCore import Property, QObject, Qt, Signal, Slot

from kiosk.core import i18n
from kiosk.core.masking import mask_mapping

from .common import Worker, localize
from .frame import KioskViewModel


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
        return i18n.t("ui.tech.outbox", self.vm.lang, pending=ob.get("pending", "?"), last=last)

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
        self.vm.navigate("techPin")
        self.changed.emit()

    @Slot(str)
    def submitPin(self, pin: str) -> None:
        result = self.gate.attempt(pin)
        lang = self.vm.lang
        if result.ok:
            self._message = ""
            self.vm.navigate("diagnostics")
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
        self.vm.go_home()
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
