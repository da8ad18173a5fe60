"""The constant-input response through a model's whole upsampling path (cbdiag.response), and
``inspect --source``'s output verdict, against the same layers run by torch on a constant image.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from cbdiag.response import Step, follow
from tests.cli import cbdiag
from tests.oracle import imbalance as _imbalance
from tests.oracle import interior_period as _interior_period


def _same_up_to_shift(a: np.ndarray, b: np.ndarray) -> bool:
    assert a.shape == b.shape, (a.shape, b.shape)
    for dy in range(a.shape[1]):
        for dx in range(a.shape[2]):
            if np.allclose(np.roll(a, (dy, dx), axis=(1, 2)), b, rtol=1e-9, atol=1e-9):
                return True
    return False


def _torch_path(torch: ModuleType, seed: int) -> tuple[Any, list[Step]]:
    """A linear path of every kind followed, with random weights, and the same as Steps."""
    nn = torch.nn
    torch.manual_seed(seed)
    layers = [
        nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1),
        nn.Conv2d(5, 4, 3, padding=2, dilation=2),
        nn.Conv2d(4, 8, 3, padding=1, bias=False),
        nn.PixelShuffle(2),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(2, 2, 1),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(2, 3, (3, 1), padding=(1, 0)),
    ]
    model = nn.Sequential(*layers).eval()
    a = [m for m in layers]
    np_ = lambda t: None if t is None else t.detach().numpy().astype(np.float64)  # noqa: E731
    steps = [
        Step("d", "deconv", np_(a[0].weight), np_(a[0].bias), stride=(2, 2), padding=(1, 1)),
        Step("c1", "conv", np_(a[1].weight), np_(a[1].bias), padding=(2, 2), dilation=(2, 2)),
        Step("c2", "conv", np_(a[2].weight), None, padding=(1, 1)),
        Step("ps", "shuffle", factor=(2, 2)),
        Step("up", "resize", factor=(2, 2), mode="nearest"),
        Step("c3", "conv", np_(a[5].weight), np_(a[5].bias)),
        Step("bl", "resize", factor=(2, 2), mode="bilinear"),
        Step("c4", "conv", np_(a[7].weight), np_(a[7].bias), padding=(1, 0)),
    ]
    return model, steps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_path_response_is_one_period_of_what_torch_paints(torch: ModuleType, seed: int) -> None:
    model, steps = _torch_path(torch, seed)
    r = follow(steps)
    assert r.stopped is None and r.names == [s.name for s in steps]
    assert r.period == (16, 16)  # 2 (deconv) x 2 (shuffle) x 2 (nearest) x 2 (bilinear)
    with torch.no_grad():
        out = model(torch.ones(1, 3, 12, 12))[0].numpy()
    ref = _interior_period(out, 16, 16)
    assert _same_up_to_shift(r.pattern, ref)
    assert r.imbalance == pytest.approx(_imbalance(ref), rel=1e-9)


def test_each_prefix_of_the_path_matches_torch(torch: ModuleType) -> None:
    model, steps = _torch_path(torch, 3)
    period = 1
    for n in range(1, len(steps) + 1):
        if steps[n - 1].kind in ("deconv", "shuffle", "resize"):
            period *= 2
        r = follow(steps[:n])
        with torch.no_grad():
            out = model[:n](torch.ones(1, 3, 12, 12))[0].numpy()
        assert _same_up_to_shift(r.pattern, _interior_period(out, period, period)), n


def test_a_later_layer_can_remove_a_hidden_layers_checkerboard() -> None:
    # a random k3 s2 layer paints a period-2 pattern; a 2x2 box (per channel) sums every
    # period-2 pattern to its mean: the hidden layer is imbalanced, the output is flat
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 4, 3, 3))
    box = np.zeros((4, 4, 2, 2))
    for c in range(4):
        box[c, c] = 0.25
    hidden = follow([Step("d", "deconv", w, stride=(2, 2))])
    out = follow([Step("d", "deconv", w, stride=(2, 2)), Step("box", "conv", box)])
    assert hidden.imbalance > 0.1
    assert out.imbalance < 1e-20


def test_a_step_that_is_not_followed_stops_the_path_with_its_name() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 4, 4, 4))
    strided = rng.normal(size=(2, 4, 3, 3))
    r = follow(
        [Step("up", "deconv", w, stride=(2, 2)), Step("down", "conv", strided, stride=(2, 2))]
    )
    assert r.names == ["up"] and r.stopped is not None and r.stopped.startswith("down:")
    r = follow(
        [Step("up", "deconv", w, stride=(2, 2)), Step("c", "conv", rng.normal(size=(2, 3, 1, 1)))]
    )
    assert r.names == ["up"] and "takes 3 channels, the path has 4" in str(r.stopped)
    r = follow(
        [Step("up", "deconv", w, stride=(2, 2)), Step("r", "resize", factor=(2, 2), mode="bicubic")]
    )
    assert r.stopped == "r: bicubic resizing is not followed"


LINEAR = """
import torch.nn as nn


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        self.act = nn.ReLU(True)


