"""Skeleton parsing (cbdiag.lint.skeleton): the tree with every body read is the one
``ast.parse`` gives for the whole file, node for node and position for position."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from cbdiag.lint import engine, lint_paths, skeleton

ROOT = Path(__file__).resolve().parents[2]

#: Large modules of the standard library (real code of every style, on every CPython).
STDLIB = [
    "argparse",
    "ast",
    "asyncio.base_events",
    "asyncio.tasks",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "doctest",
    "email._header_value_parser",
    "enum",
    "functools",
    "inspect",
    "logging",
    "pathlib",
    "pydoc",
    "shutil",
    "subprocess",
    "tarfile",
    "threading",
    "typing",
    "unittest.case",
    "unittest.mock",
    "urllib.request",
    "zipfile",
]


def _stdlib_sources() -> list[Path]:
    out = []
    for name in STDLIB:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            out.append(Path(spec.origin))
    return out


def _dump(tree: ast.AST) -> str:
    text = ast.dump(tree, include_attributes=True)
    return re.sub(r"_Lazy(Async)?FunctionDef\(", lambda m: f"{m.group(1) or ''}FunctionDef(", text)


def _skeleton(source: str, keep: list[int] | None = None) -> tuple[ast.Module, list[str]]:
    errors: list[str] = []
    tree = skeleton.parse(source, "<test>", keep or [], lambda e: errors.append(repr(e)))
    return tree, errors


def _lazy(tree: ast.Module) -> list[ast.AST]:
    """The functions not read yet (found without reading any body)."""
    out = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if skeleton.is_lazy(node):
            out.append(node)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def test_every_body_read_gives_the_whole_files_tree_on_real_code() -> None:
    files = _stdlib_sources() + sorted((ROOT / "cbdiag").rglob("*.py"))
    assert len(files) > 60
    left_out = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree, errors = _skeleton(source)
        left_out += len(_lazy(tree))
        assert _dump(tree) == _dump(ast.parse(source)), path  # (the dump reads every body)
        assert not errors and not _lazy(tree)
    assert left_out > 2000  # most bodies were left out of the first parse


def test_bodies_that_hold_a_kept_line_are_parsed() -> None:
    src = (
        "import torch.nn as nn\n"
        "class Up(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(8, 8, 3, 2)\n"
        "    def forward(self, x):\n"
        "        return self.up(x)\n"
        "def helper(k):\n"
        "    return k * 2\n"
    )
    tree, _ = _skeleton(src, keep=[5])
    lazy = _lazy(tree)
    assert sorted(n.name for n in lazy) == ["__init__", "forward", "helper"]  # type: ignore[attr-defined]
    # a body not read keeps its function's extent and its first line
    forward = next(n for n in lazy if n.name == "forward")  # type: ignore[attr-defined]
    assert (forward.lineno, forward.end_lineno, forward.end_col_offset) == (6, 7, 25)
    assert skeleton.first_body_line(forward) == 7  # type: ignore[arg-type]
    assert skeleton.is_lazy(forward) and skeleton.partial_body(forward) is None
    assert isinstance(forward.body[0], ast.Return) and not skeleton.is_lazy(forward)  # type: ignore[attr-defined]
    # the body with the kept line is parsed in part: the line kept, the call above left out
    init = next(n for n in lazy if n.name == "__init__")  # type: ignore[attr-defined]
    (up,) = skeleton.partial_body(init) or []
    assert isinstance(up, ast.Assign)
    assert (up.lineno, up.col_offset, up.end_col_offset) == (5, 8, 48)
    assert skeleton.first_body_line(init) == 4  # type: ignore[arg-type]
    body = init.body  # type: ignore[attr-defined]
    assert [st.lineno for st in body] == [4, 5] and body[1] is up  # (the same statement)
    assert _dump(tree) == _dump(ast.parse(src))


def _left_out_in_part(src: str, keep: list[int]) -> dict[str, list[int]]:
    """The functions of ``src`` left out in part, with the lines of their statements kept,
    checked against ``ast.parse``: each statement kept is the whole file's, position for
    position, and, once the bodies are read, the very object in the tree."""
    tree, errors = _skeleton(src, keep)
    whole = ast.parse(src)
    expected = {
        (st.lineno, st.col_offset): ast.dump(st, include_attributes=True)
        for st in ast.walk(whole)
        if isinstance(st, ast.stmt)
    }
    out = {}
    kept_all = []
    for fn in _lazy(tree):
        kept = skeleton.partial_body(fn)
        if kept is None:
            continue
        out[fn.name] = [st.lineno for st in kept]  # type: ignore[attr-defined]
        for st in kept:
            assert ast.dump(st, include_attributes=True) == expected[(st.lineno, st.col_offset)]
        kept_all.extend(kept)
    assert _dump(tree) == _dump(whole) and not errors  # (reads every body)
    seen = {id(n) for n in ast.walk(tree)}
    assert all(id(st) in seen for st in kept_all)
    return out


#: Bodies with a layer line (kept), left out in part where the text vouches for it.
PARTIAL = """\
class A:
    def simple(self, c):
        super().__init__()
        self.norm = nn.BatchNorm2d(c)  # a comment
        self.up = nn.ConvTranspose2d(c, c, 3, 2)
        self.name = "a(b]"
        print(self.name, 'x[')
    def black(self, c):
        self.norm = nn.BatchNorm2d(c)
        self.up = nn.ConvTranspose2d(
            c, c, 3, 2
        )
        self.after = 1
    def continued(self):
        self.a = f(
        1)
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.z = 0
    def binds(self):
        k = 3
        self.up = nn.ConvTranspose2d(8, 8, k, 2)
        self.z = 0
    def binds_later(self):
        self.norm = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 8, k, 2)
        k = 3
    def deletes(self):
        del(k)
        self.up = nn.ConvTranspose2d(8, 8, k, 2)
        self.z = 0
    def docstring(self):
        \"\"\"Doc.\"\"\"
        self.norm = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.z = 0
    def commented(self):
        # self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.norm = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 8, 4, 2)
        self.z = 0
    def semicolon(self):
        self.a = 1; k = 2
        self.up = nn.ConvTranspose2d(8, 8, k, 2)
        self.z = 0
    def compound(self):
        if self.a:
            self.b = 1
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.z = 0
    def deep(self):
        self.a = f(g(h(1)))
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.z = 0
    def last_left_out(self):
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.init = nn.init.zeros_(self.up.weight)
    def unicode(self):
        self.name = "żółw"
        self.up = nn.ConvTranspose2d(8, 8, 3, 2)
        self.other = "żółw"
