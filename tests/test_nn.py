"""The numpy layer library against PyTorch (float32 tolerance) and closed-form properties."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cbdiag import nn
from cbdiag.layers import deconv
from cbdiag.overlap import overlap_map

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def close(ours: np.ndarray, ref: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * scale)


@st.composite
def conv_case(draw: st.DrawFn, transposed: bool) -> dict:
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    op = (0, 0)
    if transposed:
        op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in (0, 1))
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(
        groups=groups,
        cin=cin,
        cout=cout,
        k=k,
        s=s,
        d=d,
        p=p,
        op=op,
        n=n,
        h=h,
        w=w,
        seed=seed,
        bias=draw(st.booleans()),
    )


@SETTINGS
@given(case=conv_case(transposed=False), algorithm=st.sampled_from(["auto", "scatter", "im2col"]))
def test_conv2d_matches_torch(torch: ModuleType, case: dict, algorithm: str) -> None:
    c = case
    assume(c["h"] + 2 * c["p"][0] - c["d"][0] * (c["k"][0] - 1) - 1 >= 0)
    assume(c["w"] + 2 * c["p"][1] - c["d"][1] * (c["k"][1] - 1) - 1 >= 0)
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["n"], c["h"], c["w"], c["cin"])).astype(np.float32)
    wt = rng.standard_normal((c["cout"], c["cin"] // c["groups"], *c["k"])).astype(np.float32)
    b = rng.standard_normal(c["cout"]).astype(np.float32) if c["bias"] else None
    ours = nn.conv2d(
        x,
        wt,
        b,
        stride=c["s"],
        padding=c["p"],
        dilation=c["d"],
        groups=c["groups"],
        algorithm=algorithm,
    )
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(nchw(x)),
        torch.from_numpy(wt),
        None if b is None else torch.from_numpy(b),
        stride=c["s"],
        padding=c["p"],
        dilation=c["d"],
        groups=c["groups"],
    )
    assert ours.dtype == np.float32
    close(ours, nhwc(ref.numpy()))


@SETTINGS
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    cin=st.integers(1, 40),
    cout=st.integers(1, 40),
    p=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_winograd_conv_matches_torch(
    torch: ModuleType, n: int, h: int, w: int, cin: int, cout: int, p: int, seed: int
) -> None:
    assume(h + 2 * p >= 3 and w + 2 * p >= 3)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    wt = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    ours = nn.conv2d(x, wt, b, padding=p, algorithm="winograd")
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(nchw(x)), torch.from_numpy(wt), torch.from_numpy(b), padding=p
    )
    close(ours, nhwc(ref.numpy()))


def test_winograd_refuses_other_shapes() -> None:
    x = np.ones((1, 6, 6, 2), np.float32)
    with pytest.raises(nn.ShapeError, match="winograd"):
        nn.conv2d(x, np.ones((2, 2, 3, 3), np.float32), stride=2, algorithm="winograd")


@SETTINGS
@given(case=conv_case(transposed=True))
def test_conv_transpose2d_matches_torch(torch: ModuleType, case: dict) -> None:
    c = case
    for a, n in ((0, c["h"]), (1, c["w"])):
        assume(
            (n - 1) * c["s"][a] - 2 * c["p"][a] + c["d"][a] * (c["k"][a] - 1) + c["op"][a] + 1 > 0
        )
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["n"], c["h"], c["w"], c["cin"])).astype(np.float32)
    wt = rng.standard_normal((c["cin"], c["cout"] // c["groups"], *c["k"])).astype(np.float32)
    b = rng.standard_normal(c["cout"]).astype(np.float32) if c["bias"] else None
    ours = nn.conv_transpose2d(
        x,
        wt,
        b,
        stride=c["s"],
        padding=c["p"],
        output_padding=c["op"],
        dilation=c["d"],
        groups=c["groups"],
    )
    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(nchw(x)),
        torch.from_numpy(wt),
        None if b is None else torch.from_numpy(b),
        stride=c["s"],
        padding=c["p"],
        output_padding=c["op"],
        dilation=c["d"],
        groups=c["groups"],
    )
    assert ours.dtype == np.float32
    close(ours, nhwc(ref.numpy()))


@SETTINGS
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    c=st.integers(1, 4),
    fh=st.integers(1, 4),
    fw=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_resizes_match_torch(
    torch: ModuleType, n: int, h: int, w: int, c: int, fh: int, fw: int, seed: int
) -> None:
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)
    t = torch.from_numpy(nchw(x))
    f = torch.nn.functional
    close(
        nn.resize_nearest(x, (fh, fw)),
        nhwc(f.interpolate(t, scale_factor=(float(fh), float(fw)), mode="nearest").numpy()),
    )
    close(
        nn.resize_bilinear(x, (fh, fw)),
        nhwc(
            f.interpolate(
                t, scale_factor=(float(fh), float(fw)), mode="bilinear", align_corners=False
            ).numpy()
        ),
    )


@SETTINGS
@given(
    n=st.integers(1, 2),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    c=st.integers(1, 3),
    r=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_pixel_shuffle_matches_torch(
    torch: ModuleType, n: int, h: int, w: int, c: int, r: int, seed: int
) -> None:
    x = np.random.default_rng(seed).standard_normal((n, h, w, c * r * r)).astype(np.float32)
    ref = torch.nn.functional.pixel_shuffle(torch.from_numpy(nchw(x)), r)
    np.testing.assert_array_equal(nn.pixel_shuffle(x, r), nhwc(ref.numpy()))


@SETTINGS
@given(
    n=st.integers(1, 4),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    c=st.integers(1, 5),
    seed=st.integers(0, 1000),
    affine=st.booleans(),
)
def test_batch_norm_training_mode_matches_torch(
    torch: ModuleType, n: int, h: int, w: int, c: int, seed: int, affine: bool
) -> None:
    assume(n * h * w > 1)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, h, w, c)) * 3 + 1).astype(np.float32)
    g = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    bn = torch.nn.BatchNorm2d(c, affine=affine).float().train()
    if affine:
        with torch.no_grad():
            bn.weight.copy_(torch.from_numpy(g))
            bn.bias.copy_(torch.from_numpy(b))
    ref = bn(torch.from_numpy(nchw(x)).float()).detach().numpy()
    close(nn.batch_norm(x, g, b), nhwc(ref))


def test_activations_match_torch(torch: ModuleType) -> None:
    x = np.linspace(-4, 4, 101, dtype=np.float32).reshape(1, 1, 101, 1)
    t = torch.from_numpy(x)
    f = torch.nn.functional
    close(nn.relu(x), f.relu(t).numpy())
    close(nn.leaky_relu(x, 0.2), f.leaky_relu(t, 0.2).numpy())
    close(nn.tanh(x), torch.tanh(t).numpy())


@pytest.mark.parametrize(
    ("module", "shape"),
    [("Conv2d", (64, 32, 3, 3)), ("ConvTranspose2d", (32, 64, 4, 4)), ("Conv2d", (12, 8, 5, 5))],
)
def test_torch_default_init_has_torchs_bounds(torch: ModuleType, module: str, shape: tuple) -> None:
    if module == "Conv2d":
        m = torch.nn.Conv2d(shape[1], shape[0], shape[2])
    else:
        m = torch.nn.ConvTranspose2d(shape[0], shape[1], shape[2])
    bias_size = m.bias.shape[0]
    w, b = nn.torch_default_init(np.random.default_rng(0), shape, bias_size=bias_size)
    tw = m.weight.detach().numpy()
    bound = np.abs(tw).max()
    # same support: both bounded by 1/sqrt(fan_in), both fill it (uniform)
    assert w.shape == tw.shape and b.shape == m.bias.shape
    assert np.abs(w).max() <= 1 / math.sqrt(nn.torch_fan_in(shape)) + 1e-7
    assert np.abs(w).max() == pytest.approx(bound, rel=0.02)
    assert np.abs(b).max() <= 1 / math.sqrt(nn.torch_fan_in(shape)) + 1e-7
    assert w.std() == pytest.approx(tw.std(), rel=0.08)


def test_he_and_dcgan_init_statistics() -> None:
    rng = np.random.default_rng(1)
    w, _ = nn.he_normal_init(rng, (64, 32, 3, 3))
    assert w.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.03)
    w, b = nn.dcgan_init(rng, (64, 32, 4, 4))
    assert w.std() == pytest.approx(0.02, rel=0.03) and b is None


def test_conv_transpose_of_ones_is_the_overlap_map() -> None:
    """The numpy deconv and the overlap engine agree (two independent implementations)."""
    x = np.ones((1, 6, 7, 1), np.float32)
    y = nn.conv_transpose2d(
        x, np.ones((1, 1, 3, 3), np.float32), stride=2, padding=1, output_padding=1
    )
    m = overlap_map([deconv(3, 2, padding=1, output_padding=1)], (6, 7)).to_array()
    np.testing.assert_array_equal(y[0, :, :, 0], m)


def test_icnr_makes_subpixel_conv_phase_balanced() -> None:
    rng = np.random.default_rng(3)
    w, b = nn.torch_default_init(rng, (3 * 4, 5, 3, 3), bias_size=12)
    wi, bi = nn.icnr(w, 2, b)
    x = np.ones((1, 8, 8, 5), np.float32)
    for weight, bias, balanced in ((w, b, False), (wi, bi, True)):
        y = nn.pixel_shuffle(nn.conv2d(x, weight, bias, padding=1), 2)[0, 4:-4, 4:-4]
        phases = [y[i::2, j::2].mean(axis=(0, 1)) for i in range(2) for j in range(2)]
        spread = np.ptp(np.stack(phases), axis=0).max()
        assert (spread < 1e-5) == balanced


def test_shape_errors() -> None:
    x = np.ones((1, 4, 4, 3), np.float32)
    with pytest.raises(nn.ShapeError):
        nn.conv2d(x, np.ones((2, 2, 3, 3), np.float32))
    with pytest.raises(nn.ShapeError):
        nn.conv2d(x, np.ones((2, 3, 7, 7), np.float32))
    with pytest.raises(nn.ShapeError):
        nn.conv_transpose2d(x, np.ones((3, 2, 3, 3), np.float32), stride=2, output_padding=2)
    with pytest.raises(nn.ShapeError):
        nn.pixel_shuffle(x, 2)


def test_chunked_batches_equal_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 6, 6, 4)).astype(np.float32)
    w = rng.standard_normal((4, 5, 3, 3)).astype(np.float32)
    whole = nn.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    monkeypatch.setattr(nn, "CHUNK_BYTES", 1)  # one item per chunk
    np.testing.assert_array_equal(
        nn.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), whole
    )
