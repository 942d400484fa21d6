"""Self-service hall kiosk: the application (composition, CLI, health, diagnostics).

The base every package builds on is ``kiosk.core``.
"""

from kiosk.core import __version__  # noqa: F401
