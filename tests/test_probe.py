"""``cbdiag probe``: an ONNX model run by onnxruntime on probe inputs; its outputs checked
against the same model run by torch, and its verdicts on models whose pattern is known."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from cbdiag.probe import ProbeError, probe_model
from tests.cli import cbdiag


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cbdiag(*args, cwd=cwd)


def _export(torch: ModuleType, model: Any, shape: tuple[int, ...], path: Path) -> None:
    torch.set_default_dtype(torch.float32)  # the exported constants too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(  # float32: what onnxruntime's CPU kernels take
            model.float().eval(), torch.ones(*shape, dtype=torch.float32), str(path),
            dynamo=False, input_names=["x"], output_names=["y"],
        )  # fmt: skip
    torch.set_default_dtype(torch.float64)
    model.double()


def _generator(nn: Any, up: str) -> Any:
    """A DCGAN-shaped generator from a 1x1 latent to 32x32 RGB at PyTorch's initialisation."""
    if up == "deconv":
        ups = [
            nn.ConvTranspose2d(32, 32, 3, 2, 1, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, 2, 1, 1), nn.ReLU(),
            nn.ConvTranspose2d(16, 16, 3, 2, 1, 1), nn.ReLU(),
        ]  # fmt: skip
    else:
        ups = [
            nn.Upsample(scale_factor=2), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        ]  # fmt: skip
    return nn.Sequential(
        nn.ConvTranspose2d(8, 32, 4, 1, 0), nn.ReLU(), *ups, nn.Conv2d(16, 3, 1), nn.Tanh()
    )


