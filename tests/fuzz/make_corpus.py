"""Write the seed corpora of the fuzz targets: ``tests/fuzz/corpus/<target>/``.

``python tests/fuzz/make_corpus.py [--out DIR]`` (needs Pillow, numpy and onnx; run it from
anywhere). The seeds are small real files: tiny images made with Pillow, ConvTranspose weights
as ``.npy`` / ``.npz`` / ``.safetensors`` (zip members and headers written here, byte for byte
reproducible), tiny ONNX models made with ``onnx.helper``, layer strings, model sources from
``tests/lint/fixtures`` and ``samples/models``, and ``pyproject.toml`` snippets. Only the seeds
named here are written; inputs a campaign added (``python -m tests.fuzz --grow-corpus``, named
by their SHA-1) are left alone.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"

#: A fixed zip timestamp (the earliest zip can store), so that .npz seeds are reproducible.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _weight(shape: tuple[int, ...], dtype: str = "<f4") -> np.ndarray:
    """Deterministic small weights: ``0.1 * (i % 7) - 0.3``."""
    n = int(np.prod(shape))
    return (0.1 * (np.arange(n) % 7) - 0.3).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------


def _images() -> dict[str, bytes]:
    from PIL import Image

    y, x = np.mgrid[0:8, 0:8]
    rgb = np.stack([x * 32, y * 32, (x + y) % 2 * 255], axis=-1).astype(np.uint8)
    grey16 = ((x * 8 + y) * 1000).astype(np.uint16)
    checker = ((x + y) % 2 * 255).astype(np.uint8)

    def save(img: Any, fmt: str, **kw: Any) -> bytes:
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        return buf.getvalue()

    pal = Image.fromarray(rgb).quantize(4)
    pal.info["transparency"] = 0
    return {
        "rgb.png": save(Image.fromarray(rgb), "PNG"),
        "grey16.png": save(Image.fromarray(grey16), "PNG"),
        "palette_trns.png": save(pal, "PNG", transparency=0),
        "rgb_q75.jpg": save(Image.fromarray(rgb), "JPEG", quality=75),
        "grey_progressive.jpg": save(
            Image.fromarray(checker), "JPEG", quality=90, progressive=True
        ),
        "checker.gif": save(Image.fromarray(checker), "GIF"),
        "rgb.bmp": save(Image.fromarray(rgb[:4, :4]), "BMP"),
        "float.tif": save(Image.fromarray(checker.astype(np.float32) / 255), "TIFF"),
        "rgba.webp": save(Image.fromarray(rgb).convert("RGBA"), "WEBP", lossless=True),
    }


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------


def _npy(arr: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray], *, compressed: bool) -> bytes:
    """``np.savez`` / ``np.savez_compressed`` with fixed member timestamps."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = method
            zf.writestr(info, _npy(arr))
    return buf.getvalue()


def _checkpoints() -> dict[str, dict[str, bytes]]:
    w = _weight((2, 1, 3, 3))  # ConvTranspose2d(2, 1, 3, 2): (in, out, kH, kW)
    b = np.array([0.05], dtype="<f4")
    state = {"decoder.0.convtranspose.weight": w, "decoder.0.convtranspose.bias": b}
    return {
        "npz": {
            "convtranspose.npz": _npz(state, compressed=False),
            "convtranspose_compressed.npz": _npz(state, compressed=True),
            "keras_kernel.npz": _npz({"up/kernel": _weight((4, 4, 1, 2))}, compressed=False),
        },
        "npy": {
            "convtranspose_f4.npy": _npy(w),
            "convtranspose_f8_fortran.npy": _npy(np.asfortranarray(w.astype("<f8"))),
            "convtranspose_f2_v2.npy": _npy(w.astype(">f2"), version=(2, 0)),
        },
        "safetensors": {
            "convtranspose.safetensors": _safetensors(
                {
                    "decoder.0.convtranspose.weight": ("F32", w),
                    "decoder.0.convtranspose.bias": ("F32", b),
                },
                metadata={"format": "pt"},
            ),
            "mixed_dtypes.safetensors": _safetensors(
                {
                    "up.weight": ("F16", _weight((1, 1, 4, 4), "<f2")),
                    "up.bias": ("BF16", np.array([0x3F80], dtype="<u2")),  # 1.0
                    "steps": ("I64", np.array([3], dtype="<i8")),
                }
            ),
        },
    }


