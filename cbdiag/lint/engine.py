"""The linter's engine: parse with ``ast`` (never import or run), resolve names through imports
and aliases, evaluate static arguments, run the rules, honour ``# noqa``.

Values understood: literals, unary minus, tuples and lists, module-level constants and simple
arithmetic of those. Anything else is unknown, and an unknown value never produces a finding.
"""

from __future__ import annotations

import ast
import bisect
import io
import math
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..layers import AxisOp, Layer, deconv
from ..overlap import _own_ratio, overlap_map
from .rules import RULES
from .targets import PREFILTER, SEQUENTIALS, SHAPED, TARGETS, Arg, Target

_UNKNOWN = object()

#: `` as ALIAS``, and the dotted name just before it.
_AS = re.compile(r"[ \t]as[ \t]+(\w+)")
_BEFORE = re.compile(r"([\w.]+)[ \t]*$")


_LEAVES = {ast.Load, ast.Store, ast.Del, ast.Constant}
_COMPREHENSIONS = {ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp}


def _target_aliases(source: str) -> set[str]:
    """Aliases of target classes or functions ("from torch.nn import ConvTranspose2d as Up"):
    an alias hides the name the line filter looks for. Module aliases need nothing."""
    out = set()
    for m in _AS.finditer(source):
        before = _BEFORE.search(source, max(0, m.start() - 120), m.start())
        if before and _CANDIDATE.search(before.group(1).rsplit(".", 1)[-1]):
            out.add(m.group(1))
    return out


#: The leaf names of every target and container: lines without one hold nothing to check.
_CANDIDATE = re.compile(
    r"ConvTranspose|Conv[123]DTranspose|Convolution[123]DTranspose|conv_transpose|"
    r"conv2d_transpose|Conv[123][dD]|Sequential|PixelShuffle|pixel_shuffle|depth_to_space"
)

