"""dlib's face-recognition network, run on numpy: the same descriptors, several times sooner.

Why this exists: dlib-bin is built without BLAS, so dlib's own forward pass
of this network is single-threaded scalar code (about 75 ms per face on the
2-core target machine, holding the GIL throughout) and it is most of the
time a resident waits for a decision. The network itself is small (29
convolutions on a 150x150 chip, about 0.45 GFLOP); written as im2col plus
matrix products it runs on numpy's multi-threaded BLAS in about 12 ms.

The weights come from the very model file dlib loads
(``dlib_face_recognition_resnet_model_v1.dat``). Only dlib reads that
serialisation and its Python binding does not expose the weights, hence the
small reader below. ``load()`` compares the result with dlib's on a fixed
chip before the network is used; a file laid out differently or any
difference beyond float rounding raises ``ModelFormatError`` and callers
stay on dlib.

Layout facts used (dlib's serialisation): integers are a length byte (low
nibble = byte count, 0x80 = negative) then little-endian bytes; a string is
its length then its bytes; a float is an integer mantissa then an integer
exponent; a tensor is version 2, four dimensions, then raw little-endian
float32. Layers are written from the input upward, each starting with its
type string (``con_4``, ``affine_``, ``relu_``, ``max_pool_2``,
``avg_pool_2``, ``add_prev_``, ``fc_2``). Residual adds zero-pad the smaller
operand (top-left aligned) to the larger one's size, as dlib's ``tt::add`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CHIP = 150
DESCRIPTOR = 128
TOLERANCE = 1e-4  # per component; float32 rounding differences are ~1e-6


class ModelFormatError(Exception):
    """The model file is not the network this module runs, or its results differ from dlib's."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def int(self) -> int:
        try:
            head = self.data[self.pos]
        except IndexError:
            raise ModelFormatError("model file ends early") from None
        size = head & 0x0F
        if size > 8:
            raise ModelFormatError(f"bad integer at byte {self.pos}")
        raw = self.data[self.pos + 1:self.pos + 1 + size]
        if len(raw) != size:
            raise ModelFormatError("model file ends early")
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return mantissa * 2.0 ** exponent

    def string(self) -> str:
        n = self.int()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("ascii", "replace")

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ModelFormatError(f"unknown tensor version at byte {self.pos}")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        end = self.pos + 4 * count
        if count < 0 or end > len(self.data):
            raise ModelFormatError("model file ends early")
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos = end
        return values

    def seek_string(self, pattern: re.Pattern[bytes]) -> str | None:
        """Move to the next layer type string; None at the end of the file."""
        found = pattern.search(self.data, self.pos)
        if found is None:
            return None
        self.pos = found.start()
        return self.string()


_LAYER = re.compile(rb"\x01[\x04-\x0f](?:con_4|affine_|relu_|max_pool_2|avg_pool_2|add_prev_|fc_2)")


@dataclass(frozen=True)
class _Conv:
    weights: np.ndarray  # (k*k*channels_in, channels_out), rows in (ky, kx, c) order to match im2col
    bias: np.ndarray
    size: int
    stride: int
    pad: int


@dataclass(frozen=True)
class _Block:
    first: _Conv
    second: _Conv
    down: bool  # the shortcut is 2x2 average-pooled


def _read_layers(data: bytes) -> tuple[np.ndarray, list[tuple]]:
    r = _Reader(data)
    if r.seek_string(re.compile(rb"\x01\x15input_rgb_image_sized")) is None:
        raise ModelFormatError("not a dlib face recognition model (no input layer)")
    mean = np.array([r.float() for _ in range(3)], np.float32)
    if (r.int(), r.int()) != (CHIP, CHIP):
        raise ModelFormatError("the network does not take 150x150 chips")
    layers: list[tuple] = []
    while (kind := r.seek_string(_LAYER)) is not None:
        if kind == "con_4":
            params = r.tensor()
            layers.append(("con", params, *[r.int() for _ in range(7)]))
        elif kind == "affine_":
            layers.append(("affine", r.tensor()))
        elif kind in ("max_pool_2", "avg_pool_2"):
            layers.append((kind[:3], *[r.int() for _ in range(6)]))
        elif kind == "fc_2":
            outputs, inputs = r.int(), r.int()
            layers.append(("fc", r.tensor(), outputs, inputs))
        else:  # relu_, add_prev_: no parameters
            layers.append((kind.split("_")[0],))
    return mean, layers


def _fold(con: tuple, affine: tuple) -> _Conv:
    """A convolution followed by dlib's affine (a frozen batch norm) as one convolution."""
    if con[0] != "con" or affine[0] != "affine":
        raise ModelFormatError("expected a convolution followed by an affine layer")
    _, params, filters, rows, cols, stride_y, stride_x, pad_y, pad_x = con
    if rows != cols or stride_y != stride_x or pad_y != pad_x:
        raise ModelFormatError("only square convolutions are supported")
    n_weights = params.size - filters
    channels = n_weights // (filters * rows * cols)
    if channels * filters * rows * cols != n_weights or affine[1].size != 2 * filters:
        raise ModelFormatError("convolution sizes do not add up")
    w = params[:n_weights].reshape(filters, channels, rows, cols).astype(np.float64)
    gamma, beta = affine[1][:filters].astype(np.float64), affine[1][filters:].astype(np.float64)
    w = w * gamma[:, None, None, None]
    bias = params[n_weights:].astype(np.float64) * gamma + beta
    weights = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(rows * cols * channels, filters), np.float32)
    return _Conv(weights, bias.astype(np.float32), rows, stride_y, pad_y)


