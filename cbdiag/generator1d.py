"""Untrained 1-D upsampler stacks (numpy): what a vocoder's upsampler paints on day 0.

The audio analogue of :mod:`cbdiag.generator`. A stack of the shape of HiFi-GAN's upsampling
path: ``Conv1d(k7)`` from ``features`` input channels to ``width``, then one stage per rate
``u`` (``8x8x2x2`` by default), each ``LeakyReLU(0.1)`` and an upsampler that multiplies the
length by ``u`` and halves the channels, then ``LeakyReLU``, ``Conv1d(k7)`` to one channel and
``tanh``. The upsampler is one of:

==================  ===========================================================================
``deconv``          ``ConvTranspose1d(k, u, padding (k - u) / 2)``, ``k = 2u`` unless given
                    (HiFi-GAN's choice: even overlap)
``resize-nearest``  nearest ``x u`` then ``Conv1d(k7, p3)``
``resize-linear``   linear ``x u`` (``align_corners=False``) then ``Conv1d(k7, p3)``
``subpixel``        ``Conv1d(k3, p1)`` to ``C u`` channels then a 1-D pixel shuffle
==================  ===========================================================================

Weights are initialised as PyTorch does (``kaiming_uniform_(a=sqrt(5))``: uniform in
``+-1/sqrt(fan_in)``, biases too). The input is ``frames`` frames of ``features`` channels:
independent noise (``source="noise"``) or smooth features (``"smooth"``: the noise averaged over
9 frames, as mel frames vary slowly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import CbdiagError

__all__ = ["UPSAMPLERS_1D", "VocoderConfig", "build", "conv1d", "conv_transpose1d", "generate_1d"]

F32 = NDArray[np.float32]
UPSAMPLERS_1D = ("deconv", "resize-nearest", "resize-linear", "subpixel")
SOURCES_1D = ("noise", "smooth")
#: Most output samples one clip may have, and most weights.
MAX_SAMPLES_1D = 1 << 24
MAX_WEIGHTS = 1 << 26


@dataclass(frozen=True)
class VocoderConfig:
    """Architecture of an untrained 1-D upsampler stack (see the module docstring)."""

    upsample: str = "deconv"
    rates: tuple[int, ...] = (8, 8, 2, 2)
    kernel: int | None = None  # deconv kernel, 2 x the rate when None
    width: int = 64
    features: int = 80
    frames: int = 100
    source: str = "smooth"

    def __post_init__(self) -> None:
        if self.upsample not in UPSAMPLERS_1D:
            raise CbdiagError(
                f"unknown 1-D upsampler {self.upsample!r} (known: {', '.join(UPSAMPLERS_1D)})"
            )
        if self.source not in SOURCES_1D:
            raise CbdiagError(f"--source for 1-D stacks is noise or smooth, got {self.source!r}")
        if not self.rates or any(not 2 <= r <= 16 for r in self.rates) or len(self.rates) > 6:
            raise CbdiagError(f"rates must be 1 to 6 factors from 2 to 16, got {self.rates}")
        if self.kernel is not None and not 1 <= self.kernel <= 64:
            raise CbdiagError(f"--kernel must be from 1 to 64, got {self.kernel}")
        if self.width < 2 ** len(self.rates) or self.width > 1024:
            raise CbdiagError(
                f"--width must be from {2 ** len(self.rates)} (halved at each of the "
                f"{len(self.rates)} stages) to 1024, got {self.width}"
            )
        if not 1 <= self.features <= 512 or not 8 <= self.frames <= 100_000:
            raise CbdiagError("features must be 1..512 and frames 8..100000")
        if self.frames * self.hop > MAX_SAMPLES_1D:
            raise CbdiagError(f"{self.frames * self.hop:,} samples: over {MAX_SAMPLES_1D:,}")

    @property
    def hop(self) -> int:
        return math.prod(self.rates)

    def describe(self) -> str:
        rates = "x".join(map(str, self.rates))
        if self.upsample == "deconv":
            ks = ", ".join(str(self._kernel(u)) for u in self.rates)
            return f"ConvTranspose1d rates {rates}, kernels {ks}"
        return f"{self.upsample} rates {rates}"

    def _kernel(self, u: int) -> int:
        return self.kernel if self.kernel is not None else 2 * u


def conv1d(x: F32, w: F32, b: F32 | None, padding: int = 0) -> F32:
    """``torch.nn.functional.conv1d`` for one sample: ``x`` (C_in, n), ``w`` (C_out, C_in, k)."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (padding, padding)))
    n_out = xp.shape[1] - k + 1
    out = np.zeros((w.shape[0], n_out), dtype=np.float32)
    for j in range(k):
        out += w[:, :, j] @ xp[:, j : j + n_out]
    if b is not None:
        out += b[:, None]
    return out