_NOQA = re.compile(
    r"#\s*noqa(?![\w-])(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(
    r"^\s*#\s*cbdiag:\s*noqa(?![\w-])(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Violation:
    """One finding, 1-based line and column (``end_col`` is the column after the call)."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    message: str

    @property
    def rule(self) -> str:
        return RULES[self.code].name


# ---------------------------------------------------------------------------------------------
# scopes and names
# ---------------------------------------------------------------------------------------------


def _import_bindings(node: ast.Import | ast.ImportFrom) -> dict[str, str | None]:
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


def _store_names(target: ast.expr, out: set[str]) -> None:
    if isinstance(target, ast.Name):
        out.add(target.id)
    elif isinstance(target, ast.Tuple | ast.List):
        for e in target.elts:
            _store_names(e, out)
    elif isinstance(target, ast.Starred):
        _store_names(target.value, out)


def _bindings(stmts: list[ast.stmt], on_import: Any, on_other: Any) -> None:
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
                _store_names(t, names)
            on_other(names)
        elif isinstance(st, ast.AugAssign | ast.AnnAssign | ast.Delete):
            names = set()
            for t in st.targets if isinstance(st, ast.Delete) else [st.target]:
                _store_names(t, names)
            on_other(names)
        elif isinstance(st, ast.For | ast.AsyncFor):
            names = set()
            _store_names(st.target, names)
            on_other(names)
            _bindings(st.body + st.orelse, on_import, on_other)
        elif isinstance(st, ast.With | ast.AsyncWith):
            names = set()
            for item in st.items:
                if item.optional_vars is not None:
                    _store_names(item.optional_vars, names)
            on_other(names)
            _bindings(st.body, on_import, on_other)
        elif isinstance(st, ast.If | ast.While):
            _bindings(st.body + st.orelse, on_import, on_other)
        elif isinstance(st, ast.Try):
            for h in st.handlers:
                if h.name:
                    on_other({h.name})
                _bindings(h.body, on_import, on_other)
            _bindings(st.body + st.orelse + st.finalbody, on_import, on_other)
        elif isinstance(st, ast.Match):
            for case in st.cases:
                on_other(
                    {
                        n.name
                        for n in ast.walk(case.pattern)
                        if isinstance(n, ast.MatchAs | ast.MatchStar) and n.name
                    }
                )
                _bindings(case.body, on_import, on_other)
        elif isinstance(st, ast.Global | ast.Nonlocal):
            on_other(set(st.names))


def _names_bound(body: list[ast.stmt], args: ast.arguments | None = None) -> dict[str, str | None]:
    """Names bound in one scope: ``{name: qualified name}`` for imports (the last import of a
    name wins), ``{name: None}`` for every other binding, which shadows any import."""
    bound: dict[str, str | None] = {}
    other: set[str] = set()
    if args is not None:
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None:
                other.add(a.arg)
    _bindings(body, lambda st: bound.update(_import_bindings(st)), other.update)
    for name in other:
        bound[name] = None
    return bound


_ALIASES = {"tf": "tensorflow"}


def _canonical(q: str) -> str:
    head, _, rest = q.partition(".")
    head = _ALIASES.get(head, head)
    q = f"{head}.{rest}" if rest else head
    for old, new in (
        ("tensorflow.python.keras.", "tensorflow.keras."),
        ("keras.src.layers.", "keras.layers."),
        ("keras.api.layers.", "keras.layers."),
        ("tensorflow.keras.layers.convolutional.", "tensorflow.keras.layers."),
    ):
        if q.startswith(old):
            q = new + q[len(old) :]
    return q


# ---------------------------------------------------------------------------------------------
# the visitor
# ---------------------------------------------------------------------------------------------


class _Evaluator:
    """Constant folding with a given table (module level, no scopes)."""

    def __init__(self, consts: dict[str, Any]) -> None:
        self.consts = consts

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple | ast.List):
            vals = [self.value(e) for e in node.elts]
            return _UNKNOWN if any(v is _UNKNOWN for v in vals) else tuple(vals)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = self.value(node.operand)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return -v if isinstance(node.op, ast.USub) else v
            return _UNKNOWN
        if isinstance(node, ast.BinOp):
            return _binop(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, ast.Name):
            return self.consts.get(node.id, _UNKNOWN)
        return _UNKNOWN


class _Checker(_Evaluator, ast.NodeVisitor):
    def __init__(
        self, path: str, tree: ast.Module, lines: list[int] | None = None, source: str = ""
    ) -> None:
        super().__init__(_module_constants(tree, source))
        self.path = path
        self.scopes: list[dict[str, str | None]] = [_names_bound(tree.body)]
        self.kinds: list[str] = ["module"]
        self.src_lines = source.splitlines()
        self.found: list[Violation] = []
        self.lines = lines  # sorted lines that may hold a target (None: everything)

    def _touches(self, node: ast.stmt) -> bool:
        """Whether a statement spans a candidate line (decorators included)."""
        if self.lines is None:
            return True
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        i = bisect.bisect_left(self.lines, start)
        return i < len(self.lines) and self.lines[i] <= (node.end_lineno or node.lineno)

    def run(self, tree: ast.Module) -> list[Violation]:
        self._body(tree.body)
        return self.found

    def _body(self, stmts: list[ast.stmt]) -> None:
        for st in stmts:
            if self._touches(st):
                self._stmt(st)

    def _stmt(self, st: ast.stmt) -> None:
        """One statement: definitions open scopes, compound statements recurse into their
        bodies (pruned), everything else is searched for calls."""
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
            self._function(st)
        elif isinstance(st, ast.ClassDef):
            self.visit_ClassDef(st)
        elif isinstance(st, ast.If | ast.While):
            self._calls(st.test)
            self._body(st.body)
            self._body(st.orelse)
        elif isinstance(st, ast.For | ast.AsyncFor):
            self._calls(st.iter)
            self._body(st.body)
            self._body(st.orelse)
        elif isinstance(st, ast.With | ast.AsyncWith):
            for item in st.items:
                self._calls(item.context_expr)
            self._body(st.body)
        elif isinstance(st, ast.Try):
            self._body(st.body)
            for h in st.handlers:
                self._body(h.body)
            self._body(st.orelse)
            self._body(st.finalbody)
        elif isinstance(st, ast.Match):
            self._calls(st.subject)
            for case in st.cases:
                self._body(case.body)
        else:
            self._calls(st)

    def _calls(self, node: ast.AST) -> None:
        stack = [node]
        while stack:  # ast.walk without the context and constant leaves
            n = stack.pop()
            if type(n) is ast.Lambda:
                self._function(n)  # its parameters shadow
                continue
            if type(n) in _COMPREHENSIONS:
                self._comprehension(n)
                continue
            if type(n) is ast.Call:
                self.visit_Call(n, recurse=False)
            for f in n._fields:
                v = getattr(n, f, None)
                if type(v) is list:
                    stack.extend(x for x in v if isinstance(x, ast.AST) and type(x) not in _LEAVES)
                elif isinstance(v, ast.AST) and type(v) not in _LEAVES:
                    stack.append(v)

    # scopes ----------------------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        body: list[ast.stmt] = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
        for d in getattr(node, "decorator_list", []):
            self._calls(d)
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self._calls(default)
        self.scopes.append(_names_bound(body, node.args))
        self.kinds.append("function")
        if isinstance(node, ast.Lambda):
            self._calls(node.body)
        else:
            self._body(body)
        self.scopes.pop()
        self.kinds.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for b in [*node.bases, *node.decorator_list, *(k.value for k in node.keywords)]:
            self._calls(b)
        self.scopes.append(_names_bound(node.body))
        self.kinds.append("class")
        self._body(node.body)
        self.scopes.pop()
        self.kinds.pop()

    def _visible(self) -> list[dict[str, str | None]]:
        """Scopes a name can resolve in, innermost first (class bodies only from themselves)."""
        out = []
        for i in range(len(self.scopes) - 1, -1, -1):
            if self.kinds[i] == "class" and i != len(self.scopes) - 1:
                continue
            out.append(self.scopes[i])
        return out

    def qualname(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            for scope in self._visible():
                if expr.id in scope:
                    q = scope[expr.id]
                    return _canonical(q) if q else None
            return None
        if isinstance(expr, ast.Attribute):
            base = self.qualname(expr.value)
            return f"{base}.{expr.attr}" if base else None
        return None

    def _local(self, name: str) -> bool:
        """A name bound (not by an import) in an enclosing function or class scope."""
        for scope in self._visible()[:-1]:
            if name in scope:
                return scope[name] is None
        return False

    # values ----------------------------------------------------------------------------------
    def value(self, node: ast.expr | None) -> Any:
        """A statically known value, or ``_UNKNOWN`` (names bound in a function are unknown)."""
        if node is None or (isinstance(node, ast.Name) and self._local(node.id)):
            return _UNKNOWN
        return super().value(node)

    def arg(self, call: ast.Call, spec: Arg | None) -> tuple[bool, Any]:
        """(given, value) of an argument by keyword or position."""
        if spec is None:
            return False, None
        for kw in call.keywords:
            if kw.arg in spec.names:
                return True, self.value(kw.value)
        if any(kw.arg is None for kw in call.keywords):  # **kwargs: anything may be in there
            return True, _UNKNOWN
        if spec.pos is not None:
            for i, a in enumerate(call.args):
                if isinstance(a, ast.Starred):
                    return True, _UNKNOWN
                if i == spec.pos:
                    return True, self.value(a)
        return False, None

    # calls ------------------------------------------------------------------------------------
    def _comprehension(self, node: Any) -> None:
        names: set[str] = set()
        for gen in node.generators:
            _store_names(gen.target, names)
        self._calls(node.generators[0].iter)  # evaluated in the enclosing scope
        self.scopes.append(dict.fromkeys(names))
        self.kinds.append("function")
        for gen in node.generators:
            self._calls(gen.target)
            for cond in gen.ifs:
                self._calls(cond)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                self._calls(getattr(node, part))
        for gen in node.generators[1:]:
            self._calls(gen.iter)
        self.scopes.pop()
        self.kinds.pop()

    def visit_Call(self, node: ast.Call, recurse: bool = True) -> None:
        q = self.qualname(node.func)
        if q is not None:
            if q in TARGETS:
                self._target(node, TARGETS[q])
            elif q in SEQUENTIALS:
                self._sequential(node, q)
        if recurse:
            self.generic_visit(node)

    def _char_col(self, line: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; reports count characters (1-based)."""
        if 0 < line <= len(self.src_lines):
            text = self.src_lines[line - 1]
            if not text.isascii():
                return len(text.encode()[:byte_col].decode(errors="replace")) + 1
        return byte_col + 1

    def report(self, node: ast.AST, code: str, message: str) -> None:
        line = node.lineno  # type: ignore[attr-defined]
        end_line = node.end_lineno or line  # type: ignore[attr-defined]
        self.found.append(
            Violation(
                self.path,
                line,
                self._char_col(line, node.col_offset),  # type: ignore[attr-defined]
                end_line,
                self._char_col(end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
                code,
                message,
            )
        )

    def params(self, node: ast.Call, t: Target) -> dict[str, tuple[int, ...]] | None:
        """Per-axis kernel, stride, dilation of a call (``None`` if any is unknown)."""
        if t.kernel is not None:
            given, k = self.arg(node, t.kernel)
            if not given:
                return None
        else:
            k = self._weight_kernel(node, t)
        given, s = self.arg(node, t.stride)
        if not given or s is None:
            s = t.default_stride
        given, d = self.arg(node, t.dilation)
        if not given or d is None:
            d = 1
        out = {}
        for key, v in (("kernel", k), ("stride", s), ("dilation", d)):
            if (
                t.framework == "tf"
                and key != "kernel"
                and isinstance(v, tuple)
                and len(v) == t.ndim + 2
            ):
                v = v[1:-1]  # [1, sy, sx, 1] in NHWC
            axes = _per_axis(v, t.ndim)
            if axes is None:
                return None
            out[key] = axes
        return out

    def _weight_kernel(self, node: ast.Call, t: Target) -> Any:
        given, _ = self.arg(node, t.weight)
        if not given or t.weight is None:
            return _UNKNOWN
        w = next((kw.value for kw in node.keywords if kw.arg in t.weight.names), None)
        if w is None and t.weight.pos is not None and t.weight.pos < len(node.args):
            w = node.args[t.weight.pos]
        if not isinstance(w, ast.Call) or self.qualname(w.func) not in SHAPED:
            return _UNKNOWN
        dims = (
            w.args[0] if len(w.args) == 1 and isinstance(w.args[0], ast.Tuple | ast.List) else None
        )
        shape = self.value(dims) if dims is not None else tuple(self.value(a) for a in w.args)
        if shape is _UNKNOWN or not isinstance(shape, tuple) or _UNKNOWN in shape:
            return _UNKNOWN
        if len(shape) != t.ndim + 2:
            return _UNKNOWN
        if t.framework == "tf":  # filters (kH, kW, out, in)
            return tuple(shape[: t.ndim])
        return tuple(shape[2:])

    def _target(self, node: ast.Call, t: Target) -> None:
        if t.kind == "shuffle":
            self.report(
                node,
                "CBD106",
                f"{t.name}: sub-pixel convolution paints a checkerboard at initialisation "
                "unless the convolution before it is ICNR-initialised (bias included)",
            )
            return
        p = self.params(node, t)
        if p is None:
            return
        ks, ss, ds = p["kernel"], p["stride"], p["dilation"]
        if any(v < 1 for v in (*ks, *ss, *ds)):
            return  # invalid values: the framework will complain, we do not guess
        if t.kind == "conv":
            bad = [
                (a, k, s) for a, (k, s) in enumerate(zip(ks, ss, strict=True)) if s > 1 and k % s
            ]
            if bad:
                ratio = math.prod(_ratio(k, s, 1) for _, k, s in bad)
                self.report(
                    node,
                    "CBD105",
                    f"{t.name} kernel {_show(ks)} stride {_show(ss)}: its gradient (a transposed "
                    f"convolution) has uneven overlap, max/min {_num(ratio)}; use kernel "
                    f"{_show(tuple(_up(k, s) for k, s in zip(ks, ss, strict=True)))}",
                )
            return
        holes = [a for a, (k, s) in enumerate(zip(ks, ss, strict=True)) if s > 1 and k < s]
        if holes:
            self.report(
                node,
                "CBD102",
                f"{t.name} kernel {_show(ks)} stride {_show(ss)}: kernel smaller than the stride "
                f"leaves output rows/columns with no input (holes); use kernel "
                f"{_show(tuple(max(_up(k, s), s) for k, s in zip(ks, ss, strict=True)))}",
            )
            return
        shared = [(d, s) for d, s in zip(ds, ss, strict=True) if s > 1 and math.gcd(d, s) > 1]
        if shared:
            d, s = shared[0]
            self.report(
                node,
                "CBD103",
                f"{t.name} dilation {_show(ds)} stride {_show(ss)}: dilation {d} and stride {s} "
                f"share the factor {math.gcd(d, s)}, so whole rows/columns get no input (holes)",
            )
            return
        ratios = [_ratio(k, s, d) for k, s, d in zip(ks, ss, ds, strict=True)]
        if all(r == 1 for r in ratios):
            return
        per_axis = " x ".join(_num(r) for r in ratios)
        fix = _show(tuple(_up(k, s) for k, s in zip(ks, ss, strict=True)))
        smax = max(ss)
        self.report(
            node,
            "CBD101",
            f"{t.name} kernel {_show(ks)} not divisible by stride {_show(ss)}: uneven overlap, "
            f"interior max/min {per_axis} = {_num(math.prod(ratios))} in {t.ndim}-D; use kernel "
            f"{fix} or resize-conv (nearest x{smax} then a stride-1 conv)",
        )

    def _sequential(self, node: ast.Call, q: str) -> None:
        elts: list[ast.expr]
        if q.startswith("torch") or q == "flax.nnx.Sequential":
            elts = list(node.args)
        elif node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            elts = list(node.args[0].elts)
        else:
            lay = next((kw.value for kw in node.keywords if kw.arg == "layers"), None)
            if not isinstance(lay, ast.List | ast.Tuple):
                return
            elts = list(lay.elts)
        stack: list[Layer] = []
        deconvs = 0
        for e in elts:
            if not isinstance(e, ast.Call):
                if isinstance(e, ast.Starred):
                    return
                continue
            qn = self.qualname(e.func)
            t = TARGETS.get(qn or "")
            if t is None:
                layer = self._resize(e, qn)
                if layer is _UNKNOWN:
                    return
                if layer is not None:
                    stack.append(layer)  # type: ignore[arg-type]
                continue
            if t.ndim != 2 or t.kind == "shuffle":
                if t.kind == "shuffle":
                    _, r = self.arg(e, t.stride)
                    shuffle = (
                        _layer_or_unknown("shuffle", (r, r)) if isinstance(r, int) else _UNKNOWN
                    )
                    if shuffle is _UNKNOWN:
                        return
                    stack.append(shuffle)  # type: ignore[arg-type]
                    continue
                return
            layer = self._layer(e, t)
            if layer is None:
                return
            stack.append(layer)
            deconvs += t.kind == "deconv"
        if deconvs < 2:
            return
        r = _stack_map(tuple(stack))
        if r is None:  # an impossible stack: not this rule's business
            return
        if r.even:
            return
        names = ", ".join(layer.spec for layer in stack)
        ratio = (
            "holes" if r.holes else f"{_num(r.y.ratio)} x {_num(r.x.ratio)} = {_num(r.ratio_2d)}"
        )
        self.report(
            node,
            "CBD104",
            f"{q.rsplit('.', 1)[-1]} stacks {deconvs} transposed convolutions ({names}): "
            f"combined interior max/min {ratio} in 2-D, period {r.period[0]}x{r.period[1]}",
        )

    def _layer(self, e: ast.Call, t: Target) -> Layer | None:
        p = self.params(e, t)
        if p is None:
            return None
        (ky, kx), (sy, sx), (dy, dx) = p["kernel"], p["stride"], p["dilation"]
        try:
            if t.framework == "torch":
                pad_pos, op_pos = (4, 5) if t.kind == "deconv" else (4, None)
                if t.name.startswith("Lazy"):
                    pad_pos, op_pos = 3, 4
                given, pad = self.arg(e, Arg(pad_pos, ("padding",)))
                pads = _per_axis(pad if given else 0, 2)
                if pads is None:
                    return None
                ops: tuple[int, ...] = (0, 0)
                if op_pos is not None:
                    given, op = self.arg(e, Arg(op_pos, ("output_padding",)))
                    got = _per_axis(op if given else 0, 2)
                    if got is None:
                        return None
                    ops = got
                return deconv(
                    (ky, kx),
                    (sy, sx),
                    padding=(pads[0], pads[1]),
                    output_padding=(ops[0], ops[1]),
                    dilation=(dy, dx),
                    kind=t.kind,
                )
            # keras / flax: 'same' or 'valid'
            given, pad = self.arg(e, Arg(3, ("padding",)))
            mode = (
                str(pad).lower()
                if given and isinstance(pad, str)
                else ("valid" if t.framework == "keras" else "same")
            )
            if mode not in ("same", "valid"):
                return None
            return deconv((ky, kx), (sy, sx), dilation=(dy, dx), tf_padding=mode, kind=t.kind)
        except Exception:
            return None

    def _resize(self, e: ast.Call, qn: str | None) -> Layer | object | None:
        """Upsample / UpSampling2D layers inside a Sequential (None = not a spatial layer)."""
        if qn in (
            "torch.nn.Upsample",
            "torch.nn.UpsamplingNearest2d",
            "torch.nn.UpsamplingBilinear2d",
        ):
            given, f = self.arg(e, Arg(1, ("scale_factor",)))
            mode_given, mode = self.arg(e, Arg(2, ("mode",)))
            if qn.endswith("Bilinear2d"):
                mode = "bilinear"
            elif qn.endswith("Nearest2d") or not mode_given:
                mode = "nearest"
            f = _per_axis(f, 2) if given else None
            if f is None or mode not in ("nearest", "bilinear"):
                return _UNKNOWN
            return _layer_or_unknown(mode, f)
        if qn in ("keras.layers.UpSampling2D", "tensorflow.keras.layers.UpSampling2D"):
            given, f = self.arg(e, Arg(0, ("size",)))
            f = _per_axis(f if given else 2, 2)
            _, interp = self.arg(e, Arg(2, ("interpolation",)))
            mode = interp if interp in ("nearest", "bilinear") else "nearest"
            if f is None:
                return _UNKNOWN
            return _layer_or_unknown(mode, f)
        if qn in ("keras.layers.Conv2D", "tensorflow.keras.layers.Conv2D"):
            return _UNKNOWN if self.arg(e, Arg(2, ("strides",)))[0] else None
        return None


def _layer_or_unknown(kind: str, factor: tuple[int, ...]) -> Any:
    try:
        return Layer(AxisOp(kind, stride=factor[0]), AxisOp(kind, stride=factor[1]))
    except Exception:  # an invalid factor: the framework will refuse it, we do not guess
        return _UNKNOWN


def _binop(op: ast.operator, a: Any, b: Any) -> Any:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b)):
        return _UNKNOWN
    try:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.FloorDiv):
            return a // b
        if isinstance(op, ast.Mod):
            return a % b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.Pow) and abs(b) < 64:
            return a**b
    except (ZeroDivisionError, OverflowError):
        return _UNKNOWN
    return _UNKNOWN


