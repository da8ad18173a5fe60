"""A module's layer structure, extracted statically: an abstract interpreter over the parsed
source (never importing or running it) that follows what can be known without running code.

What it follows: literals and module constants; parameter defaults; literal arguments passed
from call sites in the linted tree (same module, or another module of the tree by import), by
running the called function's body with them ("inline", a few calls deep); ``self.attr`` set
earlier in the same method; loops over literal sequences, ``zip``, ``range``, ``enumerate``
(unrolled); lists built by ``append``/``extend``/``+=`` and Keras models built by ``add``;
``functools.partial``; literal ``**kwargs`` dicts; branches whose condition is known (and, where
it is not, what both branches agree on); and the symbolic fact ``kernel_size = c * stride``.
Values from configuration files, command lines or anything run-time stay unknown.

Every layer call the rules know ends as findings, clean, or unresolved with the reason; the
result (:class:`ModuleResult`) is what the lint rules report and what ``inspect --source``
reads.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import copy
import itertools
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from operator import attrgetter

from ..records import MutableRecord, Plain, Record
from .checks import CallArgs, check_stack, check_target, resampler, spatial_layer, stride_one
from .scopes import bindings, canonical, import_bindings, names_bound
from .skeleton import LAZY_TYPES, STRINGS, first_body_line, partial_body
from .targets import (
    ANY_DIMS,
    CONFIGURED,
    CONV_MODULES,
    DECONV_TYPES,
    LAYER_BUILDERS,
    MODELLED,
    MODULE_LISTS,
    MONAI,
    MONAI_CONV_FACTORY,
    MONAI_CONVOLUTION,
    MONAI_EVEN_NETS,
    MONAI_FACTORY_KINDS,
    MONAI_TUPLE_REP,
    MONAI_UNET,
    MONAI_UPSAMPLE,
    MONAI_UPSAMPLE_MODES,
    OF_ANY_DIMS,
    SEQUENTIALS,
    SHAPED,
    TARGETS,
    Arg,
    Target,
)
from .values import (
    GROWN,
    MAX_ITEMS,
    Choice,
    Func,
    Growth,
    Inst,
    LateUnknown,
    Layer,
    ModRef,
    Partial,
    Qual,
    Seq,
    Sym,
    Tensor,
    Unknown,
    as_tuple,
    binop,
    bounded,
    compare,
    dict_get,
    grow,
    known,
    merge,
    same,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

#: How many calls deep literal arguments are followed into the tree's functions.
MAX_DEPTH = 4
#: Loop iterations unrolled (a longer loop is followed once, its variables unknown).
MAX_UNROLL = 256
#: Evaluation steps per module (with what it runs of other modules) before the rest of it is
#: left unresolved ("the analysis budget ran out").
MAX_STEPS = 400_000
#: Runs of one function with literal arguments (distinct argument sets) followed.
MAX_RUNS = 64

RESIZERS = {
    "torch.nn.Upsample": None,
    "torch.nn.UpsamplingNearest2d": "nearest",
    "torch.nn.UpsamplingBilinear2d": "bilinear",
    "keras.layers.UpSampling2D": None,
    "tensorflow.keras.layers.UpSampling2D": None,
}
INIT_WORDS = ("icnr", "zeros_", "zero_", "constant_")
_LIBRARIES = ("torch.", "keras.", "tensorflow.", "tf_keras.", "flax.", "jax.", "haiku.")


class _Budget(Exception):
    pass


class Outcome(MutableRecord):
    """What became of one layer (or container) call over every run of its code."""

    node: ast.AST
    name: str
    findings: list[tuple[str, str, str]]  # (code, message, via)
    clean: bool = False
    reasons: list[str]

    _fields = ("node", "name", "findings", "clean", "reasons")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        node: ast.AST,
        name: str,
        findings: list[tuple[str, str, str]] | None = None,
        clean: bool = False,
        reasons: list[str] | None = None,
    ) -> None:
        self.node = node
        self.name = name
        self.findings = list() if findings is None else findings
        self.clean = clean
        self.reasons = list() if reasons is None else reasons

    # How the runs ended: a run with a caller's values (``via``) that was not known keeps the
    # call unresolved; one with no caller's values (parameters unbound) that was not known
    # counts only when no run with a caller's values checked the call (they supersede it).
    unknown_via: bool = False
    unknown_free: bool = False
    clean_via: bool = False

    @property
    def status(self) -> str:
        """The call's verdict: "finding" when any run found one; "clean" when every run that
        counts was even (the runs with a caller's values, or else the runs with none); else
        "unresolved"."""
        if self.findings:
            return "finding"
        if self.unknown_via:
            return "unresolved"
        if self.clean_via or (self.clean and not self.unknown_free):
            return "clean"
        return "unresolved"

    def reason(self) -> str:
        return self.reasons[0] if self.reasons else "not reached by the analysis"


#: The empty parameter set every :class:`FuncInfo` starts with.
_NONE: frozenset[str] = frozenset()


class FuncInfo(Plain):
    key: str
    qual: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    module: ModuleInfo
    cls: str | None = None  # the class key of a method
    targets: bool = False  # spans a line that may hold a layer call
    relevant: bool = False  # holds a layer call, or calls (a few calls deep) one that does
    callers: int = 0  # call sites in the tree (syntactic)
    # (starts as one shared empty frozenset: most functions are never called in the tree,
    # and ``|=`` rebinds rather than changes it)
    omitted: AbstractSet[str]  # parameters some call site leaves out
    runs: int = 0
    memo: dict[Any, Any] | None  # (made at the first call with arguments)

    _fields = (
        "key",
        "qual",
        "node",
        "module",
        "cls",
        "targets",
        "relevant",
        "callers",
        "omitted",
        "runs",
        "memo",
    )

    def __init__(
        self,
        key: str,
        qual: str,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
        module: ModuleInfo,
        cls: str | None = None,
        targets: bool = False,
        relevant: bool = False,
        callers: int = 0,
        omitted: AbstractSet[str] = _NONE,
        runs: int = 0,
        memo: dict[Any, Any] | None = None,
    ) -> None:
        self.key = key
        self.qual = qual
        self.node = node
        self.module = module
        self.cls = cls
        self.targets = targets
        self.relevant = relevant
        self.callers = callers
        self.omitted = omitted
        self.runs = runs
        self.memo = memo

    @property
    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        if isinstance(self.node, ast.ClassDef):
            for st in self.node.body:
                if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef) and st.name == "__init__":
                    return st
            return None
        return self.node


class ModuleInfo(Plain):
    """One module of the run. Its tree may be parsed only when first asked for (``load``:
    a module with no layer name in its text is parsed only if the analysis needs it), and
    its functions indexed then."""

    name: str
    path: str
    source: str
    _tree: ast.Module | None
    lines: list[int] | None  # lines that may hold a layer call (None: all)
    _funcs: dict[str, FuncInfo]
    env: dict[str, Any]
    class_env: dict[str, dict[str, Any]]
    outcomes: dict[int, Outcome]
    ran: bool = False
    _nl: list[int] | None = None
    load: Callable[[], ast.Module] | None = None  # parses the source (a lazy module)
    on_load: Callable[[ModuleInfo], None] | None = None  # indexes its functions
    loaded: bool = True

    _fields = (
        "name",
        "path",
        "source",
        "_tree",
        "lines",
        "_funcs",
        "env",
        "class_env",
        "outcomes",
        "ran",
        "_nl",
        "load",
        "on_load",
        "loaded",
    )

    def __init__(
        self,
        name: str,
        path: str,
        source: str,
        _tree: ast.Module | None,
        lines: list[int] | None,
        _funcs: dict[str, FuncInfo] | None = None,
        env: dict[str, Any] | None = None,
        class_env: dict[str, dict[str, Any]] | None = None,
        outcomes: dict[int, Outcome] | None = None,
        ran: bool = False,
        _nl: list[int] | None = None,
        load: Callable[[], ast.Module] | None = None,
        on_load: Callable[[ModuleInfo], None] | None = None,
        loaded: bool = True,
    ) -> None:
        self.name = name
        self.path = path
        self.source = source
        self._tree = _tree
        self.lines = lines
        self._funcs = dict() if _funcs is None else _funcs
        self.env = dict() if env is None else env
        self.class_env = dict() if class_env is None else class_env
        self.outcomes = dict() if outcomes is None else outcomes
        self.ran = ran
        self._nl = _nl
        self.load = load
        self.on_load = on_load
        self.loaded = loaded

    @property
    def tree(self) -> ast.Module:
        if self._tree is None:
            self._load()
        assert self._tree is not None
        return self._tree

    @property
    def funcs(self) -> dict[str, FuncInfo]:
        if not self.loaded:
            self._load()
        return self._funcs

    def _load(self) -> None:
        self.loaded = True
        if self._tree is None:
            self._tree = self.load() if self.load is not None else ast.Module([], [])
        if self.on_load is not None:
            self.on_load(self)

    @property
    def newlines(self) -> list[int]:
        """Offsets of the source's newlines (line ``n`` starts after ``newlines[n - 2]``)."""
        if self._nl is None:
            self._nl = newline_offsets(self.source)
        return self._nl

    def line_of(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def text_of_lines(self, first: int, last: int) -> tuple[int, int]:
        """``(start, stop)`` offsets of lines ``first..last``."""
        return lines_span(self.newlines, len(self.source), first, last)

    def spans(self, node: ast.AST) -> bool:
        if self.lines is None:
            return True
        decorators = getattr(node, "decorator_list", None)
        start = min(node.lineno, decorators[0].lineno) if decorators else node.lineno  # type: ignore[attr-defined]
        i = bisect.bisect_left(self.lines, start)
        return i < len(self.lines) and self.lines[i] <= (node.end_lineno or node.lineno)  # type: ignore[attr-defined]


def lines_span(newlines: list[int], size: int, first: int, last: int) -> tuple[int, int]:
    """``(start, stop)`` offsets of lines ``first..last`` of a text of ``size`` characters
    whose :func:`newline_offsets` are ``newlines`` (the last line's newline left out)."""
    start = 0 if first <= 1 else newlines[first - 2] + 1 if first - 2 < len(newlines) else size
    stop = newlines[last - 1] if 0 <= last - 1 < len(newlines) else size
    return start, stop


def newline_offsets(source: str) -> list[int]:
    """The offsets of ``source``'s newlines (line lengths summed in C, not a loop here)."""
    parts = source.split("\n")
    parts.pop()
    return list(map(operator.add, itertools.accumulate(map(len, parts)), itertools.count()))


class ModuleResult(MutableRecord):
    """The layer calls of one module and what became of each."""

    path: str
    outcomes: list[Outcome]

    _fields = ("path", "outcomes")
    _key = attrgetter(*_fields)

    def __init__(self, path: str, outcomes: list[Outcome]) -> None:
        self.path = path
        self.outcomes = outcomes


def module_names(path: str, root: str | None) -> list[str]:
    """The dotted name of a file below ``root`` and its shorter suffixes (``src.pkg.mod``,
    ``pkg.mod``, ``mod``): an import may name any of them."""
    rel = None
    if root:
        prefix = root if root.endswith(os.sep) else root + os.sep
        if path.startswith(prefix):  # (``relpath`` makes both absolute: a cost per file)
            rel = path[len(prefix) :]
            if ".." in rel.split(os.sep):
                rel = None
        if rel is None:
            rel = os.path.relpath(path, root)
    else:
        rel = os.path.basename(path)
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]
    if not parts or parts[0] == "..":
        parts = [os.path.basename(path)]
    last = parts[-1]
    for suf in (".py", ".pyi", ".ipynb"):
        if last.endswith(suf):
            last = last[: -len(suf)]
    parts[-1] = last
    if parts[-1] == "__init__":
        parts = parts[:-1] or ["__init__"]
    return [".".join(parts[i:]) for i in range(len(parts))]


def relative_name(name: str, path: str, level: int, module: str | None) -> str | None:
    """The module ``from {'.' * level}{module} import ...`` names in module ``name`` (at
    ``path``), or None when it goes above the top of the tree."""
    parts = name.split(".")
    is_pkg = os.path.basename(path).startswith("__init__.")
    base = parts if is_pkg else parts[:-1]
    if level - 1 > len(base):
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([module] if module else [])]) or None


