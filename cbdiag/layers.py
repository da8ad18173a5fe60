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
    _key = attrgetter(
        "kind",
        "kernel",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "tf_padding",
        "padding_mode",
    )

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


def _fmt_pair(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}x{b}"


class Layer(Record):
    """One spatial layer: an :class:`AxisOp` for the y axis (rows) and one for x (columns)."""

    y: AxisOp
    x: AxisOp
    spec: str = ""

    _fields = ("y", "x", "spec")
    _key = attrgetter("y", "x")

    def __init__(self, y: AxisOp, x: AxisOp, spec: str = "") -> None:
        self.y = y
        self.x = x
        self.spec = spec
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.y.kind != self.x.kind:
            raise LayerSpecError("both axes of a layer must have the same kind")
        problems = self.y.problems() + [p for p in self.x.problems() if p not in self.y.problems()]
        if problems:
            raise LayerSpecError(f"layer '{self.describe()}': {'; '.join(problems)}")
        if not self.spec:
            object.__setattr__(self, "spec", self.describe())

    @property
    def kind(self) -> str:
        return self.y.kind

    def axis(self, a: int) -> AxisOp:
        """The operator along axis ``a`` (0 = y / rows, 1 = x / columns)."""
        return self.y if a == 0 else self.x

    def describe(self) -> str:
        """Canonical text of the layer in the ``--layers`` syntax (round-trips)."""
        y, x = self.y, self.x
        if y.kind in ("nearest", "bilinear", "shuffle"):
            return f"{y.kind} x{_fmt_pair(y.stride, x.stride)}"
        if y.kind in ("blur", "box"):
            mode = "" if y.padding_mode == "zeros" else f" {y.padding_mode}"
            return f"{y.kind} {_fmt_pair(y.kernel, x.kernel)}{mode}"
        parts = [y.kind, f"k{_fmt_pair(y.kernel, x.kernel)}"]
        if (y.stride, x.stride) != (1, 1):
            parts.append(f"s{_fmt_pair(y.stride, x.stride)}")
        if y.tf_padding:
            parts.append(y.tf_padding)
        elif (y.padding, x.padding) != (0, 0):
            parts.append(f"p{_fmt_pair(y.padding, x.padding)}")
        if (y.output_padding, x.output_padding) != (0, 0):
            parts.append(f"op{_fmt_pair(y.output_padding, x.output_padding)}")
        if (y.dilation, x.dilation) != (1, 1):
            parts.append(f"d{_fmt_pair(y.dilation, x.dilation)}")
        if y.padding_mode != "zeros":
            parts.append(y.padding_mode)
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly description (per-axis values as ``[y, x]``)."""
        y, x = self.y, self.x
        d: dict[str, object] = {"spec": self.spec, "kind": self.kind}
        if self.kind in ("nearest", "bilinear", "shuffle"):
            d["factor"] = [y.stride, x.stride]
            return d
        d["kernel"] = [y.kernel, x.kernel]
        d["stride"] = [y.stride, x.stride]
        d["padding"] = [y.padding, x.padding]
        d["output_padding"] = [y.output_padding, x.output_padding]
        d["dilation"] = [y.dilation, x.dilation]
        d["tf_padding"] = y.tf_padding
        d["padding_mode"] = y.padding_mode
        return d


def _both(kind: str, **per_axis: tuple[int, int] | str | None) -> Layer:
    ya: dict[str, object] = {}
    xa: dict[str, object] = {}
    for key, val in per_axis.items():
        if isinstance(val, tuple):
            ya[key], xa[key] = val
        else:
            ya[key] = xa[key] = val
    return Layer(AxisOp(kind, **ya), AxisOp(kind, **xa))  # type: ignore[arg-type]


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def deconv(
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int],
    *,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    tf_padding: str | None = None,
    kind: str = "deconv",
) -> Layer:
    """Build a transposed-convolution layer (or a ``conv`` with ``kind="conv"``).

    Examples
    --------
    >>> deconv(3, 2, padding=1, output_padding=1).spec
    'deconv k3 s2 p1 op1'
    >>> deconv((3, 4), (2, 1), kind="conv").spec
    'conv k3x4 s2x1'
    """
    if tf_padding not in (None, "same", "valid"):
        raise LayerSpecError(f"TensorFlow padding must be 'same' or 'valid', got {tf_padding!r}")
    if tf_padding and (_pair(padding) != (0, 0) or _pair(output_padding) != (0, 0)):
        raise LayerSpecError("give either padding/output padding (PyTorch) or same/valid (TF)")
    return _both(
        kind,
        kernel=_pair(kernel),
        stride=_pair(stride),
        padding=_pair(padding),
        output_padding=_pair(output_padding),
        dilation=_pair(dilation),
        tf_padding=tf_padding,
    )


# ---------------------------------------------------------------------------------------------
# Text syntax
# ---------------------------------------------------------------------------------------------

_NUM = r"(-?\d+)(?:[x](-?\d+))?"
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
    m = _option_re()["bare"].match(text.strip())
    if not m:
        raise LayerSpecError(f"{what} must be an integer or HxW (e.g. 3 or 3x4), got {text!r}")
    a = _int(m.group(1))
    return (a, _int(m.group(2)) if m.group(2) is not None else a)


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


def _parse_one(text: str) -> list[Layer]:
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
    values: dict[str, tuple[int, int]] = {}
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
                a = _int(m.group(1))
                b = _int(m.group(2)) if m.group(2) is not None else a
                name = "kernel" if (key == "bare" and kind in ("blur", "box")) else key
                name = "stride" if name == "bare" else name
                if name in values:
                    raise LayerSpecError(f"{name} given twice in layer {text.strip()!r}")
                values[name] = (a, b)
                break
        else:
            raise LayerSpecError(
                f"cannot read {tok!r} in {kind} layer {text.strip()!r} "
                f"(see 'cbdiag overlap --help' for the layer syntax)"
            )
    if kind in ("nearest", "bilinear", "shuffle"):
        if "stride" not in values:
            raise LayerSpecError(f"{kind} layer {text.strip()!r} needs a factor, e.g. '{kind} x2'")
        layer = _both(kind, stride=values["stride"])
    elif kind in ("blur", "box"):
        layer = _both(kind, kernel=values.get("kernel", (2, 2)), padding_mode=mode)
    else:
        if "kernel" not in values:
            raise LayerSpecError(f"{kind} layer {text.strip()!r} needs a kernel size, e.g. k3")
        if tf and ("padding" in values or "output_padding" in values):
            raise LayerSpecError(
                f"layer {text.strip()!r}: give either pN/opN (PyTorch) or same/valid (TF)"
            )
        layer = _both(
            kind,
            kernel=values["kernel"],
            stride=values.get("stride", (1, 1)),
            padding=values.get("padding", (0, 0)),
            output_padding=values.get("output_padding", (0, 0)),
            dilation=values.get("dilation", (1, 1)),
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
}


def parse_layers(text: str) -> list[Layer]:
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
    """
    if not text.strip(" ,;"):
        raise LayerSpecError("no layers given")
    layers = _parse_group(text, text)
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


def _parse_group(text: str, whole: str) -> list[Layer]:
    layers: list[Layer] = []
    for part in _split_top(text, whole):
        name = part.strip().lower()
        m = _group_re().match(part)
        if m is not None and _closing(m.group(0), m.start(2) - 1) != m.end(2):
            m = None  # "(a) 2x (b)": two groups, not one whose inside is "a) 2x (b"
        if name in PRESETS:
            layers.extend(parse_layers(PRESETS[name][0]))
        elif m is not None:
            repeat = _int(m.group(1)) if m.group(1) else 1
            if not 1 <= repeat <= MAX_LAYERS:
                raise LayerSpecError(f"repeat count {repeat} out of range 1..{MAX_LAYERS}")
            inner = _parse_group(m.group(2), whole)
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
            layers.extend(_parse_one(part))
        if len(layers) > MAX_LAYERS:
            raise LayerSpecError(f"{len(layers)} layers is absurdly many (max {MAX_LAYERS})")
    return layers


def preset(name: str) -> list[Layer]:
    """The layers of a named preset (see :data:`PRESETS`)."""
    key = name.strip().lower()
    if key not in PRESETS:
        raise LayerSpecError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return parse_layers(PRESETS[key][0])


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
