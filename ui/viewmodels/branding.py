"""Who runs the terminal and where it stands: names, logo and counter hours
from the site config, in the screen's language."""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.core import i18n

log = logging.getLogger(__name__)


class Branding:
    def __init__(self, config):
        self.config = config
        self.logo_url = self._find_logo()

    def pick(self, key: str, lang: str) -> str:
        """``key`` (Chinese) or ``key_en`` in ``lang``; the other language
        when one is left empty."""
        zh = str(self.config.get(key, "") or "")
        en = str(self.config.get(key + "_en", "") or "")
        return (en or zh) if lang == "en" else (zh or en)

    def hall(self, lang: str) -> str:
        """The place (terminal.hall): the attract screen's title."""
        return self.pick("terminal.hall", lang) or self.pick("branding.name", lang)

    def brand(self, lang: str) -> str:
        """Who runs the terminal (branding.name): the header's name."""
        return self.pick("branding.name", lang) or self.pick("terminal.hall", lang)

    def counter_hours(self, lang: str) -> str:
        hours = self.pick("counters.hours", lang)
        return i18n.t("ui.counter.hours", lang, hours=hours) if hours else ""

    def _find_logo(self) -> str:
        """branding.logo as a file URL ("" = the built-in emblem).  A relative
        path is read next to the site config file, then from the working
        directory; a missing file is logged once and the emblem shows."""
        logo = str(self.config.get("branding.logo", "") or "").strip()
        if not logo:
            return ""
        path = Path(logo).expanduser()
        if not path.is_absolute():
            source = Path(str(getattr(self.config, "source", "") or ""))
            near = source.parent / path if source.is_file() else None
            path = near if near is not None and near.is_file() else Path.cwd() / path
        if not path.is_file():
            log.warning("branding logo not found, showing the emblem", extra={"path": str(path)})
            return ""
        return path.resolve().as_uri()