class Project:
    """The modules of one lint run, for resolving imports and call sites across them."""

    def __init__(self) -> None:
        self.modules: list[ModuleInfo] = []
        self.by_name: dict[str, ModuleInfo | None] = {}
        self.funcs: dict[str, FuncInfo] = {}
        self.steps = 0
        self.stack: list[str] = []

    def add(
        self,
        path: str,
        source: str,
        tree: ast.Module | None,
        lines: list[int] | None,
        root: str | None,
        load: Callable[[], ast.Module] | None = None,
        newlines: list[int] | None = None,
    ) -> ModuleInfo:
        """A module of the run: ``tree`` parsed, or None with ``load`` to parse it when the
        analysis first needs it (then its functions are indexed). ``newlines``: the source's
        :func:`newline_offsets`, when the caller has them."""
        names = module_names(path, root)
        m = ModuleInfo(names[0], path, source, tree, lines, load=load, _nl=newlines)
        self.modules.append(m)
        for i, n in enumerate(names):
            if n in self.by_name and self.by_name[n] is not m:
                if i == 0 or self.by_name[n] is None:
                    continue
                self.by_name[n] = None  # ambiguous suffix
            else:
                self.by_name[n] = m
        if tree is None:
            m.loaded = False
            m.on_load = self._index
        else:
            self._index(m)
        return m

    def _index(self, m: ModuleInfo) -> None:
        self._walk(m, m.tree.body, "", None)

    def _walk(self, m: ModuleInfo, body: list[ast.stmt], prefix: str, cls: str | None) -> None:
        """The functions and classes ``body`` defines, and those they define (a method, not a
        closure that calls itself: that would be a cycle, and hold the module and the project
        until the cyclic garbage collector ran)."""
        for st in body:
            if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qual = f"{prefix}{st.name}"
                key = f"{m.name}:{qual}"
                f = FuncInfo(
                    key, qual, st, m, cls=cls if not isinstance(st, ast.ClassDef) else None
                )
                f.targets = m.spans(st)
                m._funcs[qual] = f
                self.funcs[key] = f
                if "_cbdiag_lazy" in st.__dict__:
                    continue  # a body left out of the skeleton defines nothing
                a, b = m.text_of_lines(first_body_line(st), st.end_lineno or st.lineno)
                if m.source.find("def ", a, b) < 0 and m.source.find("class ", a, b) < 0:
                    continue  # nothing is defined inside (a walk of the body for nothing)
                if isinstance(st, ast.ClassDef):
                    self._walk(m, st.body, f"{qual}.", key)
                else:
                    self._walk(m, st.body, f"{qual}.<locals>.", None)
            elif isinstance(st, ast.If | ast.Try | ast.With | ast.For | ast.While):
                for part in ("body", "orelse", "finalbody"):
                    self._walk(m, getattr(st, part, []) or [], prefix, cls)
                for h in getattr(st, "handlers", []):
                    self._walk(m, h.body, prefix, cls)

    def release(self) -> None:
        """Drop what the analysis built: modules and functions point at each other, so
        without this every tree would wait for the cyclic garbage collector (which then walks
        them all at once)."""
        for f in self.funcs.values():
            f.__dict__.clear()
        for m in self.modules:
            m.__dict__.clear()
        self.funcs.clear()
        self.modules.clear()
        self.by_name.clear()

    def module(self, name: str | None) -> ModuleInfo | None:
        if not name:
            return None
        return self.by_name.get(name)

    def relative(self, m: ModuleInfo, level: int, module: str | None) -> str | None:
        return relative_name(m.name, m.path, level, module)

    def _reaching_lines(
        self,
        m: ModuleInfo,
        names: dict[str, list[FuncInfo]],
        keys: set[bytes],
        local: set[str],
    ) -> dict[int, set[str]]:
        """Lines of ``m`` with a call that may reach one of ``names`` (module-level functions
        and classes, by ``m``'s imports: see :meth:`may_call`; ``keys`` their
        :func:`call_keys`) or of ``local`` (methods of ``m``'s classes), with the names
        called."""
        table = self._call_table(m)
        out: dict[int, set[str]] = {}
        wanted = table.called(names.keys(), keys) | table.called(local)
        imp = None
        if " as " in m.source and (  # an imported name may be called by another name
            wanted or not _as_originals(m).isdisjoint(names)
        ):
            imp = self.import_summary(m)
            wanted |= table.called(a for a, orig in imp.aliases.items() if orig in names)
        cache: dict[tuple[str, str], bool] = {}
        for name in wanted:
            orig = imp.aliases.get(name, name) if imp is not None else name
            fs = names.get(orig, ())
            for line, base in table.sites(name):
                ok = name in local
                if not ok:
                    key = (name, base)
                    if key not in cache:
                        cache[key] = self.may_call_any(m, name, base, fs)
                    ok = cache[key]
                if ok and name in code_calls(m, line):  # not in a docstring or a comment
                    out.setdefault(line, set()).add(name)
        return out

    def _call_table(self, m: ModuleInfo) -> _CallText:
        """The textual calls of ``m`` (see :class:`_CallText`)."""
        got = m.__dict__.get("_call_text")
        if got is None:
            got = _CallText(m)
            m._call_text = got  # type: ignore[attr-defined]
        return got

    # -- which call sites may reach a function of another module ----------------------------
    def import_summary(self, m: ModuleInfo) -> _Imports:
        """What ``m``'s import statements bind (read from their own lines, see
        :func:`import_statements`; from the tree's statements at those lines when the text
        alone cannot tell)."""
        got = m.__dict__.get("_imports")
        if got is not None:
            return got
        out = _Imports()
        src = m.source
        found = import_statements(src)
        if found is None:  # (the text alone cannot tell: the tree's statements at those lines)
            found = []
            seen: set[int] = set()
            for i in _import_words(src):
                st = statement_at(m.tree.body, m.line_of(i))
                if isinstance(st, ast.Import | ast.ImportFrom) and id(st) not in seen:
                    seen.add(id(st))
                    found.append(st)
        for st in found:
            self._summarise(m, st, out)
        m._imports = out  # type: ignore[attr-defined]
        return out

    def _summarise(self, m: ModuleInfo, st: ast.Import | ast.ImportFrom, out: _Imports) -> None:
        if isinstance(st, ast.Import):
            for a in st.names:
                if a.asname:
                    out.modules[a.asname] = a.name
                else:
                    out.modules[a.name.split(".")[0]] = a.name.split(".")[0]
            return
        src = self.relative(m, st.level, st.module) if st.level else st.module
        for a in st.names:
            if a.name == "*":
                out.stars.append(src)
                continue
            bound = a.asname or a.name
            out.names[bound] = (src, a.name)
            if a.asname:
                out.aliases[a.asname] = a.name

    def _leads_to(self, modname: str | None, target: ModuleInfo, leaf: str) -> bool:
        """May ``modname`` (a module an import names) hold ``target``'s ``leaf``: it is that
        module, a package above it, a module that mentions the name (a re-export), or a name
        cbdiag cannot tell apart (an unresolved relative import, an ambiguous suffix)."""
        if modname is None:
            return True
        if modname in self.by_name:
            tm = self.by_name[modname]
            if tm is None or tm is target:
                return True
            return target.name.startswith(tm.name + ".") or leaf in tm.source
        return modname in target.name.split(".") or target.name.endswith("." + modname)

    def may_call_any(self, m: ModuleInfo, leaf: str, base: str, fs: Sequence[FuncInfo]) -> bool:
        """:meth:`may_call` for any of ``fs`` (functions of one name in many modules): what
        rules them all out at once (no import binds the name) is decided once."""
        if not fs:
            return False
        if any(f.module is m for f in fs):
            return True
        if base in ("self", "cls", "super"):
            return False
        imp = self.import_summary(m)
        if not imp.stars and (base or leaf) not in imp.names and base not in imp.modules:
            return False  # (``base`` is "" for a bare name: never a module's bound name)
        return any(self.may_call(m, leaf, base, f) for f in fs)

    def may_call(self, m: ModuleInfo, leaf: str, base: str, f: FuncInfo) -> bool:
        """Can a call of ``leaf`` (after ``base.``, or bare) in module ``m`` reach ``f``, a
        function or class of module level? By the imports of ``m``; in doubt, yes."""
        target = f.module
        if target is m:
            return True
        own = f.qual.rsplit(".", 1)[-1]
        imp = self.import_summary(m)
        if not base:
            src = imp.names.get(leaf)
            if src is not None:
                return src[1] == own and self._leads_to(src[0], target, own)
            return any(self._leads_to(s, target, own) for s in imp.stars)
        if base in ("self", "cls", "super"):
            return False
        if base in imp.modules:
            return self._leads_to(imp.modules[base], target, own)
        src = imp.names.get(base)
        if src is not None:  # from pkg import mod; mod.f(...)
            full = f"{src[0]}.{src[1]}" if src[0] else src[1]
            return self._leads_to(full, target, own) or self._leads_to(src[0], target, own)
        return bool(imp.stars)

    def _calls_at(self, m: ModuleInfo, lines: set[int]) -> list[ast.Call]:
        """The calls on ``lines``: only the innermost statement holding each is walked."""
        roots: dict[int, ast.AST] = {}
        for line in lines:
            st = statement_at(m.tree.body, line)
            if st is not None:
                roots[id(st)] = st
        out: list[ast.Call] = []
        for root in roots.values():
            out.extend(n for n in _calls_in(root) if n.lineno in lines)
        return out

    def count_callers(self) -> None:
        """Which functions matter (they hold a layer call, or call one a few calls deep), and
        the call sites of those (by the called name) with the parameters they pass. Found
        textually first, then only the functions around those lines are walked; a method's
        call sites (``self.name(...)``) are looked for in its own module only."""
        names: dict[str, list[FuncInfo]] = {}  # module-level functions and classes
        methods: dict[str, list[FuncInfo]] = {}
        local_methods: dict[int, set[str]] = {}  # id(module) -> names of its relevant methods

        def add(f: FuncInfo) -> None:
            f.relevant = True
            leaf = f.qual.rsplit(".", 1)[-1]
            if f.cls is None and "<locals>" not in f.qual:
                names.setdefault(leaf, []).append(f)
            elif not leaf.startswith("__"):  # __init__ is called through the class's name;
                # a method, or a function nested in another, is called from its own module
                methods.setdefault(leaf, []).append(f)
                local_methods.setdefault(id(f.module), set()).add(leaf)

        for f in self.funcs.values():
            if f.targets:
                add(f)
        if not names and not methods:
            return
        self._subclasses(names, add)
        hits: dict[int, dict[int, set[str]]] = {}
        for _ in range(MAX_DEPTH):
            grew = False
            keys = call_keys(names)  # (once per round: the names grow between rounds)
            for m in self.modules:
                found = self._reaching_lines(m, names, keys, local_methods.get(id(m), set()))
                hits[id(m)] = found
                m.reaching = found  # type: ignore[attr-defined]
                if not found:
                    continue
                m.mentions = True  # type: ignore[attr-defined]
                lines = sorted(found)
                for f in m.funcs.values():
                    if f.relevant:
                        continue
                    a, b = f.node.lineno, f.node.end_lineno or f.node.lineno
                    k = bisect.bisect_left(lines, a)
                    if k < len(lines) and lines[k] <= b:
                        add(f)
                        grew = True
            if not grew:
                break
        for f in self.funcs.values():
            # the methods of a class whose __init__ makes a pixel shuffle see its layers (is a
            # convolution's output shuffled?)
            if f.cls is not None and not f.relevant:
                init = self.funcs.get(f"{f.cls}.__init__")
                cls = self.funcs.get(f.cls)
                if init is not None and init.targets and cls is not None and _shuffle_class(cls):
                    f.relevant = True
        for m in self.modules:
            found = hits.get(id(m)) or {}
            # partial(f, ...) of a function that matters (from the text's partial calls)
            partial_lines = {
                line
                for name, sites in self._call_table(m).partials.items()
                if name in names or name in methods
                for line, _ in sites
            }
            if not found and not partial_lines:
                continue
            aliases = self.import_summary(m).aliases if found else {}
            for node in self._calls_at(m, set(found) | partial_lines):
                fn = node.func
                leaf = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
                base = _base(fn)
                for f in names.get(aliases.get(leaf or "", leaf or ""), ()):
                    if self.may_call(m, leaf or "", base, f):
                        self._site(f, node)
                for f in methods.get(leaf or "", ()):
                    if f.module is m:
                        self._site(f, node)
                if leaf == "partial" and node.args:
                    a0 = node.args[0]
                    if isinstance(a0, ast.Name | ast.Attribute):
                        name = a0.id if isinstance(a0, ast.Name) else a0.attr
                        for f in names.get(name, []) + methods.get(name, []):
                            f.callers += 1
                            f.omitted |= set(_param_names(f))

    def _subclasses(
        self, names: dict[str, list[FuncInfo]], add: Callable[[FuncInfo], None]
    ) -> None:
        """Classes whose base is a class that matters (by its name) matter too: a subclass of
        a class of the tree that subclasses a layer is that layer."""
        classes = [
            (f, f.node.bases)
            for f in self.funcs.values()
            if not f.relevant and isinstance(f.node, ast.ClassDef) and f.node.bases
        ]
        for _ in range(MAX_DEPTH):
            grew = False
            for f, bases in classes:
                if f.relevant:
                    continue
                for b in bases:
                    leaf = b.id if isinstance(b, ast.Name) else getattr(b, "attr", None)
                    if leaf in names and any(g.node is not f.node for g in names[leaf]):
                        add(f)
                        grew = True
                        break
            if not grew:
                return

    def _site(self, f: FuncInfo, node: ast.Call) -> None:
        fn = f.function
        f.callers += 1
        if fn is None:
            return
        params = _param_names(f)
        # the parameters named here, by position up to a *args and by keyword; one that forwards
        # *args or **kwargs may leave any other to its default (``lambda **kw: create("S",
        # **kw)``)
        npos = next((i for i, a in enumerate(node.args) if isinstance(a, ast.Starred)), None)
        given = set(params[: len(node.args) if npos is None else npos])
        given |= {k.arg for k in node.keywords if k.arg}
        f.omitted |= set(params) - given


class _Reads(CallArgs):
    """Call arguments that remember the values a check read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[Any] = []

    def get(self, spec: Any, what: str) -> tuple[bool, Any]:
        given, v = super().get(spec, what)
        if given:
            self.read.append(v)
        return given, v


#: What :meth:`Interpreter._settled` found for a target and its arguments' values (the
#: function's own names unknown): the findings (``[]``: clean), or None when the check read a
#: value that is not known. Bounded; the same calls recur across files.
_SETTLED: dict[Any, Any] = {}
#: What :meth:`Interpreter.settle` found for a statement, by :func:`_shared_key`: shared by
#: the modules where its words have the same values (the same blocks recur across files).
#: Bounded.
_SHARED: dict[tuple[Any, ...], Any] = {}
_LOCAL = Unknown("a name the function binds")


def _key(v: Any) -> Any:
    """One argument's value as part of a key, every unknown alike (None: no key)."""
    if isinstance(v, Unknown | Sym):
        return _LOCAL_KEY
    if known(v):
        return _fingerprint(v)
    if isinstance(v, Seq) and known(as_tuple(v)):
        return ("list", tuple(v.items))
    return None


_LOCAL_KEY = ("?",)


_AS_WORD = re.compile(r"as[ \t]")  # (after a space or tab; a literal first: a fast search)


def word_before(src: str, lo: int, end: int, dots: bool = False) -> str | None:
    """The word (with its dots, if ``dots``) that ends where only spaces and tabs are left
    before ``end``, none of it before ``lo``: ``([\\w.]+)[ \\t]*$`` searched in
    ``src[lo:end]``, read backwards from ``end`` (a search tries every start of the window).
    As ``$`` does, it also ends before a newline that ends the window."""
    j = end - 1 if end > lo and src[end - 1] == "\n" else end
    while j > lo and src[j - 1] in " \t":
        j -= 1
    k = j
    while k > lo:
        c = src[k - 1]
        if c.isalnum() or c == "_" or (dots and c == "."):
            k -= 1
        else:
            break
    return src[k:j] if k < j else None


def _import_words(src: str) -> Iterator[int]:
    """Offsets of the word ``import`` that may begin an import statement's keyword: first on
    its line, or after ``from`` and the module's name."""
    i = src.find("import")
    while i >= 0:
        if src[i + 6 : i + 7] in _AFTER_IMPORT:  # (not ``important``, ``import_module``)
            # (the line's start looked for no further back than an import's head can reach:
            # a line of a megabyte with a word ``import`` every few bytes stays linear)
            start = src.rfind("\n", max(0, i - MAX_IMPORT_HEAD), i) + 1
            if start or i <= MAX_IMPORT_HEAD:
                head = src[start:i].strip()
                if not head or (head.startswith("from") and head[4:5] in _AFTER_FROM):
                    yield i  # an import line, not a word in text
        i = src.find("import", i + 6)


#: The longest ``from module`` before an ``import`` read as a statement's head (characters).
MAX_IMPORT_HEAD = 1000


_AFTER_IMPORT = frozenset(" \t(\\")
_AFTER_FROM = frozenset(" \t.")


def _triple_quoted(src: str, stop: int) -> list[tuple[int, int]]:
    """Spans of the triple-quoted strings of ``src`` that open before offset ``stop``
    (comments and one-line strings are stepped over in the order the tokenizer meets them,
    so a quote inside them opens nothing)."""
    if '"""' not in src and "'''" not in src:
        return []
    out = []
    for m in STRINGS.finditer(src):
        if m.start() > stop:
            break
        if src.startswith(('"""', "'''"), m.start()):
            out.append(m.span())
    return out


def _statement_end(src: str, i: int) -> int:
    """The end of the line where the import statement around offset ``i`` ends: after the
    parenthesis its names open (comments stepped over), and past lines continued by a
    backslash."""
    end = src.find("\n", i)
    end = len(src) if end < 0 else end
    code = src[i:end].split("#", 1)[0]  # (an import holds no string: a ``#`` is a comment)
    if "(" in code and ")" not in code[code.index("(") :]:
        pos = end + 1
        while pos < len(src):
            nxt = src.find("\n", pos)
            nxt = len(src) if nxt < 0 else nxt
            if ")" in src[pos:nxt].split("#", 1)[0]:
                return nxt
            pos = nxt + 1
        return len(src)
    while end < len(src) and _continued(src, end):
        nxt = src.find("\n", end + 1)
        end = len(src) if nxt < 0 else nxt
    return end


def _continued(src: str, end: int) -> bool:
    """Does the line ending at offset ``end`` end in a backslash (the next line goes on)?"""
    return src[src.rfind("\n", 0, end) + 1 : end].rstrip(" \t").endswith("\\")


def import_statements(src: str) -> list[ast.Import | ast.ImportFrom] | None:
    """The import statements of a module (at any depth: in functions, classes, branches),
    in the order of the text, read from their own lines: each line where an import may
    start (:func:`_import_words`) and is not inside a triple-quoted string is parsed alone
    with its continuation lines (the whole module is not parsed). None when such a line
    does not parse alone (the text alone cannot tell what it is)."""
    starts = list(_import_words(src))
    if not starts:
        return []
    strings = _triple_quoted(src, starts[-1])
    opens = [a for a, _ in strings]
    texts: list[str] = []
    done = -1
    for i in starts:
        if i < done:
            continue  # (a name of the statement read last: ``from a import (b,\n import_c)``)
        k = bisect.bisect_right(opens, i) - 1
        if k >= 0 and i < strings[k][1]:
            continue  # (text in a docstring)
        line = src.rfind("\n", 0, i) + 1
        while line > 1 and _continued(src, line - 1):  # (``from a \\`` on the line before)
            line = src.rfind("\n", 0, line - 1) + 1
        done = _statement_end(src, i)
        texts.append(src[line:done].lstrip(" \t"))
    if not texts:
        return []
    try:
        body = ast.parse("\n".join(texts)).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return [st for st in body if isinstance(st, ast.Import | ast.ImportFrom)]


def _as_originals(m: ModuleInfo) -> set[str]:
    """The words before `` as `` in ``m``'s text: the names it may import under another
    name (from the text, once per module)."""
    got = m.__dict__.get("_as_originals")
    if got is None:
        got = set()
        src = m.source
        for hit in _AS_WORD.finditer(src):
            start = hit.start() - 1  # (the space or tab before "as")
            if start < 0 or src[start] not in " \t":
                continue
            before = word_before(src, max(0, start - 80), start)
            if before:
                got.add(before)
        m._as_originals = got  # type: ignore[attr-defined]
    return got


def _class_level_lines(m: ModuleInfo, st: ast.ClassDef) -> bool:
    """Does a line of the class that may hold a layer call lie outside its methods' bodies
    (a class attribute, a default value, a decorator, a nested class)?"""
    if m.lines is None:
        return True
    lo = bisect.bisect_left(m.lines, st.lineno)
    hi = bisect.bisect_right(m.lines, st.end_lineno or st.lineno)
    if lo == hi:
        return False
    bodies = [
        (first_body_line(d), d.end_lineno or d.lineno)
        for d in st.body
        if isinstance(d, ast.FunctionDef | ast.AsyncFunctionDef) and not d.decorator_list
    ]
    for line in m.lines[lo:hi]:
        for a, b in bodies:
            if a <= line <= b:
                break
        else:
            return True
    return False


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "?")
    return ".".join(reversed(parts))


def _simple(node: ast.AST) -> bool:
    """What a settled call's arguments may hold: names, attributes, literals and arithmetic
    (no call, no comprehension, no walrus: nothing that runs code or binds a name)."""
    t = type(node)
    if t is ast.Constant or t is ast.Name:
        return True
    if t is ast.Attribute:
        return _simple(node.value)  # type: ignore[attr-defined]
    if t is ast.Tuple or t is ast.List:
        return all(_simple(e) for e in node.elts)  # type: ignore[attr-defined]
    if t is ast.BinOp:
        return _simple(node.left) and _simple(node.right)  # type: ignore[attr-defined]
    if t is ast.UnaryOp:
        return _simple(node.operand)  # type: ignore[attr-defined]
    return False


def _calls_of(st: ast.stmt) -> tuple[list[ast.Call], bool]:
    """The calls in a statement (``x = f(...)`` and ``f(...)`` without a walk), and whether
    that is one call of plain arguments (see :func:`_simple`)."""
    t = type(st)
    value = None
    if t is ast.Expr:
        value = st.value  # type: ignore[attr-defined]
    elif t is ast.Assign:
        value = st.value  # type: ignore[attr-defined]
        for target in st.targets:  # type: ignore[attr-defined]
            if not _simple(target):
                value = None
                break
    if type(value) is ast.Call and _simple(value.func):
        for a in value.args:
            if not _simple(a):
                break
        else:
            for k in value.keywords:
                if not _simple(k.value):
                    break
            else:
                return [value], True
    return _calls_in(st), False


#: Nodes no call is under (not walked by :func:`_calls_in`).
_NO_CALLS = frozenset((ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del))


def _calls_in(node: ast.AST) -> list[ast.Call]:
    """The calls under ``node`` (itself included) in the order of ``ast.walk``, breadth
    first, without its generators or the leaves no call is under."""
    out = []
    todo = [node]
    for n in todo:  # (the list grows as it is read: a queue)
        if type(n) is ast.Call:
            out.append(n)
        for name in n._fields:
            v = getattr(n, name, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, ast.AST) and type(x) not in _NO_CALLS:
                        todo.append(x)
            elif isinstance(v, ast.AST) and type(v) not in _NO_CALLS:
                todo.append(v)
    return out


#: Compound statements (a body of statements under a header).
_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.While,
    ast.For,
    ast.AsyncFor,
    ast.With,
    ast.AsyncWith,
    ast.Try,
)
#: Statements :func:`header_roots` gives a header of (a line of one is not the statement).
_HEADED = (*_COMPOUND, ast.AnnAssign, ast.Match)


