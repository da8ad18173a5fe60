"""Text and picture of the overlap map of a 1-D signal path (a vocoder) or a 3-D volume path
(a volumetric decoder): the per-axis patterns and ratios, a strip of the 1-D values with the
border marked, and for a volume one slice per phase of its depth pattern."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from rich.text import Text

from ..layers import AXIS_NAMES, stack_label
from ..overlap import CELL_NAMES, OverlapResult, fmt_size
from .colormap import greys, normalise, viridis
from .fonts import font
from .layout import Cell, Column, paragraph, table, to_text, units, wrap
from .overlap_text import (
    SHADES,
    _pattern,
    _spectrum_units,
    fmt,
    heading,
    notes_and_fixes,
    summary_table,
    window,
)

_WHOLE = {1: "1-D", 3: "3-D"}


def _strip(result: OverlapResult, width: int) -> list[str]:
    """The 1-D values as a row of shades (interior) and ``·`` (border), a window of at most
    ``width`` samples starting a little before the interior, with its position under it."""
    values, interior = result.values[0], result.interiors[0]
    start, count = window(interior, max(width, 8), lead=4)
    vals = values[start : start + count]
    inside = interior[start : start + count]
    lo, hi = result.min, result.max
    chars = []
    for v, ins in zip(vals, inside, strict=True):
        if not ins:
            chars.append("·")
            continue
        t = (float(v) - lo) / (hi - lo) if hi > lo else 1.0
        chars.append(SHADES[1 + round(t * (len(SHADES) - 2))])
    shown = (
        "all samples"
        if count == len(values)
        else f"samples {start}-{start + count - 1} of {len(values)}"
    )
    return ["".join(chars), f"({shown}; · = border, shades = interior min..max)"]


def render(result: OverlapResult, *, width: int) -> Text:
    """Everything ``cbdiag overlap --dims 1|3`` prints in text mode, laid out for ``width``."""
    nd = result.ndim
    what = "gradient map" if result.gradient else "overlap map"
    lines = heading(f"{_WHOLE[nd]} {what}", result, width)
    if nd == 1:
        lines += _strip(result, min(width, 80))
        lines.append("")
    borders = ", ".join(
        f"{name} {before}/{after}" if before is not None else f"{name} all"
        for name, (before, after) in zip(AXIS_NAMES[nd], result.border, strict=True)
    )
    lines += paragraph(f"border (before/after the interior): {borders}", width)
    lines.append("")
    lines += summary_table(result, width)
    lines.append("")
    if result.holes:
        tag, style, rest = "HOLES", "bold red", f"some interior {CELL_NAMES[nd]}s receive no input"
    elif result.even:
        tag, style = "EVEN", "bold green"
        rest = f"every interior {CELL_NAMES[nd]} receives the same number of paths"
    else:
        tag, style = "UNEVEN", "bold yellow"
        per = " x ".join(
            f"{fmt(a.ratio)} ({n})" for n, a in zip(AXIS_NAMES[nd], result.axes, strict=True)
        )
        rest = f"interior max/min {per}" + (f" = {fmt(result.ratio)} in 3-D" if nd == 3 else "")
    verdict = paragraph(f"{tag}: {rest}", width, rest="  ")
    lines.append([(tag, style), (verdict[0][len(tag) :], None)])
    lines += verdict[1:]
    unit = "cycles/sample"
    items: list[str] = []
    for name, a in zip(AXIS_NAMES[nd], result.axes, strict=True):
        items += _spectrum_units(name, a)
    spec = units(f"spectrum of the pattern (|X_f|/X_0 at f {unit}):")
    spec += [u + "," for u in items[:-1]] + items[-1:]
    lines += wrap(spec, width, rest="  ")
    if nd == 1 and result.axes[0].spectrum:
        a = result.axes[0]
        hz = [22050 * q / a.period for q, _ in sorted(a.spectrum)][:4]
        more = " ..." if len(a.spectrum) > 4 else ""
        lines += paragraph(
            f"lines at k/{a.period} cycles/sample: at 22050 Hz, "
            + ", ".join(f"{f:.0f}" for f in hz)
            + f"{more} Hz",
            width,
            rest="  ",
        )
    if len(result.layers) > 1:
        lines.append("")
        title = "gradient at each layer's input" if result.gradient else "after each layer"
        scols = [Column("#", right=True), Column("layer"), Column("size"), Column("period")]
        scols += [Column(f"ratio {n}", right=True) for n in AXIS_NAMES[nd]]
        if nd > 1:
            scols.append(Column(f"ratio {_WHOLE[nd]}", right=True))
        srows: list[list[Cell]] = []
        for i, st in enumerate(result.stages):
            row: list[Cell] = [str(i + 1), st.layer.spec, fmt_size(st.size)]
            row.append(fmt_size(tuple(a.period for a in st.axes)))
            row += [fmt(a.ratio) for a in st.axes]
            if nd > 1:
                row.append(fmt(st.ratio))
            srows.append(row)
        lines.append([(title, None)])
        lines += table(scols, srows, width)
    lines += notes_and_fixes(result, width)
    out = to_text(lines)
    out.rstrip()
    return out


# ---------------------------------------------------------------------------------------------
# PNG
# ---------------------------------------------------------------------------------------------

MAX_SAMPLES_SHOWN = 160
MAX_CELLS_SHOWN = 48


def _verdict(result: OverlapResult) -> str:
    if result.holes:
        return f"HOLES: interior {CELL_NAMES[result.ndim]}s with no input"
    if result.even:
        return "EVEN: flat interior"
    return f"UNEVEN: interior max/min {fmt(result.ratio)} in {_WHOLE[result.ndim]}"


def _frame(result: OverlapResult, body: Image.Image, caption: str) -> Image.Image:
    f_title, f_text = font(18), font(14)
    margin = 16
    width = max(body.width + 2 * margin, 640)
    what = "gradient map" if result.gradient else "overlap map"
    title = f"{_WHOLE[result.ndim]} {what}: {stack_label(result.layers)}"
    head, foot = 64, 74
    img = Image.new("RGB", (width, head + body.height + foot), (255, 255, 255))
    img.paste(body, (margin, head))
    draw = ImageDraw.Draw(img)
    while draw.textlength(title, font=f_title) > width - 2 * margin:
        title = title[:-2] + "…"
    draw.text((margin, 10), title, fill=(0, 0, 0), font=f_title)
    draw.text((margin, head - 26), caption, fill=(90, 90, 90), font=f_text)
    y0 = head + body.height + 10
    draw.text((margin, y0), _verdict(result), fill=(0, 0, 0), font=f_title)
    pats = "   ".join(
        f"{n} period {a.period} {_pattern(a)}"
        for n, a in zip(AXIS_NAMES[result.ndim], result.axes, strict=True)
    )
    while draw.textlength(pats, font=f_text) > width - 2 * margin:
        pats = pats[:-2] + "…"
    draw.text((margin, y0 + 28), pats, fill=(60, 60, 60), font=f_text)
    return img


def _plot_1d(result: OverlapResult) -> tuple[Image.Image, str]:
    """Bars of the 1-D overlap values: interior in viridis by value, border in grey."""
    values, interior = result.values[0], result.interiors[0]
    start, count = window(interior, MAX_SAMPLES_SHOWN, lead=8)
    vals = values[start : start + count]
    inside = interior[start : start + count]
    bar = int(np.clip(720 // max(count, 1), 3, 24))
    height = 240
    vmax = float(values.max()) or 1.0
    img = Image.new("RGB", (count * bar, height + 1), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    lo, hi = result.min, result.max
    for i, (v, ins) in enumerate(zip(vals, inside, strict=True)):
        h = round(height * float(v) / vmax)
        if ins:
            t = (float(v) - lo) / (hi - lo) if hi > lo else 0.5
            colour = tuple(int(c) for c in viridis(np.array([t]))[0])
        else:
            colour = tuple(int(c) for c in greys(normalise(np.array([float(v)]), vmax))[0])
        draw.rectangle((i * bar, height - h, (i + 1) * bar - 2, height), fill=colour)
    draw.line((0, height, count * bar, height), fill=(0, 0, 0))
    shown = "" if count == len(values) else f" (samples {start}-{start + count - 1} shown)"
    caption = (
        f"input {result.input_size[0]} -> {len(values)} samples{shown}; bar height = paths "
        "per output sample, grey = border"
    )
    return img, caption


def _slices_3d(result: OverlapResult) -> tuple[Image.Image, str]:
    """One y-x heatmap per phase of the depth pattern (at most 4), through the interior."""
    vz, vy, vx = result.values
    iz = np.flatnonzero(result.interiors[0])
    period = result.axes[0].period
    first = int(iz[0]) if len(iz) else 0
    planes = [first + q for q in range(min(period, 4)) if first + q < len(vz)]
    r0, rows = window(result.interiors[1], MAX_CELLS_SHOWN, lead=4)
    c0, cols = window(result.interiors[2], MAX_CELLS_SHOWN, lead=4)
    inside_yx = np.outer(result.interiors[1][r0 : r0 + rows], result.interiors[2][c0 : c0 + cols])
    cell = int(np.clip(300 // max(rows, cols), 3, 24))
    lo, hi = result.min, result.max
    vmax = float(vz.max() * vy.max() * vx.max()) or 1.0
    tiles = []
    for z in planes:
        vals = vz[z] * np.outer(vy[r0 : r0 + rows], vx[c0 : c0 + cols])
        inside = inside_yx & bool(result.interiors[0][z])
        t = np.clip((vals - lo) / (hi - lo), 0, 1) if hi > lo else np.full(vals.shape, 0.5)
        rgb = np.where(inside[..., None], viridis(t), greys(normalise(vals, vmax)))
        tile = Image.fromarray(rgb.astype(np.uint8), "RGB").resize(
            (cols * cell, rows * cell), Image.Resampling.NEAREST
        )
        tiles.append((z, tile))
    gap, label_h = 12, 20
    width = sum(t.width for _, t in tiles) + gap * (len(tiles) - 1)
    img = Image.new("RGB", (width, tiles[0][1].height + label_h), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x = 0
    for z, tile in tiles:
        draw.text((x, 0), f"z = {z}", fill=(0, 0, 0), font=font(14))
        img.paste(tile, (x, label_h))
        x += tile.width + gap
    caption = (
        f"input {fmt_size(result.input_size)} -> map {fmt_size(result.shape)}; y-x slices at "
        f"{len(planes)} depth phase(s) of the interior; grey = border"
    )
    return img, caption


def render_png(result: OverlapResult) -> Image.Image:
    """A labelled picture of a 1-D (bars) or 3-D (slices) overlap map."""
    if result.ndim == 1:
        body, caption = _plot_1d(result)
    else:
        body, caption = _slices_3d(result)
    return _frame(result, body, caption)