class Decoder(nn.Module):
    def __init__(self, nz=4, ngf=4, nc=3, smooth=False):
        super().__init__()
        self.stem = nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0)
        self.ups = nn.ModuleList([Up(ngf * 4 // 2**i, ngf * 2 // 2**i) for i in range(2)])
        self.refine = nn.Conv2d(ngf, ngf, 4 if smooth else 3, padding=1)
        self.head = nn.Sequential(
            nn.Conv2d(ngf, nc * 4, 3, padding=1), nn.PixelShuffle(2), nn.Tanh()
        )

    def linear(self, z):
        x = self.stem(z)
        for up in self.ups:
            x = up.deconv(x)
        return nn.functional.pixel_shuffle(self.head[0](self.refine(x)), 2)
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cbdiag("inspect", *args, cwd=cwd)


def test_inspect_source_gives_the_output_verdict_torch_paints(
    tmp_path: Path, torch: ModuleType
) -> None:
    ns: dict[str, Any] = {}
    exec(compile(LINEAR, "models.py", "exec"), ns)
    torch.manual_seed(0)
    model = ns["Decoder"]().eval()
    (tmp_path / "models.py").write_text(LINEAR)
    torch.save(model.state_dict(), tmp_path / "g.pth")
    p = _cli("g.pth", "--allow-pickle", "--source", "models.py", "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    chain = d["chain"]
    assert chain["reaches_output"] is True and chain["stopped"] is None
    assert chain["layers"] == [
        "stem.weight",
        "ups.0.deconv.weight",
        "ups.1.deconv.weight",
        "refine.weight",
        "head.0.weight",
        "head.1 (pixel shuffle)",
    ]
    assert chain["period"] == [8, 8]
    # torch, on a constant field (the stem is stride 1: a constant stays one), linear part only
    with torch.no_grad():
        x = model.stem(torch.ones(1, 4, 16, 16))
        for up in model.ups:
            x = up.deconv(x)
        out = torch.nn.functional.pixel_shuffle(model.head[0](model.refine(x)), 2)[0].numpy()
    ref = _imbalance(_interior_period(out, 8, 8))
    assert chain["imbalance"] == pytest.approx(ref, rel=1e-5)
    assert chain["verdict"] == "imbalanced"
    # layers in the order the source builds them, each with its own stride
    assert [(x["name"], x["stride"]) for x in d["layers"]] == [
        ("stem.weight", [1, 1]),
        ("ups.0.deconv.weight", [2, 2]),
        ("ups.1.deconv.weight", [2, 2]),
        ("head.0.weight", [2, 2]),
    ]
    # the text names the output verdict first among the summaries
    t = _cli("g.pth", "--allow-pickle", "--source", "models.py", cwd=tmp_path)
    assert t.returncode == 0, t.stderr
    assert "output: period 8x8, imbalance" in " ".join(t.stdout.split())


def _equal_phase_head(model: Any, torch: ModuleType) -> None:
    with torch.no_grad():
        w = model.head[0].weight  # (12, 4, 3, 3): the 4 phases of each output channel equal
        w.copy_(w.reshape(3, 4, 4, 3, 3)[:, :1].expand(3, 4, 4, 3, 3).reshape(12, 4, 3, 3))
        model.head[0].bias.zero_()


def test_check_gates_on_the_output_when_the_source_gives_it(
    tmp_path: Path, torch: ModuleType
) -> None:
    ns: dict[str, Any] = {}
    src = LINEAR.replace("smooth=False", "smooth=True")
    exec(compile(src, "models.py", "exec"), ns)
    torch.manual_seed(1)
    model = ns["Decoder"]().eval()
    _equal_phase_head(model, torch)
    with torch.no_grad():  # refine: a 4x4 box per channel, the mean of every period-4 pattern
        model.refine.weight.zero_()
        for c in range(4):
            model.refine.weight[c, c] = 1 / 16
        model.refine.bias.zero_()
    (tmp_path / "models.py").write_text(src)
    torch.save(model.state_dict(), tmp_path / "g.pth")
    args = ("g.pth", "--allow-pickle", "--source", "models.py", "--check")
    p = _cli(*args, "-f", "json", cwd=tmp_path)
    d = json.loads(p.stdout)
    # the hidden transposed convolutions paint a checkerboard; the box and the equal-phase
    # head remove it before the output: the gate passes on what reaches the output
    assert [x["verdict"] for x in d["layers"]][1:3] == ["imbalanced", "imbalanced"]
    assert d["chain"]["reaches_output"] and d["chain"]["verdict"] == "balanced"
    assert p.returncode == 0, p.stdout
    # the same weights with a 3x3 refine in the source (and in the weights): imbalanced output
    torch.manual_seed(1)
    model = ns["Decoder"](smooth=False).eval()
    _equal_phase_head(model, torch)
    (tmp_path / "models.py").write_text(LINEAR)
    torch.save(model.state_dict(), tmp_path / "g.pth")
    p = _cli(*args, "-f", "json", cwd=tmp_path)
    d = json.loads(p.stdout)
    assert d["chain"]["verdict"] == "imbalanced" and p.returncode == 1
    # a path that cannot be followed to the end: the gate falls back to every layer
    (tmp_path / "models2.py").write_text(
        LINEAR.replace("3, padding=1)\n        self.head", "3, stride=2)\n        self.head")
    )
    q = _cli("g.pth", "--allow-pickle", "--source", "models2.py", "-f", "json", cwd=tmp_path)
    dq = json.loads(q.stdout)
    assert dq["chain"]["reaches_output"] is False
    assert dq["chain"]["stopped"].startswith("refine.weight: a stride-2x2 convolution")
