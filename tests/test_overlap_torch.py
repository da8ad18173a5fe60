"""Overlap maps against PyTorch itself (the CPU build is a test-only oracle).

Every layer kind is run through the real ``torch.nn.functional`` op with all-ones kernels on an
all-ones input (float64), over a hypothesis-generated space of stacks, sizes and paddings; the
gradient mode is checked against autograd.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cbdiag import overlap_map
from cbdiag.errors import SizeError
from cbdiag.layers import AxisOp, Layer

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def _axis_params(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    if kind in ("nearest", "bilinear", "shuffle"):
        return {"stride": draw(st.integers(1, 3))}
    if kind in ("blur", "box"):
        return {"kernel": draw(st.integers(1, 5))}
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 2))
    p = draw(st.integers(0, 3))
    out: dict[str, Any] = {"kernel": k, "stride": s, "dilation": d, "padding": p}
    if kind == "deconv":
        out["output_padding"] = draw(st.integers(0, max(s, d) - 1))
    return out


@st.composite
def layers_strategy(draw: st.DrawFn, gradient: bool = False) -> Layer:
    kinds = ["deconv", "conv", "nearest", "bilinear", "shuffle", "blur", "box"]
    if gradient:
        kinds = ["conv", "deconv", "nearest", "bilinear"]
    kind = draw(st.sampled_from(kinds))
    ya = draw(_axis_params(kind))
    xa = ya if kind == "shuffle" or draw(st.booleans()) else draw(_axis_params(kind))
    if kind == "shuffle":
        xa = ya  # PyTorch's pixel shuffle has one factor for both axes
    tf = None
    mode = "zeros"
    if kind in ("deconv", "conv") and draw(st.integers(0, 3)) == 0:
        tf = draw(st.sampled_from(["same", "valid"]))
        for a in (ya, xa):
            a["padding"] = 0
            a["output_padding"] = 0
            a["dilation"] = 1
    if kind in ("conv", "blur", "box") and tf is None:
        mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    extra: dict[str, Any] = {"tf_padding": tf}
    if kind in ("conv", "blur", "box"):
        extra["padding_mode"] = mode
    return Layer(AxisOp(kind, **ya, **extra), AxisOp(kind, **xa, **extra))


# ---------------------------------------------------------------------------------------------
# the same layers in torch
# ---------------------------------------------------------------------------------------------


def _tf_deconv_crop(op: AxisOp, n: int) -> tuple[int, int]:
    """(crop at start, output length) of Keras Conv*Transpose, from the Keras docs' formulas."""
    k_eff = op.dilation * (op.kernel - 1) + 1
    if op.tf_padding == "same":
        out = n * op.stride
        total = max((math.ceil(out / op.stride) - 1) * op.stride + k_eff - out, 0)
        return total // 2, out
    return 0, n * op.stride + max(k_eff - op.stride, 0)


def _tf_conv_pads(op: AxisOp, n: int) -> tuple[int, int]:
    k_eff = op.dilation * (op.kernel - 1) + 1
    if op.tf_padding == "valid":
        return 0, 0
    total = max((math.ceil(n / op.stride) - 1) * op.stride + k_eff - n, 0)
    return total // 2, total - total // 2


