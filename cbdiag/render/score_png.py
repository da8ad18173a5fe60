"""Pictures of a score: the power spectrum with the stride frequencies, and the artifact map."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..spectrum import ScoreResult, candidates
from .colormap import viridis
from .fonts import font

#: Local score (log10 line-to-background ratio of a group of tiles) outlined on the map.
LOCAL_OUTLINE = 1.0


def _named(draw: ImageDraw.ImageDraw, path: str | None, what: str, f: object, width: int) -> str:
    """``NAME{what}`` within ``width`` pixels: the file's name (not its folder), shortened in the
    middle when it is too long, so that the figures after it are always whole."""
    name = os.path.basename(str(path)) if path else "image"
    text = name + what
    while draw.textlength(text, font=f) > width and len(name) > 12:  # type: ignore[arg-type]
        half = (len(name) - 2) // 2
        name = name[:half] + "…" + name[-half + 1 :]
        text = name + what
    return text


def spectrum_png(result: ScoreResult, *, size: int = 576, title: str | None = None) -> Image.Image:
    """Log power spectrum (DC in the centre, ``-1/2 .. 1/2`` cycles/pixel on both axes).

    Small white ticks mark the candidate ``k/s`` frequencies of the periods 2, 4 and 8 and of the
    detected period; red circles mark the lattice frequencies whose line is at least ten times
    its background at full resolution (log10 > 1: by chance once in 20,000 bins), with ratio.
    """
    if result.spectrum is None:
        raise ValueError("score the image with keep_spectrum=True")
    t = result.tile
    spec = np.fft.fftshift(result.spectrum)
    logp = np.log10(np.maximum(spec, spec[spec > 0].min() if (spec > 0).any() else 1e-30))
    lo, hi = np.percentile(logp, 1), np.percentile(logp, 99.9)
    rgb = viridis((logp - lo) / max(hi - lo, 1e-9))
    cell = max(1, size // t)
    plot = Image.fromarray(rgb, "RGB").resize((t * cell, t * cell), Image.Resampling.NEAREST)
    margin, head, foot = 48, 58, 64
    img = Image.new("RGB", (plot.width + 2 * margin, plot.height + head + foot), "white")
    img.paste(plot, (margin, head))
    draw = ImageDraw.Draw(img)

    def xy(fy: float, fx: float) -> tuple[float, float]:
        ky = ((round(fy * t) + t // 2) % t) + 0.5
        kx = ((round(fx * t) + t // 2) % t) + 0.5
        return margin + kx * cell, head + ky * cell

    periods = [
        s
        for s, v in result.per_period.items()
        if v is not None and (s <= 8 or s == result.period) and t % s == 0
    ]
    for s in periods:
        for a, b in candidates(s):
            for sign in (1, -1):
                x, y = xy(sign * a / s, sign * b / s)
                draw.line((x - 3, y, x + 3, y), fill=(255, 255, 255))
                draw.line((x, y - 3, x, y + 3), fill=(255, 255, 255))
    f_small, f_title = font(12), font(16)
    for pk in result.peaks:
        if pk.log_ratio <= 1.0:
            continue
        for sign in (1, -1):
            x, y = xy(sign * pk.fy, sign * pk.fx)
            r = max(6.0, cell * 0.75)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=(230, 30, 30), width=2)
        x, y = xy(pk.fy, pk.fx)
        draw.text((x + 8, y - 16), f"{10**pk.log_ratio:.0f}x", fill=(255, 80, 80), font=f_small)
    verdict = "FLAGGED" if result.flagged else "not flagged"
    what = (
        f": {result.amplitude:.2f} grey levels at period {result.period or '-'}, "
        f"{result.significance:.1f} sigma ({verdict})"
    )
    draw.text(
        (margin, 8),
        title or _named(draw, result.path, what, f_title, img.width - margin - 8),
        fill=(0, 0, 0),
        font=f_title,
    )
    draw.text(
        (margin, 32),
        f"Welch power spectrum of the Laplacian residual, {t}x{t} tiles x {result.tiles}",
        fill=(90, 90, 90),
        font=f_small,
    )
    for frac in (Fraction(-1, 2), Fraction(-1, 4), Fraction(0), Fraction(1, 4)):
        x, _ = xy(0, float(frac))
        draw.text((x - 8, head + plot.height + 4), str(frac), fill=(0, 0, 0), font=f_small)
        _, y = xy(float(frac), 0)
        draw.text((8, y - 6), str(frac), fill=(0, 0, 0), font=f_small)
    draw.text(
        (margin, head + plot.height + 24),
        "fx (cycles/pixel) horizontally, fy vertically; + = k/s candidates, red = lines > 10x",
        fill=(90, 90, 90),
        font=f_small,
    )
    return img


def map_png(
    result: ScoreResult,
    grey: NDArray[np.float32],
    *,
    max_side: int = 768,
) -> Image.Image:
    """Where the artifact lives: the local score of each group of tiles over the image.

    ``grey`` is the luminance in ``[0, 1]``. Each cell is coloured by its local score (viridis,
    0 .. max(1, highest)), blended over the image; when the image is flagged, the cells whose
    local score is above ``LOCAL_OUTLINE`` are outlined red (none on an image not flagged).
    """
    if result.tile_scores is None:
        raise ValueError("score the image with keep_tiles=True")
    h, w = grey.shape
    scale = min(4.0, max_side / max(h, w))  # shrink large images, magnify small ones
    base = Image.fromarray(np.clip(grey * 255, 0, 255).astype(np.uint8), "L").convert("RGB")
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
    base = base.resize((max(1, round(w * scale)), max(1, round(h * scale))), method)
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw_o = ImageDraw.Draw(overlay)
    ts = result.tile_scores
    vmax = max(1.0, float(ts.max()))
    ny, nx = ts.shape
    # each local score covers a 2x2 group of tiles; the groups tile the image
    gy = np.linspace(0, h, ny + 1)
    gx = np.linspace(0, w, nx + 1)
    outlines = []
    for i in range(ny):
        for j in range(nx):
            c = viridis(ts[i, j] / vmax)
            box = (gx[j] * scale, gy[i] * scale, gx[j + 1] * scale - 1, gy[i + 1] * scale - 1)
            draw_o.rectangle(box, fill=(int(c[0]), int(c[1]), int(c[2]), 120))
            if result.flagged and ts[i, j] > LOCAL_OUTLINE:
                outlines.append(box)
    for box in outlines:
        draw_o.rectangle(box, outline=(230, 30, 30, 255), width=2)
    composed = Image.alpha_composite(base.convert("RGBA"), overlay).convert("RGB")
    head = 54
    img = Image.new("RGB", (max(composed.width, 420), composed.height + head), "white")
    img.paste(composed, (0, head))
    draw = ImageDraw.Draw(img)
    title = _named(draw, result.path, ": local checkerboard score", font(16), img.width - 8)
    draw.text((4, 6), title, fill=(0, 0, 0), font=font(16))
    draw.text(
        (4, 30),
        f"colour 0 .. {vmax:.1f} (viridis); red outline: local score above {LOCAL_OUTLINE}"
        + ("" if result.flagged else " (none: the image is not flagged)"),
        fill=(90, 90, 90),
        font=font(12),
    )
    return img
