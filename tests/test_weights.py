"""Checkpoint reading and the per-phase DC-gain analysis (cbdiag inspect)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from cbdiag import nn
from cbdiag.generator import Generator, GeneratorConfig
from cbdiag.layers import deconv
from cbdiag.overlap import overlap_map
from cbdiag.weights import (
    CheckpointError,
    analyse_layer,
    analyse_subpixel,
    equalize_phases,
    inspect_weights,
    load_checkpoint,
    phase_gains,
    subpixel_as_transposed,
)

RNG = np.random.default_rng(0)


def write_safetensors(
    path: Path, tensors: dict[str, np.ndarray], header: dict | None = None
) -> None:
    """An independent writer: JSON header + little-endian buffer, as the format documents."""
    codes = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<f2"): "F16"}
    meta: dict = {}
    buf = b""
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        meta[name] = {
            "dtype": codes[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [len(buf), len(buf) + len(data)],
        }
        buf += data
    if header is not None:
        meta = header
    raw = json.dumps(meta).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + buf)


# ---------------------------------------------------------------------------------------------
# the analysis against independent computations
# ---------------------------------------------------------------------------------------------


def interior_phase_means(y: np.ndarray, s: int, margin: int) -> np.ndarray:
    """(C, s, s) means of an (H, W, C) output's interior by full-output phase."""
    inner = y[margin:-margin, margin:-margin]
    return np.array(
        [
            [
                inner[(ry - margin) % s :: s, (rx - margin) % s :: s].mean(axis=(0, 1))
                for rx in range(s)
            ]
            for ry in range(s)
        ]
    ).transpose(2, 0, 1)


