"""The periodic component of an image: its amplitude in grey levels and its significance.

Uneven per-phase gains of a strided upsampler add to the image a pattern ``c`` that repeats
every ``s`` pixels: a periodic *mean*. This module estimates that pattern from the image alone
(or from many images of one generator), in physical units, with a test of whether it is there.

Definitions (``Y`` = luminance in grey levels of 8-bit, ``Y = 0.299 R + 0.587 G + 0.114 B``
scaled so that white is 255, whatever the file's bit depth):

* **Lattice coefficients** ``R(a/s, b/s)``: the DFT of the *periodic component* of ``Y``
  (Moisan's periodic + smooth decomposition, see ``_smooth_part``: the jumps across the
  borders of the image, seen as periodic, would otherwise leak a cross along both axes), the
  image cropped at the top-left to a multiple of the lattice period ``L`` on both axes (``N``
  pixels), at the frequencies of period ``s``. They are exact DFT bins, and (up to the border
  correction, of order ``1/N``) the DFT of the ``s x s`` per-phase sums of ``Y``.
* **Background** ``V(f)``: what ``|R(f)|^2`` is expected to be with no pattern, ``N S(f)``
  with ``S`` the power spectral density, estimated as the mean of the full-resolution
  periodogram over the bins at Chebyshev distance ``1..J`` around ``f`` (``J`` up to 4; never
  another lattice bin). At frequencies on an axis (the "cross" of horizontal and vertical
  structure in natural images) the larger of that ring and the mean along the axis is used.
* **Measured frequencies**: those where a 5x5 box residual ``Y - box5(Y)`` would pass at least
  ``GAIN_MIN`` of a line, ``G(f) = 1 - D5(fy) D5(fx) >= 0.25`` with
  ``D5(f) = sin(5 pi f) / (5 sin(pi f))``: below about 1/10 cycle per pixel the image's own
  content dominates and no pattern can be told from it.
* **Amplitude** of period ``s``: the RMS over the ``s x s`` phases of the periodic pattern of
  ``Y``, ``A_s^2 = sum_f (|R(f)|^2 - V(f)) / N^2`` over the measured lattice frequencies of
  ``s`` other than 0 (Parseval), background subtracted, so it is unbiased at any strength.
* **Significance**: under no pattern, ``2 |R(f)|^2 / V(f)`` is chi-squared with 2 degrees of
  freedom (1 and ``|R|^2 / V`` at the self-conjugate frequencies 0 and 1/2), independently over
  the frequencies of one half-plane, so their sum ``X`` is chi-squared with as many degrees of
  freedom as terms. ``p = P(chi2_dof > X)``, reported as the one-sided normal quantile
  ``z = Phi^-1(1 - p)`` ("sigma"), over the primitive frequencies of ``s`` (those no shorter
  period has) and over all its measured frequencies.

Everything above is a sum over pixels, so the statistics of several images add up
(:class:`PhaseStats`): the pooled estimate of the pattern that a generator paints into all its
samples is ``sum_i R_i / sum_i N_i`` with background ``sum_i V_i``; images of different sizes
are aligned on the generator's grid at their top-left pixel.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from scipy import special

__all__ = [
    "GAIN_MIN",
    "PeriodEstimate",
    "PhaseStats",
    "estimate",
    "gain",
    "lattice_stats",
    "pool",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
C128 = NDArray[np.complex128]

#: Lattice frequencies where the residual passes less than this are not measured.
GAIN_MIN = 0.25
#: Pixels of the image handled at once (memory stays near the decoded image plus one band).
BAND_PIXELS = 1 << 19
SMALL_BAND = 1 << 18
#: A lattice frequency is left out when a bin of its ring exceeds this many times the ring's
#: median and the frequency's own power: a line of the content beside it (by chance with no
#: pattern: about 1e-7 per ring).
LINE_GUARD = 30.0
#: How many of a period's strongest lines its estimate keeps (for the reported peaks).
LOG_RATIOS_KEPT = 16
#: Largest ring distance (in full-resolution bins) of the background estimate.
RING = 4


def _d5(f: F64) -> F64:
    """Frequency response of the 5-tap box filter (1 at f = 0)."""
    s = np.sin(np.pi * f)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sin(5 * np.pi * f) / (5 * s)
    return np.where(np.abs(s) < 1e-12, 1.0, out)


def _signed(s: int) -> NDArray[np.int64]:
    a = np.arange(s)
    return np.where(a <= s // 2, a, a - s)


@lru_cache(maxsize=64)
def gain(s: int) -> F64:
    """``G(a/s, b/s)`` of the residual ``r = Y - box5(Y)`` on the ``s x s`` lattice.

    >>> round(float(gain(2)[1, 1]), 4)  # (1/2, 1/2): D5(1/2)^2 = 1/25
    0.96
    """
    f = _signed(s) / s
    d = _d5(f)
    return np.asarray(1.0 - d[:, None] * d[None, :], dtype=np.float64)


@lru_cache(maxsize=64)
def _masks(s: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """(measured, primitive, representative) masks on the ``s x s`` lattice.

    measured: not DC and ``G >= GAIN_MIN``; primitive: ``gcd(a, b, s) == 1`` (the frequencies
    that no shorter period has); representative: one of each conjugate pair ``f, -f``.
    """
    a, b = np.indices((s, s))
    measured = gain(s) >= GAIN_MIN
    measured[0, 0] = False
    prim = np.gcd(np.gcd(a, b), s) == 1
    ca, cb = (-a) % s, (-b) % s
    rep = (a * s + b) <= (ca * s + cb)
    return measured, prim & measured, rep


def median_last(x: F64) -> F64:
    """``np.median(x, axis=-1)`` from one partition (``np.median`` does two: slower on many
    short rows)."""
    n = x.shape[-1]
    mid = n // 2
    part = np.partition(x, mid, axis=-1)
    out = part[..., mid]
    if n % 2 == 0:
        out = (out + part[..., :mid].max(axis=-1)) / 2
    return np.asarray(out, dtype=np.float64)


@lru_cache(maxsize=64)
def _index_weights(s: int) -> tuple[NDArray[np.int64], NDArray[np.int64], F64]:
    """Indices ``a, b`` of the ``s x s`` lattice and the chi-squared degrees of freedom of each
    frequency: 2 (a complex coefficient), 1 where ``f = -f`` (a real one)."""
    a, b = np.indices((s, s))
    selfconj = ((2 * a) % s == 0) & ((2 * b) % s == 0)
    return a, b, np.where(selfconj, 1.0, 2.0)


@dataclass
class PhaseStats:
    """Additive sufficient statistics of one period ``s`` (sum them over images to pool).

    ``coef[a, b]`` is the sum of the lattice coefficients ``R(a/s, b/s)``, ``null[a, b]`` the sum
    of their backgrounds ``V``, ``pixels`` the sum of ``N``, ``n_images`` how many images, and
    ``npix[a, b]`` the pixels behind each frequency: an image whose frequency was left out (a
    strong line of its own content right beside it, see ``LINE_GUARD``) adds 0 there.
    """

    period: int
    coef: C128
    null: F64
    pixels: int
    n_images: int = 1
    npix: F64 | None = None
    ring: F64 | None = None  # the background before frequencies are left out (diagnostics)

    def weights(self) -> F64:
        """Pixels behind each lattice frequency (``pixels`` where none was left out)."""
        if self.npix is None:
            return np.full((self.period, self.period), float(self.pixels))
        return self.npix

    def __add__(self, other: PhaseStats) -> PhaseStats:
        if other.period != self.period:
            raise ValueError("cannot add statistics of different periods")
        return PhaseStats(
            self.period,
            self.coef + other.coef,
            self.null + other.null,
            self.pixels + other.pixels,
            self.n_images + other.n_images,
            self.weights() + other.weights(),
            None if self.ring is None or other.ring is None else self.ring + other.ring,
        )


@dataclass(frozen=True)
class PeriodEstimate:
    """What one period's statistics say (see the module docstring).

    ``amplitude`` in grey levels (all measured frequencies of the period, harmonics included),
    ``significance`` the z of the primitive frequencies (those no shorter period has),
    ``significance_all`` the z of all measured frequencies (``log10_p`` and ``log10_p_all`` the
    log10 of their p-values), ``n_images`` how many images the statistics pool, ``power`` the
    background-subtracted
    mean square of the pattern (``amplitude**2`` before clipping at 0), ``primitive_power`` the
    part of it on the primitive frequencies, ``score`` the log10 of the mean
    ratio ``|R|^2 / V`` over the primitive frequencies (0 when not above 1), ``log_ratios`` the
    ``log10(|R|^2 / V)`` of the strongest representative primitive frequencies (at most
    ``LOG_RATIOS_KEPT``, strongest first) as ``(a, b, value)``.
    """

    period: int
    amplitude: float
    significance: float
    significance_all: float
    log10_p: float
    score: float
    log_ratios: tuple[tuple[int, int, float], ...]
    power: float = 0.0
    primitive_power: float = 0.0
    log10_p_all: float = 0.0
    n_images: int = 1


def _z_from_log_sf(log_p: float) -> float:
    """One-sided normal quantile of a p-value given as ``log(p)`` (no underflow)."""
    if log_p >= 0:
        return 0.0
    if log_p > -700:
        return float(-special.ndtri(math.exp(log_p)))
    # Mills ratio asymptotics: log p ~ -z^2/2 - log(z) - log(sqrt(2 pi))
    z = math.sqrt(-2 * log_p)
    for _ in range(8):
        z = math.sqrt(max(-2 * (log_p + math.log(z) + 0.5 * math.log(2 * math.pi)), 1e-12))
    return z


def _chi2_log_sf(x: float, dof: int) -> float:
    """``log P(chi2_dof > x)`` (the regularised upper incomplete gamma, in logs for large x)."""
    if dof <= 0 or x <= 0:
        return 0.0
    q = float(special.gammaincc(dof / 2, x / 2))
    if q > 1e-300:
        return math.log(q)
    # asymptotic: Q(k, y) ~ y^(k-1) e^-y / Gamma(k)
    k, y = dof / 2, x / 2
    return (k - 1) * math.log(y) - y - math.lgamma(k)


def estimate(stats: PhaseStats) -> PeriodEstimate:
    """Amplitude, significance and score of one period from its (possibly pooled) statistics."""
    s = stats.period
    measured, prim, rep = _masks(s)
    power = np.abs(stats.coef) ** 2
    null = np.maximum(stats.null, 1e-30)
    npix = stats.weights()
    usable = npix > 0
    measured, prim = measured & usable, prim & usable
    per_freq = (power - stats.null) / np.maximum(npix, 1.0) ** 2
    excess = float(np.sum(per_freq[measured]))
    excess_prim = float(np.sum(per_freq[prim]))
    amplitude = math.sqrt(max(excess, 0.0))
    a, b, weight = _index_weights(s)
    ratio = power / null

    def test(mask: NDArray[np.bool_]) -> float:
        m = mask & rep
        x = float(np.sum((weight * ratio)[m]))
        dof = int(np.sum(weight[m]))
        return _chi2_log_sf(x, dof)

    log_p_prim, log_p_all = test(prim), test(measured)
    m = prim & rep
    logs = np.log10(np.maximum(ratio[m], 1e-30))
    mean_ratio = float(np.sum((weight * ratio)[m]) / max(np.sum(weight[m]), 1))
    top_k = np.argsort(-logs, kind="stable")[:LOG_RATIOS_KEPT]  # the strongest lines
    lr = tuple(
        (int(i), int(j), float(v))
        for i, j, v in zip(a[m][top_k], b[m][top_k], logs[top_k], strict=True)
    )
    return PeriodEstimate(
        period=s,
        amplitude=amplitude,
        significance=_z_from_log_sf(log_p_prim),
        significance_all=_z_from_log_sf(log_p_all),
        log10_p=log_p_prim / math.log(10),
        score=max(0.0, math.log10(max(mean_ratio, 1e-30))),
        log_ratios=lr,
        power=excess,
        primitive_power=excess_prim,
        log10_p_all=log_p_all / math.log(10),
        n_images=stats.n_images,
    )


def pool(stats: Iterable[dict[int, PhaseStats]]) -> dict[int, PhaseStats]:
    """Sum per-image statistics period by period (periods that some image lacks are kept with
    the images that have them)."""
    total: dict[int, PhaseStats] = {}
    for one in stats:
        for s, st in one.items():
            total[s] = st if s not in total else total[s] + st
    return total


# ---------------------------------------------------------------------------------------------
# the lattice coefficients of one image
# ---------------------------------------------------------------------------------------------


def _smooth_part(first: F64, last: F64, left: F64, right: F64, plan: _Plan) -> C128:
    """DFT of the smooth component of Moisan's periodic + smooth decomposition at the gathered
    bins: what the jumps across the borders of the cropped image (seen as periodic) add to its
    spectrum, the "cross" along both axes. Only the four border lines are needed:
    ``S(q, r) = V(q, r) / (2 cos(2 pi q / H) + 2 cos(2 pi r / W) - 4)`` with
    ``V(q, r) = V1(r) (1 - e^(2 pi i q / H)) + V2(q) (1 - e^(2 pi i r / W))``, ``V1`` the DFT of
    ``last row - first row`` and ``V2`` that of ``right column - left column``.
    """
    v1 = np.fft.fft(last - first)  # over x
    v2 = np.fft.fft(right - left)  # over y
    s = v1[plan.r] * plan.factor_v1
    s += v2[plan.q] * plan.factor_v2
    np.conjugate(s, out=s, where=plan.conj)
    return s


@dataclass(frozen=True)
class _Plan:
    cols: NDArray[np.int64]  # kept rfft columns
    q: NDArray[np.int64]  # (lat, lat, n_off) full-FFT row read
    r: NDArray[np.int64]  # (lat, lat, n_off) rfft column read
    flat: NDArray[np.int64]  # q * len(cols) + (index of r in cols): where to read in (hc, cols)
    conj: NDArray[np.bool_]  # conjugate what is read (the bin lies in the other half)
    factor_v1: C128  # (1 - e^(2 pi i q / H)) / den
    factor_v2: C128  # (1 - e^(2 pi i r / W)) / den
    ring: NDArray[np.int64]  # offset indices of the ring, along y, along x
    along_y: NDArray[np.int64]
    along_x: NDArray[np.int64]


@lru_cache(maxsize=32)
def _gather_plan(hc: int, wc: int, lat: int, ring: int) -> _Plan:
    """Which rfft columns to keep, and for each lattice point ``(a, b)`` with ``b <= lat/2``
    and each offset (offset 0 first), which bin to read: the full-plane bin
    ``(a hc/lat + di, b wc/lat + dj)``, read from the rfft half (conjugated) when it lies in
    the other half."""
    offs = [(0, 0)] + [
        (di, dj)
        for di in range(-ring, ring + 1)
        for dj in range(-ring, ring + 1)
        if 1 <= max(abs(di), abs(dj)) <= ring
    ]
    off = np.array(offs, dtype=np.int64)
    a = np.arange(lat)
    b = np.arange(lat // 2 + 1)  # one half of the lattice; the other is its conjugate
    nb = len(b)
    ky = (a * (hc // lat))[:, None, None] + off[None, None, :, 0] + np.zeros((1, nb, 1), int)
    kx = (b * (wc // lat))[None, :, None] + off[None, None, :, 1] + np.zeros((lat, 1, 1), int)
    c = kx % wc
    conj = c > wc // 2
    col = np.where(conj, wc - c, c)
    row = np.where(conj, (-ky) % hc, ky % hc)
    cols = np.unique(col)
    den = 2 * np.cos(2 * np.pi * row / hc) + 2 * np.cos(2 * np.pi * col / wc) - 4
    inv_den = np.where(den < 0, 1.0 / np.where(den < 0, den, -1.0), 0.0)
    return _Plan(
        cols=cols,
        q=row,
        r=col,
        flat=row * len(cols) + np.searchsorted(cols, col),
        conj=conj,
        factor_v1=(1 - np.exp(2j * np.pi * row / hc)) * inv_den,
        factor_v2=(1 - np.exp(2j * np.pi * col / wc)) * inv_den,
        ring=np.arange(1, len(offs)),
        along_y=np.array([k for k, (di, dj) in enumerate(offs) if dj == 0 and di != 0]),
        along_x=np.array([k for k, (di, dj) in enumerate(offs) if di == 0 and dj != 0]),
    )


def _full_lattice(half: NDArray[np.generic], lat: int, *, conj: bool) -> NDArray[np.generic]:
    """The ``lat x lat`` lattice from its columns ``0 .. lat/2``: ``X(-f) = conj(X(f))``."""
    nb = half.shape[1]
    out = np.empty((lat, lat), dtype=half.dtype)
    out[:, :nb] = half
    rest = lat - np.arange(nb, lat)
    mirror = half[(-np.arange(lat)) % lat][:, rest]
    out[:, nb:] = np.conj(mirror) if conj else mirror
    return out


def lattice_stats(
    grey: Callable[[int, int], F32],
    h: int,
    w: int,
    periods: tuple[int, ...],
    *,
    workers: int | None = None,
    band_pixels: int = BAND_PIXELS,
) -> dict[int, PhaseStats]:
    """Statistics of every period in ``periods`` for one image given as luminance bands.

    ``grey(a, b)`` returns the luminance rows ``a .. b`` in grey levels (float32). The lattice
    period ``L`` is the least common multiple of ``periods``; the image is cropped at the
    top-left to multiples of ``L``. One real FFT per row (only the columns near lattice
    frequencies are kept) and one complex FFT per kept column: cheaper than one full 2-D FFT,
    in memory that does not grow with the image beyond a band and the kept columns. The
    spectrum is that of the *periodic component* of Moisan's decomposition (see
    ``_smooth_part``), so the crop's borders do not leak along the axes. Rows are read in
    bands of about ``band_pixels`` pixels (an image already in memory can be read in one).
    """
    lat = math.lcm(*periods)
    hc, wc = (h // lat) * lat, (w // lat) * lat
    if hc < 4 * lat or wc < 4 * lat:
        raise ValueError(f"image {h}x{w} too small for period {lat}")
    ring = min(RING, hc // lat - 1, wc // lat - 1)
    plan = _gather_plan(hc, wc, lat, ring)
    cols = plan.cols
    workers = workers or min(os.cpu_count() or 1, 4)
    buf = np.empty((hc, len(cols)), dtype=np.complex64)
    left = np.empty(hc, dtype=np.float64)
    right = np.empty(hc, dtype=np.float64)
    first = last = np.zeros(wc, dtype=np.float64)
    band_rows = max(8, min(hc, band_pixels // max(w, 1)))
    # threads cost more than they save on a band that fits in cache
    row_workers = 1 if band_rows * w <= SMALL_BAND else workers
    for y0 in range(0, hc, band_rows):
        y1 = min(hc, y0 + band_rows)
        band = grey(y0, y1)[:, :wc]
        buf[y0:y1] = scipy.fft.rfft(band, axis=1, workers=row_workers)[:, cols]
        left[y0:y1], right[y0:y1] = band[:, 0], band[:, -1]
        if y0 == 0:
            first = band[0].astype(np.float64)
        if y1 == hc:
            last = band[-1].astype(np.float64)
    col_workers = 1 if buf.size <= SMALL_BAND else workers
    full = scipy.fft.fft(buf, axis=0, workers=col_workers, overwrite_x=True)
    vals = np.take(full, plan.flat).astype(np.complex128)  # (lat, lat/2 + 1, offsets)
    np.conjugate(vals, out=vals, where=plan.conj)
    vals -= _smooth_part(first, last, left, right, plan)
    power = vals.real**2 + vals.imag**2
    along_y, along_x = plan.along_y, plan.along_x
    ring_power = power[..., plan.ring]
    null = ring_power.mean(axis=-1)
    ring_max = ring_power.max(axis=-1)
    ring_median = median_last(ring_power)
    # on the axes, the ridge of horizontal/vertical structure: the larger background
    null[:, 0] = np.maximum(null[:, 0], power[:, 0][..., along_y].mean(axis=-1))
    null[0, :] = np.maximum(null[0, :], power[0, :][..., along_x].mean(axis=-1))
    centre = _full_lattice(vals[..., 0], lat, conj=True)
    null = _full_lattice(null, lat, conj=False)
    # a strong line of the image's own content (a periodic texture, a sharp straight edge) right
    # beside a lattice frequency leaks into it unevenly: that frequency is left out
    # (the line itself, when the pattern covers only part of the image, leaks into its ring
    # too, but stays the strongest bin there)
    beside = (ring_max > LINE_GUARD * ring_median) & (ring_max > power[..., 0])
    guard = _full_lattice(beside, lat, conj=False)
    ring_all = null
    centre = np.where(guard, 0.0, centre)
    null = np.where(guard, 0.0, null)
    npix = np.where(guard, 0.0, float(hc * wc))
    out = {}
    for s in periods:
        step = lat // s
        out[s] = PhaseStats(
            period=s,
            coef=np.ascontiguousarray(centre[::step, ::step]),
            null=np.ascontiguousarray(null[::step, ::step]),
            pixels=hc * wc,
            npix=np.ascontiguousarray(npix[::step, ::step]),
            ring=np.ascontiguousarray(ring_all[::step, ::step]),
        )
    return out
