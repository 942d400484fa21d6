"""Spoken guidance for the screens: each step once when it appears, the
catalog's greeting, notices, and "listen again"."""

from __future__ import annotations

from kiosk.core import i18n

from ..voice import Voice, step_speech
from .common import localize


class Guidance:
    def __init__(self, voice: Voice):
        self.voice = voice
        self._spoken_key: tuple | None = None

    def say(self, message: i18n.Text | dict | str, lang: str) -> None:
        """One message in ``lang``.  ui.voice (Voice.enabled) switches guidance
        on for every mode; elderly mode speaks more slowly (Voice.elderly)."""
        if isinstance(message, i18n.Text):
            message = message.as_dict()
        if isinstance(message, dict):
            message = localize(message, lang)
        self.voice.say(str(message), lang)

    def step(self, state: dict, lang: str, again: bool = False) -> None:
        """Speak a step's guidance unless this very screen was just spoken."""
        key = (state.get("step"), state.get("view"), str(state.get("errors")), str(state.get("message")), lang)
        if not state or (key == self._spoken_key and not again):
            return
        self._spoken_key = key
        parts = step_speech(state, lang)
        if parts:
            self.voice.say_parts(parts, lang)

    def forget(self) -> None:
        """The next step is spoken even if it looks like the last one."""
        self._spoken_key = None

    def stop(self) -> None:
        self.voice.stop()

    def set_elderly(self, on: bool) -> None:
        self.voice.elderly = on
        self.forget()

    def louder_if_silent(self) -> bool:
        """"Listen again" with the volume at zero brings the voice back."""
        if self.voice.volume <= 0:
            self.voice.set_volume(0.8)
            return True
        return False
