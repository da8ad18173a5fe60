"""Outputs of really trained small generators, with ground truth, for a detection benchmark.

Trains, with PyTorch on the CPU (2 threads, deterministic, everything seeded):

  * 12 small super-resolution nets: scale x2 and x4, with six upsampler kinds each
    (``deconv_k3s2``, ``deconv_k4s2``, ``deconv_k5s2``, ``subpixel``, ``subpixel_icnr``,
    ``resize_conv``; x4 applies the upsampler twice). Architecture: conv 3x3 (3->C) + ReLU and
    two conv 3x3 (C->C) + ReLU at the low resolution, the upsampler(s) each followed by ReLU,
    a final conv 3x3 (C->3). The net predicts the full image, with no image skip: its input is
    shifted by -0.5 and its output by +0.5, nothing else (``"skip": "bilinear"`` in the settings
    adds a bilinear upsampling of the input instead: it converges faster, but the artifacts of
    the residual branch then fade within ~20 steps, so the default leaves it out).
    Trained with L1 loss and Adam on (LR = area downscale of a random HR patch, rounded to 8
    bits; HR patch) pairs from the TRAIN photos; every net sees the same batches. Snapshots at an
    early and a late step are run on 256x256 HR crops of held-out EVAL photos (clamped to
    [0, 1], saved as 8-bit RGB PNG under ``sr/``; the targets once under ``hr/``, with the
    metrics of a plain bilinear upscale of their LR as a reference). The CPU budget allows 400
    steps of batch 8 (64x64 HR patches): the late nets are not converged (PSNR below bilinear);
  * a small DCGAN (64x64 RGB) on random photo patches of the TRAIN photos; 512 samples (eval
    mode, fixed seeds) under ``dcgan/``, and 512 random 64x64 crops of the EVAL photos under
    ``photo64/`` as a negative set of the same size.

Photos are scikit-image's bundled ones (``pip install '.[bench]'``; no download; names that fail
to load, or that duplicate an EVAL photo, such as ``cat`` = ``chelsea``, are skipped).

Ground truth, in 8-bit grey levels of the luminance 0.299 R + 0.587 G + 0.114 B: the residual
r = y - uniform_filter(y, 5) is averaged per phase of an s-periodic grid, and the RMS of those
per-phase means about their mean is the periodic amplitude. Per SR output and s in (2, 4, 8):
``gt[s]`` = amplitude(output) - amplitude(target), ``err[s]`` = amplitude of r_output - r_target.
For the DCGAN: the amplitude of the coherent average of r over 4096 samples (the fixed pattern),
over the 512 saved samples, and over the 512 photo crops (noise reference), s in (2, 4, 8, 16).
Everything goes into ``manifest.json`` (paths relative to the output folder).

Takes about 3.5 minutes on 2 idle cores (``--quick``: a smoke test of ~15 s). A second run with
the same settings exits at once (cached) unless ``--force``.

Needs torch and scikit-image:  pip install '.[bench,torch]'
Usage: python benchmarks/real_models_data.py [--out DIR] [--quick] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import uniform_filter
from torch import nn

VERSION = 1
DEFAULT_OUT = Path(__file__).resolve().parent / ".cache" / "real_models"
THREADS = 2

PHOTOS = [
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
    "hubble_deep_field",
    "camera",
    "coins",
    "moon",
    "cat",
    "text",
    "page",
    "clock",
    "grass",
    "gravel",
    "brick",
    "colorwheel",
    "skin",
    "lily",
]
EVAL_PHOTOS = [
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle0",
    "stereo_motorcycle1",
    "camera",
    "coins",
]
KINDS = ["deconv_k3s2", "deconv_k4s2", "deconv_k5s2", "subpixel", "subpixel_icnr", "resize_conv"]
SCALES = [2, 4]
SR_PERIODS = [2, 4, 8]
GAN_PERIODS = [2, 4, 8, 16]
# relative positions (top, left) of the HR eval crops inside a photo
CROP_POSITIONS = [(0.25, 0.25), (0.75, 0.75), (0.25, 0.75), (0.75, 0.25)]

DEFAULT_SETTINGS: dict[str, Any] = {
    "version": VERSION,
    "seed": 0,
    "threads": THREADS,
    "sr": {
        "width": 32,
        "batch": 8,
        "hr_patch": 64,
        "early_step": 60,
        "late_step": 400,
        "lr": 1e-3,
        "loss": "l1",
        "skip": "none",
        "downscale": "area",
        "eval_crop": 256,
        "crops_per_photo": 2,
    },
    "dcgan": {
        "nz": 100,
        "g_widths": [128, 64, 32, 16],
        "d_widths": [16, 32, 64, 128],
        "batch": 64,
        "steps": 300,
        "lr": 2e-4,
        "betas": [0.5, 0.999],
        "n_samples": 512,
        "n_pattern": 4096,
        "n_photo64": 512,
    },
}
QUICK_OVERRIDES: dict[str, dict[str, Any]] = {
    "sr": {"batch": 4, "early_step": 5, "late_step": 15, "eval_crop": 128},
    "dcgan": {"batch": 16, "steps": 20, "n_samples": 64, "n_pattern": 256, "n_photo64": 64},
}

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# ground truth (numpy)


def luminance(img: np.ndarray) -> np.ndarray:
    """8-bit RGB (H, W, 3) or a stack (..., H, W, 3) -> float64 luminance in grey levels."""
    x = img.astype(np.float64)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def residual(y: np.ndarray) -> np.ndarray:
    """High-pass residual y - 5x5 box mean (reflecting borders) of a 2-D array."""
    return y - uniform_filter(y, size=5, mode="reflect")


def phase_rms(r: np.ndarray, s: int) -> float:
    """RMS about their mean of the s x s per-phase means of ``r`` (top-left crop to multiples)."""
    h, w = (r.shape[0] // s) * s, (r.shape[1] // s) * s
    m = r[:h, :w].reshape(h // s, s, w // s, s).mean(axis=(0, 2))
    return float(np.sqrt(np.mean((m - m.mean()) ** 2)))


def periodic_rms(img: np.ndarray, s: int) -> float:
    """Periodic amplitude (grey levels) of an 8-bit RGB image at period ``s``."""
    return phase_rms(residual(luminance(img)), s)


def coherent_pattern(imgs: np.ndarray, periods: list[int]) -> dict[str, float]:
    """Periodic amplitude of the residual averaged over a stack (N, H, W, 3) of 8-bit images.

    The residual is linear, so the average of the residuals is the residual of the average."""
    r = residual(luminance(imgs).mean(axis=0))
    return {str(s): phase_rms(r, s) for s in periods}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


# ----------------------------------------------------------------------------------------------
# data


def load_photos() -> tuple[dict[str, np.ndarray], list[str]]:
    """All loadable photos as 8-bit RGB, by name (tuples split as name0, name1); skipped names."""
    import skimage.data as data

    out: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    for name in PHOTOS:
        try:
            img = getattr(data, name)()
        except Exception:  # missing optional file (pooch), removed function, ...
            skipped.append(name)
            continue
        parts = [(f"{name}{k}", p) for k, p in enumerate(img[:2])] if isinstance(img, tuple) else []
        for key, arr in parts or [(name, img)]:
            a = np.asarray(arr)
            if a.dtype != np.uint8:
                skipped.append(key)
                continue
            if a.ndim == 2:
                a = np.stack([a] * 3, axis=-1)
            out[key] = np.ascontiguousarray(a[..., :3])
    # a photo shipped twice under two names (cat is chelsea) would leak EVAL into TRAIN
    for key in [k for k in out if k not in EVAL_PHOTOS]:
        if any(np.array_equal(out[key], out[e]) for e in EVAL_PHOTOS if e in out):
            skipped.append(f"{key} (= an eval photo)")
            del out[key]
    return out, skipped


def random_crops(
    photos: list[np.ndarray], n: int, size: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` random size x size crops (uniform photo and position) -> uint8 (n, size, size, 3)."""
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        p = photos[int(rng.integers(len(photos)))]
        y = int(rng.integers(p.shape[0] - size + 1))
        x = int(rng.integers(p.shape[1] - size + 1))
        out[i] = p[y : y + size, x : x + size]
    return out


