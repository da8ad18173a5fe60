"""ONNX models (``cbdiag overlap --model``, ``cbdiag inspect model.onnx``): graphs exported by
torch in the test, and graphs written node by node, checked against torch and against ONNX's own
reference evaluator (``onnx.reference``), never against cbdiag itself."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from cbdiag.layers import parse_layers
from cbdiag.overlap import overlap_map
from tests.cli import cbdiag
from tests.oracle import interior_period as _interior_period


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cbdiag(*args, cwd=cwd)


def _export(torch: ModuleType, model: Any, shape: tuple[int, ...], path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            torch.ones(*shape),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
        )


def _ones(torch: ModuleType, model: Any) -> Any:
    """Every weight 1 and every bias 0: the network then counts paths."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 1.0)
    return model


# ---------------------------------------------------------------------------------------------
# overlap --model on torch exports: the map equals the layer string's and torch's path counts
# ---------------------------------------------------------------------------------------------


def _models(nn: Any) -> dict[str, tuple[Any, str, tuple[int, ...]]]:
    """name -> (one-channel torch model, the same as a layer string, input shape)."""
    return {
        "dcgan": (
            nn.Sequential(
                nn.ConvTranspose2d(1, 1, 4, 1, 0), nn.BatchNorm2d(1), nn.ReLU(),
                nn.ConvTranspose2d(1, 1, 4, 2, 1), nn.ReLU(),
                nn.ConvTranspose2d(1, 1, 4, 2, 1), nn.ReLU(),
                nn.ConvTranspose2d(1, 1, 4, 2, 1), nn.Tanh(),
            ),
            "deconv k4, 3x deconv k4 s2 p1",
            (1, 1, 1, 1),
        ),
        "cyclegan": (
            nn.Sequential(
                nn.ReflectionPad2d(3), nn.Conv2d(1, 1, 7), nn.InstanceNorm2d(1), nn.ReLU(),
                nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.ReLU(),
                nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                nn.ReflectionPad2d(3), nn.Conv2d(1, 1, 7), nn.Tanh(),
            ),
            "conv k1 p3 reflect, conv k7, conv k3 s2 p1, 2x deconv k3 s2 p1 op1, "
            "conv k1 p3 reflect, conv k7",
            (1, 1, 12, 12),
        ),
        "pix2pixhd": (
            nn.Sequential(
                nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1),
                nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1),
                nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1),
                nn.ReflectionPad2d(3), nn.Conv2d(1, 1, 7),
            ),
            "3x deconv k3 s2 p1 op1, conv k1 p3 reflect, conv k7",
            (1, 1, 6, 6),
        ),
        "resize_conv": (
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(1, 1, 3, padding=1),
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(1, 1, 3, padding=1, padding_mode="replicate"),
            ),
            "nearest x2, conv k3 p1, bilinear x2, conv k3 p1 replicate",
            (1, 1, 7, 9),
        ),
    }  # fmt: skip


@pytest.mark.parametrize("name", ["dcgan", "cyclegan", "pix2pixhd", "resize_conv"])
def test_overlap_of_an_exported_model_is_torchs_path_count(
    name: str, torch: ModuleType, tmp_path: Path
) -> None:
    model, spec, shape = _models(torch.nn)[name]
    _ones(torch, model)
    _export(torch, model, shape, tmp_path / "m.onnx")
    p = _cli("overlap", "--model", "m.onnx", "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    got = np.outer(d["values"]["y"], d["values"]["x"])
    # the same stack written as a layer string
    ref = overlap_map(parse_layers(spec), shape[2:]).to_array()
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # torch: every weight 1, no bias, BatchNorm/InstanceNorm as identities on a constant
    # field are not linear in general, so the reference runs the layers that carry geometry
    geo = torch.nn.Sequential(
        *[
            m
            for m in model
            if not isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d))
            and not isinstance(m, (torch.nn.ReLU, torch.nn.Tanh))
        ]
    )
    with torch.no_grad():
        out = geo(torch.ones(*shape))[0, 0].numpy()
    np.testing.assert_allclose(got, out, rtol=1e-9, atol=1e-9)
    assert [n["op"] for n in d["model"]["nodes"]][:1] and d["model"]["input"] == "x"


