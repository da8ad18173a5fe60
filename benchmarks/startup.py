"""Start-up cost of the ``cbdiag`` command against ``python -c pass`` (the interpreter's own).

Every command runs as a fresh process of the same interpreter, the commands taking turns in each
round (``_timing.interleaved``), and the ratio of each to ``python -c pass`` is taken per round;
the median over rounds is printed. The ``cbdiag`` console script beside the interpreter is run
when there is one (as a user runs it; ``python -m cbdiag`` also imports runpy). The package's
modules are byte-compiled first, as an installed package's are (``PYTHONDONTWRITEBYTECODE``
would otherwise make every run compile).

Commands timed:
  * ``cbdiag --version`` (target: at most 3x);
  * ``cbdiag lint one_file.py`` on a model file with one transposed convolution (a
    pre-commit run on one changed file; target: at most 4x);
  * ``cbdiag lint`` on a file with a stack of transposed convolutions (CBD104's combined ratio,
    from the periodic model of the map's interior: no numpy);
  * ``cbdiag --help`` and ``cbdiag overlap --kernel 3 --stride 2`` (numpy, no scipy), for scale.

Usage: python benchmarks/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved  # noqa: E402

ONE = """import torch.nn as nn


class Up(nn.Module):
    def __init__(self, cin=64, cout=32):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, kernel_size=3, stride=2, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.up(x))
"""

STACK = """import torch.nn as nn

decoder = nn.Sequential(
    nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1),
    nn.ReLU(),
    nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1),
    nn.ReLU(),
    nn.Conv2d(64, 3, 7, padding=3),
)
"""

TARGETS = {"--version": 3.0, "lint one_file.py": 4.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    import cbdiag

    compileall.compile_dir(str(Path(cbdiag.__file__).parent), quiet=1)
    py = sys.executable
    script = Path(py).with_name("cbdiag")  # the console script an install puts beside python
    cb = [str(script)] if script.exists() else [py, "-m", "cbdiag"]
    with tempfile.TemporaryDirectory() as tmp:
        one, stack = Path(tmp, "one.py"), Path(tmp, "stack.py")
        one.write_text(ONE)
        stack.write_text(STACK)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "--version": [*cb, "--version"],
            "lint one_file.py": [*cb, "lint", str(one)],
            "lint stack.py (CBD104)": [*cb, "lint", str(stack)],
            "--help": [*cb, "--help"],
            "overlap --kernel 3 --stride 2": [*cb, "overlap", "-k", "3", "-s", "2"],
        }
        for name, cmd in commands.items():  # each must run as a user sees it
            p = subprocess.run(cmd, capture_output=True, text=True)
            want = 1 if name.startswith("lint") else 0
            if p.returncode != want:
                print(f"{name}: exit {p.returncode}, expected {want}\n{p.stderr}")
                return 2

        def run(cmd: list[str]) -> object:
            return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        fns = {name: (lambda cmd=cmd: run(cmd)) for name, cmd in commands.items()}
        times = interleaved(fns, args.rounds)
    base = times["python -c pass"]
    print(
        f"start-up of {' '.join(cb)} against `python -c pass`, median of {args.rounds} "
        "interleaved rounds"
    )
    status = 0
    for name in commands:
        if name == "python -c pass":
            continue
        ratio = statistics.median(t / b for t, b in zip(times[name], base, strict=True))
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = ratio <= target
            verdict = f"  (target <= {target:g}x: {'met' if ok else 'MISSED'})"
            status |= 0 if ok else 1
        print(f"  cbdiag {name:<32} {ratio:5.2f}x{verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
