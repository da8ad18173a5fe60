"""``cbdiag inspect --source``: a state dict's layers read from the model's source statically
(never imported), checked against the same modules built by torch."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from cbdiag.layers import deconv
from cbdiag.lint.modules import source_layers
from cbdiag.weights import phase_gains
from tests.cli import cbdiag

#: Run by torch in the test; cbdiag gets the same text plus a first line that would leave a
#: file behind if anything executed it.
MODELS = '''
import torch
import torch.nn as nn

nz, ngf, nc = 100, 64, 3


class Generator(nn.Module):
    """The PyTorch DCGAN tutorial's generator."""

    def __init__(self, ngpu=1):
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True)
        )

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's layout: a list grown in loops, blocks of another class, Sequential(*list)."""

    def __init__(self, input_nc=3, output_nc=3, ngf=16, n_blocks=3):
        super().__init__()
        model = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        n_down = 2
        for i in range(n_down):
            mult = 2**i
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        mult = 2**n_down
        for i in range(n_blocks):
            model += [ResnetBlock(ngf * mult)]
        for i in range(n_down):
            mult = 2 ** (n_down - i)
            model += [
                nn.ConvTranspose2d(
                    ngf * mult,
                    int(ngf * mult / 2),
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                ),
                nn.InstanceNorm2d(int(ngf * mult / 2)),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3)]
        model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
        model += [nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class Mixed(nn.Module):
    """Attributes, a ModuleList grown in a loop over literals, a sub-pixel convolution."""

    def __init__(self, c=8):
        super().__init__()
        self.ups = nn.ModuleList()
        for k, s in [(4, 2), (3, 2), (6, 3)]:
            self.ups.append(nn.ConvTranspose2d(c, c, k, s, padding=(k - s) // 2))
        self.head = nn.Conv2d(c, c, 3, padding=1)
        self.shuffle = nn.Sequential(nn.Conv2d(c, c * 4, 3, padding=1), nn.PixelShuffle(2))

    def forward(self, x):
        for up in self.ups:
            x = up(x)
        return self.shuffle(self.head(x))


class GlobalGenerator(nn.Module):
    """pix2pixHD's global generator, upsampling part: k3 s2 p1 op1 in a loop, a 7x7 head."""

    def __init__(self, ngf=8, n_up=3, output_nc=3):
        super().__init__()
        model = []
        for i in range(n_up):
            mult = 2 ** (n_up - i)
            model += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2,
                                   padding=1, output_padding=1),
                nn.BatchNorm2d(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class UNet(nn.Module):
    """A U-Net with skips: blocks in ModuleLists built in loops, transposed upsampling."""

    def __init__(self, c=4, depth=2):
        super().__init__()
        self.inc = nn.Conv2d(3, c, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(c * 2**i, c * 2 ** (i + 1), 4, 2, 1)
                                    for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(c * 2 ** (i + 1), c * 2**i, 4, 2, 1)
                                  for i in reversed(range(depth))])
        self.fuse = nn.ModuleList([nn.Conv2d(c * 2 ** (i + 1), c * 2**i, 3, padding=1)
                                   for i in reversed(range(depth))])
        self.out = nn.Conv2d(c, 3, 1)

    def forward(self, x):
        x = self.inc(x)
        skips = []
        for d in self.downs:
            skips.append(x)
            x = d(x).relu()
        for up, fuse in zip(self.ups, self.fuse):
            x = fuse(torch.cat([up(x), skips.pop()], dim=1)).relu()
        return self.out(x)


class ResizeConv(nn.Module):
    """Resize-convolution (Odena et al.): nearest or bilinear x2, then a 3x3 convolution."""

    def __init__(self, c=8):
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(c, 3, 3, padding=1),
        )

    def forward(self, x):
        return self.body(x)


class EqualDeconv(nn.ConvTranspose2d):
    """A subclass of a layer, as equalized-learning-rate wrappers are."""

    def __init__(self, *args, gain=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = gain


class PlainDeconv(nn.ConvTranspose2d):
    pass


class UpBlock(nn.Sequential):
    def __init__(self, c, k=3):
        super(UpBlock, self).__init__(EqualDeconv(c, c, k, 2, 1, output_padding=1), nn.ReLU())


class Subclassed(nn.Module):
    """Layers made by subclasses of ConvTranspose2d and of Sequential."""

    def __init__(self, c=8):
        super().__init__()
        self.up = EqualDeconv(c, c, 4, 2, 1, gain=2.0)
        self.plain = PlainDeconv(c, c, kernel_size=4, stride=2, padding=1)
        self.block = UpBlock(c)
        self.body = nn.Sequential(UpBlock(c, 5), EqualDeconv(c, 3, 4, stride=2))

    def forward(self, x):
        return self.body(self.block(self.plain(self.up(x))))


class SubPixel(nn.Module):
    """ESPCN-style: convolutions, then a sub-pixel convolution and a pixel shuffle x3."""

    def __init__(self, c=8, r=3):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, c, 5, padding=2), nn.Tanh())
        self.sub = nn.Conv2d(c, 3 * r * r, 3, padding=1)
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x):
        return self.shuffle(self.sub(self.features(x)))
