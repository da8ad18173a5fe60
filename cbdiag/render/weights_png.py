"""Picture of an inspection: per layer, the phase-gain pattern of its strongest channels."""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..weights import InspectResult
from .fonts import font


def _diverging(t: NDArray[np.float64]) -> NDArray[np.uint8]:
    """-1 blue .. 0 white .. +1 red."""
    t = np.clip(t, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    red = np.array([200.0, 30.0, 40.0])
    blue = np.array([40.0, 80.0, 200.0])
    rgb = np.where(t >= 0, white + (red - white) * t, white + (blue - white) * (-t))
    return np.asarray(np.round(rgb), dtype=np.uint8)


def weights_png(result: InspectResult, *, cell: int = 28, channels: int = 4) -> Image.Image:
    """One row per layer: name and imbalance, then the ``sy x sx`` constant-input response of
    its ``channels`` strongest channels, each shown as deviation from its mean (red above, blue
    below, scaled to the channel's largest deviation)."""
    f_title, f_text = font(16), font(12)
    rows = []
    for rep in result.layers:
        resp = rep.response
        if resp.ndim == 2:  # a 1-D kernel: its phases in one row
            resp = resp[:, None, :]
        elif resp.ndim == 4:  # a volume: its depth phases side by side
            resp = np.concatenate(list(resp.transpose(1, 0, 2, 3)), axis=2)
        sy, sx = resp.shape[1:]
        dev = resp - resp.mean(axis=(1, 2), keepdims=True)
        tiles = []
        for c, _share in rep.top_channels[:channels]:
            d = dev[c]
            scale = float(np.abs(d).max()) or 1.0
            rgb = _diverging(d / scale)
            tile = Image.fromarray(rgb, "RGB").resize(
                (sx * cell, sy * cell), Image.Resampling.NEAREST
            )
            tiles.append((c, tile))
        rows.append((rep, tiles))
    tile_w = max((t.width for _, ts in rows for _, t in ts), default=cell)
    tile_h = max((t.height for _, ts in rows for _, t in ts), default=cell)
    label_w, gap = 330, 12
    width = label_w + channels * (tile_w + gap) + gap
    row_h = max(tile_h + 22, 52)
    # the file's name, not its folder: the picture is the same wherever the file lies, and
    # the image is made wide enough for the whole title
    name = os.path.basename(str(result.path)) if result.path else "weights"
    title = f"{name}: per-phase response to a constant input"
    title_w = int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(title, font=f_title)) + 16
    img = Image.new("RGB", (max(width, 520, title_w), 40 + len(rows) * row_h), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 8), title, fill=(0, 0, 0), font=f_title)
    for i, (rep, tiles) in enumerate(rows):
        y = 40 + i * row_h
        name = rep.name if len(rep.name) <= 44 else "…" + rep.name[-43:]
        draw.text((8, y + 2), name, fill=(0, 0, 0), font=f_text)
        stride = "x".join(map(str, rep.stride))
        draw.text(
            (8, y + 18),
            f"{rep.verdict}, imbalance {rep.imbalance:.3g}, stride {stride}",
            fill=(90, 90, 90),
            font=f_text,
        )
        for j, (c, tile) in enumerate(tiles):
            x = label_w + gap + j * (tile_w + gap)
            img.paste(tile, (x, y))
            draw.rectangle((x, y, x + tile.width - 1, y + tile.height - 1), outline=(0, 0, 0))
            draw.text((x, y + tile.height + 2), f"ch {c}", fill=(60, 60, 60), font=f_text)
    return img