def _safetensors(
    tensors: dict[str, tuple[str, np.ndarray]], metadata: dict[str, str] | None = None
) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {
            "dtype": dtype,
            "shape": list(arr.shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the reference writer pads the header to 8 bytes
    return struct.pack("<Q", len(head)) + head + data


# ---------------------------------------------------------------------------------------------
# ONNX models
# ---------------------------------------------------------------------------------------------


def _onnx_models() -> dict[str, bytes]:
    from onnx import TensorProto, helper, numpy_helper

    def model(nodes: list[Any], inits: dict[str, np.ndarray], size: int = 4, ch: int = 1) -> bytes:
        g = helper.make_graph(
            nodes,
            "seed",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ch, size, size])],
            [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
            [numpy_helper.from_array(v, k) for k, v in inits.items()],
        )
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8  # fixed, so the bytes do not depend on the onnx version
        m.producer_name = "cbdiag-fuzz-seed"
        return m.SerializeToString(deterministic=True)

    node = helper.make_node
    w = _weight((1, 1, 3, 3))
    return {
        "convtranspose_k3s2.onnx": model(
            [
                node(
                    "ConvTranspose",
                    ["x", "w", "b"],
                    ["t"],
                    strides=[2, 2],
                    pads=[1, 1, 1, 1],
                    output_padding=[1, 1],
                    name="up",
                ),
                node("Relu", ["t"], ["y"]),
            ],
            {"w": w, "b": np.array([0.1], np.float32)},
        ),
        "subpixel.onnx": model(
            [
                node("Conv", ["x", "w4"], ["c"], pads=[1, 1, 1, 1], name="head"),
                node("DepthToSpace", ["c"], ["y"], blocksize=2, mode="DCR"),
            ],
            {"w4": _weight((4, 1, 3, 3))},
        ),
        "resize_pad_conv.onnx": model(
            [
                node("Resize", ["x", "", "s"], ["r"], mode="nearest", name="up"),
                node("Pad", ["r", "p"], ["q"], mode="reflect"),
                node("Conv", ["q", "w"], ["y"]),
            ],
            {
                "s": np.array([1, 1, 2, 2], np.float32),
                "p": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
                "w": w,
            },
        ),
        "merge_add.onnx": model(
            [
                node("ConvTranspose", ["x", "w"], ["a"], strides=[2, 2], name="up_a"),
                node("ConvTranspose", ["x", "w"], ["b"], strides=[2, 2], name="up_b"),
                node("Add", ["a", "b"], ["y"]),
            ],
            {"w": w},
        ),
    }


# ---------------------------------------------------------------------------------------------
# text seeds
# ---------------------------------------------------------------------------------------------

LAYER_STRINGS = {
    "single": "deconv k3 s2",
    "cyclegan": "2x deconv k3 s2 p1 op1, conv k7 p3 reflect",
    "mixed": "convT k3x4 s2x1 p1 op1 d1; nearest x2; conv k3 p1 replicate; shuffle x2; blur 4",
    "tf": "deconv k5 s2 same, conv k3 valid, box 3 circular, bilinear 2",
    "preset": "pix2pixhd, stylegan2, 3*deconv k4 s2 p1",
    "pair": "3x4",
}

CONFIGS = {
    "select": '[tool.cbdiag]\nselect = ["CBD1"]\nignore = ["CBD103"]\n',
    "lint_table": (
        "[project]\nname = 'x'\n\n[tool.cbdiag]\nexclude = ['build', 'gen/*.py']\n\n"
        "[tool.cbdiag.lint]\nextend-select = ['CBD2']\noutput-format = 'sarif'\n"
        'extend-exclude = ["**/legacy/*", "[a-z]?.py"]\n'
    ),
    "all": "[tool.cbdiag]\nselect = ['ALL']\n[tool.cbdiag.score]\nthreshold = 2.5\n",
    "no_table": "[tool.ruff]\nline-length = 100\n",
}

#: Model sources to lint: (seed name, file in the repository).
LINT_SOURCES = {
    "fixture_CBD101": "tests/lint/fixtures/CBD101.py",
    "fixture_CBD104": "tests/lint/fixtures/CBD104.py",
    "fixture_CBD106": "tests/lint/fixtures/CBD106.py",
    "sample_cyclegan_torch": "samples/models/cyclegan_torch.py",
    "sample_dcgan_keras": "samples/models/dcgan_keras.py",
}

