"""The checkerboard detector: the periodic component at the stride periods, in grey levels,
with its significance; Welch-spectrum diagnostics of look-alikes.

Pipeline (one image, see ``score_image``; the maths is in :mod:`cbdiag.periodic`):

1. **Luminance** ``Y = 0.299 R + 0.587 G + 0.114 B`` in grey levels of 8-bit (16-bit and float
   images scaled so that white is 255; grey images as they are; alpha ignored).
2. **Lattice coefficients**: the DFT of the periodic component of ``Y`` (Moisan's periodic +
   smooth decomposition, so the borders do not leak) at every frequency ``(a/s, b/s)`` of the
   searched periods ``s`` (2, 4, 8, 16 and 32: the strides of generators and their products,
   those with ``s <= min(H, W) / 4``), and the full-resolution periodogram around each.
3. Per period: **amplitude** (the RMS of the periodic pattern over its ``s x s`` phases, grey
   levels, background subtracted), **significance** (a chi-squared test of the lattice power
   against the local background, as a one-sided normal z), and the **score** ``S_s``: the log10
   of the mean ratio ``|R(f)|^2 / V(f)`` over the primitive frequencies of ``s`` (0 = no
   excess, 1 = lines ten times their background on average).
4. **Period**: the longest period whose primitive frequencies (those no shorter period has)
   are significant and carry power of their own (see ``_decide``); **flagged**: the
   significance of all its frequencies is at least ``min_significance`` (default 5 sigma), the
   amplitude at least ``min_amplitude`` (default in ``DEFAULT_MIN_AMPLITUDE``), the score above
   ``threshold`` (default 0), and no diagnosed look-alike explains it.

Diagnostics: the JPEG grid (quantisation tables, and period-8 lines of the *rectified*
residual) and off-grid peaks (a resized checkerboard) from a Welch spectrum of a Laplacian
residual over a sample of tiles; interpolated upscaling (notches at ``k/s``) from the lattice
backgrounds; nearest-neighbour upscaling (flat ``s x s`` blocks) from a sample of rows and
columns. A resampler that interpolates and rounds to integers
paints a sub-grey-level periodic pattern of its own: in an image with the interpolation
notches, a pattern no larger than ``ROUNDING_LEVELS`` is explained by that rounding.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from scipy import ndimage

from .errors import CbdiagError
from .images import MIN_SIZE, LoadedImage, load_image, luminance, white_level
from .periodic import (
    BAND_PIXELS,
    SMALL_BAND,
    PeriodEstimate,
    PhaseStats,
    estimate,
    lattice_stats,
    median_last,
    pool,
)

__all__ = [
    "DEFAULT_MIN_AMPLITUDE",
    "DEFAULT_MIN_SIGNIFICANCE",
    "DEFAULT_POOLED_MIN_AMPLITUDE",
    "DEFAULT_THRESHOLD",
    "PERIODS",
    "Peak",
    "PooledResult",
    "ScoreResult",
    "candidates",
    "pool_results",
    "score_image",
    "score_pooled",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
#: ``rows(a, b, c0=0, c1=None)``: pixel rows ``a .. b`` (columns ``c0 .. c1``) of an image.
RowReader = Callable[..., NDArray[np.generic]]

#: Periods searched by default (those with ``s <= min(H, W) / 4``).
PERIODS = (2, 4, 8, 16, 32)
#: Largest period ``--stride`` accepts.
MAX_PERIOD = 32
#: Default extra condition on ``score`` (flagged needs ``score > threshold``).
DEFAULT_THRESHOLD = 0.0
#: Default minimum significance (one-sided normal z, "sigma") of a flagged pattern.
DEFAULT_MIN_SIGNIFICANCE = 5.0
#: Default minimum amplitude (grey levels RMS) of a flagged pattern in one image
#: (see the README, "Calibration": above every negative of the benchmark).
DEFAULT_MIN_AMPLITUDE = 0.1
#: Default minimum amplitude of a pooled pattern (its noise falls as 1/sqrt(n)).
DEFAULT_POOLED_MIN_AMPLITUDE = 0.05
#: A pattern up to this amplitude in an image with the notches of an interpolating resampler
#: is explained by the resampler's rounding (uniform rounding noise has RMS 1/sqrt(12) = 0.29).
ROUNDING_LEVELS = 0.3
#: Decoded images with more pixels than this are converted to arrays band by band.
BANDED_PIXELS = 2048 * 2048
CACHED_BAND = 1 << 17  # pixels per band of the lattice pass for an image in memory
#: A longer period counts when its own lines carry at least this share of the power of the
#: longest shorter period that counts (see ``_decide``).
OWN_SHARE = 0.25
#: Tiles of the diagnostic Welch spectrum (a sample when the image has more).
DIAGNOSTIC_TILES = 4
TILE_SIZES = (96, 48, 24)
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


def _meets(
    period: int | None, significance: float, amplitude: float, min_sig: float, min_amp: float
) -> bool:
    """The two criteria of a flag: a detected period, significant and large enough."""
    return period is not None and significance >= min_sig and amplitude >= min_amp


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass
class ScoreResult:
    """What ``score_image`` finds (see the module docstring for the definitions).

    ``amplitude`` is the RMS of the periodic pattern at ``period`` in grey levels of 8-bit
    luminance (at the most significant period when none is detected), ``significance`` its z,
    ``period`` the detected period (``None`` when nothing is significant), ``score`` the
    headline line-to-background energy (``max`` of ``per_period``), ``peaks`` the strongest
    lattice frequencies, ``diagnostics`` the look-alike checks and ``explained_by`` the one that
    explains the pattern, if any. ``stats`` holds the additive statistics for pooling.
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
    amplitude: float = 0.0
    significance: float = 0.0
    log10_p: float = 0.0
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE
    per_period_amplitude: dict[int, float] = field(default_factory=dict)
    per_period_significance: dict[int, float] = field(default_factory=dict)
    explained_by: str | None = None
    path: str | None = None
    spectrum: F64 | None = field(default=None, repr=False)
    tile_scores: F64 | None = field(default=None, repr=False)
    stats: dict[int, PhaseStats] = field(default_factory=dict, repr=False)

    @property
    def flagged(self) -> bool:
        return (
            _meets(
                self.period,
                self.significance,
                self.amplitude,
                self.min_significance,
                self.min_amplitude,
            )
            and self.score > self.threshold
            and self.explained_by is None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(self.score, 4),
            "flagged": self.flagged,
            "period": self.period,
            "amplitude": _r(self.amplitude),
            "significance": _r(self.significance, 2),
            "log10_p": _r(self.log10_p, 2),
            "per_period": {
                str(s): (None if v is None else round(v, 4)) for s, v in self.per_period.items()
            },
            "per_period_amplitude": {str(s): _r(v) for s, v in self.per_period_amplitude.items()},
            "per_period_significance": {
                str(s): _r(v, 2) for s, v in self.per_period_significance.items()
            },
            "explained_by": self.explained_by,
            "peaks": [p.as_dict() for p in self.peaks],
            "diagnostics": self.diagnostics,
            "size": [self.shape[0], self.shape[1]],
            "tile": self.tile,
            "error": None,
        }