def _bound_names(f: FuncInfo, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names ``fn`` binds (:func:`names_bound`), once per function (a frame reads them,
    never changes them), and without a walk for the usual body of attribute assignments and
    calls (only the parameters bind there)."""
    got: set[str] | None = f.__dict__.get("_bound_names")
    if got is not None:
        return got
    got = _names_of(fn.body, fn.args)
    f._bound_names = got  # type: ignore[attr-defined]
    return got


#: The words of a statement's text that may be names (a word not starting with a digit).
_NAME_WORDS = re.compile(r"[^\W\d]\w*")


def _shared_key(
    m: ModuleInfo, key: tuple[Any, ...], text: str, names: set[str], pattern: re.Pattern[str]
) -> tuple[Any, ...] | None:
    """The key of a settled statement's checks in any module: its key in
    ``m`` (its text, columns and the function's own names it holds), the module's pattern of
    layer names, and the value in ``m`` of every other word of the text that ``m`` binds. A
    word ``m`` does not bind is looked up as a builtin or is not known, alike in every
    module. None when a word's value is ``m``'s alone (a function or module of the tree, a
    name imported from one): the checks are then ``m``'s own.

    The checks read nothing else: the statement's calls are plain names and attributes
    called with literals, the function's own names (unknown here) and module-level names
    (see :meth:`Interpreter.settle`)."""
    env = m.env
    parts: list[Any] = [pattern, key]
    for w in sorted(set(_NAME_WORDS.findall(text))):
        if w in names:
            continue  # (the function's own: in ``key``)
        if w in env:
            fp = _fingerprint(env[w])
            if fp is None:
                return None
            parts.append((w, fp))
        elif w in m.funcs:
            return None
    return tuple(parts)


#: A layer call's findings and overlap layer by its target and arguments (see
#: :func:`_args_key`): the same layers recur across a tree's blocks and files. Bounded.
_CHECKED: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _args_key(t: Target, args: CallArgs) -> tuple[Any, ...] | None:
    """The key of a target's check by the values of its arguments, when every one is a
    constant (see :func:`_fingerprint`; None otherwise: an unknown's reason is its own)."""
    if args.star is not None or args.kwstar is not None:
        return None
    parts: list[Any] = [id(t), len(args.pos)]  # (targets live as long as the table)
    for v in args.pos:
        fp = _fingerprint(v)
        if fp is None:
            return None
        parts.append(fp)
    for k, v in args.kw.items():
        fp = _fingerprint(v)
        if fp is None:
            return None
        parts.append((k, fp))
    return tuple(parts)


def _fingerprint(v: Any) -> Any:
    """A module-level value as part of a key shared by modules (None: a value of its module
    alone). Constants are told apart by type (``1`` from ``True`` and ``1.0``)."""
    t = type(v)
    if t is Qual:
        return ("import", v.name)
    if v is None or t is int or t is float or t is str or t is bool:
        return (t.__name__, v)
    if t is tuple:
        items = tuple(_fingerprint(x) for x in v)
        return None if any(x is None for x in items) else ("tuple", items)
    return None


def _names_of(body: list[ast.stmt], a: ast.arguments) -> set[str]:
    """The names a function of ``body`` and parameters ``a`` binds (without a walk for the
    usual body of attribute assignments and calls: only the parameters bind there)."""
    for st in body:
        t = type(st)
        if t is ast.Expr:
            continue
        if t is ast.Assign:
            targets = st.targets  # type: ignore[attr-defined]
            if len(targets) == 1 and type(targets[0]) is ast.Attribute:
                continue
        return set(names_bound(body, a))
    got = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
    if a.vararg is not None:
        got.add(a.vararg.arg)
    if a.kwarg is not None:
        got.add(a.kwarg.arg)
    return got


def _outcome_of(m: ModuleInfo, node: ast.AST, name: str) -> Outcome:
    oc = m.outcomes.get(id(node))
    if oc is None:
        oc = m.outcomes[id(node)] = Outcome(node, name)
    return oc


def _note(oc: Outcome, res: Any, via: str) -> None:
    """A check's result in the outcome of its call (``via``: the call chain it came by,
    empty for a run with no caller's values, whose reason for not knowing comes first)."""
    if isinstance(res, Unknown):
        if via:
            oc.reasons.append(res.reason)
            oc.unknown_via = True
        else:
            oc.reasons.insert(0, res.reason)
            oc.unknown_free = True
    elif res:
        for code, msg in res:
            if not any(c == code for c, _, _ in oc.findings):
                oc.findings.append((code, msg, via))
    else:
        oc.clean = True
        if via:
            oc.clean_via = True


def _param_names(f: FuncInfo) -> list[str]:
    fn = f.function
    if fn is None:
        return []
    a = fn.args
    names = [p.arg for p in [*a.posonlyargs, *a.args]]
    if f.cls is not None or isinstance(f.node, ast.ClassDef):
        names = names[1:]  # self
    return names + [p.arg for p in a.kwonlyargs]


# ---------------------------------------------------------------------------------------------
# the interpreter
# ---------------------------------------------------------------------------------------------


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _TailReturn(_Return):
    """Both ways of an ``if`` returned, each after running the statements that follow it."""


_BREAK, _CONTINUE, _TAIL = "break", "continue", "tail"

#: The statements that may follow an ``if`` for :meth:`Interpreter.branch` to run them on each
#: way: at most this many, each one of these (no loop, no nested block).
_TAIL_MAX = 3
_TAIL_TYPES = (ast.Return, ast.Assign, ast.Expr, ast.AnnAssign, ast.AugAssign)


def _short_tail(stmts: list[ast.stmt], start: int) -> bool:
    n = len(stmts) - start
    return 0 < n <= _TAIL_MAX and all(type(st) in _TAIL_TYPES for st in stmts[start:])


def _narrow(test: ast.expr, env: dict[str, Any], resolved: Callable[[Any], Any]) -> None:
    """On the way an ``if name == literal:`` takes, a local whose value is not known is that
    literal (an int or a string: equal to it means being it for the rules)."""
    if (
        type(test) is ast.Compare
        and len(test.ops) == 1
        and type(test.ops[0]) is ast.Eq
        and type(test.left) is ast.Name
        and type(test.comparators[0]) is ast.Constant
    ):
        v = test.comparators[0].value
        name = test.left.id
        if (
            isinstance(v, int | str)
            and not isinstance(v, bool)
            and name in env
            and not known(resolved(env[name]))
        ):
            env[name] = v


_PENDING = object()


class _Import:
    """A name a ``from`` import binds from a module of the tree, read from that module the
    first time the name is used (:meth:`Interpreter.resolved`): a module is parsed and run
    for a name only when the analysis reads that name."""

    __slots__ = ("module", "name", "value")

    def __init__(self, module: ModuleInfo, name: str) -> None:
        self.module = module
        self.name = name
        self.value: Any = _PENDING

    def __eq__(self, other: object) -> bool:  # (the same name of the same module: one value)
        if type(other) is not _Import:
            return NotImplemented
        return self.module is other.module and self.name == other.name

    def __hash__(self) -> int:
        return hash((id(self.module), self.name))


class Frame:
    """One run of a body: its local names, the module, the class (methods), ``self``."""

    def __init__(
        self,
        module: ModuleInfo,
        locals_: dict[str, Any],
        *,
        local_names: set[str] | None = None,
        via: tuple[str | _Site, ...] = (),
        depth: int = 0,
        func: FuncInfo | None = None,
        class_env: dict[str, Any] | None = None,
        inst: Inst | None = None,
    ) -> None:
        self.module = module
        self.locals = locals_
        self.local_names = local_names or set()
        self.via = via
        self.depth = depth
        self.func = func
        self.class_env = class_env
        self.inst = inst
        self.seqs: list[Seq] = []  # Keras Sequential models made here (checked at the end)
        self.dead = False  # in code that does not run: checked, calls not followed
        self.hooked: str | None = None  # the layer checked here may run another weight: why


class Interpreter:
    def __init__(self, project: Project) -> None:
        self.p = project

    # -- running modules and functions ------------------------------------------------------
    def run_module(self, m: ModuleInfo) -> None:
        if m.ran:
            return
        m.ran = True
        counts: dict[str, int] = {}
        for st in _globals(m):
            for n in st.names:
                counts[n] = counts.get(n, 0) + 2
        _count_bindings(m.tree.body, counts)
        frame = Frame(m, m.env)
        multi = {n for n, c in counts.items() if c > 1}
        try:
            self.block(m.tree.body, frame, module_level=True)
        except _Return:
            pass
        except _Budget:
            pass
        self._finish(frame)
        for n in multi:
            if n in m.env and not isinstance(self.resolved(m.env[n]), Func | Qual | ModRef):
                m.env[n] = Unknown(f"`{n}` is bound more than once at module level")
        # every function that may hold a layer call, on its own (or, when each of its layer
        # calls is settled by literals, checked without a run)
        for f in list(m.funcs.values()):
            if f.relevant and not isinstance(f.node, ast.ClassDef):
                if self.settle(f):
                    continue
                m.__dict__.pop("_settle_memo", None)  # (a run may change the module's values)
                with contextlib.suppress(_Budget):
                    self.run_alone(f)

    def run_alone(self, f: FuncInfo) -> None:
        fn = f.function
        if fn is None or getattr(f, "alone", False):
            return
        f.alone = True  # type: ignore[attr-defined]
        env: dict[str, Any] = {}
        a = fn.args
        pos = [*a.posonlyargs, *a.args]
        defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
        pairs = list(zip(pos, defaults, strict=True)) + list(
            zip(a.kwonlyargs, a.kw_defaults, strict=True)
        )
        names = _param_names(f)
        sites = f
        if f.cls is not None and f.qual.endswith(".__init__"):
            sites = self.p.funcs.get(f.cls, f)  # the class's call sites
        module_frame = Frame(f.module, f.module.env)
        inst = None
        if f.cls is not None and pos:
            inst = self._instance(f)
            env[pos[0].arg] = inst
        for p, d in pairs:
            if inst is not None and p is pos[0]:
                continue
            if p.arg not in names:
                continue
            if d is not None and (sites.callers == 0 or p.arg in sites.omitted):
                env[p.arg] = self.expr(d, module_frame)
            elif d is not None:
                env[p.arg] = Sym(
                    p.arg, 1, f"parameter {p.arg} of `{f.qual}`, which every caller passes"
                )
            else:
                env[p.arg] = Sym(
                    p.arg,
                    1,
                    f"parameter {p.arg} of `{f.qual}`, which no caller in the tree passes as a "
                    "literal",
                )
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                env[extra.arg] = Unknown(f"*{extra.arg} of `{f.qual}`")
        self.run(f, env, via=(), depth=0, inst=inst)

    def settle(self, f: FuncInfo) -> bool:
        """Check ``f``'s layer calls without running it, when that gives what its run would:
        every statement of ``f`` on a line that may hold a layer call holds only calls of
        transposed or strided convolutions, each checked from values that are literals or
        module constants (names ``f`` binds are unknown here, as in a run without a caller's
        values); ``f`` calls no function that matters and defines none. Otherwise (False)
        ``f`` is run."""
        fn = f.function
        m = f.module
        pattern = getattr(m, "pattern", None)
        if fn is None or m.lines is None or pattern is None or "<locals>" in f.qual:
            return False
        first, last = first_body_line(fn), fn.end_lineno or fn.lineno
        if type(fn) not in LAZY_TYPES:  # (a body left out defines nothing: see .skeleton)
            a, b = m.text_of_lines(first, last)
            if m.source.find("def ", a, b) >= 0 or m.source.find("class ", a, b) >= 0:
                return False
        reaching = m.__dict__.get("_reaching_sorted")
        if reaching is None:  # (sorted once per module: a bisect per function, not a scan)
            reaching = m._reaching_sorted = sorted(getattr(m, "reaching", None) or ())  # type: ignore[attr-defined]
        k = bisect.bisect_left(reaching, first)
        if k < len(reaching) and reaching[k] <= last:
            return False
        lo = bisect.bisect_left(m.lines, first)
        hi = bisect.bisect_right(m.lines, last)
        if lo == hi:
            return False
        stmts: dict[int, ast.stmt] = {}
        for line in m.lines[lo:hi]:
            st = statement_at(m.tree.body, line)
            if st is None or st.lineno < first or isinstance(st, _HEADED):
                return False  # a compound statement's header: run it
            stmts[id(st)] = st
        kept = partial_body(fn)  # (the statements left out bind no name: see .skeleton)
        names = _bound_names(f, fn) if kept is None else _names_of(kept, fn.args)
        frame = None
        # a statement's checks follow from its text and which of its names are the
        # function's own (the module's values stay as they are between runs: see
        # run_module), so the same statement in another function of the module is not
        # checked again
        memo = m.__dict__.get("_settle_memo")
        if memo is None:
            memo = m._settle_memo = {}  # type: ignore[attr-defined]
        checked: list[tuple[ast.Call, Target, Any]] = []
        for st in stmts.values():
            s0, s1 = m.text_of_lines(st.lineno, st.end_lineno or st.lineno)
            text = m.source[s0:s1]
            own = sorted(n for n in names if n in text)
            key = (text, st.col_offset, st.end_col_offset, *own)
            got = memo.get(key)
            if got is None:
                shared = _shared_key(m, key, text, names, pattern)
                got = _SHARED.get(shared) if shared is not None else None
                if got is None:
                    if frame is None:
                        frame = Frame(m, {}, local_names=names, func=f)
                    got = self._settle_statement(st, pattern, frame, s0, s1)
                    if shared is not None:
                        if len(_SHARED) > 4096:
                            _SHARED.clear()
                        _SHARED[shared] = got
                memo[key] = got
            if got is False:
                return False
            plain, results = got
            calls = [st.value] if plain else _calls_in(st)  # type: ignore[attr-defined]
            for call, (t, res) in zip(calls, results, strict=True):
                checked.append((call, t, res))
        for call, t, res in checked:  # (as a run with no caller records them)
            _note(_outcome_of(m, call, t.name), res, "")
        return True

    def _settle_statement(
        self, st: ast.stmt, pattern: re.Pattern[str], frame: Frame, s0: int, s1: int
    ) -> tuple[bool, list[tuple[Target, Any]]] | Literal[False]:
        """The checks of one statement's calls for :meth:`settle` (with whether it is one
        call of plain arguments, ``st.value``), or False when it cannot be settled."""
        calls, plain = _calls_of(st)
        if len(pattern.findall(frame.module.source, s0, s1)) != len(calls):
            return False  # the name also outside a call (a value, a string, a comment)
        out = []
        for call in calls:
            got = self._settled(call, frame, plain)
            if got is None:
                return False
            out.append(got)
        return plain, out

    def _settled(self, node: ast.Call, fr: Frame, plain: bool = False) -> tuple[Target, Any] | None:
        """A convolution call's check from literals alone (None: it needs a run); ``plain``:
        its callee and arguments are known to be :func:`_simple`."""
        if not plain:
            if not isinstance(node.func, ast.Name | ast.Attribute) or not _simple(node.func):
                return None
            for a in [*node.args, *(k.value for k in node.keywords)]:
                if not _simple(a):
                    return None
        for k in node.keywords:
            if k.arg is None:
                return None
        t = self._callee_target(node.func, fr)
        if t is None:
            return None
        plain_value = self._plain
        pos = [plain_value(a, fr) for a in node.args]
        kw = {k.arg: plain_value(k.value, fr) for k in node.keywords}
        key_parts: list[Any] = [id(t), len(pos), *kw]  # (targets live as long as the table)
        for v in (*pos, *kw.values()):
            part = _key(v)
            if part is None:
                return None
            key_parts.append(part)
        key = tuple(key_parts)
        if key not in _SETTLED:
            args = _Reads()
            args.pos, args.kw = pos, kw  # type: ignore[assignment]
            res = check_target(t, args)
            ok = not isinstance(res, Unknown) and all(known(as_tuple(v)) for v in args.read)
            if len(_SETTLED) > 4096:
                _SETTLED.clear()
            _SETTLED[key] = res if ok else None
        res = _SETTLED[key]
        return None if res is None else (t, res)

    def _callee_target(self, func: ast.expr, fr: Frame) -> Target | None:
        """The convolution a simple callee names (not one of the function's own names)."""
        root = func
        while type(root) is ast.Attribute:
            root = root.value
        if type(root) is not ast.Name or root.id in fr.local_names:
            return None
        cache = fr.module.__dict__.get("_callees")
        if cache is None:
            cache = fr.module._callees = {}  # type: ignore[attr-defined]
        value = func.value if type(func) is ast.Attribute else None
        if value is not None and type(value) is ast.Name:  # (``nn.X``: no string built)
            key: Any = (value.id, func.attr)  # type: ignore[attr-defined]
        else:
            key = _dotted(func)
        if key not in cache:
            fv = self.expr(func, fr)
            t = TARGETS.get(fv.name) if isinstance(fv, Qual) else None
            ok = t is not None and t.kernel is not None and t.kind in ("deconv", "conv")
            cache[key] = t if ok else None
        got: Target | None = cache[key]
        return got

    def _plain(self, node: ast.expr, fr: Frame) -> Any:
        """An argument's value for :meth:`_settled`: names the function binds are unknown."""
        t = type(node)
        if t is ast.Constant:
            v = node.value  # type: ignore[attr-defined]
            if isinstance(v, int | float | str | bool) or v is None:
                return bounded(v) if isinstance(v, int) else v
        elif t is ast.Name and node.id in fr.local_names:  # type: ignore[attr-defined]
            return _LOCAL
        elif t is ast.BinOp:
            left = self._plain(node.left, fr)  # type: ignore[attr-defined]
            if left is _LOCAL:
                return _LOCAL
            return binop(node.op, left, self._plain(node.right, fr))  # type: ignore[attr-defined]
        return self.expr(node, fr)

    def _instance(self, f: FuncInfo) -> Inst:
        """``self`` for a method run on its own: the attributes ``__init__`` (run on its own)
        set, so that ``forward`` sees ``self.conv`` and ``self.shuffle``."""
        assert f.cls is not None
        cache = self.__dict__.setdefault("_instances", {})
        if f.cls not in cache:
            cache[f.cls] = Inst(f.cls)
            init = self.p.funcs.get(f"{f.cls}.__init__")
            if init is not None and init is not f and init.relevant:
                self.run_alone(init)
        inst: Inst = cache[f.cls]
        return inst

    def run(
        self,
        f: FuncInfo,
        env: dict[str, Any],
        *,
        via: tuple[str | _Site, ...],
        depth: int,
        inst: Inst | None = None,
    ) -> Any:
        fn = f.function
        if fn is None:
            return Unknown(f"`{f.qual}` has no body cbdiag reads")
        if f.key in self.p.stack:
            return Unknown(f"`{f.qual}` calls itself")
        self.p.stack.append(f.key)
        frame = Frame(
            f.module,
            env,
            local_names=_bound_names(f, fn),
            via=via,
            depth=depth,
            func=f,
            inst=inst,
        )
        try:
            self.block(fn.body, frame)
            value: Any = None
        except _Return as r:
            value = r.value
        except _Budget:
            value = Unknown("the analysis budget ran out")
        except RecursionError:
            raise
        except Exception as exc:  # a construct the interpreter trips on: this run only
            value = Unknown(f"cbdiag could not follow `{f.qual}` ({type(exc).__name__})")
        finally:
            self.p.stack.pop()
        self._finish(frame)
        return value

    def _finish(self, frame: Frame) -> None:
        for seq in frame.seqs:
            if seq.added and seq.node is not None and seq.sequential:
                self._stack(seq.node, seq.sequential, seq.items, frame)

    # -- statements -------------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt], fr: Frame, module_level: bool = False) -> str | None:
        for i, st in enumerate(stmts):
            tail = None
            if type(st) is ast.If and fr.func is not None and _short_tail(stmts, i + 1):
                tail = stmts[i + 1 :]
            try:
                if tail is not None and isinstance(st, ast.If):
                    self._tick()
                    sig = self.branch(st, fr, tail)
                    if sig == _TAIL:  # the statements after it ran on each way
                        return None
                else:
                    sig = self.stmt(st, fr, module_level)
            except _TailReturn as r:
                raise _Return(r.value) from None
            except _Return:
                self.dead(stmts[i + 1 :], fr)
                raise
            if sig is not None:
                self.dead(stmts[i + 1 :], fr)
                return sig
        return None

    def dead(self, stmts: list[ast.stmt], fr: Frame) -> None:
        """Code after a return, raise, break or continue: its layer calls are still checked
        (with what is known), its bindings do not count."""
        if not stmts or fr.depth > 0:  # a run with a caller's values: only what runs counts
            return
        saved, fr.locals = fr.locals, _clone(fr.locals)[0]
        inst = fr.inst
        attrs = None
        if inst is not None:  # (what it sets on ``self`` does not count either)
            attrs, inst.attrs = inst.attrs, _clone(inst.attrs)[0]
        was, fr.dead = fr.dead, True
        try:
            self.block(stmts, fr)
        except (_Return, _Budget):
            pass
        finally:
            fr.locals = saved
            if inst is not None and attrs is not None:
                inst.attrs = attrs
            fr.dead = was

    def stmt(self, st: ast.stmt, fr: Frame, module_level: bool = False) -> str | None:
        self._tick()
        if isinstance(st, ast.Expr):
            self.expr(st.value, fr)
        elif isinstance(st, ast.Assign):
            v = self.expr(st.value, fr)
            for t in st.targets:
                self.assign(t, v, fr)
        elif isinstance(st, ast.AnnAssign):
            if st.value is not None:
                self.assign(st.target, self.expr(st.value, fr), fr)
        elif isinstance(st, ast.AugAssign):
            self.augassign(st, fr)
        elif isinstance(st, ast.Return):
            raise _Return(self.expr(st.value, fr) if st.value is not None else None)
        elif isinstance(st, ast.If):
            return self.branch(st, fr)
        elif isinstance(st, ast.For | ast.AsyncFor):
            return self.loop(st, fr)
        elif isinstance(st, ast.While):
            self.expr(st.test, fr)
            self.vague(st.body + st.orelse, fr, "set in a while loop")
        elif isinstance(st, ast.With | ast.AsyncWith):
            for item in st.items:
                v = self.expr(item.context_expr, fr)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, Unknown("a with-statement's value"), fr)
                del v
            return self.block(st.body, fr)
        elif isinstance(st, ast.Try):
            sig = self.block(st.body, fr)
            for h in st.handlers:
                self.vague(h.body, fr, "set in an exception handler", _import_guard(h))
            if sig is None:
                sig = self.block(st.orelse, fr)
            self.block(st.finalbody, fr)
            return sig
        elif isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.define(st, fr)
        elif isinstance(st, ast.Import | ast.ImportFrom):
            self.imports(st, fr)
        elif isinstance(st, ast.Global | ast.Nonlocal):
            for n in st.names:
                fr.locals[n] = Unknown(f"`{n}` is declared {type(st).__name__.lower()}")
        elif isinstance(st, ast.Delete):
            for t in st.targets:
                if isinstance(t, ast.Subscript):
                    self._set_item(t, None, fr, delete=True)
                else:
                    self.assign(t, Unknown("deleted"), fr)
        elif isinstance(st, ast.Match):
            self.expr(st.subject, fr)
            for case in st.cases:
                self.vague(case.body, fr, "set in a match case")
        elif isinstance(st, ast.Break):
            return _BREAK
        elif isinstance(st, ast.Continue):
            return _CONTINUE
        elif isinstance(st, ast.Assert):  # (its layer calls are checked, as if it runs)
            self.expr(st.test, fr)
        elif isinstance(st, ast.Raise):
            if st.exc is not None:
                self.expr(st.exc, fr)
            raise _Return(Unknown("raises"))
        return None

    def vague(self, body: list[ast.stmt], fr: Frame, why: str, optional: bool = False) -> None:
        """Run a body whose running is not known: for its layer calls; whatever it binds or
        grows becomes unknown. ``optional``: the body is an ``except ImportError:`` after an
        import, and a library function it replaces by ``None`` keeps the imported value (the
        code can only call the name when the import worked)."""
        saved = dict(fr.locals)
        lens = self._seq_lens(fr)
        dicts = [(k, v, dict(v)) for k, v in fr.locals.items() if isinstance(v, dict)]
        if fr.inst is not None:
            dicts += [
                (f"self.{k}", v, dict(v)) for k, v in fr.inst.attrs.items() if isinstance(v, dict)
            ]
        with contextlib.suppress(_Return):
            self.block(body, fr)
        for name, d, before in dicts:  # (changed there: its keys are not known)
            if len(d) != len(before) or any(d.get(k, _MISSING) is not x for k, x in before.items()):
                grow(d, Unknown(f"{name} (changed {why.replace('set ', '')})"))
        for k in list(fr.locals):
            if k in saved and same(saved[k], fr.locals[k]):
                continue
            if optional and fr.locals[k] is None and isinstance(saved.get(k), Qual):
                fr.locals[k] = saved[k]
            else:
                fr.locals[k] = Unknown(f"`{k}` is {why}")
        self._seq_grown(lens, why)

    def _seq_lens(self, fr: Frame) -> list[tuple[Seq, int]]:
        out = []
        for v in fr.locals.values():
            if isinstance(v, Seq):
                out.append((v, len(v.items)))
        if fr.inst is not None:
            out += [(v, len(v.items)) for v in fr.inst.attrs.values() if isinstance(v, Seq)]
        return out

    def _seq_grown(self, lens: list[tuple[Seq, int]], why: str) -> None:
        for seq, n in lens:
            if len(seq.items) != n:
                del seq.items[n:]
                seq.items.append(Growth(f"items added in a block {why.replace('set ', '')}"))

    def branch(self, st: ast.If, fr: Frame, tail: list[ast.stmt] | None = None) -> str | None:
        """``if``: the way its test takes when known, else both ways on copies of the locals,
        keeping what they agree on. ``tail``: the few simple statements after it in its block
        (a ``return``, an assignment), which then run on each way (with the other names a way
        sets, and ``name == literal`` taken as true on the first), so that a layer made after
        ``if stride == 2: cfg = dict(type='deconv'); k = 4`` is checked with that way's values;
        the block is then done (``_TAIL``)."""
        test = self.expr(st.test, fr)
        if known(test):
            self.dead(st.orelse if test else st.body, fr)  # checked, not followed
            return self.block(st.body if test else st.orelse, fr)
        base = fr.locals
        inst = fr.inst
        base_attrs = inst.attrs if inst is not None else None
        copies = []
        attr_copies: list[dict[str, Any]] = []
        for n, body in enumerate((st.body, st.orelse)):
            clone, _remap = _clone(base)
            fr.locals = clone
            if inst is not None and base_attrs is not None:  # (``self.k = 3`` on one way)
                inst.attrs = _clone(base_attrs)[0]
                attr_copies.append(inst.attrs)
            if tail is not None:
                body = [*body, *tail]
                if n == 0:
                    _narrow(st.test, clone, self.resolved)
            try:
                sig = self.block(body, fr)
            except _Return as r:
                sig = "return"
                clone["__return__"] = r.value
            copies.append((clone, sig))
        fr.locals = base
        if inst is not None and base_attrs is not None:
            inst.attrs = base_attrs
            # (the instance outlives a return: what either way set on it is kept, as a choice)
            ia, ib = attr_copies
            for k in set(ia) | set(ib):
                va, vb = ia.get(k, _MISSING), ib.get(k, _MISSING)
                why = _depends(f"self.{k}", st.lineno)
                both = va is not _MISSING and vb is not _MISSING
                base_attrs[k] = either(va, vb, why) if both else Unknown(why())
        (a, sa), (b, sb) = copies
        if sa == "return" and sb == "return":
            ra, rb = a.get("__return__"), b.get("__return__")
            m = fr.module
            ret = either(
                ra, rb, lambda: f"returns depend on `{_text(m, st.test, 40)}` (line {st.lineno})"
            )
            raise (_Return if tail is None else _TailReturn)(ret)
        if sa == "return":
            a = b
        elif sb == "return":
            b = a
        for k in set(a) | set(b):
            if k == "__return__":
                continue
            va, vb = a.get(k, _MISSING), b.get(k, _MISSING)
            why = _depends(k, st.lineno)
            both = va is not _MISSING and vb is not _MISSING
            base[k] = either(va, vb, why) if both else Unknown(why())
        return None if tail is None else _TAIL

    def loop(self, st: ast.For | ast.AsyncFor, fr: Frame) -> str | None:
        it = self.expr(st.iter, fr)
        items = self.iterate(it)
        if isinstance(items, Unknown) or isinstance(st, ast.AsyncFor):
            why = items.reason if isinstance(items, Unknown) else "an async loop"
            self.assign(st.target, Unknown(f"a loop variable over {why}"), fr)
            self.vague(st.body, fr, f"set in a loop over {why}")
            self.vague(st.orelse, fr, "set after a loop")
            return None
        if not items:
            self.dead([*st.body], fr)
        for item in items:
            self.assign(st.target, item, fr)
            sig = self.block(st.body, fr)
            if sig == _BREAK:
                return None
        return self.block(st.orelse, fr)

    def iterate(self, v: Any) -> list[Any] | Unknown:
        if isinstance(v, Unknown):
            return v
        if isinstance(v, tuple):
            items = list(v)
        elif isinstance(v, Seq):
            if any(isinstance(x, Growth) for x in v.items):
                return Unknown("a list grown in a way cbdiag does not follow")
            items = list(v.items)
        elif isinstance(v, dict) and GROWN in v:
            return Unknown(f"a dict with keys from {v[GROWN].reason}")
        elif isinstance(v, (str, dict)):
            items = list(v)
        else:
            return Unknown("a value that is not a literal sequence")
        if len(items) > MAX_UNROLL:
            return Unknown(f"a sequence of {len(items)} items (more than {MAX_UNROLL})")
        return items

    def assign(self, target: ast.expr, v: Any, fr: Frame) -> None:
        if isinstance(target, ast.Name):
            fr.locals[target.id] = v
        elif isinstance(target, ast.Tuple | ast.List):
            vals = self.iterate(v)
            starred = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            if isinstance(vals, list) and not starred and len(vals) == len(target.elts):
                for e, x in zip(target.elts, vals, strict=True):
                    self.assign(e, x, fr)
            else:
                why = vals.reason if isinstance(vals, Unknown) else "an unpacking not followed"
                for e in target.elts:
                    self.assign(e.value if isinstance(e, ast.Starred) else e, Unknown(why), fr)
        elif isinstance(target, ast.Attribute):
            base = target.value
            obj = self.resolved(fr.locals.get(base.id)) if isinstance(base, ast.Name) else None
            if isinstance(obj, Inst):
                obj.attrs[target.attr] = v
        elif isinstance(target, ast.Subscript):
            self._set_item(target, v, fr)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, Unknown("a starred target"), fr)

    def _set_item(self, target: ast.Subscript, v: Any, fr: Frame, delete: bool = False) -> None:
        """``d[k] = v`` / ``del d[k]`` of a dict (or a list) the interpreter knows: the item
        set or dropped; with a key not known, its keys (or items) become not known."""
        obj = self.expr(target.value, fr)
        if not isinstance(obj, dict | Seq):
            return
        key = None if type(target.slice) is ast.Slice else self.expr(target.slice, fr)
        if isinstance(obj, dict):
            if not isinstance(key, str):
                at, of = _text(fr.module, target), _text(fr.module, target.value)
                grow(obj, Unknown(f"{of} (`{at}` set by a key not known)"))
            elif delete:
                obj.pop(key, None)
            else:
                obj[key] = v
            return
        items = obj.items
        if (
            isinstance(key, int)
            and not isinstance(key, bool)
            and -len(items) <= key < len(items)
            and not any(isinstance(x, Growth) for x in items)
        ):
            if delete:
                del items[key]
            else:
                items[key] = v
            return
        items.append(Growth("an item set in a way cbdiag does not follow"))

    def augassign(self, st: ast.AugAssign, fr: Frame) -> None:
        cur = self.expr(st.target, fr) if isinstance(st.target, ast.Name | ast.Attribute) else None
        v = self.expr(st.value, fr)
        if isinstance(cur, Seq) and isinstance(st.op, ast.Add):
            _extend(cur, v)
            return
        self.assign(st.target, binop(st.op, cur, v), fr)

    def define(self, st: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, fr: Frame) -> None:
        prefix = ""
        if fr.func is not None:
            prefix = f"{fr.func.qual}.<locals>."
        elif fr.class_env is not None:
            prefix = fr.class_env.get("__qual__", "") + "."
        key = f"{fr.module.name}:{prefix}{st.name}"
        f = self.p.funcs.get(key)
        for d in st.decorator_list:
            self.expr(d, fr)
        if isinstance(st, ast.ClassDef):
            for b in [*st.bases, *(k.value for k in st.keywords)]:
                self.expr(b, fr)
            if fr.func is None and fr.class_env is None and not _class_level_lines(fr.module, st):
                # nothing to check outside its methods: the body runs when its names are asked
                # for (self.X of a class attribute)
                fr.module.__dict__.setdefault("_lazy_classes", {})[key] = (st, prefix)
            else:
                self._class_body(fr.module, st, prefix, key)
        else:
            a = st.args
            for d in [*a.defaults, *(x for x in a.kw_defaults if x is not None)]:
                self.expr(d, fr)
        fr.locals[st.name] = Func(key) if f is not None else Unknown(f"`{st.name}`")

    def _class_body(self, m: ModuleInfo, st: ast.ClassDef, prefix: str, key: str) -> None:
        cenv: dict[str, Any] = {"__qual__": f"{prefix}{st.name}"}
        cf = Frame(m, cenv, class_env=cenv)
        cf.local_names = set(names_bound(st.body))
        with contextlib.suppress(_Return):
            self.block(st.body, cf)
        m.class_env[key] = cenv

    def imports(self, st: ast.Import | ast.ImportFrom, fr: Frame) -> None:
        m = fr.module
        if isinstance(st, ast.ImportFrom):
            modname = st.module
            if st.level:
                modname = self.p.relative(m, st.level, st.module)
            tree_mod = self.p.module(modname)
            for a in st.names:
                if a.name == "*":
                    continue
                name = a.asname or a.name
                if tree_mod is not None:  # (read when first used: see _Import)
                    fr.locals[name] = _Import(tree_mod, a.name)
                elif st.level:
                    sub = self.p.module(f"{modname}.{a.name}" if modname else a.name)
                    fr.locals[name] = (
                        ModRef(sub.name)
                        if sub is not None
                        else Unknown(f"`{name}` of a module not linted")
                    )
                else:
                    fr.locals[name] = Qual(canonical(f"{st.module}.{a.name}"))
            return
        for a in st.names:
            tree_mod = self.p.module(a.name)
            if a.asname and tree_mod is not None:
                fr.locals[a.asname] = ModRef(tree_mod.name)
                continue
            for name, q in import_bindings(ast.Import(names=[a])).items():
                if q is None:
                    continue
                top = self.p.module(q)
                fr.locals[name] = (
                    ModRef(top.name) if top is not None and not a.asname else Qual(canonical(q))
                )

    def _from_module(self, tm: ModuleInfo, name: str) -> Any:
        q = canonical(f"{tm.name}.{name}")
        if q in MODELLED:  # (the tree is that library: its definition is the model)
            return Qual(q)
        f = tm.funcs.get(name)
        if f is not None:
            return Func(f.key)
        if tm is not None and not tm.ran and tm not in _RUNNING:
            _RUNNING.add(tm)
            try:
                self.run_module_env(tm)
            finally:
                _RUNNING.discard(tm)
        if name in tm.env:
            return self.resolved(tm.env[name])
        sub = self.p.module(f"{tm.name}.{name}")
        if sub is not None:
            return ModRef(sub.name)
        return Unknown(f"`{name}` from {tm.name}")

    def resolved(self, v: Any) -> Any:
        """``v``, or the value of the imported name it stands for (:class:`_Import`)."""
        if type(v) is not _Import:
            return v
        if v.value is _PENDING:
            v.value = Unknown(f"`{v.name}` from {v.module.name} is imported in a cycle")
            v.value = self.resolved(self._from_module(v.module, v.name))
        return v.value

    def run_module_env(self, m: ModuleInfo) -> None:
        """The module-level names of another module of the tree (for its constants)."""
        self.run_module(m)

    # -- expressions ------------------------------------------------------------------------
    def _tick(self) -> None:
        self.p.steps += 1
        if self.p.steps > MAX_STEPS:
            raise _Budget

    def lookup(self, name: str, fr: Frame) -> Any:
        if name in fr.locals:
            return self.resolved(fr.locals[name])
        if name in fr.local_names and fr.func is not None:
            return Unknown(f"`{name}` is bound in a way cbdiag does not follow")
        if fr.func is not None or fr.class_env is not None:
            menv = fr.module.env
            if name in menv:
                return self.resolved(menv[name])
            if name in fr.module.funcs:
                return Func(fr.module.funcs[name].key)
        if name in _BUILTINS:
            return _Builtin(name)
        return Unknown(f"`{name}` is not a static value")

    def expr(self, node: ast.expr | None, fr: Frame) -> Any:
        if node is None:
            return None
        p = self.p  # (the step budget, as in _tick)
        p.steps += 1
        if p.steps > MAX_STEPS:
            raise _Budget
        t = type(node)
        if t is ast.Constant:
            v = node.value  # type: ignore[attr-defined]
            if isinstance(v, str) and len(v) > 10_000:
                return Unknown("a long string")
            if isinstance(v, bytes | complex) or v is Ellipsis:
                return Unknown("a constant of another type")
            return bounded(v)
        if t is ast.Name:
            return self.lookup(node.id, fr)  # type: ignore[attr-defined]
        if t is ast.Attribute:
            return self.attribute(node, fr)  # type: ignore[arg-type]
        if t is ast.Call:
            return self.call(node, fr)  # type: ignore[arg-type]
        if t is ast.Tuple or t is ast.List:
            vals: list[Any] = []
            for e in node.elts:  # type: ignore[attr-defined]
                if isinstance(e, ast.Starred):
                    inner = self.iterate(self.expr(e.value, fr))
                    if isinstance(inner, Unknown):
                        return inner if t is ast.Tuple else Seq([inner], node)
                    vals.extend(inner)
                else:
                    vals.append(self.expr(e, fr))
                if len(vals) > MAX_ITEMS:
                    return Unknown("a sequence too long to follow")
            return tuple(vals) if t is ast.Tuple else Seq(vals, node)
        if t is ast.BinOp:
            return binop(node.op, self.expr(node.left, fr), self.expr(node.right, fr))  # type: ignore[attr-defined]
        if t is ast.UnaryOp:
            v = self.expr(node.operand, fr)  # type: ignore[attr-defined]
            op = node.op  # type: ignore[attr-defined]
            if isinstance(op, ast.Not):
                return (not v) if known(v) else Unknown("a negation of an unknown value")
            if isinstance(v, int | float) and not isinstance(v, bool):
                if isinstance(op, ast.USub):
                    return -v
                if isinstance(op, ast.UAdd):
                    return v
                if isinstance(op, ast.Invert) and isinstance(v, int):
                    return ~v
            return v if isinstance(v, Unknown) else Unknown("a unary operation")
        if t is ast.BoolOp:
            vals = [self.expr(v, fr) for v in node.values]  # type: ignore[attr-defined]
            if all(known(v) for v in vals):
                if isinstance(node.op, ast.And):  # type: ignore[attr-defined]
                    out = True
                    for v in vals:
                        out = v
                        if not v:
                            break
                    return out
                for v in vals:
                    if v:
                        return v
                return vals[-1]
            return Unknown("a boolean operation on unknown values")
        if t is ast.Compare:
            left = self.expr(node.left, fr)  # type: ignore[attr-defined]
            result: Any = True
            for op, comp in zip(node.ops, node.comparators, strict=True):  # type: ignore[attr-defined]
                right = self.expr(comp, fr)
                r = compare(op, left, right)
                if isinstance(r, Unknown) or result is True:
                    result = r
                left = right
            return result
        if t is ast.IfExp:
            test = self.expr(node.test, fr)  # type: ignore[attr-defined]
            if known(test):
                return self.expr(node.body if test else node.orelse, fr)  # type: ignore[attr-defined]
            a, b = self.expr(node.body, fr), self.expr(node.orelse, fr)  # type: ignore[attr-defined]
            m, test = fr.module, node.test  # type: ignore[attr-defined]
            return either(a, b, lambda: f"`{_text(m, test, 40)}` is not known statically")
        if t is ast.Subscript:
            base = self.expr(node.value, fr)  # type: ignore[attr-defined]
            if type(node.slice) is ast.Slice:  # type: ignore[attr-defined]
                return self.sliced(base, node.slice, node, fr)  # type: ignore[attr-defined]
            idx = self.expr(node.slice, fr)  # type: ignore[attr-defined]
            if isinstance(base, Qual) and base.name in MONAI_CONV_FACTORY:
                return _monai_factory(idx)
            return _subscript(base, idx)
        if t is ast.Dict:
            out_d: dict[str, Any] = {}
            for k, v in zip(node.keys, node.values, strict=True):  # type: ignore[attr-defined]
                val = self.expr(v, fr)
                if k is None:
                    if isinstance(val, dict):
                        merge(out_d, val)
                        continue
                    return Unknown("a dict merged from a value not known statically")
                key = self.expr(k, fr)
                if not isinstance(key, str):
                    return Unknown("a dict with keys not known statically")
                out_d[key] = val
            return out_d
        if t in (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp):
            return self.comprehension(node, fr)
        if t is ast.Lambda:
            env = dict(fr.locals)
            a = node.args  # type: ignore[attr-defined]
            for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if p is not None:
                    env[p.arg] = Unknown(f"a parameter of a lambda ({p.arg})")
            sub = Frame(fr.module, env, via=fr.via, depth=fr.depth, func=fr.func)
            self.expr(node.body, sub)  # type: ignore[attr-defined]
            return Unknown("a lambda")
        if t is ast.NamedExpr:
            v = self.expr(node.value, fr)  # type: ignore[attr-defined]
            self.assign(node.target, v, fr)  # type: ignore[attr-defined]
            return v
        if t is ast.Starred:
            return self.expr(node.value, fr)  # type: ignore[attr-defined]
        if t is ast.Slice:
            return Unknown("a slice")
        if t is ast.JoinedStr:  # f"{spatial_dims}d" of known values
            out_s = []
            for part in node.values:  # type: ignore[attr-defined]
                if type(part) is ast.Constant:
                    out_s.append(str(part.value))
                    continue
                v = self.expr(part.value, fr)
                plain = part.conversion == -1 and part.format_spec is None
                if not (plain and isinstance(v, int | str) and not isinstance(v, bool)):
                    return Unknown("an f-string of values not known statically")
                out_s.append(str(v))
            joined = "".join(out_s)
            return joined if len(joined) <= 10_000 else Unknown("a long string")
        # await, yield, sets: evaluate the parts for their calls
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child, fr)
        return Unknown(f"a {t.__name__} expression")

    def comprehension(self, node: Any, fr: Frame) -> Any:
        gens = node.generators
        env = dict(fr.locals)
        sub = Frame(
            fr.module,
            env,
            local_names=fr.local_names,
            via=fr.via,
            depth=fr.depth,
            func=fr.func,
            inst=fr.inst,
        )
        first = self.iterate(self.expr(gens[0].iter, fr))
        if isinstance(first, list) and len(gens) == 1:
            out: list[Any] = []
            keys: list[Any] = []
            for item in first:
                self.assign(gens[0].target, item, sub)
                conds = [self.expr(c, sub) for c in gens[0].ifs]
                if not all(known(c) for c in conds):
                    return Unknown("a comprehension with a condition not known statically")
                if all(conds):
                    if isinstance(node, ast.DictComp):
                        keys.append(self.expr(node.key, sub))
                        out.append(self.expr(node.value, sub))
                    else:
                        out.append(self.expr(node.elt, sub))
            if isinstance(node, ast.DictComp):
                if all(isinstance(k, str) for k in keys):
                    return dict(zip(keys, out, strict=True))
                return Unknown("a dict comprehension with keys that are not known strings")
            return Seq(out, node) if isinstance(node, ast.ListComp) else tuple(out)
        why = first.reason if isinstance(first, Unknown) else "nested loops"
        for g in gens:
            self.assign(g.target, Unknown(f"a comprehension variable over {why}"), sub)
            for c in g.ifs:
                self.expr(c, sub)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                self.expr(getattr(node, part), sub)
        return Unknown(f"a comprehension over {why}")

    def sliced(self, base: Any, sl: ast.Slice, node: ast.AST, fr: Frame) -> Any:
        """``channels[1:]``, ``strides[::-1]``: a slice of a tuple or list known statically."""
        bounds = [self.expr(b, fr) for b in (sl.lower, sl.upper, sl.step)]
        if isinstance(base, Unknown):
            return base
        if not all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds):
            return Unknown("a slice of bounds not known statically")
        if bounds[2] == 0:
            return Unknown("a slice of step 0")
        cut = slice(*bounds)
        if isinstance(base, tuple | str):
            return base[cut]
        if isinstance(base, Seq) and not any(isinstance(x, Unknown) for x in base.items):
            return Seq(base.items[cut], node)
        return Unknown("a slice of a value not known statically")

    def attribute(self, node: ast.Attribute, fr: Frame) -> Any:
        base = self.expr(node.value, fr)
        name = node.attr
        if isinstance(base, Qual):
            if base.name in MONAI_CONV_FACTORY and name in MONAI_FACTORY_KINDS:
                return name  # (Conv.CONVTRANS is the factory's name "CONVTRANS")
            if base.name in MONAI_UPSAMPLE_MODES and name.isupper():
                return name.lower()  # (UpsampleMode.DECONV == "deconv")
            return Qual(canonical(f"{base.name}.{name}"))
        if isinstance(base, ModRef):
            m = self.p.module(base.name)
            if m is None:
                return Unknown(f"`{name}` of {base.name}")
            return self._from_module(m, name)
        if isinstance(base, Inst):
            if name in base.attrs:
                return base.attrs[name]
            f = self.p.funcs.get(f"{base.cls}.{name}")
            if f is not None:
                return _Bound(f.key, base)
            cenv = self._class_env(base.cls)
            if cenv is not None and name in cenv:
                return self.resolved(cenv[name])
            return Unknown(f"`self.{name}` is not set earlier in this method")
        if isinstance(base, Func):
            cenv = self._class_env(base.key)
            if cenv is not None and name in cenv:
                return self.resolved(cenv[name])
            f = self.p.funcs.get(f"{base.key}.{name}")
            if f is not None:
                return Func(f.key)
        if isinstance(base, _Super):
            if name != "__init__":
                return Unknown(f"super().{name}")
            return self._next_init(base.cls, base.inst)
        if isinstance(base, Seq) and name in _SEQ_METHODS:
            return _Method(base, name)
        if isinstance(base, dict) and name in _DICT_METHODS:
            return _DictMethod(base, name)
        if isinstance(base, Layer) and name == "weight":
            return _Weight(base)
        if isinstance(base, Unknown):
            return base
        return Unknown(f"the attribute `{name}`")

    def _class_env(self, key: str) -> dict[str, Any] | None:
        f = self.p.funcs.get(key)
        if f is None or not isinstance(f.node, ast.ClassDef):
            return None
        self.run_module(f.module) if not f.module.ran and f.module not in _RUNNING else None
        lazy = f.module.__dict__.get("_lazy_classes")
        if lazy and key in lazy:
            st, prefix = lazy.pop(key)
            self._class_body(f.module, st, prefix, key)
        return f.module.class_env.get(key)

    # -- calls ------------------------------------------------------------------------------
    def args(self, node: ast.Call, fr: Frame) -> CallArgs:
        out = CallArgs()
        for a in node.args:
            if isinstance(a, ast.Starred):
                v = self.iterate(self.expr(a.value, fr))
                if isinstance(v, list):
                    out.pos.extend(v)
                else:
                    out.star = Unknown(_text(fr.module, a.value))
            elif out.star is None:
                out.pos.append(self.expr(a, fr))
            else:
                self.expr(a, fr)
        for kw in node.keywords:
            v = self.expr(kw.value, fr)
            if kw.arg is None:
                if isinstance(v, dict):
                    out.kw.update((k, x) for k, x in v.items() if k is not GROWN)
                    if GROWN in v and out.kwstar is None:  # (where its other keys come from)
                        out.kwstar = v[GROWN]
                else:
                    out.kwstar = Unknown(_text(fr.module, kw.value))
            else:
                out.kw[kw.arg] = v
        return out

    def call(self, node: ast.Call, fr: Frame) -> Any:
        fn = node.func
        if type(fn) is ast.Name and fn.id == "super" and fr.inst is not None and fr.func:
            cls = fr.func.cls
            own = cls.rpartition(":")[2].rsplit(".", 1)[-1] if cls is not None else None
            if cls is None or (  # super() or super(ThisClass, self): the next class's
                node.args and not (type(node.args[0]) is ast.Name and node.args[0].id == own)
            ):
                return Unknown("super() of another class")
            return _Super(cls, fr.inst)
        fv = self.expr(fn, fr)
        args = self.args(node, fr)
        if isinstance(fv, _BaseInit):
            return self.base_init(fv, args, fr)
        self._inits(node, args)
        while isinstance(fv, Partial):
            args = CallArgs(
                list(fv.args) + args.pos, {**dict(fv.kwargs), **args.kw}, args.star, args.kwstar
            )
            fv = fv.func
        if isinstance(fv, _Method):
            return fv.apply(args, fr)
        if isinstance(fv, _DictMethod):
            return fv.apply(args, _text(fr.module, node.args[0] if node.args else node))
        if isinstance(fv, _Builtin):
            return fv.apply(args)
        if isinstance(fv, Qual):
            return self.library(node, fv.name, args, fr)
        if isinstance(fv, Func | _Bound):
            return self.inline(node, fv, args, fr)
        if isinstance(fv, Choice):
            return self.choice(node, fv, args, fr)
        if isinstance(fv, Layer):
            if _is_shuffle(fv):
                self._fed(fv, args.pos[0] if args.pos else None, fr)
            return _Output(fv)
        m, source = fr.module, fr.module.source
        return LateUnknown(lambda: f"the result of `{_text(m, node.func, 40, source)}`")

    def choice(self, node: ast.Call, fv: Choice, args: CallArgs, fr: Frame) -> Any:
        """A call of one of two layers (a :class:`Choice`) one of which is a transposed
        convolution: clean when it would be even as that one (the other makes no
        checkerboard), else unresolved, naming both (and what it would be), as a MONAI block
        transposed or not by a parameter (:meth:`_maybe`)."""
        ts = [TARGETS.get(o.name) for o in fv.options if isinstance(o, Qual)]
        deconv = next((t for t in ts if t is not None and t.kind == "deconv"), None)
        if deconv is None:
            return Unknown(fv.reason)
        names = " or ".join(f"`{o.name.rsplit('.', 1)[-1]}`" for o in fv.options)
        why = f"the layer is {names}: {fv.reason}"
        res = check_target(deconv, args)
        if isinstance(res, Unknown):
            res = Unknown(why)  # (what is not known first: which layer it is)
        self._record(self.outcome(node, deconv.name, fr), _if_transposed(res, why), fr)
        return Layer(node, spatial=True, unknown=why)

    def _inits(self, node: ast.Call, args: CallArgs) -> None:
        """``icnr_(conv.weight)``, ``nn.init.zeros_(conv.weight)``: the layer is initialised."""
        fn = node.func
        leaf = (
            fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
        )
        if any(w in leaf.lower() for w in INIT_WORDS):
            for v in [*args.pos, *args.kw.values()]:
                if isinstance(v, _Weight):
                    v.layer.initialised = True  # type: ignore[attr-defined]

    def library(self, node: ast.Call, q: str, args: CallArgs, fr: Frame) -> Any:
        t = TARGETS.get(q)
        if t is not None:
            return self.target(node, t, args, fr)
        if q in CONV_MODULES or q in LAYER_BUILDERS:
            got = self.configured(node, q, args, fr)
            if got is not None:
                return got
        if q in MONAI_CONVOLUTION or q in MONAI_UPSAMPLE or q in MONAI_UNET:
            got = self.monai(node, q, args, fr)
            if got is not None:
                return got
        if q in MONAI_EVEN_NETS:
            return self.monai_even(node, q, args, fr)
        if q in SEQUENTIALS:
            return self.sequential(node, q, args, fr)
        if q in MONAI_TUPLE_REP:
            return _tuple_rep(args)
        if q in RESIZERS:
            return self.resize(node, q, args)
        if q in ("copy.copy", "copy.deepcopy") and len(args.pos) == 1 and not args.kw:
            if args.star is None and args.kwstar is None and isinstance(args.pos[0], dict):
                copied = _copied(args.pos[0], deep=q == "copy.deepcopy")
                if copied is not None:
                    return copied
            return Unknown(f"a copy by {q.split('.')[1]}() of a value cbdiag does not copy")
        if q == "functools.partial":
            if not args.pos:
                return Unknown("partial() without a function")
            return Partial(args.pos[0], tuple(args.pos[1:]), tuple(args.kw.items()))
        if q in SHAPED:
            first = as_tuple(args.pos[0]) if len(args.pos) == 1 else None
            dims = first if isinstance(first, tuple) else tuple(args.pos)
            if all(isinstance(d, int) and not isinstance(d, bool) for d in dims) and dims:
                return Tensor(dims)
            return Unknown("a tensor of a shape not known statically")
        if q in MODULE_LISTS:  # its items are the submodules 0, 1, ... (for inspect --source)
            it = self.iterate(args.pos[0]) if args.pos else []
            ml = Seq(it if isinstance(it, list) else [it], node)
            ml.container = q  # type: ignore[attr-defined]
            return ml
        if q.startswith(_LIBRARIES):
            lv = Layer(node, spatial=False)
            lv.qual = q  # type: ignore[attr-defined]
            return lv
        return Unknown(f"the result of {q}")

    def configured(self, node: ast.Call, q: str, args: CallArgs, fr: Frame) -> Layer | None:
        """mmcv's ``ConvModule(..., conv_cfg=dict(type='deconv', ...))`` or
        ``build_conv_layer(dict(type='deconv', ...), ...)``: the transposed convolution its
        config names, checked from its arguments read as ``ConvTranspose*d``'s (the config's
        other keys are the layer's too). None when the config is not known statically to
        name one (a plain convolution, or a config from outside)."""
        name = q.rsplit(".", 1)[-1]
        module = name == "ConvModule"
        what = "conv_cfg" if module else "cfg"
        given, cfg = args.get(Arg(8, ("conv_cfg",)) if module else Arg(0, ("cfg",)), what)
        if not given:
            return None
        # a config not known statically (a parameter, a ``**kwargs`` that may hold it, a type
        # from outside) may name a transposed convolution: checked as one, see _maybe (an
        # upsample builder's config also holds the layer's arguments: left as it is)
        flag: Unknown | Sym | None = None
        if isinstance(cfg, Unknown | Sym) and name != "build_upsample_layer":
            flag, cfg = cfg, {}
        if not isinstance(cfg, dict):
            return None
        kind = dict_get(cfg, "type", None)
        if flag is None and isinstance(kind, Unknown | Sym) and name != "build_upsample_layer":
            flag = kind
        ndim = 2 if flag is not None else DECONV_TYPES.get(kind) if isinstance(kind, str) else None
        if ndim is None:
            return None
        kw = {k: v for k, v in cfg.items() if k != "type" and isinstance(k, str)}
        if module:  # (in, out, kernel_size, stride, padding, dilation, ...): the first five
            # are ConvTranspose's; its dilation is a keyword there
            pos = list(args.pos[:5])
            for k in ("kernel_size", "stride", "padding", "dilation"):
                if k in args.kw:
                    kw[k] = args.kw[k]
            if len(args.pos) > 5:
                kw["dilation"] = args.pos[5]
            star = args.star if len(args.pos) < 6 else None
        else:
            pos = list(args.pos[1:])
            kw.update((k, v) for k, v in args.kw.items() if k != "cfg")
            star = args.star
        t = CONFIGURED[(name, ndim)]
        call_args = CallArgs(pos, kw, star, args.kwstar)
        if flag is None:
            return self.target(node, t, call_args, fr)
        given_s, s = call_args.get(t.stride, "stride")
        if stride_one(as_tuple(s if given_s else t.default_stride)):
            return None  # stride 1: a layer that keeps the grid either way (as a plain one)
        return self._maybe(node, t, call_args, what, flag, fr)

    def monai(self, node: ast.Call, q: str, args: CallArgs, fr: Frame) -> Layer | None:
        """MONAI's ``Convolution(..., is_transposed=True)``, ``UpSample`` in a deconv mode and
        ``UNet`` (see :data:`.targets.MONAI_CONVOLUTION`): their transposed convolutions,
        checked as ``ConvTranspose*d`` with the padding MONAI gives them. None when the call
        makes none (``is_transposed=False``, a mode that is not a deconvolution); when that is
        not known statically, see :meth:`_maybe`."""
        ndim = _monai_ndim(args)
        if q in MONAI_UNET:
            return self._monai_unet(node, args, ndim, fr)
        if q in MONAI_UPSAMPLE:
            _, mode = args.get(Arg(6, ("mode",)), "mode")
            if not args.get(Arg(6, ("mode",)), "mode")[0]:
                mode = "deconv"
            if isinstance(mode, str):
                mode = mode.lower()
            flag = mode if isinstance(mode, Unknown | Sym) else None  # a deconv mode or not
            if flag is None and mode not in ("deconv", "deconvgroup"):
                return None
            _, s = args.get(Arg(3, ("scale_factor",)), "scale_factor")
            if not args.get(Arg(3, ("scale_factor",)), "scale_factor")[0]:
                s = 2
            gk, k = args.get(Arg(4, ("kernel_size",)), "kernel_size")
            if not gk or k is None:
                k, p, op = s, 0, 0
            else:
                p = _per_axis_map(lambda k: (k - 1) // 2, k)
                op = _per_axis_map(lambda k, s: s - 1 - (k - 1) % 2, k, s)
            t = MONAI[("UpSample", ndim)]
            if flag is not None:
                return self._maybe(node, t, CallArgs([None, None, k, s, p, op]), "mode", flag, fr)
            return self.target(node, t, CallArgs([None, None, k, s, p, op]), fr)
        gt, transposed = args.get(Arg(14, ("is_transposed",)), "is_transposed")
        flag = transposed if gt and isinstance(transposed, Unknown | Sym) else None
        if flag is None and (not gt or transposed is not True):
            return None
        gk, k = args.get(Arg(4, ("kernel_size",)), "kernel_size")
        k = k if gk else 3
        gs, s = args.get(Arg(3, ("strides",)), "strides")
        s = s if gs else 1
        gd, d = args.get(Arg(10, ("dilation",)), "dilation")
        d = d if gd else 1
        gp, p = args.get(Arg(15, ("padding",)), "padding")
        if not gp or p is None:
            p = _per_axis_map(lambda k, d: (k - 1) * d // 2, k, d)
        go, op = args.get(Arg(16, ("output_padding",)), "output_padding")
        if not go or op is None:
            op = _per_axis_map(lambda s: s - 1, s)
        t = MONAI[("Convolution", ndim)]
        a = CallArgs([None, None, k, s, p, op], {"dilation": d})
        if flag is not None:
            return self._maybe(node, t, a, "is_transposed", flag, fr)
        return self.target(node, t, a, fr)

    def monai_even(self, node: ast.Call, q: str, args: CallArgs, fr: Frame) -> Layer:
        """A MONAI network whose transposed convolutions are even by construction (see
        :data:`.targets.MONAI_EVEN_NETS`): clean; a ``BasicUNet`` in a mode that is not a
        deconvolution holds none (nothing to report)."""
        name = MONAI_EVEN_NETS[q]
        t = MONAI[(name, _monai_ndim(args))]
        lv = Layer(node, target=t, spatial=True, unknown=f"a U-Net ({name})")
        if name.lower() == "basicunet":
            gm, mode = args.get(Arg(8, ("upsample",)), "upsample")
            if gm and isinstance(mode, str) and mode.lower() not in ("deconv", "deconvgroup"):
                return lv
        self._record(self.outcome(node, name, fr), [], fr)
        return lv

    def _maybe(
        self, node: ast.Call, t: Target, args: CallArgs, what: str, flag: Unknown | Sym, fr: Frame
    ) -> Layer:
        """A MONAI block that is a transposed convolution or not by an argument not known
        statically (``is_transposed=use_convtranspose``, a mode from a parameter): clean when
        it would be even as one, else unresolved (saying what it would be)."""
        oc = self.outcome(node, t.name, fr)
        why = f"{what}: {flag.reason}"
        res = check_target(t, args)
        if isinstance(res, Unknown):  # (what makes it one or not first)
            res = Unknown(f"{why}; as a transposed convolution, {res.reason}")
        self._record(oc, _if_transposed(res, why), fr)
        return Layer(node, target=t, spatial=True, unknown=f"{what} not known statically")

    def _monai_unet(self, node: ast.Call, args: CallArgs, ndim: int, fr: Frame) -> Layer:
        """A MONAI ``UNet``: one transposed convolution of kernel ``up_kernel_size`` per
        stride of its levels; the call's outcome is the first uneven one's (or clean)."""
        t = MONAI[("UNet", ndim)]
        oc = self.outcome(node, t.name, fr)
        gk, k = args.get(Arg(6, ("up_kernel_size",)), "up_kernel_size")
        k = k if gk else 3
        gc, channels = args.get(Arg(3, ("channels",)), "channels")
        gs, strides = args.get(Arg(4, ("strides",)), "strides")
        lv = Layer(node, target=t, spatial=True, unknown="a U-Net")
        levels = self.iterate(channels) if gc else Unknown("channels is not given")
        ss = self.iterate(strides) if gs else Unknown("strides is not given")
        for name, v, got in (("strides", strides, ss), ("channels", channels, levels)):
            if isinstance(got, Unknown):  # (a parameter's value says whose it is)
                why = getattr(v, "reason", None) or got.reason
                self._record(oc, Unknown(f"{name}: {why}"), fr)
                return lv
        if isinstance(ss, Unknown) or isinstance(levels, Unknown):
            return lv
        res: Any = []
        for s in ss[: max(len(levels) - 1, 0)]:
            p = _per_axis_map(lambda k: (k - 1) // 2, k)
            op = _per_axis_map(lambda s: s - 1, s)
            got = check_target(t, CallArgs([None, None, k, s, p, op]))
            if isinstance(got, Unknown) or got:
                res = got
                break
        self._record(oc, res, fr)
        return lv

    def resize(self, node: ast.Call, q: str, args: CallArgs) -> Layer:
        if q.startswith("torch"):
            given, f = args.get(_arg(1, "scale_factor"), "scale_factor")
            mode_given, mode = args.get(_arg(2, "mode"), "mode")
            fixed = RESIZERS[q]
            if fixed:
                mode = fixed
            elif not mode_given:
                mode = "nearest"
            if not given:
                return Layer(node, spatial=True, unknown="a resize to a given size")
        else:
            given, f = args.get(_arg(0, "size"), "size")
            f = f if given else 2
            _, interp = args.get(_arg(2, "interpolation"), "interpolation")
            mode = interp if interp in ("nearest", "bilinear") else "nearest"
        if mode not in ("nearest", "bilinear"):
            return Layer(node, spatial=True, unknown=f"a {mode!r} resize")
        layer = resampler(mode, f)
        if isinstance(layer, Unknown):
            return Layer(node, spatial=True, unknown=layer.reason)
        return Layer(node, layer=layer, spatial=True)

    def target(self, node: ast.Call, t: Target, args: CallArgs, fr: Frame) -> Layer:
        oc = self.outcome(node, t.name, fr)
        if t.kind == "shuffle":
            given, r = args.get(t.stride, "upscale_factor")
            layer: Any = resampler("shuffle", r) if given else Unknown("upscale_factor")
            lv = Layer(node, target=t, spatial=True)
            if isinstance(layer, Unknown):
                lv.unknown = layer.reason
            else:
                lv.layer = layer
            oc.reasons.append("no convolution is seen feeding it")
            if t.name in ("pixel_shuffle", "depth_to_space"):  # functional: its input is here
                self._fed(lv, args.pos[0] if args.pos else None, fr)
            return lv
        if t.kernel is None:
            given, w = args.get(t.weight, "weight")
            if isinstance(w, Tensor) and len(w.shape) == t.ndim + 2:
                args.kw["__weight_kernel__"] = (
                    tuple(w.shape[: t.ndim]) if t.framework == "tf" else tuple(w.shape[2:])
                )
            elif given:
                args.kw["__weight_kernel__"] = Unknown("the weight's shape is not known statically")
        if t.kernel is not None and t.stride is not None:
            _same_value(node, t, args, fr)
        spatial = t.ndim == 2 and t.ndim_known and t.kind in ("deconv", "conv")
        key = _args_key(t, args)
        got = _CHECKED.get(key) if key is not None else None
        if got is None:
            got = (check_target(t, args), spatial_layer(t, args) if spatial else None)
            if key is not None:
                if len(_CHECKED) > 4096:
                    _CHECKED.clear()
                _CHECKED[key] = got
        res, sl = got
        self._record(oc, res, fr)
        lv = Layer(node, target=t, spatial=True)
        if spatial:
            if isinstance(sl, Unknown):
                lv.unknown = sl.reason
            else:
                lv.layer = sl
        elif not t.ndim_known:
            lv.unknown = "a layer of spatial dimensions not known statically"
        else:
            lv.unknown = f"a {t.ndim}-D layer"
        if t.kind == "conv":
            lv.conv = True  # type: ignore[attr-defined]
        return lv

    def outcome(self, node: ast.AST, name: str, fr: Frame) -> Outcome:
        return _outcome_of(fr.module, node, name)

    def _record(self, oc: Outcome, res: Any, fr: Frame) -> None:
        if fr.hooked is not None and not isinstance(res, Unknown):
            res = Unknown(fr.hooked)
        _note(oc, res, " → ".join(map(str, fr.via)))

    def sequential(self, node: ast.Call, q: str, args: CallArgs, fr: Frame) -> Seq:
        if q.startswith("torch") or q == "flax.nnx.Sequential":
            items: list[Any] = list(args.pos)
            if args.star is not None:
                items.append(Growth(f"*{args.star.reason} is not a list cbdiag follows"))
        else:
            first = args.pos[0] if args.pos else args.kw.get("layers")
            if first is None:
                seq = Seq([], node, sequential=q)
                fr.seqs.append(seq)
                return seq
            it = self.iterate(first)
            items = it if isinstance(it, list) else [it]
        seq = Seq(items, node, sequential=q)
        self._stack(node, q, items, fr)
        if not q.startswith("torch"):
            fr.seqs.append(seq)
        return seq

    def _stack(self, node: ast.AST, q: str, items: list[Any], fr: Frame) -> None:
        res = check_stack(q, items)
        for shuffle, bad in _shuffles(items):
            name = (
                shuffle.target.name if shuffle.target is not None else getattr(shuffle, "label", "")
            )
            name = name or "pixel shuffle"
            self._record(self.outcome(shuffle.node, name, fr), [_cbd106(name)] if bad else [], fr)
        if res is None:
            return
        oc = self.outcome(node, q.rsplit(".", 1)[-1], fr)
        oc.container = True  # type: ignore[attr-defined]
        if isinstance(res, Unknown):
            oc.reasons.append(res.reason)
        else:
            self._record(oc, [res], fr)

    def _fed(self, shuffle: Layer, x: Any, fr: Frame) -> None:
        """A pixel shuffle applied to ``x``: a finding when ``x`` is the output of a
        convolution that no ICNR / zero initialisation touched, clean for anything else known
        (``repeat_interleave``, a resize, another layer)."""
        if not isinstance(x, _Output):
            return
        name = shuffle.target.name if shuffle.target is not None else getattr(shuffle, "label", "")
        oc = self.outcome(shuffle.node, name or "pixel shuffle", fr)
        conv = x.layer
        bad = getattr(conv, "conv", False) and not getattr(conv, "initialised", False)
        self._record(oc, [_cbd106(name)] if bad else [], fr)

    def inline(self, node: ast.Call, fv: Func | _Bound, args: CallArgs, fr: Frame) -> Any:
        key = fv.key
        f = self.p.funcs.get(key)
        if f is None:
            return Unknown("a function cbdiag does not find")
        if not f.relevant:
            if isinstance(f.node, ast.ClassDef):
                return Layer(node, spatial=False)
            return Unknown(f"the result of `{f.qual}`")
        if fr.depth >= MAX_DEPTH:
            return Unknown(f"`{f.qual}` is called more than {MAX_DEPTH} calls deep")
        if fr.dead:
            return Unknown(f"`{f.qual}` is called in code that does not run")
        if not f.module.ran and f.module not in _RUNNING:  # its globals first (`nn`, constants)
            _RUNNING.add(f.module)
            try:
                self.run_module_env(f.module)
            finally:
                _RUNNING.discard(f.module)
        fn = f.function
        ctor = None  # a class whose instances are a library layer (a subclass of one)
        if isinstance(f.node, ast.ClassDef) and not isinstance(fv, _Bound):
            ctor = self._constructor(f)
            hooked = self._hooked(f) if ctor is not None else None
            if isinstance(ctor, str):  # no __init__ of the tree on the way: the call is the layer's
                here = fr
                if hooked is not None:
                    here = copy.copy(fr)
                    here.hooked = hooked
                return _subclassed(self.library(node, ctor, args, here), f, fr.module)
            if ctor is not None:
                cls = f
                fv = _Bound(ctor.key, Inst(f.key))
                fv.inst.ctor = (fr.module, node, fr.via)  # type: ignore[attr-defined]
                fv.inst.hooked = hooked  # type: ignore[attr-defined]
                f, fn = ctor, ctor.function
        if fn is None:
            lv = Layer(node, spatial=True, unknown=f"a module of the tree (`{f.qual}`)")
            if _shuffle_class(f):
                lv.shuffle = True  # type: ignore[attr-defined]
                lv.label = f.qual  # type: ignore[attr-defined]
            return lv
        env, inst = self.bind(f, fn, args, fv)
        memo_key = _memo_key(env) if ctor is None else None  # (a layer per call site)
        if memo_key is not None and f.memo is not None and memo_key in f.memo:
            return f.memo[memo_key]
        if f.runs >= MAX_RUNS:
            return Unknown(f"`{f.qual}` is called with more than {MAX_RUNS} argument sets")
        f.runs += 1
        site = _Site(fr.module, node)
        value = self.run(f, env, via=(*fr.via, site), depth=fr.depth + 1, inst=inst)
        base = getattr(inst, "base", None)
        if ctor is not None and base is not None:
            # the library layer its __init__ made of itself
            value = _subclassed(base, cls, fr.module)
        elif isinstance(f.node, ast.ClassDef):
            value = Layer(node, spatial=True, unknown=f"a module of the tree (`{f.qual}`)")
            value.inst = inst  # type: ignore[attr-defined]  # its submodules (inspect --source)
            if _shuffle_class(f):
                value.shuffle = True  # type: ignore[attr-defined]
                value.label = f.qual  # type: ignore[attr-defined]
        if memo_key is not None:
            if f.memo is None:
                f.memo = {}
            f.memo[memo_key] = value
        return value

    def _base_of(self, cls: FuncInfo) -> Any:
        """A class's first base (the one ``super()`` reaches with single inheritance), as
        a value: a class of the tree (Func) or a library name (Qual)."""
        node = cls.node
        if not isinstance(node, ast.ClassDef) or not node.bases:
            return None
        m = cls.module
        if m.ran:
            return self.expr(node.bases[0], Frame(m, m.env))
        return self._static(m, node.bases[0], 0)  # (without running the module before its turn)

    def _static(self, m: ModuleInfo, e: ast.expr, depth: int) -> Any:
        """A dotted name of module ``m`` by its definitions and imports alone."""
        if isinstance(e, ast.Attribute):
            base = self._static(m, e.value, depth)
            if isinstance(base, Qual):
                return Qual(canonical(f"{base.name}.{e.attr}"))
            if isinstance(base, ModRef):
                tm = self.p.module(base.name)
                return self._member(tm, e.attr, depth) if tm is not None else None
            return None
        return self._member(m, e.id, depth) if isinstance(e, ast.Name) else None

    def _member(self, m: ModuleInfo, name: str, depth: int) -> Any:
        q = canonical(f"{m.name}.{name}")
        if q in MODELLED:  # (as in _from_module)
            return Qual(q)
        f = m.funcs.get(name)
        if f is not None:
            return Func(f.key)
        if depth > MAX_DEPTH:
            return None
        got = None
        for st in _module_imports(m.tree.body):
            if isinstance(st, ast.ImportFrom):
                for a in st.names:
                    if (a.asname or a.name) != name:
                        continue
                    modname = self.p.relative(m, st.level, st.module) if st.level else st.module
                    tm = self.p.module(modname)
                    if tm is not None:
                        got = self._member(tm, a.name, depth + 1)
                    else:
                        sub = self.p.module(f"{modname}.{a.name}" if modname else a.name)
                        got = (
                            ModRef(sub.name)
                            if sub is not None
                            else None
                            if st.level
                            else Qual(canonical(f"{st.module}.{a.name}"))
                        )
            else:
                for a in st.names:
                    full = a.name if a.asname else a.name.split(".")[0]
                    if (a.asname or full) == name:
                        tm = self.p.module(full)
                        got = ModRef(tm.name) if tm is not None else Qual(canonical(full))
        return got

    def _constructor(self, cls: FuncInfo) -> FuncInfo | str | None:
        """For a class of the tree that is a library layer (it subclasses a transposed
        convolution, an mmcv ``ConvModule``, a ``Sequential``, directly or through classes of
        the tree): the ``__init__`` of the tree its instances run first (FuncInfo), or the
        library class when no class on the way defines one (str). None for other classes."""
        init: FuncInfo | None = None
        f: FuncInfo | None = cls
        for _ in range(MAX_DEPTH):
            if f is None or not isinstance(f.node, ast.ClassDef):
                return None
            if init is None and f.function is not None:
                init = self.p.funcs.get(f"{f.key}.__init__")
            base = self._base_of(f)
            if isinstance(base, Qual):
                if not _layer_class(base.name):
                    return None
                return init if init is not None else base.name
            if not isinstance(base, Func):
                return None
            f = self.p.funcs.get(base.key)
        return None

    def _hooked(self, cls: FuncInfo) -> str | None:
        """Why the weight a class of the tree that is a library layer runs with may not be
        the one its arguments make: a class on the way to the library layer registers a
        forward pre-hook or a parametrization (PGGAN's fused upsampling pads a 3x3 kernel to
        4x4 before each call). None when none does."""
        f: FuncInfo | None = cls
        for _ in range(MAX_DEPTH):
            if f is None or not isinstance(f.node, ast.ClassDef):
                return None
            m, node = f.module, f.node
            s0, s1 = m.text_of_lines(node.lineno, node.end_lineno or node.lineno)
            # (the word looked for first, by str.find: the pattern starts with a word
            # boundary, which the regular expression engine tries at every character)
            i = m.source.find("register_", s0, s1)
            hit = _HOOKS.search(m.source, i, s1) if i >= 0 else None
            if hit is not None:
                line = m.source.count("\n", 0, hit.start()) + 1
                what = "forward pre-hook" if "hook" in hit.group() else "parametrization"
                return (
                    f"{f.qual.rsplit('.', 1)[-1]} registers a {what} "
                    f"({os.path.basename(m.path)}:{line}): the weight it runs with is not known "
                    "statically"
                )
            base = self._base_of(f)
            if not isinstance(base, Func):
                return None
            f = self.p.funcs.get(base.key)
        return None

    def _next_init(self, cls_key: str, inst: Inst) -> Any:
        """``super().__init__`` in a method of class ``cls_key``: its base's."""
        cls = self.p.funcs.get(cls_key)
        base = self._base_of(cls) if cls is not None else None
        for _ in range(MAX_DEPTH):
            if isinstance(base, Qual):
                return _BaseInit(base.name) if _layer_class(base.name) else Unknown("a base class")
            if not isinstance(base, Func):
                return Unknown("a base class cbdiag does not follow")
            f = self.p.funcs.get(base.key)
            if f is None:
                return Unknown("a base class cbdiag does not find")
            if f.function is not None:
                init = self.p.funcs.get(f"{f.key}.__init__")
                if init is None:
                    return Unknown(f"`{f.qual}.__init__`")
                init.relevant = True  # (it makes the layer, though it names none)
                return _Bound(init.key, inst)
            base = self._base_of(f)
        return Unknown("a base class too deep")

    def base_init(self, fv: _BaseInit, args: CallArgs, fr: Frame) -> None:
        """``super().__init__(...)`` reaching a library layer class: that layer, checked at
        the call that made the instance (its outcome is the instantiation's)."""
        inst = fr.inst
        at = getattr(inst, "ctor", None)
        if inst is None or at is None or getattr(inst, "base", None) is not None:
            return  # (a run of __init__ with no caller: the instantiations are checked)
        module, node, via = at
        here = Frame(module, {}, via=via, depth=fr.depth)
        here.hooked = getattr(inst, "hooked", None)
        inst.base = self.library(node, fv.name, args, here)  # type: ignore[attr-defined]

    def bind(
        self, f: FuncInfo, fn: ast.FunctionDef | ast.AsyncFunctionDef, args: CallArgs, fv: Any
    ) -> tuple[dict[str, Any], Inst | None]:
        a = fn.args
        pos = [*a.posonlyargs, *a.args]
        env: dict[str, Any] = {}
        inst = None
        if (f.cls is not None or isinstance(f.node, ast.ClassDef)) and pos:
            inst = fv.inst if isinstance(fv, _Bound) else Inst(f.cls or f.key)
            env[pos[0].arg] = inst
            pos = pos[1:]
        defaults = dict(
            zip(
                [p.arg for p in [*a.posonlyargs, *a.args]][-len(a.defaults) :]
                if a.defaults
                else [],
                a.defaults,
                strict=True,
            )
        )
        defaults.update(
            {p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
        )
        mframe = Frame(f.module, f.module.env)
        extra_pos = args.pos[len(pos) :]
        for i, p in enumerate([*pos, *a.kwonlyargs]):
            positional = i < len(pos)
            if positional and i < len(args.pos):
                env[p.arg] = args.pos[i]
            elif p.arg in args.kw:
                env[p.arg] = args.kw[p.arg]
            elif positional and args.star is not None:
                env[p.arg] = Unknown(f"{p.arg} may be in *{args.star.reason}")
            elif args.kwstar is not None:
                env[p.arg] = Unknown(f"{p.arg} may be in **{args.kwstar.reason}")
            elif p.arg in defaults:
                env[p.arg] = self.expr(defaults[p.arg], mframe)
            else:
                env[p.arg] = Unknown(f"{p.arg} is not passed")
        names = {p.arg for p in [*pos, *a.kwonlyargs]}
        if a.vararg is not None:
            env[a.vararg.arg] = tuple(extra_pos) if args.star is None else Unknown("*args")
        if a.kwarg is not None:
            rest = {k: v for k, v in args.kw.items() if k not in names}
            # (passed on with ``**kwargs``, its keys not known still say where they come from)
            env[a.kwarg.arg] = rest if args.kwstar is None else {**rest, GROWN: args.kwstar}
        return env, inst


_RUNNING: set[ModuleInfo] = set()
_MISSING = object()


def _per_axis_map(fn: Callable[..., int], *vals: Any) -> Any:
    """``fn`` of the values, axis by axis where some are per-axis tuples (or lists); the first
    value as it is when they are not all ints, for the check to say why it is not known."""
    parts = [as_tuple(v) for v in vals]
    n = max((len(x) for x in parts if isinstance(x, tuple)), default=0)
    cols = [x if isinstance(x, tuple) else (x,) * max(n, 1) for x in parts]
    if any(
        len(c) != max(n, 1) or not all(isinstance(y, int) and not isinstance(y, bool) for y in c)
        for c in cols
    ):
        return parts[0]
    out = tuple(fn(*axis) for axis in zip(*cols, strict=True))
    return out[0] if n == 0 else out


def _module_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports of a module's own level (in ``if`` and ``try`` blocks too), in order."""
    for st in body:
        if isinstance(st, ast.Import | ast.ImportFrom):
            yield st
        elif isinstance(st, ast.If | ast.Try):
            yield from _module_imports(st.body)
            for h in getattr(st, "handlers", []):
                yield from _module_imports(h.body)
            yield from _module_imports(st.orelse)


def _import_guard(h: ast.ExceptHandler) -> bool:
    """``except ImportError:`` (or ``ModuleNotFoundError``, alone or in a tuple)."""
    t = h.type
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return any(
        isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names
    )


def _cbd106(name: str) -> tuple[str, str]:
    return (
        "CBD106",
        f"{name} after a convolution that is not ICNR-initialised: sub-pixel convolution "
        "paints a checkerboard at initialisation (initialise the convolution with ICNR, bias "
        "included)",
    )


class _Site:
    """A call site on a chain of calls followed (``models.py:88 `UpBlock(k_size=3)```),
    written when a message shows it."""

    __slots__ = ("module", "node", "path", "source")

    def __init__(self, module: ModuleInfo, node: ast.Call) -> None:
        self.module = module
        self.node = node
        self.path = module.path
        self.source = module.source

    def __str__(self) -> str:
        text = _text(self.module, self.node, 60, self.source)
        return f"{os.path.basename(self.path)}:{self.node.lineno} `{text}`"


def _is_shuffle(v: Layer) -> bool:
    return (v.target is not None and v.target.kind == "shuffle") or getattr(v, "shuffle", False)


class _Output(Record):
    """What a layer returns when called (``self.conv(x)``)."""

    layer: Layer

    _fields = ("layer",)
    _key = attrgetter(*_fields)

    def __init__(self, layer: Layer) -> None:
        self.layer = layer


class _Bound(Record):
    key: str
    inst: Inst

    _fields = ("key", "inst")
    _key = attrgetter(*_fields)

    def __init__(self, key: str, inst: Inst) -> None:
        self.key = key
        self.inst = inst


class _Super(Plain):
    """``super()`` in a method of class ``cls`` (the key), for the instance ``inst``."""

    _fields = ("cls", "inst")

    def __init__(self, cls: str, inst: Inst) -> None:
        self.cls = cls
        self.inst = inst


class _BaseInit(Plain):
    """``super().__init__`` reaching the library layer class ``name``."""

    _fields = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _if_transposed(res: Any, why: str) -> Any:
    """The check of a layer that is a transposed convolution or not by a condition not known
    statically (``why``): clean or unknown as checked, findings only if it is one, so
    unresolved, saying what it would be."""
    if isinstance(res, list) and res:
        return Unknown(f"{why} (as a transposed convolution: {res[0][1].split(':')[0]})")
    return res


#: A forward pre-hook or a parametrization registered in a class's text.
_HOOKS = re.compile(r"\bregister_(?:forward_pre_hook|parametrization)\s*\(")


def _subclassed(v: Any, cls: FuncInfo, m: ModuleInfo) -> Any:
    """A library layer made by a class of the tree that subclasses it: named by that class
    (for ``inspect --source``, as torch names the module, and in the findings of its call,
    made in ``m``: "EqualDeconv (a ConvTranspose2d) kernel 3 ...")."""
    if isinstance(v, Layer | Seq):
        name = v.subclass = cls.qual.rsplit(".", 1)[-1]  # type: ignore[union-attr]
        oc = m.outcomes.get(id(v.node))
        if oc is not None:
            oc.label = name  # type: ignore[attr-defined]
    return v


def _layer_class(q: str) -> bool:
    """A library class a class of the tree may subclass to be that layer."""
    t = TARGETS.get(q)
    return (t is not None and t.kind != "shuffle") or q in CONV_MODULES or q in SEQUENTIALS


class _Weight(MutableRecord):
    layer: Layer

    _fields = ("layer",)
    _key = attrgetter(*_fields)

    def __init__(self, layer: Layer) -> None:
        self.layer = layer


class _Method:
    def __init__(self, seq: Seq, name: str) -> None:
        self.seq, self.name = seq, name

    def apply(self, args: CallArgs, fr: Frame) -> Any:
        seq = self.seq
        seq.added = True
        if args.star is not None or args.kwstar is not None:
            seq.items.append(Growth("items added from a value not known statically"))
            return None
        if self.name in ("append", "add") and args.pos:
            seq.items.append(args.pos[0])
        elif self.name == "extend" and args.pos:
            _extend(seq, args.pos[0])
        elif self.name == "insert" and len(args.pos) == 2 and isinstance(args.pos[0], int):
            seq.items.insert(args.pos[0], args.pos[1])
        elif self.name in _SEQ_CHANGES:
            return _change_items(seq, self.name, args)
        else:
            seq.items.append(Growth(f"a {self.name} cbdiag does not follow"))
        return None


#: The list methods the interpreter follows (``append`` ... grow a list, the others change
#: it: see :func:`_change_items`; any other leaves it as it is).
_SEQ_CHANGES = ("pop", "clear", "reverse", "remove", "sort")
_SEQ_METHODS = ("append", "extend", "add", "insert", *_SEQ_CHANGES)


def _change_items(seq: Seq, name: str, args: CallArgs) -> Any:
    """``pop()``, ``pop(i)``, ``clear()``, ``reverse()`` of a list whose items are known; any
    other change (``remove``, ``sort``, an item not known) leaves them not known."""
    items = seq.items
    settled = not any(isinstance(x, Growth) for x in items) and not args.kw
    if settled and name == "clear" and not args.pos:
        items.clear()
        return None
    if settled and name == "reverse" and not args.pos:
        items.reverse()
        return None
    if settled and name == "pop" and len(args.pos) <= 1:
        i = args.pos[0] if args.pos else -1
        if isinstance(i, int) and not isinstance(i, bool) and -len(items) <= i < len(items):
            return items.pop(i)
    items.append(Growth(f"a list changed by {name}() in a way cbdiag does not follow"))
    return Unknown(f"the result of {name}()")


#: The dict methods that change it (see :class:`_DictMethod`; others read it: not known).
_DICT_METHODS = ("update", "setdefault", "pop", "popitem", "clear")


class _DictMethod:
    """A method call that changes a dict: followed where its arguments are known, else the
    dict's keys become not known (:data:`.values.GROWN`)."""

    def __init__(self, d: dict[Any, Any], name: str) -> None:
        self.d, self.name = d, name

    def apply(self, args: CallArgs, text: str) -> Any:
        d, name = self.d, self.name
        unknown = Unknown(text)
        if name == "update":
            if args.star is not None or len(args.pos) > 1:
                grow(d, unknown)
            elif args.pos:
                other = args.pos[0]
                if not isinstance(other, dict):
                    grow(d, unknown)
                else:
                    merge(d, other)
            if args.kwstar is not None:
                grow(d, args.kwstar)
            d.update(args.kw)
            return None
        if name == "clear" and not args.pos:
            d.clear()
            return None
        key = args.pos[0] if args.pos else None
        plain = args.star is None and args.kwstar is None and not args.kw and len(args.pos) <= 2
        if name in ("setdefault", "pop") and plain and isinstance(key, str):
            missing = args.pos[1] if len(args.pos) == 2 else None
            if name == "pop" and len(args.pos) == 1:
                missing = Unknown(f"the key {key!r} is not in the dict")
            v = dict_get(d, key, missing)
            if name == "pop":
                d.pop(key, None)
            elif key not in d:
                d[key] = v
            return v
        grow(d, Unknown(f"a dict changed by {name}() ({text})"))
        return Unknown(f"the result of {name}()")


def _extend(seq: Seq, v: Any) -> None:
    """``seq += v`` / ``seq.extend(v)``: the items of a known list or tuple, else a growth."""
    if isinstance(v, Seq):
        seq.items.extend(v.items)
    elif isinstance(v, tuple):
        seq.items.extend(v)
    else:
        seq.items.append(Growth("items added from a value not known statically"))
    seq.added = True


class _Builtin:
    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, args: CallArgs) -> Any:
        if args.star is not None or args.kwstar is not None:
            return Unknown(f"{self.name}() of values not known statically")
        try:  # (keywords too: dict(type="deconv"), enumerate(xs, start=1); refused: Unknown)
            return _BUILTINS[self.name](*args.pos, **args.kw)
        except _NotStatic as e:
            return Unknown(str(e))
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            return Unknown(f"{self.name}() of values it refuses")


class _NotStatic(Exception):
    pass


def _ints(*vs: Any) -> list[int]:
    for v in vs:
        if not (isinstance(v, int) and not isinstance(v, bool)):
            raise _NotStatic("range() of values not known statically")
    return list(vs)


def _seq_items(v: Any) -> list[Any]:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, Seq) and not any(isinstance(x, Unknown) for x in v.items):
        return list(v.items)
    if isinstance(v, str) or (isinstance(v, dict) and GROWN not in v):
        return list(v)
    raise _NotStatic("a sequence not known statically")


def _range(*a: Any) -> tuple[int, ...]:
    r = range(*_ints(*a))
    if len(r) > MAX_ITEMS:
        raise _NotStatic(f"a range of {len(r)} items")
    return tuple(r)


def _zip(*a: Any) -> tuple[Any, ...]:
    return tuple(zip(*(_seq_items(x) for x in a), strict=False))


def _enumerate(a: Any, start: Any = 0) -> tuple[Any, ...]:
    return tuple((i + _ints(start)[0], x) for i, x in enumerate(_seq_items(a)))


def _num_fn(fn: Any) -> Any:
    def f(*a: Any) -> Any:
        vals = _seq_items(a[0]) if len(a) == 1 and not isinstance(a[0], int | float) else list(a)
        if not vals or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in vals
        ):
            raise _NotStatic(f"{fn.__name__}() of values not known statically")
        return fn(vals)

    return f


def _int(v: Any = 0) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return int(v)
    raise _NotStatic("int() of a value not known statically")


_BUILTINS: dict[str, Any] = {
    "range": _range,
    "zip": _zip,
    "enumerate": _enumerate,
    "len": lambda a: len(_seq_items(a)),
    "list": lambda a=(): Seq(_seq_items(a)),
    "tuple": lambda a=(): tuple(_seq_items(a)),
    "reversed": lambda a: tuple(reversed(_seq_items(a))),
    "min": _num_fn(min),
    "max": _num_fn(max),
    "sum": _num_fn(sum),
    "abs": lambda v: abs(_ints(v)[0]) if not isinstance(v, float) else abs(v),
    "int": _int,
    "dict": lambda *a, **kw: _dict(*a, **kw),
}


def _copied(d: dict[Any, Any], deep: bool, depth: int = 0) -> dict[Any, Any] | None:
    """A copy of a config dict (``deep``: its dicts copied too); None when it holds a value
    that a copy would make anew and the interpreter follows by identity (a list, an
    instance)."""
    out: dict[Any, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and deep:
            v = _copied(v, deep, depth + 1) if depth < MAX_DEPTH else None
            if v is None:
                return None
        elif isinstance(v, Seq | Inst | Layer):
            return None
        out[k] = v
    return out


def _dict(*a: Any, **kw: Any) -> dict[Any, Any]:
    """``dict(**kw)``, ``dict(mapping, **kw)`` (a copy, updated)."""
    if len(a) > 1 or (a and not isinstance(a[0], dict)):
        raise _NotStatic("dict() of values not known statically")
    return {**(a[0] if a else {}), **kw}


def _monai_ndim(args: CallArgs) -> int:
    """A MONAI block's or network's ``spatial_dims`` (first argument), 0 when not known."""
    given, dims = args.get(Arg(0, ("spatial_dims", "dimensions")), "spatial_dims")
    return dims if given and dims in (1, 2, 3) and not isinstance(dims, bool) else 0


def _tuple_rep(args: CallArgs) -> Any:
    """MONAI's ``ensure_tuple_rep(value, dim)`` (see :data:`.targets.MONAI_TUPLE_REP`). With
    ``dim`` not known statically a scalar stays a scalar: the same value on every axis."""
    if args.star is not None or args.kwstar is not None or len(args.pos) + len(args.kw) != 2:
        return Unknown("ensure_tuple_rep() of arguments not known statically")
    v = args.pos[0] if args.pos else args.kw.get("tup", Unknown("ensure_tuple_rep()"))
    dim = args.pos[1] if len(args.pos) > 1 else args.kw.get("dim", Unknown("ensure_tuple_rep()"))
    v = as_tuple(v)
    if isinstance(v, Unknown):
        return v
    ok_dim = isinstance(dim, int) and not isinstance(dim, bool) and 0 < dim <= 8
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (v,) * dim if ok_dim else v
    if isinstance(v, tuple) and known(v) and (not ok_dim or len(v) == dim):
        return v
    return Unknown("ensure_tuple_rep() of a value not known statically")


def _monai_factory(idx: Any) -> Any:
    """MONAI's ``Conv[name, spatial_dims]`` (see :data:`.targets.MONAI_CONV_FACTORY`)."""
    name, dims = idx, None
    if isinstance(idx, tuple) and idx:
        name, dims = idx[0], idx[1] if len(idx) > 1 else None
    if isinstance(name, Choice):  # Conv[Conv.CONVTRANS if transposed else Conv.CONV, d]
        a, b = (_monai_factory((o, dims)) for o in name.options)
        return either(a, b, lambda: name.reason)
    if not isinstance(name, str) or name.upper() not in MONAI_FACTORY_KINDS:
        return Unknown("a layer of MONAI's Conv factory not known statically")
    cls, kind = MONAI_FACTORY_KINDS[name.upper()]
    if isinstance(dims, int) and not isinstance(dims, bool) and dims in (1, 2, 3):
        return Qual(f"torch.nn.{cls}{dims}d")
    return Qual(ANY_DIMS[kind])


def _same_value(node: ast.Call, t: Target, args: CallArgs, fr: Frame) -> None:
    """``kernel_size=k, stride=k`` with ``k`` not known statically: one value (the same object
    of the analysis, so the same value when the layer is built), divisible whatever it is;
    both become a symbol named by the source of the kernel argument where the call itself
    gives it (not through a ``partial``'s arguments or a ``*args``: "the kernel size")."""
    gk, k = args.get(t.kernel, "kernel_size")
    gs, s = args.get(t.stride, "stride")
    if not (gk and gs and k is s and isinstance(k, Unknown) and k is not _LOCAL):
        return  # (``*``/``**`` of unknown contents give a new Unknown per argument)
    if isinstance(k, Choice):
        return
    expr = next((kw.value for kw in node.keywords if kw.arg in t.kernel.names), None)  # type: ignore[union-attr]
    pos = t.kernel.pos  # type: ignore[union-attr]
    as_written = len(node.args) == len(args.pos) and not any(
        isinstance(a, ast.Starred) for a in node.args
    )  # (the call's positions are the layer's)
    if expr is None and as_written and pos is not None and pos < len(node.args):
        expr = node.args[pos]
    shown = _text(fr.module, expr, 30) if expr is not None else "the kernel size"
    sym = Sym(shown, 1, k.reason)
    for spec in (t.kernel, t.stride):
        for name in spec.names:  # type: ignore[union-attr]
            if name in args.kw:
                args.kw[name] = sym
                break
        else:
            args.pos[spec.pos] = sym  # type: ignore[union-attr,index]


def _depends(name: str, line: int) -> Callable[[], str]:
    return lambda: f"`{name}` depends on a condition (line {line})"


def either(a: Any, b: Any, why: Callable[[], str]) -> Any:
    """The value of a choice by a condition not known statically: the value both ways; one
    PyTorch convolution of either number of dimensions (``nn.ConvTranspose2d`` or ``3d``: that
    layer, its dimensions not known); a :class:`Choice` of two constants or of two layers one
    of which is a transposed convolution; otherwise unknown."""
    if same(a, b):
        return a
    if isinstance(a, Qual) and isinstance(b, Qual):
        na, nb = OF_ANY_DIMS.get(a.name), OF_ANY_DIMS.get(b.name)
        if na is not None and na == nb:
            return Qual(na)
        if any(t is not None and t.kind == "deconv" for t in map(TARGETS.get, (a.name, b.name))):
            return Choice(a, b, why())
    elif isinstance(a, str) and isinstance(b, str):
        return Choice(a, b, why())
    return LateUnknown(why)


def _subscript(base: Any, idx: Any) -> Any:
    if isinstance(base, Unknown):
        return base
    if isinstance(base, dict) and isinstance(idx, str):
        return dict_get(base, idx, Unknown(f"the key {idx!r} is not in the dict"))
    items = None
    if isinstance(base, tuple):
        items = list(base)
    elif isinstance(base, Seq) and not any(isinstance(x, Unknown) for x in base.items):
        items = base.items
    if items is not None and isinstance(idx, int) and not isinstance(idx, bool):
        if -len(items) <= idx < len(items):
            return items[idx]
        return Unknown("an index out of range")
    return Unknown("a subscript cbdiag does not evaluate")


def _clone(env: dict[str, Any]) -> tuple[dict[str, Any], dict[int, Seq]]:
    remap: dict[int, Seq] = {}
    out: dict[str, Any] = {}
    for k, v in env.items():
        if isinstance(v, Seq):
            if id(v) not in remap:
                remap[id(v)] = Seq(list(v.items), v.node, v.sequential, v.added)
            out[k] = remap[id(v)]
        elif isinstance(v, dict):  # (a way may change it: each way its own copy)
            out[k] = dict(v)
        else:
            out[k] = v
    return out, remap


def _shuffle_class(f: FuncInfo) -> bool:
    """A class of the tree that rearranges channels into space (its own pixel shuffle, or a
    pixel shuffle among its layers): a textual look at its lines."""
    if not isinstance(f.node, ast.ClassDef):
        return False
    cached = f.__dict__.get("_shuffle")
    if cached is None:
        m = f.module
        words = m.__dict__.get("_shuffle_words")
        if words is None:  # (once per module: most name no shuffle at all)
            words = m._shuffle_words = [w for w in _SHUFFLE_WORDS if w in m.source]  # type: ignore[attr-defined]
        cached = "subpixel" in f.qual.lower()
        if words and not cached:
            a, b = m.text_of_lines(f.node.lineno, f.node.end_lineno or f.node.lineno)
            cached = any(m.source.find(w, a, b) >= 0 for w in words)
        f._shuffle = cached  # type: ignore[attr-defined]
    return bool(cached)


_SHUFFLE_WORDS = ("pixel_shuffle", "PixelShuffle", "depth_to_space")


_DEF_TAIL = re.compile(r"(?<![\w.])(?:def|class)$")
_PARTIAL_TEXT = re.compile(r"\bpartial\s*\(\s*([\w.]*\.)?(\w+)")


#: Bytes to spaces but for name characters and "(" (non-ASCII bytes are kept: names).
_CALL_BYTES = bytes(
    c if (c >= 128 or chr(c).isalnum() or chr(c) in "_(") else 32 for c in range(256)
)


_DEF_WORDS = (b" def", b" class")
#: At most so many names asked about: each is looked for in the text rather than the text
#: cut into its tokens.
_FEW_KEYS = 32


def call_keys(names: Iterable[str]) -> set[bytes]:
    """The ``b"name("`` tokens that :class:`_CallText` holds for calls of ``names``."""
    return {(n + "(").encode("utf-8", "surrogatepass") for n in names}


class _CallText:
    """Which names a module's text calls (``name(``; a table of the byte tokens, one pass in
    C), and for a name asked about, the lines and first names (``base`` of ``base.x.name(``,
    ``""`` for a bare name, ``"?"`` after an expression) of its calls, not counting ``def`` and
    ``class`` lines, with ``partial(name, ...)`` counted as a call of ``name``."""

    def __init__(self, m: ModuleInfo) -> None:
        self.module = m
        source = self.source = m.source
        raw = b" " + source.encode("utf-8", "surrogatepass").replace(b" (", b"(")
        self.raw = raw.translate(_CALL_BYTES)
        self._tokens: set[bytes] | None = None
        self._sites: dict[str, list[tuple[int, str]]] = {}
        self.partials: dict[str, list[tuple[int, str]]] = {}
        if "partial" in source:
            for hit in _PARTIAL_TEXT.finditer(source):
                base = (hit.group(1).split(".", 1)[0] or "?") if hit.group(1) else ""
                self.partials.setdefault(hit.group(2), []).append((m.line_of(hit.start()), base))

    def called(self, names: Iterable[str], keys: set[bytes] | None = None) -> set[str]:
        """The names of ``names`` that the text may call (``keys``: their ``b"name("``
        tokens, when the caller has them for many modules)."""
        wanted: Iterable[str] = names
        if keys is None:
            wanted = names if isinstance(names, set | frozenset) else set(names)
            keys = call_keys(wanted)
        # (else ``names`` is not made a set: the names of a whole group, asked per module)
        if self._tokens is None and len(keys) <= _FEW_KEYS:
            found = [k for k in keys if self._has_token(k)]
        else:
            found = self.tokens & keys  # type: ignore[assignment]
        out = {k[:-1].decode("utf-8", "replace") for k in found}
        partials = self.partials
        return out | (partials.keys() & wanted) if partials else out

    @property
    def tokens(self) -> set[bytes]:
        """Every ``b"name("`` token of the text: the last word before each parenthesis (a
        ``def`` or ``class`` line's own name left out)."""
        if self._tokens is None:
            chunks = self.raw.split(b"(")
            chunks.pop()  # (after the last "(")
            parts = [c.rpartition(b" ") for c in chunks]
            # (not a definition's own name: "def name(", "class Name(")
            self._tokens = {p[2] + b"(" for p in parts if not p[0].endswith(_DEF_WORDS)}
        return self._tokens

    def _has_token(self, key: bytes) -> bool:
        """``key in self.tokens`` for one key, found by its occurrences (for a few keys, less
        than the table of every token): the key's word is a token where a space or a
        parenthesis comes before it, and not right after ``def`` or ``class``."""
        raw = self.raw
        if len(key) < 2:
            return key in self.tokens
        i = raw.find(key)
        while i >= 0:  # (i > 0: the text starts with a space)
            c = raw[i - 1]
            if c == 40 or (c == 32 and not raw.endswith(_DEF_WORDS, 0, i - 1)):
                return True
            i = raw.find(key, i + 1)
        return False

    def sites(self, name: str) -> list[tuple[int, str]]:
        got = self._sites.get(name)
        if got is not None:
            return got
        out: list[tuple[int, str]] = []
        src = self.source
        n = len(src)
        i = src.find(name)
        while i >= 0:
            j = i + len(name)
            k = j
            while k < n and src[k] in " \t":
                k += 1
            if k < n and src[k] == "(":
                p = i
                while p > 0 and (src[p - 1].isalnum() or src[p - 1] in "_."):
                    p -= 1
                prefix = src[p:i]
                if not prefix or prefix.endswith("."):  # not the tail of a longer name
                    head = src[src.rfind("\n", 0, p) + 1 : p].rstrip()
                    if not _DEF_TAIL.search(head):
                        base = (prefix.split(".", 1)[0] or "?") if prefix else ""
                        out.append((self.module.line_of(i), base))
            i = src.find(name, j)
        out.extend(self.partials.get(name, ()))
        self._sites[name] = out
        return out


class _Imports(MutableRecord):
    """What one module's imports bind: ``names`` (bound name -> (module, original name)),
    ``modules`` (bound name -> module name), ``stars`` (modules star-imported), ``aliases``
    (``as`` names of imported names -> original name)."""

    names: dict[str, tuple[str | None, str]]
    modules: dict[str, str]
    stars: list[str | None]
    aliases: dict[str, str]

    _fields = ("names", "modules", "stars", "aliases")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        names: dict[str, tuple[str | None, str]] | None = None,
        modules: dict[str, str] | None = None,
        stars: list[str | None] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.names = dict() if names is None else names
        self.modules = dict() if modules is None else modules
        self.stars = list() if stars is None else stars
        self.aliases = dict() if aliases is None else aliases


def header_roots(st: ast.stmt) -> list[ast.AST]:
    """The parts of a statement on its own lines: a compound statement's header (decorators,
    bases, defaults, condition, iterable, context managers, exception types), not its body;
    a simple statement whole. Annotations are left out (they are not run)."""
    if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
        a = st.args
        return [*st.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d)]
    if isinstance(st, ast.ClassDef):
        return [*st.decorator_list, *st.bases, *st.keywords]
    if isinstance(st, ast.If | ast.While):
        return [st.test]
    if isinstance(st, ast.For | ast.AsyncFor):
        return [st.iter]
    if isinstance(st, ast.With | ast.AsyncWith):
        return list(st.items)
    if isinstance(st, ast.Try):
        return [h.type for h in st.handlers if h.type is not None]
    if isinstance(st, ast.AnnAssign):
        return [st.value] if st.value is not None else []
    if isinstance(st, ast.Match):
        return [st.subject]
    return [st]


def nodes_at(root: ast.AST, line: int) -> Iterator[ast.AST]:
    """The nodes under ``root`` whose lines span ``line`` (``root`` itself included; a subtree
    that lies on other lines is not entered)."""
    todo = [root]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)  # (None: operators, contexts, arguments)
            if start is None or start <= line <= (child.end_lineno or start):  # type: ignore[attr-defined]
                todo.append(child)


