"""Self-service hall kiosk: application core (config, domain types, logging, i18n, CLI)."""

__version__ = "0.1.0"
