"""The layers of a PyTorch module read from its source, never imported or run: which state-dict
key is which layer (``main.3`` a ``ConvTranspose2d`` k4 s2 p1), for ``cbdiag inspect --source``.

The class's ``__init__`` is run by the lint engine's static interpreter with its parameters'
defaults: ``nn.Sequential`` items are numbered as PyTorch numbers them, attributes are named,
``nn.ModuleList`` items numbered, lists built in loops over literals followed, and modules of
classes in the same file entered (their keys nest). What the interpreter cannot know (a value
from a configuration, a class from another file) is reported as not known, never guessed.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from operator import attrgetter

from ..errors import CheckpointError
from ..records import Record
from .structure import Interpreter, Project, statements_cached
from .values import Growth, Inst, Layer, Seq, Unknown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Submodules followed into nested classes.
MAX_NESTING = 8


class SourceLayer(Record):
    """One submodule of the class: its state-dict prefix and what it is."""

    key: str
    name: str  # "ConvTranspose2d", "BatchNorm2d", a class of the file, or "?"
    kind: str  # deconv, conv, subpixel, shuffle, resize, module, container, other, unknown
    stride: tuple[int, int] | None = None
    spec: str | None = None  # the overlap engine's spec (deconv k4 s2 p1) when known
    reason: str | None = None  # why it is not known
    factor: int | None = None  # a pixel shuffle's upscale factor, or the one after a conv
    #: the overlap engine's layer (per-axis kernel, stride, padding, dilation) when known
    layer: Any = None
    groups: int | None = 1  # a convolution's groups (None: not a literal)

    _fields = ("key", "name", "kind", "stride", "spec", "reason", "factor", "groups")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        key: str,
        name: str,
        kind: str,
        stride: tuple[int, int] | None = None,
        spec: str | None = None,
        reason: str | None = None,
        factor: int | None = None,
        layer: Any = None,
        groups: int | None = 1,
    ) -> None:
        self.key = key
        self.name = name
        self.kind = kind
        self.stride = stride
        self.spec = spec
        self.reason = reason
        self.factor = factor
        self.layer = layer
        self.groups = groups


def source_layers(
    path: str | os.PathLike[str], cls: str | None = None, keys: Iterable[str] = ()
) -> tuple[str, dict[str, SourceLayer]]:
    """``(class name, {state-dict prefix: layer})`` of the class ``cls`` of the Python file at
    ``path`` (without ``cls``: of the class whose layers match the most of ``keys``, the
    checkpoint's keys)."""
    from . import _read

    text, err = _read(str(path))
    if text is None:
        raise CheckpointError(f"{path}: cannot read the source ({err})")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise CheckpointError(
            f"{path}:{exc.lineno}:{exc.offset}: the source does not parse ({exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: the source does not parse ({type(exc).__name__})") from None
    project = Project()
    with statements_cached():
        m = project.add(str(path), text, tree, None, None)
        m.pattern = None  # type: ignore[attr-defined]  # (no settling: every function runs)
        project.count_callers()
        interp = Interpreter(project)
        classes = {
            f.qual: f
            for f in m.funcs.values()
            if isinstance(f.node, ast.ClassDef) and "<locals>" not in f.qual
        }
        if cls is not None and cls not in classes:
            known = ", ".join(sorted(classes)) or "none"
            raise CheckpointError(f"{path}: no class {cls!r} (classes: {known})")
        wanted = [cls] if cls is not None else sorted(classes)
        prefixes = {_prefix_of(k) for k in keys}
        best: tuple[int, str, dict[str, SourceLayer]] | None = None
        interp.run_module(m)
        for name in wanted:
            got = _layers_of(interp, project, classes[name])
            score = sum(1 for p in prefixes if match(p, got) is not None)
            if best is None or score > best[0]:
                best = (score, name, got)
        project.release()
    if best is None:
        raise CheckpointError(f"{path}: no class in the source")
    if cls is None and prefixes and best[0] == 0:
        raise CheckpointError(
            f"{path}: no class of the source has a layer for any of the checkpoint's keys "
            f"(classes: {', '.join(sorted(classes)[:8])}); name one with {path}:Class"
        )
    return best[1], best[2]


def _layers_of(interp: Interpreter, project: Project, f: Any) -> dict[str, SourceLayer]:
    init = project.funcs.get(f"{f.key}.__init__")
    if init is None:
        return {}
    inst = interp._instance(init) if init.function is not None else None
    if inst is None:
        return {}
    if not getattr(init, "alone", False):
        interp.run_alone(init)
    out: dict[str, SourceLayer] = {}
    _walk_inst(inst, "", out, 0)
    # a convolution built just before a pixel shuffle (attributes ``self.conv``, then
    # ``self.shuffle``): a sub-pixel convolution, as inside a Sequential
    prev: SourceLayer | None = None
    for sl in list(out.values()):
        if sl.kind in ("container", "module"):
            continue
        if sl.kind == "shuffle" and prev is not None and prev.kind == "conv":
            out[prev.key] = SourceLayer(
                prev.key, prev.name, "subpixel", prev.stride, prev.spec, prev.reason, sl.factor,
                prev.layer, prev.groups,
            )  # fmt: skip
        prev = sl
    return out


def _walk_inst(inst: Inst, prefix: str, out: dict[str, SourceLayer], depth: int) -> None:
    if depth > MAX_NESTING:
        return
    for name, v in inst.attrs.items():
        _walk(v, f"{prefix}{name}", out, depth)


def _walk(v: Any, key: str, out: dict[str, SourceLayer], depth: int) -> None:
    if isinstance(v, Seq):
        container = v.sequential or getattr(v, "container", None)
        if container:
            name = getattr(v, "subclass", None) or container.rsplit(".", 1)[-1]
            out[key] = SourceLayer(key, name, "container")
        items = v.items
        for i, item in enumerate(items):
            _walk(item, f"{key}.{i}", out, depth)
        # a convolution whose output a pixel shuffle rearranges: a sub-pixel convolution
        for i in range(len(items) - 1):
            a, b = out.get(f"{key}.{i}"), out.get(f"{key}.{i + 1}")
            if a is not None and b is not None and a.kind == "conv" and b.kind == "shuffle":
                out[a.key] = SourceLayer(
                    a.key, a.name, "subpixel", a.stride, a.spec, a.reason, b.factor, a.layer,
                    a.groups,
                )  # fmt: skip
        return
    if isinstance(v, Growth | Unknown):
        out[key] = SourceLayer(key, "?", "unknown", reason=v.reason)
        return
    if not isinstance(v, Layer):
        return
    inst = getattr(v, "inst", None)
    if isinstance(inst, Inst):
        out[key] = SourceLayer(key, inst.cls.rsplit(":", 1)[-1], "module")
        _walk_inst(inst, f"{key}.", out, depth + 1)
        return
    t = v.target
    if t is not None:
        name = getattr(v, "subclass", None) or t.name
        if t.name == "ConvModule":  # mmcv's bundle: its convolution is the submodule ``conv``
            out[key] = SourceLayer(key, name, "module")
            key, name = f"{key}.conv", f"ConvTranspose{t.ndim}d"
        kind = t.kind
        stride = spec = None
        factor = None
        if v.layer is not None:
            stride = (v.layer.y.stride, v.layer.x.stride)
            spec = v.layer.spec
            if kind == "shuffle":
                factor = v.layer.y.stride
        out[key] = SourceLayer(
            key, name, kind, stride, spec, v.unknown, factor, v.layer, _groups(v.node)
        )
        return
    if v.layer is not None:
        out[key] = SourceLayer(
            key, v.layer.spec.split()[0], "resize", spec=v.layer.spec, layer=v.layer
        )
        return
    qual = getattr(v, "qual", None)
    name = qual.rsplit(".", 1)[-1] if qual else "?"
    out[key] = SourceLayer(key, name, "other", reason=v.unknown)


def _groups(call: Any) -> int | None:
    """``groups`` of a ``Conv2d`` / ``ConvTranspose2d`` call (the 7th argument of both): 1 when
    not given, the literal when given one, None otherwise."""
    if not isinstance(call, ast.Call):
        return 1
    arg = next((k.value for k in call.keywords if k.arg == "groups"), None)
    if (
        arg is None
        and len(call.args) > 6
        and not any(isinstance(a, ast.Starred) for a in call.args[:7])
    ):
        arg = call.args[6]
    if arg is None:
        return None if any(k.arg is None for k in call.keywords) else 1
    try:
        v = ast.literal_eval(arg)
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return None
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else None


def _prefix_of(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else key


def match(prefix: str, layers: dict[str, SourceLayer]) -> SourceLayer | None:
    """The layer of a checkpoint key's prefix: the prefix itself, or with leading parts
    dropped (``module.`` of DataParallel, ``netG_state_dict.``, Lightning's ``state_dict.``,
    ``model.`` of a wrapper)."""
    parts = prefix.split(".")
    for i in range(len(parts)):
        got = layers.get(".".join(parts[i:]))
        if got is not None:
            return got
    return None


#: Calls in ``forward`` that change the image path without a module in ``__init__``.
FORWARD_GEOMETRY = frozenset(
    {
        "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
        "pixel_unshuffle", "conv_transpose2d", "conv2d", "pad", "avg_pool2d", "max_pool2d",
        "cat", "concat", "concatenate", "stack", "unfold", "fold", "grid_sample", "roll",
        "flip", "repeat_interleave", "adaptive_avg_pool2d", "depth_to_space",
    }
)  # fmt: skip


def forward_note(
    path: str | os.PathLike[str], cls: str, layers: dict[str, SourceLayer]
) -> str | None:
    """Why the path read from ``__init__`` may not be the one ``forward`` runs, or None: a
    ``forward`` (of the class, or of a block built after its first upsampler) that calls a
    resampling or merging function, or adds two tensors (a residual or a skip)."""
    from . import _read

    text, _ = _read(str(path))
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    order = list(layers.values())
    first = next(
        (i for i, sl in enumerate(order) if sl.kind in ("deconv", "subpixel", "shuffle", "resize")),
        len(order),
    )
    relevant = {cls} | {sl.name for sl in order[first:] if sl.kind == "module"}
    top = [k for k in layers if "." not in k]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            late = _out_of_order(node, top)
            if late is not None:
                return late
        if not isinstance(node, ast.ClassDef) or node.name not in relevant:
            continue
        for f in node.body:
            if not isinstance(f, ast.FunctionDef) or f.name != "forward":
                continue
            for sub in ast.walk(f):
                if isinstance(sub, ast.Call):
                    fn = sub.func
                    name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                    if name in FORWARD_GEOMETRY:
                        return (
                            f"{node.name}.forward calls {name} (line {sub.lineno}), which the "
                            "path read from __init__ leaves out"
                        )
                if (
                    isinstance(sub, ast.BinOp)
                    and isinstance(sub.op, ast.Add | ast.Sub)
                    and not isinstance(sub.left, ast.Constant)
                    and not isinstance(sub.right, ast.Constant)
                ):
                    return (
                        f"{node.name}.forward adds two tensors (line {sub.lineno}: a residual or "
                        "a skip), which the path read from __init__ leaves out"
                    )
    return None


def _out_of_order(cls: ast.ClassDef, order: list[str]) -> str | None:
    """Where ``forward`` uses the class's submodules in another order than ``__init__`` builds
    them (the order the path is read in), or None. Calls count when they run: arguments
    before the call (``self.out(self.ups(x))`` runs ``ups`` first)."""
    fwd = next(
        (f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "forward"), None
    )
    if fwd is None:
        return None
    rank = {k: i for i, k in enumerate(order)}
    used: list[tuple[str, int]] = []

    def attr(e: ast.AST) -> str | None:
        while isinstance(e, ast.Subscript):
            e = e.value
        if (
            isinstance(e, ast.Attribute)
            and isinstance(e.value, ast.Name)
            and e.value.id == "self"
            and e.attr in rank
        ):
            return e.attr
        return None

    def visit(e: ast.AST, depth: int = 0) -> None:
        if depth > 200:
            return
        if isinstance(e, ast.Call):
            for a in [*e.args, *(k.value for k in e.keywords)]:
                visit(a, depth + 1)
            name = attr(e.func)
            if name is not None:
                used.append((name, e.lineno))
            else:
                visit(e.func, depth + 1)
            return
        if isinstance(e, ast.For):
            visit(e.iter, depth + 1)
            name = attr(e.iter)
            if name is not None:
                used.append((name, e.lineno))
            for s in [*e.body, *e.orelse]:
                visit(s, depth + 1)
            return
        for child in ast.iter_child_nodes(e):
            visit(child, depth + 1)

    for stmt in fwd.body:
        visit(stmt)
    best = -1
    for name, line in used:
        if rank[name] < best:
            return (
                f"{cls.name}.forward runs self.{name} (line {line}) after a submodule that "
                "__init__ builds later: the path read from __init__ is not the one forward runs"
            )
        best = max(best, rank[name])
    return None