def _module_constants(tree: ast.Module, source: str = "") -> dict[str, Any]:
    """Module-level names bound exactly once, by a plain assignment of a static value (any
    other binding anywhere at module level, or a ``global`` in a function, disqualifies)."""
    counts: dict[str, int] = {}

    def bump(names: set[str]) -> None:
        for n in names:
            counts[n] = counts.get(n, 0) + 1

    _bindings(tree.body, lambda st: bump(set(_import_bindings(st))), bump)
    if "global" in source:
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                bump(set(node.names))
    values: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            t = stmt.targets[0]
            if isinstance(t, ast.Name):
                values[t.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            values[stmt.target.id] = stmt.value
    checker = _Evaluator({})
    consts: dict[str, Any] = {}
    for name, node in values.items():  # in order: later constants may use earlier ones
        if counts.get(name) == 1:
            checker.consts = consts
            v = checker.value(node)
            if v is not _UNKNOWN:
                consts[name] = v
    return consts


def _per_axis(v: Any, ndim: int) -> tuple[int, ...] | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return (v,) * ndim
    if isinstance(v, tuple) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        if len(v) == ndim:
            return v
        if len(v) == 1:
            return v * ndim
    return None


@lru_cache(maxsize=256)
def _stack_map(stack: tuple[Layer, ...]) -> Any:
    """The overlap map of a stack (cached: the same stacks recur across files)."""
    try:
        return overlap_map(list(stack))
    except Exception:
        return None


@lru_cache(maxsize=512)
def _ratio(k: int, s: int, d: int) -> float:
    """Interior max/min of one axis: the overlap engine's per-phase tap count (no size limit)."""
    if s == 1:
        return 1.0
    own = _own_ratio(AxisOp("deconv", kernel=k, stride=s, dilation=d))
    return math.inf if own is None else float(own)


def _up(k: int, s: int) -> int:
    return max(s, -(-k // s) * s)


def _show(v: tuple[int, ...]) -> str:
    return str(v[0]) if len(set(v)) == 1 else "x".join(map(str, v))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"


# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------


def _noqa(source: str) -> tuple[dict[int, set[str] | None], set[str] | bool | None]:
    """Per-line noqa (None = blanket) and the file-level one (False = none, None = all)."""
    lines: dict[int, set[str] | None] = {}
    file_level: set[str] | bool | None = False
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        toks = []
    for tok in toks:
        if tok.type != tokenize.COMMENT:
            continue
        m = _FILE_NOQA.match(tok.line) if tok.line.strip().startswith("#") else None
        if m:
            codes = m.group("codes")
            if codes is None:
                file_level = None
            elif file_level is not None:
                prev = file_level if isinstance(file_level, set) else set()
                file_level = prev | {c.upper() for c in re.split(r"[,\s]+", codes) if c}
            continue
        m = _NOQA.search(tok.string)
        if m:
            codes = m.group("codes")
            lines[tok.start[0]] = (
                None if codes is None else {c.upper() for c in re.split(r"[,\s]+", codes) if c}
            )
    return lines, file_level


def _suppressed(code: str, selected: set[str] | None) -> bool:
    return selected is None or any(code.startswith(c) for c in selected)


def check_source(source: str, path: str) -> list[Violation]:
    """All findings (before selection) in one file's source; ``CBD901`` if it does not parse."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(source, filename=path)
    except RecursionError:
        return [Violation(path, 1, 1, 1, 2, "CBD901", "cannot parse: too deeply nested")]
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", 1) or 1
        col = getattr(exc, "offset", 1) or 1
        msg = getattr(exc, "msg", str(exc))
        return [Violation(path, line, col, line, col + 1, "CBD901", f"cannot parse: {msg}")]
    if not any(p in source for p in PREFILTER):
        return []  # nothing the rules look for
    newlines = [m.start() for m in re.finditer("\n", source)]
    pattern = _CANDIDATE
    aliases = _target_aliases(source)
    if aliases:
        names = "|".join(sorted(map(re.escape, aliases)))
        pattern = re.compile(rf"{_CANDIDATE.pattern}|\b(?:{names})\b")
    lines = sorted({bisect.bisect_left(newlines, m.start()) + 1 for m in pattern.finditer(source)})
    try:
        found = _Checker(path, tree, lines, source).run(tree)
    except RecursionError:
        return [Violation(path, 1, 1, 1, 2, "CBD901", "cannot analyse: too deeply nested")]
    if not found:
        return []
    if "noqa" not in source.lower():
        return sorted(found, key=lambda v: (v.line, v.col, v.code))
    per_line, file_level = _noqa(source)
    out = []
    for v in found:
        if file_level is not False and _suppressed(v.code, file_level):  # type: ignore[arg-type]
            continue
        if v.line in per_line and _suppressed(v.code, per_line[v.line]):
            continue
        out.append(v)
    return sorted(out, key=lambda v: (v.line, v.col, v.code))