def apply_torch(torch: ModuleType, layer: Layer, x: Any) -> Any:
    f = torch.nn.functional
    y, xo = layer.y, layer.x
    kind = layer.kind
    if kind == "deconv":
        w = torch.ones(1, 1, y.kernel, xo.kernel)
        if y.tf_padding is None:
            return f.conv_transpose2d(
                x,
                w,
                stride=(y.stride, xo.stride),
                padding=(y.padding, xo.padding),
                output_padding=(y.output_padding, xo.output_padding),
                dilation=(y.dilation, xo.dilation),
            )
        full = f.conv_transpose2d(
            x, w, stride=(y.stride, xo.stride), dilation=(y.dilation, xo.dilation)
        )
        (cy, oy), (cx, ox) = _tf_deconv_crop(y, x.shape[2]), _tf_deconv_crop(xo, x.shape[3])
        full = f.pad(full, (0, max(cx + ox - full.shape[3], 0), 0, max(cy + oy - full.shape[2], 0)))
        return full[:, :, cy : cy + oy, cx : cx + ox]
    if kind in ("conv", "blur", "box"):
        if kind == "conv":
            w = torch.ones(1, 1, y.kernel, xo.kernel)
        else:
            wy = torch.tensor(y.weights)
            wx = torch.tensor(xo.weights)
            w = torch.outer(wy, wx)[None, None]
        if kind in ("blur", "box"):
            pads = [((a.kernel - 1) // 2, a.kernel - 1 - (a.kernel - 1) // 2) for a in (y, xo)]
        elif y.tf_padding is not None:
            pads = [_tf_conv_pads(y, x.shape[2]), _tf_conv_pads(xo, x.shape[3])]
        else:
            pads = [(y.padding, y.padding), (xo.padding, xo.padding)]
        (pt, pb), (pl, pr) = pads
        mode = y.padding_mode
        x = f.pad(x, (pl, pr, pt, pb), mode="constant" if mode == "zeros" else mode)
        stride = (y.stride, xo.stride) if kind == "conv" else 1
        dil = (y.dilation, xo.dilation) if kind == "conv" else 1
        return f.conv2d(x, w, stride=stride, dilation=dil)
    if kind in ("nearest", "bilinear"):
        kw: dict[str, Any] = {"align_corners": False} if kind == "bilinear" else {}
        return f.interpolate(x, scale_factor=(float(y.stride), float(xo.stride)), mode=kind, **kw)
    r = y.stride  # shuffle: r*r channels of the same map
    return f.pixel_shuffle(x.repeat(1, r * r, 1, 1), r)


def torch_map(torch: ModuleType, stack: list[Layer], size: tuple[int, int]) -> np.ndarray:
    x = torch.ones(1, 1, *size)
    for layer in stack:
        x = apply_torch(torch, layer, x)
    return x[0, 0].numpy()


def torch_gradient(torch: ModuleType, stack: list[Layer], size: tuple[int, int]) -> np.ndarray:
    x = torch.ones(1, 1, *size, requires_grad=True)
    y = x
    for layer in stack:
        y = apply_torch(torch, layer, y)
    y.backward(torch.ones_like(y))
    return x.grad[0, 0].numpy()


def _ours(stack: list[Layer], size: tuple[int, int], gradient: bool = False) -> np.ndarray | None:
    try:
        return overlap_map(stack, size, gradient=gradient).to_array()
    except SizeError:
        return None


def _check(torch: ModuleType, stack: list[Layer], size: tuple[int, int], gradient: bool) -> str:
    """Compare with torch; returns 'compared' or 'refused' (cbdiag refused the size)."""
    ours = _ours(stack, size, gradient)
    run = torch_gradient if gradient else torch_map
    if ours is None:  # we refuse the size: torch must not produce a non-empty result either
        try:
            got = run(torch, stack, size)
        except RuntimeError:
            return "refused"
        assert got.size == 0, f"torch produced {got.shape} where cbdiag refused"
        return "refused"
    np.testing.assert_allclose(ours, run(torch, stack, size), rtol=1e-10, atol=1e-10)
    return "compared"


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------

_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(
    stack=st.lists(layers_strategy(), min_size=1, max_size=4),
    h=st.integers(1, 10),
    w=st.integers(1, 10),
)
def test_forward_maps_match_torch(torch: ModuleType, stack: list[Layer], h: int, w: int) -> None:
    event(_check(torch, stack, (h, w), gradient=False))


@_SETTINGS
@given(
    stack=st.lists(layers_strategy(gradient=True), min_size=1, max_size=3),
    h=st.integers(2, 16),
    w=st.integers(2, 16),
)
def test_gradient_maps_match_autograd(
    torch: ModuleType, stack: list[Layer], h: int, w: int
) -> None:
    event(_check(torch, stack, (h, w), gradient=True))


@pytest.mark.parametrize(
    "spec",
    ["dcgan", "cyclegan", "pix2pixhd", "resize-conv", "subpixel", "stylegan2", "3x deconv k3 s2"],
)
def test_presets_match_torch(torch: ModuleType, spec: str) -> None:
    from cbdiag import parse_layers

    stack = parse_layers(spec)
    assert _check(torch, stack, (5, 6), gradient=False) == "compared"


def test_discriminator_gradient_matches_autograd(torch: ModuleType) -> None:
    from cbdiag import parse_layers

    stack = parse_layers("conv k4 s2 p1, conv k4 s2 p1, conv k3 s2 p1, conv k1 s2")
    assert _check(torch, stack, (32, 32), gradient=True) == "compared"
