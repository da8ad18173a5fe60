"""Exact overlap (path-count) maps of transposed convolutions and whole upsampling stacks.

The overlap map of a stack is the response of the stack to an all-ones input when every
(transposed) convolution has an all-ones kernel and resize / filter layers keep their real
weights: for (transposed) convolutions it counts the input-to-output paths that reach each
output pixel (Odena et al., Distill 2016). It is computed per axis with exact framework
semantics and combined as an outer product, ``C(y, x) = C_y(y) * C_x(x)``.

Besides the values, each axis tracks which outputs are touched by a border (a tap outside the
input, zero padding, a crop, a clamp or a reflection anywhere in the stack). The remaining
*interior* is periodic with period ``prod(up factors)`` (reduced by strided convolutions); its
one-period pattern, max/min ratio and holes are what "uneven overlap" means.
"""

from __future__ import annotations

import contextvars
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from .errors import LayerSpecError, SizeError
from .interior import RTOL, AxesSummary
from .interior import clean_value as _clean
from .layers import AXIS_NAMES, AxisOp, Layer, _fmt_axes
from .layers import own_ratio as _own_ratio

__all__ = ["AxisResult", "OverlapResult", "Stage", "default_input_size", "overlap_map"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Largest 1-D length handled per axis, and largest 2-D map materialised.
MAX_AXIS = 1 << 22
MAX_INPUT = 1 << 20
MAX_CELLS = 1 << 26


@dataclass(frozen=True)
class AxisResult:
    """Interior statistics of a 1-D overlap map.

    Attributes
    ----------
    period : int
        Smallest period of the interior (1 when it is flat).
    structural_period : int
        The period the layer geometry implies (product of upsampling factors, reduced by
        strided convolutions); ``period`` divides it.
    pattern : tuple of float
        One interior period, phase-aligned to the image origin: ``pattern[r]`` is the value at
        every interior position ``i`` with ``i % period == r``.
    min, max : float
        Interior extremes. ``ratio`` is ``max / min`` (``inf`` when the interior has holes).
    holes : bool
        Some interior positions receive no path at all.
    spectrum : tuple of (int, float)
        ``(q, |X_q| / |X_0|)`` of the DFT of the pattern at frequency ``q / period`` cycles per
        pixel, for ``q = 1 .. period // 2`` with non-zero amplitude.
    """

    period: int
    structural_period: int
    pattern: tuple[float, ...]
    min: float
    max: float
    ratio: float
    even: bool
    holes: bool
    spectrum: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Stage(AxesSummary):
    """Statistics of the map after one layer (forward) or at one layer's input (gradient)."""

    layer: Layer
    size: tuple[int, ...]
    axes: tuple[AxisResult, ...]

    @property
    def y(self) -> AxisResult:
        return self.axes[-2]

    @property
    def x(self) -> AxisResult:
        return self.axes[-1]


@dataclass
class OverlapResult(AxesSummary):
    """The overlap map of a layer stack and its interior statistics (see :func:`overlap_map`).

    The map of ``ndim`` spatial axes (1: a signal, 2: an image, 3: a volume) is the outer
    product of the per-axis ``values``; ``axes`` holds each axis' interior statistics, in the
    layers' axis order. For an image ``values_y`` / ``values_x``, ``interior_y`` /
    ``interior_x`` and ``y`` / ``x`` name the two axes."""

    layers: tuple[Layer, ...]
    gradient: bool
    input_size: tuple[int, ...]
    values: tuple[FloatArray, ...]
    interiors: tuple[BoolArray, ...]
    axes: tuple[AxisResult, ...]
    stages: tuple[Stage, ...]
    notes: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def values_y(self) -> FloatArray:
        return self.values[-2]

    @property
    def values_x(self) -> FloatArray:
        return self.values[-1]

    @property
    def interior_y(self) -> BoolArray:
        return self.interiors[-2]

    @property
    def interior_x(self) -> BoolArray:
        return self.interiors[-1]

    @property
    def y(self) -> AxisResult:
        return self.axes[-2]

    @property
    def x(self) -> AxisResult:
        return self.axes[-1]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def border(self) -> tuple[tuple[int | None, int | None], ...]:
        """Width of the border region per axis, ``(before, after)`` (for an image
        ``((top, bottom), (left, right))``): the positions before and after the interior;
        ``None`` on an axis with no interior (the whole map is border there)."""
        return tuple(_border_widths(i) for i in self.interiors)

    @property
    def interior_extent(self) -> tuple[int, ...]:
        """Interior length per axis (``0`` when the input is too small to have one: every
        position is then within reach of an edge)."""
        return tuple(int(np.count_nonzero(i)) for i in self.interiors)

    @property
    def interior_empty(self) -> bool:
        return 0 in self.interior_extent

    def to_array(self) -> FloatArray:
        """The whole map: the outer product of the per-axis values."""
        cells = math.prod(self.shape)
        if cells > MAX_CELLS:
            shown = "x".join(map(str, self.shape))
            raise SizeError(f"a {shown} map is too large to materialise (max {MAX_CELLS} cells)")
        out = self.values[0]
        for v in self.values[1:]:
            out = np.multiply.outer(out, v)
        return np.asarray(out, dtype=np.float64)

    def interior_mask(self) -> BoolArray:
        """Boolean mask of the interior (outer product of the per-axis masks)."""
        out = self.interiors[0]
        for i in self.interiors[1:]:
            out = np.logical_and.outer(out, i)
        return np.asarray(out, dtype=bool)


def _border_widths(interior: BoolArray) -> tuple[int | None, int | None]:
    idx = np.flatnonzero(interior)
    if len(idx) == 0:
        return (None, None)
    return (int(idx[0]), int(len(interior) - 1 - idx[-1]))


# ---------------------------------------------------------------------------------------------
# 1-D propagation
# ---------------------------------------------------------------------------------------------


#: Most taps one layer may enumerate along one axis (output length x kernel).
MAX_TAPS = 1 << 25
#: Most taps one overlap map may enumerate in all (every layer, both axes, every run that
#: lengthens the input to show the interior): seconds of work, not minutes.
MAX_WORK = 1 << 28
#: The taps spent so far by the :func:`overlap_map` call running (None outside one).
_SPENT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "cbdiag_overlap_work", default=None
)


