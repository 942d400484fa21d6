"""The service catalog: one YAML file per service, loaded into :class:`Flow` objects.

A service file::

    id: no_property_proof
    category: public                    # approval | convenience | public
    title: flows.svc.no_property_proof.title
    devices: [idcard, camera, a4, escpos]   # "idcard|smartcard" = either
    backends: [central, store]
    agency: true                        # may be done on a principal's behalf
    steps:
      - use: identify                   # macro: card -> consent -> face (or staff / SMS)
        role: applicant
      - id: query
        use: work                       # a step type from flows.steps.STEP_TYPES
        run: "@property_query"          # "@name" = a function in functions.py
        store: property
      - id: result
        view: result                    # no "use": a plain step described by data
        ...

Any other key of a step goes into its ``options``.  ``next`` is a step id or
``"@function"``; without it the next entry in the file follows.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from ..model import Choice, Field, Flow, FlowError, Step
from ..steps import STEP_TYPES
from . import doors_appointments, doors_functions, doors_guide, doors_hotline  # noqa: F401  (register the front doors' @functions)
from .functions import FUNCTIONS

STEP_KEYS = {"view", "title", "prompt", "fields", "choices", "store", "multi", "actions", "devices", "timeout_s",
             "auto_s", "next", "can_back", "can_cancel", "final", "history", "agent_skip", "progress"}
AFTER = "__after__"


def _ref(value: Any, where: str) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        try:
            return FUNCTIONS[value[1:]]
        except KeyError:
            raise FlowError(f"{where}: unknown function {value}") from None
    return value


def _fields(specs: list, where: str) -> list[Field]:
    out = []
    for spec in specs or []:
        spec = dict(spec)
        if "validate" in spec:
            spec["validate"] = _ref(spec["validate"], where)
        out.append(Field(**spec))
    return out


def _choices(specs: Any, where: str) -> Any:
    if specs is None:
        return None
    if isinstance(specs, str):
        return _ref(specs, where)
    return [Choice(c["id"], c.get("label", f"flows.choice.{c['id']}"), detail=c.get("detail"), value=c.get("value"))
            for c in specs]


def _actions(specs: list | None) -> list[Choice]:
    out = []
    for a in specs or []:
        if isinstance(a, str):
            out.append(Choice(a, f"flows.action.{a}"))
        else:
            out.append(Choice(a["id"], a.get("label", f"flows.action.{a['id']}")))
    return out


def _identify(entry: dict) -> list[dict]:
    """card -> consent -> face, with staff-assisted and SMS alternatives."""
    role = entry.get("role", "applicant")
    who = entry.get("who")
    p = "" if role == "applicant" and not who else f"{who or role}_"
    cards = entry.get("cards", ["idcard"])
    face = entry.get("face", True)
    common = {"role": role}
    aside = {"progress": False}  # alternatives are not counted as steps of the way
    if role == "applicant" and not who:
        common["agent_skip"] = True
    steps = [{"id": f"{p}card", "use": "read_card", "cards": cards, "face": face,
              "next": f"{p}consent" if face else AFTER,
              **({"who": who, "store": entry.get("store", role)} if who else {}),
              **({"differs_from": entry["differs_from"]} if entry.get("differs_from") else {}),
              **({"resident_code": True, "code_next": AFTER} if entry.get("resident_code") else {}), **common}]
    if face:
        steps += [
            {"id": f"{p}consent", "use": "consent", "next": f"{p}face", "other_step": f"{p}other_way", **common,
             **({"prompt": entry["consent"]} if entry.get("consent") else {})},
            {"id": f"{p}face", "use": "face", "next": AFTER, "other_step": f"{p}other_way", **common},
            {"id": f"{p}other_way", "use": "other_way", "staff_step": f"{p}staff", "sms_step": f"{p}sms_phone",
             **common,
             **aside},
            {"id": f"{p}staff", "use": "staff", "next": AFTER, **common, **aside},
            {"id": f"{p}sms_phone", "use": "sms_phone", "next": f"{p}sms_code", **common, **aside},
            {"id": f"{p}sms_code", "use": "sms_code", "next": AFTER, **common, **aside},
        ]
    return steps


def _expand(entries: list[dict]) -> list[dict]:
    groups: list[list[dict]] = []
    for entry in entries:
        if entry.get("use") == "identify":
            groups.append(_identify(entry))
        else:
            groups.append([dict(entry)])
    flat: list[dict] = []
    for i, group in enumerate(groups):
        after = groups[i + 1][0]["id"] if i + 1 < len(groups) else None
        for step in group:
            for key in ("next", "code_next"):  # code_next: after a resident code (no face step)
                if step.get(key) == AFTER:
                    if after is None:
                        raise FlowError("an identify block cannot be the last step")
                    step[key] = after
            flat.append(step)
    return flat


def build_step(entry: dict, flow_id: str) -> Step:
    entry = dict(entry)
    sid = entry.pop("id", None)
    if not sid:
        raise FlowError(f"{flow_id}: a step without id")
    where = f"{flow_id}.{sid}"
    use = entry.pop("use", None)
    kw: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "fields":
            kw["fields"] = _fields(value, where)
        elif key == "choices":
            kw["choices"] = _choices(value, where)
        elif key == "actions":
            kw["actions"] = _actions(value)
        elif key == "next":
            kw["next"] = _ref(value, where)
        elif key in STEP_KEYS:
            kw[key] = value
        else:
            options[key] = _ref(value, where)
    if options:
        kw["options"] = options
    if use is None:
        return Step(sid, **kw)
    try:
        cls = STEP_TYPES[use]
    except KeyError:
        raise FlowError(f"{where}: unknown step type {use!r}") from None
    return cls(sid, **kw)


def build_flow(doc: dict) -> Flow:
    fid = doc.get("id")
    if not fid:
        raise FlowError("a service without id")
    steps: dict[str, Step] = {}
    for entry in _expand(doc.get("steps", [])):
        step = build_step(entry, fid)
        if step.id in steps:
            raise FlowError(f"{fid}: step {step.id} defined twice")
        steps[step.id] = step
    if not steps:
        raise FlowError(f"{fid}: no steps")
    return Flow(id=fid, category=doc.get("category", "public"), title=doc.get("title", f"flows.svc.{fid}.title"),
                description=doc.get("description", f"flows.svc.{fid}.desc"), steps=steps, first=next(iter(steps)),
                devices=list(doc.get("devices", [])), backends=list(doc.get("backends", [])),
                agency=bool(doc.get("agency", False)), offered=bool(doc.get("offered", True)),
                icon=doc.get("icon", ""), budget_ms=doc.get("budget_ms"),
                options={k: v for k, v in doc.items() if k in ("order", "keywords")})


@functools.lru_cache(maxsize=1)
def _load_default() -> tuple[Flow, ...]:
    from .bundles import build_bundle, is_bundle

    folder = resources.files("flows.catalog")
    flows: dict[str, Flow] = {}
    bundles = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            try:
                doc = yaml.safe_load(entry.read_text("utf-8"))
                if is_bundle(doc):
                    bundles.append((entry.name, doc))   # built once every service is known
                else:
                    flow = build_flow(doc)
                    flows[flow.id] = flow
            except (FlowError, TypeError, yaml.YAMLError) as exc:
                raise FlowError(f"{entry.name}: {exc}") from None
    for name, doc in bundles:
        try:
            flows[doc["id"]] = build_bundle(doc, flows)
        except (FlowError, TypeError, KeyError) as exc:
            raise FlowError(f"{name}: {exc}") from None
    return tuple(flows.values())


def load_catalog() -> dict[str, Flow]:
    """Every shipped service, in display order."""
    flows = sorted(_load_default(), key=lambda f: (f.options.get("order", 100), f.id))
    return {f.id: f for f in flows}
