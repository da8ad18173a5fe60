"""MONAI's blocks as ``cbdiag lint`` reads them from calls (never importing MONAI), against the
transposed convolutions MONAI itself builds for the same calls."""

from __future__ import annotations

import os
import re
from types import ModuleType

import pytest

from cbdiag.lint import lint_text

HEADER = (
    "from monai.networks.blocks import Convolution, UpSample\n"
    "from monai.networks.nets import UNet, BasicUNet, DynUNet, UNETR, SwinUNETR\n"
)

CASES = [
    "Convolution(2, 8, 8, strides=2, kernel_size=3, is_transposed=True)",
    "Convolution(2, 8, 8, 2, 5, is_transposed=True)",
    "Convolution(2, 8, 8, strides=3, kernel_size=3, is_transposed=True)",
    "Convolution(2, 8, 8, 2, 4, is_transposed=True, padding=1, output_padding=0)",
    "Convolution(2, 8, 8, strides=2, kernel_size=3)",
    "Convolution(3, 4, 4, strides=(1, 2, 2), kernel_size=(3, 3, 3), is_transposed=True)",
    "UpSample(2, 8, 8, scale_factor=2)",
    "UpSample(2, 8, 8, 2, 3)",
    "UpSample(2, 8, 8, scale_factor=3, kernel_size=5)",
    "UpSample(2, 8, 8, scale_factor=2, kernel_size=3)",
    "UpSample(3, 4, 4, scale_factor=2, kernel_size=3)",
    "UpSample(2, 8, 8, mode='nontrainable')",
    "UNet(2, 1, 1, channels=(4, 8, 16), strides=(2, 2))",
    "UNet(2, 1, 1, channels=(4, 8), strides=(3, 2))",
    "UNet(2, 1, 1, (4, 8, 16), (2, 1), up_kernel_size=5)",
    "UNet(3, 1, 2, channels=(4, 8, 16), strides=(2, 2), num_res_units=2)",
    "BasicUNet(2, 1, 1, features=(4, 4, 8, 8, 16, 4))",
    "BasicUNet(3, 1, 2, (4, 4, 8, 8, 16, 4), upsample='nontrainable')",
    "BasicUNet(2, 1, 1, (4, 4, 8, 8, 16, 4), upsample='pixelshuffle')",
    "DynUNet(2, 1, 1, kernel_size=[3, 3, 3], strides=[1, 2, 2], upsample_kernel_size=[2, 2])",
    "DynUNet(3, 1, 2, [3, 3, 3], [1, 2, (2, 2, 1)], [2, (2, 2, 1)])",
    "UNETR(1, 2, img_size=(32, 32), feature_size=4, hidden_size=48, mlp_dim=96, num_heads=4,"
    " spatial_dims=2)",
    "SwinUNETR(1, 2, feature_size=12, spatial_dims=2, depths=(1, 1, 1, 1))",
]


@pytest.fixture(scope="module")
def monai(torch: ModuleType) -> ModuleType:
    try:
        import monai
    except ImportError:
        if os.environ.get("CBDIAG_REQUIRE_TORCH") == "1":
            pytest.fail("CBDIAG_REQUIRE_TORCH=1 but monai (the torch extra) is not installed")
        pytest.skip("monai is not installed (pip install '.[torch]')")
    return monai


def _build(expr: str, monai: ModuleType) -> object:
    import warnings

    from monai.networks import nets
    from monai.networks.blocks import Convolution, UpSample

    names = {n: getattr(nets, n) for n in ("UNet", "BasicUNet", "DynUNet", "UNETR", "SwinUNETR")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expr, {"Convolution": Convolution, "UpSample": UpSample, **names})


def _deconvs(module: object, torch: ModuleType) -> list[object]:
    kinds = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    return [m for m in module.modules() if isinstance(m, kinds)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("expr", CASES)
def test_the_verdict_is_that_of_the_layers_monai_builds(
    expr: str, torch: ModuleType, monai: ModuleType
) -> None:
    deconvs = _deconvs(_build(expr, monai), torch)
    uneven = any(
        s > 1 and k % s
        for m in deconvs
        for k, s in zip(m.kernel_size, m.stride, strict=True)  # type: ignore[attr-defined]
    )
    res = lint_text(f"{HEADER}x = {expr}\n", "net.py")
    codes = [v.code for v in res.violations]
    assert codes == (["CBD101"] if uneven else []), (expr, res.violations)
    assert res.unresolved == []
    assert res.clean == (1 if deconvs and not uneven else 0), expr


def _per_axis(text: str, n: int) -> tuple[int, ...]:
    parts = tuple(int(v) for v in text.split("x"))
    return parts * n if len(parts) == 1 else parts


@pytest.mark.parametrize(
    "expr",
    [c for c in CASES if c.startswith("Convolution") or c.startswith("UpSample(2, 8, 8, scale")],
)
def test_the_fix_keeps_the_output_size(expr: str, torch: ModuleType, monai: ModuleType) -> None:
    res = lint_text(f"{HEADER}x = {expr}\n", "net.py")
    if not res.violations:
        return
    msg = res.violations[0].message
    (m,) = _deconvs(_build(expr, monai), torch)
    n = len(m.kernel_size)  # type: ignore[attr-defined]
    x = torch.zeros(1, m.in_channels, *[5] * n)  # type: ignore[attr-defined]
    want = m(x).shape  # type: ignore[operator]
    value = r"(\d+(?:x\d+)*)"  # (3, or 3x4x4 per axis)
    got = re.search(rf"use kernel {value} with padding {value}, output_padding {value}", msg)
    if got is not None:
        k, p, op = (_per_axis(g, n) for g in got.groups())
        cls = getattr(torch.nn, f"ConvTranspose{n}d")
        fixed = cls(m.in_channels, m.out_channels, k, m.stride, p, op)  # type: ignore[attr-defined]
    else:
        got = re.search(rf"use kernel_size {value}, or leave kernel_size unset", msg)
        assert got is not None and "kernel_size=" in expr, msg
        new = re.sub(r"kernel_size=\d+", f"kernel_size={_per_axis(got.group(1), n)}", expr)
        (fixed,) = _deconvs(_build(new, monai), torch)
    assert fixed(x).shape == want, msg
    assert all(k % s == 0 for k, s in zip(fixed.kernel_size, fixed.stride, strict=True))
