"""Detection quality of ``cbdiag score``: a public, reproducible benchmark.

Negatives (must not be flagged):
  * real photos and textures bundled with scikit-image (``pip install '.[bench]'``), as they
    are, as 256-px crops, after JPEG q75 / q90, and after bilinear / bicubic / Lanczos resizes
    (x2 up and x0.75 down) and a nearest x2 upscale;
  * synthetic natural-like images: 1/f ("pink") noise and dead leaves, 256 and 512 px;
  * a large chessboard (scikit-image's ``checkerboard``).
Positives (should be flagged):
  * the same photos, downscaled x0.5 and brought back by a stride-2 transposed convolution
    whose 4x4 kernel is a phase-balanced bilinear kernel plus a random perturbation with
    unequal per-phase sums, of controlled relative amplitude (the artifact strength);
  * outputs of ``cbdiag generate`` with deconv k3s2 / k4s2 and sub-pixel upsamplers.

Prints AUC per amplitude (and after JPEG q90 / q75), the false-positive rate at the defaults
(significance and minimum amplitude) on every negative family, detection rates, and the weakest
amplitude detected. The AUCs rank images by ``min(significance / 5, amplitude / 0.1)``: how far
past both criteria an image is. (Real trained generators: ``benchmarks/real_models.py``.)
Everything is seeded; one run takes a minute or two.

Usage: python benchmarks/detection.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _photos import jpeg, photos, resize, to_u8

from cbdiag.generator import GeneratorConfig, compare_configs, generate
from cbdiag.spectrum import DEFAULT_MIN_AMPLITUDE, DEFAULT_MIN_SIGNIFICANCE, score_image


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    f = np.fft.fftfreq(n)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    amp = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / n)
    x = np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.random((n, n)))))
    return to_u8((x - x.min()) / (x.max() - x.min()) * 255)


def dead_leaves(n: int, rng: np.random.Generator) -> np.ndarray:
    img = np.full((n, n), 128.0)
    yy, xx = np.indices((n, n))
    for _ in range(600):
        r = n * 0.3 * rng.random() ** 3 + 1
        cy, cx = rng.random(2) * n
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random() * 255
    blurred = np.asarray(Image.fromarray(to_u8(img)).filter(_gauss(0.8)), dtype=np.float64)
    return to_u8(blurred + rng.normal(0, 2, blurred.shape))


def _gauss(r: float):  # type: ignore[no-untyped-def]
    from PIL import ImageFilter

    return ImageFilter.GaussianBlur(r)


def deconv_upsample(img: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Downscale x0.5 (area) then a stride-2 transposed conv with a 4x4 kernel: the balanced
    bilinear kernel plus a zero-mean random perturbation whose per-phase sums differ, scaled so
    the phase gains deviate by ``amplitude`` (relative, RMS)."""
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[..., None]
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    small = (
        x[:h:2, :w:2] * 0.25
        + x[1:h:2, :w:2] * 0.25
        + x[:h:2, 1:w:2] * 0.25
        + x[1:h:2, 1:w:2] * 0.25
    )
    base = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0  # sums to 1: each phase 1/4 (x4 below)
    pert = rng.normal(size=(4, 4))
    gains = np.array([[pert[a::2, b::2].sum() for b in range(2)] for a in range(2)])
    gains -= gains.mean()
    pert = np.zeros((4, 4))
    for a in range(2):
        for b in range(2):
            pert[a::2, b::2] = gains[a, b] / 4
    pert *= amplitude / np.sqrt((gains**2).mean())
    k = base + pert
    up = np.zeros((h, w, x.shape[2]))
    up[::2, ::2] = small
    from scipy.ndimage import convolve

    out = np.stack([convolve(up[..., c], k * 4, mode="reflect") for c in range(x.shape[2])], -1)
    out = to_u8(out)
    return out[..., 0] if img.ndim == 2 else out


