"""Fuzz target ``safetensors``: :func:`cbdiag.weights.read_safetensors` (the 8-byte header
length, the JSON header and the buffer, parsed and bounds-checked by cbdiag).

``python tests/fuzz/fuzz_safetensors.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented, scratch

with instrumented(__name__, "json"):
    from cbdiag import weights
    from cbdiag.errors import CbdiagError


def TestOneInput(data: bytes) -> None:
    path = scratch("checkpoint.safetensors", data)
    with contextlib.suppress(CbdiagError):
        weights.read_safetensors(path)


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
