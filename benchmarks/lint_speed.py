"""Speed of ``cbdiag lint`` over a large generated tree against the floor of ``ast.parse``.

Builds a tree of ``--files`` Python files (default 2,000) from the sample generator sources
and synthetic model code of a few hundred lines each, then times in the same run:
  * the floor: read every file and ``ast.parse`` it;
  * ``lint_paths`` (one process),
the two taking turns in each round (floor first in odd rounds, lint first in even ones).
Prints the median of the per-round ratios to the floor, their quartiles and range, and
checks the findings are the same with ``--jobs`` (accepted, one process).

With ``--tree DIR`` an existing tree is linted instead (for example the installed torch
package's sources, ``--tree DIR`` with DIR the folder of ``torch.__file__``);
the floor then skips files that do not parse, as lint reports them.

With ``--cpu`` the times are the process's CPU time (lint runs in one process, on one
thread at a time) rather than wall time: a machine busy with other work then shifts the
ratio less.

With ``--fresh`` each round runs the floor and lint each in a new interpreter (the time taken
inside it, imports left out), as a user's one lint runs: the memory the analysis keeps is
then mapped for the first time (page faults the in-process rounds, after the first, no longer
pay).

With ``--memory`` the peak RSS of one lint of the tree is printed too, against that of one
floor pass, each in a fresh interpreter (the analysis keeps the skeleton trees of each group
of files that may reach one another until the group is done, all of them when every file is
one group; the floor frees each tree before the next file).

Usage: python benchmarks/lint_speed.py [--files 2000] [--repeat 5] [--tree DIR] [--cpu]
       [--fresh] [--memory]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved  # noqa: E402

from cbdiag.lint import iter_files, lint_paths  # noqa: E402

BLOCK = '''
class Block{i}(nn.Module):
    """A residual block with an upsampler ({i})."""

    def __init__(self, channels={c}):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm = nn.BatchNorm2d(channels)
        self.up = nn.ConvTranspose2d(channels, channels // 2, {k}, 2, padding=1)
        self.skip = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        y = torch.relu(self.norm(self.conv1(x)))
        values = [v * 2 for v in range({i} % 7 + 3)]
        if sum(values) > {c}:
            y = y + 1
        return self.up(y) + self.skip(x)[:, : y.shape[1] // 2]
'''


def make_tree(root: Path, n: int) -> None:
    rng = random.Random(0)
    samples = [p.read_text() for p in sorted((ROOT / "samples" / "models").glob("*.py"))]
    for i in range(n):
        d = root / f"pkg{i % 40}"
        d.mkdir(exist_ok=True)
        if i % 5 == 0:
            text = samples[i % len(samples)]
        else:
            head = "import torch\nimport torch.nn as nn\n"
            blocks = [
                BLOCK.format(i=j, c=rng.choice([32, 64, 128]), k=rng.choice([3, 4, 5]))
                for j in range(rng.randint(4, 12))
            ]
            text = head + "".join(blocks)
        (d / f"mod{i}.py").write_text(text)


def floor(root: Path) -> int:
    n = 0
    for path, _ in iter_files([root], ()):
        with contextlib.suppress(SyntaxError, ValueError):
            ast.parse(Path(path).read_bytes(), filename=path)
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--tree", type=Path, default=None)
    ap.add_argument("--cpu", action="store_true", help="CPU time of the process, not wall time")
    ap.add_argument("--memory", action="store_true", help="peak RSS of lint and of the floor")
    ap.add_argument("--fresh", action="store_true", help="each run in a new interpreter")
    args = ap.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    if args.tree is not None:
        root = args.tree
        n = floor(root)
        res = lint_paths([root], exclude=())
        times = (
            fresh_times(root, "tree", args.repeat, args.cpu)
            if args.fresh
            else interleaved(
                {"floor": lambda: floor(root), "lint": lambda: lint_paths([root], exclude=())},
                args.repeat,
                clock,
                alternate=True,
            )
        )
        print(
            f"{root}: {n} files, {len(res.violations)} findings, {len(res.unresolved)} unresolved"
        )
        report(times, args.fresh)
        if args.memory:
            memory(root)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tree(root, args.files)
        lines = sum(p.read_text().count("\n") for p in root.rglob("*.py"))
        one = lint_paths([root])
        many = lint_paths([root], jobs=args.jobs)
        assert one.violations == many.violations and one.files == args.files
        times = (
            fresh_times(root, "lint", args.repeat, args.cpu)
            if args.fresh
            else interleaved(
                {"floor": lambda: floor(root), "lint": lambda: lint_paths([root])},
                args.repeat,
                clock,
                alternate=True,
            )
        )
        print(f"{args.files} files, {lines} lines, {len(one.violations)} findings")
        report(times, args.fresh)
        if args.memory:
            memory(root)
        skeleton_share(root, args.repeat, clock)


_FRESH = """
import sys, time
sys.path[:0] = [{root!r}, {bench!r}]
from pathlib import Path
import lint_speed
from cbdiag.lint import lint_paths
tree = Path({tree!r})
clock = time.process_time if {cpu!r} else time.perf_counter
t0 = clock()
if {mode!r} == "floor":
    lint_speed.floor(tree)
