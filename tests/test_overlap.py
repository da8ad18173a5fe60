"""The overlap engine against closed forms, published numbers and a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cbdiag import overlap_map, parse_layers
from cbdiag.errors import LayerSpecError, SizeError
from cbdiag.layers import deconv
from cbdiag.overlap import default_input_size

from . import reference as ref


def _fmap(spec: str, size: int | tuple[int, int] | None = None, **kw: bool):
    return overlap_map(parse_layers(spec), size, **kw)


def _rotations(seq: list[float]) -> list[list[float]]:
    return [seq[i:] + seq[:i] for i in range(len(seq))]


# ---------------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------------


@given(k=st.integers(1, 12), s=st.integers(1, 6))
def test_single_layer_interior_ratio_is_ceil_over_floor(k: int, s: int) -> None:
    r = overlap_map([deconv(k, s)])
    if k < s:
        assert r.holes and r.ratio_2d == math.inf
        return
    ratio = math.ceil(k / s) / (k // s)
    assert r.y.ratio == pytest.approx(ratio)
    assert r.ratio_2d == pytest.approx(ratio**2)
    assert r.even == (k % s == 0)
    # the pattern itself: residue r of the full index gets ceil((k - r)/s) taps
    expected = [math.ceil((k - q) / s) for q in range(s)]
    assert sorted(r.y.pattern) == sorted(expected) or r.y.period == 1


@given(k=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 4), d=st.integers(1, 4))
def test_pattern_matches_residue_counts(k: int, s: int, p: int, d: int) -> None:
    """Interior count at output o is #{j : (o + p - d j) divisible by s} (theory, section 3.3)."""
    assume((8 - 1) * s - 2 * p + d * (k - 1) + 1 > 0)
    r = overlap_map([deconv(k, s, padding=p, dilation=d)])
    counts = [sum(1 for j in range(k) if (o + p - d * j) % s == 0) for o in range(s)]
    assert r.y.period in {q for q in range(1, s + 1) if s % q == 0}
    full = [r.y.pattern[o % r.y.period] for o in range(s)]
    assert full == counts
    assert r.holes == (min(counts) == 0)


def test_two_stacked_k3s2_is_3231() -> None:
    r = _fmap("2x deconv k3 s2")
    assert list(r.y.pattern) in _rotations([3, 2, 3, 1])
    assert (r.y.ratio, r.ratio_2d) == (3, 9)
    # the PyTorch "same" variant is the same pattern at another phase
    r2 = _fmap("2x deconv k3 s2 p1 op1")
    assert list(r2.y.pattern) in _rotations([3, 2, 3, 1])
    assert list(r2.y.pattern) == [1, 3, 2, 3]


@pytest.mark.parametrize("n", range(1, 7))
def test_n_stacked_k3s2_gives_fibonacci_ratios(n: int) -> None:
    fib = [1, 1]
    while len(fib) < n + 3:
        fib.append(fib[-1] + fib[-2])
    r = overlap_map([deconv(3, 2)] * n)
    assert r.y.ratio == fib[n + 1]  # F(n+2) with F(1) = F(2) = 1
    assert r.ratio_2d == fib[n + 1] ** 2
    assert r.y.period == 2**n
    assert [st.y.ratio for st in r.stages] == [fib[i + 1] for i in range(1, n + 1)]


def test_even_layer_after_uneven_averages_it_out() -> None:
    assert _fmap("deconv k3 s2, deconv k4 s2").even
    r = _fmap("deconv k4 s2, deconv k3 s2")
    assert not r.even and r.y.ratio == 2
    assert any("averages" in n or "average" in n for n in _fmap("deconv k3 s2, deconv k4 s2").notes)


