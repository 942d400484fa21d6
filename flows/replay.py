"""Replay: feed a recorded journal into a fresh session and compare the steps."""

from __future__ import annotations

from typing import Any

from .jobs import FakeClock, InlineExecutor
from .journal import Journal
from .model import Flow
from .session import Session


def replay(records: list[dict], flows: dict[str, Flow], services: Any = None, **session_kw: Any) -> dict:
    """Re-run a recorded session and compare the step sequence.

    Jobs run inline exactly where the journal says they finished; masked
    inputs get the field's ``replay_value``.  Returns ``{"same": bool,
    "recorded": [...], "replayed": [...], "outcome": ...}``."""
    start = next(r for r in records if r.get("kind") == "start")
    clock = FakeClock(0.0)
    journal = Journal()
    for key in ("idle_timeout_s", "idle_warning_s"):
        if key in start:
            session_kw.setdefault(key, start[key])
    session = Session(flows[start["service"]], services, lang=start.get("lang", "zh"), clock=clock,
                      executor=InlineExecutor(), journal=journal, flows=flows, check=False, **session_kw)
    session.start()
    for rec in records:
        kind = rec.get("kind")
        if kind == "event":
            clock.now = rec["t"]
            event = dict(rec["event"])
            if event.get("job_seq"):
                continue  # progress posted by a job; replayed jobs post their own
            if event.get("type") == "input" and event.get("value") == "*":
                f = session.field(event.get("field"))
                event["value"] = f.replay_value if f is not None else ""
            session.dispatch(event)
        elif kind == "tick":
            clock.now = rec["t"]
            session.dispatch({"type": "tick"})
    recorded = [r["to"] for r in records if r.get("kind") == "transition"]
    replayed = journal.transitions()
    end = next((r for r in records if r.get("kind") == "end"), {})
    return {"same": recorded == replayed and end.get("outcome") == session.outcome,
            "recorded": recorded, "replayed": replayed, "outcome": session.outcome,
            "recorded_outcome": end.get("outcome")}
