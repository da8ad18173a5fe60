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

#: Upper bound on the per-chunk intermediate of a convolution, in bytes.
CHUNK_BYTES = 96 * 1024 * 1024


class ShapeError(CbdiagError):
    """Arrays whose shapes do not fit the operation."""


def _pair(v: Pair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


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
) -> Array:
    """2-D convolution (cross-correlation), ``torch.nn.functional.conv2d`` semantics.

    Parameters
    ----------
    x : (N, H, W, C_in) float32
    weight : (C_out, C_in // groups, kH, kW)
    bias : (C_out,), optional

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
    cout, cin_g, kh, kw = weight.shape
    n, h, w, _ = x.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ShapeError(f"conv2d: input {h}x{w} is too small for kernel {kh}x{kw}")
    cout_g = cout // groups
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else x
    hp, wp = xp.shape[1], xp.shape[2]
    out = np.empty((n, ho, wo, cout), dtype=np.float32)
    # (C_in/g, kH*kW*C_out/g) per group: all taps in one matrix product
    wmat = [
        np.ascontiguousarray(
            weight[g * cout_g : (g + 1) * cout_g].transpose(1, 2, 3, 0).reshape(cin_g, -1),
            dtype=np.float32,
        )
        for g in range(groups)
    ]
    per_item = hp * wp * kh * kw * cout_g * 4
    for sl in _chunks(n, per_item):
        for g in range(groups):
            xg = xp[sl, :, :, g * cin_g : (g + 1) * cin_g]
            z = (xg.reshape(-1, cin_g) @ wmat[g]).reshape(-1, hp, wp, kh, kw, cout_g)
            acc = np.zeros((z.shape[0], ho, wo, cout_g), dtype=np.float32)
            for a in range(kh):
                for b in range(kw):
                    r0, c0 = a * dh, b * dw
                    acc += z[
                        :, r0 : r0 + (ho - 1) * sh + 1 : sh, c0 : c0 + (wo - 1) * sw + 1 : sw, a, b
                    ]
            out[sl, :, :, g * cout_g : (g + 1) * cout_g] = acc
    if bias is not None:
        out += np.asarray(bias, dtype=np.float32)
    return out


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
    full_h = (h - 1) * sh + dh * (kh - 1) + 1
    full_w = (w - 1) * sw + dw * (kw - 1) + 1
    ho, wo = full_h - 2 * ph + oph, full_w - 2 * pw + opw
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
    # full output plus room for output_padding beyond the crop
    fh, fw = max(full_h, ph + ho), max(full_w, pw + wo)
    per_item = h * w * kh * kw * cout_g * 4 + fh * fw * cout_g * 4
    for sl in _chunks(n, per_item):
        for g in range(groups):
            xg = x[sl, :, :, g * cin_g : (g + 1) * cin_g]
            z = (np.ascontiguousarray(xg).reshape(-1, cin_g) @ wmat[g]).reshape(
                -1, h, w, kh, kw, cout_g
            )
            full = np.zeros((z.shape[0], fh, fw, cout_g), dtype=np.float32)
            for a in range(kh):
                for b in range(kw):
                    r0, c0 = a * dh, b * dw
                    full[:, r0 : r0 + (h - 1) * sh + 1 : sh, c0 : c0 + (w - 1) * sw + 1 : sw] += z[
                        :, :, :, a, b
                    ]
            out[sl, :, :, g * cout_g : (g + 1) * cout_g] = full[:, ph : ph + ho, pw : pw + wo]
    if bias is not None:
        out += np.asarray(bias, dtype=np.float32)
    return out


def resize_nearest(x: Array, factor: Pair) -> Array:
    """Nearest-neighbour upsampling by integer factors (``interpolate(mode="nearest")``)."""
    fh, fw = _pair(factor)
    return np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)


def _bilinear_axis(n: int, f: int) -> tuple[NDArray[np.int64], NDArray[np.int64], Array]:
    o = np.arange(n * f)
    src = np.maximum((o + 0.5) / f - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, (src - i0).astype(np.float32)


def resize_bilinear(x: Array, factor: Pair) -> Array:
    """Bilinear upsampling by integer factors, ``interpolate(mode="bilinear",
    align_corners=False)`` (source ``(o + 1/2)/f - 1/2``, clamped at the borders)."""
    fh, fw = _pair(factor)
    i0, i1, lam = _bilinear_axis(x.shape[1], fh)
    lam = lam[None, :, None, None]
    y = x[:, i0] * (1 - lam) + x[:, i1] * lam
    j0, j1, mu = _bilinear_axis(x.shape[2], fw)
    mu = mu[None, None, :, None]
    return np.asarray(y[:, :, j0] * (1 - mu) + y[:, :, j1] * mu, dtype=np.float32)


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
) -> Array:
    """Batch normalisation with training-mode statistics (as an untrained GAN runs).

    Mean and biased variance per channel over ``(N, H, W)``, like ``BatchNorm2d`` in
    ``train()`` mode.
    """
    mean = x.mean(axis=(0, 1, 2), dtype=np.float64)
    var = x.var(axis=(0, 1, 2), dtype=np.float64)
    scale = (1.0 / np.sqrt(var + eps)).astype(np.float32)
    y = (x - mean.astype(np.float32)) * scale
    if weight is not None:
        y = y * np.asarray(weight, dtype=np.float32)
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float32)
    return y.astype(np.float32, copy=False)


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
