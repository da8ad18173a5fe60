"""Tonal artifacts in audio (``cbdiag.audio``): planted lines recovered at their frequencies and
levels, natural speech and noise not flagged, pooled clips, the readers and their errors."""

from __future__ import annotations

import glob
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from cbdiag.audio import (
    MIN_CYCLES,
    MIN_SAMPLES,
    AudioError,
    auto_periods,
    line_stats,
    load_audio,
    pool_lines,
    score_audio,
    stride_periods,
    verdict,
)
from cbdiag.errors import CbdiagError, MissingDependencyError
from cbdiag.files import InputError

RATE = 22050


def pinkish(n: int, rng: np.random.Generator, rms: float) -> np.ndarray:
    """Noise whose spectrum falls as 1/f (speech and music fall at least as fast)."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x * rms / x.std()


@pytest.mark.parametrize(
    ("k", "period", "dbfs"),
    [(1, 2, -30.0), (1, 4, -50.0), (3, 32, -40.0), (37, 256, -45.0), (5, 1024, -35.0)],
)
def test_a_planted_tone_is_found_at_its_frequency_and_level(
    k: int, period: int, dbfs: float
) -> None:
    rng = np.random.default_rng(k * period)
    n = RATE * 4
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi)
    a = 10 ** (dbfs / 20)
    x = pinkish(n, rng, 0.05) + a * np.cos(2 * np.pi * k * t / period + phase)
    r = score_audio(x, rate=RATE, stride=(period,))
    assert r.period == period and r.flagged
    line = r.best.lines[0]
    assert (line.k, line.period) == (k, period)
    assert line.hz(RATE) == pytest.approx(k * RATE / period)
    # at Nyquist the samples of a cos(pi t + phase) are a cos(phase) (-1)^t
    want = dbfs + (20 * math.log10(abs(math.cos(phase))) if 2 * k == period else 0.0)
    assert abs(line.level_dbfs - want) < 1.0  # the level, within 1 dB


def test_a_periodic_pattern_is_measured_as_its_rms() -> None:
    rng = np.random.default_rng(5)
    period, n = 32, RATE * 5
    coef = np.exp(2j * np.pi * rng.uniform(size=period // 2 + 1))  # every line, equal level
    coef[0] = 0
    pattern = np.fft.irfft(coef, period)
    pattern *= 10 ** (-50 / 20) / math.sqrt(2) / pattern.std()  # -50 dBFS (sine-referenced)
    x = 0.01 * rng.standard_normal(n) + np.tile(pattern, n // period + 1)[:n]
    r = score_audio(x, rate=RATE)  # auto: every 5-smooth period to 1024
    assert r.flagged and r.period == 32  # the longest period with lines of its own
    assert abs(r.level_dbfs - (-50.0)) < 1.0
    assert r.as_dict()["line_spacing_hz"] == pytest.approx(RATE / 32, abs=1e-3)


def test_noise_is_not_flagged() -> None:
    flagged = []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        x = pinkish(RATE * 3, rng, 0.1) if seed % 2 else 0.1 * rng.standard_normal(RATE * 3)
        r = score_audio(x, rate=RATE)
        flagged.append(r.flagged)
        assert max(e.significance for e in r.per_period.values()) < 5
    assert not any(flagged)


SPEECH = sorted(glob.glob("/usr/share/sounds/alsa/*.wav"))


def test_natural_speech_recordings_are_not_flagged() -> None:
    """Real recordings (Debian's alsa-utils: a voice naming the speakers, 48 kHz), which
    ``.ci/run`` installs."""
    if not SPEECH:
        if os.environ.get("CBDIAG_REQUIRE_SPEECH") == "1":
            pytest.fail("CBDIAG_REQUIRE_SPEECH=1 but /usr/share/sounds/alsa/*.wav is missing")
        pytest.skip("the alsa-utils recordings are not installed")
    for path in SPEECH:
        r = score_audio(path)
        assert not r.flagged, (path, r.period, r.level_dbfs)
        # the same voice with a planted buzz at 1/256 cycles per sample is flagged
        a = load_audio(path)
        t = np.arange(a.frames)
        buzz = 10 ** (-50 / 20) * np.cos(2 * np.pi * 77 * t / 256)  # 14.4 kHz
        r = score_audio(a.mono() + buzz, rate=a.rate, stride="8x8x2x2")
        assert r.flagged and r.period == 256 and abs(r.best.lines[0].level_dbfs + 50) < 1


def test_pooled_clips_find_what_each_one_cannot() -> None:
    rng = np.random.default_rng(9)
    per_clip = []
    n = RATE * 2
    t = np.arange(n)
    for _ in range(16):
        x = 0.05 * rng.standard_normal(n) + 10 ** (-60 / 20) * np.cos(2 * np.pi * 5 * t / 64)
        st = line_stats(x, (64,))
        per_clip.append(st)
        alone = verdict(st, rate=RATE, frames=n, channels=1, path=None)
        assert not alone.flagged
    pooled = verdict(pool_lines(per_clip), rate=RATE, frames=n, channels=1, path=None)
    assert pooled.flagged and pooled.period == 64 and pooled.clips == 16
    assert abs(pooled.best.lines[0].level_dbfs + 60) < 1.0


def test_stride_gives_the_cumulative_periods_at_the_output() -> None:
    assert stride_periods("8x8x2x2") == (2, 4, 32, 256)
    assert stride_periods("5x4x4x2") == (2, 8, 32, 160)
    assert stride_periods("300") == (300,)
    for bad in ("8x1", "fast", "", "64x64x64"):
        with pytest.raises(CbdiagError):
            stride_periods(bad)
    assert auto_periods(MIN_CYCLES * 1024)[-1] == 1024
    assert (
        160 in auto_periods(10**6) and 300 in auto_periods(10**6) and 7 not in auto_periods(10**6)
    )
    assert auto_periods(MIN_CYCLES * 16) == (2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16)


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float32, 1.0), (np.uint8, None)],
)
def test_wav_formats_are_read_in_full_scale(
    tmp_path: Path, dtype: type, scale: float | None
) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.9, 0.9, size=(MIN_SAMPLES, 2))
    if scale is None:
        data = np.round(x * 127 + 128).astype(np.uint8)
        want = (data.astype(float) - 128) / 128
    elif dtype is np.float32:
        data = x.astype(np.float32)
        want = data.astype(float)
    else:
        data = np.round(x * scale).astype(dtype)
        want = data.astype(float) / (scale + 1)
    path = tmp_path / "x.wav"
    wavfile.write(path, 16000, data)
    a = load_audio(path)
    assert a.rate == 16000 and a.channels == 2 and a.frames == MIN_SAMPLES
    np.testing.assert_array_equal(a.samples, want)


def test_unreadable_audio_gets_one_line(tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    wavfile.write(short, 8000, np.zeros(100, dtype=np.int16))
    with pytest.raises(
        AudioError, match=f"100 samples, too short to score .at least {MIN_SAMPLES}"
    ):
        load_audio(short)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    with pytest.raises(AudioError, match="cannot read the WAV data"):
        load_audio(junk)
    png = tmp_path / "not.wav"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(AudioError, match="not a WAV file"):
        load_audio(png)
    with pytest.raises(InputError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    nan = tmp_path / "nan.wav"
    wavfile.write(nan, 8000, np.full(MIN_SAMPLES, np.nan, dtype=np.float32))
    with pytest.raises(AudioError, match="NaN"):
        load_audio(nan)
    # a clip too short for every period asked for
    with pytest.raises(AudioError, match="the longest period such a clip can show"):
        score_audio(np.zeros(MIN_SAMPLES), rate=8000, stride="1024")


def test_flac_without_soundfile_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)  # as if it were not installed
    path = tmp_path / "x.flac"
    path.write_bytes(b"fLaC" + b"\0" * 64)
    with pytest.raises(MissingDependencyError, match=r"pip install 'cbdiag\[audio\]'"):
        load_audio(path)


def test_flac_and_ogg_with_soundfile(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")  # in the test extra: CI has it
    rng = np.random.default_rng(3)
    n = RATE * 3
    t = np.arange(n)
    x = 0.1 * rng.standard_normal(n) + 10 ** (-40 / 20) * np.cos(2 * np.pi * 3 * t / 32)
    flac = tmp_path / "x.flac"
    sf.write(flac, x, RATE, subtype="PCM_24")
    a = load_audio(flac)
    assert a.rate == RATE and a.frames == n
    np.testing.assert_allclose(a.mono(), x, atol=2**-22)
    r = score_audio(flac, stride=(32,))
    assert r.flagged and abs(r.best.lines[0].level_dbfs + 40) < 1
    ogg = tmp_path / "x.ogg"
    sf.write(ogg, x, RATE, format="OGG", subtype="VORBIS")
    assert load_audio(ogg).frames == n
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC" + b"\xff" * 64)
    with pytest.raises(AudioError, match="cannot decode"):
        load_audio(bad)


@pytest.mark.parametrize(
    "header",
    [
        # a fmt chunk with zero channels (scipy divides by the block size), a fmt chunk cut
        # short, and a float format of a nonsense bit depth: each scipy's own exception
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x00\x00\x40\x1f\x00\x00"
        b"\x00\x00\x00\x00\x00\x00\x10\x00data\x00\x00\x00\x00",
        b"RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00\x01\x00\x40\x1f\x00\x00"
        b"\x00\x7d\x00\x00\x04\x00\x2a\x00data\x08\x00\x00\x00" + b"\x00" * 8,
    ],
)
def test_malformed_wav_headers_are_one_line_errors(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(header)
    with pytest.raises(AudioError, match=r"bad\.wav: "):
        load_audio(path)
