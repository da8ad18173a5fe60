"""Names and scopes of a parsed module: what each import binds, which names a scope binds (in
source order, not descending into nested definitions), and the canonical spelling of a
qualified name (``tf.keras.layers.X`` and ``keras.src.layers.X`` are ``keras.layers.X``)."""

from __future__ import annotations

import ast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def import_bindings(node: ast.Import | ast.ImportFrom) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                out[a.asname] = a.name
            else:  # "import torch.nn" binds "torch"
                top = a.name.split(".")[0]
                out[top] = top
    else:
        if node.level:  # relative imports: project code, never a target
            for a in node.names:
                out[a.asname or a.name] = None
            return out
        for a in node.names:
            if a.name == "*":
                continue
            out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def store_names(target: ast.expr, out: set[str]) -> None:
    if isinstance(target, ast.Name):
        out.add(target.id)
    elif isinstance(target, ast.Tuple | ast.List):
        for e in target.elts:
            store_names(e, out)
    elif isinstance(target, ast.Starred):
        store_names(target.value, out)


def bindings(stmts: list[ast.stmt], on_import: Any, on_other: Any) -> None:
    """Visit the bindings of one scope in source order (not descending into nested functions or
    classes, whose names bind here): imports, assignment / loop / ``with`` / ``except`` targets,
    definitions, deletions."""
    for st in stmts:
        if isinstance(st, ast.Import | ast.ImportFrom):
            on_import(st)
        elif isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            on_other({st.name})
        elif isinstance(st, ast.Assign):
            names: set[str] = set()
            for t in st.targets:
                store_names(t, names)
            on_other(names)
        elif isinstance(st, ast.AugAssign | ast.AnnAssign | ast.Delete):
            names = set()
            for t in st.targets if isinstance(st, ast.Delete) else [st.target]:
                store_names(t, names)
            on_other(names)
        elif isinstance(st, ast.For | ast.AsyncFor):
            names = set()
            store_names(st.target, names)
            on_other(names)
            bindings(st.body + st.orelse, on_import, on_other)
        elif isinstance(st, ast.With | ast.AsyncWith):
            names = set()
            for item in st.items:
                if item.optional_vars is not None:
                    store_names(item.optional_vars, names)
            on_other(names)
            bindings(st.body, on_import, on_other)
        elif isinstance(st, ast.If | ast.While):
            bindings(st.body + st.orelse, on_import, on_other)
        elif isinstance(st, ast.Try):
            for h in st.handlers:
                if h.name:
                    on_other({h.name})
                bindings(h.body, on_import, on_other)
            bindings(st.body + st.orelse + st.finalbody, on_import, on_other)
        elif isinstance(st, ast.Match):
            for case in st.cases:
                on_other(
                    {
                        n.name
                        for n in ast.walk(case.pattern)
                        if isinstance(n, ast.MatchAs | ast.MatchStar) and n.name
                    }
                )
                bindings(case.body, on_import, on_other)
        elif isinstance(st, ast.Global | ast.Nonlocal):
            on_other(set(st.names))


def names_bound(body: list[ast.stmt], args: ast.arguments | None = None) -> dict[str, str | None]:
    """Names bound in one scope: ``{name: qualified name}`` for imports (the last import of a
    name wins), ``{name: None}`` for every other binding, which shadows any import."""
    bound: dict[str, str | None] = {}
    other: set[str] = set()
    if args is not None:
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None:
                other.add(a.arg)
    bindings(body, lambda st: bound.update(import_bindings(st)), other.update)
    for name in other:
        bound[name] = None
    return bound


_ALIASES = {"tf": "tensorflow"}

#: Library functions that are drop-in replacements of a torch function (same signature, same
#: result): mmcv's ``conv2d_gradfix`` ops, exported as ``mmcv.ops.conv_transpose2d``. One
#: spelling, so that ``try: from mmcv.ops import conv_transpose2d`` with ``except ImportError:
#: conv_transpose2d = F.conv_transpose2d`` binds the same function on both paths.
_SAME_AS = {
    f"mmcv.ops{sub}.{fn}": f"torch.nn.functional.{fn}"
    for sub in ("", ".conv2d_gradfix")
    for fn in ("conv2d", "conv_transpose2d")
}


#: :func:`canonical`'s answers (a pure function of the name, asked for the same few names
#: again and again: every ``nn.X`` of every module).
_CANONICAL: dict[str, str] = {}


def canonical(q: str) -> str:
    got = _CANONICAL.get(q)
    if got is None:
        if len(_CANONICAL) > 65_536:
            _CANONICAL.clear()
        got = _CANONICAL[q] = _canonical(q)
    return got


def _canonical(q: str) -> str:
    head, _, rest = q.partition(".")
    head = _ALIASES.get(head, head)
    q = f"{head}.{rest}" if rest else head
    for old, new in (
        ("tensorflow.python.keras.", "tensorflow.keras."),
        ("keras.src.layers.", "keras.layers."),
        ("keras.api.layers.", "keras.layers."),
        ("tensorflow.keras.layers.convolutional.", "tensorflow.keras.layers."),
        ("tensorflow.compat.v1.keras.", "tensorflow.keras."),
        ("tensorflow.compat.v2.keras.", "tensorflow.keras."),
        ("tensorflow.compat.v1.nn.", "tensorflow.nn."),
        ("tensorflow.compat.v2.nn.", "tensorflow.nn."),
    ):
        if q.startswith(old):
            q = new + q[len(old) :]
    return _SAME_AS.get(q, q)
