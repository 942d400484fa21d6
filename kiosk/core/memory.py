"""Hand freed memory back to the system.

glibc keeps freed heap memory for reuse, and after a large block is freed it
raises its mmap threshold, so later big arrays (face models' activations,
decoded photos) come from the heap too and stay resident.  A kiosk that
loaded its models and served one resident would sit ~50-100 MB above what it
uses.  ``malloc_trim`` returns the free top and free pages of every arena; it
takes a few milliseconds, so it runs at quiet moments (after warm-up, when a
session ends), never per frame.

PySide6 reads the source of every module imported after it (to look for
``from __feature__ import``) through ``linecache``, which keeps every line
of every file: ~14 MB for the app's ~1,100 modules.  The cache is emptied
here too; a traceback reads the few files it shows again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import linecache
import logging

log = logging.getLogger(__name__)
_trim = None


def release_free_memory() -> None:
    """Best effort; only the source-line cache where the C library has no ``malloc_trim``."""
    global _trim
    linecache.clearcache()
    if _trim is None:
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim:
        _trim(0)
