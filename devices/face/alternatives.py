"""The non-face way to verify: nobody is made to use their face.

``ALTERNATIVES`` lists what the flow offers on the consent screen ("verify
another way") and after ``FaceSession.alternative_required``:

- ``staff``: press the call button; staff check the ID card in person.
- ``sms_code``: a one-time code sent to the phone registered with the case
  (``kiosk.sms`` sends it to the gateway; this module makes and checks codes).

``OneTimeCode.issue()`` returns the code to send and a checker that keeps
only a salted digest; ``check()`` compares in constant time, expires, and
locks after ``max_tries`` wrong entries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Alternative:
    id: str
    label_key: str  # catalog keys (kiosk/core/strings/face.toml)
    detail_key: str
    needs_phone: bool = False


ALTERNATIVES: dict[str, Alternative] = {
    "staff": Alternative("staff", "face.alternative.staff.label", "face.alternative.staff.detail"),
    "sms_code": Alternative("sms_code", "face.alternative.sms_code.label", "face.alternative.sms_code.detail",
                            needs_phone=True),
}

OK, WRONG, EXPIRED, LOCKED = "ok", "wrong", "expired", "locked"


class OneTimeCode:
    def __init__(self, code: str, ttl_s: float = 300.0, max_tries: int = 3,
                 clock: Callable[[], float] = time.monotonic):
        self._salt = secrets.token_bytes(16)
        self._digest = self._hash(code)
        self.digits = len(code)
        self._clock = clock
        self.expires_at = clock() + ttl_s
        self.max_tries = int(max_tries)
        self.tries = 0
        self.used = False

    @classmethod
    def issue(cls, digits: int = 6, ttl_s: float = 300.0, max_tries: int = 3,
              clock: Callable[[], float] = time.monotonic) -> tuple[str, OneTimeCode]:
        """A fresh random code (to send) and its checker (to keep)."""
        code = f"{secrets.randbelow(10 ** digits):0{digits}d}"
        return code, cls(code, ttl_s=ttl_s, max_tries=max_tries, clock=clock)

    def _hash(self, code: str) -> bytes:
        return hashlib.sha256(self._salt + code.encode("utf-8")).digest()

    @property
    def expired(self) -> bool:
        return self._clock() >= self.expires_at

    @property
    def remaining_tries(self) -> int:
        return max(0, self.max_tries - self.tries)

    def check(self, entered: str) -> str:
        """``ok`` (once), ``wrong``, ``expired`` or ``locked``."""
        if self.used or self.remaining_tries == 0:
            return LOCKED
        if self.expired:
            return EXPIRED
        entered = "".join(str(entered or "").split())
        self.tries += 1
        # digest comparison is constant-time and hides the code's length
        if hmac.compare_digest(self._hash(entered), self._digest):
            self.used = True
            return OK
        return WRONG if self.remaining_tries else LOCKED

    def __repr__(self) -> str:
        return f"OneTimeCode(digits={self.digits}, tries={self.tries}, expired={self.expired})"