def code_calls(m: ModuleInfo, line: int) -> set[str]:
    """Leaf names of the calls of code (not of strings or comments) whose callee ends on
    ``line``, and of the functions given to ``partial`` there."""
    cache = m.__dict__.setdefault("_code_calls", {})
    got = cache.get(line)
    if got is not None:
        return got
    out: set[str] = set()
    st = statement_at(m.tree.body, line)
    for root in header_roots(st) if st is not None else ():
        for node in nodes_at(root, line):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            leaf = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
            if leaf is None:
                continue
            if getattr(fn, "end_lineno", None) == line:
                out.add(leaf)
            if leaf == "partial" and node.args:
                a0 = node.args[0]
                inner = a0.id if isinstance(a0, ast.Name) else getattr(a0, "attr", None)
                if inner is not None and getattr(a0, "end_lineno", None) == line:
                    out.add(inner)
    cache[line] = out
    return out


_GLOBAL_TEXT = re.compile(r"^[ \t]*global\b", re.MULTILINE)


def _globals(m: ModuleInfo) -> list[ast.Global]:
    """The ``global`` statements of ``m`` (found by their lines, not by a walk of the tree)."""
    if "global" not in m.source:
        return []
    out = []
    for hit in _GLOBAL_TEXT.finditer(m.source):
        st = statement_at(m.tree.body, m.line_of(hit.start()))
        if isinstance(st, ast.Global):
            out.append(st)
    return out


