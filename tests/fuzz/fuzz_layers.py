"""Fuzz target ``layers``: :func:`cbdiag.layers.parse_layers`, the parser of ``cbdiag overlap
--layers "..."`` (and ``parse_pair``, of ``--kernel 3x4`` / ``--input-size``), on text decoded
as command-line arguments are (UTF-8, undecodable bytes as surrogates), and the labels the
report prints of the parsed stack.

``python tests/fuzz/fuzz_layers.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented

with instrumented(__name__):
    from cbdiag import layers
    from cbdiag.errors import CbdiagError


def TestOneInput(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    with contextlib.suppress(CbdiagError):
        layers.parse_pair(text, "--kernel")
    try:
        stack = layers.parse_layers(text)
    except CbdiagError:
        return
    layers.stack_label(stack)
    for layer in stack:
        layer.describe()
        layer.as_dict()


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
