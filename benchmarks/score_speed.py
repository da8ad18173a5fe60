"""Speed and memory of ``cbdiag score`` against the floor "Pillow decode + one float32 rfft2 of
the luminance", measured in the same run with rounds interleaved (floor, score, pooled, floor,
score, pooled, ...), at 256^2, 1024^2 and 4096^2, for PNG and JPEG files of natural-like 1/f
content; then the peak resident memory (RSS) of scoring an 8192^2 RGB PNG in a fresh process,
against the size of the decoded pixels (8192 * 8192 * 3 bytes).

Ratios are medians over the rounds; absolute times vary with the machine, ratios much less.
"pooled" is the per-image cost inside ``--pooled`` (statistics only, no diagnostics) against
the per-image mode.

Usage: python benchmarks/score_speed.py [--rounds 21] [--skip-8k]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.fft
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cbdiag.images import luminance
from cbdiag.spectrum import score_image

ROOT = Path(__file__).resolve().parent.parent


def pink_rgb(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n).astype(np.float32)
    amp = 1.0 / np.maximum(np.hypot(f[:, None], f[None, :]), 1.0 / n)
    out = []
    for _ in range(3):
        x = np.fft.irfft2(
            (amp[:, : n // 2 + 1] * np.exp(2j * np.pi * rng.random((n, n // 2 + 1)))), s=(n, n)
        )
        out.append((x - x.min()) / (x.max() - x.min()) * 255)
    return np.clip(np.stack(out, -1), 0, 255).astype(np.uint8)


def floor(path: Path) -> None:
    with Image.open(path) as img:
        img.load()
        arr = np.asarray(img)
    y = luminance(arr)
    scipy.fft.rfft2(y, workers=-1)


def pooled_one(path: Path) -> None:
    score_image(path, diagnostics=False)


def timed(fn, path: Path) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(path)
    return time.perf_counter() - t0


# VmHWM (this process's peak RSS), not ru_maxrss: after fork + exec the latter still counts
# the parent's pages at the fork
RSS_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
import numpy, scipy.fft, PIL.Image
from cbdiag.spectrum import score_image
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm()
r = score_image({path!r})
print(json.dumps({{"base_kib": base, "peak_kib": hwm(), "amplitude": r.amplitude}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--skip-8k", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'size':>7s} {'format':6s} {'score/floor':>11s} {'pooled/score':>12s}")
        for n in (256, 1024, 4096):
            img = pink_rgb(n)
            for fmt, ext, kw in (("PNG", "png", {"compress_level": 1}), ("JPEG", "jpg", {})):
                path = Path(tmp) / f"img{n}.{ext}"
                Image.fromarray(img).save(path, **kw)
                rounds = args.rounds if n < 4096 else max(3, args.rounds // 2)
                reps = 20 if n == 256 else 1
                fns = (floor, score_image, pooled_one)
                for fn in fns:  # warm-up
                    fn(path)
                times: list[list[float]] = [[], [], []]
                for _ in range(rounds):
                    for k, fn in enumerate(fns):
                        times[k].append(sum(timed(fn, path) for _ in range(reps)))
                t_floor, t_score, t_pool = (float(np.median(t)) for t in times)
                print(f"{n:5d}^2 {fmt:6s} {t_score / t_floor:10.2f}x {t_pool / t_score:11.2f}x")
        if not args.skip_8k:
            n = 8192
            path = Path(tmp) / "img8192.png"
            Image.fromarray(pink_rgb(n)).save(path, compress_level=1)
            decoded = n * n * 3
            code = RSS_CHILD.format(root=str(ROOT), path=str(path))
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            d = json.loads(out.stdout)
            peak, base = d["peak_kib"] * 1024, d["base_kib"] * 1024
            print(
                f" 8192^2 PNG: peak RSS {peak / 2**20:.0f} MiB = {peak / decoded:.2f}x the "
                f"decoded RGB pixels ({decoded / 2**20:.0f} MiB); of which the interpreter "
                f"with numpy/scipy/Pillow before scoring: {base / 2**20:.0f} MiB; "
                f"scoring itself: {(peak - base) / decoded:.2f}x"
            )


if __name__ == "__main__":
    main()
