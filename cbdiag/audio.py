"""Tonal artifacts of audio upsamplers: spectral lines at ``k / P`` cycles per sample.

A vocoder or audio decoder that upsamples by ``u_1, ..., u_m`` (input to output) with uneven
per-phase gains adds to its output a component that repeats every ``P`` samples, for the
cumulative periods ``P = u_m``, ``u_{m-1} u_m``, ... (8x8x2x2 gives 2, 4, 32 and 256): a
*periodic mean*, heard as a buzz at ``k R / P`` Hz for the sample rate ``R``. This module
measures that component from the audio alone, as :mod:`cbdiag.periodic` does for images.

Definitions (``x`` = the signal in full-scale units, 1.0 = full scale; several channels are
averaged first, the pattern being common to them):

* **Lattice coefficients** ``R_k = sum_t w(t) x(t) exp(-2 pi i k t / P)`` for ``k = 0..P/2``,
  over the first ``N`` samples, ``N`` the largest multiple of ``P`` in the clip, ``w`` a Hann
  window of length ``N`` (its sidelobes fall as the cube of the distance, so the strong low
  frequencies of speech and music do not leak onto the lines). They are computed from the
  ``P`` per-phase sums of ``w x``: an FFT of length ``P``.
* **Background** ``V_k``: what ``|R_k|^2`` is with no pattern, ``S(k/P) sum w^2``, estimated as
  the mean windowed periodogram over the full-resolution bins ``3..34`` either side of the line
  (the window's main lobe, 2 bins, left out). A period is searched only when the clip holds at
  least ``MIN_CYCLES`` of it, so that ring never reaches the next line.
* **Amplitude** of period ``P``: the RMS of the periodic pattern, ``A^2 = sum_k c_k (|R_k|^2 -
  V_k) / (sum w)^2`` (``c_k = 2``, 1 at ``k = P/2``), background subtracted, over the lines
  *detected* on their own (``|R_k|^2 >= LINE_RATIO V_k``), or over ``k = 1..P/2`` when none
  is (the sum over every line is unbiased but carries the noise of the loud low frequencies of
  speech or music); reported linear (full scale 1.0) and in dBFS, ``20 log10(A sqrt 2)``, so
  that a full-scale sine is 0 dBFS. A **line** ``k`` has peak amplitude ``2 |R_k| / sum w``
  (``|R_k| / sum w`` at ``P/2``), background subtracted: a tone ``a cos(2 pi k t / P)`` reads
  ``20 log10 a``.
* **Significance**: ``2 |R_k|^2 / V_k`` is chi-squared with 2 degrees of freedom (1 at ``P/2``)
  with no pattern, independently over ``k``; their sum over the *primitive* lines of ``P``
  (``gcd(k, P) = 1``: those no shorter period has) gives ``p``, reported as a one-sided normal
  ``z`` ("sigma").

The statistics are sums over samples (:class:`LineStats`), so clips of one generator pool:
``sum_i R_i / sum_i sum w_i`` with background ``sum_i V_i``, clips aligned at their first
sample (where the generator's grid starts).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import CbdiagError, MissingDependencyError
from .files import InputError, display, open_regular, reason
from .periodic import _chi2_log_sf, _z_from_log_sf

__all__ = [
    "AUDIO_SUFFIXES",
    "Audio",
    "AudioResult",
    "LineStats",
    "auto_periods",
    "load_audio",
    "score_audio",
    "stride_periods",
]

F64 = NDArray[np.float64]
C128 = NDArray[np.complex128]

#: File names read as audio by ``cbdiag score`` (FLAC and Ogg need the ``soundfile`` extra).
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga")
#: Shortest clip scored (samples): 0.19 s at 22050 Hz.
MIN_SAMPLES = 4096
#: Longest period searched by default, and the longest ``--stride`` may give.
AUTO_MAX_PERIOD = 1024
MAX_PERIOD = 4096
#: Bins either side of a line left out of its background (the Hann window's main lobe), and
#: the bins either side that make the background.
RING_GAP = 3
RING_BINS = 32
#: Periods a clip must hold for a period to be searched (the ring stays between lines).
MIN_CYCLES = 2 * (RING_GAP + RING_BINS)
#: Largest audio file read, and most channels and samples decoded (the samples are held as
#: float64: 1 GiB at the limit).
MAX_AUDIO_BYTES = 1 << 30
MAX_CHANNELS = 64
MAX_SAMPLES = 1 << 27
#: Default minimum significance (sigma) and level (dBFS of the pattern) of a flagged clip.
DEFAULT_MIN_SIGNIFICANCE = 5.0
DEFAULT_MIN_LEVEL_DBFS = -90.0
#: A line whose power is at least this many times its background is *detected* on its own
#: (with no pattern that happens with probability exp(-20) per line): the level of a period is
#: that of its detected lines, when it has any.
LINE_RATIO = 20.0
#: Lines listed per result, strongest first.
LINES_SHOWN = 12


class AudioError(InputError):
    """An audio file that cannot be read or is too short to score."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` of shape ``(frames, channels)`` in full-scale units."""

    samples: F64
    rate: int
    path: str | None = None

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    def mono(self) -> F64:
        return np.asarray(self.samples.mean(axis=1), dtype=np.float64)


