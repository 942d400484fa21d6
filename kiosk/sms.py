"""One-time codes to residents' phones (the non-face way to verify).

A code goes only to the phone number on record for the identity on the
card: central answers the number masked and an opaque handle
(``CentralClient.phone_on_record``), and the message is addressed to the
handle. The terminal never holds the number and the resident cannot type one.

``sms.url`` chooses where messages go:

- ``memory://`` (default): the newest message kept in memory only (for as
  long as its code is valid), for the sandbox, the demo and the headless
  runner, which reads the code back with ``last_code()``;
  ``down = True`` makes it fail like an unreachable gateway (error-path scripts).
- ``https://``: the operator's SMS gateway. Each message is one JSON POST
  ``{"terminal", "handle", "phone_masked", "text", "text_en"}`` with
  ``Authorization: Bearer <sms.token>`` when a token is set; the gateway
  resolves the handle with central to the number on record. Any 2xx means
  accepted. Nothing is kept on the terminal.

A message that cannot be handed over raises ``SmsError`` (one clear line;
the flow offers "try again" or the counter). Only the masked number is
logged and the code is never logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from urllib.parse import urlsplit

from .core.i18n import Text

log = logging.getLogger(__name__)

SCHEMES = ("memory", "http", "https")
KEEP_S = 300.0  # as long as a one-time code is valid (OneTimeCode's default ttl)


class SmsError(Exception):
    """The message was not handed to the gateway; ``str()`` says why in one line."""


class SmsGateway:
    def __init__(self, url: str = "memory://", token: str = "", terminal_id: str = "", timeout_s: float = 5.0):
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise ValueError(f"sms.url scheme must be one of {', '.join(SCHEMES)}")
        self.url = url
        self.in_memory = scheme == "memory"
        self.token = token
        self.terminal_id = terminal_id
        self.timeout_s = float(timeout_s)
        self._lock = threading.Lock()
        # memory:// keeps only the newest message, and only while its code can
        # still be used: no phone number piles up in a long-running sandbox
        self._last: tuple[str, str, float] | None = None
        self.down = False

    @classmethod
    def from_config(cls, config) -> SmsGateway:
        return cls(str(config.get("sms.url", "memory://")), str(config.get("sms.token", "") or ""),
                   config.terminal_id, float(config.get("sms.timeout_s", 5.0)))

    def send(self, handle: str, message: Text, masked: str = "") -> bool:
        """Send ``message`` to the phone behind ``handle`` (from central's
        phone-on-record answer); ``masked`` is only for logs and the gateway."""
        if self.in_memory:
            if self.down:
                raise SmsError("SMS gateway unreachable (sandbox gateway switched off)")
            with self._lock:
                self._last = (handle, message.zh, time.monotonic() + KEEP_S)
            log.info("one-time code kept in memory (sms.url = memory://)", extra={"phone": masked})
            return True
        import requests

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"terminal": self.terminal_id, "handle": handle, "phone_masked": masked, "text": message.zh,
                "text_en": message.en}
        try:
            resp = requests.post(self.url, json=body, headers=headers, timeout=self.timeout_s)
        except requests.Timeout:
            raise SmsError(f"SMS gateway did not answer within {self.timeout_s:g} s") from None
        except requests.RequestException as exc:
            raise SmsError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if not 200 <= resp.status_code < 300:
            raise SmsError(f"SMS gateway refused the message: HTTP {resp.status_code}")
        log.info("one-time code sent", extra={"phone": masked})
        return True

    def last_code(self, handle: str | None = None) -> str | None:
        """The newest code kept in memory (``memory://`` only), for the runner and demo."""
        with self._lock:
            if self._last is not None and time.monotonic() >= self._last[2]:
                self._last = None
            last = self._last
        msg = last[1] if last is not None and (handle is None or handle == last[0]) else None
        found = re.search(r"(\d{6})", msg or "")
        return found.group(1) if found else None

    def clear(self) -> None:
        with self._lock:
            self._last = None