def auc(neg: list[float], pos: list[float]) -> float:
    n, p = np.asarray(neg), np.asarray(pos)
    greater = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(greater / (len(n) * len(p)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images (a smoke run)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    thr = 1.0  # the margin at which an image is flagged (both criteria met)
    plist = list(photos())[: (5 if args.quick else None)]

    def s(img: np.ndarray) -> float:
        """The margin past both criteria; above 1 exactly when flagged (no look-alike)."""
        r = score_image(img)
        m = min(r.significance / DEFAULT_MIN_SIGNIFICANCE, r.amplitude / DEFAULT_MIN_AMPLITUDE)
        return m if (r.flagged or m <= thr) else min(m, thr)  # explained look-alikes: not above

    neg: dict[str, list[float]] = {}

    def add(family: str, value: float) -> None:
        neg.setdefault(family, []).append(value)

    for _name, img in plist:
        add("photo", s(img))
        h, w = img.shape[:2]
        if min(h, w) >= 256:
            add(
                "photo crop 256",
                s(img[(h - 256) // 2 : (h + 256) // 2, (w - 256) // 2 : (w + 256) // 2]),
            )
        add("photo jpeg q90", s(jpeg(img, 90)))
        add("photo jpeg q75", s(jpeg(img, 75)))
        for label, m in (
            ("bilinear", Image.Resampling.BILINEAR),
            ("bicubic", Image.Resampling.BICUBIC),
            ("lanczos", Image.Resampling.LANCZOS),
        ):
            add(f"photo {label} x2", s(resize(img, 2.0, m)))
            add(f"photo {label} x0.75", s(resize(img, 0.75, m)))
        add("photo nearest x2", s(resize(img, 2.0, Image.Resampling.NEAREST)))
    for n in (256, 512):
        for _ in range(3 if args.quick else 8):
            add(f"pink noise {n}", s(pink_noise(n, rng)))
            add(f"dead leaves {n}", s(dead_leaves(n, rng)))
    import skimage.data as data

    add("chessboard", s(np.asarray(data.checkerboard())))
    all_neg = [v for vals in neg.values() for v in vals]

    print(
        f"defaults: {DEFAULT_MIN_SIGNIFICANCE:g} sigma, {DEFAULT_MIN_AMPLITUDE:g} grey levels; "
        f"negatives: {len(all_neg)} images (max = largest margin; flagged above 1)"
    )
    print(f"  {'family':28s} {'n':>3s} {'max':>7s} {'FPR':>6s}")
    for fam, vals in neg.items():
        fpr = np.mean(np.asarray(vals) > thr)
        print(f"  {fam:28s} {len(vals):3d} {max(vals):7.3f} {fpr:6.1%}")
    print(
        f"  {'all negatives':28s} {len(all_neg):3d} {max(all_neg):7.3f} "
        f"{np.mean(np.asarray(all_neg) > thr):6.1%}"
    )

    # Held out from the calibration: transformations the threshold was not chosen on.
    held: list[float] = []
    for _name, img in plist:
        rot = np.ascontiguousarray(np.rot90(img))
        held.append(s(rot))
        held.append(s(np.ascontiguousarray(img[:, ::-1])))
        held.append(s(jpeg(rot, 80)))
        held.append(s(resize(img, 1.5, Image.Resampling.BICUBIC)))
        held.append(s(resize(rot, 0.6, Image.Resampling.LANCZOS)))
        h, w = img.shape[:2]
        if min(h, w) >= 300:
            held.append(s(img[h - 300 :, :300]))
    print(
        f"held-out negatives (rotated, mirrored, JPEG q80, bicubic x1.5, Lanczos x0.6, crops): "
        f"{len(held)} images, max {max(held):.3f}, FPR {np.mean(np.asarray(held) > thr):.1%}"
    )

    print("positives: photos through an imbalanced stride-2 transposed convolution")
    print(
        f"  {'amplitude':>9s} {'AUC':>6s} {'TPR':>6s} {'AUC q90':>8s} {'TPR q90':>8s} "
        f"{'AUC q75':>8s} {'TPR q75':>8s}"
    )
    weakest = None
    for amp in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2):
        pos, pos90, pos75 = [], [], []
        for _name, img in plist:
            fake = deconv_upsample(img, amp, rng)
            pos.append(s(fake))
            pos90.append(s(jpeg(fake, 90)))
            pos75.append(s(jpeg(fake, 75)))
        tpr = float(np.mean(np.asarray(pos) > thr))
        if weakest is None and tpr >= 0.9:
            weakest = amp
        print(
            f"  {amp:9.3f} {auc(all_neg, pos):6.3f} {tpr:6.1%} {auc(all_neg, pos90):8.3f} "
            f"{np.mean(np.asarray(pos90) > thr):8.1%} {auc(all_neg, pos75):8.3f} "
            f"{np.mean(np.asarray(pos75) > thr):8.1%}"
        )
    print(f"weakest amplitude detected in >= 90 % of photos: {weakest}")

    print("untrained generators (cbdiag generate, 64x64 and 128x128, 16 samples each)")
    for size in (64, 128):
        base = GeneratorConfig(size=size, width=32)
        for name, cfg in compare_configs(base):
            imgs = generate(cfg, count=16, seed=1).images
            u8 = to_u8((imgs + 1) * 127.5)
            scores = [s(u8[i]) for i in range(len(u8))]
            print(
                f"  {size}px {name:16s} median {np.median(scores):6.3f}  "
                f"flagged {np.mean(np.asarray(scores) > thr):6.1%}"
            )


if __name__ == "__main__":
    main()