"""


def test_a_body_is_left_out_in_part_only_where_the_text_vouches_for_it() -> None:
    lines = PARTIAL.split("\n")
    keep = [i for i, line in enumerate(lines, 1) if "ConvTranspose2d" in line]
    got = _left_out_in_part(PARTIAL, keep)
    assert got == {
        "simple": [5],  # calls and attributes set to strings with brackets: left out
        "commented": [39],  # a comment naming a layer is no statement to keep
        "last_left_out": [55],  # a placeholder ends the body where the statement ended
        "unicode": [59],  # (the placeholder's end column counts bytes)
    }
    # a name bound (a local, a del), before the call or after it, a bracket closed at the
    # body's indent, a call over three lines, a docstring, a semicolon, a compound statement,
    # brackets three deep: a statement of another kind somewhere in the body, kept whole
    whole = {"continued", "binds", "deletes", "docstring", "semicolon", "compound", "deep"}
    whole |= {"black", "binds_later"}
    tree, _ = _skeleton(PARTIAL, keep)
    assert {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)} - set(got) == whole  # type: ignore[attr-defined]


def test_left_out_in_part_gives_the_whole_files_tree_on_real_code() -> None:
    files = _stdlib_sources() + sorted((ROOT / "cbdiag").rglob("*.py"))
    parts = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        lines = source.split("\n")
        for keep in (
            [i for i, line in enumerate(lines, 1) if "(" in line and i % 4 == 0],
            [i for i, line in enumerate(lines, 1) if "self." in line and i % 3 == 0],
            [i for i, line in enumerate(lines, 1) if "self." in line and i % 2 == 1],
        ):
            parts += len(_left_out_in_part(source, keep))
    assert parts > 50  # (bodies were left out in part)


TRICKY = {
    # text at column 0 inside a docstring and a string: the indentation misleads
    "docstring": 'def f():\n    """Doc.\n\nnot code\n"""\n    return 1\n\nx = f()\n',
    "string_col0": 'class A:\n    def f(self):\n        s = """\ndef g():\n    pass\n"""\n'
    "        return s\n",
    # a backslash-continued string and a bracket continued at column 0
    "backslash": 'def f():\n    s = "a\\\nb"\n    return s\ny = 2\n',
    "bracket": "def f():\n    return max(1,\n2)\ny = 2\n",
    # a def in a template string (it is no function)
    "template": 'T = """\ndef fake():\n    return 1\n"""\ndef real():\n    return T\n',
    # decorators, async, nested definitions, comments, semicolons, annotations
    "decorated": "import functools\n@functools.cache\ndef f(x) -> int:  # c\n    return x\n",
    "async": "async def f():\n    await g()\n    return 1\n",
    "nested": "def f():\n    def g():\n        return 1\n    return g\n",
    "comment_end": "def f():\n    return 1  # one\n# after\nx = 1\n",
    "semicolon": "def f():\n    a = 1; b = 2;\nx = 1\n",
    "comments": "def f():\n    # first\n    x = 1\n# column 0, inside\n    return x\n",
    "multiline_end": 'def f():\n    return """\n    text\n    """\n',
    "fstring": 'def f(x):\n    return f"""{x}\n"""\n',
    "unicode": "def f():\n    return 'żółw'\n",
    "if_blocks": "if True:\n    def f():\n        return 1\nelse:\n    def f():\n        return 2\n"
    "try:\n    pass\nexcept ValueError:\n    def g():\n        return 3\nfinally:\n"
    "    def h():\n        return 4\n",
    "no_newline_at_end": "def f():\n    return 1",
    "one_line": "def f(): return 1\ndef g():\n    return 2\n",
    "multi_line_header": "def f(a,\n      b):\n    return a\n",
    # a triple quote the region's text does not close, after quote runs that pair up as empty
    # strings: it must not be read as two empty one-quote strings (the body ends in it)
    "quote_run": "def l():\n " + "'" * 34 + "\ndef m():" + "'" * 37 + "g" + "'" * 15 + ".e",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_misleading_text_never_changes_the_tree(name: str) -> None:
    src = TRICKY[name]
    tree, errors = _skeleton(src)
    assert _dump(tree) == _dump(ast.parse(src)) and not errors


def test_what_the_text_cannot_vouch_for_is_parsed_whole() -> None:
    def names(src: str) -> list[str]:
        return sorted(n.name for n in _lazy(_skeleton(src)[0]))  # type: ignore[attr-defined]

    assert names(TRICKY["docstring"]) == []  # the region's text ends inside the docstring
    assert names(TRICKY["string_col0"]) == []
    assert names(TRICKY["nested"]) == ["g"]  # f defines a function (indexed): f is read
    assert names(TRICKY["comment_end"]) == []  # a trailing comment hides where code ends
    assert names(TRICKY["fstring"]) == []
    assert names(TRICKY["multi_line_header"]) == []
    assert names("def f():\n\treturn 1\n") == []  # tabs
    # a def in a string does not map to a function of the skeleton: the file is parsed whole
    assert names(TRICKY["template"]) == []
    assert names(TRICKY["if_blocks"]) == ["f", "f", "g", "h"]
    assert names(TRICKY["one_line"]) == ["g"]


def test_a_body_that_does_not_parse_is_reported_when_read() -> None:
    src = "def f():\n    return 1 +\n\ndef g():\n    return 2\n"
    errors: list[BaseException] = []
    tree = skeleton.parse(src, "<test>", [], errors.append)
    assert errors == []  # the skeleton parses: f's body is not read yet
    f = tree.body[0]
    assert skeleton.is_lazy(f)
    assert isinstance(f.body[0], ast.Expr)  # type: ignore[attr-defined]  # (the placeholder)
    with pytest.raises(SyntaxError) as whole:
        ast.parse(src)
    assert len(errors) == 1 and isinstance(errors[0], SyntaxError)
    assert (errors[0].lineno, errors[0].offset) == (whole.value.lineno, whole.value.offset)


def test_lint_reports_a_syntax_error_where_the_analysis_reads(tmp_path: Path) -> None:
    # a caller of a layer helper names no layer itself (its body is left out of the first
    # parse); the analysis reads it for the value it passes, and finds its syntax error
    (tmp_path / "read.py").write_text(
        "import torch.nn as nn\n"
        "def up(k):\n"
        "    return nn.ConvTranspose2d(8, 8, k, 2)\n"
        "def make():\n"
        "    return up(3) +\n"
    )
    res = lint_paths([tmp_path / "read.py"])
    assert [(v.code, v.line, v.col) for v in res.violations] == [("CBD901", 5, 19)]
    # a body nothing reads is not parsed: the layer is checked, the error left to Python
    (tmp_path / "unread.py").write_text(
        "import torch.nn as nn\n"
        "def unused():\n"
        "    return 3 +\n"
        "up = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    )
    res = lint_paths([tmp_path / "unread.py"])
    assert [v.code for v in res.violations] == ["CBD101"]


def _report(paths: list[Path]) -> tuple[object, ...]:
    r = lint_paths(paths, exclude=())
    return (sorted(map(repr, r.violations)), sorted(map(repr, r.unresolved)), r.files, r.clean)


def test_lint_reports_are_the_same_with_and_without_the_skeleton(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [ROOT / "tests", ROOT / "samples", ROOT / "cbdiag", ROOT / "benchmarks"]
    with_skeleton = _report(paths)
    monkeypatch.setattr(engine, "SKIP_BODIES", False)
    whole = _report(paths)
    assert with_skeleton == whole
    assert len(whole[0]) > 50 and whole[3] > 25  # (findings and clean calls to compare)


def test_reading_every_body_of_a_long_file_costs_a_bounded_number_of_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each body alone sits on its own lines after blank ones: without a bound, reading all
    # of them would tokenize quadratically many blank lines
    src = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(3000))
    parsed: list[int] = []
    real_parse = ast.parse

    def counting(text: str, *a: object, **k: object) -> ast.AST:
        parsed.append(len(text))
        return real_parse(text, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(skeleton.ast, "parse", counting)
    tree, errors = _skeleton(src)
    assert len(_lazy(tree)) == 3000
    dumped = _dump(tree)  # (reads every body)
    monkeypatch.undo()
    assert dumped == _dump(ast.parse(src)) and not errors
    assert sum(parsed) < 8 * len(src)  # the skeleton, some bodies alone, then the file once
    assert sum(parsed) > 2 * len(src)  # (it did switch to the whole file)