def test_probe_outputs_are_what_torch_computes(torch: ModuleType, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _generator(torch.nn, "deconv").eval()
    _export(torch, model, (1, 8, 1, 1), tmp_path / "g.onnx")
    r = probe_model(tmp_path / "g.onnx", samples=5, seed=3, keep=True)
    assert r.kind == "latent" and r.input_shape == [1, 8, 1, 1] and r.output_shape == [3, 32, 32]
    assert [row.name for row in r.rows] == ["constant", "latent"]
    for name, x in r.inputs.items():
        with torch.no_grad():
            ref = model(torch.from_numpy(x.astype(np.float64))).numpy()
        np.testing.assert_allclose(r.outputs[name], ref, rtol=1e-4, atol=1e-5)
    assert r.inputs["latent"].shape == (5, 8, 1, 1) and not r.inputs["constant"].any()


def test_a_transposed_generator_paints_a_pattern_and_resize_conv_does_not(
    torch: ModuleType, tmp_path: Path
) -> None:
    torch.manual_seed(1)
    _export(torch, _generator(torch.nn, "deconv"), (1, 8, 1, 1), tmp_path / "d.onnx")
    _export(torch, _generator(torch.nn, "resize"), (1, 8, 1, 1), tmp_path / "r.onnx")
    d = json.loads(_cli("probe", "d.onnx", "-f", "json", "--check", cwd=tmp_path).stdout)
    p = _cli("probe", "d.onnx", "--check", cwd=tmp_path)
    assert p.returncode == 1 and "FLAGGED" in p.stdout
    assert d["flagged"] and all(x["flagged"] for x in d["probes"])
    assert {x["period"] for x in d["probes"]} <= {2, 4, 8}
    q = _cli("probe", "r.onnx", "-f", "json", "--check", cwd=tmp_path)
    e = json.loads(q.stdout)
    # nearest x2 then a convolution: every phase of the output answers a constant alike
    const = next(x for x in e["probes"] if x["probe"] == "constant")
    assert const["amplitude"] < 0.05 and not const["flagged"]
    assert d["probes"][0]["amplitude"] > 20 * max(const["amplitude"], 1e-3)


def test_an_image_model_gets_constant_and_smooth_probes(torch: ModuleType, tmp_path: Path) -> None:
    nn = torch.nn
    torch.manual_seed(2)
    # an autoencoder-like model: down then up with k3 s2 transposed convolutions
    model = nn.Sequential(
        nn.Conv2d(3, 16, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(16, 16, 3, 2, 1, 1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1),
    ).eval()  # fmt: skip
    _export(torch, model, (1, 3, 64, 64), tmp_path / "ae.onnx")
    r = probe_model(tmp_path / "ae.onnx", samples=4, keep=True)
    assert r.kind == "image" and [row.name for row in r.rows] == ["constant", "smooth"]
    assert np.all(r.inputs["constant"] == 0.0)
    s = r.inputs["smooth"]
    assert s.shape == (4, 3, 64, 64) and s.min() >= -1 and s.max() <= 1
    # smooth: neighbouring pixels differ little
    assert np.abs(np.diff(s, axis=3)).max() < 4 * 0.15 * 2 * np.pi * 3 * 2**0.5 / 64
    with torch.no_grad():
        ref = model(torch.from_numpy(s.astype(np.float64))).numpy()
    np.testing.assert_allclose(r.outputs["smooth"], ref, rtol=1e-4, atol=1e-5)
    assert r.rows[0].flagged and r.rows[0].period == 2


def _tiny(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any]) -> bytes:
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_models_that_cannot_be_probed_are_one_line_and_exit_2(tmp_path: Path) -> None:
    vi = helper.make_tensor_value_info
    two_in = _tiny(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [vi("a", TensorProto.FLOAT, [1, 3, 32, 32]), vi("b", TensorProto.FLOAT, [1, 3, 32, 32])],
        [vi("y", TensorProto.FLOAT, [1, 3, 32, 32])],
        [],
    )
    two_ch = _tiny(
        [helper.make_node("Identity", ["a"], ["y"])],
        [vi("a", TensorProto.FLOAT, [1, 2, 32, 32])],
        [vi("y", TensorProto.FLOAT, [1, 2, 32, 32])],
        [],
    )
    free = _tiny(
        [helper.make_node("Identity", ["a"], ["y"])],
        [vi("a", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [vi("y", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [],
    )
    w = numpy_helper.from_array(np.zeros((3, 3, 1, 1), np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "/etc/passwd"), ("offset", "0"), ("length", "36")):
        e = w.external_data.add()
        e.key, e.value = k, v
    outside = _tiny(
        [helper.make_node("Conv", ["a", "w"], ["y"])],
        [vi("a", TensorProto.FLOAT, [1, 3, 32, 32])],
        [vi("y", TensorProto.FLOAT, [1, 3, 32, 32])],
        [w],
    )
    cases = {
        "two.onnx": (two_in, "2 inputs (a, b); probe feeds models with one input"),
        "twoch.onnx": (two_ch, "the output has 2 channels; probe scores images of 1, 3 or 4"),
        "free.onnx": (free, "input 'a' is not fixed (h); pass --input-size"),
        "outside.onnx": (outside, "outside the model's folder (refused)"),
        "garbage.onnx": (b"\x00garbage" * 50, "not an ONNX model"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        p = _cli("probe", name, cwd=tmp_path)
        assert p.returncode == 2, (name, p.stdout)
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
        assert message in p.stderr, (name, p.stderr)
    # a free size is fine once given
    assert _cli("probe", "free.onnx", "-i", "40", "-n", "2", cwd=tmp_path).returncode == 0
    with pytest.raises(ProbeError, match="--samples must be"):
        probe_model(tmp_path / "free.onnx", input_size=(40, 40), samples=0)


def test_without_onnxruntime_the_error_says_how_to_get_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['onnxruntime'] = None; from cbdiag.cli import main; "
        "sys.argv = ['cbdiag', *sys.argv[1:]]; main()"
    )
    (tmp_path / "m.onnx").write_bytes(b"\x00")
    p = subprocess.run(
        [sys.executable, "-c", code, "probe", "m.onnx"], capture_output=True, text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "error: probe runs models with the optional onnxruntime package: "
        "pip install 'cbdiag[probe]'"
    )
