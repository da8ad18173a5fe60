"""Untrained 1-D upsampler stacks (``cbdiag.generator1d``) against PyTorch with the same weights,
and ``cbdiag generate --dims 1``: transposed and sub-pixel stacks buzz, resize-conv ones do not."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy.io import wavfile
from typer.testing import CliRunner

from cbdiag.audio import score_audio
from cbdiag.cli import app
from cbdiag.generator1d import (
    UPSAMPLERS_1D,
    VocoderConfig,
    build,
    conv1d,
    conv_transpose1d,
    features,
)

runner = CliRunner()


@pytest.mark.parametrize(("k", "s", "p"), [(16, 8, 4), (4, 2, 1), (5, 4, 0), (3, 1, 1)])
def test_conv_ops_are_torchs(torch: ModuleType, k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(k)
    x = rng.standard_normal((6, 11)).astype(np.float32)
    w = rng.standard_normal((6, 4, k)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    f = torch.nn.functional
    want = f.conv_transpose1d(
        torch.from_numpy(x[None]), torch.from_numpy(w), torch.from_numpy(b), s, p
    )
    np.testing.assert_allclose(conv_transpose1d(x, w, b, s, p), want[0].numpy(), atol=1e-4)
    wc = rng.standard_normal((4, 6, k)).astype(np.float32)
    want = f.conv1d(torch.from_numpy(x[None]), torch.from_numpy(wc), torch.from_numpy(b), padding=p)
    np.testing.assert_allclose(conv1d(x, wc, b, p), want[0].numpy(), atol=1e-4)


@pytest.mark.parametrize("upsample", UPSAMPLERS_1D)
def test_the_stack_is_the_same_network_in_torch(torch: ModuleType, upsample: str) -> None:
    cfg = VocoderConfig(upsample=upsample, rates=(4, 2), width=16, features=8, frames=12)
    stack = build(cfg, seed=3)
    x = features(cfg, 3)
    nn = torch.nn
    params = iter(stack.params)

    def load(module: object) -> None:
        _, w, b = next(params)
        module.weight.data = torch.from_numpy(w)  # type: ignore[attr-defined]
        module.bias.data = torch.from_numpy(b)  # type: ignore[attr-defined]

    layers: list[object] = []
    pre = nn.Conv1d(8, 16, 7, padding=3)
    load(pre)
    layers.append(pre)
    c = 16
    for u in cfg.rates:
        layers.append(nn.LeakyReLU(0.1))
        if upsample == "deconv":
            m = nn.ConvTranspose1d(c, c // 2, 2 * u, u, padding=u // 2)
            load(m)
            layers.append(m)
        elif upsample == "subpixel":
            m = nn.Conv1d(c, c // 2 * u, 3, padding=1)
            load(m)
            layers.append(m)

            class Shuffle(nn.Module):
                def __init__(self, u: int) -> None:
                    super().__init__()
                    self.u = u

                def forward(self, y):  # type: ignore[no-untyped-def]
                    b, cu, n = y.shape
                    return (
                        y.reshape(b, cu // self.u, self.u, n)
                        .permute(0, 1, 3, 2)
                        .reshape(b, cu // self.u, n * self.u)
                    )

            layers.append(Shuffle(u))
        else:
            mode = "nearest" if upsample == "resize-nearest" else "linear"
            kw = {} if mode == "nearest" else {"align_corners": False}
            layers.append(nn.Upsample(scale_factor=u, mode=mode, **kw))
            m = nn.Conv1d(c, c // 2, 7, padding=3)
            load(m)
            layers.append(m)
        c //= 2
    layers.append(nn.LeakyReLU(0.1))
    post = nn.Conv1d(c, 1, 7, padding=3)
    load(post)
    layers += [post, nn.Tanh()]
    with torch.no_grad():
        want = nn.Sequential(*layers)(torch.from_numpy(x[None]))[0, 0].numpy()
    np.testing.assert_allclose(stack.forward(x), want, atol=1e-5)
    assert len(want) == cfg.frames * cfg.hop


def test_generate_dims_1_writes_wavs_and_their_spectrograms(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "generate", "--dims", "1", "--compare", "--out-dir", str(tmp_path / "w"),
            "-o", str(tmp_path / "s.png"), "--format", "json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    clips = {c["upsampler"]: c for c in json.loads(res.stdout)["clips"]}
    assert set(clips) == {"deconv", "resize-nearest", "resize-linear", "subpixel"}
    # Pons et al.: transposed and sub-pixel upsamplers buzz at initialisation, resize-conv not
    assert clips["deconv"]["flagged"] and clips["deconv"]["period"] == 256
    assert clips["subpixel"]["flagged"] and clips["subpixel"]["period"] == 256
    assert not clips["resize-nearest"]["flagged"] and not clips["resize-linear"]["flagged"]
    rate, data = wavfile.read(tmp_path / "w" / "deconv.wav")
    assert rate == 22050 and data.dtype == np.int16 and len(data) >= 1.2 * 22050
    again = score_audio(str(tmp_path / "w" / "deconv.wav"))
    assert again.period == 256 and again.flagged  # the file says what the run said
    assert (tmp_path / "s.png").stat().st_size > 10_000
    res = runner.invoke(app, ["generate", "--dims", "1", "--upsample", "subpixel-icnr"])
    assert res.exit_code == 2 and "no 1-D form" in res.output
    res = runner.invoke(app, ["generate", "--dims", "1", "--rates", "8x1"])
    assert res.exit_code == 2 and "--rates" in res.output
