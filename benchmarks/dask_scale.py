"""Throughput of ``cbdiag score`` on a Dask LocalCluster against ``--jobs`` on the same files,
and the client's memory for a listing of a million files.

1. Throughput: the same PNG files (1/f content, RGB) scored by ``score_many`` with ``jobs=1``,
   ``jobs=2``, a Dask cluster of 1 worker and one of 2 workers (started once before timing, as
   ``--dask local:1`` and ``local:2`` start them), rounds interleaved, medians. The ratio is Dask's
   images per second over ``--jobs``'s with as many workers; the per-image overhead is the
   difference of the seconds per image. At 256^2 and 1024^2.
2. What the client spends per image on the Dask path: its CPU seconds per row (taking results
   back, unpickling rows, the ordering) against the workers' seconds per image.
3. Client memory: ``cbdiag score --files-from LIST --dask ADDRESS --format json-lines -o FILE``
   in a fresh process for listings of 10 thousand, 100 thousand and 1 million paths, its peak
   resident memory (RSS, the client process alone: the scheduler and workers run in this
   script's cluster). The listed files do not exist, so each row is a cheap "no such file"
   error made on a worker: the run goes through the whole Dask path (batches submitted,
   results streamed back, rows written) at little cost per file.

Usage: python benchmarks/dask_scale.py [--rounds 5] [--million 1000000] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distributed import Client

from cbdiag.batch import score_many
from cbdiag.distributed import Cluster

ROOT = Path(__file__).resolve().parent.parent


def pink_rgb(n: int, rng: np.random.Generator) -> np.ndarray:
    f = np.fft.fftfreq(n).astype(np.float32)
    amp = 1.0 / np.maximum(np.hypot(f[:, None], f[None, :]), 1.0 / n)
    out = []
    for _ in range(3):
        x = np.fft.irfft2(amp[:, : n // 2 + 1] * np.exp(2j * np.pi * rng.random((n, n // 2 + 1))))
        out.append((x - x.min()) / (x.max() - x.min()) * 255)
    return np.clip(np.stack(out, -1), 0, 255).astype(np.uint8)


def make(folder: Path, side: int, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(side)
    base = [pink_rgb(side, rng) for _ in range(4)]
    paths = []
    for i in range(count):  # a few contents, each file its own (scored independently)
        p = folder / f"{i:05d}.png"
        img = base[i % 4].copy()
        img[0, 0] = i % 256
        Image.fromarray(img).save(p)
        paths.append(str(p))
    return paths


def run(paths: list[str], *, jobs: int = 1, client: Client | None = None) -> tuple[float, float]:
    """Wall seconds for the whole stream, and the client's CPU seconds."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = sum(1 for _ in score_many(paths, jobs=jobs, client=client, order="completion"))
    assert n == len(paths)
    return time.perf_counter() - t0, time.process_time() - c0


def throughput(side: int, count: int, rounds: int, clients: dict[int, Client]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = make(Path(tmp), side, count)
        configs = {
            "jobs 1": {"jobs": 1},
            "jobs 2": {"jobs": 2},
            "dask 1 worker": {"client": clients[1]},
            "dask 2 workers": {"client": clients[2]},
        }
        for cfg in configs.values():  # warm: page cache, worker imports
            run(paths[: min(8, count)], **cfg)  # type: ignore[arg-type]
        wall: dict[str, list[float]] = {k: [] for k in configs}
        cpu: dict[str, list[float]] = {k: [] for k in configs}
        for _ in range(rounds):
            for name, cfg in configs.items():
                w, c = run(paths, **cfg)  # type: ignore[arg-type]
                wall[name].append(w)
                cpu[name].append(c)
        med = {k: statistics.median(v) for k, v in wall.items()}
        print(f"\n{side}x{side}: {count} files, {rounds} rounds (medians)")
        for name in configs:
            rate = count / med[name]
            lo, hi = min(wall[name]), max(wall[name])
            print(f"  {name:15s} {rate:8.1f} images/s   (range {count / hi:.1f}-{count / lo:.1f})")
        for n in (1, 2):
            jobs, dask = med[f"jobs {n}"], med[f"dask {n} worker" + ("s" if n > 1 else "")]
            over = (dask - jobs) / count * 1e3
            print(
                f"  {n} worker{'s' * (n > 1)}: Dask throughput = {jobs / dask:.3f}x --jobs "
                f"{n}; overhead {over:+.2f} ms per image"
            )
        per = med["jobs 1"] / count * 1e3
        client_cpu = statistics.median(cpu["dask 2 workers"]) / count * 1e3
        print(
            f"  per image: {per:.2f} ms of scoring (jobs 1); the Dask client spends "
            f"{client_cpu:.2f} ms of CPU per row (2 workers)"
        )


CLIENT = """
import resource, sys
from cbdiag.cli import main
sys.argv = ["cbdiag", "score", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def memory(address: str, sizes: list[int]) -> None:
    print("\nclient memory (peak RSS of the client process), listings of missing files:")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in sizes:
            listing = Path(tmp) / f"list_{n}.txt"
            with listing.open("w") as fh:
                for i in range(n):
                    fh.write(
                        f"/nonexistent/shared/storage/run_{i // 1000:04d}/sample_{i:08d}.png\n"
                    )
            out = Path(tmp) / f"out_{n}.jsonl"
            t0 = time.perf_counter()
            p = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CLIENT,
                    "--files-from",
                    str(listing),
                    "--dask",
                    address,
                    "--format",
                    "json-lines",
                    "-o",
                    str(out),
                    "--no-progress",
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            wall = time.perf_counter() - t0
            peak = int(p.stderr.rsplit("PEAK", 1)[1]) / 1024
            lines = sum(1 for _ in out.open())
            assert lines == n + 1, (lines, n, p.stderr[-500:])
            rows.append((n, peak, wall))
            print(f"  {n:>9,} files: peak {peak:7.1f} MiB, {wall:6.1f} s, {lines - 1:,} rows")
            out.unlink()
        (n0, p0, _), (n1, p1, _) = rows[0], rows[-1]
        print(
            f"  growth from {n0:,} to {n1:,} files: {p1 - p0:.1f} MiB "
            f"({(p1 - p0) * 2**20 / (n1 - n0):.1f} bytes per listed file)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=int, default=400, help="files at 256^2")
    ap.add_argument("--large", type=int, default=40, help="files at 1024^2")
    ap.add_argument("--million", type=int, default=1_000_000)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}; workers are single-threaded processes, as --dask local:N")
    one, two = Cluster("local:1"), Cluster("local:2")  # what --dask local:N starts
    try:
        throughput(256, args.small, args.rounds, {1: one.client, 2: two.client})
        throughput(1024, args.large, args.rounds, {1: one.client, 2: two.client})
        one.close()
        if not args.skip_memory:
            sizes = sorted({10_000, 100_000, args.million})
            memory(two.cluster.scheduler_address, sizes)
    finally:
        two.close()


if __name__ == "__main__":
    main()