else:
    lint_paths([tree], exclude=()) if {mode!r} == "tree" else lint_paths([tree])
print(clock() - t0)
"""


def fresh_times(tree: Path, lint_mode: str, rounds: int, cpu: bool) -> dict[str, list[float]]:
    """Times of the floor and of lint over ``tree``, each run in a new interpreter and timed
    inside it (imports left out), taking turns (which goes first alternates), after one
    floor pass that warms the file cache. ``lint_mode``: "tree" lints with no excludes."""

    def run(mode: str) -> float:
        code = _FRESH.format(
            root=str(ROOT), bench=str(Path(__file__).resolve().parent), tree=str(tree),
            mode=mode, cpu=cpu,
        )  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        return float(out.split()[-1])

    run("floor")
    times: dict[str, list[float]] = {"floor": [], "lint": []}
    for r in range(rounds):
        for name in ("lint", "floor") if r % 2 else ("floor", "lint"):
            times[name].append(run(name if name == "floor" else lint_mode))
    return times


_PEAK = """
import resource, sys
sys.path[:0] = [{root!r}, {bench!r}]
from pathlib import Path
import lint_speed
from cbdiag.lint import lint_paths
tree = Path({tree!r})
lint_speed.floor(tree) if {mode!r} == "floor" else lint_paths([tree])
try:  # (the peak of this process's own memory: ru_maxrss may carry the parent's over exec)
    with open("/proc/self/status") as f:
        print(next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")))
except (OSError, StopIteration):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(tree: Path) -> None:
    """Peak RSS of one floor pass and of one lint over ``tree``, each in a fresh process (the
    interpreter and its imports included in both)."""
    peaks = {}
    for mode in ("floor", "lint"):
        code = _PEAK.format(
            root=str(ROOT), bench=str(Path(__file__).resolve().parent), tree=str(tree), mode=mode
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        peaks[mode] = int(out.split()[-1]) / 1024  # (KiB on Linux)
    print(
        f"  peak RSS: floor {peaks['floor']:6.1f} MiB, lint {peaks['lint']:6.1f} MiB "
        f"(one pass each, a fresh process)"
    )


def skeleton_share(root: Path, rounds: int, clock: Callable[[], float]) -> None:
    """The skeleton parse (its text scan included) against ``ast.parse`` of the same files."""
    from cbdiag.lint import skeleton
    from cbdiag.lint.engine import candidate_lines

    items = [(p, Path(p).read_text()) for p, _ in iter_files([root], ())]
    items = [(p, s, candidate_lines(s)) for p, s in items]
    times = interleaved(
        {
            "whole": lambda: [ast.parse(s, filename=p) for p, s, _ in items],
            "skeleton": lambda: [skeleton.parse(s, p, k, print) for p, s, k in items],
        },
        rounds,
        clock,
    )
    ratios = sorted(a / b for a, b in zip(times["skeleton"], times["whole"], strict=True))
    print(
        f"  skeleton parse / ast.parse  {statistics.median(ratios):5.2f}   (bodies left out "
        f"of the first parse; range {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )


def report(times: dict[str, list[float]], fresh: bool = False) -> None:
    """Median times and the median of the per-round ratios (rounds interleaved)."""
    ratios = sorted(a / b for a, b in zip(times["lint"], times["floor"], strict=True))
    print(f"  floor (read + ast.parse)   {statistics.median(times['floor']) * 1e3:8.0f} ms")
    # (the quartiles say more about a noisy machine than the extremes do)
    many = len(ratios) > 1
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive") if many else ratios * 3
    print(
        f"  cbdiag lint, 1 process     {statistics.median(times['lint']) * 1e3:8.0f} ms   "
        f"ratio {statistics.median(ratios):5.2f}x (median of {len(ratios)} interleaved rounds; "
        f"quartiles {q1:.2f}-{q3:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f})"
        + (", each run in a new interpreter" if fresh else "")
    )


if __name__ == "__main__":
    main()
