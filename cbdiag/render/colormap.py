"""A perceptually uniform colour map (viridis, 11 anchors) and helpers for grey levels."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# viridis sampled at 0, 0.1, ..., 1 (the matplotlib colour map's published values).
_VIRIDIS = np.array(
    [
        (0x44, 0x01, 0x54),
        (0x48, 0x24, 0x75),
        (0x41, 0x44, 0x87),
        (0x35, 0x5F, 0x8D),
        (0x2A, 0x78, 0x8E),
        (0x21, 0x91, 0x8C),
        (0x22, 0xA8, 0x84),
        (0x44, 0xBF, 0x70),
        (0x7A, 0xD1, 0x51),
        (0xBD, 0xDF, 0x26),
        (0xFD, 0xE7, 0x25),
    ],
    dtype=np.float64,
)


def viridis(t: NDArray[np.float64] | float) -> NDArray[np.uint8]:
    """Map values in ``[0, 1]`` to RGB (``uint8``, trailing axis of 3)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    pos = t * (len(_VIRIDIS) - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), len(_VIRIDIS) - 2)
    frac = (pos - lo)[..., None]
    rgb = _VIRIDIS[lo] * (1.0 - frac) + _VIRIDIS[lo + 1] * frac
    return np.asarray(np.round(rgb), dtype=np.uint8)


def greys(t: NDArray[np.float64] | float) -> NDArray[np.uint8]:
    """Map values in ``[0, 1]`` to grey RGB between 40 and 200 (used for border cells)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    g = np.round(40 + 160 * t).astype(np.uint8)
    return np.stack([g, g, g], axis=-1)


def normalise(values: NDArray[np.float64], vmax: float) -> NDArray[np.float64]:
    """Scale values to ``[0, 1]`` by ``vmax`` (0 maps to 0; a zero ``vmax`` gives zeros)."""
    if vmax <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return np.asarray(values, dtype=np.float64) / vmax


def hex_color(rgb: NDArray[np.uint8]) -> str:
    """``#rrggbb`` of one RGB triple."""
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def text_on(rgb: NDArray[np.uint8]) -> str:
    """Black or white, whichever reads better on the background ``rgb``."""
    r, g, b = (int(v) for v in rgb)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"
