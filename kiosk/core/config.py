"""Configuration: one TOML file over a built-in default.

Order (later wins): built-in ``default.toml`` < file from ``--config`` or
``KIOSK_CONFIG`` < the signed remote layer from the central platform (only
the keys it may set, see ``remote_config``) < environment (``KIOSK_DATA_DIR``,
``KIOSK_CENTRAL_URL``, ``KIOSK_CENTRAL_TOKEN``, ``KIOSK_MODE``).
Mode: the built-in default alone is ``demo`` (a laptop, ``make run``, the
tests); a site file that does not say ``mode`` is ``production``, which is
what an installed terminal has (``deploy/install.sh`` also writes it).
Validation reports the first problem as one line naming the dotted key.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_CONFIG = "KIOSK_CONFIG"
ENV_DATA_DIR = "KIOSK_DATA_DIR"
ENV_CENTRAL_URL = "KIOSK_CENTRAL_URL"
ENV_MODE = "KIOSK_MODE"
ENV_CENTRAL_TOKEN = "KIOSK_CENTRAL_TOKEN"
MODES = ("demo", "production")

DEVICE_FAMILIES = ("idcard", "smartcard", "camera", "escpos", "a4", "scanner")
DEVICE_SCHEMES = ("sim", "serial", "tcp", "pcsc", "ipp", "ipps", "cups", "v4l2", "file", "usb", "rfc2217", "socket",
                  "evdev", "camera")
CENTRAL_SCHEMES = ("embedded", "http", "https")


class ConfigError(Exception):
    """Invalid configuration; ``str()`` is the one line shown to the user."""

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"invalid config: {key}: {problem}")


def _load_default() -> dict:
    return tomllib.loads((resources.files("kiosk.core") / "default.toml").read_text("utf-8"))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# Scalar schema: dotted key -> (type(s), check or None, description of check)
_NUM = (int, float)
_SCHEMA: dict[str, tuple] = {
    "mode": (str, lambda v: v in MODES, "must be demo or production"),
    "terminal.id": (str, lambda v: 1 <= len(v) <= 64 and v.replace("-", "").replace("_", "").isalnum(),
                    "1-64 letters, digits, - or _"),
    "terminal.hall": (str, None, None),
    "terminal.hall_en": (str, None, None),
    "terminal.profile": (str, lambda v: v in ("hall", "bank"), "must be hall or bank"),
    "terminal.language": (str, lambda v: v in ("zh", "en"), "must be zh or en"),
    "data.dir": (str, lambda v: bool(v.strip()), "must not be empty"),
    "logging.level": (str, lambda v: v.lower() in ("debug", "info", "warning", "error"),
                      "must be debug, info, warning or error"),
    "logging.format": (str, lambda v: v in ("auto", "json", "text"), "must be auto, json or text"),
    "branding.name": (str, None, None),
    "branding.name_en": (str, None, None),
    "branding.logo": (str, None, None),
    "branding.primary": (str, lambda v: _is_colour(v), "must be a colour like #B71C1C"),
    "branding.accent": (str, lambda v: _is_colour(v), "must be a colour like #0D47A1"),
    "services.enabled": (list, lambda v: all(isinstance(x, str) for x in v), "must be a list of service ids"),
    "services.hidden": (list, lambda v: all(isinstance(x, str) for x in v), "must be a list of service ids"),
    "counters.hours": (str, None, None),
    "counters.hours_en": (str, None, None),
    "sms.url": (str, lambda v: urlsplit(v).scheme in ("memory", "http", "https"),
                "scheme must be memory, http or https"),
    "sms.token": (str, lambda v: True, "must be text"),
    "sms.timeout_s": (_NUM, lambda v: 1 <= v <= 30, "must be 1-30 seconds"),
    "staff_call.target": (str, lambda v: urlsplit(v).scheme in ("log", "http", "https"),
                          "scheme must be log, http or https"),
    "remote_config.enabled": (bool, None, None),
    "remote_config.interval_s": (_NUM, lambda v: 10 <= v <= 86400, "must be 10-86400 seconds"),
    "remote_config.public_key": (str, None, None),
    "resident_code.public_key": (str, None, None),
    "sync.in_app": (bool, None, None),
    "face.accept_below": (_NUM, lambda v: 0.3 <= v <= 0.6, "must be between 0.3 and 0.6"),
    "face.reject_above": (_NUM, lambda v: 0.3 <= v <= 0.7, "must be between 0.3 and 0.7"),
    "face.min_frames": (int, lambda v: 1 <= v <= 10, "must be 1-10"),
    "face.max_frames": (int, lambda v: 1 <= v <= 15, "must be 1-15"),
    "face.fuse_best": (int, lambda v: 1 <= v <= 15, "must be 1-15"),
    "face.max_attempts": (int, lambda v: 1 <= v <= 10, "must be 1-10"),
    "face.liveness": (str, lambda v: v in ("blink", "turn", "off"), "must be blink, turn or off"),
    "face.liveness_seconds": (_NUM, lambda v: 1 <= v <= 60, "must be 1-60 seconds"),
    "face.engine": (str, lambda v: v in ("numpy", "dlib"), "must be numpy or dlib"),
    "central.url": (str, lambda v: urlsplit(v).scheme in CENTRAL_SCHEMES, "scheme must be embedded, http or https"),
    "central.token": (str, None, None),
    "central.client_cert": (str, None, None),
    "central.client_key": (str, None, None),
    "central.ca_bundle": (str, None, None),
    "central.verify_tls": (bool, None, None),
    "central.connect_timeout_s": (_NUM, lambda v: 0 < v <= 60, "must be 0-60 seconds"),
    "central.read_timeout_s": (_NUM, lambda v: 0 < v <= 300, "must be 0-300 seconds"),
    "central.public_url": (str, lambda v: not v or urlsplit(v).scheme in ("http", "https") and bool(urlsplit(v).netloc),
                           "must be empty or an http(s) address"),
    "store.retention_days": (int, lambda v: 0 <= v <= 3650, "must be 0-3650 days"),
    "sync.interval_s": (_NUM, lambda v: 0 < v <= 3600, "must be 0-3600 seconds"),
    "sync.backoff_base_s": (_NUM, lambda v: 0 < v <= 60, "must be 0-60 seconds"),
    "sync.backoff_cap_s": (_NUM, lambda v: 0 < v <= 3600, "must be 0-3600 seconds"),
    "sync.batch_size": (int, lambda v: 1 <= v <= 1000, "must be 1-1000"),
    "sync.heartbeat_s": (_NUM, lambda v: 1 <= v <= 3600, "must be 1-3600 seconds"),
    "ui.idle_timeout_s": (int, lambda v: 10 <= v <= 3600, "must be 10-3600 seconds"),
    "ui.idle_warning_s": (int, lambda v: 0 <= v <= 120, "must be 0-120 seconds"),
    "ui.orientation": (str, lambda v: v in ("landscape", "portrait"), "must be landscape or portrait"),
    "ui.fullscreen": (bool, None, None),
    "ui.voice": (bool, None, None),
    "ui.volume": (_NUM, lambda v: 0 <= v <= 1, "must be 0.0-1.0"),
    "ui.voice_pack": (str, None, None),
    "technician.max_failures": (int, lambda v: 1 <= v <= 20, "must be 1-20"),
    "technician.lockout_s": (int, lambda v: 0 <= v <= 86400, "must be 0-86400 seconds"),
    "technician.backoff_s": (_NUM, lambda v: 0 < v <= 600, "must be 0-600 seconds"),
    "staff.max_failures": (int, lambda v: 1 <= v <= 10, "must be 1-10"),
    "staff.backoff_s": (_NUM, lambda v: 0 < v <= 600, "must be 0-600 seconds"),
    "staff.lockout_s": (int, lambda v: 1 <= v <= 600, "must be 1-600 seconds"),
    "staff.call_valid_s": (int, lambda v: 60 <= v <= 3600, "must be 60-3600 seconds"),
    "metrics.enabled": (bool, None, None),
    "metrics.port": (int, lambda v: 0 <= v <= 65535, "must be a TCP port 0-65535"),
    "certificates.signing_dir": (str, None, None),
    "certificates.signing_key": (str, None, None),
    "certificates.signing_cert": (str, None, None),
    "certificates.trusted_cas": (list, lambda v: all(isinstance(x, str) and x for x in v),
                                 "must be a list of PEM file paths"),
    "certificates.terminal_certs": (list, lambda v: all(isinstance(x, str) and x for x in v),
                                    "must be a list of PEM file paths"),
    "certificates.issuer": (str, lambda v: bool(v.strip()), "must not be empty"),
    "certificates.valid_days": (int, lambda v: 1 <= v <= 366, "must be 1-366 days"),
}


def _validate_face(face: dict) -> None:
    if "threshold" in face:  # a site file from before the two-threshold rule: never ignore it silently
        raise ConfigError("face.threshold", "replaced by face.accept_below and face.reject_above (docs/face.md)")
    if face["accept_below"] > face["reject_above"]:
        raise ConfigError("face.reject_above", f"must not be below face.accept_below ({face['accept_below']})")
    if face["min_frames"] > face["max_frames"]:
        raise ConfigError("face.max_frames", f"must not be below face.min_frames ({face['min_frames']})")
    if face["fuse_best"] > face["max_frames"]:
        raise ConfigError("face.fuse_best", f"must not be above face.max_frames ({face['max_frames']})")


def _is_colour(v: str) -> bool:
    return len(v) in (4, 7) and v.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in v[1:])


def _lookup(data: dict, dotted: str):
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None, False
        node = node[part]
    return node, True


def _typename(t) -> str:
    if t is _NUM:
        return "a number"
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list"}.get(t, str(t))


def validate(data: dict) -> None:
    for dotted, (types, check, desc) in _SCHEMA.items():
        value, present = _lookup(data, dotted)
        if not present:
            raise ConfigError(dotted, "missing")
        # bool is an int subclass; keep true/false out of numeric settings
        if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
            raise ConfigError(dotted, f"must be {_typename(types)}, got {value!r}")
        if check is not None and not check(value):
            raise ConfigError(dotted, f"{desc}, got {value!r}")
    _validate_face(data.get("face", {}))
    devices = data.get("devices", {})
    if not isinstance(devices, dict):
        raise ConfigError("devices", "must be a table of device tables")
    for name, dev in devices.items():
        if not isinstance(dev, dict):
            raise ConfigError(f"devices.{name}", "must be a table with family and url")
        family = dev.get("family")
        if family not in DEVICE_FAMILIES:
            raise ConfigError(f"devices.{name}.family", f"must be one of {', '.join(DEVICE_FAMILIES)}, got {family!r}")
        url = dev.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(f"devices.{name}.url", "missing transport URL (e.g. serial:///dev/ttyUSB0?baud=115200 or sim://)")
        scheme = urlsplit(url).scheme
        if scheme not in DEVICE_SCHEMES:
            raise ConfigError(f"devices.{name}.url", f"unknown scheme {scheme or '(none)'!r} in {url!r}")
        timeout = dev.get("timeout_s", 1.0)
        if isinstance(timeout, bool) or not isinstance(timeout, _NUM) or not 0 < timeout <= 60:
            raise ConfigError(f"devices.{name}.timeout_s", f"must be a number 0-60, got {timeout!r}")


@dataclass
class Config:
    data: dict
    source: str = "<default>"
    # how load_config built it, so reload() sees the same file, env and overrides
    load_args: dict | None = field(default=None, repr=False, compare=False)

    def get(self, dotted: str, default: Any = None) -> Any:
        value, present = _lookup(self.data, dotted)
        return value if present else default

    def section(self, name: str) -> dict:
        return copy.deepcopy(self.data.get(name, {}))

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def demo(self) -> bool:
        """Demo mode: simulators, the embedded sandbox and its shortcuts are allowed."""
        return self.data["mode"] == "demo"

    @property
    def data_dir(self) -> Path:
        return Path(os.path.expanduser(self.data["data"]["dir"]))

    @property
    def terminal_id(self) -> str:
        return self.data["terminal"]["id"]

    @property
    def devices(self) -> dict[str, dict]:
        return copy.deepcopy(self.data.get("devices", {}))

    def with_overrides(self, overrides: dict) -> Config:
        merged = _merge(self.data, overrides)
        validate(merged)
        args = None
        if self.load_args is not None:
            args = {**self.load_args, "overrides": _merge(self.load_args.get("overrides") or {}, overrides)}
        return Config(merged, self.source, args)

    def reload(self) -> Config:
        """Load again from the same sources (e.g. after a new remote layer was applied)."""
        if self.load_args is None:
            return load_config(None if self.source == "<default>" else self.source)
        return load_config(**self.load_args)


def load_config(path: str | os.PathLike | None = None, env: dict | None = None, overrides: dict | None = None,
                remote: bool = True) -> Config:
    """Load and validate; raises ConfigError with the offending key."""
    load_args = {"path": path, "env": None if env is None else dict(env), "overrides": overrides, "remote": remote}
    env = os.environ if env is None else env
    data = _load_default()
    source = "<default>"
    path = path or env.get(ENV_CONFIG) or None
    named: set[str] = set(dict((overrides or {}).get("devices") or {}))  # devices a site configured itself
    if path:
        p = Path(path)
        try:
            raw = p.read_text("utf-8")
        except FileNotFoundError:
            raise ConfigError("--config", f"file not found: {p}") from None
        except OSError as exc:
            raise ConfigError("--config", f"cannot read {p}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(p),
                              f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
        try:
            site = tomllib.loads(raw)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            raise ConfigError(str(p), f"not valid TOML ({exc})") from None
        data = _merge(data, site)
        if isinstance(site.get("devices"), dict):
            named |= set(site["devices"])
        # a site file is a real terminal unless it says otherwise
        data["mode"] = site.get("mode", "production")
        source = str(p)
    if overrides:
        data = _merge(data, overrides)
    _apply_env(data, env)
    _drop_optional_devices(data, named)
    validate(data)
    if remote and data["remote_config"]["enabled"]:
        layer = _remote_layer(Config(data, source))
        if layer:
            merged = _merge(data, layer)
            _apply_env(merged, env)
            try:
                validate(merged)
                data = merged
            except ConfigError:
                pass  # the stored remote layer no longer fits this site: keep the local config
    return Config(data, source, load_args)


def _apply_env(data: dict, env) -> None:
    if env.get(ENV_DATA_DIR):
        data["data"]["dir"] = env[ENV_DATA_DIR]
    if env.get(ENV_CENTRAL_URL):
        data["central"]["url"] = env[ENV_CENTRAL_URL]
    if env.get(ENV_CENTRAL_TOKEN):
        data["central"]["token"] = env[ENV_CENTRAL_TOKEN]
    if env.get(ENV_MODE):
        data["mode"] = env[ENV_MODE]


def _drop_optional_devices(data: dict, named: set[str]) -> None:
    """A built-in device marked ``optional`` (the scanner: not every terminal
    has one) is simulated in demo mode only; a production terminal has it only
    when its site file configures it."""
    if data.get("mode") == "demo" or not isinstance(data.get("devices"), dict):
        return
    for name in [n for n, d in data["devices"].items() if isinstance(d, dict) and d.get("optional") is True]:
        if name not in named:
            del data["devices"][name]


def _remote_layer(cfg: Config) -> dict:
    """Overrides from the verified remote configuration in force (see remote_config)."""
    from .remote_config import RemoteConfigStore, trusted_keys_from_config

    if not (cfg.data_dir / "remote").is_dir():
        return {}
    keys = trusted_keys_from_config(cfg)
    if not keys:
        return {}
    return RemoteConfigStore(cfg.data_dir, cfg.terminal_id, keys).overrides()
