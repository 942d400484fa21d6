"""The flow engine's public names in one place, for step and catalog authors
(``from ..engine import Step, Session, ...``).  The engine itself lives in
focused modules:

- ``flows.model``: Flow, Step, Field, Choice and the text helpers;
- ``flows.session``: Session (events in, state out; jobs, journal, wipe);
- ``flows.jobs``: Job and the clocks; ``flows.availability``: can a service run now;
- ``flows.projection`` / ``flows.state``: the state snapshot and its typed contract;
- ``flows.journal`` / ``flows.replay``: the record of a session and its replay.
"""

from __future__ import annotations

from .availability import Availability, ServiceUnavailable, check_availability, resident_reason
from .jobs import FakeClock, InlineExecutor, Job
from .journal import Journal
from .model import (
                    CATEGORIES,
                    END,
                    THEME,
                    USER_EVENTS,
                    VIEWS,
                    Choice,
                    Field,
                    Flow,
                    FlowError,
                    Step,
                    as_text,
                    raw_text,
                    text_dict,
)
from .replay import replay
from .session import Session
from .state import SessionState, shown_text

__all__ = ["CATEGORIES", "END", "USER_EVENTS", "VIEWS", "Availability", "Choice", "FakeClock", "Field", "Flow",
           "FlowError", "InlineExecutor", "Job", "Journal", "ServiceUnavailable", "Session", "SessionState", "Step",
           "THEME", "as_text", "check_availability", "raw_text", "replay", "resident_reason", "shown_text", "text_dict"]