@pytest.mark.parametrize(("k", "s"), [(3, 2), (4, 2), (5, 3), (2, 2)])
def test_phase_gains_are_the_constant_input_response(torch: ModuleType, k: int, s: int) -> None:
    w = RNG.standard_normal((3, 4, k, k))
    b = RNG.standard_normal(4)
    y = (
        torch.nn.functional.conv_transpose2d(
            torch.ones(1, 3, 12, 12), torch.from_numpy(w), torch.from_numpy(b), stride=s
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    np.testing.assert_allclose(
        phase_gains(w, (s, s), b), interior_phase_means(y, s, 2 * k), atol=1e-9
    )


def test_phase_gains_of_ones_is_the_overlap_count() -> None:
    r = phase_gains(np.ones((1, 1, 3, 3)), (2, 2))[0]
    m = overlap_map([deconv(3, 2)], 6)
    assert sorted(r.ravel()) == sorted(np.outer(m.y.pattern, m.x.pattern).ravel())


def test_random_init_imbalance_is_s_squared_minus_one() -> None:
    """iid zero-mean taps: checkerboard / mean energy = S - 1 (S = s*s phases), s - 1 per axis."""
    for s, k in ((2, 4), (2, 3), (3, 6)):
        w = np.random.default_rng(s * 10 + k).standard_normal((64, 1024, k, k))
        rep = analyse_layer("w", w, (s, s))
        assert rep.imbalance == pytest.approx(s * s - 1, rel=0.15), (s, k)
        assert rep.imbalance_y == pytest.approx(s - 1, rel=0.15)
        assert rep.imbalance_x == pytest.approx(s - 1, rel=0.15)
        assert rep.verdict == "imbalanced"


def test_even_count_uneven_weights_dcgan() -> None:
    """k4 s2 is even in count (overlap flat) yet its random weights are imbalanced."""
    assert overlap_map([deconv(4, 2, padding=1)]).even
    ws = {
        f"main.{i}.ConvTranspose2d.weight": nn.dcgan_init(RNG, (64, 32, 4, 4))[0] for i in range(3)
    }
    res = inspect_weights(ws)
    assert all(r.verdict == "imbalanced" and r.imbalance > 1 for r in res.layers)
    assert all(r.stride_assumed for r in res.layers)


def test_icnr_reads_as_balanced_bias_included() -> None:
    w, b = nn.torch_default_init(RNG, (3 * 4, 8, 3, 3), bias_size=12)
    wi, bi = nn.icnr(w, 2, b)
    assert analyse_subpixel("up", wi, 2, bias=bi).verdict == "balanced"
    assert analyse_subpixel("up", wi, 2).verdict == "balanced"
    # ICNR weights with PyTorch's default per-phase bias: the bias alone paints a checkerboard
    biased = analyse_subpixel("up", wi, 2, bias=b)
    assert biased.verdict != "balanced" and biased.imbalance > 1e-6
    assert analyse_subpixel("up", w, 2).verdict == "imbalanced"


def test_subpixel_equals_its_transposed_equivalent(torch: ModuleType) -> None:
    w = RNG.standard_normal((2 * 9, 3, 3, 3))
    x = torch.from_numpy(RNG.standard_normal((1, 3, 8, 8)))
    sub = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(x, torch.from_numpy(w)), 3)
    tw = torch.from_numpy(subpixel_as_transposed(w, 3))
    full = torch.nn.functional.conv_transpose2d(x, tw, stride=3)
    # the sub-pixel output is the full transposed output cropped by r*(k-1) on each side
    c = 3 * 2
    np.testing.assert_allclose(sub.numpy(), full[:, :, c:-c, c:-c].numpy(), atol=1e-9)
    np.testing.assert_allclose(
        phase_gains(subpixel_as_transposed(w, 3), (3, 3)), analyse_subpixel("s", w, 3).response
    )


def test_equalize_phases_removes_the_pattern_keeps_the_mean() -> None:
    w = RNG.standard_normal((8, 6, 3, 3))
    eq = equalize_phases(w, 2)
    before, after = phase_gains(w, (2, 2)), phase_gains(eq, (2, 2))
    assert analyse_layer("e", eq, (2, 2)).verdict == "balanced"
    np.testing.assert_allclose(after.mean(axis=(1, 2)), before.mean(axis=(1, 2)), atol=1e-12)
    with pytest.raises(CheckpointError):
        equalize_phases(np.ones((1, 1, 1, 1)), 2)


def test_chain_period_and_linear_composition() -> None:
    w1, w2 = RNG.standard_normal((2, 3, 3, 3)), RNG.standard_normal((3, 2, 4, 4))
    res = inspect_weights({"a.deconv.weight": w1, "b.deconv.weight": w2})
    assert res.chain is not None and res.chain["period"] == [4, 4]
    # ones kernels: the chain's pattern is the stack's overlap map (k3s2 then k4s2 is flat)
    ones = inspect_weights(
        {"a.deconv.weight": np.ones((1, 1, 3, 3)), "b.deconv.weight": np.ones((1, 1, 4, 4))}
    )
    assert ones.chain is not None and ones.chain["imbalance"] == 0
    two = inspect_weights(
        {"a.deconv.weight": np.ones((1, 1, 3, 3)), "b.deconv.weight": np.ones((1, 1, 3, 3))}
    )
    # 2x k3s2: per-axis [3,2,3,1] -> 2-D outer product, checkerboard/mean energy from it
    p = np.array([3, 2, 3, 1.0])
    m = np.outer(p, p)
    assert two.chain is not None
    assert two.chain["imbalance"] == pytest.approx(
        ((m - m.mean()) ** 2).sum() / (16 * m.mean() ** 2), rel=1e-6
    )


def test_generator_shows_the_predicted_per_phase_means(tmp_path: Path) -> None:
    """Inspect the first deconv of an untrained generator from its checkpoint; its output on
    the generator's constant feature map has exactly the predicted per-phase means."""
    cfg = GeneratorConfig(size=64, width=8, source="constant", base=16, kernel=4)
    gen = Generator.build(cfg, seed=5)
    conv = gen.stages[0][1]
    np.savez(
        tmp_path / "g.npz",
        **{"stage0.convtranspose.weight": conv.weight, "stage0.convtranspose.bias": conv.bias},
    )
    x = gen.inputs(1)
    levels = x[0, 0, 0].astype(np.float64)  # one constant level per input channel
    res = inspect_weights(tmp_path / "g.npz")
    (rep,) = res.layers
    assert rep.bias
    predicted = phase_gains(
        conv.weight.astype(np.float64) * levels[:, None, None, None], (2, 2), conv.bias
    )
    y = conv(x)[0]
    # conv uses padding 1: output o has full index o + 1
    measured = interior_phase_means(np.pad(y, ((1, 0), (1, 0), (0, 0))), 2, 6)
    np.testing.assert_allclose(measured, predicted, rtol=1e-4, atol=1e-4)
    # and the all-ones prediction is what inspect reports
    np.testing.assert_allclose(rep.response, phase_gains(conv.weight, (2, 2), conv.bias))


# ---------------------------------------------------------------------------------------------
# formats and layouts
# ---------------------------------------------------------------------------------------------


def test_every_format_and_layout_gives_the_same_gains(tmp_path: Path, torch: ModuleType) -> None:
    w = RNG.standard_normal((5, 7, 3, 3)).astype(np.float32)  # (C_in, C_out, kH, kW)
    b = RNG.standard_normal(7).astype(np.float32)
    want = phase_gains(w, (2, 2), b)
    np.savez(tmp_path / "t.npz", **{"up.deconv.weight": w, "up.deconv.bias": b})
    write_safetensors(tmp_path / "t.safetensors", {"up.deconv.weight": w, "up.deconv.bias": b})
    np.save(tmp_path / "single.npy", w)
    keras = w.transpose(2, 3, 1, 0)  # (kH, kW, C_out, C_in)
    flax = w.transpose(2, 3, 0, 1)  # (kH, kW, C_in, C_out)
    np.savez(
        tmp_path / "k.npz",
        **{"model/conv2d_transpose/kernel:0": keras, "model/conv2d_transpose/bias:0": b},
    )
    np.savez(
        tmp_path / "f.npz",
        **{"params.ConvTranspose_0.kernel": flax, "params.ConvTranspose_0.bias": b},
    )
    torch.save(
        {"up.deconv.weight": torch.from_numpy(w), "up.deconv.bias": torch.from_numpy(b)},
        tmp_path / "t.pt",
    )
    cases = [
        ("t.npz", {}),
        ("t.safetensors", {}),
        ("k.npz", {}),
        ("f.npz", {}),
        ("t.pt", {"allow_pickle": True}),
    ]
    for name, kw in cases:
        (rep,) = inspect_weights(tmp_path / name, stride=2, **kw).layers
        np.testing.assert_allclose(rep.response, want, rtol=1e-5, err_msg=name)
        assert rep.bias, name
    (rep,) = inspect_weights(tmp_path / "single.npy", stride=2).layers
    np.testing.assert_allclose(rep.response, phase_gains(w, (2, 2)), rtol=1e-5)
    (rep,) = inspect_weights(tmp_path / "k.npz", stride=2, layout="keras").layers
    assert rep.layout == "keras"
    assert inspect_weights(tmp_path / "k.npz").layers[0].layout == "keras"
    assert inspect_weights(tmp_path / "f.npz").layers[0].layout == "flax"


def test_pickle_needs_the_opt_in(tmp_path: Path, torch: ModuleType) -> None:
    torch.save({"w": torch.zeros(2, 2, 3, 3)}, tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match="--allow-pickle"):
        load_checkpoint(tmp_path / "m.pth")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="pickled"):
        load_checkpoint(tmp_path / "obj.npy")


