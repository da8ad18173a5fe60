"""What cbdiag reads from model files, against what really trained generators paint.

Trains two small DCGANs (64x64 RGB, scikit-image's photos, the settings of
``real_models_data.py``'s DCGAN) with PyTorch on the CPU: the tutorial layout (``k4 s2 p1``) and
the same with ``k3 s2 p1 op1`` transposed convolutions. At initialisation and after training each
generator is saved the ways users have it: a bare ``state_dict`` (``.pth``) with the module's
source (``models.py``, written here; read by ``inspect --source`` statically) and an ONNX export.
Then, per snapshot:

* ground truth: the fixed pattern of the generator, the per-phase RMS amplitude (grey levels,
  s = 2..16) of the 5x5 residual of the mean of 4096 samples (``real_models_data``'s
  definition, on the float outputs before rounding: content averages out, the fixed pattern
  stays);
* ``inspect --source`` on the state dict: how many layers are "imbalanced", and the output
  verdict (the response through the whole linear path);
* ``inspect model.onnx``: the same output from the graph (must agree);
* ``probe model.onnx``: the constant-input and pooled-latent amplitudes (onnxruntime).

Prints one row per snapshot and the ratios probe / ground truth. Takes about 2 minutes.

Needs torch, scikit-image, onnx and onnxruntime:  pip install '.[bench,torch,probe]'
Usage: python benchmarks/model_files.py [--steps 300] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import real_models_data as rmd  # noqa: E402

from cbdiag.probe import probe_model  # noqa: E402
from cbdiag.weights import inspect_weights  # noqa: E402

SOURCE = '''
import torch.nn as nn

nz = 100
widths = [128, 64, 32, 16]


class Generator(nn.Module):
    """DCGAN generator, the PyTorch tutorial's layout, kernel K, stride 2."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
            nn.ConvTranspose2d(widths[0], widths[1], KERNEL, bias=False),
            nn.BatchNorm2d(widths[1]),
            nn.ReLU(True),
            nn.ConvTranspose2d(widths[1], widths[2], KERNEL, bias=False),
            nn.BatchNorm2d(widths[2]),
            nn.ReLU(True),
            nn.ConvTranspose2d(widths[2], widths[3], KERNEL, bias=False),
            nn.BatchNorm2d(widths[3]),
            nn.ReLU(True),
            nn.ConvTranspose2d(widths[3], 3, KERNEL, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)
'''
ARCHS = {
    "k4s2": "4, 2, 1",
    "k3s2": "3, 2, 1, 1",
}


def generator(arch: str) -> nn.Module:
    ns: dict[str, Any] = {}
    exec(compile(SOURCE.replace("KERNEL", ARCHS[arch]), "models.py", "exec"), ns)
    return ns["Generator"]()


def train(arch: str, steps: int, seed: int, photos: list[np.ndarray]) -> list[tuple[str, Any]]:
    cfg = rmd.DEFAULT_SETTINGS["dcgan"]
    torch.manual_seed(seed)
    g = generator(arch)
    g.apply(rmd.dcgan_init)
    d = rmd.discriminator(cfg["d_widths"])
    d.apply(rmd.dcgan_init)
    snaps = [("init", {k: v.clone() for k, v in g.state_dict().items()})]
    rmd.train_gan(g, d, cfg, photos, seed, steps, label=arch)
    snaps.append((f"step {steps}", {k: v.clone() for k, v in g.state_dict().items()}))
    return snaps


def measure(arch: str, name: str, state: dict[str, Any], work: Path) -> dict[str, Any]:
    g = generator(arch)
    g.load_state_dict(state)
    g.eval()
    # ground truth: the fixed pattern of 4096 samples, in grey levels before any rounding (a
    # sub-grey-level pattern rounded to 8 bits would be measured as the rounding's)
    gen = torch.Generator().manual_seed(202)
    z = torch.randn(4096, 100, 1, 1, generator=gen)
    with torch.no_grad():
        mean = torch.cat([g(z[i : i + 256]) for i in range(0, 4096, 256)]).mean(dim=0)
    grey = ((mean.clamp(-1, 1) + 1) / 2 * 255).permute(1, 2, 0).numpy().astype(np.float64)
    r = rmd.residual(rmd.luminance(grey))
    gt = {str(s): rmd.phase_rms(r, s) for s in rmd.GAN_PERIODS}
    folder = work / f"{arch}_{name.replace(' ', '')}"
    folder.mkdir()
    (folder / "models.py").write_text(SOURCE.replace("KERNEL", ARCHS[arch]))
    torch.save(g.state_dict(), folder / "netG.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            g, torch.ones(1, 100, 1, 1), str(folder / "netG.onnx"), dynamo=False,
            input_names=["z"], output_names=["image"],
        )  # fmt: skip
    src = inspect_weights(folder / "netG.pth", allow_pickle=True, model_source=folder / "models.py")
    graph = inspect_weights(folder / "netG.onnx")
    pr = probe_model(folder / "netG.onnx", samples=64, seed=0)
    rows = {r.name: r for r in pr.rows}
    return {
        "arch": arch,
        "snapshot": name,
        "gt": gt,
        "gt_max": max(gt.values()),
        "layers_imbalanced": sum(1 for r in src.layers if r.verdict == "imbalanced"),
        "layers": len(src.layers),
        "layer_imbalances": [round(r.imbalance, 3) for r in src.layers],
        "output_source": src.chain,
        "output_graph": graph.chain,
        "probe_constant": rows["constant"].amplitude,
        "probe_latent": rows["latent"].amplitude,
        "probe_latent_flagged": rows["latent"].flagged,
        "probe_period": rows["latent"].period,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(rmd.THREADS)
    torch.set_flush_denormal(True)
    photos, _ = rmd.load_photos()
    train_photos = [p for k, p in photos.items() if k not in rmd.EVAL_PHOTOS]
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ARCHS:
            for name, state in train(arch, args.steps, args.seed, train_photos):
                results.append(measure(arch, name, state, Path(tmp)))
                rmd.log(f"{arch} {name}: measured")
    print(
        f"{'generator':<16} {'fixed pattern':>13} {'imbalanced':>10} {'output imb.':>11} "
        f"{'graph = src':>11} {'probe const':>11} {'probe pooled':>12} {'pooled / gt':>11}"
    )
    for r in results:
        a, b = r["output_source"], r["output_graph"]
        agree = (
            a is not None
            and b is not None
            and np.isclose(a["imbalance"], b["imbalance"], rtol=1e-4)
        )
        print(
            f"{r['arch'] + ' ' + r['snapshot']:<16} {r['gt_max']:>13.3f} "
            f"{r['layers_imbalanced']:>5}/{r['layers']:<4} {a['imbalance']:>11.4g} "
            f"{'yes' if agree else 'NO':>11} {r['probe_constant']:>11.3f} "
            f"{r['probe_latent']:>12.3f} {r['probe_latent'] / max(r['gt_max'], 1e-9):>11.2f}"
        )
    print(
        "fixed pattern: max over s = 2..16 of the per-phase RMS (grey levels) of the 5x5 "
        "residual of the mean of 4096 samples; probe pooled: 64 latents, cbdiag's detector; "
        f"{time.perf_counter() - t0:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
