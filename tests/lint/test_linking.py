"""Files that cannot reach one another are analysed apart, each group with its own trees (let
go before the next group is parsed); the groups are read from the text. What a split run
reports is what one analysis of all the files together reports (the reference here: the same
files with every one in a single group), and the files a call chain crosses share a group."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import pytest

from cbdiag.lint import engine, linking
from cbdiag.lint.engine import check_files

UP = (
    "import torch.nn as nn\n\n"
    "class Up(nn.Module):\n"
    "    def __init__(self, k, s=2):\n"
    "        super().__init__()\n"
    "        self.up = nn.ConvTranspose2d(8, 8, k, s)\n"
)
ALONE = (
    "import torch.nn as nn\n\n"
    "class Other(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.up = nn.ConvTranspose2d(8, 8, 5, 2)\n"
)

#: Trees of files (path below the root -> text), each with a call chain across files.
TREES: dict[str, dict[str, str]] = {
    "import by name": {
        "blocks.py": UP,
        "model.py": "from blocks import Up\n\nnet = Up(3)\n",
        "other.py": ALONE,
    },
    "relative import": {
        "pkg/__init__.py": "",
        "pkg/blocks.py": UP,
        "pkg/model.py": "from .blocks import Up\n\nnet = Up(5)\n",
        "other.py": ALONE,
    },
    "relative import of the package": {
        "pkg/__init__.py": "",
        "pkg/blocks.py": UP,
        "pkg/model.py": "from . import blocks\n\nnet = blocks.Up(3)\n",
        "other.py": ALONE,
    },
    "a module reached through its package": {
        "pkg/__init__.py": "from . import blocks\n",
        "pkg/blocks.py": UP,
        "main.py": "import pkg\n\nnet = pkg.blocks.Up(7)\n",
        "other.py": ALONE,
    },
    "star import": {
        "blocks.py": UP,
        "model.py": "from blocks import *\n\nnet = Up(3)\n",
        "other.py": ALONE,
    },
    "an import after a colon": {
        "blocks.py": UP,
        "model.py": "try: from blocks import Up\nexcept ImportError: Up = None\n\nnet = Up(3)\n",
        "other.py": ALONE,
    },
    "a relative import after a colon, of a name its package re-exports": {
        "pkg/__init__.py": "from blocks import Up as Upsampler\n",
        "blocks.py": UP,
        "pkg/model.py": (
            "try: from . import Upsampler\nexcept ImportError: Upsampler = None\n\n"
            "net = Upsampler(3)\n"
        ),
        "other.py": ALONE,
    },
    "a base class named, not imported": {
        "blocks.py": UP,
        "model.py": "class Sub(Up):\n    pass\n\nnet = Sub(3)\n",
        "other.py": ALONE,
    },
    "partial of a class named": {
        "blocks.py": UP,
        "model.py": "import functools\n\nmake = functools.partial(Up, 3)\nnet = make()\n",
        "other.py": ALONE,
    },
    "an ambiguous module name": {
        "a/models.py": UP,
        "b/models.py": UP.replace("s=2", "s=1"),
        "main.py": "from models import Up\n\nnet = Up(3)\n",
        "other.py": ALONE,
    },
}


def _files(root: Path, tree: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for rel, text in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        out.append((str(p), text))
    return out


def _reports(files: list[tuple[str, str]], root: Path) -> list[tuple[Any, ...]]:
    roots: dict[str, str | None] = {p: str(root) for p, _ in files}
    reps = check_files(files, roots)
    return [(Path(r.path).name, r.violations, r.unresolved, r.clean) for r in reps]


@pytest.mark.parametrize("case", sorted(TREES))
def test_a_split_run_reports_what_one_analysis_of_every_file_does(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path, TREES[case])
    split = _reports(files, tmp_path)
    texts = [(p, t, str(tmp_path)) for p, t in files]
    got = linking.groups(texts)
    assert len(got) >= 2  # (other.py reaches nothing and nothing reaches it)
    with monkeypatch.context() as mp:
        mp.setattr(engine, "groups", lambda texts: [list(range(len(texts)))])
        together = _reports(files, tmp_path)
    assert split == together
    # the chain's files share a group; the file apart is alone
    other = next(i for i, (p, _) in enumerate(files) if p.endswith("other.py"))
    assert [other] in got
    assert any(len(g) == len(files) - 1 for g in got)


def test_the_finding_a_chain_across_files_gives_is_kept(tmp_path: Path) -> None:
    files = _files(tmp_path, TREES["import by name"])
    reps = {name: v for name, v, _, _ in _reports(files, tmp_path)}
    assert [v.code for v in reps["blocks.py"]] == ["CBD101"]  # k3 s2, from model.py
    assert "model.py" in reps["blocks.py"][0].message
    assert [v.code for v in reps["other.py"]] == ["CBD101"]  # k5 s2


@pytest.mark.parametrize(
    "text",
    [
        "from blocks import (Up,\n",  # an import line that does not parse alone
        "if True: from blocks import (Up,\n    Down)\n",  # continued after a colon
        "from .... import *\n",  # everything of a module above the top of the tree
        "x = 1; from .... import *\n",  # the same after a semicolon
        "from \\\n    .blocks import Up\n",  # a relative import's dots on a continued line
    ],
)
def test_a_file_whose_imports_cannot_be_read_puts_every_file_in_one_group(text: str) -> None:
    texts = [("/r/a.py", ALONE, "/r"), ("/r/b.py", ALONE, "/r"), ("/r/c.py", text, "/r")]
    assert linking.groups(texts) == [[0, 1, 2]]


def test_a_name_imported_from_above_the_top_reaches_the_files_defining_it() -> None:
    texts = [
        ("/r/a.py", UP, "/r"),
        ("/r/b.py", ALONE, "/r"),
        ("/r/c.py", "from .... import Up\n", "/r"),
    ]
    assert linking.groups(texts) == [[0, 2], [1]]


def test_independent_files_are_groups_of_one_in_order() -> None:
    texts = [(f"/r/m{i}.py", ALONE, "/r") for i in range(4)]
    assert linking.groups(texts) == [[0], [1], [2], [3]]
    # an import after a semicolon is read from its line
    texts.append(("/r/uses.py", "x = 1; import m2, m0\n", "/r"))
    assert linking.groups(texts) == [[0, 2, 4], [1], [3]]
    # so is every line with the word in a string: only a wider group, never a narrower one
    texts.append(("/r/doc.py", '"""To import m3, see m1."""\n', "/r"))
    assert linking.groups(texts) == [[0, 2, 4], [1, 3, 5]]


def test_the_trees_of_a_group_are_let_go_before_the_next_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path, {f"m{i}.py": ALONE for i in range(3)})
    kept: list[weakref.ref[object]] = []
    alive_at_start: list[int] = []
    real = engine._check_group

    def spy(items, roots, found):  # type: ignore[no-untyped-def]
        alive_at_start.append(sum(r() is not None for r in kept))
        out = real(items, roots, found)
        kept.extend(weakref.ref(item.tree) for item in items if item.tree is not None)
        return out

    monkeypatch.setattr(engine, "_check_group", spy)
    reps = check_files(files)
    assert [v.code for r in reps for v in r.violations] == ["CBD101"] * 3
    assert len(kept) == 3 and alive_at_start == [0, 0, 0]
