"""Independent brute-force references: naive loops over pixels, written from the framework
definitions, sharing no code with cbdiag's per-axis engine."""

from __future__ import annotations

import math

Grid = list[list[float]]


def ones(h: int, w: int) -> Grid:
    return [[1.0] * w for _ in range(h)]


def conv_transpose2d(
    x: Grid,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int] = (0, 0),
    op: tuple[int, int] = (0, 0),
    d: tuple[int, int] = (1, 1),
) -> Grid:
    """PyTorch ConvTranspose2d with an all-ones kernel: every input pixel paints its window."""
    h, w = len(x), len(x[0])
    ho = (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
    wo = (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1
    y = [[0.0] * wo for _ in range(ho)]
    for i in range(h):
        for j in range(w):
            for a in range(k[0]):
                for b in range(k[1]):
                    r = i * s[0] + a * d[0] - p[0]
                    c = j * s[1] + b * d[1] - p[1]
                    if 0 <= r < ho and 0 <= c < wo:
                        y[r][c] += x[i][j]
    return y


def tf_conv_transpose2d(x: Grid, k: tuple[int, int], s: tuple[int, int], padding: str) -> Grid:
    """TensorFlow conv2d_transpose as the adjoint of conv2d(padding) on the output shape.

    Keras infers the output length ``I*s`` ('same') or ``I*s + max(k-s, 0)`` ('valid'); the
    forward conv on that length pads ``max((ceil(O/s)-1)*s + k - O, 0)`` in total, the smaller
    half first. The transpose scatters what the forward conv gathers.
    """
    h, w = len(x), len(x[0])
    out = []
    for n, kk, ss in ((h, k[0], s[0]), (w, k[1], s[1])):
        if padding == "same":
            o = n * ss
            before = max((math.ceil(o / ss) - 1) * ss + kk - o, 0) // 2
        else:
            o = n * ss + max(kk - ss, 0)
            before = 0
        out.append((o, before))
    (ho, bh), (wo, bw) = out
    y = [[0.0] * wo for _ in range(ho)]
    # forward conv: output (i, j) reads input (i*s - before + a, j*s - before + b)
    for i in range(h):
        for j in range(w):
            for a in range(k[0]):
                for b in range(k[1]):
                    r, c = i * s[0] - bh + a, j * s[1] - bw + b
                    if 0 <= r < ho and 0 <= c < wo:
                        y[r][c] += x[i][j]
    return y


def _pad_index(i: int, n: int, mode: str) -> int | None:
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    # reflect (edge not repeated)
    return -i if i < 0 else 2 * (n - 1) - i


def conv2d(
    x: Grid,
    k: tuple[int, int],
    s: tuple[int, int] = (1, 1),
    p: tuple[int, int] = (0, 0),
    d: tuple[int, int] = (1, 1),
    mode: str = "zeros",
    taps: tuple[list[float], list[float]] | None = None,
    pads: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> Grid:
    """Convolution (cross-correlation) with an all-ones kernel, or separable ``taps``."""
    h, w = len(x), len(x[0])
    (pt, pb), (pl, pr) = pads if pads else ((p[0], p[0]), (p[1], p[1]))
    ho = (h + pt + pb - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + pl + pr - d[1] * (k[1] - 1) - 1) // s[1] + 1
    ty, tx = taps if taps else ([1.0] * k[0], [1.0] * k[1])
    y = [[0.0] * wo for _ in range(ho)]
    for i in range(ho):
        for j in range(wo):
            acc = 0.0
            for a in range(k[0]):
                for b in range(k[1]):
                    r = _pad_index(i * s[0] - pt + a * d[0], h, mode)
                    c = _pad_index(j * s[1] - pl + b * d[1], w, mode)
                    if r is not None and c is not None:
                        acc += ty[a] * tx[b] * x[r][c]
            y[i][j] = acc
    return y


def conv2d_input_gradient(
    h: int,
    w: int,
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int] = (0, 0),
    d: tuple[int, int] = (1, 1),
) -> Grid:
    """How many (output pixel, tap) pairs of a zero-padded all-ones conv read each input pixel."""
    ho = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    g = [[0.0] * w for _ in range(h)]
    for i in range(ho):
        for j in range(wo):
            for a in range(k[0]):
                for b in range(k[1]):
                    r, c = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                    if 0 <= r < h and 0 <= c < w:
                        g[r][c] += 1.0
    return g


def nearest(x: Grid, f: tuple[int, int]) -> Grid:
    return [
        [x[i // f[0]][j // f[1]] for j in range(len(x[0]) * f[1])] for i in range(len(x) * f[0])
    ]


def _bilinear_src(o: int, f: int, n: int) -> tuple[int, int, float]:
    src = max((o + 0.5) / f - 0.5, 0.0)
    i0 = min(math.floor(src), n - 1)
    i1 = min(i0 + 1, n - 1)
    return i0, i1, src - i0


def bilinear(x: Grid, f: tuple[int, int]) -> Grid:
    h, w = len(x), len(x[0])
    y = [[0.0] * (w * f[1]) for _ in range(h * f[0])]
    for i in range(h * f[0]):
        a0, a1, la = _bilinear_src(i, f[0], h)
        for j in range(w * f[1]):
            b0, b1, lb = _bilinear_src(j, f[1], w)
            y[i][j] = (
                (1 - la) * (1 - lb) * x[a0][b0]
                + (1 - la) * lb * x[a0][b1]
                + la * (1 - lb) * x[a1][b0]
                + la * lb * x[a1][b1]
            )
    return y


def binomial(n: int) -> list[float]:
    row = [float(math.comb(n - 1, j)) for j in range(n)]
    return [v / sum(row) for v in row]


def period_of(seq: list[float]) -> int:
    for p in range(1, len(seq) + 1):
        if all(abs(seq[i] - seq[i % p]) < 1e-9 for i in range(len(seq))):
            return p
    return len(seq)
