"""The text filter of candidate lines (``engine._text_lines``): the lines it gives are the
lines where the candidate pattern (with ``.add(`` and target aliases where they apply)
matches, found here by a plain ``re.finditer`` over the whole text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cbdiag.lint import engine

from .test_skeleton import _stdlib_sources

ROOT = Path(__file__).resolve().parents[2]


def _reference(source: str) -> list[int]:
    base = engine._CANDIDATE.pattern
    if "Sequential" in source:
        base += r"|\.add\("
    aliases = engine._target_aliases(source)
    if aliases:
        base += r"|\b(?:" + "|".join(sorted(map(re.escape, aliases))) + r")\b"
    lines = {source.count("\n", 0, m.start()) + 1 for m in re.finditer(base, source)}
    return sorted(lines)


CASES = [
    "x = nn.ConvTranspose2d(1, 1, 3, 2)\n",
    "y = ConvTransposeX\nz = Conv4d\nw = Conv\n",  # (ConvTranspose: a match; Conv4d, Conv: none)
    "a = F.conv_transpose2d(x, w)\nb = tf.nn.conv2d_transpose(x)\nc = xconv_transpose\n",
    "d = _transpose\ne = conv3d_transpose\nf = conv2d_transposed\n",
    "g = layers.Convolution2DTranspose(8, 5)\nh = Convolution4DTranspose\ni = Conv1D\n",
    "j = ConvConv2d + Conv3dConv1d\nk = PixelShuffle(2)\nl = pixel_shuffle(x, 2)\n",
    "m = tf.nn.depth_to_space(x, 2)\nmodel.add(x)\n",  # (.add( without a Sequential: no)
    "model = Sequential()\nmodel.add(Conv2DTranspose(8, 5, 2))\nother.add(1)\n",
    "from torch.nn import ConvTranspose2d as Up\nu = Up(1, 1, 3, 2)\nUpper = 1\n",
    "from torch.nn import Conv2d as C, PixelShuffle as PS\nC(1, 4, 3)\nPS(2)\nxPS\n",
    "Conv2d",
    "_transpose",
    "conv_transpose",
    "é = 1; ConvTranspose2d\n\n\n# Conv2d in a comment\n'PixelShuffle'\n",
]


@pytest.mark.parametrize("source", CASES)
def test_candidate_lines_are_where_the_pattern_matches(source: str) -> None:
    assert engine._text_lines(source)[0] == _reference(source)


def test_candidate_lines_are_where_the_pattern_matches_on_real_code() -> None:
    paths = [
        *_stdlib_sources(),
        *sorted((ROOT / "cbdiag").rglob("*.py")),
        *sorted((ROOT / "samples").rglob("*.py")),
        *sorted((ROOT / "tests").rglob("*.py")),
    ]
    hits = 0
    for path in paths:
        source = path.read_text(encoding="utf-8")
        got = engine._text_lines(source)[0]
        assert got == _reference(source), path
        hits += len(got)
    assert hits > 500  # (the files hold many candidate names: the comparison means something)


def test_every_name_of_the_candidate_pattern_is_found() -> None:
    """The scan finds each name by its own ``str.find``: a name added to the pattern and not
    to the scan would be missed. Each alternative of the pattern, its character classes
    spelled with their first character, must give its line."""
    plain = engine._CANDIDATE.pattern.removesuffix(engine._NETS.pattern)
    assert plain != engine._CANDIDATE.pattern
    alternatives = plain.rstrip("|").split("|")
    assert len(alternatives) >= 10
    for alt in alternatives:
        name = re.sub(r"\[(.)[^\]]*\]", r"\1", alt)
        assert re.fullmatch(r"\w+", name), alt  # (a plain name once its classes are spelled)
        source = f"x = 1\ny = {name}(1)\n"
        assert engine._text_lines(source)[0] == [2], name


def test_monai_network_names_are_found_as_whole_words_only() -> None:
    """Every MONAI network the model knows is a candidate by its leaf name, found as a word:
    ``nnUNetTrainer`` (nnU-Net names everything so) or ``UNet2`` are other names."""
    from cbdiag.lint.targets import MONAI_EVEN_NETS, MONAI_UNET

    leaves = {n.rsplit(".", 1)[1] for n in (*MONAI_UNET, *MONAI_EVEN_NETS)}
    assert {"UNet", "Unet", "BasicUNet", "DynUNet", "UNETR", "SwinUNETR"} <= leaves
    for name in sorted(leaves):
        for source in (f"x = 1\ny = {name}(1)\n", f"x = 1\ny = nets.{name}(1)\n"):
            lines, pattern = engine._text_lines(source)
            assert lines == [2], source
            assert pattern.search(f".{name}("), name
    for other in ("nnUNetTrainer", "UNet2", "MyUNet", "get_UNETR", "Unets"):
        source = f"x = 1\ny = {other}(1)\n"
        assert engine._text_lines(source)[0] == [], other
        assert not engine._CANDIDATE.search(f"{other}("), other


def test_whole_words_match_where_word_boundaries_around_a_group_do() -> None:
    """``whole_words`` spells ``\\b(?:a|b)\\b`` as flat alternatives (a pattern that starts
    with a boundary or a group is scanned ten times slower). The spans it finds are those of
    the plain form, on words that start, end or hold a name, after a dot, a digit, an
    underscore or a letter not ASCII, and on real code."""
    names = [*engine._NET_NAMES, "Up", "Upper", "C", "PS", "é_conv"]
    plain = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    flat = re.compile(engine.whole_words(names))
    texts = [
        "UNet nnUNet UNet2 _UNet UNet_ x.UNet( éUNet UNeté 2UNet UNETR SwinUNETR(",
        "Up(Upper) Upp xUp Up.C C2 (C) PS,PS é_conv é_convx a.é_conv",
        "".join(n + " " for n in names) + "".join(n for n in names),
        *(p.read_text(encoding="utf-8") for p in _stdlib_sources()),
    ]
    found = 0
    for text in texts:
        want = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in flat.finditer(text)] == want
        found += len(want)
    assert found > 50
    assert engine._NETS.pattern == engine.whole_words(engine._NET_NAMES)


def test_the_code_filter_reads_each_line_as_split_gives_it() -> None:
    """``_in_code`` takes a line's text from the newline table. Another line's text (a table
    read one line off) would change which lines pass, where the text decides it (a one-line
    statement with no string or comment). Compared with the filter fed the lines of
    ``str.split``, on sources ending with and without a newline and with CRLF endings."""
    import ast

    cases = [
        'x = nn.ConvTranspose2d(1, 1, 3, 2)\ns = "nn.ConvTranspose2d(1, 1, 3, 2)"\n',
        'a = 1\nb = nn.ConvTranspose2d(1, 1, 3, 2)  # nn.Conv2d\nc = "Conv2d"',
        'x = nn.ConvTranspose2d(1, 1, 3, 2)\r\ns = "nn.Conv2d(1, 1, 3)"\r\n',
        *(p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples").rglob("*.py"))),
        *(p.read_text(encoding="utf-8") for p in sorted((ROOT / "cbdiag").rglob("*.py"))),
    ]
    checked = 0
    for source in cases:
        lines, pattern = engine._text_lines(source)
        tree = ast.parse(source)
        texts = source.split("\n")
        want = [n for n in lines if engine._names_in_code(tree, n, pattern, texts[n - 1])]
        assert engine._in_code(source, tree, lines, pattern) == want, source[:60]
        assert engine._in_code(source, tree, lines, pattern, engine.newline_offsets(source)) == want
        checked += len(lines)
    assert checked > 150  # (lines the comparison covers)


def test_the_word_before_an_alias_is_the_one_a_backward_search_finds() -> None:
    """``word_before`` reads back from the end of a window what ``([\\w.]+)[ \\t]*$`` (or
    ``(\\w+)[ \\t]*$``) searched in the window finds, for every window of texts mixing words,
    dots, spaces, tabs, newlines, digits and letters not ASCII."""
    import random

    from cbdiag.lint.structure import word_before

    rng = random.Random(7)
    alphabet = ["a", "B", "_", "7", "é", ".", " ", "\t", "\n", "(", "as"]
    dotted, plain = re.compile(r"([\w.]+)[ \t]*$"), re.compile(r"(\w+)[ \t]*$")
    seen = set()
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        lo = rng.randint(0, len(text))
        end = rng.randint(lo, len(text))
        for dots, pattern in ((True, dotted), (False, plain)):
            m = pattern.search(text, lo, end)
            got = word_before(text, lo, end, dots=dots)
            assert got == (m.group(1) if m else None), (text, lo, end, dots)
            seen.add(got is None)
    assert seen == {True, False}


MULTI_LINE = '''
import torch.nn as nn

net = nn.Sequential(
    nn.ConvTranspose2d(8, 4, 3, 2),
    nn.Conv2d(4, 4, 3),
)
doc = f(
    """
    nn.ConvTranspose2d(8, 4, 3, 2)
    """,
    nn.Conv2d(4, 4, 3),
)
text = ("a\\
nn.ConvTranspose2d(8, 4, 3, 2)\\
b")
x: Tuple[
    nn.ConvTranspose2d
] = nn.Conv2d(1, 1, 1)


def ConvTranspose2d_block(
    a=nn.Conv2d,
):
    return a


@decorate(
    nn.ConvTranspose2d
)
class B:
    pass
'''


def test_lines_inside_statements_of_several_lines_are_filtered_as_each_alone() -> None:
    """``_in_code`` takes a plain line (no string, comment or colon) inside a simple statement
    of several lines as code, when the statement holds no triple quote or backslash; every
    other line is decided by the statement's nodes on it. Both give what the nodes give, on
    lines inside strings, annotations, headers and decorators, and on real code."""
    import ast

    from cbdiag.lint.structure import lines_span, newline_offsets

    sources = [
        MULTI_LINE,
        *(p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples").rglob("*.py"))),
        *(p.read_text(encoding="utf-8") for p in sorted((ROOT / "cbdiag").rglob("*.py"))),
        *(p.read_text(encoding="utf-8") for p in _stdlib_sources()),
    ]
    inside = 0
    for source in sources:
        lines, pattern = engine._text_lines(source)
        tree = ast.parse(source)
        nl = newline_offsets(source)
        want = [
            n
            for n in lines
            if engine._names_in_code(
                tree, n, pattern, source[slice(*lines_span(nl, len(source), n, n))]
            )
        ]
        assert engine._in_code(source, tree, lines, pattern, nl) == want
        inside += sum(
            1
            for n in want
            if (st := engine.statement_at(tree.body, n)) is not None and st.lineno < n
        )
    got = engine._in_code(MULTI_LINE, ast.parse(MULTI_LINE), *engine._text_lines(MULTI_LINE))
    lines = MULTI_LINE.split("\n")
    kept = {lines[n - 1].strip() for n in got}
    assert "nn.ConvTranspose2d(8, 4, 3, 2)," in kept and "nn.Conv2d(4, 4, 3)," in kept
    assert "nn.ConvTranspose2d(8, 4, 3, 2)" not in kept  # (in the strings)
    assert "nn.ConvTranspose2d" not in kept  # (in the annotation, or a decorator's line)
    assert inside >= 10  # (lines inside statements of several lines were compared)
