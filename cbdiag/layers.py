"""Layer specifications: the geometry of upsamplers and convolutions, one axis at a time.

A :class:`Layer` describes one spatial layer of a network (transposed convolution, convolution,
nearest / bilinear resize, pixel shuffle, fixed blur) with per-axis parameters. Each axis is an
:class:`AxisOp`, a 1-D linear operator with exact framework semantics:

* ``deconv``: PyTorch ``ConvTranspose`` (``padding`` crops ``p`` samples at the start and
  ``p - output_padding`` at the end of the full output of length ``(I-1)s + d(k-1) + 1``), or
  the TensorFlow / Keras rule (``same``: output ``I*s``, crop ``floor((k_eff-s)/2)`` at the start;
  ``valid``: output ``I*s + max(k_eff - s, 0)``, no crop).
* ``conv``: PyTorch ``Conv`` (symmetric padding, zero / reflect / replicate / circular), or the
  TensorFlow ``same`` / ``valid`` rule (extra padding at the end).
* ``nearest``, ``bilinear``: ``torch.nn.functional.interpolate`` with an integer ``scale_factor``
  and ``align_corners=False``.
* ``shuffle``: pixel shuffle (sub-pixel convolution); spatially each output copies one input.
* ``blur``, ``box``: a fixed normalised binomial or box filter with "same" output size (the
  zero-order-hold fix of Sugawara et al. and the ``[1, 3, 3, 1]`` filter of StyleGAN2).

The textual syntax (``parse_layers``) is documented in the README, "Layer syntax".
"""

from __future__ import annotations

import functools
import math
import re
from operator import attrgetter

from .errors import LayerSpecError
from .records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # numpy is imported where an operator is built: parsing layers needs none
    from fractions import Fraction

    import numpy as np
    from numpy.typing import NDArray

    IntArray = NDArray[np.int64]
    FloatArray = NDArray[np.float64]

__all__ = [
    "KINDS",
    "PRESETS",
    "AxisOp",
    "Layer",
    "deconv",
    "parse_layers",
    "preset",
]

#: Upper bounds on parameters; anything larger is refused as absurd.
MAX_KERNEL = 1024
MAX_STRIDE = 256
MAX_PADDING = 4096
MAX_LAYERS = 64

KINDS = ("deconv", "conv", "nearest", "bilinear", "shuffle", "blur", "box")
UPSAMPLERS = ("deconv", "nearest", "bilinear", "shuffle")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

_KIND_ALIASES = {
    "deconv": "deconv",
    "convt": "deconv",
    "convtranspose": "deconv",
    "conv_transpose": "deconv",
    "conv-transpose": "deconv",
    "transposed": "deconv",
    "tconv": "deconv",
    "conv": "conv",
    "nearest": "nearest",
    "resize-nearest": "nearest",
    "upsample": "nearest",
    "bilinear": "bilinear",
    "resize-bilinear": "bilinear",
    "shuffle": "shuffle",
    "pixelshuffle": "shuffle",
    "pixel-shuffle": "shuffle",
    "pixel_shuffle": "shuffle",
    "subpixel": "shuffle",
    "depth_to_space": "shuffle",
    "blur": "blur",
    "binomial": "blur",
    "box": "box",
}


def _binomial(n: int) -> tuple[float, ...]:
    row = [math.comb(n - 1, j) for j in range(n)]
    total = float(sum(row))
    return tuple(v / total for v in row)