def test_a_sub_pixel_model_maps_like_a_shuffle(torch: ModuleType, tmp_path: Path) -> None:
    nn = torch.nn
    model = _ones(
        torch, nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.PixelShuffle(2), nn.Tanh())
    )
    _export(torch, model, (1, 1, 5, 5), tmp_path / "m.onnx")
    d = json.loads(_cli("overlap", "--model", "m.onnx", "-f", "json", cwd=tmp_path).stdout)
    with torch.no_grad():
        out = nn.Sequential(*list(model)[:2])(torch.ones(1, 1, 5, 5))[0, 0].numpy()
    np.testing.assert_allclose(np.outer(d["values"]["y"], d["values"]["x"]), out)
    assert [n["op"] for n in d["model"]["nodes"]] == ["Conv", "DepthToSpace"]


class _UNet:
    @staticmethod
    def build(nn: Any, merge: str) -> Any:
        class UNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inc = nn.Conv2d(1, 1, 3, padding=1)
                self.down = nn.Conv2d(1, 1, 4, stride=2, padding=1)
                self.mid = nn.Conv2d(1, 1, 3, padding=1)
                self.up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)
                self.out = nn.Conv2d(2 if merge == "concat" else 1, 1, 3, padding=1)

            def forward(self, x: Any) -> Any:
                e1 = self.inc(x).relu()
                d = self.up(self.mid(self.down(e1)).relu())
                import torch

                m = torch.cat([d, e1], dim=1) if merge == "concat" else d + e1
                return self.out(m)

        return UNet()


@pytest.mark.parametrize("merge", ["add", "concat"])
def test_a_merge_maps_to_the_sum_of_its_branches_path_counts(
    merge: str, torch: ModuleType, tmp_path: Path
) -> None:
    model = _ones(torch, _UNet.build(torch.nn, merge))
    _export(torch, model, (1, 1, 16, 16), tmp_path / "u.onnx")
    p = _cli("overlap", "--model", "u.onnx", "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    got = np.array(d["values_2d"])
    # torch, weights 1: the number of paths from the input to each output pixel (ReLU of
    # positive counts is the identity), and by autograd the same count from each output back
    x = torch.ones(1, 1, 16, 16, requires_grad=True)
    out = model(x)
    np.testing.assert_allclose(got, out[0, 0].detach().numpy(), rtol=1e-12)
    (g,) = torch.autograd.grad(out[0, 0, 8, 8], x)
    assert got[8, 8] == pytest.approx(float(g.sum()))
    assert d["model"]["merges"] and d["even"] is False
    inner = got[d["interior"]["rows"][0] : d["interior"]["rows"][1], :][
        :, d["interior"]["cols"][0] : d["interior"]["cols"][1]
    ]
    assert d["max"] == inner.max() and d["min"] == inner.min()
    assert d["period"] == [2, 2]


# ---------------------------------------------------------------------------------------------
# ONNX semantics: graphs written node by node, against onnx.reference
# ---------------------------------------------------------------------------------------------


def _graph(
    nodes: list[Any], inits: dict[str, np.ndarray], shape: tuple[int, int], channels: int = 1
) -> Any:
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, *shape])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(v.astype(np.int64 if v.dtype.kind in "iu" else np.float32), k)
            for k, v in inits.items()
        ],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _reference(model: Any, shape: tuple[int, int], channels: int = 1) -> np.ndarray:
    out = ReferenceEvaluator(model).run(None, {"x": np.ones((1, channels, *shape), np.float32)})
    return np.asarray(out[0])[0, 0].astype(np.float64)


