"""Fuzz target ``wav``: :func:`cbdiag.audio.load_audio` on a ``.wav`` file (the RIFF header and
chunks, read by scipy's reader), then a score of what it read.

``python tests/fuzz/fuzz_wav.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrument_modules, instrumented, scratch

with instrumented(__name__):
    from cbdiag import audio
    from cbdiag.errors import CbdiagError
instrument_modules(__name__, "scipy.io.wavfile")


def TestOneInput(data: bytes) -> None:
    path = scratch("clip.wav", data)
    with contextlib.suppress(CbdiagError):
        clip = audio.load_audio(path)
        audio.score_audio(clip, stride="2x2")


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
