"""A name a ``from`` import binds from a module of the linted tree is read from that module
when the analysis first uses it: a module nothing uses a name of is not parsed for it."""

from __future__ import annotations

from pathlib import Path

from cbdiag.lint import lint_paths

MODEL = (
    "import torch.nn as nn\n"
    "from consts import K, S\n"
    "from helpers import unused\n\n"
    "class Up(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.up = nn.ConvTranspose2d(8, 8, K, S)\n"
)


def _found(tmp_path: Path) -> list[tuple[str, int, str]]:
    res = lint_paths([tmp_path], select=["CBD"])
    return [(Path(v.path).name, v.line, v.code) for v in res.violations]


def test_an_imported_name_nothing_uses_does_not_parse_its_module(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "consts.py").write_text("K = 3\nS = 2\n")
    # helpers.py names no layer and does not parse: it is reported only when it is read
    (tmp_path / "helpers.py").write_text("def unused():\n    pass\n\nx = (\n")
    assert _found(tmp_path) == [("model.py", 8, "CBD101")]
    # once the name is used, the module is read (and its syntax error reported)
    used = MODEL + "\nunused()\n"
    (tmp_path / "model.py").write_text(used)
    assert ("helpers.py", 4, "CBD901") in _found(tmp_path)


def test_the_constants_a_module_imports_reach_the_layer(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "consts.py").write_text("K = 4\nS = 2\n")
    (tmp_path / "helpers.py").write_text("def unused():\n    pass\n")
    assert _found(tmp_path) == []
    res = lint_paths([tmp_path], select=["CBD"])
    assert res.clean >= 1 and res.unresolved == []


def test_names_imported_in_a_cycle_are_unresolved_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL.replace("from helpers import unused\n", ""))
    (tmp_path / "consts.py").write_text("from other import K, S\n")
    (tmp_path / "other.py").write_text("from consts import K, S\n")
    res = lint_paths([tmp_path], select=["CBD"])
    assert res.violations == []
    assert [(Path(u.path).name, u.line) for u in res.unresolved] == [("model.py", 7)]
    assert "cycle" in res.unresolved[0].reason