def _base(fn: ast.expr) -> str:
    """The first name of a dotted callee (``""`` for a bare name, ``"?"`` for an expression)."""
    if isinstance(fn, ast.Name):
        return ""
    while isinstance(fn, ast.Attribute):
        fn = fn.value
    return fn.id if isinstance(fn, ast.Name) else "?"


#: While :func:`statements_cached` is active: ``statement_at``'s answers by (body, line).
_STATEMENTS: dict[tuple[int, int], ast.stmt | None] | None = None
#: And the first lines of the statements of each body asked about, by the body's identity.
_STARTS: dict[int, list[int]] | None = None


@contextlib.contextmanager
def statements_cached() -> Iterator[None]:
    """Remember :func:`statement_at`'s answers while the trees asked about stay alive (the
    cache is keyed by the identity of a body: it must not outlive them)."""
    global _STATEMENTS, _STARTS
    saved, _STATEMENTS = _STATEMENTS, {}
    saved_starts, _STARTS = _STARTS, {}
    try:
        yield
    finally:
        _STATEMENTS = saved
        _STARTS = saved_starts


def statement_at(body: list[ast.stmt], line: int) -> ast.stmt | None:
    """The innermost simple statement of ``body`` that spans ``line`` (or the compound one
    whose header it is)."""
    cache = _STATEMENTS
    if cache is None:
        return _statement_at(body, line)
    key = (id(body), line)
    if key not in cache:
        cache[key] = _statement_at(body, line)
    return cache[key]


