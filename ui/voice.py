"""Offline voice guidance with espeak-ng.

``Voice.say(text, lang)`` never blocks the caller: one background thread owns
the espeak-ng process, a newer utterance replaces a queued one and stops the
one being spoken (the resident moved on; old guidance is noise).  When
espeak-ng is missing the kiosk stays silent and says so once in the log.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from typing import Callable, Sequence

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en-gb"}
# Slower than espeak's default 175 wpm; older residents asked for it.
SPEED = {False: 150, True: 125}


def espeak_command(text: str, lang: str, volume: float, elderly: bool = False, binary: str = "espeak-ng") -> list[str]:
    amplitude = max(0, min(200, round(volume * 200)))  # espeak -a: 0..200, 100 is normal
    return [binary, "-v", VOICES.get(lang, "cmn"), "-a", str(amplitude), "-s", str(SPEED[bool(elderly)]), "--", text]


class Voice:
    def __init__(self, enabled: bool = True, volume: float = 0.8,
                 runner: Callable[[Sequence[str]], "subprocess.Popen | None"] | None = None):
        self.binary = shutil.which("espeak-ng")
        self.enabled = enabled
        self.volume = volume
        self.elderly = False
        self._runner = runner or self._spawn
        self._pending: tuple[str, str] | None = None
        self._proc: subprocess.Popen | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.spoken: list[tuple[str, str]] = []  # last utterances, for diagnostics and tests
        if self.binary is None and runner is None:
            log.warning("espeak-ng not found: voice guidance is off")

    @property
    def available(self) -> bool:
        return self.binary is not None or self._runner is not self._spawn

    def set_volume(self, volume: float) -> None:
        self.volume = max(0.0, min(1.0, float(volume)))

    def say(self, text: str, lang: str = "zh") -> None:
        if not (self.enabled and text and self.available and self.volume > 0):
            return
        with self._cond:
            self._pending = (text, lang)
            self._kill_current()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="voice", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._pending = None
            self._kill_current()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending = None
            self._kill_current()
            self._cond.notify()

    def _kill_current(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.terminate()
            except OSError:
                pass

    def _spawn(self, cmd: Sequence[str]) -> subprocess.Popen | None:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                text, lang = self._pending  # type: ignore[misc]
                self._pending = None
                cmd = espeak_command(text, lang, self.volume, self.elderly, self.binary or "espeak-ng")
                self.spoken = (self.spoken + [(lang, text)])[-20:]
                try:
                    self._proc = self._runner(cmd)
                except OSError as exc:
                    log.warning("voice guidance failed: %s", exc)
                    self._proc = None
            proc = self._proc
            if proc is not None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
