"""Phone numbers on record, for one-time codes ("verify another way" -> SMS).

A terminal never learns a resident's number and a resident can no longer
type one: ``POST /v1/identity/phone`` answers, for the ID number read from
the card, the number on record masked (138****1234) and an opaque handle.
The terminal sends the code to the handle; the operator's SMS gateway
resolves the handle with central (``resolve``), so the code reaches only the
phone on record. Lookups are rate-limited per identity and per terminal,
which also limits how many codes one card or one terminal can cause.

The sandbox holds numbers for the sample cards (``PHONES``); 李秀英's card
(resident_long_term) has none, so that card is not offered the SMS way.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

# sample cards (devices/idcard/cards/*.json) -> number on record
PHONES = {
    "110101198503120316": "13812341234",   # 欧阳明 (resident)
    "410105196211200573": "13955556789",   # 白振东 (resident_biden)
    "310101197809150131": "13700001111",   # 王建国 (expired)
    "810000198804050116": "13622223333",   # 陈家豪 (hmt_J)
    "911724198209250133": "13544445555",   # 费南德 (foreigner_Y)
    "USA110075061821": "13466667777",      # 史密斯 (foreigner_I)
}

HANDLE_TTL_S = 600.0
PER_IDENTITY = (5, 3600.0)    # lookups per identity per hour
PER_TERMINAL = (30, 3600.0)   # lookups per terminal per hour


def mask_phone(number: str) -> str:
    """138****1234: the masked form residents see on the screen."""
    return number[:3] + "****" + number[-4:] if len(number) >= 7 else "*" * len(number)


class RateLimited(Exception):
    def __init__(self, retry_after: float, scope: str):
        self.retry_after, self.scope = retry_after, scope
        super().__init__(f"too many code requests for this {scope}")


class PhoneBook:
    """Lookups, handles and their rate limits (in memory: handles live minutes)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, numbers: dict | None = None):
        self.clock = clock
        self.numbers = dict(PHONES if numbers is None else numbers)
        self._handles: dict[str, tuple[str, float]] = {}
        self._seen: dict[str, deque] = {}
        self._lock = threading.Lock()
        self.per_identity, self.per_terminal = PER_IDENTITY, PER_TERMINAL

    def _limit(self, key: str, limit: tuple[int, float], scope: str, now: float) -> None:
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= limit[1]:
            times.popleft()
        if len(times) >= limit[0]:
            raise RateLimited(limit[1] - (now - times[0]), scope)

    def lookup(self, id_number: str, terminal_id: str) -> dict:
        """``{on_record, phone_masked, handle, expires_in_s}``; RateLimited when over a limit."""
        now = self.clock()
        who = "id:" + hashlib.sha256(id_number.upper().encode()).hexdigest()
        with self._lock:
            self._limit(who, self.per_identity, "identity", now)
            self._limit("terminal:" + terminal_id, self.per_terminal, "terminal", now)
            self._seen[who].append(now)
            self._seen["terminal:" + terminal_id].append(now)
            for h in [h for h, (_, exp) in self._handles.items() if exp <= now]:
                del self._handles[h]
            number = self.numbers.get(id_number.upper())
            if number is None:
                return {"on_record": False}
            handle = "ph_" + secrets.token_urlsafe(18)
            self._handles[handle] = (number, now + HANDLE_TTL_S)
        return {"on_record": True, "phone_masked": mask_phone(number), "handle": handle,
                "expires_in_s": int(HANDLE_TTL_S)}

    def resolve(self, handle: str) -> str | None:
        """The number behind a live handle (for the SMS gateway, never a terminal)."""
        with self._lock:
            entry = self._handles.get(handle)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]
