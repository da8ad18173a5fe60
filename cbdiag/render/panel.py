"""Pictures of generated images: a sample grid and the captioned comparison panel."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from .fonts import font

U8 = NDArray[np.uint8]


def to_uint8(images: NDArray[np.float32], mode: str = "stretch") -> U8:
    """Images in ``[-1, 1]`` (N, H, W, C) to 8-bit.

    ``range`` maps ``[-1, 1]`` linearly to ``[0, 255]`` (the generator's real output);
    ``stretch`` maps each image's 0.5th..99.5th percentile to ``[0, 255]`` (untrained networks
    often use a small part of the range; stretching makes their structure visible).
    """
    x = images.astype(np.float64)
    if mode == "range":
        y = (x + 1.0) * 127.5
    else:
        lo = np.percentile(x, 0.5, axis=(1, 2, 3), keepdims=True)
        hi = np.percentile(x, 99.5, axis=(1, 2, 3), keepdims=True)
        y = (x - lo) / np.maximum(hi - lo, 1e-12) * 255.0
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


def _tile(img: U8, scale: int) -> Image.Image:
    arr = img[..., 0] if img.shape[-1] == 1 else img
    pil = Image.fromarray(np.ascontiguousarray(arr), "L" if img.shape[-1] == 1 else "RGB")
    pil = pil.convert("RGB")
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def auto_scale(size: int, target: int = 128) -> int:
    """Integer nearest-neighbour magnification so a tile is about ``target`` pixels."""
    return int(min(max(1, math.ceil(target / size)), 8))


def grid(images: U8, *, cols: int | None = None, scale: int = 1, gap: int = 2) -> Image.Image:
    """Tile ``images`` (N, H, W, C) into a grid, magnified by ``scale`` (nearest)."""
    n, h, w, _ = images.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    th, tw = h * scale, w * scale
    out = Image.new("RGB", (cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap), "white")
    for i in range(n):
        r, c = divmod(i, cols)
        out.paste(_tile(images[i], scale), (gap + c * (tw + gap), gap + r * (th + gap)))
    return out


def compare_panel(
    columns: list[tuple[str, str, U8]],
    *,
    title: str,
    scale: int = 1,
    gap: int = 4,
) -> Image.Image:
    """One column per upsampler: caption, sub-caption and a stack of samples. A column is
    as wide as its widest caption line (the sub-caption is broken at its ``·`` separators), so
    neighbouring captions never run into each other."""
    rows = max(c[2].shape[0] for c in columns)
    h, w = columns[0][2].shape[1:3]
    th, tw = h * scale, w * scale
    f_title, f_cap, f_sub = font(16), font(14), font(12)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    texts = []
    for caption, sub, _ in columns:
        lines = [(caption, f_cap, (0, 0, 0))]
        lines += [(part.strip(), f_sub, (80, 80, 80)) for part in sub.split("·") if part.strip()]
        texts.append(lines)
    col_w = max(
        [tw] + [int(measure.textlength(t, font=f)) + 2 * gap for ls in texts for t, f, _ in ls]
    )
    n_lines = max(len(ls) for ls in texts)
    top = 34
    head = 8 + 20 + 18 * (n_lines - 1) + 6
    width = len(columns) * (col_w + gap) + gap
    height = top + head + rows * (th + gap) + gap
    out = Image.new("RGB", (max(width, 480), height), "white")
    draw = ImageDraw.Draw(out)
    draw.text((gap, 8), title, fill=(0, 0, 0), font=f_title)
    for j, (_, _, imgs) in enumerate(columns):
        x0 = gap + j * (col_w + gap)
        y = top + 4
        for text, f, fill in texts[j]:
            tw_text = draw.textlength(text, font=f)
            draw.text((x0 + max((col_w - tw_text) / 2, 0), y), text, fill=fill, font=f)
            y += 20 if f is f_cap else 18
        xi = x0 + (col_w - tw) // 2
        for i in range(imgs.shape[0]):
            out.paste(_tile(imgs[i], scale), (xi, top + head + i * (th + gap)))
    return out
