"""Detection quality of ``cbdiag score`` on generators really trained on this machine.

Data: ``benchmarks/real_models_data.py`` (run first if its cache is missing) trains, with
PyTorch on the CPU, small super-resolution nets x2 and x4 (transposed convolutions k3s2 / k4s2 /
k5s2, sub-pixel, sub-pixel + ICNR, resize-convolution; snapshots early and late) and a small
DCGAN on photo patches, and keeps the ground truth: for every SR output, the periodic RMS of
``Y - box5(Y)`` over the phases of its scale, minus that of its high-resolution target.

Negatives (must not be flagged): the photos and textures bundled with scikit-image, as they are,
as 256-px crops, after JPEG q75 / q90 / q95, after bilinear / bicubic / Lanczos resizes up x2
and down x0.5 and x0.75 (rounded to 8 bits, as files are), nearest-neighbour x2 and x3 upscales,
and downscaled x0.5 then brought back with nearest-neighbour; plus the SR nets' own targets.

Prints: per-image AUC against the natural negatives (for outputs whose ground truth is at least
0.3 grey levels), false positives at the defaults on every negative family, detection rates,
Spearman(amplitude, ground truth), the same after JPEG q90, and the pooled verdict on sample
sets of the DCGAN, on sets of photo crops with a planted 0.15-grey-level fixed pattern, and on
sets of natural photos.

Usage: python benchmarks/real_models.py [--quick] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _photos import jpeg, photos, resize

from cbdiag.spectrum import (
    DEFAULT_MIN_AMPLITUDE,
    DEFAULT_MIN_SIGNIFICANCE,
    DEFAULT_POOLED_MIN_AMPLITUDE,
    ScoreResult,
    pool_results,
    score_image,
)

HERE = Path(__file__).resolve().parent
RS = Image.Resampling


def negatives(quick: bool) -> Iterator[tuple[str, np.ndarray]]:
    """(family, image) of every natural negative."""
    for _name, img in photos(6 if quick else None):
        yield "photo", img
        h, w = img.shape[:2]
        if min(h, w) >= 256:
            yield "photo crop 256", img[(h - 256) // 2 : (h + 256) // 2, (w - 256) // 2 :][:, :256]
        for q in (75, 90, 95):
            yield f"jpeg q{q}", jpeg(img, q)
        for label, m in (
            ("bilinear", RS.BILINEAR),
            ("bicubic", RS.BICUBIC),
            ("lanczos", RS.LANCZOS),
        ):
            yield f"{label} x2", resize(img, 2.0, m)
            yield f"{label} x0.5", resize(img, 0.5, m)
            yield f"{label} x0.75", resize(img, 0.75, m)
        yield "nearest x2", resize(img, 2.0, RS.NEAREST)
        yield "nearest x3", resize(img, 3.0, RS.NEAREST)
        yield "down x0.5, nearest x2", resize(resize(img, 0.5, RS.LANCZOS), 2.0, RS.NEAREST)


def auc(neg: list[float], pos: list[float]) -> float:
    n, p = np.asarray(neg), np.asarray(pos)
    if not len(n) or not len(p):
        return float("nan")
    greater = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(greater / (len(n) * len(p)))


def margin(r: ScoreResult) -> float:
    """How far past both criteria (1 = at the defaults): the statistic the AUCs rank by."""
    return min(r.significance / DEFAULT_MIN_SIGNIFICANCE, r.amplitude / DEFAULT_MIN_AMPLITUDE)


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def ensure_data(out: Path, quick: bool) -> dict:
    manifest = out / "manifest.json"
    cmd = [sys.executable, str(HERE / "real_models_data.py"), "--out", str(out)]
    if quick:
        cmd.append("--quick")
    subprocess.run(cmd, check=True)
    return json.loads(manifest.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images (a smoke run)")
    ap.add_argument("--data", type=Path, default=None, help="the data folder (a cache)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = args.data or HERE / ".cache" / ("real_models_quick" if args.quick else "real_models")
    man = ensure_data(out, args.quick)
    print(f"data: {out} ({len(man['images'])} SR outputs, made in {man['seconds']:.0f} s)")
    print(
        f"defaults: significance >= {DEFAULT_MIN_SIGNIFICANCE:g} sigma, amplitude >= "
        f"{DEFAULT_MIN_AMPLITUDE:g} grey levels (pooled {DEFAULT_POOLED_MIN_AMPLITUDE:g})"
    )

    # --- negatives ----------------------------------------------------------------------
    neg: dict[str, list[ScoreResult]] = {}
    neg90: list[float] = []
    for fam, img in negatives(args.quick):
        neg.setdefault(fam, []).append(score_image(img))
        if fam == "photo":
            neg90.append(margin(score_image(jpeg(img, 90))))
    for t in man["targets"]:
        img = load(out / t["file"])
        neg.setdefault("SR targets (photos)", []).append(score_image(img))
        neg90.append(margin(score_image(jpeg(img, 90))))
    all_neg = [r for rs in neg.values() for r in rs]
    print(f"\nnegatives: {len(all_neg)} images; flagged at the defaults per family")
    print(f"  {'family':26s} {'n':>4s} {'flagged':>8s} {'max amp':>8s} {'max sigma':>10s}")
    for fam, rs in neg.items():
        print(
            f"  {fam:26s} {len(rs):4d} {sum(r.flagged for r in rs):8d} "
            f"{max(r.amplitude for r in rs if r.period) if any(r.period for r in rs) else 0:8.3f} "
            f"{max(r.significance for r in rs):10.1f}"
        )
    n_fp = sum(r.flagged for r in all_neg)
    print(f"  {'all negatives':26s} {len(all_neg):4d} {n_fp:8d}   (max amp: of significant ones)")
    worst = sorted(all_neg, key=lambda r: -r.amplitude * (r.period is not None))[:3]
    for r in worst:
        print(
            f"    strongest significant: {r.amplitude:.3f} grey levels, {r.significance:.1f} "
            f"sigma, period {r.period}, explained: {r.explained_by}"
        )

    # --- SR outputs ---------------------------------------------------------------------
    rows = []
    for e in man["images"]:
        img = load(out / e["file"])
        r = score_image(img)
        r90 = score_image(jpeg(img, 90))
        gt = e["gt"][str(e["scale"])]
        rows.append((e, gt, r, r90))
    neg_m = [margin(r) for r in all_neg]
    pos = [(gt, r, r90) for _, gt, r, r90 in rows if gt >= 0.3]
    print(f"\nSR outputs: {len(rows)}; ground truth >= 0.3 grey levels: {len(pos)}")
    print(
        f"  per-image AUC (gt >= 0.3 vs natural negatives): "
        f"{auc(neg_m, [margin(r) for _, r, _ in pos]):.4f}   "
        f"by significance alone {auc([r.significance for r in all_neg], [r.significance for _, r, _ in pos]):.4f}"  # noqa: E501
    )
    print(
        f"  after JPEG q90 (both sides): AUC {auc(neg90, [margin(r90) for _, _, r90 in pos]):.4f}"
    )
    for lo, hi in ((0.0, 0.1), (0.1, 0.3), (0.3, 1.0), (1.0, 1e9)):
        sel = [(gt, r, r90) for _, gt, r, r90 in rows if lo <= gt < hi]
        if sel:
            print(
                f"  gt in [{lo:g}, {hi:g}): {len(sel):4d} images, flagged "
                f"{np.mean([r.flagged for _, r, _ in sel]):6.1%} (after q90 "
                f"{np.mean([r90.flagged for _, _, r90 in sel]):6.1%})"
            )
    # The ground truth is the pattern over the s x s phases of the net's scale s, so it is
    # compared with cbdiag's amplitude of that period (``per_period_amplitude[s]``); the
    # headline ``amplitude`` is that of the reported period, which for an unflagged or
    # mis-periodised output can be another lattice (harmonics included), shown second.
    gts = [gt for _, gt, _, _ in rows]
    amps = [r.per_period_amplitude[e["scale"]] for e, _, r, _ in rows]
    heads = [r.amplitude for _, _, r, _ in rows]
    rho = spearmanr(gts, amps).statistic
    big = [(g, a) for g, a in zip(gts, amps, strict=True) if g >= 0.1]
    rho_big = spearmanr(*zip(*big, strict=True)).statistic if len(big) > 2 else float("nan")
    errs = [e["err"][str(e["scale"])] for e, _, _, _ in rows]
    rho_err = spearmanr(errs, amps).statistic
    print(
        f"  Spearman(amplitude at the net's scale, gt): all {rho:.4f}; gt >= 0.1: "
        f"{rho_big:.4f}; against the periodic RMS of the error (output - target): "
        f"{rho_err:.4f}; headline amplitude (reported period) against gt: "
        f"{spearmanr(gts, heads).statistic:.4f}"
    )
    flagged_rows = [(e, r) for e, _, r, _ in rows if r.flagged]
    right = sum(r.period == e["scale"] for e, r in flagged_rows)
    print(f"  period = the net's scale in {right} of {len(flagged_rows)} flagged outputs")
    print(
        f"  {'model':28s} {'n':>3s} {'gt mean':>8s} {'amp mean':>9s} {'flagged':>8s} "
        f"{'period ok':>9s}"
    )
    groups: dict[str, list] = {}
    for e, gt, r, _ in rows:
        groups.setdefault(f"x{e['scale']} {e['arch']} {e['snapshot']}", []).append((e, gt, r))
    for name, g in groups.items():
        ok = [r.period == e["scale"] for e, _, r in g if r.flagged]
        print(
            f"  {name:28s} {len(g):3d} {np.mean([gt for _, gt, _ in g]):8.3f} "
            f"{np.mean([r.amplitude for _, _, r in g]):9.3f} "
            f"{np.mean([r.flagged for _, _, r in g]):8.1%} "
            f"{(np.mean(ok) if ok else float('nan')):9.1%}"
        )

    # --- pooled -------------------------------------------------------------------------
    print("\npooled verdicts (sets of 64x64 samples)")
    dc = man["dcgan"]
    dc_files = sorted((out / dc["samples"]).glob("*.png"))
    ph_files = sorted((out / man["photo64"]).glob("*.png"))
    fixed = {k: round(v, 3) for k, v in dc["fixed_pattern"].items()}
    print(f"  DCGAN ground-truth fixed pattern (4096 samples), by period: {fixed}")
    singles = [score_image(load(f)) for f in dc_files[:128]]
    print(
        f"  DCGAN samples flagged one by one: {sum(r.flagged for r in singles)} of "
        f"{len(singles)}; photo crops: "
        f"{sum(score_image(load(f)).flagged for f in ph_files[:128])} of {min(128, len(ph_files))}"
    )
    for n in (64, 256):
        for label, files in (("DCGAN samples", dc_files), ("photo crops", ph_files)):
            sets = [files[i : i + n] for i in range(0, len(files) - n + 1, n)]
            for k, fs in enumerate(sets[:2]):
                p = pool_results(score_image(load(f), diagnostics=False) for f in fs)
                print(
                    f"  {label:14s} set {k} n={n:3d}: amplitude {p.amplitude:.3f} "
                    f"{p.significance:6.1f} sigma period {p.period} flagged {p.flagged}"
                )
    rng = np.random.default_rng(7)
    tile = rng.standard_normal((2, 2))
    tile -= tile.mean()
    tile *= 0.15 / np.sqrt((tile**2).mean())
    crops = [load(f).astype(np.float64) for f in ph_files[:256]]
    # a generator's output is continuous before it is saved: the uniform dither stands for that
    # (rounding the integer crops plus a 0.15 pattern alone would give back the crops)
    planted = [
        np.clip(
            np.round(c + np.tile(tile, (32, 32))[..., None] + rng.uniform(-0.5, 0.5, c.shape)),
            0,
            255,
        ).astype(np.uint8)
        for c in crops
    ]
    dithered = [
        np.clip(np.round(c + rng.uniform(-0.5, 0.5, c.shape)), 0, 255).astype(np.uint8)
        for c in crops
    ]
    p0 = pool_results(score_image(im, diagnostics=False) for im in dithered)
    print(
        f"  the same 256 crops dithered, no pattern: amplitude {p0.amplitude:.3f} "
        f"{p0.significance:.1f} sigma flagged {p0.flagged}"
    )
    p = pool_results(score_image(im, diagnostics=False) for im in planted)
    print(
        f"  256 photo crops + a 0.15-grey-level period-2 fixed pattern (8-bit): amplitude "
        f"{p.amplitude:.3f} {p.significance:.1f} sigma flagged {p.flagged}"
    )
    flagged_sets = 0
    for fam in ("photo", "jpeg q90", "bilinear x0.5", "lanczos x0.75"):
        imgs_fam = [img for f, img in negatives(args.quick) if f == fam]
        p = pool_results(score_image(im, diagnostics=False) for im in imgs_fam)
        flagged_sets += p.flagged
        print(
            f"  natural set '{fam}' ({p.n_images} photos of mixed sizes): amplitude "
            f"{p.amplitude:.3f} {p.significance:.1f} sigma flagged {p.flagged}"
        )
    print(f"  natural sets flagged: {flagged_sets} of 4")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
