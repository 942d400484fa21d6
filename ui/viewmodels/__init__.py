"""Thin view-models: flow state in, taps out.

The flow engine (``flows``) owns every decision; these objects only show
its state and turn taps into engine calls, each focused on one thing:

- ``frame.KioskViewModel`` (``vm`` in QML): pages, language, elderly mode,
  voice, clock, idle countdown, notices, call-staff;
- ``catalog.CatalogViewModel`` (``catalog``): tabs, search, pages of tiles;
- ``session.SessionViewModel`` (``session``): the current step's state and
  the events a tap sends;
- ``technician.TechnicianViewModel`` (``tech``): PIN gate and diagnostics.

Engine calls run on one worker thread (events keep their order) and their
results come back to the GUI thread (``common.GuiCalls``).
"""

from .catalog import CatalogViewModel
from .common import localize, ui_strings
from .frame import KioskViewModel
from .session import SessionViewModel
from .technician import TechnicianViewModel

__all__ = ["CatalogViewModel", "KioskViewModel", "SessionViewModel", "TechnicianViewModel", "localize",
           "ui_strings"]
