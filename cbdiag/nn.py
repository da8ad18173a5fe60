"""Numpy neural-network ops for untrained generators, matching PyTorch's CPU semantics.

Activations are **channels-last** ``(N, H, W, C)`` float32 arrays (that layout turns every
convolution into large matrix products); weights use **PyTorch's layouts** so they can be
exchanged with PyTorch as they are:

* ``conv2d``: weight ``(C_out, C_in // groups, kH, kW)``, bias ``(C_out,)``;
* ``conv_transpose2d``: weight ``(C_in, C_out // groups, kH, kW)``, bias ``(C_out,)``.

Convolutions are computed as one matrix product per group (all taps at once), followed by
``kH * kW`` shifted (strided) slice additions; the batch is processed in chunks so the
intermediate stays bounded. There is no Python loop over pixels or batch items.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .errors import CbdiagError

__all__ = [
    "batch_norm",
    "conv2d",
    "conv_transpose2d",
    "dcgan_init",
    "he_normal_init",
    "icnr",
    "leaky_relu",
    "pixel_shuffle",
    "relu",
    "resize_bilinear",
    "resize_nearest",
    "tanh",
    "torch_default_init",
]

Array = NDArray[np.float32]
Pair = int | tuple[int, int]

#: Target size of the per-chunk intermediate of a convolution, in bytes: small enough to stay
#: in cache between the matrix product and the adds that follow it (measured best at 4 MiB).
CHUNK_BYTES = 4 * 1024 * 1024


class ShapeError(CbdiagError):
    """Arrays whose shapes do not fit the operation."""


def _pair(v: Pair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _span(start: int, count: int, step: int) -> slice:
    """The slice of ``count`` samples from ``start`` every ``step``."""
    return slice(start, start + (count - 1) * step + 1, step)


def _chunks(n: int, per_item_bytes: int) -> list[slice]:
    step = max(1, min(n, CHUNK_BYTES // max(per_item_bytes, 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _check(x: Array, weight: Array, cin_axis: int, groups: int, what: str) -> None:
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"{what}: expected 4-D input (N, H, W, C) and 4-D weight")
    cin = x.shape[3]
    if cin % groups:
        raise ShapeError(f"{what}: {cin} input channels are not divisible by groups={groups}")
    expect = weight.shape[cin_axis] * (groups if cin_axis == 1 else 1)
    if cin != expect:
        raise ShapeError(f"{what}: input has {cin} channels, weight expects {expect}")


def conv2d(
    x: Array,
    weight: Array,
    bias: Array | None = None,
    *,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
    groups: int = 1,
    algorithm: str = "auto",
) -> Array:
    """2-D convolution (cross-correlation), ``torch.nn.functional.conv2d`` semantics.

    Parameters
    ----------
    x : (N, H, W, C_in) float32
    weight : (C_out, C_in // groups, kH, kW)
    bias : (C_out,), optional
    algorithm : {"auto", "scatter", "im2col", "winograd"}
        ``scatter``: one matrix product over all taps, then shifted adds (any shape; best for
        few output channels); ``im2col``: gathered patches times the flattened kernel (best for
        small maps); ``winograd``: F(2x2, 3x3) (3x3, stride 1, no dilation, one group: 2.25x
        fewer multiplications). ``auto`` picks by shape.

    Returns
    -------
    (N, H_out, W_out, C_out) float32, ``H_out = (H + 2p - d(k-1) - 1) // s + 1``.

    Examples
    --------
    >>> x = np.ones((1, 4, 4, 1), np.float32)
    >>> conv2d(x, np.ones((1, 1, 3, 3), np.float32), padding=1)[0, :, :, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)
    """
    _check(x, weight, 1, groups, "conv2d")
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    cout, _, kh, kw = weight.shape
    h, w = x.shape[1:3]
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ShapeError(f"conv2d: input {h}x{w} is too small for kernel {kh}x{kw}")
    winograd_ok = (kh, kw, sh, sw, dh, dw, groups) == (3, 3, 1, 1, 1, 1, 1)
    if algorithm == "auto":  # by measurement (benchmarks/generate_speed.py shapes)
        if cout < 32:
            algorithm = "scatter"
        elif ho * wo <= 64 or not winograd_ok:
            algorithm = "im2col"
        else:
            algorithm = "winograd"
    if algorithm == "winograd" and not winograd_ok:
        raise ShapeError("conv2d: winograd needs a 3x3 kernel, stride 1, dilation 1, one group")
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else x
    if algorithm == "winograd":
        out = _conv_winograd(xp, weight, ho, wo)
    elif algorithm == "im2col":
        out = _conv_im2col(xp, weight, (ho, wo), (sh, sw), (dh, dw), groups)
    elif algorithm == "scatter":
        out = _conv_scatter(xp, weight, (ho, wo), (sh, sw), (dh, dw), groups)
    else:
        raise ShapeError(f"conv2d: unknown algorithm {algorithm!r}")
    if bias is not None:
        out += np.asarray(bias, dtype=np.float32)
    return out


def _conv_scatter(
    xp: Array,
    weight: Array,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dil: tuple[int, int],
    groups: int,
) -> Array:
    """All taps in one matrix product per group, then ``kH * kW`` shifted adds."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dil
    cout, cin_g, kh, kw = weight.shape
    n, hp, wp, _ = xp.shape
    cout_g = cout // groups
    out = np.empty((n, ho, wo, cout), dtype=np.float32)
    wmat = [
        np.ascontiguousarray(
            weight[g * cout_g : (g + 1) * cout_g].transpose(1, 2, 3, 0).reshape(cin_g, -1),
            dtype=np.float32,
        )
        for g in range(groups)
    ]
    for sl in _chunks(n, hp * wp * kh * kw * cout_g * 4):
        for g in range(groups):
            xg = np.ascontiguousarray(xp[sl, :, :, g * cin_g : (g + 1) * cin_g])
            z = (xg.reshape(-1, cin_g) @ wmat[g]).reshape(-1, hp, wp, kh, kw, cout_g)
            acc = np.zeros((z.shape[0], ho, wo, cout_g), dtype=np.float32)
            for a in range(kh):
                for b in range(kw):
                    r0, c0 = a * dh, b * dw
                    acc += z[:, _span(r0, ho, sh), _span(c0, wo, sw), a, b]
            out[sl, :, :, g * cout_g : (g + 1) * cout_g] = acc
    return out


def _conv_im2col(
    xp: Array,
    weight: Array,
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dil: tuple[int, int],
    groups: int,
) -> Array:
    """Gathered patches ``(N*Ho*Wo, kH*kW*C_in/g)`` times the flattened kernel."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dil
    cout, cin_g, kh, kw = weight.shape
    n = xp.shape[0]
    cout_g = cout // groups
    out = np.empty((n, ho, wo, cout), dtype=np.float32)
    for g in range(groups):
        wm = np.ascontiguousarray(
            weight[g * cout_g : (g + 1) * cout_g].transpose(2, 3, 1, 0).reshape(-1, cout_g),
            dtype=np.float32,
        )
        for sl in _chunks(n, ho * wo * kh * kw * cin_g * 4):
            cols = np.empty((sl.stop - sl.start, ho, wo, kh, kw, cin_g), dtype=np.float32)
            for a in range(kh):
                for b in range(kw):
                    r0, c0 = a * dh, b * dw
                    cols[:, :, :, a, b, :] = xp[
                        sl, _span(r0, ho, sh), _span(c0, wo, sw), g * cin_g : (g + 1) * cin_g
                    ]
            res = cols.reshape(-1, kh * kw * cin_g) @ wm
            out[sl, :, :, g * cout_g : (g + 1) * cout_g] = res.reshape(-1, ho, wo, cout_g)
    return out


_WINO_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)


def _conv_winograd(xp: Array, weight: Array, ho: int, wo: int) -> Array:
    """Winograd F(2x2, 3x3) (Lavin & Gray 2016) on a padded input: 16 matrix products of
    ``(tiles, C_in) @ (C_in, C_out)`` between separable input and output transforms."""
    cout, cin = weight.shape[:2]
    n = xp.shape[0]
    ty, tx = -(-ho // 2), -(-wo // 2)
    extra_h, extra_w = 2 * ty + 2 - xp.shape[1], 2 * tx + 2 - xp.shape[2]
    if extra_h > 0 or extra_w > 0:
        xp = np.pad(xp, ((0, 0), (0, max(extra_h, 0)), (0, max(extra_w, 0)), (0, 0)))
    u = np.einsum("xa,ocab,yb->xyco", _WINO_G, weight.astype(np.float64), _WINO_G)
    u = np.ascontiguousarray(u.reshape(16, cin, cout), dtype=np.float32)
    out = np.empty((n, 2 * ty, 2 * tx, cout), dtype=np.float32)
    per_item = 16 * ty * tx * (cin + cout) * 4
    for sl in _chunks(n, per_item):
        m = sl.stop - sl.start
        r = [xp[sl, i : i + 2 * ty : 2] for i in range(4)]
        rows = (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3])
        v = np.empty((16, m, ty, tx, cin), dtype=np.float32)
        for xi, row in enumerate(rows):
            c = [row[:, :, j : j + 2 * tx : 2] for j in range(4)]
            np.subtract(c[0], c[2], out=v[4 * xi])
            np.add(c[1], c[2], out=v[4 * xi + 1])
            np.subtract(c[2], c[1], out=v[4 * xi + 2])
            np.subtract(c[1], c[3], out=v[4 * xi + 3])
        prod = np.matmul(v.reshape(16, -1, cin), u).reshape(4, 4, m, ty, tx, cout)
        for a, o in enumerate((prod[0] + prod[1] + prod[2], prod[1] - prod[2] - prod[3])):
            out[sl, a::2, 0::2] = o[0] + o[1] + o[2]
            out[sl, a::2, 1::2] = o[1] - o[2] - o[3]
    return np.ascontiguousarray(out[:, :ho, :wo]) if (2 * ty, 2 * tx) != (ho, wo) else out


def _phase_plan(
    n: int, n_out: int, s: int, d: int, k: int, p: int
) -> list[tuple[int, int, int, list[tuple[int, int]], int]]:
    """One entry per output phase ``r`` of the full index ``t = o + p``: the first output
    ``o0`` with ``(o0 + p) % s == r``, the buffer index of ``o0``, how many outputs the phase
    has, the taps ``(a, q_a)`` that land in it, and the buffer length."""
    plan = []
    for r in range(s):
        o0 = (r - p) % s
        count = len(range(o0, n_out, s))
        if count == 0:
            continue
        base = (o0 + p - r) // s
        taps = [(a, (a * d) // s) for a in range(k) if (a * d) % s == r]
        qmax = max((q for _, q in taps), default=0)
        plan.append((o0, base, count, taps, max(n + qmax, base + count)))
    return plan


def conv_transpose2d(
    x: Array,
    weight: Array,
    bias: Array | None = None,
    *,
    stride: Pair = 1,
    padding: Pair = 0,
    output_padding: Pair = 0,
    dilation: Pair = 1,
    groups: int = 1,
) -> Array:
    """Transposed 2-D convolution, ``torch.nn.functional.conv_transpose2d`` semantics.

    Every input pixel ``i`` paints ``w[:, :, a, b]`` at output ``i*s + a*d - p``.

    Parameters
    ----------
    x : (N, H, W, C_in) float32
    weight : (C_in, C_out // groups, kH, kW)
    bias : (C_out,), optional

    Returns
    -------
    (N, H_out, W_out, C_out), ``H_out = (H-1)s - 2p + d(k-1) + op + 1``.

    Examples
    --------
    >>> x = np.ones((1, 3, 3, 1), np.float32)
    >>> conv_transpose2d(x, np.ones((1, 1, 3, 3), np.float32), stride=2)[0, 2, :, 0]
    array([2., 2., 4., 2., 4., 2., 2.], dtype=float32)
    """
    _check(x, weight, 0, groups, "conv_transpose2d")
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    if oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ShapeError("conv_transpose2d: output_padding must be smaller than stride or dilation")
    cin, cout_g, kh, kw = weight.shape
    n, h, w, _ = x.shape
    cin_g = cin // groups
    cout = cout_g * groups
    ho = (h - 1) * sh + dh * (kh - 1) + 1 - 2 * ph + oph
    wo = (w - 1) * sw + dw * (kw - 1) + 1 - 2 * pw + opw
    if ho <= 0 or wo <= 0:
        raise ShapeError(f"conv_transpose2d: output size {ho}x{wo} is not positive")
    out = np.empty((n, ho, wo, cout), dtype=np.float32)
    wmat = [
        np.ascontiguousarray(
            weight[g * cin_g : (g + 1) * cin_g].transpose(0, 2, 3, 1).reshape(cin_g, -1),
            dtype=np.float32,
        )
        for g in range(groups)
    ]
    # Tap a lands at full index i*s + a*d = (i + q_a)*s + r_a: accumulate each output phase r
    # in its own contiguous buffer (index i + q_a), then write the phases into the output.
    plan_h = _phase_plan(h, ho, sh, dh, kh, ph)
    plan_w = _phase_plan(w, wo, sw, dw, kw, pw)
    per_item = h * w * kh * kw * cout_g * 4 + ho * wo * cout_g * 4
    for sl in _chunks(n, per_item):
        m = sl.stop - sl.start
        for g in range(groups):
            xg = np.ascontiguousarray(x[sl, :, :, g * cin_g : (g + 1) * cin_g])
            z = (xg.reshape(-1, cin_g) @ wmat[g]).reshape(m, h, w, kh, kw, cout_g)
            for oy, by, ny, taps_y, ly in plan_h:
                for ox, bx, nx, taps_x, lx in plan_w:
                    buf = np.zeros((m, ly, lx, cout_g), dtype=np.float32)
                    for a, qa in taps_y:
                        for b, qb in taps_x:
                            buf[:, qa : qa + h, qb : qb + w] += z[:, :, :, a, b]
                    out[sl, oy::sh, ox::sw, g * cout_g : (g + 1) * cout_g] = buf[
                        :, by : by + ny, bx : bx + nx
                    ]
    if bias is not None:
        out += np.asarray(bias, dtype=np.float32)
    return out


def resize_nearest(x: Array, factor: Pair) -> Array:
    """Nearest-neighbour upsampling by integer factors (``interpolate(mode="nearest")``)."""
    fh, fw = _pair(factor)
    return np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)


def _bilinear_1d(x: Array, f: int, axis: int) -> Array:
    """Upsample one axis by ``f``: output phase ``r`` blends two shifted copies of the input.

    The source coordinate of output ``f*i + r`` is ``i + (r + 1/2)/f - 1/2``; PyTorch clamps it
    to the input, which replicate-padding by one sample reproduces exactly.
    """
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 1)
    xp = np.pad(x, pad, mode="edge")
    shape = list(x.shape)
    shape[axis] = n * f
    out = np.empty(shape, dtype=np.float32)

    def take(start: int) -> Array:
        idx: list[slice] = [slice(None)] * x.ndim
        idx[axis] = slice(start, start + n)
        return xp[tuple(idx)]

    for r in range(f):
        src = (r + 0.5) / f - 0.5
        i0 = math.floor(src)
        lam = np.float32(src - i0)
        dst: list[slice] = [slice(None)] * x.ndim
        dst[axis] = slice(r, None, f)
        view = out[tuple(dst)]
        if lam == 0:
            view[...] = take(1 + i0)
        else:
            np.multiply(take(1 + i0), np.float32(1) - lam, out=view)
            view += take(2 + i0) * lam
    return out


def resize_bilinear(x: Array, factor: Pair) -> Array:
    """Bilinear upsampling by integer factors, ``interpolate(mode="bilinear",
    align_corners=False)`` (source ``(o + 1/2)/f - 1/2``, clamped at the borders)."""
    fh, fw = _pair(factor)
    return _bilinear_1d(_bilinear_1d(np.asarray(x, dtype=np.float32), fh, 1), fw, 2)


def pixel_shuffle(x: Array, r: int) -> Array:
    """``PixelShuffle(r)``: channel ``c*r*r + i*r + j`` goes to pixel ``(h*r + i, w*r + j)``."""
    n, h, w, c = x.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: {c} channels are not divisible by {r}^2")
    y = x.reshape(n, h, w, c // (r * r), r, r).transpose(0, 1, 4, 2, 5, 3)
    return np.ascontiguousarray(y.reshape(n, h * r, w * r, c // (r * r)))


def batch_norm(
    x: Array,
    weight: Array | None = None,
    bias: Array | None = None,
    *,
    eps: float = 1e-5,
    relu: bool = False,
) -> Array:
    """Batch normalisation with training-mode statistics (as an untrained GAN runs).

    Mean and biased variance per channel over ``(N, H, W)``, like ``BatchNorm2d`` in
    ``train()`` mode; ``relu=True`` applies a ReLU in the same pass.
    """
    flat = x.reshape(-1, x.shape[-1])
    mean = flat.mean(axis=0, dtype=np.float64)
    var = np.maximum((flat * flat).mean(axis=0, dtype=np.float64) - mean * mean, 0.0)
    if var.max() > 0 and (var / np.maximum(mean * mean, 1e-30)).min() < 1e-3:
        var = flat.var(axis=0, dtype=np.float64)  # exact two-pass where cancellation bites
    scale = 1.0 / np.sqrt(var + eps)
    shift = -mean * scale
    if weight is not None:
        scale = scale * weight
        shift = shift * weight
    if bias is not None:
        shift = shift + bias
    y = x * scale.astype(np.float32)
    y += shift.astype(np.float32)
    if relu:
        np.maximum(y, np.float32(0), out=y)
    return y


def relu(x: Array) -> Array:
    return np.maximum(x, np.float32(0))


def leaky_relu(x: Array, slope: float = 0.2) -> Array:
    return np.where(x >= 0, x, x * np.float32(slope)).astype(np.float32, copy=False)


def tanh(x: Array) -> Array:
    return np.tanh(x)


# ---------------------------------------------------------------------------------------------
# Initialisers (weights in PyTorch layouts)
# ---------------------------------------------------------------------------------------------


def torch_fan_in(shape: tuple[int, ...]) -> int:
    """PyTorch's ``fan_in`` of a weight: ``shape[1] * prod(shape[2:])``.

    For a transposed convolution (weight ``(C_in, C_out/g, k, k)``) this is ``C_out/g * k*k``,
    which is what PyTorch's default initialisation uses.
    """
    return int(shape[1] * math.prod(shape[2:]))


def torch_default_init(
    rng: np.random.Generator, shape: tuple[int, ...], *, bias_size: int | None = None
) -> tuple[Array, Array | None]:
    """PyTorch's default Conv / ConvTranspose initialisation.

    Weights: ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``;
    bias (when ``bias_size`` is given): ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with the same
    ``fan_in``.
    """
    fan_in = torch_fan_in(shape)
    bound = 1.0 / math.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    b = None
    if bias_size is not None:
        b = rng.uniform(-bound, bound, size=(bias_size,)).astype(np.float32)
    return w, b


def dcgan_init(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Array, None]:
    """DCGAN (Radford et al.): weights ``N(0, 0.02)``, no bias."""
    return rng.normal(0.0, 0.02, size=shape).astype(np.float32), None


def he_normal_init(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Array, None]:
    """``kaiming_normal_`` (He et al.; ReLU gain, PyTorch ``fan_in``): ``N(0, 2/fan_in)``."""
    std = math.sqrt(2.0 / torch_fan_in(shape))
    return rng.normal(0.0, std, size=shape).astype(np.float32), None


def icnr(weight: Array, r: int, bias: Array | None = None) -> tuple[Array, Array | None]:
    """ICNR (Aitken et al. 2017) for a sub-pixel conv followed by ``PixelShuffle(r)``.

    Keeps one sub-kernel per output channel, ``weight[c * r*r]``, and copies it to all ``r*r``
    phases (and the bias likewise), so that at initialisation the layer equals a convolution
    followed by nearest-neighbour resizing: a constant input gives a constant output.

    Parameters
    ----------
    weight : (C * r*r, C_in, k, k)
    bias : (C * r*r,), optional
    """
    cout = weight.shape[0]
    if cout % (r * r):
        raise ShapeError(f"icnr: {cout} output channels are not divisible by {r}^2")
    base = weight[:: r * r]
    w = np.repeat(base, r * r, axis=0)
    b = None if bias is None else np.repeat(bias[:: r * r], r * r)
    return w.astype(np.float32), (None if b is None else b.astype(np.float32))
