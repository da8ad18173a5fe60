"""Fuzz target ``image``: :func:`cbdiag.images.load_image`, the loader of ``cbdiag score``
(Pillow with the decompression-bomb guard on), and the pixel access scoring does next.

``python tests/fuzz/fuzz_image.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented, scratch

with instrumented(__name__, "PIL"):
    from cbdiag import images
    from cbdiag.errors import CbdiagError

#: Images up to this many pixels are also converted whole (as ``score`` does for small ones).
WHOLE_PIXELS = 1 << 16


def TestOneInput(data: bytes) -> None:
    path = scratch("input.img", data)
    try:
        img = images.load_image(path)
        h, w = img.shape
        img.rows(0, min(h, 4))
        if h * w <= WHOLE_PIXELS:
            img.pixels  # noqa: B018 - the property converts the image
    except CbdiagError:
        pass


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