@pytest.mark.parametrize(
    ("preset", "r1", "r2", "pattern"),
    [
        ("cyclegan", 17 / 15, (17 / 15) ** 2, [17, 15, 16, 15]),
        ("pix2pixhd", 1.448, 2.098, None),
        ("dcgan", 1, 1, None),
        ("resize-conv", 1, 1, None),
        ("subpixel", 1, 1, None),
        ("stylegan2", 1, 1, None),
    ],
)
def test_presets_match_published_numbers(
    preset: str, r1: float, r2: float, pattern: list[int] | None
) -> None:
    r = _fmap(preset)
    assert r.y.ratio == pytest.approx(r1, abs=5e-4)
    assert r.ratio_2d == pytest.approx(r2, abs=5e-4)
    if pattern:
        assert list(r.y.pattern) in _rotations(pattern)


def test_stride1_conv_flattens_periods_dividing_its_kernel() -> None:
    # theory 3.4: after [k3,s2] a stride-1 conv of k'=2 or 4 flattens, k'=3 gives 1.25
    for kp, ratio in [(1, 2.0), (2, 1.0), (3, 1.25), (4, 1.0), (5, 8 / 7)]:
        r = _fmap(f"deconv k3 s2, conv k{kp}")
        assert r.y.ratio == pytest.approx(ratio), kp


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [("deconv k1 s2", [1, 0]), ("deconv k2 s3", [1, 1, 0]), ("deconv k3 s2 d2", [3, 0])],
)
def test_holes(spec: str, pattern: list[int]) -> None:
    r = _fmap(spec)
    assert r.holes and not r.even
    assert list(r.y.pattern) in _rotations(pattern)
    assert r.ratio_2d == math.inf
    assert any("holes" in n or "zero taps" in n for n in r.notes)


def test_dilation_coprime_with_stride_permutes_counts() -> None:
    r = _fmap("deconv k3 s2 d3")
    assert sorted(r.y.pattern) == [1, 2]


def test_output_padding_beyond_padding_leaves_a_zero_border_row() -> None:
    r = _fmap("deconv k3 s2 op1", 5)
    assert r.values_y[-1] == 0 and not r.holes
    assert any("zero-coverage" in n for n in r.notes)
    np.testing.assert_array_equal(r.values_y, [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1, 0])


def test_per_axis_parameters_combine_as_outer_product() -> None:
    r = _fmap("deconv k3x4 s2", 5)
    assert r.y.ratio == 2 and r.x.ratio == 1 and r.ratio_2d == 2
    r = _fmap("deconv k3 s2x1", (5, 6))
    assert r.shape == (11, 8)
    assert r.y.period == 2 and r.x.period == 1


def test_bilinear_and_nearest_keep_a_constant_input_constant() -> None:
    for spec in ("bilinear x2", "bilinear x3", "nearest x3", "shuffle x2"):
        r = _fmap(spec, 7)
        assert r.even and r.y.pattern == (1.0,)
        np.testing.assert_allclose(r.values_y, 1.0)


def test_tf_same_is_pytorch_same_at_the_opposite_phase() -> None:
    tf = overlap_map([deconv(3, 2, tf_padding="same")], 6)
    pt = overlap_map([deconv(3, 2, padding=1, output_padding=1)], 6)
    assert tf.shape == pt.shape == (12, 12)
    assert list(tf.y.pattern) == list(reversed(pt.y.pattern))
    # the full output [1, 1, 2, 1, 2, ..., 2, 1, 1] is cropped (0, 1) by TF and (1, 0) by PyTorch
    assert list(tf.values_y[:3]) == [1, 1, 2] and list(tf.values_y[-2:]) == [2, 1]
    assert list(pt.values_y[:3]) == [1, 2, 1] and list(pt.values_y[-2:]) == [1, 1]


# ---------------------------------------------------------------------------------------------
# Gradient maps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ("conv k3 s2 p1", [1, 2]),
        ("conv k4 s2 p1", [2]),
        ("conv k1 s2", [1, 0]),
        ("conv k5 s2 p2", [3, 2]),
    ],
)
def test_gradient_of_strided_conv(spec: str, pattern: list[int]) -> None:
    r = _fmap(spec, 16, gradient=True)
    assert list(r.y.pattern) in _rotations(pattern)
    assert r.shape == (16, 16)


