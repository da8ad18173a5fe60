"""Layer calls checked without running their function ("settled" from literals and module
constants) must end exactly as a run of the function would end them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbdiag.lint import lint_paths
from cbdiag.lint.structure import Interpreter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

SHADOWED = """
import torch.nn as nn
from torch import nn as torch_nn

K = 3
S = 2


def param_shadows_constant(K=4):
    return nn.ConvTranspose2d(8, 8, K, S)  # K is the parameter (4): clean


def local_shadows_constant():
    K = 4
    return nn.ConvTranspose2d(8, 8, K, 2)  # the local K: clean


def module_constants():
    return nn.ConvTranspose2d(8, 8, K, S)  # K 3 S 2: CBD101


def module_name_shadowed(nn):
    return nn.ConvTranspose2d(8, 8, 3, 2)  # nn is whatever the caller passes: unknown


def padding_from_parameter(p=1):
    return torch_nn.ConvTranspose2d(8, 8, 3, 2, p)  # the fix from padding 1


def padding_literal():
    return torch_nn.ConvTranspose2d(8, 8, 3, 2, 1)  # literal padding 1


class Up(nn.Module):
    def __init__(self, k=5):
        super().__init__()
        self.a = nn.ConvTranspose2d(8, 8, k, 2)  # from call sites: 3 below
        self.b = nn.Conv2d(8, 8, 3, 2, padding=1)  # CBD105 (opt-in) or clean
        self.c = nn.ConvTranspose2d(8, 8, kernel_size=[4, 4], stride=(2, 2))


def build():
    return Up(k=3)
"""

#: The same statement text in functions where its names are the module's or the function's
#: own, and twice on one line: each is checked for what it is, not as the text was before.
REPEATED = """
import torch.nn as nn

K = 3


def module_constant():
    return nn.ConvTranspose2d(8, 8, K, 2)


def parameter(K=4):
    return nn.ConvTranspose2d(8, 8, K, 2)


def module_constant_again():
    return nn.ConvTranspose2d(8, 8, K, 2)


def two_on_a_line():
    a = nn.ConvTranspose2d(8, 8, 3, 2); b = nn.ConvTranspose2d(8, 8, 4, 2)
    return a, b


def two_on_a_line_again():
    a = nn.ConvTranspose2d(8, 8, 3, 2); b = nn.ConvTranspose2d(8, 8, 4, 2)
    return a, b
"""


def _outcomes(paths: list[Path], settle: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    with monkeypatch.context() as mp:
        if not settle:
            mp.setattr(Interpreter, "settle", lambda self, f: False)
        res = lint_paths(paths, select=["ALL"])
    return (
        sorted((v.path, v.line, v.col, v.code, v.message) for v in res.violations),
        sorted((u.path, u.line, u.col, u.reason) for u in res.unresolved),
    )


def test_settled_calls_end_as_a_run_of_their_function_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shadowed.py").write_text(SHADOWED)
    (tmp_path / "repeated.py").write_text(REPEATED)
    paths = [
        tmp_path,
        HERE / "fixtures",
        HERE / "resolution",
        ROOT / "samples" / "models",
    ]
    run = _outcomes(paths, settle=False, monkeypatch=monkeypatch)
    fast = _outcomes(paths, settle=True, monkeypatch=monkeypatch)
    assert fast == run
    assert len(run[0]) > 40  # the files hold findings of every rule


def test_names_a_function_binds_are_not_taken_from_the_module(tmp_path: Path) -> None:
    (tmp_path / "shadowed.py").write_text(SHADOWED)
    res = lint_paths([tmp_path], select=["ALL"])
    lines = SHADOWED.split("\n")
    by_line: dict[str, list[str]] = {}
    for v in res.violations:
        by_line.setdefault(lines[v.line - 1].split("#")[-1].strip(), []).append(v.message)
    assert "K 3 S 2: CBD101" in by_line
    assert "K is the parameter (4): clean" not in by_line
    assert "the local K: clean" not in by_line
    assert "nn is whatever the caller passes: unknown" not in by_line
    assert "from call sites: 3 below" in by_line
    (fix,) = by_line["the fix from padding 1"]
    assert "use kernel 4 with padding 2, output_padding 1" in fix, fix
    (fix_literal,) = by_line["literal padding 1"]
    assert "use kernel 4 with padding 2, output_padding 1" in fix_literal


def test_a_statement_repeated_in_a_module_is_checked_where_it_stands(tmp_path: Path) -> None:
    (tmp_path / "repeated.py").write_text(REPEATED)
    res = lint_paths([tmp_path], select=["ALL"])
    got = sorted((v.line, v.col, v.code) for v in res.violations)
    # K 3 from the module (lines 8 and 16); K 4 from the parameter is clean; on each line of
    # two calls only the first (kernel 3) is flagged
    assert got == [(8, 12, "CBD101"), (16, 12, "CBD101"), (20, 9, "CBD101"), (25, 9, "CBD101")]


def test_the_calls_of_a_statement_come_in_the_order_of_ast_walk() -> None:
    """Settled results are matched to a statement's calls by position: the walk that finds
    them must give ``ast.walk``'s calls in its order (stdlib and cbdiag's own statements)."""
    import ast

    from cbdiag.lint.structure import _calls_in

    from .test_skeleton import _stdlib_sources

    paths = [*_stdlib_sources()[:8], *sorted((ROOT / "cbdiag" / "lint").glob("*.py"))]
    seen = 0
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.stmt | ast.expr):
                want = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
                assert _calls_in(node) == want, (path, node.lineno)
                seen += len(want) > 1
    assert seen > 1000  # (many nodes with several calls: the order is checked)


SAME_TEXT = """{head}

