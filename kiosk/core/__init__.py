"""The core every package builds on: config, strings, masking, domain types,
logging, audit trail and CLI helpers.  It imports no other package of the
project (an import-linter contract in setup.cfg checks this).
"""

__version__ = "0.1.0"
