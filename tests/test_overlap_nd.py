"""Overlap maps of 1-D signal paths (vocoders) and 3-D volume paths (volumetric decoders):
against a brute-force count, against PyTorch's ``conv_transpose1d`` / ``conv_transpose3d`` (and
autograd for the gradient map), closed forms for the presets, and ``cbdiag overlap --dims``."""

from __future__ import annotations

import json
import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from cbdiag import overlap_map
from cbdiag.cli import app
from cbdiag.errors import LayerSpecError, SizeError
from cbdiag.layers import AxisOp, Layer, deconv, parse_layers, preset

runner = CliRunner()
_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_deconv_1d(n: int, k: int, s: int, p: int, op: int, d: int) -> list[int]:
    """Paths from an all-ones input of length ``n`` through an all-ones ConvTranspose1d: input
    ``i`` reaches output ``i*s - p + j*d`` for every tap ``j`` (the definition)."""
    length = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    out = [0] * length
    for i in range(n):
        for j in range(k):
            o = i * s - p + j * d
            if 0 <= o < length:
                out[o] += 1
    return out


@st.composite
def _op(draw: st.DrawFn, kind: str) -> dict[str, int]:
    if kind == "nearest":
        return {"stride": draw(st.integers(1, 3))}
    k, s, d = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 2))
    out = {"kernel": k, "stride": s, "dilation": d, "padding": draw(st.integers(0, 3))}
    if kind == "deconv":
        out["output_padding"] = draw(st.integers(0, max(s, d) - 1))
    return out


@st.composite
def layer_nd(draw: st.DrawFn, dims: int) -> Layer:
    kind = draw(st.sampled_from(["deconv", "deconv", "conv", "nearest"]))
    first = draw(_op(kind))
    axes = [first if draw(st.booleans()) else draw(_op(kind)) for _ in range(dims)]
    return Layer(*(AxisOp(kind, **a) for a in axes))


def _torch_layer(torch: ModuleType, layer: Layer, x: Any) -> Any:
    f = torch.nn.functional
    nd = layer.ndim
    a = layer.axes
    ks = tuple(op.kernel for op in a)
    if layer.kind == "nearest":
        return f.interpolate(x, scale_factor=tuple(float(op.stride) for op in a), mode="nearest")
    w = torch.ones(1, 1, *ks, dtype=torch.float64)
    common = {
        "stride": tuple(op.stride for op in a),
        "padding": tuple(op.padding for op in a),
        "dilation": tuple(op.dilation for op in a),
    }
    if layer.kind == "deconv":
        fn = {1: f.conv_transpose1d, 3: f.conv_transpose3d}[nd]
        return fn(x, w, output_padding=tuple(op.output_padding for op in a), **common)
    fn = {1: f.conv1d, 3: f.conv3d}[nd]
    return fn(x, w, **common)


def _torch_map(
    torch: ModuleType, stack: list[Layer], size: tuple[int, ...], gradient: bool
) -> np.ndarray:
    x = torch.ones(1, 1, *size, dtype=torch.float64, requires_grad=gradient)
    y = x
    for layer in stack:
        y = _torch_layer(torch, layer, y)
    if not gradient:
        return np.asarray(y[0, 0].detach().numpy())
    y.backward(torch.ones_like(y))
    return np.asarray(x.grad[0, 0].numpy())


def _compare(torch: ModuleType, stack: list[Layer], size: tuple[int, ...], gradient: bool) -> None:
    try:
        ours = overlap_map(stack, size, gradient=gradient).to_array()
    except SizeError:
        try:
            got = _torch_map(torch, stack, size, gradient)
        except RuntimeError:
            event("refused by both")
            return
        assert got.size == 0 or gradient, f"torch gave {got.shape} where cbdiag refused"
        event("refused")
        return
    np.testing.assert_allclose(ours, _torch_map(torch, stack, size, gradient), atol=1e-9)
    event("compared")


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------


