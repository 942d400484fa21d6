"""The one message catalog for user-facing text (Chinese and English).

Strings live in ``kiosk/strings/*.toml``; each file is a slice of the same
catalog (one per area, so areas can be edited independently), keys are global
and must be unique across files.  A table entry looks like::

    [idcard.no_card]
    zh = "未检测到身份证，请将身份证放在感应区"
    en = "No ID card found. Place your ID card on the reader."

Placeholders use ``str.format`` syntax and are filled from keyword arguments.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


class CatalogError(Exception):
    pass


def _flatten(prefix: str, table: dict, out: dict, origin: str) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and not (set(value) & set(LANGUAGES)):
            _flatten(full, value, out, origin)
        elif isinstance(value, dict):
            missing = [lang for lang in LANGUAGES if lang not in value]
            if missing:
                raise CatalogError(f"{origin}: message {full!r} lacks {', '.join(missing)}")
            if full in out:
                raise CatalogError(f"{origin}: message {full!r} is defined twice")
            out[full] = {lang: str(value[lang]) for lang in LANGUAGES}
        else:
            raise CatalogError(f"{origin}: {full!r} must be a table with zh and en")


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("kiosk.core") / "strings"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            _flatten("", tomllib.loads(entry.read_text("utf-8")), out, entry.name)
    return out


def t(key: str, lang: str = DEFAULT_LANGUAGE, **kwargs: Any) -> str:
    """Translate ``key`` into ``lang``; unknown keys come back as the key itself
    so a missing string is visible on screen rather than crashing a session."""
    entry = catalog().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    try:
        return text.format(**kwargs) if kwargs else text
    except (KeyError, IndexError, ValueError):
        return text


def has(key: str) -> bool:
    return key in catalog()


@dataclass(frozen=True)
class Text:
    """A catalog reference with its arguments, rendered late in either language."""

    key: str
    args: dict = field(default_factory=dict)

    @property
    def zh(self) -> str:
        return t(self.key, "zh", **self.args)

    @property
    def en(self) -> str:
        return t(self.key, "en", **self.args)

    def render(self, lang: str) -> str:
        return t(self.key, lang, **self.args)

    def as_dict(self) -> dict:
        return {"key": self.key, "zh": self.zh, "en": self.en}

    def __str__(self) -> str:  # logs and CLI lines are English
        return self.en


def text(key: str, **kwargs: Any) -> Text:
    return Text(key, dict(kwargs))