#: Text that could mislead the skeleton's reading of indentation (strings at column 0, a
#: continued line, a template holding a def, decorators, async, nested functions).
SKELETON_TEXT = (
    "import functools\n"
    'T = """\ndef fake():\n    return 1\n"""\n'
    "class A:\n"
    "    @functools.cache\n"
    "    def f(self, x) -> int:\n"
    '        s = """\nnot code\n"""\n'
    "        return max(1,\n2)\n"
    "    async def g(self):\n"
    "        def h():\n"
    "            return 2\n"
    "        return h\n"
    "def k():\n"
    '    return "a\\\nb"\n'
)

#: Bodies with layer lines among lines a skeleton may leave out in part (calls, attributes
#: set, strings with brackets) and lines that keep a body whole (a local, a bracket closed at
#: the body's indent, a semicolon).
SKELETON_PARTIAL = (
    "import torch.nn as nn\n"
    "class Up(nn.Module):\n"
    "    def __init__(self, c=8):\n"
    "        super().__init__()\n"
    "        self.norm = nn.BatchNorm2d(c)  # a comment\n"
    "        self.up = nn.ConvTranspose2d(c, c, 3, 2)\n"
    "        self.name = 'a(b]'\n"
    "        self.post = nn.ConvTranspose2d(\n"
    "            c, c, 4, 2\n"
    "        )\n"
    "        k = 3; self.k = k\n"
    "    def other(self):\n"
    "        self.a = f(\n"
    "        1)\n"
    "        self.up = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    "        nn.init.zeros_(self.up.weight)\n"
)

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# a generator"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": [
                "import torch.nn as nn\n",
                "up = nn.Sequential(nn.ConvTranspose2d(8, 4, 3, 2), nn.PixelShuffle(2))  # noqa\n",
            ],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _texts() -> dict[str, dict[str, bytes]]:
    lint = {name: (REPO / src).read_bytes() for name, src in LINT_SOURCES.items()}
    lint["notebook"] = json.dumps(NOTEBOOK, indent=1).encode() + b"\n"
    bodies = {name: data for name, data in lint.items() if name != "notebook"}
    bodies["misleading"] = SKELETON_TEXT.encode()
    bodies["partial"] = SKELETON_PARTIAL.encode()
    return {
        "layers": {k: v.encode() for k, v in LAYER_STRINGS.items()},
        "lint": lint,
        "skeleton": bodies,
        "config": {f"{k}.toml": v.encode() for k, v in CONFIGS.items()},
    }


def _wavs() -> dict[str, bytes]:
    """WAV files of the formats cbdiag reads: 16-bit mono, 8-bit, 24-bit-in-32 stereo, float."""
    import io

    from scipy.io import wavfile

    t = np.arange(4096)
    tone = 0.25 * np.cos(2 * np.pi * t / 4) + 0.1 * np.sin(2 * np.pi * 7 * t / 64)
    out = {}
    for name, rate, data in (
        ("pcm16_mono.wav", 16000, np.round(tone * 32767).astype("<i2")),
        ("pcm8_mono.wav", 8000, np.round(tone * 127 + 128).astype("u1")),
        (
            "pcm32_stereo.wav",
            22050,
            np.round(np.stack([tone, -tone], 1) * 2**31 * 0.9).astype("<i4"),
        ),
        ("float32_mono.wav", 48000, tone.astype("<f4")),
    ):
        buf = io.BytesIO()
        wavfile.write(buf, rate, data)
        out[name] = buf.getvalue()
    return out


def seeds() -> dict[str, dict[str, bytes]]:
    """``{target: {file name: bytes}}`` of every seed."""
    out: dict[str, dict[str, bytes]] = {
        "image": _images(),
        "onnx": _onnx_models(),
        "wav": _wavs(),
    }
    out.update(_checkpoints())
    out.update(_texts())
    return out


def write(out: Path, make: Callable[[], dict[str, dict[str, bytes]]] = seeds) -> list[Path]:
    """Write the seeds under ``out/<target>/``; returns the files written."""
    written = []
    for target, files in make().items():
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
            written.append(d / name)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CORPUS, help="corpus root (default: %(default)s)")
    args = ap.parse_args(argv)
    files = write(args.out)
    total = sum(f.stat().st_size for f in files)
    print(f"wrote {len(files)} seeds ({total} bytes) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