def _raw_safetensors(
    path: Path, header: bytes, buf: bytes = b"", length: int | None = None
) -> None:
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + buf)


@pytest.mark.parametrize(
    ("header", "buf", "length", "fragment"),
    [
        (b"{}", b"", 10**12, "does not fit"),
        (b"not json", b"", None, "not valid JSON"),
        (b"[1, 2]", b"", None, "not a JSON object"),
        (
            json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}).encode(),
            b"\0" * 8,
            None,
            "outside",
        ),
        (
            json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode(),
            b"\0" * 8,
            None,
            "outside",
        ),
        (
            json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode(),
            b"\0" * 8,
            None,
            "needs 12",
        ),
        (
            json.dumps(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                }
            ).encode(),
            b"\0" * 12,
            None,
            "overlap",
        ),
        (
            json.dumps({"w": {"dtype": "EVIL", "shape": [1], "data_offsets": [0, 4]}}).encode(),
            b"\0" * 4,
            None,
            "unsupported dtype",
        ),
        (
            json.dumps({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}).encode(),
            b"\0" * 4,
            None,
            "invalid shape",
        ),
        (
            json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}).encode(),
            b"\0" * 4,
            None,
            "invalid data_offsets",
        ),
        (
            json.dumps(
                {"w": {"dtype": "F32", "shape": [10**12, 10**12], "data_offsets": [0, 4]}}
            ).encode(),
            b"\0" * 4,
            None,
            "needs",
        ),
    ],
)
def test_malicious_safetensors(
    tmp_path: Path, header: bytes, buf: bytes, length: int | None, fragment: str
) -> None:
    path = tmp_path / "x.safetensors"
    _raw_safetensors(path, header, buf, length)
    with pytest.raises(CheckpointError, match=fragment) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_truncated_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "t.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "t.safetensors")
    (tmp_path / "x.h5").write_bytes(b"whatever")
    with pytest.raises(CheckpointError, match="unknown checkpoint type"):
        load_checkpoint(tmp_path / "x.h5")
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.npz")


