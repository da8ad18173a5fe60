"""Fuzz target ``skeleton``: :func:`cbdiag.lint.skeleton.parse` against ``ast.parse``. For a
source that parses, the skeleton with every body read must be the same tree, node for node and
position for position, with no error reported; for one that does not, the skeleton may raise
what ``ast.parse`` raises or leave the error in a body, never anything else. Each input is
parsed with no line kept, and with the lines that name a layer (or every third line) kept, so
that bodies are also left out in part: there the statements kept, before any body is read,
must be the very statements of ``ast.parse``'s tree at their places.

``python tests/fuzz/fuzz_skeleton.py [libFuzzer flags] [corpus dir | input file]``
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
from pathlib import Path

if __name__ == "__main__":  # a script: this working tree's tests.fuzz and cbdiag
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import fuzz, instrumented

with instrumented(__name__):
    from cbdiag.errors import CbdiagError
    from cbdiag.lint import skeleton

_LAZY = re.compile(r"_Lazy(Async)?FunctionDef\(")
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


def _dump(tree: ast.AST) -> str:
    return _LAZY.sub(lambda m: f"{m.group(1) or ''}FunctionDef(", ast.dump(tree, True, True))


def TestOneInput(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # (as the engine reads a file)
    errors: list[BaseException] = []
    try:
        whole = ast.parse(text)
    except _PARSE_ERRORS:
        with contextlib.suppress(*_PARSE_ERRORS, CbdiagError):
            tree = skeleton.parse(text, "fuzz.py", [], errors.append)
            with contextlib.suppress(RecursionError):
                ast.dump(tree)  # (reads every body: an error there is reported, not raised)
        return
    lines = text.split("\n")
    named = [i for i, line in enumerate(lines, 1) if "Conv" in line or "nn." in line]
    for keep in ([], named, list(range(3, len(lines) + 1, 3))):
        with contextlib.suppress(CbdiagError):
            tree = skeleton.parse(text, "fuzz.py", keep, errors.append)
            try:
                kept = _kept_statements(tree)
                expected, got = _dump(whole), _dump(tree)
            except RecursionError:  # (a tree too deep for ast.dump)
                return
            if got != expected or errors:
                raise AssertionError(f"the skeleton's tree differs from ast.parse ({errors})")
            seen = {id(node) for node in ast.walk(tree)}  # (kept alive by ``kept``)
            if any(id(st) not in seen for st in kept):
                raise AssertionError("a statement kept is not the one of the tree read")


def _kept_statements(tree: ast.AST) -> list[ast.stmt]:
    """The statements kept of functions left out in part (found without reading a body)."""
    out: list[ast.stmt] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if skeleton.is_lazy(node):
            out.extend(skeleton.partial_body(node) or ())
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


if __name__ == "__main__":
    fuzz(TestOneInput, __file__)
