"""The stack rule's test of one transposed convolution's evenness (a closed form, no numpy)
against the overlap engine's map of that layer."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from cbdiag.layers import AxisOp, Layer
from cbdiag.lint.checks import _even_alone
from cbdiag.overlap import overlap_map

ROOT = Path(__file__).resolve().parents[2]


def test_even_alone_is_the_overlap_maps_verdict() -> None:
    axes = [
        AxisOp("deconv", kernel=k, stride=s, dilation=d, padding=p)
        for k, s, d, p in itertools.product(range(1, 9), range(1, 5), range(1, 4), (0, 1))
    ]
    checked = evens = 0
    for a in axes:
        for b in (axes[0], axes[37], axes[101], a):  # 1-D, and 2-D with other axes
            for layer in (Layer(a), Layer(b, a)):
                want = overlap_map([layer]).even
                assert _even_alone(layer) == want, layer.spec
                checked += 1
                evens += want
    assert checked > 1000 and 0 < evens < checked  # both verdicts occur


def test_a_tree_whose_stacks_are_even_is_linted_without_numpy() -> None:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from cbdiag.lint import lint_text\n"
        "src = 'import torch.nn as nn\\n"
        "up = nn.Sequential(nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ReLU(),"
        " nn.ConvTranspose2d(8, 8, 6, 3, 1))\\n'\n"
        "res = lint_text(src, 'net.py')\n"
        "assert res.violations == [], res.violations\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"], out
