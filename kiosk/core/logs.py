"""Structured logging with personal data masked on every record.

``setup_logging`` installs one handler writing JSON lines (or readable text on
a terminal).  ``MaskingFilter`` runs on the handler, so every record from any
library is masked after its arguments are merged: ID/phone/card numbers by
pattern, known personal values (names, addresses read from a card during the
current session) by exact match, and structured ``extra`` fields by name.

Flows call ``remember_personal`` when they learn a person's name or address and
``forget_personal`` when the session is wiped.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import weakref
from collections.abc import Iterable

from . import masking
from .masking import DROP_FIELDS, PERSONAL_FIELDS, mask_mapping, mask_text

_STD_ATTRS = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}

_filters: weakref.WeakSet[MaskingFilter] = weakref.WeakSet()
_filters_lock = threading.Lock()


class MaskingFilter(logging.Filter):
    """Masks every record by the one policy (kiosk.core.masking), including the
    values the current session registered with ``remember_personal``."""

    def __init__(self) -> None:
        super().__init__()
        with _filters_lock:
            _filters.add(self)

    def mask(self, text: str) -> str:
        return mask_text(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = self.mask(message)
        record.args = None
        for key in list(vars(record)):
            if key in _STD_ATTRS:
                continue
            value = getattr(record, key)
            if key in DROP_FIELDS:
                setattr(record, key, "<omitted>")
            elif key in PERSONAL_FIELDS and isinstance(value, str):
                setattr(record, key, PERSONAL_FIELDS[key](value))
            elif isinstance(value, (dict, list, tuple)):
                setattr(record, key, mask_mapping(value))
            elif isinstance(value, str):
                setattr(record, key, self.mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def remember_personal(name: str | None = None, address: str | None = None, others: Iterable[str] = (),
                      numbers: Iterable[str] = ()) -> None:
    """Register values that must be masked by exact match until ``forget_personal``:
    names (``name``, ``others``), the address, and ID/permit ``numbers``."""
    masking.remember_person(name=name, address=address, names=tuple(others), numbers=tuple(numbers))


def forget_personal() -> None:
    masking.forget_session()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                data[key] = value
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}
        if extras:
            base += " " + json.dumps(extras, ensure_ascii=False, default=str)
        return base


def setup_logging(level: str = "info", fmt: str = "auto", stream=None, logfile: str | None = None) -> MaskingFilter:
    """Configure the root logger once for a process; returns the masking filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kiosk", False):
            root.removeHandler(handler)
    stream = stream or sys.stderr
    masking = MaskingFilter()
    handlers: list[logging.Handler] = []
    h = logging.StreamHandler(stream)
    use_json = fmt == "json" or (fmt == "auto" and not getattr(stream, "isatty", lambda: False)())
    h.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handlers.append(h)
    if logfile:
        fh = logging.FileHandler(logfile, encoding="utf-8")
        fh.setFormatter(JsonFormatter())
        handlers.append(fh)
    for handler in handlers:
        handler.addFilter(masking)
        handler._kiosk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return masking