ONES3 = {"w": np.ones((1, 1, 3, 3))}
ONES4 = {"w": np.ones((1, 1, 4, 4))}
CASES: dict[str, tuple[list[Any], dict[str, np.ndarray]]] = {
    "deconv same_upper k3": (
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2],
                          auto_pad="SAME_UPPER")],
        ONES3,
    ),
    "deconv same_lower k3": (
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2],
                          auto_pad="SAME_LOWER")],
        ONES3,
    ),
    "deconv asymmetric pads": (
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2],
                          pads=[1, 2, 0, 1])],
        ONES4,
    ),
    "deconv dilated output padding": (
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[3, 2], dilations=[2, 1],
                          pads=[1, 1, 1, 1], output_padding=[1, 1])],
        ONES3,
    ),
    "conv same_upper strided": (
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")],
        ONES4,
    ),
    "resize nearest half_pixel": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest")],
        {"s": np.array([1.0, 1, 3, 2])},
    ),
    "resize nearest asymmetric floor": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
        {"s": np.array([1.0, 1, 2, 4])},
    ),
    "resize linear half_pixel": (
        [helper.make_node("Resize", ["x", "", "s"], ["r"], mode="linear"),
         helper.make_node("Conv", ["r", "w"], ["y"], pads=[1, 1, 1, 1])],
        {"s": np.array([1.0, 1, 2, 2]), **ONES3},
    ),
    "pad reflect then conv": (
        [helper.make_node("Pad", ["x", "p"], ["q"], mode="reflect"),
         helper.make_node("Conv", ["q", "w"], ["y"])],
        {"p": np.array([0, 0, 2, 1, 0, 0, 2, 1]), **ONES3},
    ),
    "pad edge then deconv": (
        [helper.make_node("Pad", ["x", "p"], ["q"], mode="edge"),
         helper.make_node("ConvTranspose", ["q", "w"], ["y"], strides=[2, 2])],
        {"p": np.array([0, 0, 1, 1, 0, 0, 1, 1]), **ONES3},
    ),
    "resize nearest from sizes": (
        [helper.make_node("Resize", ["x", "", "", "z"], ["y"], mode="nearest")],
        {"z": np.array([1, 1, 21, 12])},
    ),
    "depth to space dcr": (
        [helper.make_node("Conv", ["x", "w4"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="DCR")],
        {"w4": np.ones((4, 1, 3, 3))},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_node_maps_as_onnx_defines_it(case: str, tmp_path: Path) -> None:
    nodes, inits = CASES[case]
    shape = (7, 6)
    (tmp_path / "m.onnx").write_bytes(_graph(nodes, inits, shape).SerializeToString())
    p = _cli("overlap", "--model", "m.onnx", "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    got = np.outer(d["values"]["y"], d["values"]["x"])
    ref = _reference(_graph(nodes, inits, shape), shape)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-6)


STOPS: dict[str, tuple[list[Any], dict[str, np.ndarray], str]] = {
    "cubic": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic", name="up")],
        {"s": np.array([1.0, 1, 2, 2])},
        "node 'up' (Resize) on the image path: cubic resizing is not modelled",
    ),
    "align corners": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear", name="up",
                          coordinate_transformation_mode="align_corners")],
        {"s": np.array([1.0, 1, 2, 2])},
        "linear resizing with align_corners coordinates is not modelled",
    ),
    "transpose": (
        [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 1, 3, 2], name="t")],
        {},
        "node 't' (Transpose) on the image path: this op is not modelled",
    ),
    "fractional scale": (
        [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest", name="r")],
        {"s": np.array([1.0, 1, 1.5, 1.5])},
        "scale 1.5 is not an integer upsampling factor",
    ),
    "weight from an input": (
        [helper.make_node("Conv", ["x", "x"], ["y"], name="c")],
        {},
        "node 'c' (Conv) on the image path",
    ),
    "mul by a pixel-varying constant": (
        [helper.make_node("Mul", ["x", "m"], ["y"], name="mul")],
        {"m": np.ones((1, 1, 7, 6))},
        "its constant 'm' varies across pixels",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(STOPS))
def test_an_op_that_is_not_modelled_stops_the_map_by_name(case: str, tmp_path: Path) -> None:
    nodes, inits, message = STOPS[case]
    (tmp_path / "m.onnx").write_bytes(_graph(nodes, inits, (7, 6)).SerializeToString())
    for args in (("overlap", "--model", "m.onnx"), ("inspect", "m.onnx")):
        p = _cli(*args, cwd=tmp_path)
        assert p.returncode == 2, (args, p.stdout)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
        if args[0] == "overlap":
            assert message in p.stderr, p.stderr


# ---------------------------------------------------------------------------------------------
# inspect model.onnx: per-phase responses and the output against torch
# ---------------------------------------------------------------------------------------------


def test_inspect_reads_each_kernel_with_the_graphs_stride(
    torch: ModuleType, tmp_path: Path
) -> None:
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.ConvTranspose2d(8, 6, 4, 1, 0), nn.ReLU(),
        nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.ReLU(),
        nn.ConvTranspose2d(4, 4, 5, stride=(2, 3), padding=2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Conv2d(4, 12, 3, padding=1), nn.PixelShuffle(2), nn.Tanh(),
    ).eval()  # fmt: skip
    _export(torch, model, (1, 8, 1, 1), tmp_path / "g.onnx")
    p = _cli("inspect", "g.onnx", "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    layers = d["layers"]
    assert [x["stride"] for x in layers] == [[1, 1], [2, 2], [2, 3], [2, 2]]
    assert [x["layout"] for x in layers] == ["onnx", "onnx", "onnx", "subpixel"]
    assert not any(x["stride_assumed"] for x in layers)
    # torch: each transposed convolution alone on a constant input; one period of its interior
    for x, idx in zip(layers[:3], [0, 2, 4], strict=True):
        m = model[idx]
        sy, sx = m.stride
        with torch.no_grad():
            out = m(torch.ones(1, m.in_channels, 9, 9))[0].numpy()
        ref = _interior_period(out, sy, sx)
        got = np.array(x["phase_gains"])
        # same pattern up to a shift of the phases (the padding sets where a period starts)
        assert any(
            np.allclose(np.roll(got, (a, b), axis=(1, 2)), ref, atol=1e-5)
            for a in range(sy)
            for b in range(sx)
        ), x["name"]
    # the sub-pixel head: conv then shuffle on a constant input
    with torch.no_grad():
        out = model[7](model[6](torch.ones(1, 4, 6, 6)))[0].numpy()
    got = np.array(layers[3]["phase_gains"])
    assert any(
        np.allclose(np.roll(got, (a, b), axis=(1, 2)), _interior_period(out, 2, 2), atol=1e-5)
        for a in range(2)
        for b in range(2)
    )
    # the output: every linear layer, activations left out, on a constant field
    chain = d["chain"]
    assert chain["reaches_output"] and chain["period"] == [8, 12]
    lin = [model[i] for i in (0, 2, 4, 5, 6, 7)]
    with torch.no_grad():
        y = torch.ones(1, 8, 12, 12)
        for m in lin:
            y = m(y)
    ref = _interior_period(y[0].numpy(), 8, 12)
    mean = ref.mean(axis=(1, 2), keepdims=True)
    imb = float(((ref - mean) ** 2).sum() / (mean**2).sum() / (8 * 12))
    assert chain["imbalance"] == pytest.approx(imb, rel=1e-4)
    assert d["skipped"] == ["/5/Conv"]


def test_inspect_of_a_dcr_sub_pixel_head_against_onnx_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 2, 3, 3))
    b = rng.normal(size=12)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="head"),
        helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="DCR", name="d2s"),
    ]
    m = _graph(nodes, {"w": w, "b": b}, (8, 8), channels=2)
    (tmp_path / "m.onnx").write_bytes(m.SerializeToString())
    d = json.loads(_cli("inspect", "m.onnx", "-f", "json", cwd=tmp_path).stdout)
    out = ReferenceEvaluator(m).run(None, {"x": np.ones((1, 2, 8, 8), np.float32)})[0][0]
    ref = out[:, 6:8, 6:8]  # an interior period, aligned (rows 6, 7 are phases 0, 1)
    np.testing.assert_allclose(np.array(d["layers"][0]["phase_gains"]), ref, rtol=1e-5)
    chain = d["chain"]
    mean = ref.mean(axis=(1, 2), keepdims=True)
    imb = float(((ref - mean) ** 2).sum() / (mean**2).sum() / 4)
    assert chain["imbalance"] == pytest.approx(imb, rel=1e-4)


