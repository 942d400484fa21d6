"""``kiosk services``: the service catalog as data (table, validate, preview).

``validate FILE...`` checks a service file the way the kiosk will use it:
the schema, that every text it shows is in the zh/en catalog, that its
devices, back-ends, back-end data sets, layouts and templates are known, and
that every path through it ends.  One line per problem, exit 1.

``preview FILE --out DIR`` renders every screen of the service along its
resident script (the sample data) with the real QML screens (ui/preview.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

KNOWN_DEVICES = {"idcard", "smartcard", "camera", "escpos", "a4", "scanner"}
KNOWN_BACKENDS = {"central", "store", "signer"}
TOP_KEYS = {"id", "category", "order", "icon", "keywords", "devices", "backends", "agency", "offered", "budget_ms",
            "title", "description", "steps"}
TEXT_OPTIONS = ("headline", "reason", "subject", "scan_wrong")
NEEDS = {"query": ("dataset",), "apply": ("dataset",), "pick": ("from", "key", "label"), "pay": ("amount",),
         "certificate": ("template",)}


@click.group("services")
def services() -> None:
    """The service catalog: list it, check a service file."""


@services.command("table")
def table() -> None:
    """Print the README's service table (markdown) from the catalog."""
    from flows.catalog import load_catalog
    from flows.catalog.menu import services_table

    click.echo(services_table(load_catalog()))