def to_tensor(u8: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(u8).permute(0, 3, 1, 2).float().div_(255.0)


def to_u8(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [0, 1] -> uint8 (N, H, W, 3), round(clip(x, 0, 1) * 255)."""
    return x.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Area downscale, rounded to 8 bits like a stored LR image."""
    return F.avg_pool2d(hr, scale).mul(255).round().div(255)


def save_png(path: Path, img: np.ndarray) -> None:
    Image.fromarray(img).save(path, compress_level=1)


# ----------------------------------------------------------------------------------------------
# super-resolution nets


def upsampler(kind: str, c: int) -> nn.Module:
    if kind == "deconv_k3s2":
        return nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1)
    if kind == "deconv_k4s2":
        return nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)
    if kind == "deconv_k5s2":
        return nn.ConvTranspose2d(c, c, 5, stride=2, padding=2, output_padding=1)
    if kind in ("subpixel", "subpixel_icnr"):
        conv = nn.Conv2d(c, 4 * c, 3, padding=1)
        if kind == "subpixel_icnr":  # ICNR: the 4 sub-pixel filters of a channel start equal
            base = torch.empty(c, c, 3, 3)
            nn.init.kaiming_normal_(base, nonlinearity="relu")
            with torch.no_grad():
                conv.weight.copy_(base.repeat_interleave(4, dim=0))
            assert conv.bias is not None
            nn.init.zeros_(conv.bias)
        return nn.Sequential(conv, nn.PixelShuffle(2))
    if kind == "resize_conv":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, 1, 1))
    raise ValueError(kind)