def test_no_upsampler_and_unknown_layout(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "c.npz",
        **{"encoder.conv.weight": np.ones((2, 2, 3, 3)), "fc.weight": np.ones((3, 4))},
    )
    with pytest.raises(CheckpointError, match="no upsampling kernel"):
        inspect_weights(tmp_path / "c.npz")
    (rep,) = inspect_weights(tmp_path / "c.npz", layer="encoder.conv").layers
    assert rep.name == "encoder.conv.weight"
    with pytest.raises(CheckpointError, match="unknown layout"):
        inspect_weights(tmp_path / "c.npz", layout="caffe")


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", "inspect", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_json_check_png(tmp_path: Path) -> None:
    w, b = nn.torch_default_init(RNG, (16, 8, 4, 4), bias_size=8)
    wi, _ = nn.icnr(nn.torch_default_init(RNG, (12, 8, 3, 3))[0], 2)
    np.savez(
        tmp_path / "m.npz",
        **{"up.0.deconv.weight": w, "up.0.deconv.bias": b, "head.pixelshuffle.weight": wi},
    )
    p = cli(str(tmp_path / "m.npz"), "--format", "json", "--stride", "2")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["command"] == "inspect"
    by = {layer["name"]: layer for layer in d["layers"]}
    assert by["up.0.deconv.weight"]["verdict"] == "imbalanced"
    assert by["head.pixelshuffle.weight"]["verdict"] == "balanced"
    assert by["head.pixelshuffle.weight"]["layout"] == "subpixel"
    assert len(by["up.0.deconv.weight"]["phase_gains"]) == 8
    assert cli(str(tmp_path / "m.npz"), "--check").returncode == 1
    assert cli(str(tmp_path / "m.npz"), "--check", "--layer", "pixelshuffle").returncode == 0
    assert cli(str(tmp_path / "m.npz"), "--check", "--max-imbalance", "1e9").returncode == 0
    out = tmp_path / "w.png"
    p = cli(str(tmp_path / "m.npz"), "--png", str(out))
    assert p.returncode == 0 and out.exists() and "imbalanced" in p.stdout
    p = cli(str(tmp_path / "m.npz"), "--png", str(out))
    assert p.returncode == 2 and "exists" in p.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["missing.npz"], "no such file"),
        (["m.pth"], "--allow-pickle"),
        (["m.npz", "--layout", "caffe"], "unknown layout"),
        (["m.npz", "--stride", "0"], "stride must be >= 1"),
        (["m.npz", "--top", "0"], "--top must be from 1 to 1000"),
    ],
)
def test_cli_bad_input(tmp_path: Path, args: list[str], fragment: str) -> None:
    np.savez(tmp_path / "m.npz", **{"up.deconv.weight": np.ones((2, 2, 3, 3))})
    (tmp_path / "m.pth").write_bytes(b"PK\x03\x04 not really a torch zip")
    args = [str(tmp_path / args[0]), *args[1:]]
    p = cli(*args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_flax_paths_with_slashes_and_odd_arrays(tmp_path: Path) -> None:
    w = RNG.standard_normal((5, 7, 3, 3))
    b = RNG.standard_normal(7)
    flat = {
        "params/ConvTranspose_0/kernel": w.transpose(2, 3, 0, 1),
        "params/ConvTranspose_0/bias": b,
        "params/deconv_empty/kernel": np.zeros((3, 3, 0, 4)),
        "text.deconv.weight": np.array([["a"]] * 4).reshape(1, 1, 2, 2),
    }
    res = inspect_weights(flat, stride=2)
    (rep,) = res.layers
    assert rep.layout == "flax" and rep.bias
    np.testing.assert_allclose(rep.response, phase_gains(w, (2, 2), b))
    assert set(res.skipped) >= {"params/deconv_empty/kernel", "text.deconv.weight"}
    with pytest.raises(CheckpointError, match="absurdly large"):
        inspect_weights(flat, stride=1000)


def test_duplicate_and_deeply_nested_headers(tmp_path: Path) -> None:
    entry = b'{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}'
    dup = b'{"w": ' + entry + b', "w": ' + entry + b"}"
    _raw_safetensors(tmp_path / "d.safetensors", dup, b"\0" * 4)
    with pytest.raises(CheckpointError, match="twice"):
        load_checkpoint(tmp_path / "d.safetensors")
    deep = b"[" * 100000 + b"]" * 100000
    _raw_safetensors(tmp_path / "n.safetensors", deep)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "n.safetensors")