@services.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check service files: one line per problem, exit 1 when there is any."""
    bad = False
    for name in files:
        problems = check_file(Path(name))
        for p in problems:
            click.echo(f"{name}: {p}")
        if not problems:
            click.echo(f"{name}: ok")
        bad = bad or bool(problems)
    if bad:
        raise SystemExit(1)


@services.command("preview")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the PNGs.")
@click.option("--script", "script_path", type=click.Path(dir_okay=False), default=None,
              help="The resident script with the sample data (default: flows/scripts/ID.yaml).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@click.option("--elderly", is_flag=True, help="Elderly mode (larger text).")
def preview_command(file: str, out: str, script_path: str | None, lang: str, elderly: bool) -> None:
    """Screenshots of every step of a service file, one PNG per screen."""
    import yaml

    from flows.catalog import build_flow, load_catalog
    from flows.catalog.bundles import build_bundle, is_bundle
    from flows.runner import ScriptError, load_script, shipped_script
    from kiosk.core.clikit import fail

    problems = check_file(Path(file))
    if problems:
        for p in problems:
            click.echo(f"{file}: {p}")
        raise SystemExit(1)
    doc = yaml.safe_load(Path(file).read_text("utf-8"))
    flow = build_bundle(doc, dict(load_catalog())) if is_bundle(doc) else build_flow(doc)
    try:
        script = load_script(script_path or shipped_script(flow.id))
    except ScriptError as exc:
        fail(f"{exc} (give the sample data with --script)")
    from ui.preview import preview

    files, report = preview(flow, script, Path(out), lang=lang, elderly=elderly)
    for f in files:
        click.echo(str(f))
    if report is None or not report.ok:
        fail(f"the script did not reach its end: {getattr(report, 'error', None) or 'no report'}")


def check_file(path: Path) -> list[str]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        return [f"cannot read: {exc.strerror or exc}"]
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {str(exc).splitlines()[0]}"]
    if not isinstance(doc, dict):
        return ["a service file is a mapping (id, category, steps...)"]
    return check_service(doc)


def check_service(doc: dict) -> list[str]:
    from flows.catalog import build_flow
    from flows.catalog.bundles import is_bundle
    from flows.engine import CATEGORIES, FlowError

    if is_bundle(doc):
        return check_bundle(doc)
    problems = [f"unknown key {k!r}" for k in doc if k not in TOP_KEYS]
    if doc.get("category") not in CATEGORIES:
        problems.append(f"category must be one of {', '.join(CATEGORIES)}")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        return [*problems, "steps must be a list of mappings"]
    for need in doc.get("devices") or []:
        problems += [f"unknown device {fam!r}" for fam in str(need).split("|") if fam not in KNOWN_DEVICES]
    problems += [f"unknown back-end {b!r}" for b in doc.get("backends") or [] if b not in KNOWN_BACKENDS]
    problems += _check_steps(doc)
    try:
        # a bad category is said once above; the rest is still checked
        flow = build_flow(doc if doc.get("category") in CATEGORIES else {**doc, "category": CATEGORIES[0]})
    except (FlowError, TypeError, KeyError, ValueError) as exc:
        return [*problems, str(exc)]
    problems += _check_texts(doc, flow)
    problems += _check_paths(flow)
    return problems


def check_bundle(doc: dict) -> list[str]:
    """A theme bundle: its services are shipped ones, its own steps and texts are known, it builds."""
    from flows.catalog import load_catalog
    from flows.catalog.bundles import TOP_KEYS as BUNDLE_KEYS
    from flows.catalog.bundles import build_bundle
    from flows.engine import THEME, FlowError

    problems = [f"unknown key {k!r}" for k in doc if k not in BUNDLE_KEYS]
    if doc.get("category", THEME) != THEME:
        problems.append(f"a bundle's category is {THEME}")
    if not isinstance(doc.get("steps", []), list) or not all(isinstance(s, dict) for s in doc.get("steps") or []):
        return [*problems, "steps must be a list of mappings"]
    catalog = {k: f for k, f in load_catalog().items() if not f.options.get("bundle")}
    for name in doc.get("bundle") or []:
        if name not in catalog:
            problems.append(f"bundle names {name!r}, which is not a shipped service")
    if problems:
        return problems
    problems += _check_steps({"steps": doc.get("steps") or []})
    try:
        flow = build_bundle(doc, catalog)
    except (FlowError, TypeError, KeyError, ValueError) as exc:
        return [*problems, str(exc)]
    problems += _check_texts(doc, flow)
    return problems + _check_paths(flow)


def _check_steps(doc: dict) -> list[str]:
    from flows.steps import STEP_TYPES
    from printers.documents.hall import templates

    datasets, appliable = _contract_datasets()
    layouts = {p.stem for p in (Path(__file__).resolve().parents[1] / "printers" / "escpos" / "layouts").glob("*.toml")}
    out = []
    for i, step in enumerate(doc["steps"]):
        where = f"step {step.get('id', i + 1)}"
        use = step.get("use")
        if use is not None and use != "identify" and use not in STEP_TYPES:
            out.append(f"{where}: unknown step type {use!r}")
        out += [f"{where}: {use} needs {k!r}" for k in NEEDS.get(use, ()) if not step.get(k)]
        if use in ("query", "apply") and step.get("dataset"):
            known = appliable if use == "apply" else datasets
            if step["dataset"] not in known:
                out.append(f"{where}: data set {step['dataset']!r} is not in the central contract"
                           + (" for applications" if use == "apply" else ""))
        if use == "receipt" and step.get("layout", "hall_receipt") not in layouts:
            out.append(f"{where}: no receipt layout {step.get('layout')!r}")
        if use == "certificate" and step.get("template") and step["template"] not in templates():
            out.append(f"{where}: no certificate template {step['template']!r}")
    return out


def _contract_datasets() -> tuple[set, set]:
    from importlib import resources

    import yaml

    from central import hall_data

    contract = yaml.safe_load((resources.files("central") / "openapi.yaml").read_text("utf-8"))
    enum = set(contract["components"]["schemas"]["HallDataset"]["enum"])
    return enum, enum & set(hall_data.names("apply"))


def _texts(doc: dict, flow: Any) -> list[str]:
    keys = [flow.title, flow.description]
    for step in flow.steps.values():
        keys += [k for k in (step.title, step.prompt) if isinstance(k, str)]
        for f in step.fields:
            keys += [f.label or f"flows.field.{f.name}"] + ([f.placeholder] if f.placeholder else [])
        keys += [c.label for c in step.choices or [] if isinstance(c.label, str)]
        keys += [a.label for a in step.actions if isinstance(a.label, str)]
        keys += [step.options[k] for k in TEXT_OPTIONS if isinstance(step.options.get(k), str)]
        for row in (step.options.get("rows") or []):
            keys += [row.get("label")] + ([row["text"]] if "text" in row else [])
        if step.options.get("consent") or (step.view == "consent" and isinstance(step.prompt, str)):
            keys.append(step.prompt)
    return [k for k in keys if k]


def _check_texts(doc: dict, flow: Any) -> list[str]:
    from kiosk.core import i18n

    try:
        i18n.catalog()
    except i18n.CatalogError as exc:
        return [f"strings: {exc}"]
    missing = sorted({k for k in _texts(doc, flow) if not i18n.has(k)})
    return [f"text {k!r} is not in the zh/en catalog (kiosk/core/strings/)" for k in missing]


def _check_paths(flow: Any) -> list[str]:
    """Every step reachable from the first can reach the end; steps nothing leads to are reported."""
    from flows.engine import END

    succ: dict[str, set] = {}
    dynamic = False
    for sid, step in flow.steps.items():
        nxt = step.next
        targets = set()
        if callable(nxt):
            dynamic = True
            targets = set(flow.steps) | {END}   # a function may go anywhere
        else:
            targets.add(nxt or flow.after(sid))
        targets |= {step.options[k] for k in ("missing", "other_step", "staff_step", "sms_step")
                    if isinstance(step.options.get(k), str)}
        goto = step.options.get("goto")
        if isinstance(goto, dict):   # actions that lead to named steps
            targets |= {t for t in goto.values() if isinstance(t, str)}
        if step.final or step.view == "evaluation":
            targets.add(END)
        succ[sid] = targets
    seen, todo = set(), [flow.first]
    while todo:
        sid = todo.pop()
        if sid in seen or sid == END:
            continue
        seen.add(sid)
        todo += [t for t in succ.get(sid, ()) if t in flow.steps or t == END]
    ends = {END}
    changed = True
    while changed:
        changed = False
        for sid, targets in succ.items():
            if sid not in ends and targets & ends:
                ends.add(sid)
                changed = True
    out = [f"step {sid}: no way from here ends the service" for sid in flow.steps if sid in seen and sid not in ends]
    if not dynamic:
        out += [f"step {sid}: never reached" for sid in flow.steps if sid not in seen]
    return out
