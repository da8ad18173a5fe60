"""Speed of the numpy generator against PyTorch CPU on the same architecture.

Same weights (built from the same seed), same inputs, same batch, same number of threads
(PyTorch is set to the number of threads numpy's BLAS uses). Each side runs in its own
process, so one library's idle worker threads do not steal the cores of the other; the two
processes alternate for ``--rounds`` rounds and the best time of each is kept. Outputs are
checked to agree first. Prints the time per batch and the ratio numpy / torch per upsampler.

Needs the ``bench`` extra (threadpoolctl) and torch:  pip install '.[bench,torch]'
Usage: python benchmarks/generate_speed.py [--size 64] [--width 64] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of  # noqa: E402

from cbdiag.generator import UPSAMPLERS, Generator, GeneratorConfig  # noqa: E402


def _blas_threads() -> tuple[int, str]:
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not blas:
        return 1, "unknown BLAS"
    return int(
        blas[0]["num_threads"]
    ), f"{blas[0].get('internal_api')} ({blas[0].get('architecture')})"


def worker(side: str, size: int, width: int, batch: int, repeat: int) -> None:
    """Time every upsampler on one side; print a JSON object of best times (seconds)."""
    threads, _ = _blas_threads()
    out: dict[str, float] = {}
    if side == "numpy":
        from cbdiag._malloc import keep_freed_memory

        keep_freed_memory()  # as `cbdiag generate` does
    if side == "torch":
        import torch

        from tests.test_generator import torch_forward  # the same network, in torch

        torch.set_num_threads(threads)
    for up in UPSAMPLERS:
        gen = Generator.build(GeneratorConfig(size=size, width=width, upsample=up), seed=0)
        x = gen.inputs(batch)
        if side == "torch":
            with torch.no_grad():
                best = best_of(lambda g=gen, x=x: torch_forward(torch, g, x), repeat)
        else:
            best = best_of(lambda g=gen, x=x: g.forward(x), repeat)
        out[up] = best
    print(json.dumps(out))


def check_agreement(size: int, width: int, batch: int) -> None:
    import torch

    from tests.test_generator import torch_forward

    for up in UPSAMPLERS:
        gen = Generator.build(GeneratorConfig(size=size, width=width, upsample=up), seed=0)
        x = gen.inputs(min(batch, 8))
        with torch.no_grad():
            np.testing.assert_allclose(
                gen.forward(x), torch_forward(torch, gen, x), atol=5e-4, rtol=1e-3
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--worker", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.size, args.width, args.batch, args.repeat)
        return
    import torch

    threads, blas = _blas_threads()
    check_agreement(args.size, args.width, args.batch)
    print(f"numpy BLAS: {blas}, {threads} threads; torch {torch.__version__}, {threads} threads")
    print(f"DCGAN-style generator {args.size}x{args.size}, width {args.width}, batch {args.batch}")
    best: dict[str, dict[str, float]] = {"numpy": {}, "torch": {}}
    for _ in range(args.rounds):
        for side in ("numpy", "torch"):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                side,
                "--size",
                str(args.size),
                "--width",
                str(args.width),
                "--batch",
                str(args.batch),
                "--repeat",
                str(args.repeat),
            ]
            res = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
            )
            for up, t in res.items():
                best[side][up] = min(t, best[side].get(up, float("inf")))
    ratios = []
    for up in UPSAMPLERS:
        t_np, t_t = best["numpy"][up], best["torch"][up]
        ratios.append(t_np / t_t)
        print(
            f"  {up:16s} numpy {t_np * 1e3:8.1f} ms   torch {t_t * 1e3:8.1f} ms   "
            f"ratio numpy/torch {t_np / t_t:5.2f}x"
        )
    print(f"geometric mean ratio numpy/torch: {float(np.exp(np.mean(np.log(ratios)))):.2f}x")


if __name__ == "__main__":
    main()