def conv_transpose1d(x: F32, w: F32, b: F32 | None, stride: int, padding: int = 0) -> F32:
    """``torch.nn.functional.conv_transpose1d`` for one sample: ``w`` (C_in, C_out, k)."""
    n = x.shape[1]
    k = w.shape[2]
    full = np.zeros((w.shape[1], (n - 1) * stride + k), dtype=np.float32)
    for j in range(k):
        full[:, j : j + (n - 1) * stride + 1 : stride] += w[:, :, j].T @ x
    out = full[:, padding : full.shape[1] - padding]
    if b is not None:
        out = out + b[:, None]
    return np.ascontiguousarray(out, dtype=np.float32)


def _linear(x: F32, u: int) -> F32:
    """``interpolate(mode="linear", align_corners=False)`` by ``u``."""
    n = x.shape[1]
    src = (np.arange(n * u) + 0.5) / u - 0.5
    src = np.clip(src, 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    t = (src - lo).astype(np.float32)
    return x[:, lo] * (1 - t) + x[:, hi] * t


def _leaky(x: F32) -> F32:
    return np.where(x > 0, x, np.float32(0.1) * x)


class Stack:
    """The weights of one untrained stack and its forward pass."""

    def __init__(self, cfg: VocoderConfig, seed: int) -> None:
        self.cfg = cfg
        rng = np.random.default_rng(seed)
        self.params: list[tuple[str, F32, F32]] = []

        def layer(name: str, shape: tuple[int, ...], fan_in: int) -> None:
            bound = 1 / math.sqrt(fan_in)
            w = rng.uniform(-bound, bound, shape).astype(np.float32)
            b = rng.uniform(-bound, bound, shape[1] if name == "up" else shape[0])
            self.params.append((name, w, b.astype(np.float32)))

        c = cfg.width
        layer("pre", (c, cfg.features, 7), cfg.features * 7)
        for u in cfg.rates:
            if cfg.upsample == "deconv":
                k = cfg._kernel(u)
                # ConvTranspose1d's fan_in, as torch computes it: weight.size(1) * k
                layer("up", (c, c // 2, k), (c // 2) * k)
            elif cfg.upsample == "subpixel":
                layer("sub", (c // 2 * u, c, 3), c * 3)
            else:
                layer("conv", (c // 2, c, 7), c * 7)
            c //= 2
        layer("post", (1, c, 7), c * 7)
        total = sum(w.size for _, w, _ in self.params)
        if total > MAX_WEIGHTS:
            raise CbdiagError(f"{total:,} weights: over {MAX_WEIGHTS:,}")

    def forward(self, x: F32) -> F32:
        cfg = self.cfg
        it = iter(self.params)
        _, w, b = next(it)
        x = conv1d(x, w, b, padding=3)
        for u in cfg.rates:
            x = _leaky(x)
            _, w, b = next(it)
            if cfg.upsample == "deconv":
                k = cfg._kernel(u)
                if (k - u) % 2:
                    raise CbdiagError(f"kernel {k} and rate {u}: (k - u) must be even")
                x = conv_transpose1d(x, w, b, u, padding=(k - u) // 2)
            elif cfg.upsample == "subpixel":
                y = conv1d(x, w, b, padding=1)  # (C u, n)
                c = y.shape[0] // u
                x = y.reshape(c, u, -1).transpose(0, 2, 1).reshape(c, -1)
            elif cfg.upsample == "resize-nearest":
                x = conv1d(np.repeat(x, u, axis=1), w, b, padding=3)
            else:
                x = conv1d(_linear(x, u), w, b, padding=3)
        _, w, b = next(it)
        return np.tanh(conv1d(_leaky(x), w, b, padding=3))[0]


def build(cfg: VocoderConfig, seed: int = 0) -> Stack:
    return Stack(cfg, seed)


def features(cfg: VocoderConfig, seed: int) -> F32:
    """The stack's input: ``(features, frames)`` of noise, or smooth (a 9-frame average)."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((cfg.features, cfg.frames + 8)).astype(np.float32)
    if cfg.source == "smooth":
        kernel = np.ones(9, dtype=np.float32) / 9
        x = np.stack([np.convolve(row, kernel, mode="valid") for row in x])
    return np.ascontiguousarray(x[:, : cfg.frames])


def generate_1d(cfg: VocoderConfig, seed: int = 0) -> F32:
    """One clip of the untrained stack, scaled to a peak of 0.5 (full scale 1.0)."""
    y = build(cfg, seed).forward(features(cfg, seed))
    peak = float(np.abs(y).max())
    return (y / peak * 0.5 if peak > 0 else y).astype(np.float32)
