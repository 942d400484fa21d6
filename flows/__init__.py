"""Guided service flows: a Qt-free engine, the service catalog and the headless runner.

The touch UI, the session runner (``kiosk session run``) and tests all drive
the same :class:`flows.session.Session` with events and render
:meth:`Session.state` snapshots (documented in docs/flows.md).
"""