def _statement_at(body: list[ast.stmt], line: int, own: bool = True) -> ast.stmt | None:
    """(``own``: ``body`` is a tree's own list, which lives as long as the tree; a list made
    here is not remembered by its identity.)"""
    cache = _STARTS
    if cache is None or not own:
        starts = [st.lineno for st in body]
    else:
        got = cache.get(id(body))
        if got is None:
            got = cache[id(body)] = [st.lineno for st in body]
        starts = got
    k = bisect.bisect_right(starts, line) - 1
    while k >= 0:
        st = body[k]
        if st.lineno <= line <= (st.end_lineno or st.lineno):
            break
        return None
    else:
        return None
    parts = _BODIES.get(type(st))
    if parts is None:
        return st  # a simple statement
    if type(st) in LAZY_TYPES:
        kept = partial_body(st)
        if kept is not None:  # a body left out in part: its statements kept, if they do
            found = _statement_at(kept, line)
            if found is not None:
                return found
            if line < first_body_line(st):  # type: ignore[arg-type]
                return st
    for part in parts:
        inner = getattr(st, part, None)
        if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt | ast.excepthandler):
            stmts = inner if isinstance(inner[0], ast.stmt) else [s for h in inner for s in h.body]
            if stmts and stmts[0].lineno <= line:
                if inner is not stmts:
                    stmts = sorted(stmts, key=lambda x: x.lineno)
                found = _statement_at(stmts, line, inner is stmts)
                if found is not None:
                    return found
    return st


