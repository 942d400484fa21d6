"""Deterministic demo answers for the hall's data-driven services.

Each data set is described in ``hall_datasets.yaml`` (no code per service):
which request field keys the answer, the fields of the record and of its
list items, and what an application returns.  Every value is derived from a
hash of the data set, the field and the key, so the same person always gets
the same answer on every machine; nothing is real personal data.

Value rules (one key each):
``pick: [a, b, {zh, en}]``, ``int: [lo, hi]``, ``cents: [lo, hi]`` (whole
yuan), ``days: [lo, hi]`` (a date that many days from today), ``month: i``
(the i-th month before this one, or ``index`` in list items), ``digits: n``,
``ref: PREFIX`` (PREFIX + date + 8 digits), ``const: value``, ``echo: field``
(a request field, masked when it is an ID number), ``year: back`` (this year
minus ``back``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from importlib import resources
from typing import Any

import yaml

from kiosk.core.masking import mask_id_number


@functools.lru_cache(maxsize=1)
def datasets() -> dict[str, dict]:
    raw = (resources.files("central") / "hall_datasets.yaml").read_text("utf-8")
    return yaml.safe_load(raw)["datasets"]


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()[:8], "big")


def _month(today: dt.date, back: int) -> str:
    y, m = today.year, today.month - 1 - back
    while m <= 0:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def _value(rule: dict, seed: int, today: dt.date, request: dict, index: int) -> Any:
    (kind, arg), = rule.items()
    if kind == "pick":
        return arg[seed % len(arg)]
    if kind == "int":
        return arg[0] + seed % (arg[1] - arg[0] + 1)
    if kind == "cents":
        return (arg[0] + seed % (arg[1] - arg[0] + 1)) * 100
    if kind == "days":
        return (today + dt.timedelta(days=arg[0] + seed % (arg[1] - arg[0] + 1))).isoformat()
    if kind == "month":
        return _month(today, index if arg == "index" else int(arg))
    if kind == "digits":
        return f"{seed % 10 ** int(arg):0{int(arg)}d}"
    if kind == "ref":
        return f"{arg}{today:%Y%m%d}{seed % 10 ** 8:08d}"
    if kind == "const":
        return arg
    if kind == "year":
        return today.year - int(arg)
    if kind == "echo":
        value = str(request.get(arg, ""))
        return mask_id_number(value) if arg == "id_number" else value
    raise ValueError(f"unknown value rule {kind!r}")


def _fields(spec: dict, name: str, key: str, today: dt.date, request: dict, index: int = 0) -> dict:
    return {field: _value(rule, _h(name, field, key, index), today, request, index)
            for field, rule in (spec or {}).items()}


def key_of(name: str, request: dict) -> str:
    spec = datasets()[name]
    return "|".join(str(request.get(f, "")) for f in spec.get("key", ["id_number"]))


def query(name: str, request: dict, today: dt.date) -> dict:
    """What the back-end holds for the request's key (``found`` false: no record)."""
    spec = datasets()[name]
    key = key_of(name, request)
    h = _h(name, key)
    absent = str(request.get("id_number", "")) in spec.get("absent_ids", []) or \
        (key not in spec.get("present_keys", []) and h % 100 < int(spec.get("missing", 0)))
    out: dict[str, Any] = {"dataset": name, "query_id": f"HQ{today:%Y%m%d}{h % 10 ** 8:08d}", "found": not absent,
                           "as_of": today.isoformat(), "record": {}, "items": []}
    if absent:
        return out
    out["record"] = _fields(spec.get("record"), name, key, today, request)
    items = spec.get("items")
    if items:
        lo, hi = items.get("count", [1, 1])
        count = lo + _h(name, "count", key) % (hi - lo + 1)
        out["items"] = [_fields(items["fields"], name, key, today, request, i) for i in range(count)]
    return out


def apply(name: str, request: dict, idempotency_key: str, today: dt.date) -> dict:
    """An application or booking: the same key always gives the same answer."""
    spec = datasets()[name]
    reply = spec.get("apply") or {}
    h = _h(name, "apply", idempotency_key)
    out = {"dataset": name, "application_id": f"{reply.get('prefix', 'AP')}{today:%Y%m%d}{h % 10 ** 6:06d}",
           "status": reply.get("status", "accepted"), "received_on": today.isoformat()}
    out.update(_fields(reply.get("fields"), name, idempotency_key, today, request))
    return out


def names(kind: str | None = None) -> list[str]:
    """Data set names; ``kind`` "apply": those that take applications."""
    return [n for n, spec in datasets().items() if kind is None or (kind == "apply") == bool(spec.get("apply"))]