def test_gradient_of_1x1_stride2_zeroes_three_quarters() -> None:
    r = _fmap("conv k1 s2", 16, gradient=True)
    m = r.to_array()
    assert np.count_nonzero(m == 0) == 16 * 16 * 3 // 4


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    h=st.integers(3, 14),
    w=st.integers(3, 14),
)
def test_gradient_matches_brute_force(k: int, s: int, p: int, d: int, h: int, w: int) -> None:
    assume(min(h, w) + 2 * p - d * (k - 1) - 1 >= 0)
    r = overlap_map([deconv(k, s, padding=p, dilation=d, kind="conv")], (h, w), gradient=True)
    np.testing.assert_array_equal(
        r.to_array(), np.array(ref.conv2d_input_gradient(h, w, (k, k), (s, s), (p, p), (d, d)))
    )


# ---------------------------------------------------------------------------------------------
# Brute force
# ---------------------------------------------------------------------------------------------

_pair = st.tuples(st.integers(1, 5), st.integers(1, 5))


@st.composite
def _deconv_params(draw: st.DrawFn) -> dict[str, tuple[int, int]]:
    k = draw(_pair)
    s = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    p = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in (0, 1))
    return {"k": k, "s": s, "p": p, "op": op, "d": d}  # type: ignore[dict-item]


