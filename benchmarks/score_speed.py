"""Speed and memory of ``cbdiag score`` against the floor "Pillow decode + one float32 rfft2
of the luminance", measured in the same run, at 256^2, 1024^2 and 4096^2 (RGB PNG files of
natural-like 1/f content), and the peak memory for an 8192^2 image.

The peak memory is measured with tracemalloc (numpy reports its buffers to it) and compared
with the decoded image itself: the detector works band by band, so it stays near the size of
the decoded pixels plus the luminance of one band of tiles.

Usage: python benchmarks/score_speed.py [--repeat 5] [--skip-8k]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.fft
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of

from cbdiag.images import luminance
from cbdiag.spectrum import score_image


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-8k", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (256, 1024, 4096):
            path = Path(tmp) / f"img{n}.png"
            Image.fromarray(pink_rgb(n)).save(path, compress_level=1)
            rep = max(1, args.repeat if n < 4096 else 2)
            t_floor = best_of(lambda p=path: floor(p), rep)
            t_score = best_of(lambda p=path: score_image(p), rep)
            print(
                f"{n:5d}^2  score {t_score * 1e3:8.1f} ms   floor {t_floor * 1e3:8.1f} ms   "
                f"ratio {t_score / t_floor:5.2f}x"
            )
        if not args.skip_8k:
            n = 8192
            path = Path(tmp) / "img8192.png"
            Image.fromarray(pink_rgb(n)).save(path, compress_level=1)
            decoded = n * n * 3
            tracemalloc.start()
            score_image(path)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f" 8192^2  peak traced memory {peak / 2**20:7.0f} MiB = "
                f"{peak / decoded:4.2f}x the decoded RGB image ({decoded / 2**20:.0f} MiB)"
            )


if __name__ == "__main__":
    main()
