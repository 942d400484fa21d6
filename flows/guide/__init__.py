"""The service guide's shipped content (``guide.yaml``): for every service,
what it is, who may apply, materials, fees, time limit and where, in zh and
en.  Central may push a newer signed copy (kiosk/doors.py keeps the last good
one); this is the copy a terminal starts with."""

from __future__ import annotations

import functools
from importlib import resources

import yaml

FIELDS = ("what", "who", "materials", "fees", "time_limit", "where")


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    doc = yaml.safe_load((resources.files("flows.guide") / "guide.yaml").read_text("utf-8"))
    return {"version": int(doc["version"]), "entries": doc["entries"]}


def problem(content: dict) -> str | None:
    """Why a guide document cannot be used (shipped or pushed), or None."""
    if not isinstance(content, dict) or not isinstance(content.get("entries"), dict):
        return "no entries table"
    for sid, entry in content["entries"].items():
        if not isinstance(entry, dict):
            return f"{sid}: not a table"
        for f in ("title",) + FIELDS:
            value = entry.get(f)
            if not (isinstance(value, dict) and isinstance(value.get("zh"), str) and isinstance(value.get("en"), str)):
                return f"{sid}.{f}: needs zh and en"
    return None
