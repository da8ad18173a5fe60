"""Untrained generators: configuration, torch equivalence, determinism, the Distill finding."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from cbdiag.errors import CbdiagError, SizeError
from cbdiag.generator import (
    UPSAMPLERS,
    Generator,
    GeneratorConfig,
    compare_configs,
    generate,
    phase_contrast,
)


def nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


def test_dcgan_shape() -> None:
    cfg = GeneratorConfig(size=64, width=64)
    assert cfg.depth == 4
    assert cfg.stage_channels() == [512, 256, 128, 64, 3]
    assert cfg.deconv_padding() == (1, 0)
    assert GeneratorConfig(kernel=3).deconv_padding() == (1, 1)
    assert GeneratorConfig(kernel=5).deconv_padding() == (2, 1)
    assert GeneratorConfig(size=108, stride=3, kernel=3).deconv_padding() == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"size": 48}, "not reachable"),
        ({"size": 0}, "size must be"),
        ({"size": 100000}, "size must be"),
        ({"upsample": "magic"}, "unknown upsampler"),
        ({"init": "xavier"}, "unknown init"),
        ({"norm": "layer"}, "unknown norm"),
        ({"source": "noise"}, "unknown source"),
        ({"channels": 2}, "channels must be 1 or 3"),
        ({"kernel": 3, "padding": 0}, "cannot multiply the size"),
        ({"stride": 1}, "stride must be >= 2"),
        ({"width": 0}, "width must be >= 1"),
        ({"source": "smooth", "base": 16, "size": 8}, "not reachable"),
    ],
)
def test_bad_configs(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CbdiagError, match=fragment):
        GeneratorConfig(**kwargs)


def test_count_must_be_positive() -> None:
    with pytest.raises(CbdiagError, match="count"):
        generate(GeneratorConfig(size=16, width=4), count=0)


# ---------------------------------------------------------------------------------------------
# the same network in torch
# ---------------------------------------------------------------------------------------------


def torch_forward(torch: ModuleType, gen: Generator, x: np.ndarray) -> np.ndarray:
    f = torch.nn.functional
    cfg = gen.config

    def t(a: np.ndarray | None) -> Any:
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a))

    def post(y: Any, last: bool) -> Any:
        if last:
            return torch.tanh(y)
        if cfg.norm == "batch":
            y = f.batch_norm(y, None, None, training=True, eps=1e-5)
        return f.relu(y)

    y = t(nchw(x))
    if gen.project is not None:
        y = post(f.conv_transpose2d(y, t(gen.project.weight), t(gen.project.bias)), False)
    for i, (kind, conv) in enumerate(gen.stages):
        if kind == "resize-nearest":
            y = f.interpolate(y, scale_factor=float(cfg.stride), mode="nearest")
        elif kind == "resize-bilinear":
            y = f.interpolate(
                y, scale_factor=float(cfg.stride), mode="bilinear", align_corners=False
            )
        if conv.transposed:
            y = f.conv_transpose2d(
                y,
                t(conv.weight),
                t(conv.bias),
                stride=conv.stride,
                padding=conv.padding,
                output_padding=conv.output_padding,
            )
        else:
            y = f.conv2d(y, t(conv.weight), t(conv.bias), padding=conv.padding)
        if kind.startswith("subpixel"):
            y = f.pixel_shuffle(y, cfg.stride)
        y = post(y, i == len(gen.stages) - 1)
    return y.numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize("upsample", UPSAMPLERS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"init": "dcgan", "norm": "none"},
        {"init": "he", "source": "smooth", "base": 8, "size": 32},
        {"kernel": 3, "channels": 1},
        {"stride": 3, "size": 36, "kernel": 5},
    ],
)
def test_generator_matches_torch(torch: ModuleType, upsample: str, extra: dict[str, Any]) -> None:
    if upsample != "deconv" and "kernel" in extra:
        extra = {k: v for k, v in extra.items() if k != "kernel"}
    cfg = GeneratorConfig(**{"size": 16, "width": 8, "upsample": upsample, **extra})
    gen = Generator.build(cfg, seed=7)
    x = gen.inputs(3)
    ours = gen.forward(x)
    ref = torch_forward(torch, gen, x)
    assert ours.shape == (3, cfg.size, cfg.size, cfg.channels) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=2e-4, rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------


def test_same_seed_same_images_other_seed_other_images() -> None:
    cfg = GeneratorConfig(size=32, width=8)
    a = generate(cfg, count=3, seed=5).images
    b = generate(cfg, count=3, seed=5).images
    c = generate(cfg, count=3, seed=6).images
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1


def test_samples_do_not_depend_on_batching_without_batch_norm() -> None:
    cfg = GeneratorConfig(size=32, width=8, norm="none")
    whole = generate(cfg, count=5, seed=1, batch_size=5).images
    split = generate(cfg, count=5, seed=1, batch_size=2).images
    np.testing.assert_allclose(whole, split, atol=1e-6)


def test_weights_are_pinned_to_the_seed() -> None:
    """PCG64 streams are specified: the first weights of seed 0 are fixed numbers."""
    gen = Generator.build(GeneratorConfig(size=16, width=4), seed=0)
    fan_in = 8 * 4 * 4  # PyTorch: weight (latent, C0=8, 4, 4) -> fan_in = C0 * 16
    expected = np.random.default_rng([0, 0]).uniform(-1, 1, 3) / np.sqrt(fan_in)
    assert gen.project is not None
    np.testing.assert_allclose(gen.project.weight.ravel()[:3], expected, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# the Distill finding, measured
# ---------------------------------------------------------------------------------------------


def _phase_means(images: np.ndarray, s: int, margin: int) -> np.ndarray:
    grey = images.mean(axis=3)[:, margin:-margin, margin:-margin]
    return np.array([[grey[:, i::s, j::s].mean() for j in range(s)] for i in range(s)])


def test_decoder_per_phase_means_differ_for_deconv_not_for_resize() -> None:
    """A constant feature map through untrained stacks: deconv k3s2 (uneven overlap) and
    even deconv k4s2 (unequal per-phase gains) paint phase-dependent means; resize-nearest
    and ICNR sub-pixel give identical per-phase means."""
    base = GeneratorConfig(size=64, width=16, source="constant", base=16)
    spreads = {}
    for name, cfg in compare_configs(base):
        imgs = generate(cfg, count=4, seed=3).images
        per_image = [np.ptp(_phase_means(imgs[i : i + 1], 2, 8)) for i in range(4)]
        spreads[name] = float(np.mean(per_image)) / float(imgs.std())
    assert spreads["deconv k3 s2"] > 0.2
    assert spreads["deconv k4 s2"] > 0.2
    assert spreads["subpixel"] > 0.2
    assert spreads["resize-nearest"] < 1e-5
    assert spreads["resize-bilinear"] < 1e-5
    assert spreads["subpixel-ICNR"] < 1e-5


def test_latent_generators_phase_contrast() -> None:
    base = GeneratorConfig(size=64, width=16)
    pc = {
        name: phase_contrast(generate(cfg, count=8, seed=0).images, 2)
        for name, cfg in compare_configs(base)
    }
    assert pc["deconv k3 s2"] > 10 * pc["resize-nearest"]
    assert pc["deconv k4 s2"] > 10 * pc["resize-nearest"]
    assert pc["resize-nearest"] < 0.05 and pc["resize-bilinear"] < 0.05
    assert pc["subpixel-ICNR"] < 1e-6


@pytest.mark.parametrize("amplitude", [0.0, 0.1, 0.5, 2.0])
def test_phase_contrast_closed_form(amplitude: float) -> None:
    """Noise of std sigma plus a +-a checkerboard: 4 phase means +-a (std a), pixel std
    sqrt(sigma^2 + a^2); so the contrast is a / sqrt(sigma^2 + a^2), plus the noise floor of
    the phase means (each averages m pixels: variance 3/4 * sigma^2 / m over 4 phases)."""
    rng = np.random.default_rng(0)
    n, sigma = 200, 1.0
    noise = rng.standard_normal((n, 64, 64, 1)) * sigma
    i, j = np.indices((64, 64))
    pattern = amplitude * np.where((i + j) % 2 == 0, 1.0, -1.0)[None, :, :, None]
    got = phase_contrast((noise + pattern).astype(np.float32), 2)
    m = (64 - 2 * 4) ** 2 / 4  # interior pixels per phase (margin 2 * stride)
    want = np.sqrt(amplitude**2 + 0.75 * sigma**2 / m) / np.sqrt(sigma**2 + amplitude**2)
    assert got == pytest.approx(want, abs=0.005)


def test_phase_contrast_needs_room() -> None:
    with pytest.raises(SizeError):
        phase_contrast(np.zeros((1, 6, 6, 1), np.float32), 2)
