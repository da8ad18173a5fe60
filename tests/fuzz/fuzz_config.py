"""Fuzz target ``config``: :func:`cbdiag.lint.load_config`, the ``[tool.cbdiag]`` /
``[tool.cbdiag.lint]`` reader of the nearest ``pyproject.toml``, and what ``cbdiag lint``
does with the configuration next: the output format, the rule selection
(:func:`cbdiag.lint.select_codes`) and the exclude patterns.

``python tests/fuzz/fuzz_config.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented, scratch_dir

with instrumented(__name__, "tomllib", "fnmatch"):
    from cbdiag import lint
    from cbdiag.errors import CbdiagError

#: A path that the exclude patterns are matched against.
PROBE = Path("src/models/generator.py")


def _project() -> Path:
    root = scratch_dir() / "project"
    (root / ".git").mkdir(parents=True, exist_ok=True)  # the search for pyproject.toml stops here
    return root


def TestOneInput(data: bytes) -> None:
    root = _project()
    (root / "pyproject.toml").write_bytes(data)
    try:
        cfg, _where = lint.load_config(root)
        # as cbdiag.cli.lint uses it
        str(cfg.get("output_format", "full"))
        lint.select_codes(
            cfg.get("select"), cfg.get("extend_select") or [], cfg.get("ignore") or []
        )
        excl = list(cfg.get("exclude") or lint.DEFAULT_EXCLUDE)
        excl += list(cfg.get("extend_exclude") or [])
        lint._Excluder(excl).path(PROBE)
    except CbdiagError:
        pass


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
