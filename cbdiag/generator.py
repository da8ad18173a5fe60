"""Untrained generators built from :mod:`cbdiag.nn`: what an upsampler paints on day 0.

The architecture is DCGAN-style. From a latent vector ``z`` (``source="latent"``) a transposed
convolution ``k4 s1 p0`` projects to a 4x4 map of ``width * 2**(depth-1)`` channels; then
``depth`` upsampling stages each multiply the size by ``stride`` and halve the channels, with
batch norm and ReLU in between, and the last stage outputs ``channels`` channels through tanh.
The upsampling stage is one of:

========================  =====================================================================
``deconv``                ``ConvTranspose(k, s, p, op)`` (``p``, ``op`` chosen for an exact
                          ``x s`` unless given)
``resize-nearest``        nearest ``x s`` then ``Conv(3x3, p1)`` (Odena et al.'s resize-conv)
``resize-bilinear``       bilinear ``x s`` then ``Conv(3x3, p1)``
``subpixel``              ``Conv(3x3, p1)`` to ``C*s*s`` channels then ``PixelShuffle(s)``
``subpixel-icnr``         the same with ICNR initialisation (weights and bias per phase equal)
========================  =====================================================================

``source="smooth"`` or ``"constant"`` is the *decoder* mode: instead of a latent, a fixed smooth
(or constant) feature map of size ``base`` is upsampled, which shows the pure geometry.

Batch norm uses the statistics of the batch being generated (training mode, as an untrained GAN
runs), so outputs depend on ``batch_size`` as they would in PyTorch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from . import nn
from .errors import CbdiagError, SizeError

__all__ = [
    "COMPARE",
    "UPSAMPLERS",
    "GenerateResult",
    "Generator",
    "GeneratorConfig",
    "generate",
    "phase_contrast",
]

Array = NDArray[np.float32]

UPSAMPLERS = ("deconv", "resize-nearest", "resize-bilinear", "subpixel", "subpixel-icnr")
INITS = ("torch", "dcgan", "he")
NORMS = ("batch", "none")
SOURCES = ("latent", "smooth", "constant")
MAX_SIZE = 4096
MAX_WIDTH = 4096
#: Largest latent size (a DCGAN uses 100; StyleGAN 512).
MAX_LATENT = 1 << 16
#: Most samples one call generates.
MAX_COUNT = 1_000_000
#: Default memory budget (bytes) of the weights plus one batch's activations.
MAX_MEMORY = 4 << 30


class ConfigError(CbdiagError):
    """A generator configuration that cannot be built."""


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of an untrained generator (see the module docstring).

    ``padding=None`` and ``output_padding=None`` pick the PyTorch values that make each
    ``deconv`` stage multiply the size by exactly ``stride``.
    """

    size: int = 64
    upsample: str = "deconv"
    kernel: int = 4
    stride: int = 2
    padding: int | None = None
    output_padding: int | None = None
    width: int = 64
    max_width: int = 512
    latent: int = 100
    channels: int = 3
    norm: str = "batch"
    init: str = "torch"
    source: str = "latent"
    base: int = 16

    def __post_init__(self) -> None:
        if self.upsample not in UPSAMPLERS:
            raise ConfigError(
                f"unknown upsampler {self.upsample!r} (known: {', '.join(UPSAMPLERS)})"
            )
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r} (known: {', '.join(INITS)})")
        if self.norm not in NORMS:
            raise ConfigError(f"unknown norm {self.norm!r} (known: {', '.join(NORMS)})")
        if self.source not in SOURCES:
            raise ConfigError(f"unknown source {self.source!r} (known: {', '.join(SOURCES)})")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}")
        for name in ("kernel", "stride", "width", "latent", "max_width", "base"):
            v = getattr(self, name)
            if v < 1:
                raise ConfigError(f"{name} must be >= 1, got {v}")
        if self.stride < 2:
            raise ConfigError(f"stride must be >= 2 for an upsampling stage, got {self.stride}")
        if self.stride > 8 or self.kernel > 16:
            raise ConfigError("stride above 8 or kernel above 16 is not supported")
        if self.width > MAX_WIDTH or self.max_width > MAX_WIDTH:
            raise ConfigError(f"width above {MAX_WIDTH} is absurd")
        if self.latent > MAX_LATENT:
            raise ConfigError(f"latent size {self.latent} is over the limit of {MAX_LATENT}")
        if self.source != "latent" and self.base > MAX_SIZE:
            raise SizeError(f"base must be at most {MAX_SIZE}, got {self.base}")
        if not 1 <= self.size <= MAX_SIZE:
            raise SizeError(f"size must be between 1 and {MAX_SIZE}, got {self.size}")
        start = self.start_size
        depth = self.depth
        if start * self.stride**depth != self.size or depth < 1:
            reachable = [start * self.stride**d for d in range(1, 8)]
            raise SizeError(
                f"size {self.size} is not reachable from {start}x{start} by stride "
                f"{self.stride} (reachable: {', '.join(map(str, reachable[:6]))}, ...)"
            )
        if self.upsample == "deconv":
            self.deconv_padding()  # validates

    @property
    def start_size(self) -> int:
        """Spatial size before the first upsampling stage (4 for a latent, else ``base``)."""
        return 4 if self.source == "latent" else self.base

    @property
    def depth(self) -> int:
        """Number of upsampling stages."""
        d = 0
        s = self.start_size
        while s < self.size:
            s *= self.stride
            d += 1
        return d

    def deconv_padding(self) -> tuple[int, int]:
        """``(padding, output_padding)`` of the deconv stages (exact ``x stride``)."""
        k, s = self.kernel, self.stride
        p = self.padding if self.padding is not None else max(math.ceil((k - s) / 2), 0)
        op = self.output_padding if self.output_padding is not None else 2 * p + s - k
        if p < 0 or not 0 <= op < s or k - 2 * p + op != s:
            raise ConfigError(
                f"deconv k{k} s{s} with padding {p} cannot multiply the size by exactly {s} "
                f"(needs k - 2p + op = s with 0 <= op < s)"
            )
        return p, op

    def stage_channels(self) -> list[int]:
        """Channels at the input of each stage, then the output channels."""
        hidden = [
            min(self.width * 2 ** (self.depth - 1 - i), self.max_width) for i in range(self.depth)
        ]
        return [*hidden, self.channels]

    def weight_bytes(self) -> int:
        """Bytes of the float32 weights (and biases) :meth:`Generator.build` draws."""
        chans = self.stage_channels()
        s, k = self.stride, self.kernel
        n = self.latent * chans[0] * 16 + chans[0] if self.source == "latent" else 0
        for cin, cout in itertools.pairwise(chans):
            if self.upsample == "deconv":
                n += cin * cout * k * k + cout
            elif self.upsample.startswith("resize"):
                n += cout * cin * 9 + cout
            else:
                n += cout * s * s * (cin * 9 + 1)
        return 4 * n

    def batch_bytes(self, batch: int) -> int:
        """An upper estimate of the working memory of one batch of ``batch`` samples: the
        largest stage's input, output and the temporaries of its convolution (float32 and the
        float64 accumulators of :mod:`cbdiag.nn`)."""
        chans = self.stage_channels()
        s = self.stride
        side = self.start_size
        peak = batch * self.latent
        for cin, cout in itertools.pairwise(chans):
            out = side * s
            x_in = cin * side * side
            conv_out = cout * out * out * (s * s if self.upsample.startswith("subpixel") else 1)
            up = cin * out * out if self.upsample.startswith("resize") else 0
            peak = max(peak, batch * (x_in + up + 3 * conv_out))
            side = out
        return 8 * peak

    def check_budget(self, batch: int, max_memory: int = MAX_MEMORY) -> None:
        """Refuse (:class:`SizeError`) before anything is allocated when the weights plus one
        batch need more than ``max_memory`` bytes; the message says which batch size fits."""
        need = self.weight_bytes() + self.batch_bytes(batch)
        if need <= max_memory:
            return
        gib = 1 << 30
        fits = next(
            (
                b
                for b in (batch // 2**i for i in range(1, 64))
                if b >= 1 and self.weight_bytes() + self.batch_bytes(b) <= max_memory
            ),
            None,
        )
        hint = f"--batch-size {fits} fits" if fits else "a smaller --size or --width"
        raise SizeError(
            f"this generator needs about {need / gib:.1f} GiB for a batch of {batch}, over the "
            f"memory limit of {max_memory / gib:g} GiB ({hint}; --max-memory raises the limit)"
        )

    def describe(self) -> str:
        up = self.upsample
        if up == "deconv":
            p, op = self.deconv_padding()
            up = f"deconv k{self.kernel} s{self.stride} p{p}" + (f" op{op}" if op else "")
        elif up.startswith("resize"):
            up = f"{up} x{self.stride} + conv k3"
        else:
            up = f"{up} x{self.stride}"
        return up

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["depth"] = self.depth
        d["stage_channels"] = self.stage_channels()
        d["stages"] = self.describe()
        return d


@dataclass
class _Conv:
    weight: Array
    bias: Array | None
    transposed: bool
    stride: int = 1
    padding: int = 0
    output_padding: int = 0

    def __call__(self, x: Array) -> Array:
        if self.transposed:
            return nn.conv_transpose2d(
                x,
                self.weight,
                self.bias,
                stride=self.stride,
                padding=self.padding,
                output_padding=self.output_padding,
            )
        return nn.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


@dataclass
class Generator:
    """An untrained generator with fixed weights (build with :meth:`Generator.build`)."""

    config: GeneratorConfig
    seed: int
    project: _Conv | None
    stages: list[tuple[str, _Conv]] = field(default_factory=list)

    @classmethod
    def build(cls, config: GeneratorConfig, seed: int = 0) -> Generator:
        """Draw the weights of ``config`` from ``seed`` (numpy PCG64; the same on any machine)."""
        rng = np.random.default_rng([seed, 0])
        cfg = config
        chans = cfg.stage_channels()

        def init(shape: tuple[int, ...], bias_size: int) -> tuple[Array, Array | None]:
            if cfg.init == "torch":
                return nn.torch_default_init(rng, shape, bias_size=bias_size)
            if cfg.init == "dcgan":
                return nn.dcgan_init(rng, shape)
            return nn.he_normal_init(rng, shape)

        project = None
        if cfg.source == "latent":
            w, b = init((cfg.latent, chans[0], 4, 4), chans[0])
            project = _Conv(w, b, transposed=True)
        stages: list[tuple[str, _Conv]] = []
        s = cfg.stride
        for i in range(cfg.depth):
            cin, cout = chans[i], chans[i + 1]
            if cfg.upsample == "deconv":
                p, op = cfg.deconv_padding()
                w, b = init((cin, cout, cfg.kernel, cfg.kernel), cout)
                conv = _Conv(w, b, True, stride=s, padding=p, output_padding=op)
            elif cfg.upsample.startswith("resize"):
                w, b = init((cout, cin, 3, 3), cout)
                conv = _Conv(w, b, False, padding=1)
            else:
                w, b = init((cout * s * s, cin, 3, 3), cout * s * s)
                if cfg.upsample == "subpixel-icnr":
                    w, b = nn.icnr(w, s, b)
                conv = _Conv(w, b, False, padding=1)
            stages.append((cfg.upsample, conv))
        return cls(config=cfg, seed=seed, project=project, stages=stages)

    def inputs(self, count: int, offset: int = 0) -> Array:
        """The inputs of samples ``offset .. offset+count-1`` (independent of batching)."""
        cfg = self.config
        out = []
        for i in range(offset, offset + count):
            rng = np.random.default_rng([self.seed, 1, i])
            if cfg.source == "latent":
                out.append(rng.standard_normal((1, 1, cfg.latent)))
                continue
            c0 = cfg.stage_channels()[0]
            level = rng.standard_normal(c0)
            if cfg.source == "constant":
                out.append(np.broadcast_to(level, (cfg.base, cfg.base, c0)))
                continue
            # smooth: a per-channel level plus one slow cosine ramp per axis
            t = np.arange(cfg.base) / cfg.base
            ky, kx, ph = (
                rng.uniform(0.25, 1.0, c0),
                rng.uniform(0.25, 1.0, c0),
                rng.uniform(0, 2 * np.pi, c0),
            )
            field_ = (
                level
                + 0.5 * np.cos(2 * np.pi * ky * t[:, None, None] + ph)
                + 0.5 * np.cos(2 * np.pi * kx * t[None, :, None] - ph)
            )
            out.append(field_)
        return np.stack(out).astype(np.float32)

    def forward(self, x: Array) -> Array:
        """Run the network on inputs from :meth:`inputs`; returns ``(N, size, size, C)``."""
        cfg = self.config
        if self.project is not None:
            x = self._post(self.project(x), last=False)
        for i, (kind, conv) in enumerate(self.stages):
            last = i == len(self.stages) - 1
            if kind == "resize-nearest":
                x = nn.resize_nearest(x, cfg.stride)
            elif kind == "resize-bilinear":
                x = nn.resize_bilinear(x, cfg.stride)
            x = conv(x)
            if kind.startswith("subpixel"):
                x = nn.pixel_shuffle(x, cfg.stride)
            x = self._post(x, last=last)
        return x

    def _post(self, x: Array, *, last: bool) -> Array:
        if last:
            return nn.tanh(x)
        if self.config.norm == "batch":
            return nn.batch_norm(x, relu=True)
        return nn.relu(x)

    def batches(self, count: int, batch_size: int) -> Iterator[tuple[int, Array]]:
        """Yield ``(offset, images)`` batch by batch (images in ``[-1, 1]``)."""
        for off in range(0, count, batch_size):
            n = min(batch_size, count - off)
            yield off, self.forward(self.inputs(n, off))


@dataclass
class GenerateResult:
    """Images of an untrained generator: ``images`` is ``(N, H, W, C)`` float32 in [-1, 1]."""

    config: GeneratorConfig
    seed: int
    images: Array


def generate(
    config: GeneratorConfig | None = None,
    *,
    count: int = 16,
    seed: int = 0,
    batch_size: int = 16,
) -> GenerateResult:
    """Generate ``count`` images from an untrained generator.

    Examples
    --------
    >>> r = generate(GeneratorConfig(size=16, width=8), count=2, seed=0)
    >>> r.images.shape, r.images.dtype
    ((2, 16, 16, 3), dtype('float32'))
    """
    config = config or GeneratorConfig()
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    gen = Generator.build(config, seed)
    images = np.concatenate([imgs for _, imgs in gen.batches(count, batch_size)])
    return GenerateResult(config=config, seed=seed, images=images)


#: The columns of ``cbdiag generate --compare``: (caption, config changes).
COMPARE: tuple[tuple[str, dict[str, object]], ...] = (
    ("deconv k3 s2", {"upsample": "deconv", "kernel": 3, "stride": 2}),
    ("deconv k4 s2", {"upsample": "deconv", "kernel": 4, "stride": 2}),
    ("resize-nearest", {"upsample": "resize-nearest", "stride": 2}),
    ("resize-bilinear", {"upsample": "resize-bilinear", "stride": 2}),
    ("subpixel", {"upsample": "subpixel", "stride": 2}),
    ("subpixel-ICNR", {"upsample": "subpixel-icnr", "stride": 2}),
)


def compare_configs(base: GeneratorConfig) -> list[tuple[str, GeneratorConfig]]:
    """The :data:`COMPARE` columns applied to ``base`` (same size, width, init, source)."""
    return [
        (name, replace(base, padding=None, output_padding=None, **changes))  # type: ignore[arg-type]
        for name, changes in COMPARE
    ]


def phase_contrast(images: Array, stride: int, *, margin: int | None = None) -> float:
    """How much the per-phase means of the images differ: a checkerboard measure.

    For each image the mean over the interior (``margin`` pixels cut from each border) of the
    grey level at each of the ``stride x stride`` phases ``(i % s, j % s)``; the result is the
    standard deviation of those ``s*s`` means, divided by the standard deviation of the pixels,
    averaged over images. 0 for phase-balanced output; uneven overlap or unequal per-phase gains
    make it grow. For a ``+-a`` checkerboard on noise of std ``sigma`` it is about
    ``sqrt(a^2 + (s^2-1)/s^2 * sigma^2/m) / sqrt(sigma^2 + a^2)``, ``m`` pixels per phase: the
    second term is the noise floor (about 0.03 for a 64x64 noise image).
    """
    s = stride
    m = margin if margin is not None else 2 * s
    grey = images.mean(axis=3, dtype=np.float64)
    h, w = grey.shape[1:]
    if h <= 2 * m + s or w <= 2 * m + s:
        raise SizeError(f"images of {h}x{w} are too small to measure period-{s} phases")
    inner = grey[:, m : h - m, m : w - m]
    inner = inner[:, : (inner.shape[1] // s) * s, : (inner.shape[2] // s) * s]
    phases = inner.reshape(inner.shape[0], inner.shape[1] // s, s, inner.shape[2] // s, s)
    means = phases.mean(axis=(1, 3)).reshape(inner.shape[0], -1)
    spread = means.std(axis=1)
    scale = inner.reshape(inner.shape[0], -1).std(axis=1)
    ok = scale > 0
    if not ok.any():
        return 0.0
    return float(np.mean(spread[ok] / scale[ok]))
