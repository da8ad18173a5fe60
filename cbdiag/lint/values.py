"""Static values of the lint's interpreter: what an expression is known to be without running
anything, and why not when it is not.

A value is a Python constant (``int``, ``float``, ``str``, ``bool``, ``None``), a ``tuple`` of
values, a :class:`Seq` (a list being built: ``layers = []``, ``layers.append(...)``), a
:class:`Layer` (the result of a layer call the rules understand), a :class:`Qual` (a name
bound by an import: ``torch.nn.ConvTranspose2d``), a :class:`Func` (a function or class of the
linted tree), a :class:`Partial` (``functools.partial``), a :class:`Sym` (an unknown integer
times a constant: ``2 * stride``), or :class:`Unknown` with the reason.

Arithmetic is bounded (integers up to 2**64, short sequences, small exponents): a hostile
source cannot make the linter compute forever or fill the memory.
"""

from __future__ import annotations

import ast
from operator import attrgetter

from ..records import Plain, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: Largest integer magnitude the interpreter computes with.
MAX_INT = 1 << 64
#: Longest sequence (tuple, list, range, repetition) the interpreter builds.
MAX_ITEMS = 4096
#: Longest string constant kept.
MAX_STR = 10_000


class Unknown(Record):
    """A value not known statically, and why (shown by ``--show-unresolved``)."""

    reason: str

    _fields = ("reason",)
    _key = attrgetter(*_fields)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class LateUnknown(Unknown):
    """An :class:`Unknown` whose reason is written when first read (most reasons are never
    shown, and some cost a look at the source)."""

    def __init__(self, make: Callable[[], str]) -> None:  # (no call of Unknown's: its
        self._make: Callable[[], str] | None = make  # reason is the property below)
        self._reason = ""

    @property
    def reason(self) -> str:  # type: ignore[override]
        if self._make is not None:
            self._reason, self._make = self._make(), None
        return self._reason


class Choice(Unknown):
    """One of two values, by a condition not known statically (``nn.ConvTranspose2d if
    transpose else nn.Conv2d``): unknown to every rule, but a call of it that may be a
    transposed convolution is checked as one (clean if even, else unresolved, with both)."""

    def __init__(self, a: Any, b: Any, reason: str) -> None:
        super().__init__(reason)
        self.options = (a, b)


class Qual(Record):
    """A name bound by an import, canonical (``torch.nn.ConvTranspose2d``)."""

    name: str

    _fields = ("name",)
    _key = attrgetter(*_fields)

    def __init__(self, name: str) -> None:
        self.name = name


class Func(Record):
    """A function, method or class of the linted tree (``key`` = ``module:Qual.name``)."""

    key: str

    _fields = ("key",)
    _key = attrgetter(*_fields)

    def __init__(self, key: str) -> None:
        self.key = key