@dataclass
class PooledResult:
    """The pattern common to a set of images (one generator's samples), see ``pool_results``.

    ``amplitude`` (grey levels) and ``significance`` (z) of the pooled pattern at ``period``;
    ``per_period`` has both for every period that some image had, with how many images had it;
    only the periods every image has decide the verdict.
    """

    n_images: int
    amplitude: float
    significance: float
    log10_p: float
    period: int | None
    per_period: dict[int, PeriodEstimate]
    min_amplitude: float = DEFAULT_POOLED_MIN_AMPLITUDE
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE

    @property
    def flagged(self) -> bool:
        return _meets(
            self.period,
            self.significance,
            self.amplitude,
            self.min_significance,
            self.min_amplitude,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_images": self.n_images,
            "amplitude": _r(self.amplitude),
            "significance": _r(self.significance, 2),
            "log10_p": _r(self.log10_p, 2),
            "period": self.period,
            "per_period": {
                str(s): {
                    "amplitude": _r(e.amplitude),
                    "significance": _r(e.significance, 2),
                    "score": _r(e.score),
                    "n_images": e.n_images,
                }
                for s, e in self.per_period.items()
            },
            "flagged": self.flagged,
            "min_amplitude": self.min_amplitude,
            "min_significance": self.min_significance,
        }