def _check_work(op: AxisOp, out: int) -> None:
    if (out + 2 * op.reach()) * max(op.kernel, 2) > MAX_TAPS:
        raise SizeError(
            f"a {op.kind} with kernel {op.kernel}, stride {op.stride} and dilation "
            f"{op.dilation} over {out} samples is too large to analyse"
        )


def _forward(op: AxisOp, x: FloatArray, dirty: BoolArray) -> tuple[FloatArray, BoolArray]:
    n = len(x)
    out = op.output_size(n)
    _check_work(op, out)
    r, c, w = op.operator(n)
    y = np.asarray(np.bincount(r, weights=w * x[c], minlength=out)[:out], dtype=np.float64)
    tr, tc, _ = op.taps(np.arange(out, dtype=np.int64), n)
    bad = (tc < 0) | (tc >= n)
    bad |= dirty[np.clip(tc, 0, n - 1)]
    d = np.bincount(tr, weights=bad.astype(np.float64), minlength=out)[:out] > 0
    return y, d


def _backward(op: AxisOp, n: int, g: FloatArray, dirty: BoolArray) -> tuple[FloatArray, BoolArray]:
    """Transpose of the layer applied to ``g`` (gradient w.r.t. the layer's input of length n)."""
    out = len(g)
    _check_work(op, out)
    r, c, w = op.operator(n)
    gi = np.asarray(np.bincount(c, weights=w * g[r], minlength=n)[:n], dtype=np.float64)
    reach = op.reach()
    rows = np.arange(-reach, out + reach, dtype=np.int64)
    tr, tc, _ = op.taps(rows, n)
    keep = (tc >= 0) & (tc < n)
    tr, tc = tr[keep], tc[keep]
    bad = (tr < 0) | (tr >= out)
    bad |= dirty[np.clip(tr, 0, out - 1)]
    d = np.bincount(tc, weights=bad.astype(np.float64), minlength=n)[:n] > 0
    # inputs that receive reflected, replicated, wrapped or clamped taps are border too
    if op.kind in ("conv", "blur", "box") and op.padding_mode != "zeros":
        _, c0, _ = op.taps(np.arange(out, dtype=np.int64), n)
        outside = (c0 < 0) | (c0 >= n)
        d[op.map_cols(c0[outside], n)] = True
    elif op.kind == "bilinear":
        d[[0, n - 1]] = True
    return gi, d


