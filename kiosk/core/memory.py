"""Hand freed memory back to the system.

glibc keeps freed heap memory for reuse, and after a large block is freed it
raises its mmap threshold, so later big arrays (face models' activations,
decoded photos) come from the heap too and stay resident.  A kiosk that
loaded its models and served one resident would sit ~50-100 MB above what it
uses.  ``malloc_trim`` returns the free top and free pages of every arena; it
takes a few milliseconds, so it runs at quiet moments (after warm-up, when a
session ends), never per frame.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
_trim = None


def release_free_memory() -> None:
    """Best effort; a no-op where the C library has no ``malloc_trim``."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim:
        _trim(0)
