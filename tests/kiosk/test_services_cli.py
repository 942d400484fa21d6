"""``kiosk services validate``: every shipped service passes, a broken one is refused line by line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BROKEN = """\
id: broken
category: leisure
devices: [idcard, teleporter]
backends: [central]
steps:
  - id: lookup
    use: query
    dataset: horoscope
  - id: show
    use: show
    headline: hall.nothing.here
    next: loop
  - id: loop
    view: message
    title: flows.working.title
    next: show
  - id: lost
    view: message
"""


def kiosk(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "services", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


def test_every_shipped_service_validates():
    files = sorted(str(p) for p in (ROOT / "flows" / "catalog").glob("*.yaml"))
    r = kiosk("validate", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": ok\n") == len(files)


def test_a_broken_service_is_refused_with_one_line_per_problem(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN, "utf-8")
    r = kiosk("validate", str(bad))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert all(line.startswith(f"{bad}: ") for line in lines)
    said = "\n".join(lines)
    for problem in ("category must be one of", "unknown device 'teleporter'",
                    "'horoscope' is not in the central contract",
                    "'hall.nothing.here' is not in the zh/en catalog", "step loop: no way from here ends",
                    "step lost: never reached"):
        assert problem in said, said
    bad.write_text("steps: [unclosed\n", "utf-8")
    r = kiosk("validate", str(bad))
    assert r.returncode == 1 and r.stdout.count("\n") == 1 and "not valid YAML" in r.stdout