class Partial(Record):
    """``functools.partial(func, *args, **kwargs)`` with the arguments as values."""

    func: Any
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]

    _fields = ("func", "args", "kwargs")
    _key = attrgetter(*_fields)

    def __init__(
        self, func: Any, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs


class Sym(Record):
    """An unknown integer ``name`` times ``coef`` (``reason``: why ``name`` is unknown):
    ``kernel_size=2 * stride`` is divisible by ``stride`` whatever it is."""

    name: str
    coef: int = 1
    reason: str = ""

    _fields = ("name", "coef", "reason")
    _key = attrgetter(*_fields)

    def __init__(self, name: str, coef: int = 1, reason: str = "") -> None:
        self.name = name
        self.coef = coef
        self.reason = reason


class Growth(Unknown):
    """A list grown a number of times not known statically (it may hold anything)."""


class _Grown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "GROWN"


#: The key of a dict whose other keys are not all known statically (``d.update(cfg)``, a
#: function's ``**kwargs`` when its caller passed ``**cfg``): its value is the
#: :class:`Unknown` that says where they come from; the str keys beside it are those set since.
GROWN: Any = _Grown()


def grow(d: dict[Any, Any], why: Unknown) -> None:
    """``d`` updated from keys not known statically: any key it had may now be anything."""
    d.clear()
    d[GROWN] = why


def merge(d: dict[Any, Any], other: dict[Any, Any]) -> None:
    """``d`` updated from the dict ``other`` (``{**d, **other}``, ``d.update(other)``): if
    ``other`` has keys not known statically, they may replace any of ``d``'s."""
    if GROWN in other:
        d.clear()
    d.update(other)


def dict_get(d: dict[Any, Any], key: str, missing: Any) -> Any:
    """``d[key]``: ``missing`` when it is not there (unless ``d`` has keys not known)."""
    if key in d:
        return d[key]
    grown = d.get(GROWN)
    return Unknown(f"the key {key!r} may be in {grown.reason}") if grown is not None else missing


class Layer(Plain):
    """A layer call: the rules' target (``target``, with its spatial ``layer`` when every
    argument is known), a resampler (``layer`` only), or another module (``layer`` None:
    no effect on the spatial pattern)."""

    node: ast.Call
    target: Any = None
    layer: Any = None
    spatial: bool = False  # changes the spatial grid (an upsampler or strided layer)
    unknown: str | None = None  # spatial, but its parameters are not known: why

    _fields = ("node", "target", "layer", "spatial", "unknown")

    def __init__(
        self,
        node: ast.Call,
        target: Any = None,
        layer: Any = None,
        spatial: bool = False,
        unknown: str | None = None,
    ) -> None:
        self.node = node
        self.target = target
        self.layer = layer
        self.spatial = spatial
        self.unknown = unknown


class Seq(Plain):
    """A list (or a Keras ``Sequential`` model filled by ``model.add``) being built."""

    items: list[Any]
    node: ast.AST | None = None
    sequential: str | None = None  # the container's qualified name, for ``model.add``
    added: bool = False  # grown by append/extend/+=/add since it was made

    _fields = ("items", "node", "sequential", "added")

    def __init__(
        self,
        items: list[Any] | None = None,
        node: ast.AST | None = None,
        sequential: str | None = None,
        added: bool = False,
    ) -> None:
        self.items = list() if items is None else items
        self.node = node
        self.sequential = sequential
        self.added = added


def known(v: Any) -> bool:
    """A concrete constant (or a tuple of them)."""
    if isinstance(v, tuple):
        return all(known(x) for x in v)
    return isinstance(v, int | float | str | bool) or v is None


def as_tuple(v: Any) -> Any:
    """A list of constants as a tuple (``kernel_size=[3, 3]``); anything else as it is."""
    if isinstance(v, Seq) and all(known(x) for x in v.items):
        return tuple(v.items)
    return v


def first_unknown(*values: Any) -> Unknown | None:
    for v in values:
        if isinstance(v, Unknown):
            return v
        if isinstance(v, Sym):
            return Unknown(v.reason or f"`{v.name}` is not known statically")
        if isinstance(v, tuple):
            u = first_unknown(*v)
            if u is not None:
                return u
    return None


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def bounded(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        return Unknown("an integer too large to be a layer parameter")
    if isinstance(v, float) and (v != v or abs(v) > MAX_INT):
        return Unknown("a number out of range")
    return v


def binop(op: ast.operator, a: Any, b: Any) -> Any:
    """``a op b`` for numbers, symbolic products and sequences, within the bounds."""
    u = first_unknown(a, b)
    if isinstance(op, ast.Mult):
        if isinstance(a, Sym) and isinstance(b, int) and not isinstance(b, bool):
            if abs(a.coef * b) > MAX_INT:
                return Unknown("too large")
            return Sym(a.name, a.coef * b, a.reason)
        if isinstance(b, Sym) and isinstance(a, int) and not isinstance(a, bool):
            return binop(op, b, a)
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, tuple | Seq) and isinstance(n, int) and not isinstance(n, bool):
                items = list(seq) if isinstance(seq, tuple) else seq.items
                if len(items) * max(n, 0) > MAX_ITEMS:
                    return Unknown("a sequence too long to follow")
                out = items * max(n, 0)
                return tuple(out) if isinstance(seq, tuple) else Seq(out)
    if isinstance(op, ast.Add):
        if isinstance(a, tuple) and isinstance(b, tuple):
            return a + b if len(a) + len(b) <= MAX_ITEMS else Unknown("a sequence too long")
        if isinstance(a, Seq) and isinstance(b, Seq):
            if len(a.items) + len(b.items) > MAX_ITEMS:
                return Unknown("a sequence too long to follow")
            return Seq(a.items + b.items)
        if isinstance(a, str) and isinstance(b, str):
            return a + b if len(a) + len(b) <= MAX_STR else Unknown("a string too long")
    if u is not None:
        return u
    if not (_num(a) and _num(b)):
        return Unknown("an operation on values that are not numbers")
    try:
        if isinstance(op, ast.Add):
            return bounded(a + b)
        if isinstance(op, ast.Sub):
            return bounded(a - b)
        if isinstance(op, ast.Mult):
            return bounded(a * b)
        if isinstance(op, ast.FloorDiv):
            return bounded(a // b)
        if isinstance(op, ast.Mod):
            return bounded(a % b)
        if isinstance(op, ast.Div):
            return bounded(a / b)
        if isinstance(op, ast.Pow):
            bits = int(abs(a)).bit_length() if abs(a) < MAX_INT else 65
            if abs(b) > 64 or (abs(a) > 1 and abs(b) * bits > 64):
                return Unknown("a power too large to be a layer parameter")
            v = a**b
            return bounded(v) if isinstance(v, int | float) else Unknown("a complex power")
    except (ZeroDivisionError, OverflowError, ValueError, TypeError):
        return Unknown("an operation that fails (division by zero, overflow)")
    return Unknown(f"the operator {type(op).__name__}")


def compare(op: ast.cmpop, a: Any, b: Any) -> Any:
    if not (known(a) and known(b)):
        return Unknown("a comparison of values not known statically")
    try:
        if isinstance(op, ast.Eq):
            return a == b
        if isinstance(op, ast.NotEq):
            return a != b
        if isinstance(op, ast.Lt):
            return a < b
        if isinstance(op, ast.LtE):
            return a <= b
        if isinstance(op, ast.Gt):
            return a > b
        if isinstance(op, ast.GtE):
            return a >= b
        if isinstance(op, ast.Is):
            return a is b if a is None or b is None else Unknown("`is` on constants")
        if isinstance(op, ast.IsNot):
            return a is not b if a is None or b is None else Unknown("`is not` on constants")
        if isinstance(op, ast.In) and isinstance(b, tuple | str):
            return a in b
        if isinstance(op, ast.NotIn) and isinstance(b, tuple | str):
            return a not in b
    except TypeError:
        pass
    return Unknown("a comparison cbdiag does not evaluate")


def same(a: Any, b: Any) -> bool:
    """Whether two values are the same for the rules (lists: the same spatial layers)."""
    if isinstance(a, Seq) and isinstance(b, Seq):
        return spatial(a.items) == spatial(b.items) and a.sequential == b.sequential
    if isinstance(a, Layer) or isinstance(b, Layer):
        return a is b
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def spatial(items: list[Any]) -> list[Any]:
    """The items of a layer list that matter to the stacked-layers rule (by identity)."""
    return [id(x.node) for x in items if isinstance(x, Layer) and x.spatial] + [
        "?" for x in items if not isinstance(x, Layer) and not known(x)
    ]


class Tensor(Record):
    """A tensor made with a literal shape (``torch.randn(8, 8, 3, 3)``): the functional forms
    read their kernel from it."""

    shape: tuple[int, ...]

    _fields = ("shape",)
    _key = attrgetter(*_fields)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


class ModRef(Record):
    """A module of the linted tree bound by ``import``."""

    name: str

    _fields = ("name",)
    _key = attrgetter(*_fields)

    def __init__(self, name: str) -> None:
        self.name = name


class Inst(Plain):
    """``self`` inside a method of a class of the tree: its attributes as far as assigned."""

    cls: str  # the class's key
    attrs: dict[str, Any]

    _fields = ("cls", "attrs")

    def __init__(self, cls: str, attrs: dict[str, Any] | None = None) -> None:
        self.cls = cls
        self.attrs = dict() if attrs is None else attrs
