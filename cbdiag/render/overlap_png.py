"""Picture of an overlap map: scaled cells, border greyed, interior outlined, labelled."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw

from ..layers import stack_label
from ..overlap import OverlapResult
from .colormap import greys, normalise, text_on, viridis
from .fonts import font
from .overlap_text import fmt, interior_range, strongest, window


def _pat(pattern: tuple[float, ...], limit: int = 8) -> str:
    body = ", ".join(fmt(v) for v in pattern[:limit])
    return "[" + body + (", ...]" if len(pattern) > limit else "]")


def _fit(draw: ImageDraw.ImageDraw, text: str, f: object, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    while text and draw.textlength(text, font=f) > width:  # type: ignore[arg-type]
        text = text[:-2] + "…"
    return text


MAX_CELLS_SHOWN = 96
TARGET_PX = 640


def _title_lines(label: str, f: object, width: int) -> list[str]:
    """``label`` in lines of at most ``width`` pixels, broken between layers (a layer that is
    wider than a line on its own is shortened with an ellipsis)."""
    from .layout import layer_units

    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines: list[str] = []
    for piece in layer_units(label):
        if lines and draw.textlength(f"{lines[-1]} {piece}", font=f) <= width:  # type: ignore[arg-type]
            lines[-1] = f"{lines[-1]} {piece}"
        else:
            lines.append(_fit(draw, piece if not lines else "  " + piece, f, width))
    return lines or [""]


def render_png(result: OverlapResult, *, title: str | None = None) -> Image.Image:
    """A labelled heatmap of ``result`` (the top-left window when the map is large).

    Interior cells use viridis, border cells grey; a white rectangle outlines the interior, the
    cell values are written in when the cells are large enough, and a colour bar gives the scale.
    """
    vy, vx = result.values_y, result.values_x
    r0, rows = window(result.interior_y, MAX_CELLS_SHOWN, lead=8)
    c0, cols = window(result.interior_x, MAX_CELLS_SHOWN, lead=8)
    iy_w = result.interior_y[r0 : r0 + rows]
    ix_w = result.interior_x[c0 : c0 + cols]
    vals = np.outer(vy[r0 : r0 + rows], vx[c0 : c0 + cols])
    inside = np.outer(iy_w, ix_w)
    vmax = float(vy.max() * vx.max())
    lo, hi = interior_range(result)
    t_in = np.clip((vals - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.full(vals.shape, 0.5)
    rgb = np.where(inside[..., None], viridis(t_in), greys(normalise(vals, vmax))).astype(np.uint8)
    cell = int(np.clip(TARGET_PX // max(rows, cols), 3, 56))
    grid = Image.fromarray(rgb, "RGB").resize((cols * cell, rows * cell), Image.Resampling.NEAREST)

    f_title, f_text, f_cell = font(18), font(14), font(max(8, min(cell // 2, 16)))
    margin, bar_w = 16, 18
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    scale_w = max(56, *(int(measure.textlength(fmt(v), font=f_text)) + 8 for v in (lo, hi)))
    width = max(grid.width + 3 * margin + bar_w + scale_w, 560)  # the scale's labels fit
    what = "gradient map" if result.gradient else "overlap map"
    label = title or f"{what}: {stack_label(result.layers)}"
    titles = _title_lines(label, f_title, width - 2 * margin)
    head = 64 + 24 * (len(titles) - 1)  # a long stack's title wraps between its layers
    foot = 92
    height = head + grid.height + foot
    img = Image.new("RGB", (width, height), (255, 255, 255))
    img.paste(grid, (margin, head))
    draw = ImageDraw.Draw(img)

    # values in the cells
    if cell >= 18:
        for r in range(rows):
            for c in range(cols):
                label = fmt(float(vals[r, c]))
                bbox = draw.textbbox((0, 0), label, font=f_cell)
                tw, th = bbox[2] - bbox[0], bbox[3] - bbox[1]
                if tw > cell - 2:
                    continue
                x0 = margin + c * cell + (cell - tw) / 2 - bbox[0]
                y0 = head + r * cell + (cell - th) / 2 - bbox[1]
                draw.text((x0, y0), label, fill=text_on(rgb[r, c]), font=f_cell)

    # interior outline
    iy = np.flatnonzero(iy_w)
    ix = np.flatnonzero(ix_w)
    if len(iy) and len(ix):
        box = (
            margin + ix[0] * cell,
            head + iy[0] * cell,
            margin + (ix[-1] + 1) * cell - 1,
            head + (iy[-1] + 1) * cell - 1,
        )
        draw.rectangle(box, outline=(255, 255, 255), width=2)
        draw.rectangle(
            tuple(v - 2 if i < 2 else v + 2 for i, v in enumerate(box)), outline=(0, 0, 0)
        )

    # colour bar
    bx = margin * 2 + grid.width
    bar_h = grid.height
    ramp = viridis(np.linspace(1.0, 0.0, max(bar_h, 2)))[:, None, :].repeat(bar_w, axis=1)
    img.paste(Image.fromarray(ramp.astype(np.uint8), "RGB"), (bx, head))
    draw.text((bx + bar_w + 4, head - 2), fmt(hi), fill=(0, 0, 0), font=f_text)
    draw.text((bx + bar_w + 4, head + bar_h - 14), fmt(lo), fill=(0, 0, 0), font=f_text)

    # title and caption
    for i, text in enumerate(titles):
        draw.text((margin, 10 + 24 * i), text, fill=(0, 0, 0), font=f_title)
    h, w = result.shape
    shown = (
        ""
        if (rows, cols) == (h, w)
        else f" (rows {r0}-{r0 + rows - 1}, columns {c0}-{c0 + cols - 1} shown)"
    )
    draw.text(
        (margin, head - 28),
        f"input {result.input_size[0]}x{result.input_size[1]} -> map {h}x{w}{shown}",
        fill=(90, 90, 90),
        font=f_text,
    )
    if result.holes:
        verdict = "HOLES: interior pixels with " + (
            "zero gradient" if result.gradient else "no input"
        )
    elif result.even:
        verdict = "EVEN: flat interior"
    else:
        verdict = f"UNEVEN: interior max/min {fmt(result.ratio_2d)} in 2-D"
    y0 = head + grid.height + 10
    draw.text((margin, y0), verdict, fill=(0, 0, 0), font=f_title)
    line = f"period {result.y.period}x{result.x.period}   y {_pat(result.y.pattern)}"
    if result.x.pattern != result.y.pattern:
        line += f"   x {_pat(result.x.pattern)}"
    draw.text(
        (margin, y0 + 26),
        _fit(draw, line, f_text, width - 2 * margin),
        fill=(60, 60, 60),
        font=f_text,
    )
    freq = ", ".join(f"{Fraction(q, result.y.period)}" for q, _ in strongest(result.y, 5))
    draw.text(
        (margin, y0 + 46),
        "grey = border, outlined = interior"
        + (f"; strongest frequencies (y): {freq}" if freq else ""),
        fill=(90, 90, 90),
        font=f_text,
    )
    return img
