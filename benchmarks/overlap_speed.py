"""Speed of ``cbdiag overlap`` on a 10-layer stack rendered at 4096 x 4096.

Prints, from one run on this machine:
  * cbdiag: overlap_map() + the 4096^2 map (to_array), the work behind ``cbdiag overlap``;
  * floor: writing a 4096^2 float64 outer product (the unavoidable cost of the map itself);
  * naive: the same stack computed by 2-D brute force (per-tap strided scatter for the
    transposed convolutions, scipy.ndimage for the stride-1 convolutions), the way one would
    compute it without the per-axis factorisation.
Ratios are what to quote; absolute times are shown for the "well under a second" target.

Usage: python benchmarks/overlap_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of

from cbdiag import overlap_map, parse_layers
from cbdiag.layers import Layer

STACK = "4x deconv k3 s2 p1 op1, conv k7 p3 reflect, 4x deconv k3 s2 p1 op1, conv k3 p1"
INPUT = 16  # 16 * 2**8 = 4096


def naive_2d(layers: list[Layer], n: int) -> np.ndarray:
    x = np.ones((n, n))
    for layer in layers:
        a = layer.y
        if layer.kind == "deconv":
            h, w = x.shape
            full = (h - 1) * a.stride + a.dilation * (a.kernel - 1) + 1
            y = np.zeros((full + a.output_padding, full + a.output_padding))
            for i in range(a.kernel):
                for j in range(a.kernel):
                    r0, c0 = i * a.dilation, j * a.dilation
                    y[
                        r0 : r0 + (h - 1) * a.stride + 1 : a.stride,
                        c0 : c0 + (w - 1) * a.stride + 1 : a.stride,
                    ] += x
            end = full - a.padding + a.output_padding
            x = y[a.padding : end, a.padding : end]
        else:  # stride-1 conv, all-ones kernel; PyTorch reflect = ndimage "mirror"
            mode = "mirror" if a.padding_mode == "reflect" else "constant"
            x = ndimage.correlate(x, np.ones((a.kernel, a.kernel)), mode=mode, cval=0.0)
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    layers = parse_layers(STACK)

    def ours() -> np.ndarray:
        return overlap_map(layers, INPUT).to_array()

    m = ours()
    ref = naive_2d(layers, INPUT)
    assert m.shape == (4096, 4096), m.shape
    np.testing.assert_array_equal(m, ref)  # same map, or the comparison means nothing

    v = np.ones(4096)
    t_floor = best_of(lambda: np.outer(v, v), args.repeat)
    t_ours = best_of(ours, args.repeat)
    t_naive = best_of(lambda: naive_2d(layers, INPUT), max(1, args.repeat // 2))
    print(f"stack: {STACK}  (input {INPUT}x{INPUT} -> map {m.shape[0]}x{m.shape[1]})")
    print(f"  cbdiag overlap_map + 4096^2 map : {t_ours * 1e3:8.1f} ms")
    print(f"  floor: 4096^2 outer product     : {t_floor * 1e3:8.1f} ms")
    print(f"  naive 2-D brute force           : {t_naive * 1e3:8.1f} ms")
    print(f"ratio cbdiag / floor : {t_ours / t_floor:6.2f}x")
    print(f"ratio naive / cbdiag : {t_naive / t_ours:6.2f}x faster than 2-D brute force")
    t_stats = best_of(lambda: overlap_map(layers, INPUT), args.repeat)
    print(f"ratio statistics only (no 2-D map) / floor : {t_stats / t_floor:6.2f}x")


if __name__ == "__main__":
    main()