# ---------------------------------------------------------------------------------------------
# bad models: one line, exit 2
# ---------------------------------------------------------------------------------------------


def _conv_model(weight: Any) -> Any:
    g = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [weight],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _bad_models(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    good = _conv_model(numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w"))
    raw = good.SerializeToString()

    def tensor(dims: list[int], raw: bytes) -> Any:
        t = TensorProto()
        t.name, t.data_type, t.raw_data = "w", TensorProto.FLOAT, raw
        t.dims.extend(dims)
        return t

    short = tensor([1, 1, 300, 300], b"\0" * 36)
    outside = tensor([1, 1, 3, 3], b"")
    outside.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../secret.bin"), ("offset", "0"), ("length", "36")):
        e = outside.external_data.add()
        e.key, e.value = k, v
    beyond = tensor([1, 1, 3, 3], b"")
    beyond.data_location = TensorProto.EXTERNAL
    (tmp_path / "w.bin").write_bytes(b"\0" * 10)
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "36")):
        e = beyond.external_data.add()
        e.key, e.value = k, v
    cyc = helper.make_graph(
        [
            helper.make_node("Relu", ["x2"], ["a"]),
            helper.make_node("Add", ["x", "a"], ["b"]),
            helper.make_node("Relu", ["b"], ["x2"]),
            helper.make_node("Identity", ["b"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    dang = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "nowhere"], ["y"], strides=[2, 2])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    opset = [helper.make_opsetid("", 17)]
    return {
        "garbage": (b"\x08\x07garbage\xff\xfe" * 100, "not an ONNX model"),
        "truncated": (raw[: len(raw) // 2], "m.onnx:"),
        "empty": (b"", "empty file"),
        "declared larger than its data": (
            _conv_model(short).SerializeToString(),
            "declares 90000 elements (360000 bytes) but holds 36 bytes",
        ),
        "external data outside the folder": (
            _conv_model(outside).SerializeToString(),
            "outside the model's folder (refused)",
        ),
        "external data beyond its file": (
            _conv_model(beyond).SerializeToString(),
            "lies beyond 'w.bin'",
        ),
        "cycle": (helper.make_model(cyc, opset_imports=opset).SerializeToString(), "cycle"),
        "dangling input": (
            helper.make_model(dang, opset_imports=opset).SerializeToString(),
            "reads 'nowhere', which nothing produces",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "truncated",
        "empty",
        "declared larger than its data",
        "external data outside the folder",
        "external data beyond its file",
        "cycle",
        "dangling input",
    ],
)
def test_a_bad_model_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 36)
    sub = tmp_path / "models"
    sub.mkdir()
    data, message = _bad_models(sub)[case]
    (sub / "m.onnx").write_bytes(data)
    for args in (("overlap", "--model", "m.onnx"), ("inspect", "m.onnx")):
        p = _cli(*args, cwd=sub)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert message in p.stderr, p.stderr


def test_the_graph_declared_output_size_is_checked(tmp_path: Path) -> None:
    g = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 9, 9])],  # really 7x7
        [numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "m.onnx").write_bytes(m.SerializeToString())
    p = _cli("overlap", "--model", "m.onnx", cwd=tmp_path)
    assert p.returncode == 2 and "declares an output of 9x9, the path's layers give 7x7" in p.stderr
    # at another input size the declared output does not apply
    assert _cli("overlap", "--model", "m.onnx", "-i", "5", cwd=tmp_path).returncode == 0