class SRNet(nn.Module):
    def __init__(self, kind: str, scale: int, width: int, skip: str = "none") -> None:
        super().__init__()
        c = width
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1)]
        layers.append(nn.ReLU())
        for _ in range(scale.bit_length() - 1):
            layers += [upsampler(kind, c), nn.ReLU()]
        layers.append(nn.Conv2d(c, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.scale = scale
        self.skip = skip

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = self.body(lr - 0.5)
        return x + (bilinear(lr, self.scale) if self.skip == "bilinear" else 0.5)


def bilinear(lr: torch.Tensor, scale: int) -> torch.Tensor:
    return F.interpolate(lr, scale_factor=scale, mode="bilinear", align_corners=False)


def crop_at(img: np.ndarray, size: int, k: int) -> np.ndarray:
    """The ``k``-th fixed size x size crop; its corner is at multiples of 8."""
    fy, fx = CROP_POSITIONS[k]
    y = int(fy * (img.shape[0] - size)) // 8 * 8
    x = int(fx * (img.shape[1] - size)) // 8 * 8
    return img[y : y + size, x : x + size]


@dataclass
class EvalSet:
    """The HR eval crops, their residuals and periodic amplitudes (grey levels)."""

    crops: list[tuple[str, int]]  # (photo, crop index)
    hr: np.ndarray  # uint8 (N, H, W, 3)
    res: list[np.ndarray]  # residual of the luminance of each target
    amp: list[dict[int, float]]  # periodic amplitude of each target per period

    @classmethod
    def build(cls, photos: dict[str, np.ndarray], size: int, per_photo: int) -> EvalSet:
        crops = [(name, k) for name in EVAL_PHOTOS if name in photos for k in range(per_photo)]
        hr = np.stack([crop_at(photos[name], size, k) for name, k in crops])
        res = [residual(luminance(t)) for t in hr]
        return cls(crops, hr, res, [{s: phase_rms(r, s) for s in SR_PERIODS} for r in res])

    def metrics(self, j: int, img: np.ndarray) -> dict[str, Any]:
        """``gt``, ``err`` (per period) and ``psnr`` of an output ``img`` of target ``j``."""
        r = residual(luminance(img))
        return {
            "gt": {str(s): phase_rms(r, s) - self.amp[j][s] for s in SR_PERIODS},
            "err": {str(s): phase_rms(r - self.res[j], s) for s in SR_PERIODS},
            "psnr": psnr(img, self.hr[j]),
        }


def evaluate(
    net: SRNet, ev: EvalSet, model: str, kind: str, snap: str, step: int, out: Path
) -> list[dict[str, Any]]:
    """Runs ``net`` on the eval crops, saves the outputs, returns their manifest entries."""
    lr = downscale(to_tensor(ev.hr), net.scale)
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(lr[j : j + 4]) for j in range(0, len(lr), 4)])
    net.train()
    entries = []
    for j, ((name, k), img) in enumerate(zip(ev.crops, to_u8(pred), strict=True)):
        file = f"sr/{model}_{snap}_{name}_{k}.png"
        save_png(out / file, img)
        entries.append(
            {
                "file": file,
                "kind": "sr",
                "arch": kind,
                "scale": net.scale,
                "snapshot": snap,
                "step": step,
                "photo": name,
                "target": f"hr/x{net.scale}_{name}_{k}.png",
                **ev.metrics(j, img),
            }
        )
    gt = np.mean([e["gt"][str(net.scale)] for e in entries])
    db = np.mean([e["psnr"] for e in entries])
    log(f"{model}: {snap} snapshot at step {step}: mean gt[{net.scale}] {gt:.3f}, {db:.2f} dB")
    return entries


