"""Endurance: state from one resident never reaches the next, and a short
fixed-seed soak through one long-lived core stays within its growth bounds."""

from __future__ import annotations

import pytest

from flows.runner import load_script, shipped_script


def test_agents_card_left_on_the_reader_is_not_taken_for_the_principals(runner):
    script = load_script(shipped_script("family_agency"))
    steps = script["steps"]
    at = steps.index({"card": "resident_long_term"})
    # The agent's card stays on the reader: the step says to take it away and
    # waits; the principal's card is read once it lies there instead.
    script = dict(script, steps=steps[:at] + [
        {"expect": {"step": "principal_card", "hint": "flows.agency.take_agent_card"}},
        {"assert": {"error": None}},
    ] + steps[at:])
    report = runner.run(script)
    assert report.ok, report.error
    case = runner.app.store.list_cases(limit=1)[0]
    assert case["service"] == "social_security_proof"


@pytest.mark.timeout(900)  # a few minutes on a loaded machine; the bound is for a loaded CI runner
def test_short_soak_with_every_fault_stays_within_bounds(kiosk_app, monkeypatch):
    """Every service three times (one round of warm-up, two measured) through
    the one shared core, with each kind of fault once at a seeded point:
    nothing grows, no session fails unless a fault was injected, every fault
    is shown to the resident and recovers by itself."""
    from kiosk.soak import FAULTS, Soak

    # Liveness takes seconds of real camera time per face session; the
    # endurance question is the same without it (benchmarks/soak.py keeps it).
    monkeypatch.setattr(kiosk_app, "config", kiosk_app.config.with_overrides({"face": {"liveness": "off"}}))
    lines: list[str] = []
    soak = Soak(kiosk_app, seed=14, out=lines.append)
    rounds = len(soak.scripts)
    result = soak.run(2 * rounds, every=rounds, warmup=rounds, schedule=soak.every_fault_once(2 * rounds))
    assert len(result.samples) == 3
    result.rss_from = rounds  # what fills up in the first rounds is not a leak
    # One round is a short window for RSS on a shared machine (allocator pools
    # still settle); the 20 MB goal over thousands of sessions is benchmarks/soak.py's.
    assert result.problems(rss_mb=40.0) == [], "\n".join(lines)
    assert sorted(f["name"] for f in result.faults) == sorted(f.name for f in FAULTS)
    assert all(f.get("seen") for f in result.faults)
