"""Fuzz target ``onnx``: :func:`cbdiag.graph.read_model` on an ONNX file and what the commands
do with the model next: the external-data check (``probe``), the image path (``overlap
--model``, ``inspect``), its overlap map at the graph's declared input size and
:func:`cbdiag.graph.inspect_graph` (``inspect model.onnx``). Needs the onnx package.

``python tests/fuzz/fuzz_onnx.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented, scratch

with instrumented(__name__):
    from cbdiag import graph, overlap
    from cbdiag.errors import CbdiagError


def TestOneInput(data: bytes) -> None:
    path = scratch("model.onnx", data)
    try:
        model = graph.read_model(path)
    except CbdiagError:
        return
    with contextlib.suppress(CbdiagError):
        graph.check_external(model)
    try:
        gp = graph.image_path(model)
    except CbdiagError:
        return
    if gp.input_size is not None and gp.layers:  # what `overlap --model` draws
        with contextlib.suppress(CbdiagError):
            if gp.linear:
                overlap.overlap_map([n.layer for n in gp.layers if n.layer], gp.input_size)
            else:
                graph.merged_map(gp, gp.input_size)
    with contextlib.suppress(CbdiagError):
        graph.inspect_graph(model, gp)


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