@_SETTINGS
@given(
    k=st.integers(1, 9),
    s=st.integers(1, 5),
    p=st.integers(0, 4),
    d=st.integers(1, 3),
    n=st.integers(1, 12),
    data=st.data(),
)
def test_one_deconv_1d_is_the_brute_force_count(
    k: int, s: int, p: int, d: int, n: int, data: st.DataObject
) -> None:
    op = data.draw(st.integers(0, max(s, d) - 1))
    want = brute_deconv_1d(n, k, s, p, op, d)
    layer = deconv(k, s, padding=p, output_padding=op, dilation=d, dims=1)
    if not want:
        with pytest.raises(SizeError):
            overlap_map([layer], n)
        return
    r = overlap_map([layer], n)
    assert r.ndim == 1 and r.shape == (len(want),)
    assert r.values[0].tolist() == want


@_SETTINGS
@given(stack=st.lists(layer_nd(1), min_size=1, max_size=4), n=st.integers(1, 12))
def test_1d_stacks_match_torch(torch: ModuleType, stack: list[Layer], n: int) -> None:
    _compare(torch, stack, (n,), gradient=False)


@_SETTINGS
@given(stack=st.lists(layer_nd(1), min_size=1, max_size=3), n=st.integers(2, 16))
def test_1d_gradient_maps_match_autograd(torch: ModuleType, stack: list[Layer], n: int) -> None:
    _compare(torch, stack, (n,), gradient=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.lists(layer_nd(3), min_size=1, max_size=2),
    size=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
)
def test_3d_stacks_match_torch(
    torch: ModuleType, stack: list[Layer], size: tuple[int, int, int]
) -> None:
    _compare(torch, stack, size, gradient=False)


def test_a_3d_map_is_the_outer_product_of_its_axes(torch: ModuleType) -> None:
    layer = parse_layers("deconv k3x4x5 s1x2x3 p0x1x1", 3)[0]
    r = overlap_map([layer], (3, 4, 5))
    arr = r.to_array()
    assert arr.shape == r.shape == (5, 8, 15)
    np.testing.assert_allclose(arr, _torch_map(torch, [layer], (3, 4, 5), False))
    assert r.ratio == math.prod(a.ratio for a in r.axes)
    assert r.interior_mask().shape == arr.shape