'''

SIDE_EFFECT = 'import pathlib; pathlib.Path(__file__).with_name("EXECUTED").write_text("x")\n'


def _torch_models(torch: ModuleType) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "models_under_test"}
    exec(compile(MODELS, "models.py", "exec"), ns)
    return ns


@pytest.fixture
def models_py(tmp_path: Path) -> Path:
    p = tmp_path / "models.py"
    p.write_text(SIDE_EFFECT + MODELS)
    return p


def _reference(module: Any, torch: ModuleType) -> tuple[str, str | None]:
    """(class name, the overlap engine's spec from the module's own attributes)."""
    name = type(module).__name__
    if isinstance(module, torch.nn.ConvTranspose2d | torch.nn.Conv2d):
        spec = deconv(
            module.kernel_size,
            module.stride,
            padding=module.padding,
            output_padding=getattr(module, "output_padding", 0),
            dilation=module.dilation,
            kind="deconv" if isinstance(module, torch.nn.ConvTranspose2d) else "conv",
        ).spec
        return name, spec
    return name, None


ALL = [
    "Generator", "ResnetGenerator", "Mixed", "GlobalGenerator", "UNet", "ResizeConv", "SubPixel",
    "Subclassed",
]  # fmt: skip


@pytest.mark.parametrize("cls", ALL)
def test_every_state_dict_key_maps_to_the_module_torch_builds(
    cls: str, models_py: Path, torch: ModuleType
) -> None:
    model = _torch_models(torch)[cls]()
    modules = dict(model.named_modules())
    name, layers = source_layers(models_py, cls)
    assert name == cls
    prefixes = {k.rsplit(".", 1)[0] for k in model.state_dict()}
    for prefix in prefixes:
        ref_name, ref_spec = _reference(modules[prefix], torch)
        got = layers[prefix]
        assert got.name == ref_name, prefix
        if ref_spec is not None:
            assert got.spec == ref_spec, prefix
            assert got.stride == tuple(modules[prefix].stride), prefix
    # every submodule torch registers is found, nested ones included
    assert set(modules) - {""} <= set(layers)
    assert not (models_py.parent / "EXECUTED").exists()


def test_the_class_is_chosen_by_the_keys_it_explains(models_py: Path, torch: ModuleType) -> None:
    keys = _torch_models(torch)["ResnetGenerator"]().state_dict().keys()
    name, _ = source_layers(models_py, None, keys=keys)
    assert name == "ResnetGenerator"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cbdiag("inspect", *args, cwd=cwd)


def test_inspect_a_tar_checkpoint_with_its_source(
    models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    torch.manual_seed(0)
    model = _torch_models(torch)["Generator"]()
    ckpt = tmp_path / "dcgan.tar"
    torch.save({"epoch": 5, "netG_state_dict": model.state_dict()}, ckpt)
    p = _cli(
        str(ckpt),
        "--allow-pickle",
        "--source",
        f"{models_py}:Generator",
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    layers = {r["name"]: r for r in d["layers"]}
    assert list(layers) == [f"netG_state_dict.main.{i}.weight" for i in (0, 3, 6, 9, 12)]
    assert layers["netG_state_dict.main.0.weight"]["stride"] == [1, 1]
    assert all(layers[f"netG_state_dict.main.{i}.weight"]["stride"] == [2, 2] for i in (3, 6, 9))
    assert not any(r["stride_assumed"] for r in d["layers"])
    assert d["source"]["class"] == "Generator"
    # each layer's per-phase gains are torch's answer to a constant input
    main = model.main
    for i in (3, 12):
        conv = main[i]
        x = torch.ones(1, conv.in_channels, 6, 6)
        y = torch.nn.functional.conv_transpose2d(x, conv.weight, stride=2).detach().numpy()[0]
        ref = np.stack([y[:, 4:6, 4:6][c] for c in range(y.shape[0])])  # one interior period
        got = np.array(layers[f"netG_state_dict.main.{i}.weight"]["phase_gains"])
        assert np.allclose(got, ref, atol=1e-5)
        assert np.allclose(got, phase_gains(conv.weight.detach().numpy(), (2, 2)), atol=1e-6)
    assert not (models_py.parent / "EXECUTED").exists()


def test_without_a_source_no_weight_is_assumed_a_stride_2_upsampler(
    tmp_path: Path, torch: ModuleType
) -> None:
    model = _torch_models(torch)["ResnetGenerator"]()
    ckpt = tmp_path / "latest_net_G.pth"
    torch.save(model.state_dict(), ckpt)
    p = _cli(str(ckpt), "--allow-pickle", "--layout", "torch", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("error: ") and "--source" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_cyclegan_layers_and_what_is_skipped(
    models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    model = _torch_models(torch)["ResnetGenerator"]()
    ckpt = tmp_path / "latest_net_G.pth"
    torch.save(model.state_dict(), ckpt)
    p = _cli(str(ckpt), "--allow-pickle", "--source", str(models_py), "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert [r["name"] for r in d["layers"]] == ["model.13.weight", "model.16.weight"]
    assert d["source"]["class"] == "ResnetGenerator"
    why = d["skipped_reasons"]
    assert why["model.4.weight"] == "Conv2d (conv k3 s2 p1): not an upsampler"
    assert why["model.10.conv_block.1.weight"] == "Conv2d (conv k3): not an upsampler"
    text = _cli(str(ckpt), "--allow-pickle", "--source", str(models_py), cwd=tmp_path).stdout
    assert "model.16.weight" in text and "skipped model.1.weight: Conv2d" in text


def test_a_subpixel_convolution_and_a_module_list(
    models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    model = _torch_models(torch)["Mixed"]()
    ckpt = tmp_path / "mixed.pt"
    torch.save(model.state_dict(), ckpt)
    p = _cli(
        str(ckpt), "--allow-pickle", "--source", f"{models_py}:Mixed", "-f", "json", cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    by = {r["name"]: r for r in d["layers"]}
    assert [by[f"ups.{i}.weight"]["stride"] for i in range(3)] == [[2, 2], [2, 2], [3, 3]]
    assert by["shuffle.0.weight"]["layout"] == "subpixel"
    assert "head.weight" in d["skipped"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--source", "models.py:Nope"], "no class 'Nope'"),
        (["--source", "missing.py"], "cannot read the source"),
        (["--source", "models.py", "--stride", "2"], "the source gives each layer's stride"),
    ],
)
def test_bad_sources_are_one_line_errors(
    extra: list[str], fragment: str, models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    ckpt = tmp_path / "g.pt"
    torch.save(_torch_models(torch)["Generator"]().state_dict(), ckpt)
    p = _cli(str(ckpt), "--allow-pickle", *extra, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("error: ") and fragment in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


SHAPES = {
    "Generator": (1, 100, 1, 1),
    "ResnetGenerator": (1, 3, 32, 32),
    "Mixed": (1, 8, 8, 8),
    "GlobalGenerator": (1, 64, 4, 4),
    "UNet": (1, 3, 16, 16),
    "ResizeConv": (1, 8, 8, 8),
    "Subclassed": (1, 8, 4, 4),
    "SubPixel": (1, 3, 12, 12),
}


@pytest.mark.parametrize("cls", ALL)
def test_the_source_and_the_onnx_graph_of_one_model_give_the_same_layers(
    cls: str, models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    """The same module three ways: its state dict read with its source (static), its ONNX
    export (the graph's own attributes): the same kernels with the same strides."""
    import warnings

    torch.manual_seed(0)
    model = _torch_models(torch)[cls]().eval()
    torch.save(model.state_dict(), tmp_path / "m.pth")
    torch.set_default_dtype(torch.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model.float(), torch.ones(*SHAPES[cls]), str(tmp_path / "m.onnx"), dynamo=False
            )
    finally:
        torch.set_default_dtype(torch.float64)
    a = _cli("m.onnx", "-f", "json", cwd=tmp_path)
    b = _cli(
        "m.pth", "--allow-pickle", "--source", f"{models_py}:{cls}", "-f", "json", cwd=tmp_path
    )
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    la, lb = da["layers"], db["layers"]
    if cls == "ResizeConv":  # no kernel of its own: the output of resizing and convolutions
        assert la == lb == []
        assert da["chain"]["period"] == db["chain"]["period"] == [4, 4]
        assert da["chain"]["imbalance"] == pytest.approx(db["chain"]["imbalance"], abs=1e-9)
    assert [x["stride"] for x in la] == [x["stride"] for x in lb]
    assert [x["layout"] == "subpixel" for x in la] == [x["layout"] == "subpixel" for x in lb]
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(x["phase_gains"], y["phase_gains"], rtol=1e-4, atol=1e-6)


def test_a_lightning_checkpoint_with_its_source(
    models_py: Path, tmp_path: Path, torch: ModuleType
) -> None:
    # Lightning saves {"state_dict": {"<attribute>.<key>": tensor}, "epoch": ..., ...}
    torch.manual_seed(0)
    model = _torch_models(torch)["GlobalGenerator"]()
    sd = {f"generator.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 3, "global_step": 100, "state_dict": sd}, tmp_path / "last.ckpt")
    p = _cli("last.ckpt", "--allow-pickle", "--source", str(models_py), "-f", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["source"]["class"] == "GlobalGenerator"
    names = [x["name"] for x in d["layers"]]
    assert names == [f"state_dict.generator.model.{i}.weight" for i in (0, 3, 6)]
    assert all(x["stride"] == [2, 2] for x in d["layers"])
    assert d["chain"]["reaches_output"]
    assert d["chain"]["layers"][-1] == "state_dict.generator.model.10.weight"  # the 7x7 head


def test_an_mmcv_conv_module_is_read_at_its_conv_prefix(tmp_path: Path) -> None:
    # mmcv's ConvModule holds its layer as the submodule ``conv`` (state-dict keys
    # ``up.conv.weight``); a subclass of it is named by its own class
    src = tmp_path / "net.py"
    src.write_text(
        "import torch.nn as nn\nfrom mmcv.cnn import ConvModule\n\n\n"
        "class EqualConvModule(ConvModule):\n"
        "    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.up = ConvModule(8, 8, 3, 2, 1, conv_cfg=dict(type='deconv'))\n"
        "        self.eq = EqualConvModule(8, 8, 4, 2, 1, conv_cfg=dict(type='deconv'))\n"
    )
    name, layers = source_layers(src, "Net")
    assert name == "Net"
    assert (layers["up"].name, layers["up"].kind) == ("ConvModule", "module")
    conv = layers["up.conv"]
    assert (conv.name, conv.kind, conv.spec, conv.stride) == (
        "ConvTranspose2d", "deconv", "deconv k3 s2 p1", (2, 2)
    )  # fmt: skip
    assert (layers["eq"].name, layers["eq.conv"].spec) == ("EqualConvModule", "deconv k4 s2 p1")