@settings(max_examples=80, deadline=None)
@given(params=_deconv_params(), h=st.integers(1, 9), w=st.integers(1, 9))
def test_single_deconv_matches_brute_force(
    params: dict[str, tuple[int, int]], h: int, w: int
) -> None:
    k, s, p, op, d = (params[n] for n in ("k", "s", "p", "op", "d"))
    ho = (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
    wo = (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1
    layer = deconv(k, s, padding=p, output_padding=op, dilation=d)
    if ho <= 0 or wo <= 0:
        with pytest.raises(SizeError):
            overlap_map([layer], (h, w))
        return
    r = overlap_map([layer], (h, w))
    expected = np.array(ref.conv_transpose2d(ref.ones(h, w), k, s, p, op, d))
    np.testing.assert_array_equal(r.to_array(), expected)


@settings(max_examples=40, deadline=None)
@given(
    layers=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2)), min_size=1, max_size=3
    ),
    n=st.integers(2, 6),
    tail=st.integers(0, 5),
)
def test_stack_matches_brute_force_and_interior_is_border_free(
    layers: list[tuple[int, int, int]], n: int, tail: int
) -> None:
    """A stack of deconvs (+ an optional stride-1 conv) against naive loops; interior cells
    equal the map of a much larger input (so no border reaches them)."""
    stack = [deconv(k, s, padding=min(p, k - 1)) for k, s, p in layers]
    if tail:
        stack.append(deconv(tail, 1, padding=tail // 2, kind="conv"))
    try:
        r = overlap_map(stack, n)
    except SizeError:
        return
    x = ref.ones(n, n)
    for layer in stack:
        a = layer.y
        if layer.kind == "deconv":
            x = ref.conv_transpose2d(x, (a.kernel,) * 2, (a.stride,) * 2, (a.padding,) * 2)
        else:
            x = ref.conv2d(x, (a.kernel,) * 2, p=(a.padding,) * 2)
    np.testing.assert_array_equal(r.to_array(), np.array(x))
    # Interior soundness: growing the input by M samples on each side (M a multiple of
    # nothing in particular: every layer here only upsamples) shifts the output by M * prod(s)
    up = math.prod(layer.y.stride for layer in stack)
    margin = 6
    big = overlap_map(stack, n + 2 * margin)
    shift = margin * up
    inner = big.values_y[shift : shift + len(r.values_y)]
    np.testing.assert_array_equal(r.values_y[r.interior_y], inner[r.interior_y])


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    h=st.integers(1, 8),
    padding=st.sampled_from(["same", "valid"]),
)
def test_tf_deconv_matches_adjoint_of_forward_conv(k: int, s: int, h: int, padding: str) -> None:
    r = overlap_map([deconv(k, s, tf_padding=padding)], (h, h + 1))
    expected = np.array(ref.tf_conv_transpose2d(ref.ones(h, h + 1), (k, k), (s, s), padding))
    np.testing.assert_array_equal(r.to_array(), expected)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_padding_modes_match_brute_force(mode: str) -> None:
    r = _fmap(f"deconv k3 s2, conv k5 p2 {mode}", 5)
    x = ref.conv_transpose2d(ref.ones(5, 5), (3, 3), (2, 2))
    x = ref.conv2d(x, (5, 5), p=(2, 2), mode=mode)
    np.testing.assert_allclose(r.to_array(), np.array(x), rtol=1e-12)


def test_blur_and_resize_match_brute_force() -> None:
    r = _fmap("deconv k3 s2, blur 4, bilinear x2, nearest x2", 4)
    x = ref.conv_transpose2d(ref.ones(4, 4), (3, 3), (2, 2))
    b = ref.binomial(4)
    x = ref.conv2d(x, (4, 4), taps=(b, b), pads=((1, 2), (1, 2)))
    x = ref.nearest(ref.bilinear(x, (2, 2)), (2, 2))
    np.testing.assert_allclose(r.to_array(), np.array(x), rtol=1e-12)
    assert r.even  # [1,3,3,1] contains the zero-order hold: the k3s2 pattern is gone


# ---------------------------------------------------------------------------------------------
# Defaults, sizes, advice
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["deconv k3 s2", "2x deconv k3 s2 p1 op1", "pix2pixhd", "dcgan"])
def test_default_input_shows_borders_and_interior_periods(spec: str) -> None:
    layers = parse_layers(spec)
    size = default_input_size(layers)
    r = overlap_map(layers, size)
    need = 3 * r.y.period if r.y.period <= 8 else 2 * r.y.period
    assert int(r.interior_y.sum()) >= need
    assert r.border[0][0] + r.border[0][1] > 0  # a border is shown
    # and it is the smallest such input
    smaller = overlap_map(layers, (size[0] - 1, size[1] - 1))
    assert int(smaller.interior_y.sum()) < max(need, 4)


def test_statistics_do_not_depend_on_the_input_size() -> None:
    for n in (1, 2, 3, 7):
        r = _fmap("3x deconv k3 s2", n)
        assert list(r.y.pattern) in _rotations([4, 3, 5, 2, 5, 3, 4, 1])


def test_tf_same_conv_phase_depends_on_size_parity() -> None:
    # TF 'same' pads (k - s) split by the size parity: the pattern phase follows the input size
    a = _fmap("deconv k3 s2, conv k3 s2 same, deconv k3 s2", 8)
    b = _fmap("deconv k3 s2, conv k3 s2 same, deconv k3 s2", 9)
    for r in (a, b):
        idx = np.flatnonzero(r.interior_y)
        for i in idx:
            assert r.values_y[i] == r.y.pattern[i % r.y.period]


@pytest.mark.parametrize(
    "spec",
    [
        "deconv k3 s2 p1 op1",
        "deconv k5 s2 p2 op1",
        "deconv k3 s2",
        "deconv k5 s3 p1",
        "deconv k7 s4 p2",
    ],
)
def test_suggested_fixes_are_even_and_keep_the_output_size(spec: str) -> None:
    r = _fmap(spec, 6)
    assert r.suggestions
    text = r.suggestions[0].split("): ", 1)[1]  # after "layer 1 ('...'): "
    alternatives = [a for a in text.split("'") if a.startswith(("deconv", "nearest"))]
    assert alternatives
    for alt in alternatives:
        fixed = overlap_map(parse_layers(alt), 6)
        assert fixed.even, alt
        if alt.startswith("deconv"):
            assert fixed.shape == r.shape, alt
    blur = "blur 2" if "s2" in spec else f"box {spec.split(' s')[1][0]}"
    assert blur in text
    assert overlap_map(parse_layers(f"{spec}, {blur}"), 6).even