def train_sr(
    model: str,
    kind: str,
    net: SRNet,
    batches: Callable[[int], torch.Tensor],
    cfg: dict[str, Any],
    ev: EvalSet,
    out: Path,
) -> tuple[list[dict[str, Any]], float]:
    """Trains ``net`` to ``late_step``, evaluating at the early and late steps.

    Returns the manifest entries and the mean loss of the last 10% of the steps."""
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    loss_fn = F.l1_loss if cfg["loss"] == "l1" else F.mse_loss
    late = cfg["late_step"]
    tail: list[float] = []
    entries: list[dict[str, Any]] = []
    for step in range(1, late + 1):
        hr = batches(step)
        loss = loss_fn(net(downscale(hr, net.scale)), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step > late - max(1, late // 10):
            tail.append(loss.item())
        if step == cfg["early_step"]:
            entries += evaluate(net, ev, model, kind, "early", step, out)
        if step % 150 == 0 and step != late:
            log(f"{model}: step {step}/{late} loss {loss.item():.4f}")
    entries += evaluate(net, ev, model, kind, "late", late, out)
    return entries, float(np.mean(tail))


def run_sr(
    photos: dict[str, np.ndarray], cfg: dict[str, Any], seed: int, out: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, float]]:
    train = [p for k, p in photos.items() if k not in EVAL_PHOTOS]
    ev = EvalSet.build(photos, cfg["eval_crop"], cfg["crops_per_photo"])
    (out / "hr").mkdir()
    (out / "sr").mkdir()
    targets: list[dict[str, Any]] = []
    for scale in SCALES:
        base = to_u8(bilinear(downscale(to_tensor(ev.hr), scale), scale))
        for j, ((name, k), img) in enumerate(zip(ev.crops, ev.hr, strict=True)):
            file = f"hr/x{scale}_{name}_{k}.png"
            save_png(out / file, img)
            targets.append(
                {"file": file, "photo": name, "crop": k, "scale": scale}
                | {"bilinear": ev.metrics(j, base[j])}
            )

    def batches(step: int) -> torch.Tensor:  # the same batches for every net
        rng = np.random.default_rng([seed, 7, step])
        return to_tensor(random_crops(train, cfg["batch"], cfg["hr_patch"], rng))

    images: list[dict[str, Any]] = []
    losses: dict[str, float] = {}
    for scale in SCALES:
        for i, kind in enumerate(KINDS):
            model = f"x{scale}_{kind}"
            torch.manual_seed(seed + 1000 * scale + i)
            net = SRNet(kind, scale, cfg["width"], cfg["skip"])
            entries, losses[model] = train_sr(model, kind, net, batches, cfg, ev, out)
            images += entries
            log(f"{model}: trained, final loss {losses[model]:.4f}")
    return images, targets, losses


# ----------------------------------------------------------------------------------------------
# DCGAN


def dcgan_init(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator(nz: int, w: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ConvTranspose2d(nz, w[0], 4, 1, 0, bias=False)]
    layers += [nn.BatchNorm2d(w[0]), nn.ReLU()]
    for a, b in itertools.pairwise(w):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    layers += [nn.ConvTranspose2d(w[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(w: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, w[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    for a, b in itertools.pairwise(w):
        layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(w[-1], 1, 4, 1, 0, bias=False))
    return nn.Sequential(*layers)


def gan_samples(g: nn.Module, n: int, nz: int, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, nz, 1, 1, generator=gen)
    with torch.no_grad():
        x = torch.cat([g(z[i : i + 256]) for i in range(0, n, 256)])
    return to_u8((x + 1) / 2)


def train_gan(
    g: nn.Module,
    d: nn.Module,
    cfg: dict[str, Any],
    train: list[np.ndarray],
    seed: int,
    steps: int,
    label: str = "dcgan",
) -> tuple[float, float]:
    """The DCGAN recipe (Adam, BCE with logits, 64x64 random photo crops in [-1, 1]) for
    ``steps`` steps; returns the last losses of D and G."""
    nz = cfg["nz"]
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]))
    bce = nn.BCEWithLogitsLoss()
    b = cfg["batch"]
    ones, zeros = torch.ones(b), torch.zeros(b)
    rng = np.random.default_rng([seed, 11])
    for step in range(1, steps + 1):
        real = to_tensor(random_crops(train, b, 64, rng)) * 2 - 1
        fake = g(torch.randn(b, nz, 1, 1))
        loss_d = bce(d(real).flatten(), ones) + bce(d(fake.detach()).flatten(), zeros)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = bce(d(fake).flatten(), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step % 100 == 0 or step == steps:
            log(f"{label}: step {step}/{steps} loss D {loss_d.item():.3f} G {loss_g.item():.3f}")
    return loss_d.item(), loss_g.item()


def run_dcgan(
    photos: dict[str, np.ndarray], cfg: dict[str, Any], seed: int, out: Path
) -> dict[str, Any]:
    train = [p for k, p in photos.items() if k not in EVAL_PHOTOS]
    evals = [photos[k] for k in EVAL_PHOTOS if k in photos]
    nz, steps = cfg["nz"], cfg["steps"]
    torch.manual_seed(seed + 31)
    g, d = generator(nz, cfg["g_widths"]), discriminator(cfg["d_widths"])
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    loss_d, loss_g = train_gan(g, d, cfg, train, seed, steps)
    g.eval()
    samples = gan_samples(g, cfg["n_samples"], nz, seed + 101)
    (out / "dcgan").mkdir()
    for i, img in enumerate(samples):
        save_png(out / "dcgan" / f"dcgan_{i:04d}.png", img)
    pattern = coherent_pattern(gan_samples(g, cfg["n_pattern"], nz, seed + 202), GAN_PERIODS)
    crops = random_crops(evals, cfg["n_photo64"], 64, np.random.default_rng([seed, 13]))
    (out / "photo64").mkdir()
    for i, img in enumerate(crops):
        save_png(out / "photo64" / f"photo64_{i:04d}.png", img)
    result = {
        "samples": "dcgan/",
        "n": len(samples),
        "fixed_pattern": pattern,
        "fixed_pattern_512": coherent_pattern(samples, GAN_PERIODS),
        "photo_reference": coherent_pattern(crops, GAN_PERIODS),
        "steps": steps,
        "n_pattern": cfg["n_pattern"],
        "final_loss_d": loss_d,
        "final_loss_g": loss_g,
    }
    log(f"dcgan: fixed pattern {json.dumps(pattern)}")
    return result


# ----------------------------------------------------------------------------------------------


def settings_for(quick: bool) -> dict[str, Any]:
    s = json.loads(json.dumps(DEFAULT_SETTINGS))
    s["quick"] = quick
    if quick:
        for part, over in QUICK_OVERRIDES.items():
            s[part].update(over)
    return s


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    ap.add_argument("--quick", action="store_true", help="tiny settings (smoke test, < 40 s)")
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = ap.parse_args(argv)
    out: Path = args.out
    settings = settings_for(args.quick)
    digest = settings_hash(settings)
    manifest_path = out / "manifest.json"
    if not args.force and manifest_path.exists():
        try:
            cached = json.loads(manifest_path.read_text()).get("settings_hash")
        except (OSError, ValueError):
            cached = None
        if cached == digest:
            log(f"cached: {manifest_path} (settings {digest}); --force to rebuild")
            return 0

    torch.set_num_threads(THREADS)
    torch.set_flush_denormal(True)  # denormals can slow CPU training many times over
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(settings["seed"])
    out.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    for sub in ("sr", "hr", "dcgan", "photo64"):
        shutil.rmtree(out / sub, ignore_errors=True)

    photos, skipped = load_photos()
    settings["photos"] = {
        "eval": [k for k in EVAL_PHOTOS if k in photos],
        "train": [k for k in photos if k not in EVAL_PHOTOS],
        "skipped": skipped,
    }
    log(f"{len(photos)} photos ({len(settings['photos']['train'])} train), skipped {skipped}")
    seed = settings["seed"]
    images, targets, losses = run_sr(photos, settings["sr"], seed, out)
    dcgan = run_dcgan(photos, settings["dcgan"], seed, out)
    manifest = {
        "settings": settings,
        "settings_hash": digest,
        "seconds": round(time.perf_counter() - _T0, 2),
        "images": images,
        "targets": targets,
        "dcgan": dcgan,
        "photo64": "photo64/",
        "losses": losses,
    }
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(manifest_path)
    log(f"wrote {len(images)} SR outputs, {len(targets)} targets, DCGAN; {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
