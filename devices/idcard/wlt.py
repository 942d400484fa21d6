"""Card photo decoding: 1024 bytes of WLT in, a 102x126 image out.

WLT is a proprietary wavelet format; only vendor libraries decode it.  The
decoder is therefore pluggable: ``decode_photo`` tries each decoder in turn
and the first that recognises the data wins.  Shipped decoders:

- ``VendorLibraryDecoder``: ctypes binding of a vendor ``libwlt2bmp.so`` /
  ``libtermb.so`` exposing ``int unpack(char *wlt, char *bmp, int bmp_header)``
  (returns 1 and fills a 38862-byte BMP).  Unavailable, with the reason, when
  no such library is installed.
- ``SimulatorDecoder``: the simulator's photo bytes start with ``SIM_MAGIC``
  and a photo reference; it returns the packaged PNG of that reference.  Demo
  mode only: in production anything on a serial port could claim to be the
  simulator and show any face, so it is never in the list (not even when a
  site names it as a plug-in) and the driver flags such a card.

Site-specific decoders are named in the device options as
``photo_decoders = ["package.module:Class", ...]`` (tried before the defaults).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

log = logging.getLogger(__name__)

PHOTO_LEN = 1024
PHOTO_SIZE = (102, 126)          # width, height
BMP_LEN = 54 + 308 * 126         # 24-bit rows padded to 4 bytes: 38862
SIM_MAGIC = b"KIOSKSIM-WLT\x00\x01"
REF_LEN = 32


class PhotoDecoder(Protocol):
    name: str

    def available(self) -> tuple[bool, str]:
        """(usable, reason when not)."""

    def decode(self, wlt: bytes) -> tuple[bytes, str] | None:
        """(image bytes, format 'png'|'bmp'), or None when the data is not for this decoder."""


@dataclass
class PhotoResult:
    image: bytes | None
    fmt: str = ""
    decoder: str = ""
    reason: str = ""        # why nothing decoded (English, for logs and the CLI)

    @property
    def ok(self) -> bool:
        return self.image is not None


# --- simulator -----------------------------------------------------------
def packaged_photos() -> list[str]:
    folder = resources.files("devices.idcard") / "photos"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".png"))


def packaged_photo(ref: str) -> bytes:
    if "/" in ref or "\\" in ref or ref.startswith("."):
        raise KeyError(ref)
    entry = resources.files("devices.idcard") / "photos" / f"{ref}.png"
    if not entry.is_file():
        raise KeyError(ref)
    return entry.read_bytes()


def _filler(seed: bytes, n: int) -> bytes:
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def simulator_wlt(ref: str | None, seed: str = "") -> bytes:
    """1024 photo bytes as the simulator stores them on a card.

    With a reference: magic marker + reference + filler, decodable by
    SimulatorDecoder.  Without one: opaque bytes shaped like a real WLT
    (no decoder in this package recognises them)."""
    if ref is None:
        return b"WLf" + _filler(("opaque:" + seed).encode(), PHOTO_LEN - 3)
    name = ref.encode("ascii")
    if len(name) > REF_LEN:
        raise ValueError(f"photo reference {ref!r} longer than {REF_LEN} bytes")
    head = SIM_MAGIC + name.ljust(REF_LEN, b"\x00")
    return head + _filler(head, PHOTO_LEN - len(head))


class SimulatorDecoder:
    name = "simulator"

    def available(self) -> tuple[bool, str]:
        return True, ""

    def decode(self, wlt: bytes) -> tuple[bytes, str] | None:
        if not wlt.startswith(SIM_MAGIC):
            return None
        ref = wlt[len(SIM_MAGIC):len(SIM_MAGIC) + REF_LEN].rstrip(b"\x00").decode("ascii", "replace")
        try:
            return packaged_photo(ref), "png"
        except KeyError:
            log.warning("simulator photo reference not packaged", extra={"photo_ref": ref})
            return None


# --- vendor library --------------------------------------------------------
DEFAULT_LIBRARIES = ("wlt2bmp", "termb")
ENV_LIBRARY = "KIOSK_WLT_LIBRARY"  # explicit path to a vendor library


class VendorLibraryDecoder:
    """Binding of a vendor WLT library; the symbol name differs between vendor
    builds, so both ``unpack`` and ``Unpack`` are looked up."""

    name = "vendor"

    def __init__(self, libraries: Sequence[str] | None = None):
        explicit = os.environ.get(ENV_LIBRARY)
        self.candidates = [explicit] if explicit else list(libraries or DEFAULT_LIBRARIES)
        self._fn = None
        self._reason = ""
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        tried = []
        for cand in self.candidates:
            path = cand if os.sep in cand else (ctypes.util.find_library(cand) or f"lib{cand}.so")
            try:
                lib = ctypes.CDLL(path)
            except OSError as exc:
                tried.append(str(exc).split("\n")[0])
                continue
            fn = getattr(lib, "unpack", None) or getattr(lib, "Unpack", None)
            if fn is None:
                tried.append(f"{path}: no unpack() symbol")
                continue
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
            fn.restype = ctypes.c_int
            self._fn = fn
            self.name = f"vendor:{os.path.basename(path)}"
            return
        self._reason = "no vendor WLT library (" + "; ".join(tried) + ")"

    def available(self) -> tuple[bool, str]:
        self._load()
        return self._fn is not None, self._reason

    def decode(self, wlt: bytes) -> tuple[bytes, str] | None:
        self._load()
        if self._fn is None or len(wlt) != PHOTO_LEN:
            return None
        out = ctypes.create_string_buffer(BMP_LEN)
        if self._fn(wlt, out, 1) != 1:
            return None
        return out.raw, "bmp"


# --- selection ---------------------------------------------------------------
def load_decoder(spec: str) -> PhotoDecoder:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)()


def default_decoders(extra: Sequence[str] = (), demo: bool = False) -> list[PhotoDecoder]:
    """Site plug-ins, then the vendor library; the simulator's decoder only in demo mode."""
    decoders: list[PhotoDecoder] = []
    for spec in extra:
        try:
            decoders.append(load_decoder(spec))
        except Exception as exc:  # a broken plug-in must not stop card reading
            log.warning("photo decoder plug-in unavailable", extra={"decoder": spec, "reason": str(exc)})
    if not demo:
        if any(isinstance(d, SimulatorDecoder) for d in decoders):
            log.warning("simulator photo decoder ignored: demo mode only")
        return [d for d in decoders if not isinstance(d, SimulatorDecoder)] + [VendorLibraryDecoder()]
    return decoders + [SimulatorDecoder(), VendorLibraryDecoder()]


def is_simulator_photo(data: bytes | None) -> bool:
    return bool(data) and data.startswith(SIM_MAGIC)


def decode_photo(wlt: bytes | None, decoders: Sequence[PhotoDecoder] | None = None) -> PhotoResult:
    if not wlt:
        return PhotoResult(None, reason="the card holds no photo")
    reasons = []
    for dec in decoders if decoders is not None else default_decoders():
        usable, why = dec.available()
        if not usable:
            reasons.append(why)
            continue
        try:
            got = dec.decode(wlt)
        except Exception as exc:  # vendor code failing on odd data
            reasons.append(f"{dec.name} failed: {exc}")
            continue
        if got is not None:
            return PhotoResult(got[0], got[1], dec.name)
        reasons.append(f"{dec.name} decoder does not recognise this photo")
    return PhotoResult(None, reason="; ".join(reasons) or "no photo decoder configured")