class _TooLarge(SizeError):
    """A size that only gets worse with a larger input."""


def _sizes(ops: list[AxisOp], n: int, layers: tuple[Layer, ...], axis: str) -> list[int]:
    sizes = [n]
    for i, op in enumerate(ops):
        m = op.output_size(sizes[-1])
        if m <= 0:
            raise SizeError(
                f"the {axis} size shrinks to nothing at layer {i + 1} "
                f"('{layers[i].spec}'): {sizes[-1]} -> {m}"
            )
        if m > MAX_AXIS:
            raise _TooLarge(
                f"the {axis} size grows to {m} at layer {i + 1} ('{layers[i].spec}'), "
                f"absurdly large (max {MAX_AXIS})"
            )
        if op.padding_mode in ("reflect", "circular") and op.kind in ("conv", "blur", "box"):
            pad = max(op._conv_pads(sizes[-1]))
            limit = sizes[-1] - (1 if op.padding_mode == "reflect" else 0)
            if pad > limit:
                raise SizeError(
                    f"{op.padding_mode} padding {pad} needs an input of at least "
                    f"{pad + sizes[-1] - limit} at layer {i + 1} ('{layers[i].spec}'), "
                    f"got {sizes[-1]}"
                )
        sizes.append(m)
    return sizes


def _run_axis(
    ops: list[AxisOp], n: int, gradient: bool, layers: tuple[Layer, ...], axis: str
) -> tuple[list[FloatArray], list[BoolArray], list[int]]:
    """Values and dirty masks of every stage along one axis.

    Forward: stage ``i`` is the output of layer ``i``. Gradient: stage ``i`` is the gradient at
    the input of layer ``i`` (the result is stage 0).
    """
    sizes = _sizes(ops, n, layers, axis)
    work = sum(
        (max(a, b) + 2 * op.reach()) * max(op.kernel, 2)
        for op, a, b in zip(ops, sizes[:-1], sizes[1:], strict=True)
    )
    spent = _SPENT.get()
    total = work + (spent[0] if spent is not None else 0)
    if total > MAX_WORK:
        raise SizeError(
            f"the stack needs over {MAX_WORK:,} tap evaluations along {axis} to show its "
            f"interior ({len(ops)} layers, kernels up to {max(op.kernel for op in ops)}): too "
            "large to analyse in seconds; try fewer or smaller layers"
        )
    if spent is not None:
        spent[0] = total
    vals: list[FloatArray] = []
    dirts: list[BoolArray] = []
    if not gradient:
        v = np.ones(n)
        d = np.zeros(n, dtype=bool)
        for op in ops:
            v, d = _forward(op, v, d)
            vals.append(v)
            dirts.append(d)
        return vals, dirts, sizes
    g = np.ones(sizes[-1])
    d = np.zeros(sizes[-1], dtype=bool)
    rev_v: list[FloatArray] = []
    rev_d: list[BoolArray] = []
    for i in range(len(ops) - 1, -1, -1):
        g, d = _backward(ops[i], sizes[i], g, d)
        rev_v.append(g)
        rev_d.append(d)
    return rev_v[::-1], rev_d[::-1], sizes