def _full_scale(data: NDArray[Any]) -> F64:
    """Integer PCM to full-scale floats (-1..1); float data as it is."""
    if data.dtype == np.uint8:
        return (data.astype(np.float64) - 128.0) / 128.0
    if data.dtype.kind == "i":
        return data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))
    if data.dtype.kind == "f":
        out = data.astype(np.float64)
        if not np.all(np.isfinite(out)):
            raise AudioError("the samples hold NaN or infinite values")
        return out
    raise AudioError(f"unsupported sample format {data.dtype}")


def load_audio(path: str | os.PathLike[str]) -> Audio:
    """Read a WAV file (scipy's reader), or FLAC / Ogg with the optional ``soundfile``."""
    name = os.fspath(path)
    shown = display(name)
    lower = name.lower()
    try:
        with open_regular(name) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_AUDIO_BYTES:
                raise AudioError(f"{shown}: larger than the limit of {MAX_AUDIO_BYTES:,} bytes")
            if lower.endswith((".flac", ".ogg", ".oga")):
                data, rate = _soundfile(fh, shown)
            else:
                data, rate = _wav(fh, shown)
    except OSError as exc:
        raise AudioError(f"{shown}: {reason(exc)}") from exc
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] < 1 or data.shape[1] > MAX_CHANNELS:
        raise AudioError(f"{shown}: {data.shape[-1]} channels (at most {MAX_CHANNELS})")
    if data.shape[0] < MIN_SAMPLES:
        raise AudioError(
            f"{shown}: {data.shape[0]} samples, too short to score (at least {MIN_SAMPLES})"
        )
    if rate <= 0:
        raise AudioError(f"{shown}: sample rate {rate} Hz")
    try:
        samples = _full_scale(data)
    except AudioError as exc:
        raise AudioError(f"{shown}: {exc}") from None
    return Audio(samples, int(rate), name)