def test_vocoder_presets_are_even_and_hifigan_geometry_is_as_configured() -> None:
    # HiFi-GAN V1: upsample_rates [8, 8, 2, 2], kernels [16, 16, 4, 4], padding (k - u) / 2
    want = [
        deconv(k, u, padding=(k - u) // 2, dims=1)
        for u, k in zip([8, 8, 2, 2], [16, 16, 4, 4], strict=True)
    ]
    assert preset("hifigan-v1") == want
    r = overlap_map(preset("hifigan-v1"))
    assert r.ndim == 1 and r.even and r.axes[0].ratio == 1 and r.axes[0].pattern == (16.0,)
    assert r.shape[0] == 256 * r.input_size[0]  # hop length 8 * 8 * 2 * 2
    assert overlap_map(preset("melgan")).even


def test_a_3d_k3_s2_decoder_compounds_to_the_cube_of_fibonacci() -> None:
    # n stacked k3 s2 layers: F(n+2) per axis (2, 3, 5, 8), cubed in a volume
    for n, fib in ((1, 2), (2, 3), (3, 5), (4, 8)):
        r = overlap_map([deconv(3, 2, padding=1, output_padding=1, dims=3)] * n)
        assert [a.ratio for a in r.axes] == [fib] * 3 and r.ratio == fib**3
    assert overlap_map(preset("monai-unet")).ratio == 512
    assert overlap_map(preset("nnunet")).even


def test_layer_text_takes_one_value_per_axis() -> None:
    (layer,) = parse_layers("deconv k1x2x2 s1x2x2", 3)
    assert [op.kernel for op in layer.axes] == [1, 2, 2] and layer.spec == "deconv k1x2x2 s1x2x2"
    assert parse_layers(layer.spec, 3) == [layer]
    assert parse_layers("deconv k4 s2 p1", 1)[0].ndim == 1
    with pytest.raises(LayerSpecError, match="has 2 values; a 1-D layer takes N"):
        parse_layers("deconv k3x4 s2", 1)
    with pytest.raises(LayerSpecError, match="has 3 values; a 2-D layer"):
        parse_layers("deconv k1x2x2 s2")
    with pytest.raises(LayerSpecError, match="different numbers of spatial axes"):
        overlap_map([deconv(3, 2, dims=1), deconv(3, 2)])
    with pytest.raises(SizeError, match="2 values for 3-D layers"):
        overlap_map([deconv(2, 2, dims=3)], (4, 4))


def test_3d_notes_and_fixes_name_the_axis() -> None:
    r = overlap_map(parse_layers("deconv k1x3x3 s1x2x2", 3))
    assert any("kernel 3 is not divisible by stride 2" in n for n in r.notes)
    (fix,) = r.suggestions
    # the depth axis keeps its own (even) parameters; the fix keeps the output size
    assert "'deconv k1x4x4 s1x2x2 p0x1x1 op0x1x1'" in fix and "nearest x1x2x2" in fix
    fixed = parse_layers("deconv k1x4x4 s1x2x2 p0x1x1 op0x1x1", 3)
    assert overlap_map(fixed, (5, 5, 5)).shape == overlap_map(r.layers, (5, 5, 5)).shape
    assert overlap_map(fixed).even


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------


def test_overlap_dims_1_text_and_json() -> None:
    res = runner.invoke(app, ["overlap", "--dims", "1", "-k", "3", "-s", "2"])
    assert res.exit_code == 0, res.output
    assert "1-D overlap map: deconv k3 s2" in res.stdout
    assert "UNEVEN: interior max/min 2 (t)" in res.stdout
    assert "at 22050 Hz, 11025 Hz" in res.stdout
    res = runner.invoke(app, ["overlap", "--dims", "1", "-k", "3", "-s", "2", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["dims"] == 1 and data["ratio"] == 2 and data["pattern"] == {"t": [2, 1]}
    assert set(data["values"]) == {"t"} and data["layers"][0]["kernel"] == [3]
    assert data["spectrum"]["t"][0]["cycles_per_sample"] == 0.5
    assert "ratio_2d" not in data


def test_overlap_preset_brings_its_dims_and_refuses_others() -> None:
    res = runner.invoke(app, ["overlap", "--preset", "monai-unet", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["dims"] == 3 and data["ratio"] == 512 and set(data["ratio_1d"]) == {"z", "y", "x"}
    assert data["border"]["z"] == [0, 15]
    res = runner.invoke(app, ["overlap", "--preset", "hifigan-v1", "--dims", "2"])
    assert res.exit_code == 2 and "is a 1-D stack, not 2-D (use --dims 1)" in res.output
    res = runner.invoke(app, ["overlap", "--dims", "4", "-k", "3", "-s", "2"])
    assert res.exit_code == 2 and "--dims must be 1, 2 or 3" in res.output
    res = runner.invoke(app, ["overlap", "--preset", "nnunet", "--check"])
    assert res.exit_code == 0  # even: --check passes
    res = runner.invoke(app, ["overlap", "--preset", "monai-unet", "--check"])
    assert res.exit_code == 1


def test_overlap_3d_anisotropic_from_options(tmp_path: Any) -> None:
    png = tmp_path / "vol.png"
    res = runner.invoke(
        app,
        ["overlap", "--dims", "3", "-k", "1x3x3", "-s", "1x2x2", "-i", "4x5x5", "--png", str(png)],
    )
    assert res.exit_code == 0, res.output
    assert "3-D overlap map: deconv k1x3x3 s1x2x2" in res.stdout and "input 4x5x5" in res.stdout
    img = Image.open(png)
    assert img.width >= 640 and img.height > 200
    res = runner.invoke(app, ["overlap", "--dims", "3", "-k", "3", "-s", "2", "-i", "4x4"])
    assert res.exit_code == 2 and "DxHxW" in res.output


def test_overlap_1d_png(tmp_path: Any) -> None:
    png = tmp_path / "voc.png"
    res = runner.invoke(app, ["overlap", "--preset", "hifigan-v1", "--png", str(png)])
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[1] >= 640
    # bars drawn: the picture is not blank between the title and the verdict
    assert (img[80:300] < 200).any()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.lists(layer_nd(3), min_size=1, max_size=2),
    size=st.tuples(st.integers(2, 6), st.integers(2, 6), st.integers(2, 6)),
)
def test_3d_gradient_maps_match_autograd(
    torch: ModuleType, stack: list[Layer], size: tuple[int, int, int]
) -> None:
    _compare(torch, stack, size, gradient=True)
