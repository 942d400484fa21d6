"""``kiosk session run`` and ``kiosk demo``: scripted residents through the real engine."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kiosk.core.clikit import emit, fail

log = logging.getLogger(__name__)


def _start_app(config):
    from kiosk.app import KioskApp

    try:
        return KioskApp(config).start()
    except Exception as exc:
        fail(f"cannot start the kiosk core: {type(exc).__name__}: {exc}")


@click.group("session")
def session() -> None:
    """Run a service headless with a scripted resident and simulated devices."""


@session.command("run")
@click.argument("service")
@click.option("--script", "script_path", type=click.Path(dir_okay=False),
              help="YAML script (default: the shipped script for SERVICE).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write what the resident gets here.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def run_command(ctx: click.Context, service: str, script_path: str | None, out_dir: str | None, as_json: bool) -> None:
    """Play SERVICE with the script; exit 0 only when the flow reached its end state."""
    from flows.runner import Runner, ScriptError, format_report, load_script, shipped_script

    try:
        script = load_script(script_path or shipped_script(service))
    except ScriptError as exc:
        fail(str(exc), code=2)
    if script.get("service") and script["service"] != service:
        fail(f"the script is for {script['service']}, not {service}", code=2)
    app = _start_app(ctx.obj.config)
    try:
        try:
            report = Runner(app, out_dir).run(script, service)
        except ScriptError as exc:
            fail(str(exc), code=2)
    finally:
        app.stop()
    emit(report.as_dict(), as_json, human=format_report(report))
    if not report.ok:
        raise SystemExit(1)


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out/demo", show_default=True,
              help="Write what each resident gets here.")
@click.option("--json", "as_json", is_flag=True, help="JSON: per service ok, machine_ms, artifacts.")
@click.pass_context
def demo(ctx: click.Context, out_dir: str, as_json: bool) -> None:
    """Run every seed service once with the shipped scripts."""
    from flows.runner import Runner, ScriptError, demo_scripts, load_script

    app = _start_app(ctx.obj.config)
    reports = []
    try:
        runner = Runner(app, Path(out_dir))
        for path in demo_scripts():
            script = load_script(path)
            try:
                reports.append(runner.run(script))
            except ScriptError as exc:
                from flows.runner import RunReport

                reports.append(RunReport(script.get("service", path.stem), error=str(exc)))
    finally:
        app.stop()
    ok = all(r.ok for r in reports)
    if as_json:
        emit({"ok": ok, "out": str(out_dir), "services": [
            {"service": r.service, "ok": r.ok, "outcome": r.outcome, "machine_ms": round(r.machine_ms, 1),
             "budget_ms": r.budget_ms, "wall_ms": round(r.wall_ms, 1), "case_ref": r.case_ref,
             "artifacts": r.artifacts, "error": r.error} for r in reports]}, True)
    else:
        lines = [f"{'service':<28} {'ok':<4} {'outcome':<10} {'machine ms':>10} {'goal':>6} {'wall s':>7}  artifacts"]
        for r in reports:
            lines.append(f"{r.service:<28} {'yes' if r.ok else 'NO':<4} {r.outcome or '-':<10} {r.machine_ms:>10.1f}"
                         f" {r.budget_ms or '':>6} {r.wall_ms / 1000:>7.1f}  {len(r.artifacts)}"
                         + (f"  ({r.error})" if r.error else ""))
        lines.append(f"outputs in {out_dir}")
        click.echo("\n".join(lines))
    if not ok:
        raise SystemExit(1)
