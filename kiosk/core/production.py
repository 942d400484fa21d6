"""What a terminal in production mode must not run with.

Demo mode (``mode = "demo"``) allows simulated devices, the embedded sandbox
central platform, the in-memory SMS sandbox and the sandbox's own tokens; in
production each of them is a reason to refuse to start (one line, exit 2).
``kiosk config check`` lists every problem and ``kiosk health`` reports demo
mode itself as one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .config import Config, ConfigError

# Tokens the sandbox hands out (central.app) start with this, so
# a production config carrying one is recognised whatever the rest of it is.
SANDBOX_TOKEN_PREFIX = "sandbox-"

DEMO_PROBLEM = ("demo mode: simulated devices and the sandbox central platform are allowed"
                " (not for a terminal in service)")


def is_sandbox_token(token: str) -> bool:
    return bool(token) and token.startswith(SANDBOX_TOKEN_PREFIX)


def problems(cfg: Config) -> list[tuple[str, str]]:
    """``(dotted key, problem)`` for every setting a production terminal may not have."""
    out: list[tuple[str, str]] = []
    scheme = urlsplit(str(cfg.get("central.url", ""))).scheme
    if scheme == "embedded":
        out.append(("central.url", "embedded:// is the sandbox central platform"))
    elif scheme == "http":
        out.append(("central.url", "http:// sends cases unencrypted; use https://"))
    if cfg.get("central.verify_tls", True) is False:
        out.append(("central.verify_tls", "false accepts any server certificate"))
    if is_sandbox_token(str(cfg.get("central.token", ""))):
        out.append(("central.token", "a sandbox token"))
    if scheme == "https" and not (cfg.get("central.token") or cfg.get("central.client_cert")):
        out.append(("central.client_cert", "the terminal has no credential for the central platform"))
    if not str(cfg.get("central.public_url", "") or "").strip():
        out.append(("central.public_url", "not set: receipts and certificates would carry no verification link"))
    for name, dev in sorted(cfg.devices.items()):
        if urlsplit(str(dev.get("url", ""))).scheme == "sim":
            out.append((f"devices.{name}.url", "sim:// is a simulator"))
    sms = urlsplit(str(cfg.get("sms.url", ""))).scheme
    if sms == "memory":
        out.append(("sms.url", "memory:// is the SMS sandbox (codes never reach a phone)"))
    elif sms == "http":
        out.append(("sms.url", "http:// sends one-time codes unencrypted; use https://"))
    return out


def check_can_start(cfg: Config) -> None:
    """Raise ConfigError (one line) when a production config names a demo part."""
    if cfg.demo:
        return
    found = problems(cfg)
    if found:
        key, problem = found[0]
        more = f" (and {len(found) - 1} more: kiosk config check)" if len(found) > 1 else ""
        raise ConfigError(key, f"{problem}; not allowed in production mode (mode = \"demo\" for a demo){more}")


def report(cfg: Config) -> list[str]:
    """Lines for ``kiosk config check``: the mode and each production problem."""
    if cfg.demo:
        return [DEMO_PROBLEM]
    return [f"{key}: {problem}" for key, problem in problems(cfg)]
