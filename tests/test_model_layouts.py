"""Model layouts that the two static routes (``inspect --source`` and ``inspect model.onnx``)
must get right or refuse: dilation, groups, layers only ``forward`` shows, layers the source does
not fix, resize-convolution, GroupNorm, a sub-pixel x3 head for ``probe``. References: torch on
a constant input (one period of the interior), never cbdiag."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.cli import cbdiag
from tests.oracle import imbalance as _imbalance
from tests.oracle import interior_period


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cbdiag(*args, cwd=cwd)


def _both(
    torch: ModuleType, src: str, cls: str, shape: tuple[int, ...], tmp: Path
) -> tuple[Any, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The module built by torch, inspect --source of its state dict, inspect of its export."""
    (tmp / "models.py").write_text(src)
    ns: dict[str, Any] = {}
    exec(compile(src, "models.py", "exec"), ns)
    torch.manual_seed(0)
    model = ns[cls]().eval()
    torch.save(model.state_dict(), tmp / "m.pth")
    torch.set_default_dtype(torch.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.float(), torch.ones(*shape), str(tmp / "m.onnx"), dynamo=False)
    finally:
        torch.set_default_dtype(torch.float64)
    model.double()
    a = _cli("inspect", "m.pth", "--allow-pickle", "--source", "models.py", "-f", "json", cwd=tmp)
    b = _cli("inspect", "m.onnx", "-f", "json", cwd=tmp)
    return model, a, b


HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"


def test_a_dilated_transposed_convolution_puts_its_taps_where_torch_does(
    torch: ModuleType, tmp_path: Path
) -> None:
    src = HEAD + (
        "class G(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.deconv = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=2, dilation=2,\n"
        "                                         output_padding=1)\n"
        "    def forward(self, x):\n"
        "        return self.deconv(x)\n"
    )
    model, a, b = _both(torch, src, "G", (1, 4, 8, 8), tmp_path)
    with torch.no_grad():
        ref = _imbalance(interior_period(model(torch.ones(1, 4, 16, 16))[0].numpy(), 2, 2))
    for p in (a, b):
        assert p.returncode == 0, p.stderr
        d = json.loads(p.stdout)
        assert d["layers"][0]["imbalance"] == pytest.approx(ref, rel=1e-5)
        assert d["chain"]["imbalance"] == pytest.approx(ref, rel=1e-5)


def test_grouped_convolutions_from_the_source_as_torch_runs_them(
    torch: ModuleType, tmp_path: Path
) -> None:
    src = HEAD + (
        "class G(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.deconv = nn.ConvTranspose2d(8, 8, 4, 2, 1, groups=4)\n"
        "        self.out = nn.Conv2d(8, 3, 3, padding=1, groups=1)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.deconv(x))\n"
    )
    model, a, b = _both(torch, src, "G", (1, 8, 8, 8), tmp_path)
    with torch.no_grad():
        hidden = _imbalance(
            interior_period(model.deconv(torch.ones(1, 8, 16, 16))[0].numpy(), 2, 2)
        )
        out = _imbalance(interior_period(model(torch.ones(1, 8, 16, 16))[0].numpy(), 2, 2))
    for p in (a, b):
        assert p.returncode == 0, p.stderr
        d = json.loads(p.stdout)
        assert d["layers"][0]["imbalance"] == pytest.approx(hidden, rel=1e-5)
        assert d["chain"]["reaches_output"] and d["chain"]["imbalance"] == pytest.approx(
            out, rel=1e-5
        )
    # groups that are not a literal: not known, so not analysed
    (tmp_path / "models2.py").write_text(src.replace("groups=4", "groups=G_COUNT"))
    c = _cli("inspect", "m.pth", "--allow-pickle", "--source", "models2.py", cwd=tmp_path)
    text = " ".join(c.stdout.split())
    assert (
        c.returncode == 0
        and "skipped deconv.weight: ConvTranspose2d (deconv k4 s2 p1): its groups" in text
    )
    assert "output: not followed (stopped at deconv: its groups are not known statically)" in text


def test_a_resampling_call_in_forward_keeps_the_source_from_claiming_the_output(
    torch: ModuleType, tmp_path: Path
) -> None:
    src = HEAD + (
        "class G(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(8, 8, 3, 2, 1, 1)\n"
        "        self.conv = nn.Conv2d(8, 3, 3, padding=1)\n"
        "    def forward(self, x):\n"
        "        x = F.interpolate(self.up(x), scale_factor=2, mode='bilinear')\n"
        "        return self.conv(x)\n"
    )
    model, a, b = _both(torch, src, "G", (1, 8, 8, 8), tmp_path)
    with torch.no_grad():
        ref = _imbalance(interior_period(model(torch.ones(1, 8, 16, 16))[0].numpy(), 4, 4))
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["chain"]["reaches_output"] is False
    assert "G.forward calls interpolate (line 11)" in da["chain"]["stopped"]
    assert db["chain"]["reaches_output"] and db["chain"]["period"] == [4, 4]
    assert db["chain"]["imbalance"] == pytest.approx(ref, rel=1e-5)
    # --check then gates on every layer, not on a path the source cannot vouch for
    c = _cli("inspect", "m.pth", "--allow-pickle", "--source", "models.py", "--check", cwd=tmp_path)
    assert c.returncode == 1 and "path up to" in " ".join(c.stdout.split())


