"""Per-phase DC gains of 1-D (vocoder) and 3-D (volume) upsampling kernels, against PyTorch's
``conv_transpose1d`` / ``conv_transpose3d`` and ``weight_norm``; HiFi-GAN-style checkpoints."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from typer.testing import CliRunner

from cbdiag.cli import app
from cbdiag.weights import inspect_weights, phase_gains

runner = CliRunner()


def _interior_phases(
    out: np.ndarray, stride: tuple[int, ...], reach: tuple[int, ...]
) -> np.ndarray:
    """One period of every channel, from the interior of a transposed convolution's answer
    to an all-ones input, phases counted from the full output's index 0."""
    c = out.shape[0]
    idx = [np.arange(r, r + s) for r, s in zip(reach, stride, strict=True)]  # past the border
    block = out[(slice(None), *np.ix_(*idx))]
    # roll so that phase 0 is the full output's index 0
    for a, r in enumerate(reach):
        block = np.roll(block, r % stride[a], axis=a + 1)
    return block.reshape(c, *stride)


@pytest.mark.parametrize(
    ("kernel", "stride"),
    [((16,), (8,)), ((5,), (4,)), ((3,), (2,)), ((2, 3, 4), (2, 2, 3)), ((3, 3, 3), (2, 2, 2))],
)
def test_phase_gains_are_torchs_answer_to_a_constant(
    torch: ModuleType, kernel: tuple[int, ...], stride: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(sum(kernel))
    cin, cout = 3, 2
    w = rng.standard_normal((cin, cout, *kernel))
    b = rng.standard_normal(cout)
    n = len(kernel)
    fn = {1: torch.nn.functional.conv_transpose1d, 3: torch.nn.functional.conv_transpose3d}[n]
    size = tuple(k + 3 * s for k, s in zip(kernel, stride, strict=True))
    x = torch.ones(1, cin, *size, dtype=torch.float64)
    out = fn(x, torch.from_numpy(w), torch.from_numpy(b), stride=stride)[0].numpy()
    reach = tuple(-(-(k - 1) // s) * s for k, s in zip(kernel, stride, strict=True))
    want = _interior_phases(out, stride, reach)
    np.testing.assert_allclose(phase_gains(w, stride, b), want, atol=1e-10)


def _hifigan_like(torch: ModuleType) -> tuple[dict[str, np.ndarray], list[object]]:
    """The upsamplers of a small HiFi-GAN generator (rates 8, 8, 2, 2; kernels 2x), with
    weight normalisation as HiFi-GAN applies it, saved as a state dict would be."""
    torch.manual_seed(0)
    chans = [32, 16, 8, 4, 2]
    ups = []
    arrays: dict[str, np.ndarray] = {}
    for i, (u, k) in enumerate(zip([8, 8, 2, 2], [16, 16, 4, 4], strict=True)):
        conv = torch.nn.ConvTranspose1d(chans[i], chans[i + 1], k, u, padding=(k - u) // 2)
        conv = torch.nn.utils.weight_norm(conv)
        ups.append(conv)
        for name, t in conv.state_dict().items():
            arrays[f"generator.ups.{i}.{name}"] = t.detach().numpy().astype(np.float64)
    arrays["generator.conv_pre.weight"] = np.zeros((32, 80, 7))  # a Conv1d: not an upsampler
    return arrays, ups


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated:FutureWarning")
def test_a_vocoders_weight_normalised_upsamplers(torch: ModuleType) -> None:
    arrays, ups = _hifigan_like(torch)
    res = inspect_weights(arrays)
    assert [r.name for r in res.layers] == [f"generator.ups.{i}.weight" for i in range(4)]
    assert [r.stride for r in res.layers] == [(8,), (8,), (2,), (2,)]
    assert all(r.stride_assumed for r in res.layers)  # k/2: the kernel twice the rate
    for r, conv in zip(res.layers, ups, strict=True):
        w = conv.weight.detach().numpy().astype(np.float64)  # g v / |v|, computed by torch
        b = conv.bias.detach().numpy().astype(np.float64)
        np.testing.assert_allclose(r.response, phase_gains(w, r.stride, b), atol=1e-9)
        assert r.response.shape == (w.shape[1], r.stride[0])
        assert r.imbalance > 0 and r.as_dict()["imbalance_1d"].keys() == {"t"}
    assert "generator.conv_pre.weight" in res.skipped
    # the chain: a constant through the four (linear) upsamplers, against torch itself
    assert res.chain is not None and res.chain["period"] == [256]
    x = torch.ones(1, 32, 64, dtype=torch.float64)
    with torch.no_grad():
        for conv in ups:
            x = torch.nn.functional.conv_transpose1d(
                x,
                conv.weight.double(),
                conv.bias.double(),
                stride=conv.stride,
                padding=conv.padding,
            )
    y = x[0].numpy()
    # one period of the interior, phase 0 at the full output's index: the padding rotates it
    mid = y[:, 2048 : 2048 + 256]
    mean = mid.mean(axis=1, keepdims=True)
    imb = ((mid - mean) ** 2).sum() / (256 * (mean**2).sum())
    assert res.chain["imbalance"] == pytest.approx(imb, rel=1e-6)


def test_3d_and_keras_1d_layouts(torch: ModuleType) -> None:
    rng = np.random.default_rng(4)
    w3 = rng.standard_normal((4, 2, 2, 2, 2))
    res = inspect_weights({"decoder.transpconvs.0.weight": w3})
    (r,) = res.layers
    assert r.stride == (2, 2, 2) and r.response.shape == (2, 2, 2, 2)
    assert set(r.as_dict()["imbalance_1d"]) == {"z", "y", "x"}
    res = inspect_weights({"decoder.transpconvs.0.weight": w3}, stride=(1, 2, 2))
    assert res.layers[0].response.shape == (2, 1, 2, 2)
    w1 = rng.standard_normal((5, 3, 6))  # torch (C_in, C_out, k)
    keras = w1.transpose(2, 1, 0)  # Keras Conv1DTranspose kernel (k, C_out, C_in)
    a = inspect_weights({"up/conv1d_transpose/kernel:0": keras}, stride=3).layers[0]
    b = inspect_weights(w1, stride=3).layers[0]
    assert a.layout == "keras"
    np.testing.assert_allclose(a.response, b.response)


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated:FutureWarning")
def test_inspect_command_on_a_vocoder_checkpoint(torch: ModuleType, tmp_path: Path) -> None:
    arrays, _ = _hifigan_like(torch)
    path = tmp_path / "g.npz"
    np.savez(path, **arrays)
    res = runner.invoke(app, ["inspect", str(path), "--format", "json"])
    doc = json.loads(res.stdout)
    assert [la["stride"] for la in doc["layers"]] == [[8], [8], [2], [2]]
    assert doc["layers"][0]["dims"] == 1
    res = runner.invoke(app, ["inspect", str(path)])
    assert res.exit_code in (0, 1) and "generator.ups.0.weight" in res.stdout
    assert "8?" in res.stdout  # the stride shown, marked as assumed
    res = runner.invoke(app, ["inspect", str(path), "--stride", "1x2x2"])
    assert res.exit_code == 2
    assert "generator.ups.0.weight: a 1-D kernel takes one stride value, got 1x2x2" in res.output


def test_the_parametrized_weight_norm(torch: ModuleType) -> None:
    torch.manual_seed(1)
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.ConvTranspose1d(6, 4, 8, 4))
    arrays = {
        f"ups.0.{k}": v.detach().numpy().astype(np.float64) for k, v in conv.state_dict().items()
    }
    assert "ups.0.parametrizations.weight.original1" in arrays
    (r,) = inspect_weights(arrays).layers
    w = conv.weight.detach().numpy().astype(np.float64)
    b = conv.bias.detach().numpy().astype(np.float64)
    assert r.name == "ups.0.weight" and r.stride == (4,)
    np.testing.assert_allclose(r.response, phase_gains(w, (4,), b), atol=1e-9)


def test_ups_names_a_vocoders_upsamplers_only_in_1d() -> None:
    rng = np.random.default_rng(2)
    arrays = {
        "ups.0.conv.weight": rng.standard_normal((8, 8, 3, 3)),  # a resize-conv block's Conv2d
        "ups.0.weight": rng.standard_normal((8, 4, 16)),  # a vocoder's ConvTranspose1d
    }
    res = inspect_weights(arrays)
    assert [r.name for r in res.layers] == ["ups.0.weight"]
    assert "ups.0.conv.weight" in res.skipped
