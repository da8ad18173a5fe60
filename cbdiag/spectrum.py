"""The checkerboard detector: Welch spectrum of a linear residual, peaks at k/s against a local
background.

Pipeline (one grey image, see ``score_image``):

1. **Luminance** ``Y = 0.299 R + 0.587 G + 0.114 B`` (grey images as they are; alpha ignored).
2. **Residual** ``r = Y * L`` with the linear Laplacian ``L = [[0,-1,0],[-1,4,-1],[0,-1,0]] / 4``:
   it removes the low-frequency content that would leak into the peaks, and it is *linear*, so
   JPEG blocks, demosaicing and interpolation (which vary the *variance* periodically) do not
   become lines; only a periodic *mean*, which is what uneven per-phase gains paint, does.
3. **Welch power spectrum** ``P(f)``: mean of ``|FFT(hann * (tile - mean))|^2`` over ``T x T``
   tiles (``T = 96`` when the image allows, so every ``k/s`` for ``s`` in 2, 3, 4, 8, 16 is an
   exact bin whatever the image size or grid phase; 48 or 24 for small images).
4. **Candidates** for period ``s``: the primitive frequencies ``(a/s, b/s)`` (``gcd(a, b, s) =
   1``) in one half-plane: 3 for ``s = 2``, 4 for 3, 6 for 4, 24 for 8, 96 for 16.
5. **Peak ratio** ``R(f) = P(f) / B(f)``. The local background ``B(f)`` is the largest of three
   medians of ``P`` at Chebyshev distance 3..5 (other candidates excluded): over the whole ring,
   over its bins in the same row, and in the same column. The ring follows the 1/f trend; the
   row and column keep the ridges of natural images (the axis "cross" of strong horizontal or
   vertical structure, text lines) from passing for lines. The tile
   size makes every candidate an exact bin, so the line sits in that bin (the Hann window
   spreads it to the next bins only). A **gate** sets ``R <= 1`` when ``P(f)`` is below the
   maximum of the ring at distance 2, so the steep slopes next to interpolation notches do not
   count as peaks.
6. **Per-period score** ``S_s`` = mean of the top half of ``log10 R`` over the candidates of
   ``s`` (uneven per-phase gains light up most of them; a natural periodic texture one or two);
   the headline **score** is ``max_s S_s`` (0 means no excess, 1 means peaks ten times their
   background on average, and so on). In integer images a line weaker than half a grey level
   does not count: resamplers that round leave such sub-level periodic patterns.

Diagnostics are computed separately and never change the score: the JPEG grid (quantisation
tables, and period-8 lines of the *rectified* residual), interpolated upscaling (notches at
``k/s``), nearest-neighbour upscaling (flat ``s x s`` blocks) and off-grid peaks (a resized
checkerboard).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from scipy import ndimage

from .errors import CbdiagError
from .images import MIN_SIZE, LoadedImage, load_image, luminance

__all__ = [
    "DEFAULT_THRESHOLD",
    "PERIODS",
    "Peak",
    "ScoreResult",
    "candidates",
    "score_image",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

#: Periods searched by default.
PERIODS = (2, 3, 4, 8, 16)
#: Default decision threshold on ``score`` (see the README, "Calibration").
DEFAULT_THRESHOLD = 0.5
TILE_SIZES = (96, 48, 24)
#: Lines weaker than this many grey levels (amplitude) in an integer image do not count:
#: resamplers that round to integers leave such sub-level periodic patterns.
MIN_LINE_LEVELS = 0.5
#: log10 ratio above which an off-grid peak is reported (about 1 % of the benchmark's camera
#: photos, JPEGs and resizes reach 1.3).
OFF_GRID_FLAG = 1.5


class ImageTooSmallError(CbdiagError):
    """An image below the smallest size the detector works on."""


@dataclass(frozen=True)
class Peak:
    """One candidate frequency: ``(fy, fx)`` in cycles per pixel, its period and log10 ratio."""

    fy: float
    fx: float
    period: int
    log_ratio: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "frequency": [
                str(Fraction(self.fy).limit_denominator(64)),
                str(Fraction(self.fx).limit_denominator(64)),
            ],
            "cycles_per_pixel": [self.fy, self.fx],
            "period": self.period,
            "ratio": round(10**self.log_ratio, 4),
            "log10_ratio": round(self.log_ratio, 4),
        }


@dataclass
class ScoreResult:
    """What ``score_image`` finds (see the module docstring for the definitions).

    ``score`` is the headline checkerboard energy (higher = stronger), ``flagged`` is
    ``score > threshold``, ``period`` the period with the highest ``per_period`` score (``None``
    when nothing stands out), ``peaks`` the strongest candidates, and ``diagnostics`` the
    look-alike checks that never change the score.
    """

    score: float
    threshold: float
    period: int | None
    per_period: dict[int, float | None]
    peaks: list[Peak]
    diagnostics: dict[str, Any]
    shape: tuple[int, int]
    tile: int
    tiles: int
    path: str | None = None
    spectrum: F64 | None = field(default=None, repr=False)
    tile_scores: F64 | None = field(default=None, repr=False)

    @property
    def flagged(self) -> bool:
        return self.score > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(self.score, 4),
            "flagged": self.flagged,
            "period": self.period,
            "per_period": {
                str(s): (None if v is None else round(v, 4)) for s, v in self.per_period.items()
            },
            "peaks": [p.as_dict() for p in self.peaks],
            "diagnostics": self.diagnostics,
            "size": [self.shape[0], self.shape[1]],
            "tile": self.tile,
            "error": None,
        }


# ---------------------------------------------------------------------------------------------
# candidates and the Welch spectrum
# ---------------------------------------------------------------------------------------------


def candidates(s: int) -> list[tuple[int, int]]:
    """Primitive frequencies ``(a, b)`` (meaning ``(a/s, b/s)``) of period ``s``, one per
    conjugate pair: ``0 <= b <= s/2``, and ``a <= s/2`` where ``(a, b)`` and ``(-a, -b)`` fall
    in the same half-plane.

    >>> candidates(2)
    [(1, 0), (0, 1), (1, 1)]
    """
    out = []
    for b in range(0, s // 2 + 1):
        for a in range(0, s):
            if (a, b) == (0, 0) or math.gcd(math.gcd(a, b), s) != 1:
                continue
            self_conj_col = b == 0 or 2 * b == s
            if self_conj_col and a > s // 2:
                continue
            out.append((a, b))
    return sorted(out, key=lambda ab: (ab[1], ab[0]))


def _choose_tile(h: int, w: int) -> tuple[int, int]:
    """(tile size, step) for an ``h x w`` image.

    The largest tile that still gives at least 64 tiles with 50 % overlap; without overlap when
    that already gives 64 (large images: the fastest, and enough averaging).
    """

    def count(t: int, step: int) -> int:
        return ((h - 2 - t) // step + 1) * ((w - 2 - t) // step + 1) if min(h, w) - 2 >= t else 0

    for t in TILE_SIZES:
        if count(t, t) >= 64:
            return t, t
        if count(t, t // 2) >= 64:
            return t, t // 2
    t = TILE_SIZES[-1]
    if count(t, t // 2) == 0:
        raise ImageTooSmallError(f"image {h}x{w} is too small (at least {MIN_SIZE}x{MIN_SIZE})")
    return t, t // 2


def _hann(t: int) -> F32:
    w = np.hanning(t + 2)[1:-1]  # strictly positive taps
    return np.outer(w, w).astype(np.float32)


def _starts(n: int, t: int, step: int) -> list[int]:
    """Tile origins along one axis, centred in ``[1, n - 1)`` (the residual's valid range)."""
    count = (n - 2 - t) // step + 1
    span = (count - 1) * step + t
    first = 1 + (n - 2 - span) // 2
    return [first + i * step for i in range(count)]


def welch(
    pixels: NDArray[np.generic],
    max_value: float,
    *,
    tile: int,
    step: int,
    rectified_tiles: int = 32,
    keep_tiles: bool = False,
) -> tuple[F64, F64, int, F64 | None]:
    """Welch spectra of the linear and the rectified Laplacian residual of the luminance.

    Works band by band (one row of tiles at a time), so memory stays bounded by the decoded
    image plus a band. Returns ``(P, P_abs, tiles, per_tile)`` with ``P`` of shape
    ``(tile, tile // 2 + 1)`` (``rfft2`` layout); ``P_abs`` uses about ``rectified_tiles``
    tiles spread over the image; ``per_tile`` (when asked) is ``(rows, cols, tile, tile//2+1)``.
    """
    h, w = pixels.shape[:2]
    t = tile
    win = _hann(t)
    ys, xs = _starts(h, t, step), _starts(w, t, step)
    n_tiles = len(ys) * len(xs)
    every = max(1, n_tiles // rectified_tiles)
    acc = np.zeros((t, t // 2 + 1), dtype=np.float64)
    acc_abs = np.zeros_like(acc)
    n_abs = 0
    per_tile = np.empty((len(ys), len(xs), t, t // 2 + 1)) if keep_tiles else None
    workers = min(os.cpu_count() or 1, 4)
    idx = 0
    for iy, y0 in enumerate(ys):
        band = luminance(pixels[y0 - 1 : y0 + t + 1], max_value)
        r = np.float32(4.0) * band[1:-1, 1:-1]
        r -= band[:-2, 1:-1]
        r -= band[2:, 1:-1]
        r -= band[1:-1, :-2]
        r -= band[1:-1, 2:]
        r *= np.float32(0.25)
        # r covers columns 1 .. w-2 of the image; tile x0 starts at r[:, x0 - 1]
        tiles = np.stack([r[:, x0 - 1 : x0 - 1 + t] for x0 in xs])
        tiles -= tiles.mean(axis=(1, 2), keepdims=True)
        tiles *= win
        spec = scipy.fft.rfft2(tiles, workers=workers)
        power = spec.real**2 + spec.imag**2
        acc += power.sum(axis=0)
        if per_tile is not None:
            per_tile[iy] = power
        sel = [j for j in range(len(xs)) if (idx + j) % every == 0]
        if sel:
            ab = np.abs(np.stack([r[:, xs[j] - 1 : xs[j] - 1 + t] for j in sel]))
            ab -= ab.mean(axis=(1, 2), keepdims=True)
            ab *= win
            sa = scipy.fft.rfft2(ab, workers=workers)
            acc_abs += (sa.real**2 + sa.imag**2).sum(axis=0)
            n_abs += len(sel)
        idx += len(xs)
    return acc / n_tiles, acc_abs / max(n_abs, 1), n_tiles, per_tile


def _full(p: F64) -> F64:
    """The full ``T x T`` power spectrum from its ``rfft2`` half (``P(-f) = P(f)``)."""
    t = p.shape[0]
    full = np.empty((t, t))
    full[:, : p.shape[1]] = p
    ky = (-np.arange(t)) % t
    for kx in range(p.shape[1], t):
        full[:, kx] = p[ky, t - kx]
    return full


# ---------------------------------------------------------------------------------------------
# peak statistics
# ---------------------------------------------------------------------------------------------


_NEAR_OFFSETS = np.array([(i, j) for i in range(-5, 6) for j in range(-5, 6)], dtype=np.int64)
_CHEB = np.abs(_NEAR_OFFSETS).max(axis=1)
_RING = _NEAR_OFFSETS[(_CHEB >= 3) & (_CHEB <= 5)]
#: Offsets of the background estimates: the ring at distance 3..5, its bins in the same row and
#: the same column, and the ring at distance 2 (also the gate).
_BACKGROUNDS = (_RING, _RING[_RING[:, 0] == 0], _RING[_RING[:, 1] == 0], _NEAR_OFFSETS[_CHEB == 2])


def _bins(t: int, s: int) -> list[tuple[int, int, int, int]]:
    """(ky, kx, a, b) bins of the candidates of period ``s`` on a ``t``-point grid."""
    return [(a * t // s, b * t // s, a, b) for a, b in candidates(s)]


@lru_cache(maxsize=64)
def _plan(
    t: int, periods: tuple[int, ...]
) -> dict[int, tuple[NDArray[np.int64], NDArray[np.int64], list[NDArray[np.int64]]]]:
    """Per period: candidate (a, b) pairs, their flat bin indices, and for each background the
    flat indices of its bins (``-1`` where a bin is a candidate of any period, or DC)."""
    cand = {s: _bins(t, s) for s in periods if t % s == 0}
    excluded = {(ky % t, kx % t) for bins in cand.values() for ky, kx, _, _ in bins}
    excluded |= {((-ky) % t, (-kx) % t) for ky, kx in list(excluded)}
    excluded.add((0, 0))
    ex = np.zeros((t, t), dtype=bool)
    for ky, kx in excluded:
        ex[ky, kx] = True
    plan = {}
    for s, bins in cand.items():
        ab = np.array([(a, b) for _, _, a, b in bins], dtype=np.int64)
        k = np.array([(ky, kx) for ky, kx, _, _ in bins], dtype=np.int64)
        centre = k[:, 0] * t + k[:, 1]
        idx = []
        for offsets in _BACKGROUNDS:
            yy = (k[:, 0:1] + offsets[None, :, 0]) % t
            xx = (k[:, 1:2] + offsets[None, :, 1]) % t
            idx.append(np.where(ex[yy, xx], -1, yy * t + xx))
        plan[s] = (ab, centre, idx)
    return plan


def _line_amplitude(t: int, win_sum: float) -> F64:
    """Per bin, the factor that turns sqrt(excess power) into the amplitude of an image-domain
    sinusoid: undo the Hann window sum, the Laplacian's gain, and the factor 2 of a real
    sinusoid split between ``f`` and ``-f`` (not at self-conjugate bins)."""
    f = np.fft.fftfreq(t)
    lap = np.abs(4 - 2 * np.cos(2 * np.pi * f)[:, None] - 2 * np.cos(2 * np.pi * f)[None, :]) / 4
    half = np.full((t, t), 2.0)
    for ky in (0, t // 2):
        for kx in (0, t // 2):
            half[ky, kx] = 1.0
    with np.errstate(divide="ignore"):
        return np.asarray(half / (win_sum * np.where(lap > 0, lap, np.inf)), dtype=np.float64)


def _masked_median(flat: F64, sel: NDArray[np.int64]) -> F64:
    """Row-wise median of ``flat[sel]`` over the entries with ``sel >= 0`` (0 for empty rows)."""
    if sel.shape[1] == 0:
        return np.zeros(sel.shape[0])
    valid = sel >= 0
    vals = np.where(valid, flat[np.maximum(sel, 0)], np.inf)
    vals.sort(axis=1)
    n = valid.sum(axis=1)
    lo = np.take_along_axis(vals, np.maximum((n - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(vals, np.maximum(n // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(n > 0, (lo + np.where(n > 0, hi, 0.0)) / 2, 0.0)


def _ratios(
    full: F64,
    t: int,
    periods: tuple[int, ...],
    gated: bool = True,
    min_amplitude: float | None = None,
) -> dict[int, list[tuple[int, int, float]]]:
    """log10 peak ratio of every candidate of every period (vectorised over candidates).

    ``min_amplitude`` (image units), when given: a line whose amplitude in the image is below
    it does not count (rounding by resamplers leaves sub-grey-level periodic patterns).
    """
    flat = full.ravel()
    amp = _line_amplitude(t, float(_hann(t).sum())).ravel() if min_amplitude is not None else None
    out: dict[int, list[tuple[int, int, float]]] = {}
    for s, (ab, centre, idx) in _plan(t, tuple(periods)).items():
        bg = np.zeros(len(centre))
        for sel in idx:
            bg = np.maximum(bg, _masked_median(flat, sel))
        peak = flat[centre]
        ok = (bg > 0) & (peak > 0)
        lr = np.zeros(len(centre))
        lr[ok] = np.log10(peak[ok] / bg[ok])
        if gated:
            gate_idx = idx[3]
            gate = np.max(np.where(gate_idx >= 0, flat[np.maximum(gate_idx, 0)], -np.inf), axis=1)
            lr = np.where(ok & (peak < gate), np.minimum(lr, 0.0), lr)
        if amp is not None and min_amplitude is not None:
            weak = np.sqrt(np.maximum(peak - bg, 0.0)) * amp[centre] < min_amplitude
            lr = np.where(ok & weak, np.minimum(lr, 0.0), lr)
        out[s] = [(int(a), int(b), float(v)) for (a, b), v in zip(ab, lr, strict=True)]
    return out


def _period_score(vals: list[tuple[int, int, float]]) -> float:
    """Mean of the top half of the log ratios: uneven per-phase gains light up most primitive
    frequencies of their period, a natural periodic texture usually one or two."""
    logs = sorted((v for _, _, v in vals), reverse=True)
    k = max(1, math.ceil(len(logs) / 2))
    return float(np.mean(logs[:k]))


# ---------------------------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------------------------


def _nearest_blocks(y: F32, max_factor: int = 8) -> int | None:
    """Factor ``s`` of a nearest-neighbour upscale: the luminance is constant on ``s x s``
    blocks aligned to some phase (detected from exactly-zero neighbour differences)."""
    h, w = y.shape
    rows = y[:: max(1, h // 256)][:, : min(w, 2048)]
    dx = np.diff(rows, axis=1) == 0
    cols = y[:, :: max(1, w // 256)][: min(h, 2048)]
    dy = np.diff(cols, axis=0) == 0
    if dx.mean() < 0.3:
        return None
    for s in range(max_factor, 1, -1):
        fx = np.array([dx[:, p::s].mean() for p in range(s)])
        fy = np.array([dy[p::s].mean() for p in range(s)])
        if (np.sort(fx)[1] > 0.97 and fx.min() < 0.7) and (
            np.sort(fy)[1] > 0.97 and fy.min() < 0.7
        ):
            return s
    return None


def _notches(full: F64, t: int) -> dict[str, Any]:
    """Interpolated upscaling leaves notches (deep minima) at k/s: report the deepest factor."""
    res = _ratios(full, t, tuple(s for s in (2, 3, 4) if t % s == 0), gated=False)
    best: tuple[int, float] | None = None
    for s, vals in res.items():
        worst = max(v for _, _, v in vals)  # every candidate must be a notch
        if worst < -0.7 and (best is None or s > best[0]):
            best = (s, worst)
    nyq = min((v for _, _, v in res.get(2, [])), default=0.0)
    return {
        "flag": best is not None,
        "factor": None if best is None else best[0],
        "nyquist_log10_ratio": round(float(nyq), 3),
    }


def _off_grid(full: F64, t: int, periods: tuple[int, ...]) -> dict[str, Any]:
    """The strongest peak away from every ``k/s`` bin (a resized checkerboard moves there)."""
    shifted = np.log10(np.maximum(np.fft.fftshift(full), 1e-300))
    # background: the mean log power of the 7x7 neighbourhood without the bin itself
    box = ndimage.uniform_filter(shifted, size=7, mode="wrap")
    ratio = shifted - (box * 49 - shifted) / 48
    f = (np.arange(t) - t // 2) / t
    fy, fx = np.meshgrid(f, f, indexing="ij")
    mask = np.hypot(fy, fx) > 0.1
    for s in periods:
        if t % s:
            continue
        for a in range(s):
            for b in range(s):
                cy = (a * t // s + t // 2) % t
                cx = (b * t // s + t // 2) % t
                mask[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2] = False
    ratio = np.where(mask, ratio, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    lr = float(ratio[iy, ix])
    freq = (float(f[iy]), float(f[ix]))
    mag = math.hypot(*freq)
    return {
        "log10_ratio": round(lr, 3) if np.isfinite(lr) else None,
        "cycles_per_pixel": [round(freq[0], 4), round(freq[1], 4)],
        "implied_period": round(1 / mag, 3) if mag > 0 else None,
        "flag": bool(np.isfinite(lr) and lr > OFF_GRID_FLAG),
    }


# ---------------------------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------------------------


def score_image(
    image: str | os.PathLike[str] | NDArray[np.generic] | LoadedImage,
    *,
    stride: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    keep_spectrum: bool = False,
    keep_tiles: bool = False,
) -> ScoreResult:
    """Checkerboard energy of one image, with no model and no training data.

    Parameters
    ----------
    image : path, array or LoadedImage
        A file (any format Pillow reads safely), or an array: ``(H, W)`` grey or ``(H, W, 3|4)``
        colour, integers (8/16-bit) or floats in ``[0, 1]``.
    stride : int, optional
        Only look for this period (default: 2, 3, 4, 8 and 16).
    threshold : float
        ``flagged`` is ``score > threshold``.
    keep_spectrum, keep_tiles : bool
        Keep the full power spectrum / per-tile spectra (for the pictures).

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.random((256, 256))
    >>> round(score_image(noise).score, 1) <= 0.2
    True
    >>> i, j = np.indices((256, 256))
    >>> planted = noise + 0.2 * ((i + j) % 2)
    >>> r = score_image(planted)
    >>> r.flagged, r.period
    (True, 2)
    """
    path = None
    if isinstance(image, (str, os.PathLike)):
        path = str(image)
        image = load_image(image)
    if isinstance(image, LoadedImage):
        pixels, top = image.pixels, image.max_value
        loaded: LoadedImage | None = image
    else:
        arr = np.asarray(image)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise CbdiagError(f"expected an (H, W) or (H, W, 1|3|4) array, got shape {arr.shape}")
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[..., :3]
        if arr.dtype == np.uint8:
            top = 255.0
        elif arr.dtype == np.uint16:
            top = 65535.0
        else:
            top = 1.0
        pixels, loaded = arr, None
    if np.issubdtype(np.asarray(pixels).dtype, np.floating) and not np.isfinite(pixels).all():
        raise CbdiagError(f"{path or 'image'}: contains NaN or infinite values")
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIZE:
        raise ImageTooSmallError(f"image {h}x{w} is too small (at least {MIN_SIZE}x{MIN_SIZE})")
    periods = PERIODS if stride is None else (stride,)
    if stride is not None and stride < 2:
        raise CbdiagError(f"stride must be >= 2, got {stride}")
    t, step = _choose_tile(h, w)
    if stride is not None and all(t2 % stride for t2 in TILE_SIZES):
        raise CbdiagError(f"period {stride} is not supported (supported: divisors of 96 or 48)")
    if stride is not None and t % stride:
        fits = [t2 for t2 in TILE_SIZES if t2 % stride == 0 and min(h, w) - 2 >= t2]
        if not fits:
            raise ImageTooSmallError(f"image {h}x{w} is too small to look for period {stride}")
        t, step = fits[0], fits[0] // 2
    p, p_abs, n_tiles, per_tile = welch(pixels, top, tile=t, step=step, keep_tiles=keep_tiles)
    full = _full(p)
    integer = np.issubdtype(np.asarray(pixels).dtype, np.integer)
    min_amp = MIN_LINE_LEVELS / top if integer else None
    ratios = _ratios(full, t, periods, min_amplitude=min_amp)
    per_period: dict[int, float | None] = {s: None for s in periods}
    for s, vals in ratios.items():
        per_period[s] = _period_score(vals)
    scored = {s: v for s, v in per_period.items() if v is not None}
    score = max(scored.values()) if scored else 0.0
    score = max(score, 0.0)
    # the pattern's period: the largest period whose lines are strong (a period-4 pattern
    # also has lines at the period-2 frequencies, its harmonics)
    strong = [s for s, v in scored.items() if v >= 0.5 * score and v > 0.05]
    period = max(strong) if strong else None
    peaks = sorted(
        (Peak(a / s, b / s, s, lr) for s, vals in ratios.items() for a, b, lr in vals),
        key=lambda pk: -pk.log_ratio,
    )[:8]
    full_abs = _full(p_abs)
    abs_s8 = _period_score(_ratios(full_abs, t, (8,))[8]) if t % 8 == 0 else None
    jpeg_q = loaded.jpeg_quality if loaded is not None else None
    y_small = luminance(pixels[: min(h, 2048), : min(w, 2048)], top)
    nearest = _nearest_blocks(y_small)
    diagnostics = {
        "jpeg_grid": {
            "jpeg_file": bool(loaded is not None and loaded.format == "JPEG"),
            "quality_estimate": jpeg_q,
            "rectified_period8": None if abs_s8 is None else round(abs_s8, 3),
            "flag": bool((loaded is not None and loaded.format == "JPEG") or (abs_s8 or 0) > 0.3),
        },
        "interpolated_upscale": _notches(full, t),
        "nearest_upscale": {"flag": nearest is not None, "factor": nearest},
        "off_grid": _off_grid(full, t, PERIODS),
    }
    tile_scores = None
    if per_tile is not None:
        tile_scores = _tile_scores(per_tile, t, periods)
    return ScoreResult(
        score=score,
        threshold=threshold,
        period=period,
        per_period=per_period,
        peaks=peaks,
        diagnostics=diagnostics,
        shape=(h, w),
        tile=t,
        tiles=n_tiles,
        path=path,
        spectrum=full if keep_spectrum else None,
        tile_scores=tile_scores,
    )


def _tile_scores(per_tile: F64, t: int, periods: tuple[int, ...], block: int = 2) -> F64:
    """Local scores: the detector on the mean spectrum of each ``block x block`` group of tiles."""
    ny, nx = per_tile.shape[:2]
    out = np.zeros((max(ny - block + 1, 1), max(nx - block + 1, 1)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            p = per_tile[i : i + block, j : j + block].mean(axis=(0, 1))
            vals = _ratios(_full(p), t, periods)
            out[i, j] = max(0.0, max(_period_score(v) for v in vals.values()))
    return out