def _decide(
    est: dict[int, PeriodEstimate], min_significance: float
) -> tuple[int | None, int | None]:
    """(detected period, reported period).

    Periods are taken in increasing order; one counts when its primitive frequencies (those no
    shorter period has) are significant and, if a shorter period already counts, their power is
    at least ``OWN_SHARE`` of that period's primitive power. A pattern modulated by the image
    (uneven gains multiply the local content) leaks faint but significant side lines onto the
    finer lattices of longer periods; a longer stage of a generator paints lines of its own. The
    detected period is the longest that counts; without one, the reported period is the most
    significant (for its amplitude).
    """
    if not est:
        return None, None
    last: PeriodEstimate | None = None
    for s in sorted(est):
        e = est[s]
        if e.significance < min_significance:
            continue
        if last is None or e.primitive_power >= OWN_SHARE * last.primitive_power:
            last = e
    if last is not None:
        return last.period, last.period
    best = max(est, key=lambda s: (est[s].significance, -s))
    return None, best


def _headline(
    est: dict[int, PeriodEstimate], detected: int | None, shown: int | None
) -> tuple[float, float, float]:
    """(amplitude, significance, log10_p) reported for the shown period: the significance of
    all its frequencies when it is detected, of its primitive ones otherwise."""
    if shown is None:
        return 0.0, 0.0, 0.0
    e = est[shown]
    if detected is not None:
        return e.amplitude, e.significance_all, e.log10_p_all
    return e.amplitude, e.significance, e.log10_p


def pool_results(
    results: Iterable[ScoreResult | dict[int, PhaseStats]],
    *,
    min_amplitude: float = DEFAULT_POOLED_MIN_AMPLITUDE,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
) -> PooledResult:
    """The fixed pattern common to many images: their additive statistics summed (images of
    any sizes, aligned at their top-left pixel on the generator's grid), then estimated once.
    Linear time; memory independent of the number of images."""
    total = pool(r.stats if isinstance(r, ScoreResult) else r for r in results)
    if not total:
        raise CbdiagError("no image to pool")
    est = {s: estimate(total[s]) for s in sorted(total)}
    n_images = max(st.n_images for st in total.values())
    # a period that only some images have (the larger ones) does not speak for the pool
    shared = {s: e for s, e in est.items() if total[s].n_images == n_images}
    detected, shown = _decide(shared, min_significance)
    amplitude, significance, log10_p = _headline(est, detected, shown)
    return PooledResult(
        n_images=n_images,
        amplitude=amplitude,
        significance=significance,
        log10_p=log10_p,
        period=detected,
        per_period=est,
        min_amplitude=min_amplitude,
        min_significance=min_significance,
    )


def score_pooled(
    images: Iterable[str | os.PathLike[str] | NDArray[np.generic] | LoadedImage],
    *,
    stride: int | None = None,
    min_amplitude: float = DEFAULT_POOLED_MIN_AMPLITUDE,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
) -> PooledResult:
    """Treat all ``images`` as samples of one generator and estimate their common fixed pattern.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> tile = np.array([[0.5, -0.5], [-0.5, 0.5]])  # a 0.5 grey-level checkerboard
    >>> grey = [rng.normal(128, 8, (64, 64)) + np.tile(tile, (32, 32)) for _ in range(64)]
    >>> p = score_pooled([g / 255 for g in grey])  # float images are in [0, 1]
    >>> p.flagged, p.period, round(p.amplitude, 1)
    (True, 2, 0.5)
    """
    return pool_results(
        (score_image(im, stride=stride, diagnostics=False).stats for im in images),
        min_amplitude=min_amplitude,
        min_significance=min_significance,
    )


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