#: The bodies of each compound statement, in the order :func:`_statement_at` looks in them
#: (``handlers`` last: their statements, in line order); a statement not listed has none.
_BODIES: dict[type, tuple[str, ...]] = {
    t: ("body", "orelse", "finalbody", "handlers")
    for t in (*_COMPOUND, getattr(ast, "TryStar", ast.Try), ast.Match, *LAZY_TYPES)
}


def _memo_key(env: dict[str, Any]) -> Any:
    """What a run of a function depends on: the known arguments (every unknown one alike; a
    layer or list by identity). Two call sites with the same key give the same outcomes."""
    items: list[tuple[str, Any]] = []
    for k, v in sorted(env.items()):
        if isinstance(v, Inst):
            continue
        if isinstance(v, Unknown | Sym):
            items.append((k, "?"))
        elif known(v):
            items.append((k, (type(v).__name__, v)))
        elif isinstance(v, Layer | Func | Qual | Partial | Tensor | ModRef):  # not a list:
            # a call may grow it
            items.append((k, ("id", id(v))))
        else:
            return None
    return tuple(items)


def _count_bindings(body: list[ast.stmt], counts: dict[str, int]) -> None:
    def bump(names: set[str]) -> None:
        for n in names:
            counts[n] = counts.get(n, 0) + 1

    bindings(body, lambda st: bump(set(import_bindings(st))), bump)


