"""The constant-input response of a model's upsampling path, through to its output.

A generator's headline verdict is what reaches its output, not what one hidden layer does: a
later layer can compensate (or add to) an earlier layer's uneven phases. This module follows one
period of the response to a constant input through every linear layer of the path, in order:
transposed convolutions, stride-1 convolutions, pixel shuffles (sub-pixel convolutions) and
nearest or bilinear resizing. The pattern ``(C, Py, Px)`` is one period of every channel in the
interior of the image (borders left out), up to a shift of the whole pattern, which changes no
energy. Activations and normalisations are not in the weights and are left out: this is the
structure the layers paint together, linearised, not the exact image.

Each step is exact on a periodic input:

* transposed convolution, stride ``s``: period ``P -> P*s``;
* convolution, stride 1 (dilation ``d``, padding ``p``):
  ``out[o, y, x] = sum_{i,a,b} w[o, i, a, b] in[i, y - p + a d, x - p + b d]``, period ``P``;
* pixel shuffle ``r``: ``out[c, y r + i, x r + j] = in[c r^2 + i r + j, y, x]``, period
  ``P*r`` (PyTorch's ``pixel_shuffle``, ONNX's ``DepthToSpace`` CRD; DCR reads channel
  ``(i r + j) C + c``);
* nearest or bilinear (``align_corners=False``) resizing by an integer factor: the overlap
  engine's taps in the infinite-input model, per axis, period ``P*f``.

A step that is none of these (a strided convolution, a layer whose parameters are not known,
channels that do not follow) stops the path there, with the reason: never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

#: The largest period (per axis) and work (multiply-adds of one step) followed.
MAX_PERIOD = 1024
MAX_WORK = 1 << 31


@dataclass
class Step:
    """One linear layer of the path.

    ``kind``: ``deconv`` (kernel ``(C_in, C_out, kH, kW)``), ``conv`` (``(C_out, C_in, kH,
    kW)``, stride 1), ``shuffle`` (``factor``), ``resize`` (``mode`` nearest or bilinear,
    ``factor``)."""

    name: str
    kind: str
    kernel: F64 | None = None
    bias: F64 | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    factor: tuple[int, int] = (1, 1)
    mode: str = ""  # resize: nearest or bilinear; shuffle: CRD (PyTorch's) or DCR (ONNX default)

    @property
    def channels_in(self) -> int | None:
        if self.kernel is None:
            return None
        return int(self.kernel.shape[0] if self.kind == "deconv" else self.kernel.shape[1])


@dataclass
class PathResponse:
    """One period of the constant-input response after the layers ``names``."""

    names: list[str]
    pattern: F64  # (C, Py, Px)
    stopped: str | None  # why the path stopped before its end, or None

    @property
    def period(self) -> tuple[int, int]:
        return int(self.pattern.shape[1]), int(self.pattern.shape[2])

    @property
    def imbalance(self) -> float:
        """Checkerboard energy / mean energy over every channel (0: no pattern)."""
        mean = self.pattern.mean(axis=(1, 2), keepdims=True)
        dc = float((mean**2).sum() * self.pattern.shape[1] * self.pattern.shape[2])
        cb = float(((self.pattern - mean) ** 2).sum())
        if dc > 0:
            return cb / dc
        return 0.0 if cb <= 1e-30 else math.inf


def verdict(imbalance: float) -> str:
    """The words ``inspect`` uses for an imbalance, of one layer or of a path."""
    if not math.isfinite(imbalance):
        return "imbalanced"
    if imbalance < 1e-9:
        return "balanced"
    if imbalance < 0.01:
        return "nearly balanced"
    return "imbalanced"


def follow(steps: list[Step], channels: int | None = None) -> PathResponse:
    """The response to a constant (all ones) input of ``channels`` channels (by default the
    first step's input channels) through ``steps``, in order, as far as they can be followed."""
    if channels is None:
        channels = next((c for c in (s.channels_in for s in steps) if c is not None), 1)
    pattern: F64 = np.ones((channels, 1, 1))
    names: list[str] = []
    for step in steps:
        got = _apply(step, pattern)
        if isinstance(got, str):
            return PathResponse(names, pattern, f"{step.name}: {got}")
        pattern = got
        names.append(step.name)
    return PathResponse(names, pattern, None)


def _apply(step: Step, p: F64) -> F64 | str:
    c, py, px = p.shape
    if step.kind in ("deconv", "conv"):
        if step.kernel is None:
            return "no weights"
        if step.channels_in != c:
            return f"takes {step.channels_in} channels, the path has {c} (a branch or a merge?)"
    if step.kind == "deconv":
        assert step.kernel is not None
        sy, sx = step.stride
        if py * sy > MAX_PERIOD or px * sx > MAX_PERIOD:
            return f"the period would exceed {MAX_PERIOD}"
        _, cout, kh, kw = step.kernel.shape
        if c * cout * kh * kw * (py * sy + kh) * (px * sx + kw) > MAX_WORK:
            return "too large to follow"
        from .weights import _through

        return _through(p, step.kernel, step.stride, step.bias)
    if step.kind == "conv":
        assert step.kernel is not None
        if step.stride != (1, 1):
            return f"a stride-{step.stride[0]}x{step.stride[1]} convolution is not followed"
        cout, _, kh, kw = step.kernel.shape
        if cout * c * kh * kw * py * px > MAX_WORK:
            return "too large to follow"
        out = np.zeros((cout, py, px))
        (dy, dx), (pady, padx) = step.dilation, step.padding
        for a in range(kh):
            for b in range(kw):
                shifted = np.roll(p, (pady - a * dy, padx - b * dx), axis=(1, 2))
                out += np.tensordot(step.kernel[:, :, a, b], shifted, axes=([1], [0]))
        if step.bias is not None:
            out += step.bias[:, None, None]
        return out
    if step.kind == "shuffle":
        r = step.factor[0]
        if step.factor[0] != step.factor[1] or r < 1:
            return "a pixel shuffle needs one factor"
        if c % (r * r):
            return f"{c} channels are not a multiple of {r}^2"
        if py * r > MAX_PERIOD:
            return f"the period would exceed {MAX_PERIOD}"
        if step.mode == "DCR":  # channel (i r + j) C + c: reorder to CRD's c r^2 + i r + j
            p = p.reshape(r * r, c // (r * r), py, px).transpose(1, 0, 2, 3).reshape(c, py, px)
        q = p.reshape(c // (r * r), r, r, py, px).transpose(0, 3, 1, 4, 2)
        return np.ascontiguousarray(q.reshape(c // (r * r), py * r, px * r))
    if step.kind == "resize":
        if step.mode not in ("nearest", "bilinear"):
            return f"{step.mode or 'this'} resizing is not followed"
        fy, fx = step.factor
        if py * fy > MAX_PERIOD or px * fx > MAX_PERIOD:
            return f"the period would exceed {MAX_PERIOD}"
        out = _resize_axis(p, fy, step.mode, axis=1)
        return _resize_axis(out, fx, step.mode, axis=2)
    return f"{step.kind} is not a layer the path follows"


def _resize_axis(p: F64, f: int, mode: str, axis: int) -> F64:
    from .layers import AxisOp

    n = p.shape[axis]
    rows, cols, w = AxisOp(mode, stride=f).taps(np.arange(n * f), n)
    m = np.zeros((n * f, n))
    np.add.at(m, (rows, np.mod(cols, n)), w)
    return np.asarray(np.moveaxis(np.tensordot(m, p, axes=([1], [axis])), 0, axis))


def as_dict(r: PathResponse, reaches_output: bool) -> dict[str, Any]:
    from .report import rounded

    imb = r.imbalance
    return {
        "layers": r.names,
        "period": list(r.period),
        "imbalance": rounded(imb),
        "verdict": verdict(imb),
        "reaches_output": reaches_output,
        "stopped": r.stopped,
    }
