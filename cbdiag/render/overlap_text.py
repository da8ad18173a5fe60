"""Terminal view of an overlap result: a heatmap with the border marked, then the numbers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from rich.text import Text

from ..layers import stack_label
from ..overlap import AxisResult, OverlapResult
from .colormap import greys, hex_color, normalise, text_on, viridis
from .layout import (
    Cell,
    Column,
    Line,
    layer_units,
    paragraph,
    table,
    to_text,
    units,
    wrap,
)

#: Widest heatmap drawn (a pipe without COLUMNS has no width: the map is a window of this many
#: columns, its position given under it).
GRID_WIDTH = 80

MAX_ROWS = 40
SHADES = " .:-=+*#%@"


def fmt(v: float) -> str:
    """Short number: integers without a decimal point, others to 4 significant digits."""
    if v == float("inf"):
        return "inf"
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def interior_range(result: OverlapResult) -> tuple[float, float]:
    """Interior min and max of the 2-D map: the range the colour scale spans."""
    return result.min, result.max


def _colour(v: float, inside: bool, lo: float, hi: float, vmax: float) -> np.ndarray:
    if inside:
        t = (v - lo) / (hi - lo) if hi > lo else 0.5
        return viridis(min(max(t, 0.0), 1.0))
    return greys(float(normalise(np.array(v), vmax)))


def window(interior: np.ndarray, limit: int, lead: int = 4) -> tuple[int, int]:
    """(start, count) of the cells to show along one axis: everything if it fits, else a
    window that starts ``lead`` cells before the interior, so the border edge and the
    interior pattern are both visible."""
    n = len(interior)
    limit = max(limit, 1)
    if n <= limit:
        return 0, n
    idx = np.flatnonzero(interior)
    start = max(0, int(idx[0]) - lead) if len(idx) else 0
    start = min(start, n - limit)
    return start, limit


def heatmap(result: OverlapResult, width: int, color: bool) -> Text:
    """The map as a grid of numbers (or shade blocks when the numbers would not fit).

    Interior cells are coloured with viridis, border cells in grey; without colour the border
    cells are marked with ``·`` so the distinction survives ``NO_COLOR`` and pipes.
    """
    vy, vx = result.values_y, result.values_x
    iy, ix = result.interior_y, result.interior_x
    vmax = float(vy.max() * vx.max())
    lo, hi = interior_range(result)
    r0, rows = window(iy, MAX_ROWS)
    c0, _ = window(ix, width // 2)
    sample = np.outer(vy[r0 : r0 + rows], vx[c0 : c0 + width // 2])
    cell = max(len(fmt(float(v))) for v in sample.ravel()) + 1
    need = min(len(vx), 4 + 2 * result.x.period + 1)
    numeric = cell * need <= width
    c0, cols = window(ix, width // cell if numeric else width)
    text = Text()
    for r in range(r0, r0 + rows):
        for c in range(c0, c0 + cols):
            v = float(vy[r] * vx[c])
            inside = bool(iy[r] and ix[c])
            if numeric:
                label = fmt(v).rjust(cell - 1)
                if color:
                    bg = _colour(v, inside, lo, hi, vmax)
                    style = f"{text_on(bg)} on {hex_color(bg)}"
                    text.append(" " + label, style=style if inside else style + " dim")
                else:
                    text.append(("·" if not inside else " ") + label)
            elif color:
                text.append(" ", style=f"on {hex_color(_colour(v, inside, lo, hi, vmax))}")
            else:
                t = (v - lo) / (hi - lo) if inside and hi > lo else v / vmax if vmax else 0.0
                t = min(max(t, 0.0), 1.0)
                ch = SHADES[min(int(t * (len(SHADES) - 1) + 0.5), len(SHADES) - 1)]
                text.append(ch if inside else "·")
        text.append("\n")
    h, w = result.shape
    if rows < h or cols < w:
        shown = f"(showing rows {r0}-{r0 + rows - 1} of {h}, columns {c0}-{c0 + cols - 1} of {w})"
        for line in paragraph(shown, width):
            text.append(line + "\n", "dim")
    return text


def _pattern(a: AxisResult) -> str:
    return "[" + ", ".join(fmt(v) for v in a.pattern) + "]"


def strongest(a: AxisResult, n: int = 6) -> list[tuple[int, float]]:
    """The ``n`` strongest spectral lines of the pattern, strongest first."""
    return sorted(a.spectrum, key=lambda qa: -qa[1])[:n]


#: The summary table's row label of each axis, by number of axes.
AXIS_LABELS = {
    1: ("t (samples)",),
    2: ("y (rows)", "x (cols)"),
    3: ("z (planes)", "y (rows)", "x (cols)"),
}


def summary_table(result: OverlapResult, width: int) -> list[Line]:
    """Period, pattern, extremes and ratios per axis, and of the whole map (2-D, 3-D)."""
    cols = [
        Column(""),
        Column("period"),
        Column("pattern (one period)"),
        Column("min", right=True),
        Column("max", right=True),
        Column("max/min", right=True),
    ]
    rows: list[list[Cell]] = [
        [name, str(a.period), _pattern(a), fmt(a.min), fmt(a.max), fmt(a.ratio)]
        for name, a in zip(AXIS_LABELS[result.ndim], result.axes, strict=True)
    ]
    if result.ndim > 1:
        rows.append(
            [
                f"{result.ndim}-D",
                "x".join(str(a.period) for a in result.axes),
                "outer product",
                fmt(result.min),
                fmt(result.max),
                fmt(result.ratio),
            ]
        )
    return table(cols, rows, width, row_styles=[None] * (len(rows) - 1) + ["bold"])


def stages_table(result: OverlapResult, width: int) -> list[Line]:
    """Cumulative statistics layer by layer (how the unevenness compounds)."""
    title = "gradient at each layer's input" if result.gradient else "after each layer"
    cols = [
        Column("#", right=True),
        Column("layer"),
        Column("size"),
        Column("period"),
        Column("ratio y", right=True),
        Column("ratio x", right=True),
        Column("ratio 2-D", right=True),
    ]
    rows: list[list[Cell]] = [
        [
            str(i + 1),
            st.layer.spec,
            f"{st.size[0]}x{st.size[1]}",
            f"{st.y.period}x{st.x.period}",
            fmt(st.y.ratio),
            fmt(st.x.ratio),
            fmt(st.ratio_2d),
        ]
        for i, st in enumerate(result.stages)
    ]
    return [[(title, None)], *table(cols, rows, width)]


def _spectrum_units(name: str, a: AxisResult) -> list[str]:
    if not a.spectrum:
        return [f"{name} flat"]
    top = [f"{name} {Fraction(q, a.period)}: {amp:.3g}" for q, amp in strongest(a)]
    more = len(a.spectrum) - min(len(a.spectrum), 6)
    return top + ([f"(+{more} weaker)"] if more else [])


def heading(what: str, result: OverlapResult, width: int) -> list[Line | str]:
    """``WHAT: the stack  input HxW -> map HxW``, wrapped between layers, and a blank line."""
    size = "x".join(map(str, result.input_size))
    shape = "x".join(map(str, result.shape))
    head = wrap(
        [f"{what}:", *layer_units(stack_label(result.layers)), f"  input {size} -> map {shape}"],
        width,
        rest="    ",
    )
    lines: list[Line | str] = [[(head[0], "bold")]]
    lines += [[(ln, None)] for ln in head[1:]]
    return [*lines, ""]


def notes_and_fixes(result: OverlapResult, width: int) -> list[Line | str]:
    """The ``notes:`` and ``fix:`` sections, one wrapped item per sentence."""
    lines: list[Line | str] = []
    for title, items in (("notes:", result.notes), ("fix:", result.suggestions)):
        if items:
            lines.append("")
            lines.append([(title, "bold")])
            for item in items:
                lines += paragraph(item, width, "  - ", "    ")
    return lines


def render(result: OverlapResult, *, width: int, color: bool) -> Text:
    """Everything ``cbdiag overlap`` prints in text mode, laid out for ``width`` columns."""
    what = "gradient map (paths back to each input pixel)" if result.gradient else "overlap map"
    lines = heading(what, result, width)
    out = Text()
    out.append_text(to_text(lines))
    out.append_text(heatmap(result, min(width, GRID_WIDTH), color))
    (top, bottom), (left, right) = result.border
    if result.interior_empty:
        legend = (
            f"border ({'grey' if color else 'marked ·'}): the whole map; no pixel is far "
            "enough from the edges to be interior at this input size (a larger --input-size "
            "shows the interior)"
        )
    else:
        legend = (
            f"border (grey): top {top}, bottom {bottom}, left {left}, right {right}; "
            "interior in colour"
            if color
            else f"border (marked ·): top {top}, bottom {bottom}, left {left}, right {right}; "
            "the rest is the interior"
        )
    lines = [[(ln, "dim")] for ln in paragraph(legend, width)]
    lines.append("")
    lines += summary_table(result, width)
    lines.append("")
    if result.holes:
        tag, style = "HOLES", "bold red"
        rest = (
            "some interior pixels get no gradient at all"
            if result.gradient
            else "some interior pixels receive no input at all"
        )
    elif result.even:
        tag, style = "EVEN", "bold green"
        rest = "every interior pixel receives the same number of paths"
    else:
        tag, style = "UNEVEN", "bold yellow"
        rest = (
            f"interior max/min {fmt(result.y.ratio)} (y) x {fmt(result.x.ratio)} (x) = "
            f"{fmt(result.ratio_2d)} in 2-D"
        )
    verdict = paragraph(f"{tag}: {rest}", width, rest="  ")
    lines.append([(tag, style), (verdict[0][len(tag) :], None)])
    lines += verdict[1:]
    items = _spectrum_units("y", result.y) + _spectrum_units("x", result.x)
    spec = units("spectrum of the pattern (|X_f|/X_0 at f cycles/pixel):")
    spec += [u + "," for u in items[:-1]] + items[-1:]
    lines += wrap(spec, width, rest="  ")
    if len(result.layers) > 1:
        lines.append("")
        lines += stages_table(result, width)
    lines += notes_and_fixes(result, width)
    out.append_text(to_text(lines))
    out.rstrip()
    return out
