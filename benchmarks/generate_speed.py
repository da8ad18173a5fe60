"""Speed of the numpy generator against PyTorch CPU on the same architecture.

Same weights, same inputs, same batch, same number of threads (PyTorch is set to the number
of threads numpy's BLAS uses); outputs are checked to agree before timing. Prints the median
time per batch of each and the ratio numpy / torch for every upsampler.

Needs the ``bench`` extra (threadpoolctl) and torch:  pip install '.[bench,torch]'
Usage: python benchmarks/generate_speed.py [--size 64] [--width 64] [--batch 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info

from cbdiag.generator import UPSAMPLERS, Generator, GeneratorConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_generator import torch_forward  # the same network, in torch


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    threads = int(blas[0]["num_threads"]) if blas else 1
    torch.set_num_threads(threads)
    print(
        f"numpy BLAS: {blas[0].get('internal_api') if blas else '?'} "
        f"({blas[0].get('architecture') if blas else '?'}), {threads} threads; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"DCGAN-style generator {args.size}x{args.size}, width {args.width}, batch {args.batch}")
    ratios = []
    for up in UPSAMPLERS:
        cfg = GeneratorConfig(size=args.size, width=args.width, upsample=up)
        gen = Generator.build(cfg, seed=0)
        x = gen.inputs(args.batch)
        ours, ref = gen.forward(x), torch_forward(torch, gen, x)
        np.testing.assert_allclose(ours, ref, atol=5e-4, rtol=1e-3)
        with torch.no_grad():
            t_np = median_time(lambda g=gen, x=x: g.forward(x), args.repeat)
            t_t = median_time(lambda g=gen, x=x: torch_forward(torch, g, x), args.repeat)
        ratios.append(t_np / t_t)
        print(
            f"  {up:16s} numpy {t_np * 1e3:8.1f} ms   torch {t_t * 1e3:8.1f} ms   "
            f"ratio numpy/torch {t_np / t_t:5.2f}x"
        )
    print(f"geometric mean ratio numpy/torch: {float(np.exp(np.mean(np.log(ratios)))):.2f}x")


if __name__ == "__main__":
    main()
