"""The interior of a stack's map from the periodic model (plain Python) against the overlap
engine's interior (numpy, itself checked against PyTorch): the same smallest period, extremes,
max/min, evenness and holes, for every kind of layer and random stacks of them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbdiag.errors import CbdiagError
from cbdiag.interior import MAX_PERIOD, axis_pattern, stack_interior
from cbdiag.layers import parse_layers
from cbdiag.overlap import overlap_map


def _same(spec: str) -> None:
    layers = parse_layers(spec)
    try:
        ref = overlap_map(layers)
    except CbdiagError:
        return  # (the engine refuses it: the lint then falls back to the engine, see checks)
    got = stack_interior(layers)
    if got is None:  # (left to the engine: a strided convolution with TensorFlow padding)
        assert any(op.tf_padding == "same" and op.stride > 1 for x in layers for op in x.axes)
        return
    for mine, theirs in zip(got.axes, ref.axes, strict=True):
        assert mine.period == theirs.period, spec
        assert mine.holes == theirs.holes, spec
        assert mine.even == theirs.even, spec
        assert mine.min == pytest.approx(theirs.min, rel=1e-9), spec
        assert mine.max == pytest.approx(theirs.max, rel=1e-9), spec
        if math.isinf(theirs.ratio):
            assert math.isinf(mine.ratio), spec
        else:
            assert mine.ratio == pytest.approx(theirs.ratio, rel=1e-9), spec
        assert list(mine.pattern) == pytest.approx(list(theirs.pattern), rel=1e-9), spec
    assert got.ratio_2d == pytest.approx(ref.ratio_2d, rel=1e-9) or (
        math.isinf(got.ratio_2d) and math.isinf(ref.ratio_2d)
    )
    assert got.period == ref.period and got.even == ref.even and got.holes == ref.holes


@pytest.mark.parametrize(
    "spec",
    [
        "deconv k3 s2",
        "deconv k4 s2 p1",
        "deconv k3 s2, deconv k3 s2, deconv k3 s2",  # Fibonacci ratios
        "deconv k5 s3 d2, deconv k4 s2",
        "deconv k2 s3",  # holes
        "deconv k3 s2 p1 op1, conv k3 p1, deconv k4 s2 p1",
        "nearest x2, conv k3 p1, deconv k3 s2",
        "bilinear x2, deconv k3 s2",
        "bilinear x3, conv k3",
        "shuffle x2, deconv k5 s2",
        "deconv k3 s2, blur 3, deconv k3 s2",
        "deconv k3 s2, box 2, deconv k3 s2",
        "conv k3 s2, deconv k4 s2, deconv k3 s2",
        "deconv k3 s2 same, deconv k5 s2 valid",
        "conv k3 s2 same, conv k3 s2, deconv k3 s2, deconv k3 s2",
        "deconv k1 s3, conv k4 s3 p2",  # the phase a strided convolution keeps matters
        "conv k3 same, deconv k3 s2, conv k2 s2 p1, deconv k5 s2 p2",
        "deconv k3x5 s2x3, deconv k4x3 s2",
    ],
)
def test_the_periodic_model_gives_the_engines_interior(spec: str) -> None:
    _same(spec)


def _strided(kind: str, k: int, s: int, p: int) -> st.SearchStrategy[str]:
    """``kind`` with a kernel up to ``k``, a stride up to ``s``, padding up to ``p`` (below the
    kernel) and a dilation up to 3."""
    ks, ss, ps, ds = st.integers(1, k), st.integers(1, s), st.integers(0, p), st.integers(1, 3)
    return st.builds(
        lambda *v: f"{kind} k{v[0]} s{v[1]} p{min(v[2], v[0] - 1)} d{v[3]}", ks, ss, ps, ds
    )


_LAYER = st.one_of(
    _strided("deconv", 7, 4, 3),
    _strided("conv", 5, 3, 2),
    st.builds(lambda k, s: f"conv k{k} s{s} same", st.integers(1, 4), st.integers(1, 3)),
    st.builds(lambda k, s: f"deconv k{k} s{s} same", st.integers(1, 5), st.integers(1, 3)),
    st.builds(lambda f: f"nearest x{f}", st.integers(2, 3)),
    st.builds(lambda f: f"bilinear x{f}", st.integers(2, 3)),
    st.builds(lambda f: f"shuffle x{f}", st.integers(2, 3)),
    st.builds(lambda k: f"blur {k}", st.integers(2, 4)),
    st.builds(lambda k: f"box {k}", st.integers(2, 3)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LAYER, min_size=1, max_size=4))
def test_random_stacks_match_the_engine(specs: list[str]) -> None:
    _same(", ".join(specs))


def test_a_period_past_the_bound_is_left_to_the_engine() -> None:
    layers = parse_layers(", ".join(["deconv k3 s4"] * 7))  # period 4**7 > MAX_PERIOD
    assert MAX_PERIOD < 4**7
    assert stack_interior(layers) is None
    assert axis_pattern([layer.axis(0) for layer in layers[:2]]) is not None