class AxisOp(Record):
    """One layer along one spatial axis: a 1-D linear operator with exact framework semantics.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    kernel, stride, padding, output_padding, dilation : int
        As in PyTorch. For ``nearest`` / ``bilinear`` / ``shuffle`` ``stride`` is the integer
        upsampling factor; for ``blur`` / ``box`` ``kernel`` is the number of taps.
    tf_padding : {None, "same", "valid"}
        Use the TensorFlow / Keras padding rule instead of ``padding`` / ``output_padding``.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        How ``conv``, ``blur`` and ``box`` read beyond the input.

    Notes
    -----
    Every operator is described by its taps in the *infinite-input model*
    (:meth:`taps`): the input positions (possibly outside ``[0, n)``) that an output position
    reads, with weights. The real operator (:meth:`operator`) is the same list restricted to
    the input, with the framework's border rule (zero, reflect, replicate, circular, clamp).
    Comparing the two tells exactly which outputs are touched by a border.
    """

    kind: str
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    dilation: int = 1
    tf_padding: str | None = None
    padding_mode: str = "zeros"

    _fields = (
        "kind",
        "kernel",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "tf_padding",
        "padding_mode",
    )
    _key = attrgetter(*_fields)

    def __init__(
        self,
        kind: str,
        kernel: int = 1,
        stride: int = 1,
        padding: int = 0,
        output_padding: int = 0,
        dilation: int = 1,
        tf_padding: str | None = None,
        padding_mode: str = "zeros",
    ) -> None:
        self.kind = kind
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.output_padding = output_padding
        self.dilation = dilation
        self.tf_padding = tf_padding
        self.padding_mode = padding_mode

    # -- derived quantities -------------------------------------------------------------------
    @property
    def k_eff(self) -> int:
        """Dilated kernel extent ``d(k-1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def weights(self) -> tuple[float, ...]:
        """Tap weights: all ones for (de)convolutions (the path count), normalised for filters."""
        if self.kind == "blur":
            return _binomial(self.kernel)
        if self.kind == "box":
            return tuple(1.0 / self.kernel for _ in range(self.kernel))
        return tuple(1.0 for _ in range(self.kernel))

    @property
    def up(self) -> int:
        """Factor by which the layer upsamples (1 for convolutions)."""
        return self.stride if self.kind in UPSAMPLERS else 1

    @property
    def down(self) -> int:
        """Factor by which the layer downsamples (its stride for convolutions, else 1)."""
        return self.stride if self.kind == "conv" else 1

    def _conv_pads(self, n: int) -> tuple[int, int]:
        if self.kind in ("blur", "box"):
            before = (self.kernel - 1) // 2
            return before, self.kernel - 1 - before
        if self.tf_padding == "same":
            total = max((-(-n // self.stride) - 1) * self.stride + self.k_eff - n, 0)
            return total // 2, total - total // 2
        if self.tf_padding == "valid":
            return 0, 0
        return self.padding, self.padding

    def _deconv_geometry(self, n: int) -> tuple[int, int]:
        """(crop at the start, output length) of a transposed convolution on ``n`` inputs."""
        s, ke = self.stride, self.k_eff
        if self.tf_padding == "same":
            return max(ke - s, 0) // 2, n * s
        if self.tf_padding == "valid":
            return 0, n * s + max(ke - s, 0)
        full = (n - 1) * s + ke
        return self.padding, full - 2 * self.padding + self.output_padding

    def output_size(self, n: int) -> int:
        """Output length for an input of length ``n`` (may be ``<= 0`` for impossible sizes)."""
        if self.kind == "deconv":
            return self._deconv_geometry(n)[1]
        if self.kind in ("conv", "blur", "box"):
            before, after = self._conv_pads(n)
            return (n + before + after - self.k_eff) // self.stride + 1
        return n * self.stride

    def reach(self) -> int:
        """A margin (in output samples) beyond which no output can read inside the input."""
        return self.k_eff + 2 * self.padding + self.output_padding + 2 * self.stride + 2

    # -- the operator ---------------------------------------------------------------------------
    def taps(self, rows: IntArray, n: int) -> tuple[IntArray, IntArray, FloatArray]:
        """Taps of the output positions ``rows`` in the infinite-input model.

        Returns ``(row, col, weight)`` arrays, one entry per tap with non-zero weight; ``col``
        may lie outside ``[0, n)``.
        """
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        if self.kind == "deconv":
            crop, _ = self._deconv_geometry(n)
            j = np.arange(self.kernel, dtype=np.int64)
            t = (rows + crop)[:, None] - self.dilation * j[None, :]
            hit = np.mod(t, self.stride) == 0
            r = np.broadcast_to(rows[:, None], t.shape)[hit]
            w = np.broadcast_to(np.asarray(self.weights)[None, :], t.shape)[hit]
            return r, t[hit] // self.stride, w.astype(np.float64)
        if self.kind in ("conv", "blur", "box"):
            before, _ = self._conv_pads(n)
            j = np.arange(self.kernel, dtype=np.int64)
            c = (rows * self.stride - before)[:, None] + self.dilation * j[None, :]
            r = np.broadcast_to(rows[:, None], c.shape).ravel()
            w = np.broadcast_to(np.asarray(self.weights)[None, :], c.shape).ravel()
            return r, c.ravel(), w.astype(np.float64)
        if self.kind in ("nearest", "shuffle"):
            return rows, rows // self.stride, np.ones(rows.shape, dtype=np.float64)
        # bilinear, align_corners=False: source coordinate (o + 1/2)/f - 1/2, exact in halves.
        f = self.stride
        num = 2 * rows + 1 - f  # source = num / (2 f)
        i0 = num // (2 * f)
        lam = (num - i0 * 2 * f) / (2.0 * f)
        r = np.concatenate([rows, rows])
        c = np.concatenate([i0, i0 + 1])
        w = np.concatenate([1.0 - lam, lam])
        keep = w != 0.0
        return r[keep], c[keep], w[keep]

    def operator(self, n: int) -> tuple[IntArray, IntArray, FloatArray]:
        """The real operator on an input of length ``n``: ``(row, col, weight)`` triplets.

        ``y[row] += weight * x[col]`` over all triplets gives the layer's output for input
        ``x``; rows lie in ``[0, output_size(n))`` and cols in ``[0, n)``.
        """
        import numpy as np

        out = self.output_size(n)
        rows = np.arange(out, dtype=np.int64)
        if self.kind == "bilinear":
            f = self.stride
            src = np.maximum((2 * rows + 1 - f) / (2.0 * f), 0.0)
            i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
            lam = src - i0
            i1 = np.minimum(i0 + 1, n - 1)
            r = np.concatenate([rows, rows])
            c = np.concatenate([i0, i1])
            w = np.concatenate([1.0 - lam, lam])
            keep = w != 0.0
            return r[keep], c[keep], w[keep]
        r, c, w = self.taps(rows, n)
        inside = (c >= 0) & (c < n)
        if self.kind in ("conv", "blur", "box") and self.padding_mode != "zeros":
            return r, self.map_cols(c, n), w
        return r[inside], c[inside], w[inside]

    def map_cols(self, c: IntArray, n: int) -> IntArray:
        """Where the padding mode sends input positions outside ``[0, n)``."""
        import numpy as np

        if self.padding_mode == "reflect":
            c = np.where(c < 0, -c, c)
            return np.where(c >= n, 2 * (n - 1) - c, c)
        if self.padding_mode == "replicate":
            return np.clip(c, 0, n - 1)
        if self.padding_mode == "circular":
            return np.mod(c, n)
        return c

    # -- validation and text ----------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Reasons this operator is invalid (empty when valid)."""
        out: list[str] = []
        name = "scale factor" if self.kind in ("nearest", "bilinear", "shuffle") else "stride"
        if self.kind in ("blur", "box"):
            if not 1 <= self.kernel <= MAX_KERNEL:
                out.append(f"{self.kind} needs 1..{MAX_KERNEL} taps, got {self.kernel}")
            return out
        if self.kernel < 1:
            out.append(f"kernel must be >= 1, got {self.kernel}")
        elif self.kernel > MAX_KERNEL:
            out.append(f"kernel {self.kernel} is absurdly large (max {MAX_KERNEL})")
        if self.stride < 1:
            out.append(f"{name} must be >= 1, got {self.stride}")
        elif self.stride > MAX_STRIDE:
            out.append(f"{name} {self.stride} is absurdly large (max {MAX_STRIDE})")
        if self.dilation < 1:
            out.append(f"dilation must be >= 1, got {self.dilation}")
        elif self.dilation > MAX_STRIDE:
            out.append(f"dilation {self.dilation} is absurdly large (max {MAX_STRIDE})")
        if self.padding < 0:
            out.append(f"padding must be >= 0, got {self.padding}")
        elif self.padding > MAX_PADDING:
            out.append(f"padding {self.padding} is absurdly large (max {MAX_PADDING})")
        if self.output_padding < 0:
            out.append(f"output padding must be >= 0, got {self.output_padding}")
        if self.kind == "deconv" and self.output_padding >= max(self.stride, self.dilation):
            out.append(
                f"output padding {self.output_padding} must be smaller than the stride "
                f"({self.stride}) or the dilation ({self.dilation})"
            )
        if self.kind != "deconv" and self.output_padding:
            out.append("output padding only applies to transposed convolutions")
        return out


