"""Touch screen (Qt Quick) for residents and technicians.

The only package that imports Qt; everything it shows comes from the
Qt-free flow engine through ``ui.backend.EngineBackend``.
"""
