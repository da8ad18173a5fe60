"""Pictures of an audio score: a spectrogram with the upsampler's line frequencies marked, and
the level of those lines second by second."""

from __future__ import annotations

import itertools
import os

import numpy as np
from PIL import Image, ImageDraw

from ..audio import LINE_RATIO, Audio, AudioResult, window_samples
from .colormap import viridis
from .fonts import font

#: Spectrogram frames and frequency rows drawn at most.
MAX_COLUMNS = 900
ROWS = 360


def _title(audio: Audio, res: AudioResult) -> str:
    name = os.path.basename(audio.path) if audio.path else "audio"
    if res.period is None:
        return f"{name}: no tonal lines at the searched periods"
    verdict = "FLAGGED" if res.flagged else "not flagged"
    return (
        f"{name}: period {res.period} ({audio.rate / res.period:.1f} Hz spacing), "
        f"{res.level_dbfs:.1f} dBFS, {res.significance:.1f} sigma, {verdict}"
    )


def spectrogram(audio: Audio, res: AudioResult) -> Image.Image:
    """Time on x, 0 Hz (bottom) to Nyquist (top) on y, power in dB (viridis); the detected
    period's lines marked by red ticks at both edges and labelled in Hz (the strongest)."""
    x = audio.mono()
    nfft = 2048 if audio.rate >= 16000 else 1024
    hop = max(nfft // 4, int(np.ceil((len(x) - nfft) / MAX_COLUMNS)) if len(x) > nfft else 1)
    starts = range(0, max(len(x) - nfft, 0) + 1, hop)
    w = np.hanning(nfft)
    frames = np.stack([np.abs(np.fft.rfft(w * x[s : s + nfft])) ** 2 for s in starts], axis=1)
    db = 10 * np.log10(frames + 1e-20)
    hi = float(np.percentile(db, 99.5))
    lo = hi - 100.0  # a 100 dB range: 16-bit audio's whole dynamic range
    t = np.clip((db - lo) / (hi - lo), 0, 1)
    # frequency rows: ROWS rows from Nyquist (top) to 0 Hz, each the max of its bins
    edges = np.linspace(0, t.shape[0], ROWS + 1).astype(int)
    rows = np.stack([t[a : max(b, a + 1)].max(axis=0) for a, b in itertools.pairwise(edges)])[::-1]
    rgb = viridis(rows)
    body = Image.fromarray(rgb.astype(np.uint8), "RGB")
    if body.width < 480:
        body = body.resize((480, ROWS), Image.Resampling.NEAREST)
    margin, left, head, foot = 16, 70, 44, 58
    f_title, f_text = font(16), font(12)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title_w = int(measure.textlength(_title(audio, res), font=f_title)) + 2 * margin
    width = max(left + body.width + 2 * margin + 60, title_w)  # the whole title fits
    img = Image.new("RGB", (width, head + ROWS + foot), (255, 255, 255))
    img.paste(body, (left, head))
    draw = ImageDraw.Draw(img)
    nyq = audio.rate / 2
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = head + ROWS - 1 - int(frac * (ROWS - 1))
        draw.text((8, y - 7), f"{frac * nyq / 1000:.3g} kHz", fill=(60, 60, 60), font=f_text)
    best = res.best
    if best is not None and res.period is not None:
        shown = 0
        strongest = {ln.k for ln in best.lines[:6]}
        st = res.stats[res.period]
        ratio = np.abs(st.coef) ** 2 / np.maximum(st.null, 1e-300)
        for k in range(1, res.period // 2 + 1):
            if ratio[k] < LINE_RATIO:
                continue  # only the lines that stand out on their own
            hz = k * audio.rate / res.period
            y = head + ROWS - 1 - int(hz / nyq * (ROWS - 1))
            x1 = left + body.width
            draw.line((left - 8, y, left - 1, y), fill=(220, 30, 30), width=2)
            draw.line((x1, y, x1 + 7, y), fill=(220, 30, 30), width=2)
            if k in strongest and shown < 6:
                draw.text((x1 + 10, y - 7), f"{hz:.0f}", fill=(180, 20, 20), font=f_text)
                shown += 1
    seconds = audio.frames / audio.rate
    draw.text((margin, 12), _title(audio, res), fill=(0, 0, 0), font=f_title)
    draw.text(
        (left, head + ROWS + 8),
        f"0-{seconds:.2f} s, {nfft}-sample frames"
        + (
            f"; red: the lines k x {audio.rate}/{res.period} Hz that stand out"
            if res.period
            else ""
        ),
        fill=(90, 90, 90),
        font=f_text,
    )
    return img


def timeline_png(
    audio: Audio, res: AudioResult, windows: list[tuple[float, float | None, float]]
) -> Image.Image:
    """Bars of the lines' level per window (dBFS from -120), red where the window alone is
    significant (5 sigma)."""
    period = res.period or max(res.periods)
    n = max(len(windows), 1)
    bar = int(np.clip(720 // n, 4, 60))
    plot_h, left, head, foot, margin = 220, 60, 44, 50, 16
    width = max(left + n * bar + 2 * margin, 560)
    img = Image.new("RGB", (width, head + plot_h + foot), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    f_title, f_text = font(16), font(12)
    floor, top = -120.0, 0.0
    for db in (-120, -90, -60, -30, 0):
        y = head + plot_h - int((db - floor) / (top - floor) * plot_h)
        draw.line((left - 4, y, left + n * bar, y), fill=(225, 225, 225))
        draw.text((8, y - 7), f"{db} dB", fill=(90, 90, 90), font=f_text)
    for i, (_, level, z) in enumerate(windows):
        if level is None:
            continue
        h = int((max(level, floor) - floor) / (top - floor) * plot_h)
        colour = (200, 40, 40) if z >= res.min_significance else (150, 150, 150)
        x0 = left + i * bar
        draw.rectangle((x0, head + plot_h - h, x0 + bar - 2, head + plot_h), fill=colour)
    name = os.path.basename(audio.path) if audio.path else "audio"
    size = window_samples(audio.rate, period) / audio.rate
    draw.text(
        (margin, 12),
        f"{name}: level of the period-{period} lines, window by window",
        fill=(0, 0, 0),
        font=f_title,
    )
    draw.text(
        (left, head + plot_h + 8),
        f"{len(windows)} window{'s' * (len(windows) != 1)} of {size:.2f} s; red: the window "
        "alone is at least "
        f"{res.min_significance:g} sigma",
        fill=(90, 90, 90),
        font=f_text,
    )
    return img
