"""Reference computations shared by the tests, written independently of cbdiag: one period of
a constant-input response from the middle of an output, and its imbalance."""

from __future__ import annotations

import numpy as np


def interior_period(out: np.ndarray, py: int, px: int) -> np.ndarray:
    """One ``py x px`` period from the middle of a ``(..., H, W)`` output: away from borders."""
    h, w = out.shape[-2:]
    y0, x0 = h // 2 - py // 2, w // 2 - px // 2
    return out[..., y0 : y0 + py, x0 : x0 + px]


def imbalance(p: np.ndarray) -> float:
    """Sum over channels of the squared deviations from each channel's mean, over the sum of
    the squared means, per pixel of the period ``p`` ``(C, Py, Px)``."""
    dev = mean = 0.0
    for ch in p:
        m = ch.mean()
        dev += float(((ch - m) ** 2).sum())
        mean += float(m * m * ch.size)
    return dev / mean
