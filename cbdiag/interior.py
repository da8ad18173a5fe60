"""The interior of a stack's overlap map from its periodic model, in plain Python (no numpy).

Far from the borders, an all-ones input gives every layer a periodic input, so one period of
each axis' map follows from one period of the layer before it, through the layer's taps in the
infinite-input model (:meth:`cbdiag.layers.AxisOp.taps`): a transposed convolution or an
upsampler by ``s`` multiplies the period by ``s``, a convolution of stride ``s`` divides it
by ``gcd(period, s)``. Each tap lands where the layer's padding or cropping puts it, so the
pattern is phase-aligned to the output's origin as :func:`cbdiag.overlap.overlap_map` gives
it: the same smallest period, pattern, extremes, max/min and holes it finds in its interior
(the tests check them against it). Left to the overlap engine (None): a strided convolution
with TensorFlow ``same`` padding (its padding depends on the input length), and stacks whose
period or work passes :data:`MAX_PERIOD` / :data:`MAX_WORK` (the engine also decides whether
they can be analysed at all).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .layers import AxisOp, Layer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The longest period followed here, and the most taps summed per axis.
MAX_PERIOD = 1 << 12
MAX_WORK = 1 << 18
#: Values within this relative tolerance are equal (the overlap engine's).
RTOL = 1e-9


class AxisInterior:
    """One axis' interior: its smallest ``period``, ``pattern`` (one period, up to a shift),
    ``min``, ``max``, ``ratio`` (``max / min``, ``inf`` with holes, 1 when even), ``even``,
    ``holes``."""

    __slots__ = ("even", "holes", "max", "min", "pattern", "period", "ratio")

    def __init__(self, pattern: list[float]) -> None:
        p = len(pattern)
        scale = max(max(abs(v) for v in pattern), 1.0)
        for cand in range(1, p + 1):
            if p % cand == 0 and all(
                abs(pattern[i] - pattern[i % cand]) <= RTOL * scale for i in range(p)
            ):
                p = cand
                break
        pat = pattern[:p]
        lo, hi = min(pat), max(pat)
        self.period = p
        self.pattern = tuple(clean_value(v) for v in pat)
        self.min = clean_value(lo)
        self.max = clean_value(hi)
        self.holes = lo <= RTOL * max(hi, 1.0)
        even = all(abs(v - pat[0]) <= RTOL * scale for v in pat)
        self.even = even and not self.holes
        self.ratio = math.inf if self.holes else (1.0 if even else hi / lo)


class AxesSummary:
    """The statistics of a whole map from its axes' (``axes``: each with ``period``, ``min``,
    ``max``, ``ratio``, ``even``, ``holes``), the map being their outer product: for the overlap
    engine's results and for :class:`StackInterior`."""

    __slots__ = ()
    axes: tuple[Any, ...]

    @property
    def period(self) -> tuple[int, ...]:
        return tuple(a.period for a in self.axes)

    @property
    def min(self) -> float:
        return math.prod(a.min for a in self.axes)

    @property
    def max(self) -> float:
        return math.prod(a.max for a in self.axes)

    @property
    def ratio(self) -> float:
        """Interior max/min of the whole map (``inf`` with holes): the axes' ratios
        multiplied, as the map is their outer product."""
        return math.prod(a.ratio for a in self.axes)

    @property
    def ratio_2d(self) -> float:
        return self.ratio

    @property
    def even(self) -> bool:
        return all(a.even for a in self.axes)

    @property
    def holes(self) -> bool:
        return any(a.holes for a in self.axes)


class StackInterior(AxesSummary):
    """The interior of a stack's map: per-axis :class:`AxisInterior` (``y``, ``x`` the last
    two), and the whole map's statistics (:class:`AxesSummary`)."""

    __slots__ = ("axes",)

    def __init__(self, axes: list[AxisInterior]) -> None:
        self.axes = tuple(axes)

    @property
    def y(self) -> AxisInterior:
        return self.axes[-2]

    @property
    def x(self) -> AxisInterior:
        return self.axes[-1]


def stack_interior(layers: Sequence[Layer]) -> StackInterior | None:
    """The interior of the forward overlap map of ``layers`` (first layer first), or None when
    the stack is past this model's bounds (or its layers differ in their number of axes)."""
    if not layers or len({layer.ndim for layer in layers}) != 1:
        return None
    axes = []
    for a in range(layers[0].ndim):
        pattern = axis_pattern([layer.axis(a) for layer in layers])
        if pattern is None:
            return None
        axes.append(AxisInterior(pattern))
    return StackInterior(axes)


def axis_pattern(ops: Sequence[AxisOp]) -> list[float] | None:
    """One period of the interior of one axis' map (the all-ones input: ``[1.0]``), or None
    past :data:`MAX_PERIOD` or :data:`MAX_WORK`."""
    x = [1.0]
    work = 0
    for op in ops:
        p, s = len(x), op.stride
        if op.kind in ("deconv", "nearest", "shuffle", "bilinear"):
            out = p * s
        elif op.kind in ("conv", "blur", "box"):
            if op.tf_padding == "same" and s > 1:
                return None  # (its padding, so the phases it keeps, depend on the input length)
            out = p // math.gcd(p, s)
        else:
            return None
        work += out * max(op.kernel, 2)
        if out > MAX_PERIOD or work > MAX_WORK:
            return None
        x = _apply(op, x, out)
    return x


def _apply(op: AxisOp, x: list[float], out: int) -> list[float]:
    """One period (``out`` long) of ``op``'s output on the periodic input ``x``."""
    p, s = len(x), op.stride
    w, d = op.weights, op.dilation
    if op.kind == "deconv":  # y[o] = sum of x[(o + crop - d j) / s] over the taps that divide
        crop = op._deconv_geometry(1)[0]  # (the same for every input length)
        return [
            sum(
                w[j] * x[(t // s) % p] for j in range(op.kernel) if (t := o + crop - d * j) % s == 0
            )
            for o in range(out)
        ]
    if op.kind in ("conv", "blur", "box"):  # y[o] = sum of x[s o - before + d j]
        before = op._conv_pads(1)[0]
        return [
            sum(w[j] * x[(o * s - before + d * j) % p] for j in range(op.kernel))
            for o in range(out)
        ]
    if op.kind in ("nearest", "shuffle"):
        return [x[(o // s) % p] for o in range(out)]
    # bilinear, align_corners=False: source (o + 1/2)/f - 1/2 (as AxisOp.taps)
    y = []
    for o in range(out):
        num = 2 * o + 1 - s
        i0 = num // (2 * s)
        lam = (num - i0 * 2 * s) / (2.0 * s)
        y.append((1.0 - lam) * x[i0 % p] + lam * x[(i0 + 1) % p])
    return y


def clean_value(v: float) -> float:
    """``v``, or the integer it is within :data:`RTOL` of (as a float)."""
    r = round(v)
    return float(r) if abs(v - r) <= RTOL * max(abs(v), 1.0) else float(v)