class Up(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c // 2, K, 2)
"""

#: One statement's text in modules where its words have other values: each module's own.
SAME_TEXT_HEADS = {
    "a_k3.py": ("import torch.nn as nn\nK = 3", "CBD101"),
    "b_k4.py": ("import torch.nn as nn\nK = 4", None),
    "c_pair3.py": ("import torch.nn as nn\nK = (3, 3)", "CBD101"),
    "d_pair4.py": ("import torch.nn as nn\nK = (4, 4)", None),
    "e_other_nn.py": ("import mylib as nn\nK = 3", None),
    "f_from.py": ("from torch import nn\nK = 3", "CBD101"),
    "g_absent.py": ("import torch.nn as nn", "unresolved"),
    "h_twice.py": ("import torch.nn as nn\nK = 4\nK = 3", "unresolved"),
    "i_float.py": ("import torch.nn as nn\nK = 3.0", "unresolved"),
    "pkg/j_k4.py": ("import torch.nn as nn\nK = 4", None),
    "pkg/k_from_tree.py": ("import torch.nn as nn\nfrom pkg.consts import K", "CBD101"),
    "pkg/consts.py": ("K = 3", None),
}


def test_a_statement_in_many_modules_is_checked_with_each_modules_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settled checks are shared by modules where the statement's text and the values of its
    words are the same: the same text with another constant, another ``nn`` or a name not
    bound must end as its own module's run ends it."""
    for name, (head, _) in SAME_TEXT_HEADS.items():
        p = tmp_path / name
        p.parent.mkdir(exist_ok=True)
        p.write_text(SAME_TEXT.format(head=head) if "consts" not in name else head + "\n")
    run = _outcomes([tmp_path], settle=False, monkeypatch=monkeypatch)
    fast = _outcomes([tmp_path], settle=True, monkeypatch=monkeypatch)
    assert fast == run
    for name, (_, want) in SAME_TEXT_HEADS.items():
        codes = {v[3] for v in fast[0] if v[0].endswith(name)}
        unresolved = [u for u in fast[1] if u[0].endswith(name)]
        if want == "unresolved":
            assert not codes and unresolved, name
        elif want is None:
            assert not codes and not unresolved, name
        else:
            assert codes == {want}, name


ALIKE = """
import torch.nn as nn


def up(k=3, s=2, p=1, op=0):
    return nn.Sequential(nn.ConvTranspose2d(8, 4, k, s, p, op), nn.ReLU())


def stack():
    return nn.Sequential(
        *[nn.ConvTranspose2d(8, 8, k, 2, padding=p) for k, p in ((3, 1), (3, 2), (4, 1))],
        nn.ConvTranspose2d(8, 8, (3, 3), (2, 2)),
        nn.ConvTranspose2d(8, 8, kernel_size=3, stride=2),
        nn.ConvTranspose2d(8, 8, kernel_size=3.0, stride=2),
        nn.ConvTranspose2d(8, 8, kernel_size=True, stride=2),
        nn.ConvTranspose2d(8, 8, kernel_size=(3, 4), stride=(2, 1)),
    )


A = up()
B = up(3, 2, 1, 1)
C = up(k=4, p=1)
D = up(5, 2, 2, 1)
E = up(3, 2, 2, 1)
"""


def test_layer_checks_kept_by_their_arguments_values_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer call's findings and overlap layer are kept by its target and its arguments'
    values. Calls of one target whose values differ in one argument, in its type (``3``,
    ``3.0``, ``True``) or in being given by position or keyword, must each end as they end
    with nothing kept."""
    from cbdiag.lint import structure

    (tmp_path / "alike.py").write_text(ALIKE)
    (tmp_path / "alike_again.py").write_text(ALIKE)  # (the same calls in another file)
    paths = [tmp_path, HERE / "fixtures", HERE / "resolution", ROOT / "samples" / "models"]
    with monkeypatch.context() as mp:
        mp.setattr(structure, "_args_key", lambda t, args: None)
        structure._CHECKED.clear()
        fresh = _outcomes(paths, settle=True, monkeypatch=monkeypatch)
    structure._CHECKED.clear()
    kept = _outcomes(paths, settle=True, monkeypatch=monkeypatch)
    assert kept == fresh
    assert len(structure._CHECKED) > 10
    mine = [v for v in kept[0] if v[0].endswith("alike.py")]
    fixes = {v[4] for v in mine}
    assert len(mine) >= 5 and len(fixes) >= 3  # (the padding and output padding tell the fixes)
