"""The import statements of a module read from their own lines (without parsing the module),
against the import statements of the module's syntax tree."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from cbdiag.lint.structure import import_statements

REPO = Path(__file__).resolve().parents[2]


def _from_the_tree(src: str) -> list[str]:
    """Every import statement of the tree that begins its line (at any depth), in order."""
    lines = src.splitlines()
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import | ast.ImportFrom) and not (
            lines[node.lineno - 1][: node.col_offset].strip()
        ):
            out.append((node.lineno, node.col_offset, ast.dump(node)))
    return [d for _, _, d in sorted(out)]


def _from_the_text(src: str) -> list[str] | None:
    got = import_statements(src)
    return None if got is None else [ast.dump(st) for st in got]


CASES = {
    "top and nested": (
        "import os\nfrom a.b import c as d\n\ndef f():\n    import json\n"
        "    if x:\n        from . import y\n",
        4,
    ),
    "names in parentheses, a comment with parentheses": (
        "from typing import (  # noqa (Dict, List) used by\n    Any,  # (a note)\n"
        "    Dict,\n)\nx = 1\n",
        1,
    ),
    "a backslash before import": ("from a.b \\\n    import *\nfrom c import d\n", 2),
    "a backslash after import": ("import a, \\\n    b\n", 1),
    "in a docstring": ('"""Usage:\n\nimport cbdiag\nfrom the top import it\n"""\nimport re\n', 1),
    "words that are not imports": (
        "important = 1\nimport_module('x')\nfromage = 2\nx = importlib.import_module('y')\n",
        0,
    ),
    "in a match case": (
        "match v:\n    case 1:\n        from a import (\n            b,\n        )\n",
        1,
    ),
    "a relative import without a space": ("from.a import b\nfrom .. import c\n", 2),
    "a quote in a comment opens no string": ("# don't\nimport a\n# '''\nimport b\n", 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_statements_are_those_of_the_tree(name: str) -> None:
    src, n = CASES[name]
    got = _from_the_text(src)
    assert got == _from_the_tree(src)
    assert got is not None and len(got) == n


def test_a_line_that_does_not_parse_alone_leaves_it_to_the_tree() -> None:
    # (a comment that ends in a backslash: read as a continuation, the next line is taken in)
    src = "import a  # see \\\ndef f(x,\n      y):\n    pass\n"
    assert len(_from_the_tree(src)) == 1
    assert import_statements(src) is None
    # a file with no import
    assert import_statements("x = 1\n") == []


def _corpus() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))
    files += sorted((stdlib / "json").glob("*.py")) + sorted((stdlib / "asyncio").glob("*.py"))
    files += sorted((REPO / "cbdiag").rglob("*.py")) + sorted((REPO / "tests").rglob("*.py"))
    return files


def test_on_real_modules_the_text_gives_the_trees_imports() -> None:
    checked = 0
    for path in _corpus():
        src = path.read_text(encoding="utf-8", errors="replace")
        try:
            want = _from_the_tree(src)
        except SyntaxError:
            continue  # (a fixture that does not parse)
        if any(";" in line and "import" in line for line in src.splitlines()):
            continue  # (two statements on one line: the tree's columns differ, not the reading)
        got = _from_the_text(src)
        if got is None:
            continue  # (the module's tree is read instead: still right)
        assert got == want, path
        checked += 1
    assert checked > 200


def test_a_module_is_not_parsed_to_read_its_imports(tmp_path: Path) -> None:
    # other.py names no layer; its call of ``up`` is of another module's ``up`` (its imports
    # say so), so nothing needs its tree: its syntax error is not seen (a module parsed would
    # report it, as named.py shows)
    from cbdiag.lint import lint_paths

    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\ndef up(k):\n    return nn.ConvTranspose2d(8, 8, k, 2)\n"
    )
    broken = "from elsewhere import up\nfrom models import up as U\n\nup(3)\nx = (\n"
    (tmp_path / "other.py").write_text(broken)
    res = lint_paths([tmp_path], select=["CBD"])
    assert [(Path(v.path).name, v.code) for v in res.violations] == []
    (tmp_path / "named.py").write_text(broken)
    named = lint_paths([tmp_path / "named.py", tmp_path / "models.py"], select=["CBD"])
    assert [(Path(v.path).name, v.code) for v in named.violations] == [("named.py", "CBD901")]