def _even(v: list[int], n: int) -> list[int]:
    """``n`` entries of ``v`` spread evenly (first and last included when ``n > 1``)."""
    if n >= len(v):
        return v
    if n == 1:
        return [v[len(v) // 2]]
    return [v[round(i * (len(v) - 1) / (n - 1))] for i in range(n)]


@lru_cache(maxsize=8)
def _hann(t: int) -> F32:
    w = np.hanning(t + 2)[1:-1]  # strictly positive taps
    win = np.outer(w, w).astype(np.float32)
    win.flags.writeable = False
    return win


def _starts(n: int, t: int, step: int) -> list[int]:
    """Tile origins along one axis, centred in ``[1, n - 1)`` (the residual's valid range)."""
    count = (n - 2 - t) // step + 1
    span = (count - 1) * step + t
    first = 1 + (n - 2 - span) // 2
    return [first + i * step for i in range(count)]


def welch(
    rows: RowReader,
    shape: tuple[int, int],
    max_value: float,
    *,
    tile: int,
    step: int,
    rectified_tiles: int = 32,
    keep_tiles: bool = False,
    max_tiles: int | None = None,
) -> tuple[F64, F64 | None, int, F64 | None]:
    """Welch spectra of the linear and the rectified Laplacian residual of the luminance.

    Works band by band (one row of tiles at a time), so memory stays bounded by the decoded
    image plus a band. Returns ``(P, P_abs, tiles, per_tile)`` with ``P`` of shape
    ``(tile, tile // 2 + 1)`` (``rfft2`` layout); ``P_abs`` uses about ``rectified_tiles``
    tiles spread over the image (None when that is 0); ``per_tile`` (when asked) is
    ``(rows, cols, tile, tile//2+1)``.
    """
    h, w = shape
    t = tile
    win = _hann(t)
    ys, xs = _starts(h, t, step), _starts(w, t, step)
    if max_tiles is not None and len(ys) * len(xs) > max_tiles:  # an even sample of tiles
        ny = min(len(ys), max(1, math.isqrt(max_tiles)))
        nx = min(len(xs), max(1, max_tiles // ny))
        ny = min(len(ys), max(1, max_tiles // nx))  # a thin image: more along its long side
        ys, xs = _even(ys, ny), _even(xs, nx)
    n_tiles = len(ys) * len(xs)
    workers = min(os.cpu_count() or 1, 4)
    if max_tiles is not None and not keep_tiles and n_tiles <= max(rectified_tiles, max_tiles):
        # a sample of tiles: read them (with a one-pixel margin) and transform them at once
        lum = np.stack(
            [
                luminance(rows(y0 - 1, y0 + t + 1, x0 - 1, x0 + t + 1), max_value)
                for y0 in ys
                for x0 in xs
            ]
        )
        r = np.float32(4.0) * lum[:, 1:-1, 1:-1]
        r -= lum[:, :-2, 1:-1]
        r -= lum[:, 2:, 1:-1]
        r -= lum[:, 1:-1, :-2]
        r -= lum[:, 1:-1, 2:]
        r *= np.float32(0.25)
        both = np.concatenate([r, np.abs(r)]) if rectified_tiles else r
        both -= both.mean(axis=(1, 2), keepdims=True)
        both *= win
        spec = scipy.fft.rfft2(both, workers=1 if both.size <= SMALL_BAND else workers)
        power = spec.real**2 + spec.imag**2
        return (
            power[:n_tiles].sum(axis=0) / n_tiles,
            power[n_tiles:].sum(axis=0) / n_tiles if rectified_tiles else None,
            n_tiles,
            None,
        )
    every = max(1, n_tiles // rectified_tiles) if rectified_tiles else 0
    acc = np.zeros((t, t // 2 + 1), dtype=np.float64)
    acc_abs = np.zeros_like(acc)
    n_abs = 0
    per_tile = np.empty((len(ys), len(xs), t, t // 2 + 1)) if keep_tiles else None
    idx = 0
    for iy, y0 in enumerate(ys):
        # only the columns the tiles of this row cover (a sample of tiles reads much less)
        c0, c1 = xs[0] - 1, xs[-1] + t + 1
        if max_tiles is not None and len(xs) > 1 and (xs[1] - xs[0]) > t + 2:
            band = np.concatenate(
                [luminance(rows(y0 - 1, y0 + t + 1, x0 - 1, x0 + t + 1), max_value) for x0 in xs],
                axis=1,
            )
            starts = [j * (t + 2) + 1 for j in range(len(xs))]
        else:
            band = luminance(rows(y0 - 1, y0 + t + 1, c0, c1), max_value)
            starts = [x0 - c0 for x0 in xs]
        r = np.float32(4.0) * band[1:-1, 1:-1]
        r -= band[:-2, 1:-1]
        r -= band[2:, 1:-1]
        r -= band[1:-1, :-2]
        r -= band[1:-1, 2:]
        r *= np.float32(0.25)
        # r covers the band's columns 1 .. -2; a tile starting at band column x starts at r[x - 1]
        tiles = np.stack([r[:, x - 1 : x - 1 + t] for x in starts])
        tiles -= tiles.mean(axis=(1, 2), keepdims=True)
        tiles *= win
        spec = scipy.fft.rfft2(tiles, workers=1 if tiles.size <= SMALL_BAND else workers)
        power = spec.real**2 + spec.imag**2
        acc += power.sum(axis=0)
        if per_tile is not None:
            per_tile[iy] = power
        sel = [j for j in range(len(xs)) if every and (idx + j) % every == 0]
        if sel:
            ab = np.abs(np.stack([r[:, starts[j] - 1 : starts[j] - 1 + t] for j in sel]))
            ab -= ab.mean(axis=(1, 2), keepdims=True)
            ab *= win
            sa = scipy.fft.rfft2(ab, workers=workers)
            acc_abs += (sa.real**2 + sa.imag**2).sum(axis=0)
            n_abs += len(sel)
        idx += len(xs)
    return acc / n_tiles, acc_abs / n_abs if n_abs else None, n_tiles, per_tile


def _full(p: F64) -> F64:
    """The full ``T x T`` power spectrum from its ``rfft2`` half (``P(-f) = P(f)``)."""
    t = p.shape[0]
    full = np.empty((t, t))
    full[:, : p.shape[1]] = p
    ky = (-np.arange(t)) % t
    full[:, p.shape[1] :] = p[ky][:, t - np.arange(p.shape[1], t)]
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


def _masked_median(flat: F64, sel: NDArray[np.int64]) -> F64:
    """Row-wise median of ``flat[sel]`` over the entries with ``sel >= 0`` (0 for empty rows)."""
    if sel.shape[1] == 0:
        return np.zeros(sel.shape[0])
    valid = sel >= 0
    vals = np.where(valid, flat[np.maximum(sel, 0)], np.inf)
    vals.sort(axis=1)
    n = valid.sum(axis=1)
    rows = np.arange(len(n))
    lo = vals[rows, np.maximum((n - 1) // 2, 0)]
    hi = vals[rows, np.maximum(n // 2, 0)]
    return np.where(n > 0, (lo + np.where(n > 0, hi, 0.0)) / 2, 0.0)


def _ratios(
    full: F64,
    t: int,
    periods: tuple[int, ...],
) -> dict[int, list[tuple[int, int, float]]]:
    """log10 peak ratio of every candidate of every period in a Welch spectrum (vectorised
    over candidates): used by the diagnostics and the local map."""
    flat = full.ravel()
    out: dict[int, list[tuple[int, int, float]]] = {}
    for s, (ab, centre, idx) in _plan(t, tuple(periods)).items():
        bg = np.zeros(len(centre))
        for sel in idx:
            bg = np.maximum(bg, _masked_median(flat, sel))
        peak = flat[centre]
        ok = (bg > 0) & (peak > 0)
        lr = np.zeros(len(centre))
        lr[ok] = np.log10(peak[ok] / bg[ok])
        gate_idx = idx[3]
        gate = np.max(np.where(gate_idx >= 0, flat[np.maximum(gate_idx, 0)], -np.inf), axis=1)
        lr = np.where(ok & (peak < gate), np.minimum(lr, 0.0), lr)
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


class _Sampler:
    """Keeps, from luminance bands as they go by, the rows and columns of the top-left
    ``2048 x 2048`` region that the nearest-neighbour check looks at (every ``h // 128``-th row,
    every ``w // 128``-th column)."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = min(h, 2048), min(w, 2048)
        self.kr, self.kc = max(1, self.h // 128), max(1, self.w // 128)
        self.rows: list[F32] = []
        self.cols: list[F32] = []

    def take(self, a: int, band: F32) -> None:
        if a >= self.h:
            return
        band = band[: self.h - a, : self.w]
        first = (-a) % self.kr
        self.rows.append(band[first :: self.kr].copy())  # copies: a view would keep the band
        self.cols.append(band[:, :: self.kc].copy())

    def nearest(self, whole: F32 | None = None) -> int | None:
        """The check on the rows and columns taken, or on those of ``whole`` (views of it)."""
        if whole is not None:
            region = whole[: self.h, : self.w]
            return _nearest_blocks(region[:: self.kr], region[:, :: self.kc])
        if not self.rows:
            return None
        return _nearest_blocks(np.concatenate(self.rows), np.concatenate(self.cols))


def _nearest_blocks(rows: F32, cols: F32, max_factor: int = 8) -> int | None:
    """Factor ``s`` of a nearest-neighbour upscale: the luminance is constant on ``s x s``
    blocks aligned to some phase (detected from exactly-zero neighbour differences in a sample
    of ``rows`` and of columns ``cols``)."""
    dx = np.diff(rows, axis=1) == 0
    if dx.mean() < 0.3:
        return None
    dy = np.diff(cols, axis=0) == 0
    for s in range(max_factor, 1, -1):
        fx = np.array([dx[:, p::s].mean() for p in range(s)])
        fy = np.array([dy[p::s].mean() for p in range(s)])
        if (np.sort(fx)[1] > 0.97 and fx.min() < 0.7) and (
            np.sort(fy)[1] > 0.97 and fy.min() < 0.7
        ):
            return s
    return None


@lru_cache(maxsize=32)
def _notch_plan(lat: int, s: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For the primitive frequencies of ``s`` on the ``lat`` lattice: their flat indices, and
    the flat indices of the lattice points 1 or 2 steps around each (not on the ``s`` lattice)."""
    step = lat // s
    centres, rings = [], []
    for a in range(s):
        for b in range(s):
            if (a, b) == (0, 0) or math.gcd(math.gcd(a, b), s) != 1:
                continue
            ya, xb = a * step, b * step
            centres.append(ya * lat + xb)
            rings.append(
                [
                    ((ya + i) % lat) * lat + (xb + j) % lat
                    for i in range(-2, 3)
                    for j in range(-2, 3)
                    if max(abs(i), abs(j)) >= 1 and ((ya + i) % step or (xb + j) % step)
                ]
            )
    return np.array(centres, dtype=np.int64), np.array(rings, dtype=np.int64)


def _lattice_notches(stats: dict[int, PhaseStats]) -> dict[str, Any]:
    """Interpolated upscaling leaves notches (deep minima) at ``k/s``: from the lattice pass,
    the background of each primitive frequency of ``s`` against the backgrounds of the lattice
    frequencies around it (1 or 2 steps of ``1/L`` away, not on the lattice of ``s``). Every
    candidate must be 5 times below (log10 < -0.7); the largest such factor is reported."""
    lat = max(stats)
    st = stats[lat]
    v = (st.ring if st.ring is not None else st.null).ravel()
    best: int | None = None
    nyq = 0.0
    for s in (2, 3, 4):
        if lat % s or lat == s:
            continue
        centres, rings = _notch_plan(lat, s)
        ref = median_last(v[rings])
        c = v[centres]
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.where((c > 0) & (ref > 0), np.log10(c / ref), 0.0)
        if s == 2:
            nyq = float(lr.min())
        if float(lr.max()) < -0.7:
            best = s
    return {
        "flag": best is not None,
        "factor": best,
        "nyquist_log10_ratio": round(nyq, 3),
    }


@lru_cache(maxsize=16)
def _off_grid_mask(t: int, periods: tuple[int, ...]) -> NDArray[np.bool_]:
    """Bins (fftshift layout) searched for off-grid peaks: away from DC (|f| > 0.1) and from
    every ``k/s`` bin by more than the Hann window's main lobe (+-2 bins, wrapping at 1/2)."""
    f = (np.arange(t) - t // 2) / t
    mask = np.hypot(f[:, None], f[None, :]) > 0.1
    near = np.arange(-2, 3)
    for s in periods:
        if t % s:
            continue
        for a in range(s):
            cy = (a * t // s + t // 2) % t
            for b in range(s):
                cx = (b * t // s + t // 2) % t
                mask[np.ix_((cy + near) % t, (cx + near) % t)] = False
    mask.flags.writeable = False
    return mask


def _off_grid(full: F64, t: int, periods: tuple[int, ...]) -> dict[str, Any]:
    """The strongest peak away from every ``k/s`` bin (a resized checkerboard moves there)."""
    shifted = np.log10(np.maximum(np.fft.fftshift(full), 1e-300))
    # background: the mean log power of the 7x7 neighbourhood without the bin itself
    box = ndimage.uniform_filter(shifted, size=7, mode="wrap")
    ratio = shifted - (box * 49 - shifted) / 48
    f = (np.arange(t) - t // 2) / t
    mask = _off_grid_mask(t, periods)
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


def _periods(h: int, w: int, stride: int | None) -> tuple[int, ...]:
    if stride is not None:
        if stride < 2 or stride > MAX_PERIOD:
            raise CbdiagError(f"stride must be from 2 to {MAX_PERIOD}, got {stride}")
        if 4 * stride > min(h, w):
            raise ImageTooSmallError(
                f"image {h}x{w} is too small to look for period {stride} "
                f"(at least {4 * stride} pixels a side)"
            )
        return (stride,)
    return tuple(s for s in PERIODS if 4 * s <= min(h, w))


def score_image(
    image: str | os.PathLike[str] | NDArray[np.generic] | LoadedImage,
    *,
    stride: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
    keep_spectrum: bool = False,
    keep_tiles: bool = False,
    diagnostics: bool = True,
) -> ScoreResult:
    """Checkerboard pattern of one image, in grey levels, with no model and no training data.

    Parameters
    ----------
    image : path, array or LoadedImage
        A file (any format Pillow reads safely), or an array: ``(H, W)`` grey or ``(H, W, 3|4)``
        colour, integers (8/16-bit) or floats in ``[0, 1]``.
    stride : int, optional
        Only look for this period (2 to 32; default: 2, 4, 8, 16 and 32).
    threshold : float
        ``flagged`` also needs ``score > threshold`` (default 0).
    min_amplitude, min_significance : float
        ``flagged`` needs at least this amplitude (grey levels RMS) and significance (z).
    keep_spectrum, keep_tiles : bool
        Keep the full Welch power spectrum / per-tile spectra (for the pictures).
    diagnostics : bool
        Compute the look-alike diagnostics (off: only the pooled statistics are wanted).

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.random((256, 256))
    >>> score_image(noise).flagged
    False
    >>> i, j = np.indices((256, 256))
    >>> planted = noise + 0.2 * ((i + j) % 2)  # 0.1 of white = 25.5 grey levels, RMS
    >>> r = score_image(planted)
    >>> r.flagged, r.period, round(r.amplitude, 1)
    (True, 2, 25.5)
    """
    path = None
    if isinstance(image, (str, os.PathLike)):
        path = str(image)
        image = load_image(image)
    rows: RowReader
    if isinstance(image, LoadedImage):
        top = image.max_value
        loaded: LoadedImage | None = image
        h, w = image.shape
        dtype = image.dtype
        if h * w <= BANDED_PIXELS:  # small enough to convert once (faster than by bands)
            whole = image.pixels

            def rows(a: int, b: int, c0: int = 0, c1: int | None = None) -> NDArray[np.generic]:
                return whole[a:b, c0:c1]

        else:
            rows = image.rows
    else:
        arr = np.asarray(image)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise CbdiagError(f"expected an (H, W) or (H, W, 1|3|4) array, got shape {arr.shape}")
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[..., :3]
        top = white_level(arr)
        loaded = None
        h, w = arr.shape[:2]
        dtype = arr.dtype

        def rows(a: int, b: int, c0: int = 0, c1: int | None = None) -> NDArray[np.generic]:
            return arr[a:b, c0:c1]

    if np.issubdtype(dtype, np.floating) and not np.isfinite(rows(0, h)).all():
        raise CbdiagError(f"{path or 'image'}: contains NaN or infinite values")
    if min(h, w) < MIN_SIZE:
        raise ImageTooSmallError(f"image {h}x{w} is too small (at least {MIN_SIZE}x{MIN_SIZE})")
    periods = _periods(h, w, stride)
    grey_scale = top / 255.0

    sampler = _Sampler(h, w)
    # an image in memory anyway is converted once, band by band as the lattice pass reads it
    # (while each band is in cache), and kept for the diagnostics' tiles
    whole_grey = (
        np.empty((h, w), dtype=np.float32) if loaded is None or h * w <= BANDED_PIXELS else None
    )
    raw_rows = rows

    def grey(a: int, b: int) -> F32:
        band = luminance(raw_rows(a, b), grey_scale)
        if whole_grey is not None:
            whole_grey[a:b] = band
        else:
            sampler.take(a, band)
        return band

    stats = lattice_stats(
        grey, h, w, periods, band_pixels=CACHED_BAND if whole_grey is not None else BAND_PIXELS
    )
    if whole_grey is not None:
        read = (h // math.lcm(*periods)) * math.lcm(*periods)  # the rows the pass read
        if read < h:
            whole_grey[read:] = luminance(raw_rows(read, h), grey_scale)
        y_all = whole_grey

        def rows(a: int, b: int, c0: int = 0, c1: int | None = None) -> NDArray[np.generic]:
            return y_all[a:b, c0:c1]

        top = 255.0
    est = {s: estimate(stats[s]) for s in periods}
    detected, shown = _decide(est, min_significance)
    amplitude, significance, log10_p = _headline(est, detected, shown)
    per_period: dict[int, float | None] = {s: est[s].score for s in periods}
    score = max((v for v in per_period.values() if v is not None), default=0.0)
    cands = [(lr, s, a, b) for s, pe in est.items() for a, b, lr in pe.log_ratios]
    cands.sort(key=lambda c: -c[0])
    peaks = [Peak(_fold(a, s) / s, _fold(b, s) / s, s, lr) for lr, s, a, b in cands[:8]]
    diag: dict[str, Any] = {}
    t, n_tiles, full = 0, 0, None
    tile_scores = None
    if diagnostics or keep_spectrum or keep_tiles:
        diag, t, n_tiles, full, tile_scores = _diagnostics(
            rows,
            (h, w),
            top,
            loaded,
            sampler.nearest(whole_grey),
            detected,
            stats,
            keep_spectrum=keep_spectrum,
            keep_tiles=keep_tiles,
        )
    explained = None
    notch = diag.get("interpolated_upscale", {})
    if notch.get("flag") and amplitude <= ROUNDING_LEVELS:
        explained = (
            f"rounding of an interpolating resampler (x{notch.get('factor')}): "
            f"{amplitude:.2f} <= {ROUNDING_LEVELS} grey levels"
        )
    return ScoreResult(
        score=score,
        threshold=threshold,
        period=detected,
        per_period=per_period,
        peaks=peaks,
        diagnostics=diag,
        shape=(h, w),
        tile=t,
        tiles=n_tiles,
        amplitude=amplitude,
        significance=significance,
        log10_p=log10_p,
        min_amplitude=min_amplitude,
        min_significance=min_significance,
        per_period_amplitude={s: est[s].amplitude for s in periods},
        per_period_significance={s: est[s].significance for s in periods},
        explained_by=explained,
        path=path,
        spectrum=full if keep_spectrum else None,
        tile_scores=tile_scores,
        stats=stats,
    )


def _fold(a: int, s: int) -> int:
    return a if a <= s // 2 else a - s


def _diagnostics(
    rows: RowReader,
    shape: tuple[int, int],
    top: float,
    loaded: LoadedImage | None,
    nearest: int | None,
    detected: int | None,
    stats: dict[int, PhaseStats],
    *,
    keep_spectrum: bool,
    keep_tiles: bool,
) -> tuple[dict[str, Any], int, int, F64, F64 | None]:
    """Look-alike checks from a Welch spectrum (a sample of tiles unless pictures are asked)."""
    h, w = shape
    t, step = _choose_tile(h, w)
    sample = None if (keep_spectrum or keep_tiles) else DIAGNOSTIC_TILES
    jpeg_file = bool(loaded is not None and loaded.format == "JPEG")
    # the rectified residual shows a JPEG grid in a file that does not say it is a JPEG; a JPEG
    # file says it
    rectified = 0 if jpeg_file else 32 if sample is None else sample
    p, p_abs, n_tiles, per_tile = welch(
        rows,
        shape,
        top,
        tile=t,
        step=step,
        keep_tiles=keep_tiles,
        max_tiles=sample,
        rectified_tiles=rectified,
    )
    full = _full(p)
    abs_s8 = None
    if p_abs is not None and t % 8 == 0:
        abs_s8 = _period_score(_ratios(_full(p_abs), t, (8,))[8])
    jpeg_q = loaded.jpeg_quality if loaded is not None else None
    diag = {
        "jpeg_grid": {
            "jpeg_file": jpeg_file,
            "quality_estimate": jpeg_q,
            "rectified_period8": None if abs_s8 is None else round(abs_s8, 3),
            "flag": bool(jpeg_file or (abs_s8 or 0) > 0.3),
        },
        "interpolated_upscale": _lattice_notches(stats),
        "nearest_upscale": {"flag": nearest is not None, "factor": nearest},
        "off_grid": _off_grid(full, t, (2, 4, 8)),
    }
    tile_scores = None
    if per_tile is not None:  # the local score of the detected period (of all, without one)
        local = (detected,) if detected and t % detected == 0 else (2, 4, 8, 16)
        tile_scores = _tile_scores(per_tile, t, tuple(s for s in local if t % s == 0))
    return diag, t, n_tiles, full, tile_scores


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
