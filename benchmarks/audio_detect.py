"""Detection quality of ``cbdiag score`` on audio: 1-D upsamplers untrained and really trained
on this machine, against natural recordings.

Data (all local, nothing downloaded):

* **natural recordings** (negatives): Debian's alsa-utils recordings of a voice naming the
  speakers (``/usr/share/sounds/alsa/*.wav``, 48 kHz) and the freedesktop sound theme
  (``/usr/share/sounds/freedesktop/stereo/*.oga``: bells, clicks, a camera shutter; needs
  ``soundfile``), as they are and resampled to 16 and 22.05 kHz (polyphase, rounded to 16 bits);
  plus documented synthetic speech-like signals: glottal pulse trains with a gliding pitch
  (90-220 Hz) through three formant resonators, with breath noise, at 16 kHz.
* **generated audio** (positives, ground truth kept): 1-D "vocoders" trained with PyTorch on the
  CPU to rebuild the 16 kHz speech from its 64x downsampled frame features (log band energies
  of 64-sample frames): the same trunk with four kinds of upsampler (x4 x4 x4 = 64):
  transposed convolutions (kernel 2x the rate, HiFi-GAN's choice; and kernel 3 stride 2 style
  uneven ones, k=5 s=4), sub-pixel (conv then a 1-D pixel shuffle), nearest + conv, and
  linear + conv. Each is scored at initialisation and after training (L1 plus a
  multi-resolution STFT loss, a few hundred steps). The ground truth of a generated clip is its
  net's *buzz*, measured directly: its answer to steady features (the mean frame, repeated: no
  content to hide a pattern), averaged phase by phase over period 64, RMS in dBFS. A clip is a
  true positive when its net's buzz is at least ``TRUTH_DBFS``.

Prints: false positives at the defaults per negative family, the AUC of the significance of
the generated clips whose net buzzes against the negatives, the buzz and detection rate per
upsampler kind (untrained, trained), and the weakest buzz found: a 64-sample pattern
of two lines planted into every natural recording at decreasing levels, the lowest level
flagged in at least 90 % of them.

Usage: python benchmarks/audio_detect.py [--steps 300] [--quick]
(needs ``pip install '.[bench,torch,audio]'`` and the alsa-utils recordings)
"""

from __future__ import annotations

import argparse
import glob
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cbdiag.audio import DEFAULT_MIN_LEVEL_DBFS, DEFAULT_MIN_SIGNIFICANCE, score_audio

RATE = 16000
#: A generated clip is a true positive when its net's buzz (the ground truth) is this loud.
TRUTH_DBFS = -70.0
HOP = 64  # x4 x4 x4
RATES = (4, 4, 4)


def _16bit(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1, 1) * 32767) / 32768