def test_without_the_onnx_package_the_error_says_how_to_get_it(tmp_path: Path) -> None:
    m = _conv_model(numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w"))
    (tmp_path / "m.onnx").write_bytes(m.SerializeToString())
    code = (
        "import sys; sys.modules['onnx'] = None; from cbdiag.cli import main; "
        "sys.argv = ['cbdiag', *sys.argv[1:]]; main()"
    )
    for args in (("overlap", "--model", "m.onnx"), ("inspect", "m.onnx")):
        p = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path
        )
        assert p.returncode == 2
        assert p.stderr.strip() == (
            "error: ONNX models need the optional onnx package: pip install 'cbdiag[onnx]'"
        )


def test_the_sample_onnx_export_and_its_state_dict_with_source_agree() -> None:
    """samples/decoder.onnx is samples/decoder_model.py exported by torch with the weights of
    samples/weights_decoder_torch.safetensors: the graph route and the static-source route
    must give the same kernels, strides and output."""
    root = Path(__file__).resolve().parent.parent
    a = json.loads(_cli("inspect", "samples/decoder.onnx", "-f", "json", cwd=root).stdout)
    b = json.loads(
        _cli(
            "inspect", "samples/weights_decoder_torch.safetensors", "--source",
            "samples/decoder_model.py", "-f", "json", cwd=root,
        ).stdout
    )  # fmt: skip
    assert [x["stride"] for x in a["layers"]] == [x["stride"] for x in b["layers"]]
    for x, y in zip(a["layers"], b["layers"], strict=True):
        np.testing.assert_allclose(x["phase_gains"], y["phase_gains"], rtol=1e-5, atol=1e-6)
    assert a["chain"]["period"] == b["chain"]["period"] == [8, 8]
    assert a["chain"]["imbalance"] == pytest.approx(b["chain"]["imbalance"], rel=1e-5)