def test_gradient_suggestions_name_divisible_kernels() -> None:
    r = _fmap("conv k3 s2 p1", 16, gradient=True)
    assert "k2" in r.suggestions[0] and "k4" in r.suggestions[0]


def test_even_map_has_no_fix_but_warns_about_weights() -> None:
    r = _fmap("deconv k4 s2 p1")
    assert r.even and not r.suggestions
    assert any("weights" in n for n in r.notes)


@pytest.mark.parametrize(
    ("spec", "size"),
    [
        ("conv k5", 3),  # shrinks to nothing
        ("conv k3 s2, conv k3 s2, conv k3 s2", 4),
        ("deconv k3 s2 p5", 1),
        ("conv k7 p3 reflect", 3),  # reflect padding wider than the input
        ("64x nearest x2", 1),  # absurd growth
    ],
)
def test_impossible_sizes_raise(spec: str, size: int) -> None:
    with pytest.raises(SizeError):
        overlap_map(parse_layers(spec), size)


@pytest.mark.parametrize("size", [0, -3, 10**7])
def test_bad_input_size_raises(size: int) -> None:
    with pytest.raises(SizeError):
        overlap_map(parse_layers("deconv k3 s2"), size)


def test_to_array_refuses_absurd_maps() -> None:
    r = overlap_map(parse_layers("deconv k3 s2"), (2**20, 2**20))
    with pytest.raises(SizeError):
        r.to_array()
    assert r.ratio_2d == 4  # statistics still available


def test_no_layers() -> None:
    with pytest.raises(LayerSpecError):
        overlap_map([])


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=25)
@given(st.integers(2, 5))
def test_deep_stacks_are_analysed(n: int) -> None:
    r = overlap_map([deconv(3, 2, padding=1, output_padding=1)] * (2 * n))
    assert r.y.structural_period == 2 ** (2 * n)


@pytest.mark.parametrize(
    "spec", ["cyclegan", "pix2pixhd", "conv k3 s2 p1 reflect", "conv k3 s1 p1 circular"]
)
def test_gradient_through_padding_modes(spec: str) -> None:
    for n in (7, 16):
        r = overlap_map(parse_layers(spec), n, gradient=True)
        assert r.ratio_2d >= 1


@pytest.mark.parametrize(
    "spec",
    ["deconv k3x5 s3x2 p0x2 op0x1", "deconv k5x3 s2x3", "deconv k3x4 s2x2 p1x1 op1x0",
     "deconv k5x3 s2x2 p2x1 op1x1"],
)  # fmt: skip
def test_fixes_of_a_layer_whose_axes_differ_keep_each_axis(spec: str) -> None:
    import re

    r = overlap_map(parse_layers(spec), 9)
    (fix,) = r.suggestions
    proposed = re.findall(r"'([^']+)'", fix)[1:]  # the first quote is the layer itself
    assert proposed, fix
    original = parse_layers(spec)
    for text in proposed:
        alt = parse_layers(text)
        if not text.startswith("deconv"):  # resize-conv: the same factor on each axis
            assert [alt[0].y.stride, alt[0].x.stride] == [
                original[0].y.stride,
                original[0].x.stride,
            ]
            continue
        for n in (5, 8, 13):  # the same output size on both axes
            for a in (0, 1):
                want, got = n, n
                for layer in original:
                    want = layer.axis(a).output_size(want)
                for layer in alt:
                    got = layer.axis(a).output_size(got)
                assert got == want, (text, a, n)
        assert overlap_map(alt, 9).even, text
