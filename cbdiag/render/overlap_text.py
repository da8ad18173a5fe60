"""Terminal view of an overlap result: a heatmap with the border marked, then the numbers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..layers import stack_label
from ..overlap import AxisResult, OverlapResult
from .colormap import greys, hex_color, normalise, text_on, viridis

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
        text.append(
            f"(showing rows {r0}-{r0 + rows - 1} of {h}, columns {c0}-{c0 + cols - 1} of {w})\n",
            "dim",
        )
    return text


def _pattern(a: AxisResult) -> str:
    return "[" + ", ".join(fmt(v) for v in a.pattern) + "]"


def strongest(a: AxisResult, n: int = 6) -> list[tuple[int, float]]:
    """The ``n`` strongest spectral lines of the pattern, strongest first."""
    return sorted(a.spectrum, key=lambda qa: -qa[1])[:n]


def _spectrum(a: AxisResult) -> str:
    if not a.spectrum:
        return "flat"
    top = ", ".join(f"{Fraction(q, a.period)}: {amp:.3g}" for q, amp in strongest(a))
    more = len(a.spectrum) - min(len(a.spectrum), 6)
    return top + (f" (+{more} weaker)" if more else "")


def summary_table(result: OverlapResult) -> Table:
    """Period, pattern, extremes and ratios per axis and in 2-D."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("", "period", "interior pattern (one period)", "min", "max", "max/min"):
        table.add_column(col)
    for name, a in (("y (rows)", result.y), ("x (cols)", result.x)):
        table.add_row(name, str(a.period), _pattern(a), fmt(a.min), fmt(a.max), fmt(a.ratio))
    table.add_row(
        "2-D",
        f"{result.y.period}x{result.x.period}",
        "outer product",
        fmt(result.min),
        fmt(result.max),
        fmt(result.ratio_2d),
        style="bold",
    )
    return table


def stages_table(result: OverlapResult) -> Table:
    """Cumulative statistics layer by layer (how the unevenness compounds)."""
    title = "gradient at each layer's input" if result.gradient else "after each layer"
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    for col in ("#", "layer", "size", "period", "ratio y", "ratio x", "ratio 2-D"):
        table.add_column(col)
    for i, st in enumerate(result.stages):
        table.add_row(
            str(i + 1),
            st.layer.spec,
            f"{st.size[0]}x{st.size[1]}",
            f"{st.y.period}x{st.x.period}",
            fmt(st.y.ratio),
            fmt(st.x.ratio),
            fmt(st.ratio_2d),
        )
    return table


def render(result: OverlapResult, *, width: int, color: bool) -> RenderableType:
    """Everything ``cbdiag overlap`` prints in text mode."""
    h, w = result.shape
    ih, iw = result.input_size
    what = "gradient map (paths back to each input pixel)" if result.gradient else "overlap map"
    head = Text()
    head.append(f"{what}: ", style="bold")
    head.append(stack_label(result.layers))
    head.append(f"   input {ih}x{iw} -> map {h}x{w}\n", style="dim")
    (top, bottom), (left, right) = result.border
    legend = Text(
        f"border (grey{'' if color else ', marked ·'}): top {top}, bottom {bottom}, "
        f"left {left}, right {right}; interior in colour\n",
        style="dim",
    )
    parts: list[RenderableType] = [head, heatmap(result, width, color), legend]
    parts.append(summary_table(result))
    verdict = Text()
    if result.holes:
        verdict.append("HOLES", style="bold red")
        verdict.append(
            ": some interior pixels get no gradient at all\n"
            if result.gradient
            else ": some interior pixels receive no input at all\n"
        )
    elif result.even:
        verdict.append("EVEN", style="bold green")
        verdict.append(": every interior pixel receives the same number of paths\n")
    else:
        verdict.append("UNEVEN", style="bold yellow")
        verdict.append(
            f": interior max/min {fmt(result.y.ratio)} (y) x {fmt(result.x.ratio)} (x) = "
            f"{fmt(result.ratio_2d)} in 2-D\n"
        )
    parts.append(Text("\n") + verdict)
    spec = Text(f"spectrum of the pattern (|X_f|/X_0 at f cycles/pixel): y {_spectrum(result.y)}")
    spec.append(f"; x {_spectrum(result.x)}\n", style=None)
    parts.append(spec)
    if len(result.layers) > 1:
        parts.append(stages_table(result))
        parts.append(Text(""))
    if result.notes:
        notes = Text("notes:\n", style="bold")
        for n in result.notes:
            notes.append(f"  - {n}\n", style="")
        parts.append(notes)
    if result.suggestions:
        fix = Text("fix:\n", style="bold")
        for s in result.suggestions:
            fix.append(f"  - {s}\n", style="")
        parts.append(fix)
    return Group(*parts)