def _structural_periods(ops: list[AxisOp], gradient: bool) -> list[int]:
    """Per-stage period implied by the geometry (see :class:`AxisResult`)."""
    periods: list[int] = []
    p = 1
    if not gradient:
        for op in ops:
            p = p * op.up if op.up > 1 else p // math.gcd(p, op.down)
            periods.append(p)
        return periods
    rev: list[int] = []
    for op in reversed(ops):
        p = p * op.down if op.down > 1 else p // math.gcd(p, op.up)
        rev.append(p)
    return rev[::-1]


def _interior(dirty: BoolArray) -> BoolArray:
    """The interior: the longest contiguous run of positions no border reaches.

    Clean positions can also occur inside the border band (e.g. zero-tap phases of a dilated
    kernel); they are left to the border so that the interior is one contiguous span.
    """
    clean = ~dirty
    out = np.zeros(len(dirty), dtype=bool)
    if not clean.any():
        return out
    edges = np.diff(np.concatenate([[0], clean.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    best = int(np.argmax(ends - starts))
    out[starts[best] : ends[best]] = True
    return out


def _close(a: FloatArray, b: float | FloatArray) -> NDArray[np.bool_]:
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1.0)
    return np.abs(a - b) <= RTOL * scale


def _axis_stats(values: FloatArray, interior: BoolArray, period: int) -> AxisResult | None:
    """Interior pattern and statistics, or ``None`` if the interior is shorter than 2 periods."""
    idx = np.flatnonzero(interior)
    if len(idx) < 2 * period:
        return None
    vals = values[idx]
    phase = idx % period
    pattern = np.empty(period)
    pattern[phase[::-1]] = vals[::-1]  # the first value seen at each phase
    if not np.all(_close(vals, pattern[phase])):
        raise RuntimeError("interior of an overlap map is not periodic (internal error)")
    p = period
    for cand in range(1, period + 1):
        if period % cand == 0 and np.all(_close(pattern, np.resize(pattern[:cand], period))):
            p = cand
            break
    pat = pattern[:p]
    lo, hi = float(pat.min()), float(pat.max())
    holes = bool(lo <= RTOL * max(hi, 1.0))
    ratio = math.inf if holes else hi / lo
    even = bool(np.all(_close(pat, pat[0])))
    spec: list[tuple[int, float]] = []
    if p > 1 and not holes:
        amp = np.abs(np.fft.fft(pat)) / abs(float(pat.sum()))
        for q in range(1, p // 2 + 1):
            if amp[q] > 1e-9:
                spec.append((q, float(amp[q])))
    elif holes:
        amp = np.abs(np.fft.fft(pat))
        dc = float(amp[0]) if amp[0] > 0 else 1.0
        spec = [(q, float(amp[q] / dc)) for q in range(1, p // 2 + 1) if amp[q] > 1e-9 * dc]
    return AxisResult(
        period=p,
        structural_period=period,
        pattern=tuple(_clean(v) for v in pat),
        min=_clean(lo),
        max=_clean(hi),
        ratio=1.0 if even and not holes else ratio,
        even=even and not holes,
        holes=holes,
        spectrum=tuple(spec),
    )


def _analyse_axis(
    ops: list[AxisOp],
    n: int,
    gradient: bool,
    layers: tuple[Layer, ...],
    axis: str,
    first: tuple[list[FloatArray], list[BoolArray]] | None = None,
) -> list[AxisResult]:
    """Per-stage interior statistics along one axis, from a run long enough to show them.

    The input is lengthened by multiples of the product of all strides, which keeps every
    layer's phase (TensorFlow ``same`` padding depends on the size modulo the stride) while
    the interior grows past two structural periods at every stage. ``first`` is the run at
    length ``n`` when the caller already has it.
    """
    periods = _structural_periods(ops, gradient)
    q = 1
    for op in ops:
        q = q * op.stride // math.gcd(q, op.stride)
    m = 0
    step = 1
    while True:
        size = n + m * q
        if size > MAX_INPUT:
            raise SizeError(
                f"the {axis} axis needs an input over {MAX_INPUT} samples to show its interior "
                "pattern; the stack is too deep to analyse"
            )
        if m == 0 and first is not None:
            vals, dirts = first
        else:
            vals, dirts, _ = _run_axis(ops, size, gradient, layers, axis)
        stats = [
            _axis_stats(v, _interior(d), p) for v, d, p in zip(vals, dirts, periods, strict=True)
        ]
        if all(s is not None for s in stats):
            return [s for s in stats if s is not None]
        m += step
        step *= 2


def _axis_ops(layers: tuple[Layer, ...], a: int) -> list[AxisOp]:
    return [layer.axis(a) for layer in layers]


def _axis_names(layers: tuple[Layer, ...]) -> tuple[str, ...]:
    """The stack's axis names (``t``; ``y, x``; ``z, y, x``): every layer has as many axes."""
    dims = {layer.ndim for layer in layers}
    if len(dims) != 1:
        shown = ", ".join(map(str, sorted(dims)))
        raise LayerSpecError(f"the layers have different numbers of spatial axes ({shown})")
    return AXIS_NAMES[dims.pop()]


def default_input_size(
    layers: list[Layer] | tuple[Layer, ...], *, gradient: bool = False
) -> tuple[int, ...]:
    """An input size whose map shows both borders and a few interior periods.

    Per axis: the smallest input whose interior spans at least three periods of the final
    pattern (two when the period exceeds 8).
    """
    layers = tuple(layers)
    if not layers:
        raise LayerSpecError("no layers given")
    out: list[int] = []
    for a, name in enumerate(_axis_names(layers)):
        ops = _axis_ops(layers, a)
        n0 = _first_valid(ops, 1, layers, name)
        stats = _analyse_axis(ops, n0, gradient, layers, name)
        p = stats[0].period if gradient else stats[-1].period
        target = max(3 * p if p <= 8 else 2 * p, 4)

        def enough(n: int, ops: list[AxisOp] = ops, name: str = name, target: int = target) -> bool:
            try:
                _, dirts, _ = _run_axis(ops, n, gradient, layers, name)
            except _TooLarge:
                return True  # cannot grow further: take the largest that fits
            except SizeError:
                return False
            final = dirts[0] if gradient else dirts[-1]
            return int(np.count_nonzero(_interior(final))) >= target

        # the interior grows with the input: double until enough, then bisect for the smallest
        lo, hi = n0, n0
        while not enough(hi) and hi < 4096:
            lo, hi = hi + 1, min(hi * 2, 4096)
        while lo < hi:
            mid = (lo + hi) // 2
            if enough(mid):
                hi = mid
            else:
                lo = mid + 1
        out.append(hi)
    return tuple(out)


def _first_valid(ops: list[AxisOp], n: int, layers: tuple[Layer, ...], axis: str) -> int:
    """The smallest input length from ``n`` up for which no stage is empty."""
    first: SizeError | None = None
    for cand in range(n, n + 4096):
        try:
            _sizes(ops, cand, layers, axis)
        except _TooLarge:
            raise
        except SizeError as exc:
            first = first or exc
            continue
        # (a kept exception's traceback holds this frame, and through it every caller's: a
        # cycle that would keep the callers' data alive until the garbage collector runs)
        first = None
        return cand
    assert first is not None
    raise first


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def overlap_map(
    layers: list[Layer] | tuple[Layer, ...],
    input_size: int | tuple[int, ...] | None = None,
    *,
    gradient: bool = False,
) -> OverlapResult:
    """Exact overlap (path-count) map of a layer stack.

    Parameters
    ----------
    layers : sequence of Layer
        The stack, first layer first (see :func:`cbdiag.layers.parse_layers`).
    input_size : int or (int, int), optional
        Spatial size ``(H, W)`` of the stack's input. Default: :func:`default_input_size`.
    gradient : bool
        Instead of the forward map, the gradient map: the transpose of the stack applied to an
        all-ones upstream gradient, i.e. how many paths lead from the output back to each input
        pixel. This is the checkerboard a strided convolution paints into its gradient.

    Returns
    -------
    OverlapResult
        Per-axis values (``values_y``, ``values_x``; the 2-D map is their outer product), the
        interior masks, per-axis statistics, per-stage statistics, notes and suggested fixes.

    Notes
    -----
    For a single transposed convolution (dilation 1) the interior count at phase ``r`` is
    ``ceil((k - r) / s)``, so the interior max/min is ``ceil(k/s) / floor(k/s)`` per axis and
    its square in 2-D; ``n`` stacked ``k3 s2`` layers give Fibonacci ratios ``F(n+2)``.

    Examples
    --------
    >>> from cbdiag.layers import deconv
    >>> r = overlap_map([deconv(3, 2)])
    >>> r.y.pattern, r.ratio_2d
    ((2.0, 1.0), 4.0)
    """
    layers = tuple(layers)
    if not layers:
        raise LayerSpecError("no layers given")
    token = _SPENT.set([0])
    try:
        return _overlap_map(layers, input_size, gradient)
    finally:
        _SPENT.reset(token)


def _overlap_map(
    layers: tuple[Layer, ...], input_size: int | tuple[int, ...] | None, gradient: bool
) -> OverlapResult:
    names = _axis_names(layers)
    ndim = len(names)
    size: tuple[int, ...]
    if input_size is None:
        size = default_input_size(layers, gradient=gradient)
    elif isinstance(input_size, int):
        size = (input_size,) * ndim
    else:
        size = tuple(int(v) for v in input_size)
        if len(size) == 1:
            size = size * ndim
        if len(size) != ndim:
            raise SizeError(
                f"an input size of {len(size)} values for {ndim}-D layers (give N or "
                f"{'x'.join(n.upper() for n in names)})"
            )
    for s in size:
        if s < 1:
            raise SizeError(f"input size must be >= 1, got {s}")
        if s > MAX_INPUT:
            raise SizeError(f"input size {s} is absurdly large (max {MAX_INPUT})")
    per_axis: list[tuple[FloatArray, BoolArray, list[AxisResult], list[int]]] = []
    for a, name in enumerate(names):
        ops = _axis_ops(layers, a)
        same = [b for b in range(a) if size[b] == size[a] and _axis_ops(layers, b) == ops]
        if same:
            per_axis.append(per_axis[same[0]])  # same length, same parameters: the same axis
            continue
        vals, dirts, sizes = _run_axis(ops, size[a], gradient, layers, name)
        stats = _analyse_axis(ops, size[a], gradient, layers, name, first=(vals, dirts))
        final = 0 if gradient else -1
        per_axis.append((vals[final], _interior(dirts[final]), stats, sizes))
    stages = tuple(
        Stage(
            layer=layers[i],
            size=tuple(z[i] if gradient else z[i + 1] for _, _, _, z in per_axis),
            axes=tuple(st[i] for _, _, st, _ in per_axis),
        )
        for i in range(len(layers))
    )
    final = 0 if gradient else -1
    result = OverlapResult(
        layers=layers,
        gradient=gradient,
        input_size=size,
        values=tuple(v for v, _, _, _ in per_axis),
        interiors=tuple(i for _, i, _, _ in per_axis),
        axes=tuple(st[final] for _, _, st, _ in per_axis),
        stages=stages,
    )
    result.notes.extend(_notes(result))
    result.suggestions.extend(_suggestions(result))
    return result


# ---------------------------------------------------------------------------------------------
# Diagnosis and advice
# ---------------------------------------------------------------------------------------------


def _strided(layer: Layer, gradient: bool) -> bool:
    want = "conv" if gradient else "deconv"
    return layer.kind == want and any(op.stride > 1 for op in layer.axes)


def _isotropic(layer: Layer) -> bool:
    return len(set(layer.axes)) == 1


def _notes(r: OverlapResult) -> list[str]:
    notes: list[str] = []
    names = AXIS_NAMES[r.ndim]
    if r.interior_empty:
        notes.append(
            f"at input {fmt_size(r.input_size)} the {fmt_size(r.shape)} map has no interior: "
            f"every {CELL_NAMES[r.ndim]} is within reach of the input's edges; the pattern, period "
            "and ratios "
            "given are the stack's own (measured on a longer input), which the interior of any "
            "larger input shows"
        )
    for i, layer in enumerate(r.layers):
        if not _strided(layer, r.gradient):
            continue
        for op, axis in zip(layer.axes, names, strict=True):
            if op.stride == 1:
                continue
            k, s, d = op.kernel, op.stride, op.dilation
            own = _own_ratio(op)
            where = f"layer {i + 1} ('{layer.spec}')" + (
                "" if _isotropic(layer) or r.ndim == 1 else f", {axis} axis"
            )
            if own is None:
                if k < s:
                    notes.append(f"{where}: kernel {k} < stride {s} leaves holes (zero taps)")
                else:
                    notes.append(
                        f"{where}: dilation {d} shares the factor {math.gcd(d, s)} with stride "
                        f"{s}, so whole {_LINES[r.ndim]} get zero taps"
                    )
            elif own != 1:
                notes.append(
                    f"{where}: kernel {k} is not divisible by stride {s} "
                    f"(own max/min {_fmt_frac(own)})"
                )
            if _isotropic(layer):
                break
    zeros = [int(np.count_nonzero(v == 0)) for v in r.values]
    if not r.holes and any(zeros):
        counts = ", ".join(f"{n} {unit}" for n, unit in zip(zeros, _UNITS[r.ndim], strict=True))
        notes.append(
            f"the border has zero-coverage {_LINES[r.ndim]} ({counts}) "
            "that no tap reaches (e.g. output padding larger than padding, or a strided conv "
            "whose last window stops short of the input's end)"
        )
    if len(r.layers) > 1 and r.even:
        uneven = [i + 1 for i, st in enumerate(r.stages) if not all(a.even for a in st.axes)]
        if uneven and not r.gradient:
            notes.append(
                f"the map is even overall although it is uneven after layer(s) "
                f"{', '.join(map(str, uneven))}: later layers average it out"
            )
    if r.even and not r.gradient and any(layer.kind in ("deconv", "shuffle") for layer in r.layers):
        notes.append(
            "even overlap removes the structural checkerboard only: learned or random weights "
            "with unequal per-phase sums still paint one (resize-conv, ICNR, or a blur/box "
            "filter after the upsampler make a constant input give a constant output)"
        )
    return notes


#: What one position of the map is, what its lines along an axis are, and their per-axis names.
CELL_NAMES = {1: "sample", 2: "pixel", 3: "voxel"}
_LINES = {1: "samples", 2: "rows/columns", 3: "planes/rows/columns"}
_UNITS = {1: ("samples",), 2: ("rows", "columns"), 3: ("planes", "rows", "columns")}


def fmt_size(size: tuple[int, ...]) -> str:
    """``4x5x5``: a size with one value per axis."""
    return "x".join(map(str, size))


def _fmt_frac(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{float(f):.4g}"


def _deconv_alternatives(op: AxisOp) -> list[tuple[int, int, int]]:
    """Kernels divisible by the stride that keep the output size: (k, padding, output_padding)."""
    s, d = op.stride, op.dilation
    c = -2 * op.padding + d * (op.kernel - 1) + op.output_padding  # size = (n-1)s + c + 1
    out: list[tuple[int, int, int]] = []
    lo = (op.kernel // s) * s
    for k in sorted({lo, lo + s} - {0}):
        need = (k - 1) - c  # 2p - op must equal this
        p = max(math.ceil(need / 2), 0)
        opad = 2 * p - need
        if 0 <= opad < s and opad <= p:  # op > p would leave a zero-coverage last row
            out.append((k, p, opad))
    return out


def _anisotropic_fix(i: int, layer: Layer) -> str:
    """The fixes of a layer whose axes differ, per axis (an axis that is already even keeps
    its own parameters), in the layer syntax's per-axis form (HxW, DxHxW)."""
    per_axis: list[list[tuple[int, int, int]]] = []
    for op in layer.axes:
        if _own_ratio(op) == 1 or op.tf_padding:
            per_axis.append([(op.kernel, op.padding, op.output_padding)])
        else:
            per_axis.append(_deconv_alternatives(op))
    first = layer.axes[0]
    strides = _fmt_axes(tuple(op.stride for op in layer.axes))
    alts = []
    for choice in zip(*per_axis, strict=False):
        ks, ps, ops = (tuple(c[j] for c in choice) for j in range(3))
        text = f"deconv k{_fmt_axes(ks)} s{strides}"
        if first.tf_padding:
            text += f" {first.tf_padding}"
        else:
            text += f" p{_fmt_axes(ps)}" if set(ps) != {0} else ""
            text += f" op{_fmt_axes(ops)}" if set(ops) != {0} else ""
        alts.append(text)
    odd = tuple(op.kernel if op.kernel % 2 else op.kernel + 1 for op in layer.axes)
    resize = f"nearest x{strides}, conv k{_fmt_axes(odd)} p{_fmt_axes(tuple(k // 2 for k in odd))}"
    text = f"layer {i + 1} ('{layer.spec}'): "
    if alts and all(per_axis):
        same = "" if first.tf_padding == "valid" else "same output size "
        text += f"{same}with an even kernel: {' or '.join(repr(a) for a in alts)}; or "
    return text + f"resize-conv: '{resize}'"


def _suggestions(r: OverlapResult) -> list[str]:
    if r.even:
        return []
    out: list[str] = []
    for i, layer in enumerate(r.layers):
        if not _strided(layer, r.gradient):
            continue
        if all(_own_ratio(op) == 1 for op in layer.axes):
            continue
        if not _isotropic(layer) and not r.gradient:
            out.append(_anisotropic_fix(i, layer))
            continue
        y = layer.axes[0]
        s = y.stride
        if r.gradient:
            k_lo = (y.kernel // s) * s
            ks = sorted({k_lo, k_lo + s} - {0})
            out.append(
                f"layer {i + 1} ('{layer.spec}'): use a kernel divisible by the stride "
                f"({' or '.join(f'k{k}' for k in ks)}), or blur before the strided conv "
                f"('box {s}, {layer.spec}', anti-aliased downsampling)"
            )
            continue
        if y.tf_padding:
            k_lo = (y.kernel // s) * s
            ks = sorted({k_lo, k_lo + s} - {0})
            alts = [f"deconv k{k} s{s} {y.tf_padding}" for k in ks]
        else:
            alts = [
                f"deconv k{k} s{s}" + (f" p{p}" if p else "") + (f" op{op}" if op else "")
                for k, p, op in _deconv_alternatives(y)
            ]
        kk = y.kernel if y.kernel % 2 else y.kernel + 1
        resize = f"nearest x{s}, conv k{kk} p{kk // 2}"
        text = f"layer {i + 1} ('{layer.spec}'): "
        if alts:
            same = "" if y.tf_padding == "valid" else "same output size "
            text += f"{same}with an even kernel: {' or '.join(repr(a) for a in alts)}; or "
        text += f"resize-conv: '{resize}'"
        if s == 2:
            text += "; or keep it and add 'blur 2' after it"
        else:
            text += f"; or keep it and add 'box {s}' after it"
        out.append(text)
    if not out and not r.gradient:
        out.append(
            "no single layer is uneven on its own: the stack's combination is; a stride-1 conv "
            f"whose kernel is a multiple of the period {max(r.period)} flattens it"
        )
    return out