def _build(layers: list[tuple]) -> tuple[_Conv, tuple[int, int], list[_Block], np.ndarray]:
    kinds = [layer[0] for layer in layers]
    if kinds[:4] != ["con", "affine", "relu", "max"]:
        raise ModelFormatError("unexpected network stem")
    stem = _fold(layers[0], layers[1])
    pool = layers[3][1:]
    if pool[0] != pool[1] or pool[2] != pool[3] or pool[4:] != (0, 0):
        raise ModelFormatError("unexpected stem pooling")
    blocks: list[_Block] = []
    i = 4
    while i < len(kinds) and kinds[i] == "con":
        if kinds[i + 2] != "relu":
            raise ModelFormatError("unexpected residual block")
        first, second = _fold(layers[i], layers[i + 1]), _fold(layers[i + 3], layers[i + 4])
        j = i + 5
        down = kinds[j] == "avg"
        if down:
            if layers[j][1:] != (2, 2, 2, 2, 0, 0):
                raise ModelFormatError("unexpected shortcut pooling")
            j += 1
        if kinds[j:j + 2] != ["add", "relu"]:
            raise ModelFormatError("unexpected residual block")
        blocks.append(_Block(first, second, down))
        i = j + 2
    # avg_pool_everything (a 0x0 window) then fc_no_bias
    if kinds[i:] != ["avg", "fc"] or layers[i][1:3] != (0, 0):
        raise ModelFormatError("unexpected network head")
    _, fc, outputs, inputs = layers[i + 1]
    if outputs != DESCRIPTOR or fc.size != outputs * inputs:
        raise ModelFormatError("unexpected descriptor layer")
    return stem, (pool[0], pool[2]), blocks, fc.reshape(inputs, outputs)


def _windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """(out_h, out_w, channels, size, size) view of every window, without copying."""
    h, w = x.shape[:2]
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    return sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride][:out_h, :out_w]


def _conv(x: np.ndarray, c: _Conv) -> np.ndarray:
    if c.pad:
        x = np.pad(x, ((c.pad, c.pad), (c.pad, c.pad), (0, 0)))
    v = _windows(x, c.size, c.stride)
    out_h, out_w = v.shape[:2]
    cols = v.transpose(0, 1, 3, 4, 2).reshape(out_h * out_w, -1)  # the one copy: im2col
    y = cols @ c.weights
    y += c.bias
    return y.reshape(out_h, out_w, -1)


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape))
    if a.shape != shape:
        grown = np.zeros(shape, np.float32)
        grown[:a.shape[0], :a.shape[1], :a.shape[2]] = a
        a = grown
    a[:b.shape[0], :b.shape[1], :b.shape[2]] += b
    return a


class FaceNet:
    """dlib's ResNet face descriptor (``face_recognition_model_v1``) for an aligned 150x150 RGB chip."""

    def __init__(self, mean: np.ndarray, stem: _Conv, pool: tuple[int, int], blocks: list[_Block], fc: np.ndarray):
        self._mean = mean
        self._stem = stem
        self._pool = pool
        self._blocks = blocks
        self._fc = np.ascontiguousarray(fc, np.float32)

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        if chip.shape != (CHIP, CHIP, 3):
            raise ValueError(f"expected a {CHIP}x{CHIP} RGB chip, got {chip.shape}")
        x = (chip.astype(np.float32) - self._mean) * np.float32(1 / 256)
        x = np.maximum(_conv(x, self._stem), 0)
        x = _windows(x, *self._pool).max(axis=(3, 4))
        for b in self._blocks:
            y = _conv(np.maximum(_conv(x, b.first), 0), b.second)
            shortcut = _windows(x, 2, 2).mean(axis=(3, 4), dtype=np.float32) if b.down else x
            x = np.maximum(_add_padded(y, shortcut), 0)
        return (x.mean(axis=(0, 1), dtype=np.float32) @ self._fc).astype(np.float64)


def reference_chip() -> np.ndarray:
    """A fixed, face-free test chip: the comparison with dlib needs identical input, not a face."""
    yy, xx = np.mgrid[0:CHIP, 0:CHIP]
    rgb = np.stack([(xx * 1.7) % 256, (yy * 2.3) % 256, ((xx + yy) * 0.9 + 40) % 256], axis=-1)
    noise = np.random.default_rng(20251123).integers(0, 48, rgb.shape)
    return np.ascontiguousarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))


def load(path: Path | str, reference=None) -> FaceNet:
    """Read the model file; with ``reference`` (dlib's ``face_recognition_model_v1``),
    refuse unless both give the same descriptor for ``reference_chip()``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read {path}: {exc.strerror}") from None
    mean, layers = _read_layers(data)
    try:
        net = FaceNet(mean, *_build(layers))
    except IndexError:
        raise ModelFormatError("the model file ends inside the network") from None
    if reference is not None:
        chip = reference_chip()
        try:
            ours = net.descriptor(chip)
        except ValueError as exc:  # shapes that do not chain: a different network
            raise ModelFormatError(f"the network does not run: {exc}") from None
        theirs = np.asarray(reference.compute_face_descriptor(chip), np.float64)
        worst = float(np.abs(ours - theirs).max())
        if not worst <= TOLERANCE:
            raise ModelFormatError(f"descriptors differ from dlib's by {worst:.2g}")
    return net
