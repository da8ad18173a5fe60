"""The layer syntax: parsing, presets, canonical text, and every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbdiag.errors import LayerSpecError
from cbdiag.layers import (
    PRESETS,
    deconv,
    parse_layers,
    parse_pair,
    preset,
    preset_dims,
    stack_label,
)


def test_parse_single_and_repeat() -> None:
    layers = parse_layers("2x deconv k3 s2 p1 op1, conv k7 p3 reflect")
    assert [layer.spec for layer in layers] == [
        "deconv k3 s2 p1 op1",
        "deconv k3 s2 p1 op1",
        "conv k7 p3 reflect",
    ]
    y = layers[0].y
    assert (y.kernel, y.stride, y.padding, y.output_padding, y.dilation) == (3, 2, 1, 1, 1)
    assert layers[2].y.padding_mode == "reflect"


def test_per_axis_values_are_y_then_x() -> None:
    (layer,) = parse_layers("deconv k3x4 s2x1 p1x0")
    assert (layer.y.kernel, layer.x.kernel) == (3, 4)
    assert (layer.y.stride, layer.x.stride) == (2, 1)
    assert (layer.y.padding, layer.x.padding) == (1, 0)
    assert layer.spec == "deconv k3x4 s2x1 p1x0"


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("ConvTranspose k4 s2 p1", "deconv k4 s2 p1"),
        ("conv_transpose kernel=4 stride=2 padding=1", "deconv k4 s2 p1"),
        ("upsample 2", "nearest x2"),
        ("resize-bilinear x3", "bilinear x3"),
        ("pixelshuffle r2", "shuffle x2"),
        ("subpixel 2", "shuffle x2"),
        ("blur 4", "blur 4"),
        ("box 3 replicate", "box 3 replicate"),
        ("deconv k3 s2 same", "deconv k3 s2 same"),
        ("conv k3 s2 valid", "conv k3 s2 valid"),
        ("4*deconv k4 s2 p1", "deconv k4 s2 p1"),
        ("3xdeconv k4 s2 p1", "deconv k4 s2 p1"),
        ("deconv k3 s2 d2", "deconv k3 s2 d2"),
    ],
)
def test_aliases_and_canonical_text(text: str, spec: str) -> None:
    assert parse_layers(text)[0].spec == spec


def test_semicolons_and_whitespace() -> None:
    assert len(parse_layers("  deconv k3 s2 ;deconv k3 s2 ,  ")) == 2


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_parses_and_can_be_mixed(name: str) -> None:
    layers = preset(name)
    dims = preset_dims(name)
    assert layers and {la.ndim for la in layers} == {dims}
    assert parse_layers(f"{name}, blur 2", dims)[:-1] == layers
    if dims != 2:  # a vocoder's or a volume's stack is refused as an image's
        with pytest.raises(LayerSpecError, match=f"is a {dims}-D stack"):
            parse_layers(name)


def test_preset_case_insensitive() -> None:
    assert preset("CycleGAN") == preset("cyclegan")


@given(
    kind=st.sampled_from(["deconv", "conv"]),
    k=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    s=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    p=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_canonical_text_round_trips(
    kind: str,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    d: tuple[int, int],
) -> None:
    layer = deconv(k, s, padding=p, dilation=d, kind=kind)
    (again,) = parse_layers(layer.spec)
    assert again == layer


def test_group_repetition() -> None:
    layers = parse_layers("2x (nearest x2, conv k3 p1), blur 3")
    assert [la.spec for la in layers] == ["nearest x2", "conv k3 p1"] * 2 + ["blur 3"]
    nested = parse_layers("2x(deconv k3 s2, 2x (conv k3 p1))")
    assert [la.spec for la in nested] == (["deconv k3 s2"] + ["conv k3 p1"] * 2) * 2
    assert parse_layers("(conv k3 p1)") == parse_layers("conv k3 p1")
    assert parse_layers("2X (conv k3 p1)") == parse_layers("2x (conv k3 p1)")
    # the label groups repeated runs and reads back to the same stack
    assert stack_label(layers) == "2x (nearest x2, conv k3 p1), blur 3"
    assert parse_layers(stack_label(nested)) == nested
    assert stack_label(parse_layers("conv k3, conv k3, conv k3")) == "3x conv k3"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2x (nearest x2, conv k3 p1", "unbalanced '\\('"),
        ("conv k3 p1)", "unbalanced '\\)'"),
        ("2x ()", "empty group"),
        ("2x (conv k3) blur 2", "something follows the group's '\\)'.*with commas"),
        ("2x (nearest x2, conv k3 p1) 2x (deconv k4 s2 p1)", "separate layers and groups"),
        ("conv (k3)", "the repeat count before the parenthesis \\(got 'conv'\\)"),
        ("0x (conv k3)", "repeat count 0"),
        ("8x (8x (conv k3))", "64 layers is absurdly many|absurdly many"),
        ("9x (8x (conv k3))", "absurdly many"),
    ],
)
def test_bad_groups_are_refused(text: str, fragment: str) -> None:
    if text == "8x (8x (conv k3))":  # exactly the limit: accepted
        assert len(parse_layers(text)) == 64
        return
    with pytest.raises(LayerSpecError, match=fragment):
        parse_layers(text)


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("resize-conv", ["nearest x2", "conv k3 p1", "nearest x2", "conv k3 p1"]),
        ("subpixel", ["conv k3 p1", "shuffle x2", "conv k3 p1", "shuffle x2"]),
        ("dcgan", ["deconv k4 s2 p1"] * 4),
    ],
)
def test_presets_expand_to_what_they_say(name: str, layers: list[str]) -> None:
    """'then Conv 3x3, twice' means (upsample, conv) twice, not two upsamplers then a conv."""
    assert [la.spec for la in preset(name)] == layers
    assert ("twice" in PRESETS[name][1]) == (len(layers) == 4 and name != "dcgan")


def test_stack_label_groups_runs() -> None:
    layers = parse_layers("pix2pixhd")
    assert stack_label(layers) == "4x deconv k3 s2 p1 op1, conv k7 p3 reflect"
    assert parse_layers(stack_label(layers)) == layers


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("deconv k0 s2", "kernel must be >= 1"),
        ("deconv k3 s0", "stride must be >= 1"),
        ("deconv k-3 s2", "kernel must be >= 1"),
        ("deconv k3 s-2", "stride must be >= 1"),
        ("deconv k3 s2 d0", "dilation must be >= 1"),
        ("deconv k3 s2 p-1", "padding must be >= 0"),
        ("deconv k3 s2 op2", "output padding 2 must be smaller"),
        ("deconv k3 s1 op1", "output padding 1 must be smaller"),
        ("conv k3 s2 op1", "cannot read"),
        ("deconv s2", "needs a kernel size"),
        ("nearest", "needs a factor"),
        ("nearest x0", "scale factor must be >= 1"),
        ("frobnicate k3", "unknown layer kind"),
        ("deconv k3 s2 wibble", "cannot read 'wibble'"),
        ("deconv k3 s2 k5", "kernel given twice"),
        ("deconv k3 s2 p1 same", "either pN/opN"),
        ("deconv k5000 s2", "absurdly large"),
        ("deconv k3 s5000", "absurdly large"),
        ("100x deconv k4 s2", "repeat count"),
        ("40x deconv k4 s2, 40x deconv k4 s2", "absurdly many"),
        ("", "no layers"),
        (" , ", "no layers"),
        ("blur 0", "blur needs"),
    ],
)
def test_bad_layers_are_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(LayerSpecError, match=fragment):
        parse_layers(text)


def test_unknown_preset() -> None:
    with pytest.raises(LayerSpecError, match="unknown preset 'stylegan9'"):
        preset("stylegan9")


@pytest.mark.parametrize("text", ["", "3x", "axb", "3.5", "3x4x5"])
def test_parse_pair_refuses(text: str) -> None:
    with pytest.raises(LayerSpecError):
        parse_pair(text, "--kernel")


def test_errors_are_one_line() -> None:
    try:
        parse_layers("deconv k3\n s2 wibble\n")
    except LayerSpecError as exc:
        assert "\n" not in str(exc)
    else:  # pragma: no cover
        pytest.fail("no error")