def recordings(quick: bool) -> list[tuple[str, str, np.ndarray, int]]:
    """(family, name, samples, rate) of every natural recording."""
    from cbdiag.audio import load_audio

    out = []
    files = sorted(glob.glob("/usr/share/sounds/alsa/*.wav"))
    try:
        import soundfile  # noqa: F401

        files += sorted(glob.glob("/usr/share/sounds/freedesktop/stereo/*.oga"))
    except ImportError:
        print("(soundfile missing: the freedesktop sounds are left out)")
    for f in files[: 6 if quick else None]:
        try:
            a = load_audio(f)
        except Exception as exc:  # a clip too short to score is not a negative
            print(f"  skipped {Path(f).name}: {exc}")
            continue
        fam = "alsa speech" if "/alsa/" in f else "freedesktop sounds"
        x = a.mono()
        out.append((fam, Path(f).name, x, a.rate))
        for rate in (16000, 22050):
            g = math.gcd(rate, a.rate)
            y = _16bit(signal.resample_poly(x, rate // g, a.rate // g))
            if len(y) >= 4096:
                out.append((f"{fam} resampled", f"{Path(f).name}@{rate}", y, rate))
    return out


def speech_like(n_clips: int, seconds: float, seed: int) -> list[np.ndarray]:
    """Glottal pulses with a gliding pitch through three formants, plus breath noise."""
    rng = np.random.default_rng(seed)
    clips = []
    n = int(seconds * RATE)
    for _ in range(n_clips):
        f0 = np.interp(np.arange(n), [0, n // 2, n], rng.uniform(90, 220, 3))
        phase = np.cumsum(f0 / RATE)
        pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
        x = signal.lfilter([1.0], [1, -0.97], pulses)  # glottal roll-off
        for f, bw in zip(rng.uniform([500, 1200, 2400], [800, 2000, 3200]), (80, 120, 160),
                         strict=True):  # fmt: skip
            r = math.exp(-math.pi * bw / RATE)
            x = signal.lfilter([1 - r], [1, -2 * r * math.cos(2 * math.pi * f / RATE), r * r], x)
        x = x / (np.abs(x).max() + 1e-9) * 0.3 + 0.003 * rng.standard_normal(n)
        env = np.clip(np.sin(np.pi * np.arange(n) / n) * 1.5, 0, 1)
        clips.append(_16bit(x * env))
    return clips


# ---------------------------------------------------------------------------------------------
# the 1-D vocoders
# ---------------------------------------------------------------------------------------------


def features(x: np.ndarray) -> np.ndarray:
    """(16, frames): log energies of 16 bands of each 64-sample frame (a tiny mel stand-in)."""
    frames = len(x) // HOP
    spec = np.abs(np.fft.rfft(x[: frames * HOP].reshape(frames, HOP) * np.hanning(HOP), axis=1))
    bands = np.array_split(spec**2, 16, axis=1)
    return np.log(np.stack([b.sum(axis=1) for b in bands]) + 1e-6).astype(np.float32)


def make_net(torch, kind: str, seed: int):  # type: ignore[no-untyped-def]
    nn = torch.nn
    torch.manual_seed(seed)
    width = 48
    layers: list = [nn.Conv1d(16, width, 5, padding=2)]
    c = width
    for u in RATES:
        layers.append(nn.LeakyReLU(0.1))
        if kind == "transposed-k2u":
            layers.append(nn.ConvTranspose1d(c, c, 2 * u, u, padding=u // 2))
        elif kind == "transposed-uneven":  # kernel not a multiple of the rate
            layers.append(nn.ConvTranspose1d(c, c, u + 1, u, padding=0, output_padding=0))
            layers.append(_Crop(u))
        elif kind == "subpixel":
            layers += [nn.Conv1d(c, c * u, 3, padding=1), _Shuffle1d(torch, u)]
        elif kind == "nearest-conv":
            layers += [nn.Upsample(scale_factor=u, mode="nearest"), nn.Conv1d(c, c, 7, padding=3)]
        elif kind == "linear-conv":
            layers += [
                nn.Upsample(scale_factor=u, mode="linear", align_corners=False),
                nn.Conv1d(c, c, 7, padding=3),
            ]
        layers.append(nn.Conv1d(c, c, 3, padding=1))
    layers += [nn.LeakyReLU(0.1), nn.Conv1d(c, 1, 7, padding=3), nn.Tanh()]
    return nn.Sequential(*layers)


class _Crop:
    """Keeps ``len_in * u`` samples of a ConvTranspose1d(k = u + 1) output (a module)."""

    def __new__(cls, u: int):  # type: ignore[no-untyped-def]
        import torch

        class Crop(torch.nn.Module):
            def forward(self, x):  # type: ignore[no-untyped-def]
                return x[..., : (x.shape[-1] - 1) // u * u]

        return Crop()


class _Shuffle1d:
    def __new__(cls, torch, u: int):  # type: ignore[no-untyped-def]
        class Shuffle(torch.nn.Module):
            def forward(self, x):  # type: ignore[no-untyped-def]
                b, cu, n = x.shape
                return x.reshape(b, cu // u, u, n).permute(0, 1, 3, 2).reshape(b, cu // u, n * u)

        return Shuffle()


def stft_loss(torch, y, t):  # type: ignore[no-untyped-def]
    loss = (y - t).abs().mean()
    for n_fft in (256, 512, 1024):
        w = torch.hann_window(n_fft)
        ys = torch.stft(y, n_fft, n_fft // 4, window=w, return_complex=True).abs()
        ts = torch.stft(t, n_fft, n_fft // 4, window=w, return_complex=True).abs()
        loss = loss + (ys - ts).norm() / ts.norm().clamp_min(1e-6)
        loss = loss + (torch.log(ys + 1e-5) - torch.log(ts + 1e-5)).abs().mean()
    return loss


def train_and_generate(torch, kind: str, speech: list[np.ndarray], steps: int, seed: int):  # type: ignore[no-untyped-def]
    """Clips generated at initialisation and after ``steps`` steps, with their targets."""
    net = make_net(torch, kind, seed)
    clips = [s[: len(s) // HOP * HOP] for s in speech]
    feats = [torch.from_numpy(features(c))[None] for c in clips]
    targets = [torch.from_numpy(c.astype(np.float32))[None] for c in clips]

    def generate() -> list[np.ndarray]:
        with torch.no_grad():
            return [net(f)[0, 0].numpy().astype(np.float64) for f in feats]

    steady = torch.cat(feats, dim=-1).mean(dim=-1, keepdim=True).expand(1, 16, 400)

    def buzz() -> float:
        """The ground truth: the periodic pattern (period 64) the net paints into its answer to
        steady features (no content to hide it), its RMS in dBFS, measured directly."""
        with torch.no_grad():
            y = net(steady)[0, 0].numpy().astype(np.float64)
        mid = y[len(y) // 4 : len(y) // 4 + (len(y) // 2) // HOP * HOP]
        pattern = mid.reshape(-1, HOP).mean(axis=0)
        rms = float(np.sqrt(np.mean((pattern - pattern.mean()) ** 2)))
        return 20 * math.log10(max(rms * math.sqrt(2), 1e-10))

    before, truth_before = generate(), buzz()
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    rng = np.random.default_rng(seed)
    seg = 64 * 64  # 4096 samples: 64 frames
    for _ in range(steps):
        i = int(rng.integers(len(clips)))
        n = feats[i].shape[-1]
        a = int(rng.integers(0, max(n - 64, 1)))
        y = net(feats[i][..., a : a + 64])[:, 0]
        t = targets[i][..., a * HOP : a * HOP + seg]
        loss = stft_loss(torch, y[..., : t.shape[-1]], t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (before, truth_before), (generate(), buzz()), clips


# ---------------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------------


def _z(r) -> float:  # type: ignore[no-untyped-def]
    """A clip's score for the AUC: the largest significance over the periods searched."""
    return max(e.significance for e in r.per_period.values())


def _level(r) -> float:  # type: ignore[no-untyped-def]
    """The level of the stack's lines (its longest period, 64): dBFS, -200 when none."""
    e = r.per_period[max(r.per_period)]
    return e.level_dbfs if e.level_dbfs is not None else -200.0


def auc(neg: list[float], pos: list[float]) -> float:
    """P(score of a positive > score of a negative), ties counted half."""
    if not neg or not pos:
        return float("nan")
    n = np.asarray(neg)[:, None]
    p = np.asarray(pos)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (n.size * p.size))


def weakest_buzz(recs: list[tuple[str, str, np.ndarray, int]]) -> None:
    print("\nweakest buzz found (two lines of a 64-sample pattern planted in each recording):")
    natural = [r for r in recs if "resampled" not in r[0]]
    for level in (-40, -50, -60, -70, -80, -90):
        found = 0
        for _, _, x, rate in natural:
            t = np.arange(len(x))
            a = 10 ** (level / 20) / math.sqrt(2)  # the two tones together: `level` dBFS
            buzz = a * (np.cos(2 * np.pi * 11 * t / 64) + np.cos(2 * np.pi * 16 * t / 64))
            r = score_audio(_16bit(x + buzz), rate=rate)
            found += r.flagged and r.period is not None and 64 % r.period == 0
        share = found / len(natural)
        print(f"  {level:4d} dBFS: flagged in {found}/{len(natural)} ({share:.0%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    recs = recordings(args.quick)
    synth = speech_like(4 if args.quick else 12, 3.0, 7)
    negs: dict[str, list[float]] = {}
    fp: dict[str, list[str]] = {}
    known: list[float] = []  # the negatives scored as the generated clips are (4x4x4)
    known_fp: dict[str, int] = {}
    for fam, name, x, rate in recs:
        r = score_audio(x, rate=rate)
        rk = score_audio(x, rate=rate, stride="4x4x4")
        known.append(_z(rk))
        known_fp[fam] = known_fp.get(fam, 0) + rk.flagged
        negs.setdefault(fam, []).append(_z(r))
        if r.flagged:
            fp.setdefault(fam, []).append(f"{name} (period {r.period}, {r.level_dbfs:.1f} dBFS)")
    for i, x in enumerate(synth):
        r = score_audio(x, rate=RATE)
        rk = score_audio(x, rate=RATE, stride="4x4x4")
        known.append(_z(rk))
        known_fp["synthetic speech-like"] = known_fp.get("synthetic speech-like", 0) + rk.flagged
        negs.setdefault("synthetic speech-like", []).append(_z(r))
        if r.flagged:
            fp.setdefault("synthetic speech-like", []).append(f"clip {i} (period {r.period})")
    print(f"defaults: min significance {DEFAULT_MIN_SIGNIFICANCE:g} sigma, min level "
          f"{DEFAULT_MIN_LEVEL_DBFS:g} dBFS")  # fmt: skip
    print("false positives at the defaults (natural negatives):")
    for fam, vals in negs.items():
        print(f"  {fam:26s} {len(fp.get(fam, [])):3d} / {len(vals):3d}   "
              f"max significance {max(vals):.1f}   with --stride 4x4x4: "
              f"{known_fp.get(fam, 0)} flagged")  # fmt: skip
        for f in fp.get(fam, []):
            print(f"      {f}")

    # training material: the alsa voice at 16 kHz, and the speech-like clips
    speech = [x for fam, _, x, rate in recs if fam == "alsa speech resampled" and rate == RATE]
    speech += synth[: len(synth) // 2]
    kinds = ["transposed-k2u", "transposed-uneven", "subpixel", "nearest-conv", "linear-conv"]
    pos: list[float] = []
    rows = []
    for seed, kind in enumerate(kinds):
        t1 = time.perf_counter()
        before, after, _ = train_and_generate(torch, kind, speech, args.steps, seed)
        for stage, (clips, truth) in (("untrained", before), ("trained", after)):
            sig, flagged, excess = [], 0, []
            for y in clips:  # as the net wrote them (the buzz is measured at the same scale)
                r = score_audio(_16bit(y), rate=RATE, stride="4x4x4")
                sig.append(_z(r))
                flagged += score_audio(_16bit(y), rate=RATE).flagged  # as a user runs it
                excess.append(_level(r))
                if truth >= TRUTH_DBFS:
                    pos.append(_z(r))
            rows.append((kind, stage, truth, flagged, len(clips), float(np.median(sig)),
                         float(np.median(excess))))  # fmt: skip
        print(f"  trained {kind} in {time.perf_counter() - t1:.0f} s")
    print("\ngenerated clips (flagged: at the defaults, every period searched; sigma and levels "
          "at the stack's periods 4, 16, 64):")  # fmt: skip
    print(f"  {'upsampler':20s} {'stage':10s} {'buzz (truth)':>13s} {'flagged':>9s} "
          f"{'median sigma':>13s} {'median dBFS':>12s}")  # fmt: skip
    for kind, stage, truth, fl, n, med, lv in rows:
        print(f"  {kind:20s} {stage:10s} {truth:13.1f} {fl:4d}/{n:<4d} {med:13.1f} {lv:12.1f}")
    print(f"\nAUC (significance at 4x4x4; clips of nets whose buzz is at least {TRUTH_DBFS} dBFS "
          f"vs every negative): {auc(known, pos):.3f}  ({len(pos)} positives, {len(known)} "
          "negatives)")  # fmt: skip
    weakest_buzz(recs)
    print(f"\n{time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