def test_the_path_can_start_at_an_intermediate_tensor(torch: ModuleType, tmp_path: Path) -> None:
    nn = torch.nn

    class G(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 4 * 4)
            self.up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)

        def forward(self, z: Any) -> Any:
            return self.up(self.fc(z).view(-1, 1, 4, 4))

    _export(torch, _ones(torch, G()), (1, 8), tmp_path / "g.onnx")
    p = _cli("overlap", "--model", "g.onnx", cwd=tmp_path)
    assert p.returncode == 2 and "no 4-D graph inputs (x); name the image one" in p.stderr
    m = onnx.load(str(tmp_path / "g.onnx"))
    reshaped = next(n.output[0] for n in m.graph.node if n.op_type == "Reshape")
    p = _cli("overlap", "--model", "g.onnx", "--input", reshaped, cwd=tmp_path)
    assert p.returncode == 2 and "is not fixed in the graph; pass --input-size" in p.stderr
    args = ("overlap", "--model", "g.onnx", "--input", reshaped, "-i", "4", "-f", "json")
    d = json.loads(_cli(*args, cwd=tmp_path).stdout)
    ref = overlap_map(parse_layers("deconv k3 s2 p1 op1"), 4).to_array()
    np.testing.assert_allclose(np.outer(d["values"]["y"], d["values"]["x"]), ref)


def test_a_pooling_window_counts_its_taps_as_paths(tmp_path: Path) -> None:
    for op in ("MaxPool", "AveragePool"):
        nodes = [
            helper.make_node("ConvTranspose", ["x", "w"], ["u"], strides=[2, 2]),
            helper.make_node(op, ["u"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                             pads=[1, 1, 1, 1]),
        ]  # fmt: skip
        (tmp_path / "m.onnx").write_bytes(_graph(nodes, ONES3, (7, 6)).SerializeToString())
        d = json.loads(_cli("overlap", "--model", "m.onnx", "-f", "json", cwd=tmp_path).stdout)
        ref = overlap_map(parse_layers("deconv k3 s2, conv k3 s2 p1"), (7, 6)).to_array()
        np.testing.assert_allclose(np.outer(d["values"]["y"], d["values"]["x"]), ref)
        assert [n["op"] for n in d["model"]["nodes"]] == ["ConvTranspose", op]


def test_a_map_with_merges_is_bounded(torch: ModuleType, tmp_path: Path) -> None:
    model = _ones(torch, _UNet.build(torch.nn, "add"))
    _export(torch, model, (1, 1, 16, 16), tmp_path / "u.onnx")
    p = _cli("overlap", "--model", "u.onnx", "-i", "100000", cwd=tmp_path)
    assert p.returncode == 2 and "cannot be mapped with merges (sides 1 to 4096" in p.stderr
