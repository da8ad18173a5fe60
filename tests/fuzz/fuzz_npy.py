"""Fuzz target ``npy``: :func:`cbdiag.weights.load_checkpoint` on a ``.npy`` file (one array,
header and data, read without pickle).

``python tests/fuzz/fuzz_npy.py [libFuzzer flags] [corpus dir | input file]``
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
instrument_modules(__name__, "numpy.lib._format_impl", "numpy.lib.format", "numpy.lib._npyio_impl")


def TestOneInput(data: bytes) -> None:
    path = scratch("checkpoint.npy", data)
    with contextlib.suppress(CbdiagError):
        weights.load_checkpoint(path)


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
