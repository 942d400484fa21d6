"""Transport URLs (``serial:///dev/ttyUSB0?baud=115200``, ``tcp://host:9100``...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class DeviceURL:
    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    params: dict = field(default_factory=dict)
    raw: str = ""

    def param(self, name: str, default=None, cast=str):
        if name not in self.params:
            return default
        try:
            return cast(self.params[name])
        except (TypeError, ValueError):
            raise ValueError(f"bad value for {name!r} in {self.raw!r}") from None


def parse_url(url: str) -> DeviceURL:
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"device URL needs a scheme (e.g. serial://, tcp://, sim://): {url!r}")
    host = unquote(parts.hostname or "") if parts.netloc else ""
    # pcsc://Reader Name keeps spaces and case in the "host" part
    if parts.scheme == "pcsc":
        host = unquote(parts.netloc)
    return DeviceURL(
        scheme=parts.scheme,
        host=host,
        port=parts.port if parts.scheme != "pcsc" else None,
        path=unquote(parts.path),
        params=dict(parse_qsl(parts.query)),
        raw=url,
    )
