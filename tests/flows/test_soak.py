"""Endurance: state from one resident never reaches the next, and a short
fixed-seed soak through one long-lived core stays within its growth bounds."""

from __future__ import annotations

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