def _wav(fh: Any, shown: str) -> tuple[NDArray[Any], int]:
    import warnings

    from scipy.io import wavfile

    head = fh.read(12)
    fh.seek(0)
    if head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
        raise AudioError(f"{shown}: not a WAV file (no RIFF/WAVE header)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown chunks: read past, as players do
            rate, data = wavfile.read(fh, mmap=False)
    except MemoryError:
        raise AudioError(f"{shown}: out of memory reading the WAV data") from None
    except Exception as exc:  # scipy's reader fails in many ways on a malformed header
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioError(f"{shown}: cannot read the WAV data ({display(why, 200)})") from None
    if data.size > MAX_SAMPLES:
        raise AudioError(f"{shown}: {data.size:,} samples, over the limit of {MAX_SAMPLES:,}")
    return data, int(rate)


def _soundfile(fh: Any, shown: str) -> tuple[NDArray[Any], int]:
    try:
        import soundfile
    except ImportError:
        raise MissingDependencyError(
            f"{shown}: FLAC and Ogg files need the soundfile package: pip install 'cbdiag[audio]'"
        ) from None
    try:
        with soundfile.SoundFile(fh) as sf:
            if sf.frames * sf.channels > MAX_SAMPLES:
                raise AudioError(f"{shown}: over the limit of {MAX_SAMPLES:,} samples")
            data = sf.read(dtype="float64", always_2d=True)
            return data, int(sf.samplerate)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(f"{shown}: cannot decode ({exc})") from None


# ---------------------------------------------------------------------------------------------
# periods
# ---------------------------------------------------------------------------------------------


def _smooth(p: int) -> bool:
    for f in (2, 3, 5):
        while p % f == 0:
            p //= f
    return p == 1


def auto_periods(frames: int, longest: int = AUTO_MAX_PERIOD) -> tuple[int, ...]:
    """The periods searched by default: every product of 2, 3 and 5 (the upsampling factors
    of vocoders: 8x8x2x2 = 256, 5x4x4x2 = 160, 4x5x3x5 = 300) from 2 to ``longest``, those the
    clip holds ``MIN_CYCLES`` times."""
    return tuple(p for p in range(2, longest + 1) if _smooth(p) and frames >= MIN_CYCLES * p)


def stride_periods(text: str) -> tuple[int, ...]:
    """The cumulative periods of ``--stride``: ``8x8x2x2`` (a stack that upsamples 8, 8, 2,
    2 from its input to its output) gives the periods at the output, ``2, 4, 32, 256``; one
    number is one period.

    >>> stride_periods("8x8x2x2"), stride_periods("256")
    ((2, 4, 32, 256), (256,))
    """
    parts = [p.strip() for p in text.lower().replace("*", "x").split("x")]
    try:
        rates = [int(p) for p in parts]
    except ValueError:
        raise CbdiagError(
            f"--stride for audio is a period or the upsampling rates from input to output, "
            f"e.g. 256 or 8x8x2x2; got {text!r}"
        ) from None
    if not rates or any(r < 2 for r in rates):
        raise CbdiagError(f"--stride: every rate must be at least 2, got {text!r}")
    out: list[int] = []
    p = 1
    for r in reversed(rates):
        p *= r
        if p > MAX_PERIOD:
            raise CbdiagError(f"--stride {text}: a period over {MAX_PERIOD} samples")
        out.append(p)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------


@dataclass
class LineStats:
    """Additive statistics of one period (sum them over clips to pool): the lattice
    coefficients ``coef[k]`` (``k = 0..P/2``), their backgrounds ``null[k]``, ``wsum`` (the
    sum of the window), the clips and samples behind them."""

    period: int
    coef: C128
    null: F64
    wsum: float
    clips: int = 1
    samples: int = 0

    def __add__(self, other: LineStats) -> LineStats:
        if other.period != self.period:
            raise ValueError("cannot add statistics of different periods")
        return LineStats(
            self.period,
            self.coef + other.coef,
            self.null + other.null,
            self.wsum + other.wsum,
            self.clips + other.clips,
            self.samples + other.samples,
        )


def line_stats(x: F64, periods: tuple[int, ...]) -> dict[int, LineStats]:
    """The statistics of each period of a mono signal ``x`` (full-scale units)."""
    out: dict[int, LineStats] = {}
    spectra: dict[int, tuple[F64, F64, float]] = {}
    offsets = np.concatenate(
        [np.arange(-RING_GAP - RING_BINS + 1, -RING_GAP + 1),
         np.arange(RING_GAP, RING_GAP + RING_BINS)]
    )  # fmt: skip
    for p in periods:
        n = (len(x) // p) * p
        if n < MIN_CYCLES * p:
            continue
        if n not in spectra:
            w = np.hanning(n + 2)[1:-1]  # no zero at the ends: every sample counts
            wx = w * x[:n]
            spectra[n] = (wx, np.abs(np.fft.rfft(wx)) ** 2, float(w.sum()))
        wx, power, wsum = spectra[n]
        coef = np.fft.rfft(wx.reshape(-1, p).sum(axis=0))  # k = 0 .. p // 2
        top = len(power) - 1
        bins = np.abs(np.arange(len(coef))[:, None] * (n // p) + offsets[None, :])
        bins = np.where(bins > top, 2 * top - bins, bins)  # mirrored at 0 Hz and at Nyquist
        null = power[bins].mean(axis=1)
        out[p] = LineStats(p, coef.astype(np.complex128), null, wsum, 1, n)
    return out


def pool_lines(stats: list[dict[int, LineStats]]) -> dict[int, LineStats]:
    """Sum per-clip statistics period by period."""
    total: dict[int, LineStats] = {}
    for one in stats:
        for p, st in one.items():
            total[p] = st if p not in total else total[p] + st
    return total


@dataclass(frozen=True)
class Line:
    """One spectral line: ``k / period`` cycles per sample, its level and its ratio to the
    background (``|R|^2 / V``)."""

    k: int
    period: int
    level_dbfs: float | None  # None: not above the background
    ratio: float

    def hz(self, rate: float) -> float:
        return self.k * rate / self.period


@dataclass(frozen=True)
class PeriodLines:
    """What one period's statistics say."""

    period: int
    amplitude: float  # RMS of the pattern, full scale 1.0 (0 when not above the background)
    significance: float  # z of the primitive lines
    log10_p: float
    lines: tuple[Line, ...]  # the strongest, strongest first
    clips: int = 1

    @property
    def level_dbfs(self) -> float | None:
        return None if self.amplitude <= 0 else 20 * math.log10(self.amplitude * math.sqrt(2))


def estimate_lines(st: LineStats) -> PeriodLines:
    p = st.period
    ks = np.arange(len(st.coef))
    weight = np.where((2 * ks) % p == 0, 1.0, 2.0)
    power = np.abs(st.coef) ** 2
    null = np.maximum(st.null, 1e-300)
    measured = ks >= 1
    excess = (power - st.null) / st.wsum**2
    ratio = power / null
    detected = measured & (ratio >= LINE_RATIO)
    if detected.any():  # the lines that stand out: robust to a loud, coloured content
        amplitude = math.sqrt(max(float(np.sum((weight * excess)[detected])), 0.0))
    else:  # many weak lines (a pool): the unbiased sum over all of them
        amplitude = math.sqrt(max(float(np.sum((weight * excess)[measured])), 0.0))
    prim = measured & (np.gcd(ks, p) == 1)
    x = float(np.sum((weight * power / null)[prim]))
    dof = int(np.sum(weight[prim]))
    log_p = _chi2_log_sf(x, dof)
    order = [int(k) for k in np.argsort(-ratio[measured], kind="stable")[:LINES_SHOWN] + 1]
    lines = []
    for k in order:
        peak = math.sqrt(max(float(excess[k]), 0.0)) * (2.0 if weight[k] == 2 else 1.0)
        level = 20 * math.log10(peak) if peak > 0 else None
        lines.append(Line(k, p, level, float(ratio[k])))
    return PeriodLines(
        p, amplitude, _z_from_log_sf(log_p), log_p / math.log(10), tuple(lines), st.clips
    )


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------


def _round(v: float | None, nd: int = 3) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


@dataclass
class AudioResult:
    """The verdict of one clip (or a pool of clips): the period found, its level and
    significance, its lines in Hz, per-period figures and the statistics (for pooling)."""

    path: str | None
    rate: int
    frames: int
    channels: int
    periods: tuple[int, ...]
    per_period: dict[int, PeriodLines]
    period: int | None
    flagged: bool
    min_significance: float
    min_level_dbfs: float
    stats: dict[int, LineStats] = field(default_factory=dict, repr=False)
    clips: int = 1

    @property
    def best(self) -> PeriodLines | None:
        return None if self.period is None else self.per_period[self.period]

    @property
    def level_dbfs(self) -> float | None:
        return None if self.best is None else self.best.level_dbfs

    @property
    def amplitude(self) -> float:
        return 0.0 if self.best is None else self.best.amplitude

    @property
    def significance(self) -> float:
        return 0.0 if self.best is None else self.best.significance

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        lines = []
        if best is not None:
            for ln in best.lines:
                lines.append(
                    {
                        "frequency": str(Fraction(ln.k, ln.period)),
                        "hz": _round(ln.hz(self.rate), 2),
                        "level_dbfs": _round(ln.level_dbfs, 2),
                        "ratio": _round(ln.ratio, 2),
                    }
                )
        return {
            "path": self.path,
            "kind": "audio",
            "sample_rate": self.rate,
            "frames": self.frames,
            "seconds": round(self.frames / self.rate, 3),
            "channels": self.channels,
            "clips": self.clips,
            "flagged": self.flagged,
            "period": self.period,
            "line_spacing_hz": None if self.period is None else _round(self.rate / self.period),
            "amplitude": _round(self.amplitude, 9),
            "level_dbfs": _round(self.level_dbfs, 2),
            "significance": _round(self.significance, 2),
            "lines": lines,
            "periods": {
                str(p): {
                    "level_dbfs": _round(e.level_dbfs, 2),
                    "amplitude": _round(e.amplitude, 9),
                    "significance": _round(e.significance, 2),
                }
                for p, e in sorted(self.per_period.items())
            },
            "searched": list(self.periods),
            "min_significance": self.min_significance,
            "min_level_dbfs": self.min_level_dbfs,
        }


def _decide(per: dict[int, PeriodLines], min_sig: float) -> int | None:
    """The longest period whose primitive lines are significant and that is a multiple of
    every shorter one chosen (None: none is significant).

    An upsampler stack's periods nest (8x8x2x2: 2 | 4 | 32 | 256), so a significant period
    that is not a multiple of the one found so far is not the stack's: it is a strong line of
    that one leaking onto a line of an unrelated period that happens to lie within a bin or
    two of it (a 1/64 line and 116/675 are 2.5e-5 cycles per sample apart)."""
    chosen: int | None = None
    for p in sorted(per):
        e = per[p]
        if e.significance >= min_sig and e.amplitude > 0 and (chosen is None or p % chosen == 0):
            chosen = p
    return chosen


def verdict(
    stats: dict[int, LineStats],
    *,
    rate: int,
    frames: int,
    channels: int,
    path: str | None,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
    min_level_dbfs: float = DEFAULT_MIN_LEVEL_DBFS,
) -> AudioResult:
    """The result of (possibly pooled) statistics."""
    per = {p: estimate_lines(st) for p, st in sorted(stats.items())}
    period = _decide(per, min_significance)
    level = per[period].level_dbfs if period is not None else None
    flagged = period is not None and level is not None and level >= min_level_dbfs
    clips = max((st.clips for st in stats.values()), default=1)
    return AudioResult(
        path,
        rate,
        frames,
        channels,
        tuple(sorted(stats)),
        per,
        period,
        flagged,
        min_significance,
        min_level_dbfs,
        stats,
        clips,
    )


def score_audio(
    source: str | os.PathLike[str] | Audio | NDArray[Any],
    *,
    rate: int | None = None,
    stride: str | tuple[int, ...] | None = None,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
    min_level_dbfs: float = DEFAULT_MIN_LEVEL_DBFS,
) -> AudioResult:
    """Score one clip: a file, an :class:`Audio`, or an array ``(frames,)`` or ``(frames,
    channels)`` in full-scale units with its ``rate``.

    ``stride``: the periods searched, as ``--stride`` gives them (``"8x8x2x2"``) or a tuple
    of periods; default :func:`auto_periods`.

    Examples
    --------
    >>> t = np.arange(22050 * 2)
    >>> rng = np.random.default_rng(0)
    >>> x = 0.05 * rng.standard_normal(len(t)) + 0.01 * np.cos(2 * np.pi * t / 4)
    >>> r = score_audio(x, rate=22050, stride="2x2")
    >>> r.period, r.as_dict()["lines"][0]["hz"], round(r.level_dbfs), r.flagged
    (4, 5512.5, -40, True)
    """
    if isinstance(source, Audio):
        audio = source
    elif isinstance(source, np.ndarray):
        if rate is None:
            raise CbdiagError("an array of samples needs its sample rate (rate=...)")
        arr = np.asarray(source, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] < MIN_SAMPLES:
            raise AudioError(f"{arr.shape[0]} samples, too short to score (at least {MIN_SAMPLES})")
        if not np.all(np.isfinite(arr)):
            raise AudioError("the samples hold NaN or infinite values")
        audio = Audio(arr, int(rate))
    else:
        audio = load_audio(source)
    if isinstance(stride, str):
        periods = stride_periods(stride)
    elif stride is not None:
        periods = tuple(int(p) for p in stride)
    else:
        periods = auto_periods(audio.frames)
    usable = tuple(p for p in periods if audio.frames >= MIN_CYCLES * p)
    if not usable:
        longest = audio.frames // MIN_CYCLES
        raise AudioError(
            f"{display(audio.path) + ': ' if audio.path else ''}{audio.frames} samples hold "
            f"no searched period {MIN_CYCLES} times (the longest period such a clip can show "
            f"is {longest})"
        )
    stats = line_stats(audio.mono(), usable)
    return verdict(
        stats,
        rate=audio.rate,
        frames=audio.frames,
        channels=audio.channels,
        path=audio.path,
        min_significance=min_significance,
        min_level_dbfs=min_level_dbfs,
    )


def window_samples(rate: int, period: int, seconds: float = 1.0) -> int:
    """The samples of one :func:`timeline` window: ``seconds`` long, or longer when the
    period needs it (a window holds ``MIN_CYCLES`` periods)."""
    return max(round(seconds * rate), MIN_CYCLES * period)


def timeline(
    audio: Audio, period: int, seconds: float = 1.0
) -> list[tuple[float, float | None, float]]:
    """Which seconds carry the tones of ``period``: ``(start s, level dBFS or None,
    significance)`` for each window of ``seconds`` (longer when the period needs it: a window
    holds ``MIN_CYCLES`` periods)."""
    x = audio.mono()
    size = window_samples(audio.rate, period, seconds)
    out: list[tuple[float, float | None, float]] = []
    for start in range(0, audio.frames - size + 1, size):
        st = line_stats(x[start : start + size], (period,))[period]
        e = estimate_lines(st)
        out.append((start / audio.rate, e.level_dbfs, e.significance))
    return out
