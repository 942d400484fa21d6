"""Keep True, False and None alive however often QML reads a property.

PySide6 6.12 drops one reference to ``True`` and one to ``None`` every time
QML reads a property defined in Python (any type: bool, int, str, maps).  On
Python 3.11 these objects are ordinary reference-counted objects, so a kiosk
whose screens read properties all day reaches zero after some hours and the
process aborts ("Fatal Python error: bool_dealloc: deallocating True or
False").  The UI soak found it after ~75 sessions (a few thousand reads per
session).  Python 3.12 makes these objects immortal; here they get a reference
count no process lifetime can wear down (2**40 reads), which changes nothing
else: they are never freed in any case.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40


def pin_singletons() -> None:
    """Once per process, before QML reads any property (idempotent)."""
    if sys.version_info >= (3, 12):
        return
    for obj in (True, False, None):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the object's first field
        if count.value < RESERVE:
            count.value += RESERVE
