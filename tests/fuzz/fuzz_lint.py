"""Fuzz target ``lint``: :func:`cbdiag.lint.engine.check_source`, the lint engine on one
source text (parsed with ``ast``, never run), decoded from bytes as ``cbdiag lint`` reads a
file (:func:`cbdiag.lint.decode`: BOM and ``# coding:`` honoured). A text that starts with
``{`` is linted as a notebook (``.ipynb``, decoded as UTF-8).

``python tests/fuzz/fuzz_lint.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented

with instrumented(__name__):
    from cbdiag import lint
    from cbdiag.errors import CbdiagError
    from cbdiag.lint import engine


def TestOneInput(data: bytes) -> None:
    if data.lstrip().startswith(b"{"):
        path = "fuzz.ipynb"
        try:
            text: str | None = data.decode("utf-8-sig")
        except UnicodeDecodeError:  # cbdiag reports it as unreadable (CBD902)
            return
    else:
        path = "fuzz.py"
        text, _problem = lint.decode(data)
    if text is None:
        return
    with contextlib.suppress(CbdiagError):
        engine.check_source(text, path)


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
