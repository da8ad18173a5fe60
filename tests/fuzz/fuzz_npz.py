"""Fuzz target ``npz``: :func:`cbdiag.weights.load_checkpoint` on a ``.npz`` file (a zip of
``.npy`` members, read without pickle).

``python tests/fuzz/fuzz_npz.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrument_modules, instrumented, scratch

with instrumented(__name__):
    from cbdiag import weights
    from cbdiag.errors import CbdiagError
# numpy's .npy header parser and .npz reader (instrumenting all of numpy costs ~15 s a start)
instrument_modules(
    __name__, "numpy.lib._format_impl", "numpy.lib.format", "numpy.lib._npyio_impl", "zipfile"
)


def TestOneInput(data: bytes) -> None:
    path = scratch("checkpoint.npz", data)
    with contextlib.suppress(CbdiagError):
        weights.load_checkpoint(path)


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