def _arg(pos: int | None, name: str) -> Any:
    return Arg(pos, (name,))


def _text(m: ModuleInfo, node: ast.AST, limit: int = 40, source: str | None = None) -> str:
    """The source of ``node`` on one line, cut to ``limit`` characters (from a per-module line
    cache: ``ast.get_source_segment`` splits the whole file at every call). ``source``: the
    module's text, for a message written late (after the analysis let the module go)."""
    lines = m.__dict__.get("_lines")
    if lines is None:
        text = m.__dict__.get("source", source)
        if text is None:
            return ""
        lines = text.split("\n")
        if "source" in m.__dict__:  # (not a module the analysis let go)
            m._lines = lines  # type: ignore[attr-defined]
    start = getattr(node, "lineno", 0)
    end = getattr(node, "end_lineno", None) or start
    if not 0 < start <= len(lines):
        return ""
    stop = min(end, start + 3)
    parts = []
    for n in range(start, stop + 1):
        raw = lines[n - 1].encode()
        a = getattr(node, "col_offset", 0) if n == start else 0
        b = getattr(node, "end_col_offset", len(raw)) if n == end else len(raw)
        parts.append(raw[a:b].decode(errors="replace"))
    seg = " ".join(" ".join(parts).split())
    return seg if len(seg) <= limit else seg[: limit - 1] + "…"


def _shuffles(items: list[Any]) -> list[tuple[Layer, bool]]:
    """The pixel shuffles of a container, each with whether a convolution no ICNR / zero
    initialisation touched produces its channels (the layer right before it that is not a
    norm or an activation)."""
    out = []
    prev = None
    for it in items:
        if not isinstance(it, Layer):
            prev = None
            continue
        if _is_shuffle(it):
            out.append((it, prev is not None and not getattr(prev, "initialised", False)))
            prev = None
            continue
        if getattr(it, "conv", False):
            prev = it
        elif it.spatial:
            prev = None
    return out


def iter_outcomes(m: ModuleInfo) -> Iterator[Outcome]:
    yield from sorted(
        m.outcomes.values(),
        key=lambda o: (getattr(o.node, "lineno", 0), getattr(o.node, "col_offset", 0)),
    )


def analyse(project: Project) -> None:
    """Run every module of the project that may hold a layer call or call one (then every
    function that matters)."""
    project.count_callers()
    interp = Interpreter(project)
    for m in project.modules:
        if m.lines == [] and not getattr(m, "mentions", False):
            continue
        project.steps = 0  # a budget per module
        try:
            interp.run_module(m)
        except RecursionError:
            m.outcomes.clear()
            m.recursion = True  # type: ignore[attr-defined]
        except Exception as exc:  # one module never loses the others
            m.failed = f"{type(exc).__name__}: {exc}"  # type: ignore[attr-defined]
