"""Face verification: ID photo to live face, quality gates, liveness, the non-face alternative.

Import the parts from their modules (``devices.face.verifier`` loads dlib on
first use, not on import of this package).
"""
