"""Theme bundles as data: a catalog file with ``bundle:`` lists services done in one visit.

::

    id: retirement
    category: theme
    bundle: [pension_qualification, social_security_proof, provident_fund_withdrawal]
    data: {purpose: retirement}     # answers the theme gives (asked nowhere then)
    identify: {face: true}          # face check even when no member needs one
    steps: []                       # questions the members share, asked once after identification

The flow built here: what the bundle covers, the identification once (with
face when any member verifies by face; one consent), the bundle's own
questions, every member in turn (flows/steps/bundle.py), the case of the
bundle, the outcome of each service, one receipt listing them, rating.
"""

from __future__ import annotations

from ..model import THEME, Flow, FlowError

TOP_KEYS = {"id", "category", "order", "icon", "keywords", "title", "description", "offered", "bundle", "data",
            "identify", "steps"}


def is_bundle(doc: dict) -> bool:
    return isinstance(doc, dict) and "bundle" in doc


def members_of(doc: dict, flows: dict[str, Flow]) -> list[Flow]:
    fid = doc.get("id")
    names = doc.get("bundle")
    if not isinstance(names, list) or len(names) < 2:
        raise FlowError(f"{fid}: bundle lists at least two services")
    out = []
    for name in names:
        flow = flows.get(name)
        if flow is None:
            raise FlowError(f"{fid}: bundle names unknown service {name!r}")
        if flow.options.get("bundle"):
            raise FlowError(f"{fid}: a bundle cannot hold another bundle ({name})")
        out.append(flow)
    if len({f.id for f in out}) != len(out):
        raise FlowError(f"{fid}: a service listed twice")
    return out


def _union(lists: list[list[str]]) -> list[str]:
    out: list[str] = []
    for items in lists:
        out += [i for i in items if i not in out]
    return out


def bundle_doc(doc: dict, flows: dict[str, Flow]) -> dict:
    """The plain catalog document of the bundle's flow (for :func:`build_flow`)."""
    members = members_of(doc, flows)
    if doc.get("category", THEME) != THEME:
        raise FlowError(f"{doc['id']}: a bundle's category is {THEME}")
    face = bool((doc.get("identify") or {}).get("face")) or any(
        st.view == "face" for f in members for st in f.steps.values())
    names = [f.id for f in members]
    steps = [
        {"id": "overview", "use": "bundle_overview", "members": names, "preset": dict(doc.get("data") or {})},
        {"use": "identify", "face": face, "consent": "bundle.consent", **(doc.get("identify") or {})},
        *[dict(s) for s in doc.get("steps") or []],
        {"id": "members", "use": "bundle_members", "members": names},
        {"id": "record", "use": "record", "status_from": "bundle.outcome", "keep": {"services": "bundle.record"}},
        {"id": "summary", "use": "bundle_summary"},
        {"id": "print_receipt", "use": "receipt", "result_from": "bundle.outcome",
         "list": {"from": "bundle.items", "label": ["service", "ref"], "value": "status"}},
        {"id": "take_paper", "use": "take_paper"},
        {"id": "evaluation", "use": "evaluation"},
        {"id": "thanks", "use": "thanks"},
    ]
    devices = _union([["idcard"] + (["camera"] if face else []), *[f.devices for f in members], ["escpos"]])
    return {**{k: v for k, v in doc.items() if k not in ("bundle", "data", "identify", "steps")}, "category": THEME,
            "devices": devices, "backends": _union([["store"], *[f.backends for f in members]]), "steps": steps}


def build_bundle(doc: dict, flows: dict[str, Flow]) -> Flow:
    from . import build_flow

    flow = build_flow(bundle_doc(doc, flows))
    flow.options["bundle"] = [f.id for f in members_of(doc, flows)]
    return flow