def _fmt_axes(values: tuple[int, ...]) -> str:
    """``3`` when every axis has the value, else ``1x2x2`` (in axis order)."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


#: Axis names by number of spatial dimensions: a signal, an image, a volume.
AXIS_NAMES = {1: ("t",), 2: ("y", "x"), 3: ("z", "y", "x")}


class Layer(Record):
    """One spatial layer: an :class:`AxisOp` per spatial axis, in the framework's order
    (``(y, x)`` for an image, ``(t,)`` for a 1-D signal, ``(z, y, x)`` for a volume).

    ``Layer(y_op, x_op)`` is the 2-D layer of every image command; ``y`` and ``x`` are its
    axes (a volume's last two)."""

    axes: tuple[AxisOp, ...]
    spec: str = ""

    _fields = ("axes", "spec")
    _key = attrgetter("axes")

    def __init__(self, *axes: AxisOp, spec: str = "") -> None:
        if not 1 <= len(axes) <= 3:
            raise LayerSpecError(f"a layer has 1, 2 or 3 spatial axes, got {len(axes)}")
        self.axes = tuple(axes)
        self.spec = spec
        self.__post_init__()

    def __post_init__(self) -> None:
        if len({op.kind for op in self.axes}) != 1:
            raise LayerSpecError("every axis of a layer must have the same kind")
        problems: list[str] = []
        for op in self.axes:
            problems += [p for p in op.problems() if p not in problems]
        if problems:
            raise LayerSpecError(f"layer '{self.describe()}': {'; '.join(problems)}")
        if not self.spec:
            object.__setattr__(self, "spec", self.describe())

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def y(self) -> AxisOp:
        """The rows' operator (an image's first axis, a volume's second)."""
        if self.ndim == 1:
            raise AttributeError("a 1-D layer has no y axis")
        return self.axes[-2]

    @property
    def x(self) -> AxisOp:
        """The columns' operator (the last axis)."""
        return self.axes[-1]

    @property
    def kind(self) -> str:
        return self.axes[0].kind

    def axis(self, a: int) -> AxisOp:
        """The operator along axis ``a`` (for an image 0 = y / rows, 1 = x / columns)."""
        return self.axes[a]

    def _values(self, name: str) -> tuple[int, ...]:
        return tuple(getattr(op, name) for op in self.axes)

    def describe(self) -> str:
        """Canonical text of the layer in the ``--layers`` syntax (round-trips)."""
        first = self.axes[0]
        if first.kind in ("nearest", "bilinear", "shuffle"):
            return f"{first.kind} x{_fmt_axes(self._values('stride'))}"
        if first.kind in ("blur", "box"):
            mode = "" if first.padding_mode == "zeros" else f" {first.padding_mode}"
            return f"{first.kind} {_fmt_axes(self._values('kernel'))}{mode}"
        parts = [first.kind, f"k{_fmt_axes(self._values('kernel'))}"]
        for name, tag, neutral in (("stride", "s", 1), ("padding", "p", 0)):
            if name == "padding" and first.tf_padding:
                parts.append(first.tf_padding)
                continue
            values = self._values(name)
            if set(values) != {neutral}:
                parts.append(f"{tag}{_fmt_axes(values)}")
        for name, tag, neutral in (("output_padding", "op", 0), ("dilation", "d", 1)):
            values = self._values(name)
            if set(values) != {neutral}:
                parts.append(f"{tag}{_fmt_axes(values)}")
        if first.padding_mode != "zeros":
            parts.append(first.padding_mode)
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly description (per-axis values as lists in axis order, ``[y, x]`` for
        an image)."""
        first = self.axes[0]
        d: dict[str, object] = {"spec": self.spec, "kind": self.kind}
        if self.kind in ("nearest", "bilinear", "shuffle"):
            d["factor"] = list(self._values("stride"))
            return d
        for name in ("kernel", "stride", "padding", "output_padding", "dilation"):
            d[name] = list(self._values(name))
        d["tf_padding"] = first.tf_padding
        d["padding_mode"] = first.padding_mode
        return d


def _both(kind: str, dims: int = 2, **per_axis: tuple[int, ...] | str | None) -> Layer:
    """A layer of ``dims`` axes; a tuple value gives one entry per axis (or one for all)."""
    ops: list[dict[str, object]] = [{} for _ in range(dims)]
    for key, val in per_axis.items():
        for a in range(dims):
            if isinstance(val, tuple):
                ops[a][key] = val[a] if len(val) == dims else val[0]
            else:
                ops[a][key] = val
    return Layer(*(AxisOp(kind, **kw) for kw in ops))  # type: ignore[arg-type]


def deconv(
    kernel: int | tuple[int, ...],
    stride: int | tuple[int, ...],
    *,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    tf_padding: str | None = None,
    kind: str = "deconv",
    dims: int = 2,
) -> Layer:
    """Build a transposed-convolution layer (or a ``conv`` with ``kind="conv"``).

    Examples
    --------
    >>> deconv(3, 2, padding=1, output_padding=1).spec
    'deconv k3 s2 p1 op1'
    >>> deconv((3, 4), (2, 1), kind="conv").spec
    'conv k3x4 s2x1'
    >>> deconv(16, 8, padding=4, dims=1).spec, deconv((1, 2, 2), (1, 2, 2), dims=3).spec
    ('deconv k16 s8 p4', 'deconv k1x2x2 s1x2x2')
    """
    if dims not in AXIS_NAMES:
        raise LayerSpecError(f"a layer has 1, 2 or 3 spatial axes, got {dims}")

    def axes(v: int | tuple[int, ...], what: str) -> tuple[int, ...]:
        t = (v,) if isinstance(v, int) else tuple(int(x) for x in v)
        if len(t) not in (1, dims):
            raise LayerSpecError(f"{what} {v!r}: a {dims}-D layer takes 1 or {dims} values")
        return t * dims if len(t) == 1 else t

    if tf_padding not in (None, "same", "valid"):
        raise LayerSpecError(f"TensorFlow padding must be 'same' or 'valid', got {tf_padding!r}")
    pads, opads = axes(padding, "padding"), axes(output_padding, "output padding")
    if tf_padding and (set(pads) != {0} or set(opads) != {0}):
        raise LayerSpecError("give either padding/output padding (PyTorch) or same/valid (TF)")
    return _both(
        kind,
        dims,
        kernel=axes(kernel, "kernel"),
        stride=axes(stride, "stride"),
        padding=pads,
        output_padding=opads,
        dilation=axes(dilation, "dilation"),
        tf_padding=tf_padding,
    )


# ---------------------------------------------------------------------------------------------
# Text syntax
# ---------------------------------------------------------------------------------------------

_NUM = r"(-?\d+)(?:[x](-?\d+))?(?:[x](-?\d+))?"
_OPTION_TEXT = {
    "kernel": rf"^(?:k|kernel=|kernel_size=|size=){_NUM}$",
    "stride": rf"^(?:s|stride=|x|r|factor=|scale=|scale_factor=|upscale_factor=){_NUM}$",
    "output_padding": rf"^(?:op|output_padding=){_NUM}$",
    "padding": rf"^(?:p|pad=|padding=){_NUM}$",
    "dilation": rf"^(?:d|dilation=){_NUM}$",
    "bare": rf"^{_NUM}$",
}


@functools.cache
def _option_re() -> dict[str, re.Pattern[str]]:
    """The option patterns, compiled when text is first parsed (``cbdiag lint`` parses none)."""
    return {k: re.compile(v) for k, v in _OPTION_TEXT.items()}


@functools.cache
def _repeat_re() -> re.Pattern[str]:
    return re.compile(r"^(\d+)\s*[x*]$")


_ALLOWED = {
    "deconv": {"kernel", "stride", "padding", "output_padding", "dilation", "tf", "mode"},
    "conv": {"kernel", "stride", "padding", "dilation", "tf", "mode"},
    "nearest": {"stride", "bare"},
    "bilinear": {"stride", "bare"},
    "shuffle": {"stride", "bare"},
    "blur": {"kernel", "bare", "mode"},
    "box": {"kernel", "bare", "mode"},
}


def parse_pair(text: str, what: str) -> tuple[int, int]:
    """Parse ``"3"`` or ``"3x4"`` (y, x) into a pair of ints.

    >>> parse_pair("3x4", "kernel")
    (3, 4)
    """
    got = parse_sizes(text, 2, what)
    return (got[0], got[1])


def parse_sizes(text: str, dims: int, what: str) -> tuple[int, ...]:
    """Parse ``"3"`` (every axis) or one value per axis (``"3x4"`` for 2-D, ``"1x2x2"`` for
    3-D) into ``dims`` ints.

    >>> parse_sizes("1x2x2", 3, "stride"), parse_sizes("8", 1, "stride")
    ((1, 2, 2), (8,))
    """
    m = _option_re()["bare"].match(text.strip())
    got = tuple(_int(g) for g in m.groups() if g is not None) if m else ()
    if len(got) not in (1, dims):
        shape = {1: "an integer", 2: "an integer or HxW (e.g. 3 or 3x4)"}.get(
            dims, "an integer or DxHxW (e.g. 2 or 1x2x2)"
        )
        raise LayerSpecError(f"{what} must be {shape}, got {text!r}")
    return got * dims if len(got) == 1 else got


#: Most digits of a number in a layer description (every limit below is far smaller).
MAX_DIGITS = 12


def _int(digits: str) -> int:
    """A number of a layer description; refused before conversion when it has too many
    digits (converting thousands of digits is slow, and no limit here needs them)."""
    if len(digits) > MAX_DIGITS:
        raise LayerSpecError(
            f"{digits[:8]}... has {len(digits):,} digits: over every limit (kernels up to "
            f"{MAX_KERNEL}, strides up to {MAX_STRIDE}, at most {MAX_LAYERS} layers)"
        )
    return int(digits)


def _parse_one(text: str, dims: int = 2) -> list[Layer]:
    tokens = text.split()
    repeat = 1
    m_repeat = _repeat_re().match(tokens[0]) if tokens else None
    if m_repeat:
        repeat = _int(m_repeat.group(1))
        tokens = tokens[1:]
    elif tokens and re.match(r"^(\d+)[x*](\D.*)$", tokens[0]):
        m = re.match(r"^(\d+)[x*](\D.*)$", tokens[0])
        assert m is not None
        repeat, tokens = _int(m.group(1)), [m.group(2), *tokens[1:]]
    if not tokens:
        raise LayerSpecError(f"empty layer in {text!r}")
    kind = _KIND_ALIASES.get(tokens[0].lower())
    if kind is None:
        raise LayerSpecError(
            f"unknown layer kind {tokens[0]!r} (known: deconv, conv, nearest, bilinear, shuffle, "
            "blur, box)"
        )
    if not 1 <= repeat <= MAX_LAYERS:
        raise LayerSpecError(f"repeat count {repeat} out of range 1..{MAX_LAYERS}")
    allowed = _ALLOWED[kind]
    values: dict[str, tuple[int, ...]] = {}
    tf: str | None = None
    mode = "zeros"
    for tok in tokens[1:]:
        low = tok.lower()
        if low in ("same", "valid") and "tf" in allowed:
            tf = low
            continue
        if low in PADDING_MODES and "mode" in allowed:
            mode = low
            continue
        for key, rx in _option_re().items():
            m = rx.match(low)
            if m and key in allowed:
                got = tuple(_int(g) for g in m.groups() if g is not None)
                name = "kernel" if (key == "bare" and kind in ("blur", "box")) else key
                name = "stride" if name == "bare" else name
                if name in values:
                    raise LayerSpecError(f"{name} given twice in layer {text.strip()!r}")
                if len(got) not in (1, dims):
                    shape = {1: "N", 2: "N or HxW", 3: "N or DxHxW"}[dims]
                    raise LayerSpecError(
                        f"{name} {tok!r} in layer {text.strip()!r} has {len(got)} values; a "
                        f"{dims}-D layer takes {shape}"
                    )
                values[name] = got
                break
        else:
            raise LayerSpecError(
                f"cannot read {tok!r} in {kind} layer {text.strip()!r} "
                f"(see 'cbdiag overlap --help' for the layer syntax)"
            )
    if kind in ("nearest", "bilinear", "shuffle"):
        if "stride" not in values:
            raise LayerSpecError(f"{kind} layer {text.strip()!r} needs a factor, e.g. '{kind} x2'")
        layer = _both(kind, dims, stride=values["stride"])
    elif kind in ("blur", "box"):
        layer = _both(kind, dims, kernel=values.get("kernel", (2,)), padding_mode=mode)
    else:
        if "kernel" not in values:
            raise LayerSpecError(f"{kind} layer {text.strip()!r} needs a kernel size, e.g. k3")
        if tf and ("padding" in values or "output_padding" in values):
            raise LayerSpecError(
                f"layer {text.strip()!r}: give either pN/opN (PyTorch) or same/valid (TF)"
            )
        layer = _both(
            kind,
            dims,
            kernel=values["kernel"],
            stride=values.get("stride", (1,)),
            padding=values.get("padding", (0,)),
            output_padding=values.get("output_padding", (0,)),
            dilation=values.get("dilation", (1,)),
            tf_padding=tf,
            padding_mode=mode,
        )
    return [layer] * repeat


PRESETS: dict[str, tuple[str, str]] = {
    "dcgan": (
        "4x deconv k4 s2 p1",
        "DCGAN generator after the 1x1->4x4 projection: four ConvTranspose2d(k4, s2, p1)",
    ),
    "cyclegan": (
        "2x deconv k3 s2 p1 op1, conv k7 p3 reflect",
        "CycleGAN ResnetGenerator: two ConvTranspose2d(k3, s2, p1, op1), ReflectionPad(3)+Conv 7x7",
    ),
    "pix2pixhd": (
        "4x deconv k3 s2 p1 op1, conv k7 p3 reflect",
        "pix2pixHD global generator: four ConvTranspose2d(k3, s2, p1, op1), ReflectionPad(3)+7x7",
    ),
    "resize-conv": (
        "2x (nearest x2, conv k3 p1)",
        "resize-convolution (Odena et al.): nearest x2 then Conv 3x3, twice",
    ),
    "subpixel": (
        "2x (conv k3 p1, shuffle x2)",
        "sub-pixel convolution (ESPCN): Conv 3x3 to C*r^2 channels then PixelShuffle(2), twice",
    ),
    "stylegan2": (
        "deconv k3 s2, blur 4",
        "StyleGAN2 upsampling: ConvTranspose(k3, s2) then the [1,3,3,1] filter",
    ),
    "hifigan-v1": (
        "2x deconv k16 s8 p4, 2x deconv k4 s2 p1",
        "HiFi-GAN V1 vocoder (1-D): ConvTranspose1d(k, u, padding (k-u)/2) for upsample_rates "
        "[8, 8, 2, 2] and upsample_kernel_sizes [16, 16, 4, 4]; the residual blocks between "
        "them are not a chain and are left out",
    ),
    "melgan": (
        "2x deconv k16 s8 p4, 2x deconv k4 s2 p1",
        "MelGAN vocoder (1-D): ConvTranspose1d(2r, r, padding r/2) for ratios [8, 8, 2, 2]; "
        "the residual stacks between them are left out",
    ),
    "monai-unet": (
        "4x deconv k3 s2 p1 op1",
        "MONAI UNet decoder (3-D): its transposed Convolution with up_kernel_size 3 and "
        "strides 2 is ConvTranspose3d(k3, s2, p1, op1), four times",
    ),
    "nnunet": (
        "5x deconv k2 s2",
        "nnU-Net 3d_fullres decoder (3-D): ConvTranspose3d with kernel = stride = the pooling "
        "size, 2 here (plans may use 1x2x2 on a thick-slice axis)",
    ),
}

#: Spatial dimensions of the presets that are not images.
PRESET_DIMS = {"hifigan-v1": 1, "melgan": 1, "monai-unet": 3, "nnunet": 3}


def parse_layers(text: str, dims: int = 2) -> list[Layer]:
    """Parse a layer list such as ``"2x deconv k3 s2 p1 op1, conv k7 p3"``.

    Layers are separated by commas or semicolons; a leading ``Nx`` repeats a layer, or a group
    in parentheses (``2x (nearest x2, conv k3 p1)``; groups nest). A preset name (see
    :data:`PRESETS`) may stand for a layer.

    Examples
    --------
    >>> [layer.spec for layer in parse_layers("2x deconv k3 s2 p1 op1, conv k7 p3")]
    ['deconv k3 s2 p1 op1', 'deconv k3 s2 p1 op1', 'conv k7 p3']
    >>> [layer.spec for layer in parse_layers("2x (nearest x2, conv k3 p1)")]
    ['nearest x2', 'conv k3 p1', 'nearest x2', 'conv k3 p1']
    >>> parse_layers("bilinear 2")[0].spec
    'bilinear x2'

    ``dims`` is the number of spatial axes (1: a signal, 3: a volume); values are then N or
    one per axis (``deconv k1x2x2 s1x2x2`` for 3-D).
    """
    if dims not in AXIS_NAMES:
        raise LayerSpecError(f"layers have 1, 2 or 3 spatial axes, got {dims}")
    if not text.strip(" ,;"):
        raise LayerSpecError("no layers given")
    layers = _parse_group(text, text, dims)
    if not layers:
        raise LayerSpecError("no layers given")
    return layers


@functools.cache
def _group_re() -> re.Pattern[str]:
    return re.compile(r"^\s*(?:(\d+)\s*[xX*]\s*)?\((.*)\)\s*$", re.S)


def _split_top(text: str, whole: str) -> list[str]:
    """``text`` split at the commas and semicolons outside parentheses."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise LayerSpecError(f"unbalanced ')' in {whole!r}")
        elif ch in ",;" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise LayerSpecError(f"unbalanced '(' in {whole!r}")
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _closing(text: str, start: int) -> int:
    """Index of the ``)`` that closes the ``(`` at ``start`` (the text is balanced)."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text)


def _group_problem(part: str) -> str:
    """Why ``part`` (it holds a parenthesis) is not one layer or one group."""
    first = part.find("(")
    end = _closing(part, first) if first >= 0 else -1
    if first >= 0 and end < len(part) - 1:
        return (
            f"{part!r}: something follows the group's ')' ({part[end + 1 :].strip()!r}); "
            "separate layers and groups with commas"
        )
    head = part[:first].strip()
    return (
        f"{part!r}: a group is written 'Nx (layer, layer)', the repeat count before the "
        f"parenthesis (got {head!r})"
    )


def _parse_group(text: str, whole: str, dims: int = 2) -> list[Layer]:
    layers: list[Layer] = []
    for part in _split_top(text, whole):
        name = part.strip().lower()
        m = _group_re().match(part)
        if m is not None and _closing(m.group(0), m.start(2) - 1) != m.end(2):
            m = None  # "(a) 2x (b)": two groups, not one whose inside is "a) 2x (b"
        if name in PRESETS:
            layers.extend(preset(name, dims))
        elif m is not None:
            repeat = _int(m.group(1)) if m.group(1) else 1
            if not 1 <= repeat <= MAX_LAYERS:
                raise LayerSpecError(f"repeat count {repeat} out of range 1..{MAX_LAYERS}")
            inner = _parse_group(m.group(2), whole, dims)
            if not inner:
                raise LayerSpecError(f"empty group '({m.group(2)})' in {whole!r}")
            if len(inner) * repeat > MAX_LAYERS:
                raise LayerSpecError(
                    f"{len(inner) * repeat} layers is absurdly many (max {MAX_LAYERS})"
                )
            layers.extend(inner * repeat)
        elif "(" in part or ")" in part:
            raise LayerSpecError(_group_problem(part.strip()))
        else:
            layers.extend(_parse_one(part, dims))
        if len(layers) > MAX_LAYERS:
            raise LayerSpecError(f"{len(layers)} layers is absurdly many (max {MAX_LAYERS})")
    return layers


def preset_dims(name: str) -> int:
    """The number of spatial axes of a named preset (2 for the image generators)."""
    key = name.strip().lower()
    if key not in PRESETS:
        raise LayerSpecError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESET_DIMS.get(key, 2)


def preset(name: str, dims: int | None = None) -> list[Layer]:
    """The layers of a named preset (see :data:`PRESETS`), with its own number of spatial
    axes; ``dims`` other than that is refused (a vocoder's stack is not an image's)."""
    own = preset_dims(name)
    if dims is not None and dims != own:
        raise LayerSpecError(
            f"preset {name.strip().lower()!r} is a {own}-D stack, not {dims}-D (use --dims {own})"
        )
    return parse_layers(PRESETS[name.strip().lower()][0], own)


def stack_label(layers: list[Layer] | tuple[Layer, ...]) -> str:
    """Compact text of a stack: runs of identical layers written ``Nx spec``, repeated groups
    ``Nx (a, b)``; :func:`parse_layers` reads it back.

    >>> stack_label(parse_layers("deconv k3 s2, deconv k3 s2, conv k7 p3"))
    '2x deconv k3 s2, conv k7 p3'
    >>> stack_label(parse_layers("nearest x2, conv k3 p1, nearest x2, conv k3 p1"))
    '2x (nearest x2, conv k3 p1)'
    """
    specs = [layer.spec for layer in layers]
    parts: list[str] = []
    i = 0
    n = len(specs)
    while i < n:
        best_len, best_rep = 1, 1
        for g in range(1, (n - i) // 2 + 1):
            rep = 1
            while specs[i + rep * g : i + (rep + 1) * g] == specs[i : i + g]:
                rep += 1
            if rep > 1 and g * rep > best_len * best_rep:
                best_len, best_rep = g, rep
        group = specs[i : i + best_len]
        body = group[0] if best_len == 1 else f"({', '.join(group)})"
        parts.append(f"{best_rep}x {body}" if best_rep > 1 else body)
        i += best_len * best_rep
    return ", ".join(parts)


def phase_counts(op: AxisOp) -> list[int]:
    """How many of a strided (de)convolution's kernel taps fall on each phase of its stride."""
    counts = [0] * op.stride
    for j in range(op.kernel):
        counts[(op.dilation * j) % op.stride] += 1
    return counts


def own_ratio(op: AxisOp) -> Fraction | None:
    """Interior max/min of one strided (de)convolution on its own (None = holes): how unevenly
    the kernel's taps fall on the stride's phases."""
    from fractions import Fraction

    counts = phase_counts(op)
    lo, hi = min(counts), max(counts)
    return None if lo == 0 else Fraction(hi, lo)