def test_a_kernel_the_source_does_not_fix_stops_the_path_by_name(
    torch: ModuleType, tmp_path: Path
) -> None:
    src = HEAD + (
        "class G(nn.Module):\n"
        "    def __init__(self, k=KERNEL):\n"
        "        super().__init__()\n"
        "        self.ups = nn.Sequential(nn.ConvTranspose2d(8, 8, k, 2, 1), nn.ReLU())\n"
        "        self.out = nn.ConvTranspose2d(8, 3, 4, 2, 1)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.ups(x))\n"
    )
    ns: dict[str, Any] = {}
    exec(compile(src.replace("KERNEL", "4"), "m", "exec"), ns)
    torch.save(ns["G"]().state_dict(), tmp_path / "m.pth")
    (tmp_path / "models.py").write_text(src)  # KERNEL: a name the source never binds
    p = _cli(
        "inspect", "m.pth", "--allow-pickle", "--source", "models.py", "-f", "json", cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["chain"]["reaches_output"] is False
    assert d["chain"]["stopped"] == "ups.0: kernel_size: `KERNEL` is not a static value"
    assert [x["name"] for x in d["layers"]] == ["out.weight"]


def test_resize_convolution_is_balanced_not_an_error(torch: ModuleType, tmp_path: Path) -> None:
    src = HEAD + (
        "class Decoder(nn.Module):\n"
        "    def __init__(self, c=8):\n"
        "        super().__init__()\n"
        "        self.blocks = nn.Sequential(\n"
        "            nn.Upsample(scale_factor=2), nn.Conv2d(c, c, 3, padding=1),\n"
        "            nn.GroupNorm(2, c), nn.SiLU(),\n"
        "            nn.Upsample(scale_factor=2), nn.Conv2d(c, 3, 3, padding=1),\n"
        "        )\n"
        "    def forward(self, x):\n"
        "        return self.blocks(x)\n"
    )
    _, a, b = _both(torch, src, "Decoder", (1, 8, 8, 8), tmp_path)
    for p in (a, b):  # GroupNorm exported as Reshape, InstanceNormalization, Reshape
        assert p.returncode == 0, p.stderr
        d = json.loads(p.stdout)
        assert d["layers"] == [] and d["chain"]["verdict"] == "balanced"
        assert d["chain"]["reaches_output"]
    t = _cli("inspect", "m.onnx", "--check", cwd=tmp_path)
    assert t.returncode == 0 and "no transposed or sub-pixel convolution" in t.stdout


def test_probe_looks_for_the_period_the_graph_paints(torch: ModuleType, tmp_path: Path) -> None:
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.Tanh(), nn.Conv2d(8, 9, 3, padding=1), nn.PixelShuffle(3)
    ).eval()
    torch.set_default_dtype(torch.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.float(), torch.ones(1, 1, 16, 16), str(tmp_path / "e.onnx"),
                              dynamo=False)  # fmt: skip
    finally:
        torch.set_default_dtype(torch.float64)
    d = json.loads(_cli("probe", "e.onnx", "-f", "json", cwd=tmp_path).stdout)
    assert all(x["period"] == 3 and x["flagged"] for x in d["probes"]), d["probes"]


def test_source_messages_say_where_and_what(torch: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("class G:\n    def __init__(self)\n        pass\n")
    (tmp_path / "other.py").write_text(
        HEAD + "class Block(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.c = nn.Conv2d(3, 3, 3)\n"
    )
    torch.save({"main.0.weight": torch.ones(4, 4, 4, 4)}, tmp_path / "m.pth")
    p = _cli("inspect", "m.pth", "--allow-pickle", "--source", "bad.py", cwd=tmp_path)
    assert p.returncode == 2 and "bad.py:2:" in p.stderr and "does not parse" in p.stderr
    p = _cli("inspect", "m.pth", "--allow-pickle", "--source", "other.py", cwd=tmp_path)
    assert p.returncode == 2
    assert "no class of the source has a layer for any of the checkpoint's keys" in p.stderr
    p = _cli("inspect", "m.pth", "--allow-pickle", "--source", "other.py:", cwd=tmp_path)
    assert "other.py:: " not in p.stderr and "no class of the source" in p.stderr


def test_a_forward_that_runs_submodules_in_another_order_is_not_read_as_the_path(
    torch: ModuleType, tmp_path: Path
) -> None:
    src = HEAD + (
        "class G(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.out = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.up = nn.ConvTranspose2d(8, 8, 3, 2, 1, 1)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.up(x))\n"
    )
    _, a, b = _both(torch, src, "G", (1, 8, 8, 8), tmp_path)
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["chain"]["reaches_output"] is False
    assert da["chain"]["stopped"].startswith("G.forward runs self.out (line 11) after")
    assert db["chain"]["reaches_output"]  # the graph knows the order
    # the same order in both: nested calls run their arguments first
    a1 = "        self.out = nn.Conv2d(8, 8, 3, padding=1)\n"
    a2 = "        self.up = nn.ConvTranspose2d(8, 8, 3, 2, 1, 1)\n"
    (tmp_path / "ok.py").write_text(src.replace(a1 + a2, a2 + a1))
    c = _cli("inspect", "m.pth", "--allow-pickle", "--source", "ok.py", "-f", "json", cwd=tmp_path)
    assert json.loads(c.stdout)["chain"]["reaches_output"] is True
