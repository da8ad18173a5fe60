"""A lint run frees its syntax trees by reference counting: none is left in a reference cycle
for the garbage collector, which would walk every node of every tree the run kept (half a
second for 2,000 files) the first time it runs after the lint."""

from __future__ import annotations

import ast
import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbdiag import parse_layers
from cbdiag.errors import SizeError
from cbdiag.lint.engine import check_files
from cbdiag.overlap import default_input_size

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "models"


@contextlib.contextmanager
def _cyclic_garbage() -> Iterator[list[object]]:
    """The objects that only the cyclic garbage collector would free, of what the block
    leaves behind (collected once the block ends)."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        if was:
            gc.enable()


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.py")))
def test_no_syntax_tree_is_left_in_a_reference_cycle(name: str) -> None:
    # (cyclegan_torch.py's stack starts with a 7x7 convolution: the smallest valid input size
    # is searched for past sizes that fail, whose exception used to hold the analysis's frames)
    path = SAMPLES / name
    with _cyclic_garbage() as garbage:
        assert len(check_files([(str(path), path.read_text())])) == 1
    assert sum(isinstance(o, ast.AST) for o in garbage) == 0


def test_the_input_size_search_keeps_no_exception_once_it_succeeds() -> None:
    # a 7x7 convolution without padding: sizes below 7 fail, then one succeeds
    layers = parse_layers("conv k7")
    assert default_input_size(layers)[0] >= 7
    with _cyclic_garbage() as garbage:
        default_input_size(layers)
    assert [o for o in garbage if isinstance(o, SizeError)] == []


def test_a_body_read_late_that_does_not_parse_leaves_no_cycle(tmp_path: Path) -> None:
    """A syntax error in a function body read late is reported, and kept without its
    traceback (whose frames hold the analysis of the whole group)."""
    # (``broken`` calls ``make``, which holds a layer: its body, left out, is read to run it)
    caller = "from bad import make\n\nup = make(3)\n"
    bad = (
        "import torch.nn as nn\n\n\n"
        "def make(k):\n    return nn.ConvTranspose2d(8, 4, k, 2)\n\n\n"
        "def broken():\n    x = (1 +\n    return make(3)\n"
    )
    files = [(str(tmp_path / "caller.py"), caller), (str(tmp_path / "bad.py"), bad)]
    with _cyclic_garbage() as garbage:
        reports = check_files(files, dict.fromkeys((p for p, _ in files), str(tmp_path)))
    assert [v.code for v in reports[1].violations] == ["CBD901"]
    assert sum(isinstance(o, ast.AST) for o in garbage) == 0
    assert [o for o in garbage if isinstance(o, BaseException)] == []


def test_a_group_of_files_leaves_nothing_to_the_garbage_collector() -> None:
    """Once a group's trees are let go, nothing the analysis built waits for the cyclic
    garbage collector (a project, its modules, the closures that index them)."""
    files = [(str(p), p.read_text()) for p in sorted(SAMPLES.glob("*.py"))]
    with _cyclic_garbage() as garbage:
        check_files(files)
    assert garbage == []
