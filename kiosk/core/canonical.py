"""Canonical JSON: the one byte form of a body that is hashed, signed, encrypted
or compared (case bodies and their idempotency hashes, remote configuration
signatures, audit record MACs, central's stored requests).

Sorted keys, no spaces, UTF-8 (not ASCII escapes): the same data gives the
same bytes on the terminal and at central, whichever side wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def canonical_json(data: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """``default`` turns values JSON does not know (e.g. dates) into ones it does."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default).encode("utf-8")