def test_quantized_and_sparse_tensors_of_a_pickle_are_read_as_torch_sees_them(
    tmp_path: Path, torch: Any
) -> None:
    """A quantized kernel is dequantized and a sparse one made dense, both equal to what torch
    itself gives; a nested object is flattened to dotted names."""
    import warnings

    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated in torch
        q = torch.quantize_per_tensor(w, scale=0.05, zero_point=0, dtype=torch.qint8)
    nested: dict[str, Any] = {"leaf": w}
    for _ in range(100):
        nested = {"n": nested}
    obj = {"up": {"weight": q}, "sparse": {"weight": w.to_sparse()}, "deep": nested}
    path = tmp_path / "m.pt"
    torch.save(obj, path)
    arrays = load_checkpoint(path, allow_pickle=True)
    np.testing.assert_array_equal(arrays["up.weight"], q.dequantize().numpy())
    np.testing.assert_array_equal(arrays["sparse.weight"], w.numpy())
    deep = [k for k in arrays if k.startswith("deep.")]
    assert len(deep) == 1 and deep[0].count(".") == 101


def test_layer_filter_is_repeatable() -> None:
    """``--layer`` given twice keeps both names (it used to keep the last one silently)."""
    ckpt = Path(__file__).resolve().parent.parent / "samples" / "weights_decoder_torch.safetensors"
    one = inspect_weights(ckpt, layer="ups.0")
    assert [r.name for r in one.layers] == ["ups.0.deconv.weight"]
    both = inspect_weights(ckpt, layer=["ups.0", "ups.1"])
    assert [r.name for r in both.layers] == ["ups.0.deconv.weight", "ups.1.deconv.weight"]
    args = ["inspect", str(ckpt), "--layer", "ups.0", "--layer", "ups.1", "--format", "json"]
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert [r["name"] for r in json.loads(p.stdout)["layers"]] == [
        "ups.0.deconv.weight",
        "ups.1.deconv.weight",
    ]
