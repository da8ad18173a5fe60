"""The rules applied to one evaluated call: a layer's kernel, stride, dilation and padding as
static values (see :mod:`cbdiag.lint.values`), checked with cbdiag's overlap engine; and the
stacked-layers rule on a container's layers. Every check ends in findings, clean, or an
:class:`~cbdiag.lint.values.Unknown` saying which value was not known and why."""

from __future__ import annotations

import math
from functools import lru_cache
from operator import attrgetter

from ..errors import CbdiagError
from ..interior import stack_interior
from ..layers import AxisOp, deconv, phase_counts
from ..layers import Layer as Spatial
from ..records import MutableRecord
from .targets import CONFIGURED_NAMES, Arg, Target
from .values import Growth, Layer, Seq, Sym, Unknown, as_tuple, first_unknown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Finding = tuple[str, str]  # (code, message)


class CallArgs(MutableRecord):
    """The evaluated arguments of a call (``*``/``**`` of unknown contents make the rest
    unknown)."""

    pos: list[Any]
    kw: dict[str, Any]
    star: Unknown | None = None  # a *args whose length is not known
    kwstar: Unknown | None = None  # a **kwargs whose keys are not known

    _fields = ("pos", "kw", "star", "kwstar")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        pos: list[Any] | None = None,
        kw: dict[str, Any] | None = None,
        star: Unknown | None = None,
        kwstar: Unknown | None = None,
    ) -> None:
        self.pos = list() if pos is None else pos
        self.kw = dict() if kw is None else kw
        self.star = star
        self.kwstar = kwstar

    def get(self, spec: Arg | None, what: str) -> tuple[bool, Any]:
        """(given, value) of an argument by keyword or position."""
        if spec is None:
            return False, None
        for name in spec.names:
            if name in self.kw:
                return True, self.kw[name]
        if spec.pos is not None and spec.pos < len(self.pos):
            return True, self.pos[spec.pos]
        if self.star is not None and spec.pos is not None:
            return True, Unknown(f"{what} may be in *{self.star.reason}")
        if self.kwstar is not None:
            return True, Unknown(f"{what} may be in **{self.kwstar.reason}")
        return False, None


def per_axis(v: Any, ndim: int) -> tuple[int, ...] | None:
    v = as_tuple(v)
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


def _why(v: Any, what: str) -> Unknown:
    if isinstance(v, Unknown):
        return Unknown(f"{what}: {v.reason}")
    if isinstance(v, Sym):
        return Unknown(f"{what}: {v.reason or v.name + ' is not known statically'}")
    u = first_unknown(v) if isinstance(v, tuple) else None
    if u is not None:
        return Unknown(f"{what}: {u.reason}")
    return Unknown(f"{what} is not an integer or a tuple of integers")


def params(t: Target, args: CallArgs) -> dict[str, tuple[int, ...]] | Unknown | Finding:
    """Per-axis kernel, stride, dilation (or why not; or a symbolic verdict)."""
    if t.kernel is not None:
        given, k = args.get(t.kernel, "kernel_size")
        if not given:
            return Unknown("kernel_size is not given")
    else:
        k = args.kw.get("__weight_kernel__", Unknown("the kernel comes from a weight tensor"))
    given, s = args.get(t.stride, "stride")
    if not given or s is None:
        s = t.default_stride
    given, d = args.get(t.dilation, "dilation")
    if not given or d is None:
        d = 1
    k, s, d = as_tuple(k), as_tuple(s), as_tuple(d)
    sym = _symbolic(k, s)
    if sym is not None:
        return sym
    ndim = t.ndim
    if not t.ndim_known:  # (spatial_dims not known: as many axes as a tuple gives)
        ndim = max((len(v) for v in (k, s, d) if isinstance(v, tuple)), default=1)
    out = {}
    for key, v in (("kernel", k), ("stride", s), ("dilation", d)):
        if (
            t.framework == "tf"
            and key != "kernel"
            and isinstance(v, tuple)
            and len(v) == t.ndim + 2
        ):
            v = v[1:-1]  # [1, sy, sx, 1] in NHWC
        axes = per_axis(v, ndim)
        if axes is None:
            if stride_one(s):  # (only when the kernel or dilation is not known)
                return ("clean", "stride 1: every output gets the same taps, whatever the kernel")
            return _why(v, {"kernel": "kernel_size"}.get(key, key))
        out[key] = axes
    return out


def stride_one(s: Any) -> bool:
    """A stride of 1 on every axis (a TF ``[1, 1, 1, 1]`` too)."""
    axes = s if isinstance(s, tuple) else (s,)
    return bool(axes) and all(type(x) is int and x == 1 for x in axes)


def _symbolic(k: Any, s: Any) -> Finding | None:
    """``kernel_size = c * stride`` (the same unknown name): divisible whatever it is."""
    same_name = isinstance(s, Sym) and isinstance(k, Sym) and k.name == s.name
    if same_name and s.coef == 1 and k.coef >= 1:
        return ("clean", f"kernel_size {k.coef} x {k.name}, stride {k.name}: divisible")
    return None


def check_target(t: Target, args: CallArgs) -> list[Finding] | Unknown:
    """Findings of one layer call ([] = clean)."""
    p = params(t, args)
    if isinstance(p, Unknown):
        return p
    if isinstance(p, tuple):  # symbolic: clean
        return []
    ks, ss, ds = p["kernel"], p["stride"], p["dilation"]
    if any(v < 1 for v in (*ks, *ss, *ds)):
        return []  # invalid values: the framework will complain, we do not guess
    if any(v > 1 << 16 for v in (*ks, *ss, *ds)):
        return Unknown("kernel, stride or dilation larger than any real layer's")
    if t.kind == "conv":
        bad = [(k, s) for k, s in zip(ks, ss, strict=True) if s > 1 and k % s]
        if not bad:
            return []
        ratio = math.prod(_ratio(k, s, 1) for k, s in bad)
        return [
            (
                "CBD105",
                f"{t.name} kernel {_show(ks)} stride {_show(ss)}: its gradient (a transposed "
                f"convolution) has uneven overlap, max/min {_num(ratio)}; use kernel "
                f"{_show(tuple(_up(k, s) for k, s in zip(ks, ss, strict=True)))}",
            )
        ]
    if any(s > 1 and k < s for k, s in zip(ks, ss, strict=True)):
        fix = _show(tuple(max(_up(k, s), s) for k, s in zip(ks, ss, strict=True)))
        return [
            (
                "CBD102",
                f"{t.name} kernel {_show(ks)} stride {_show(ss)}: kernel smaller than the stride "
                f"leaves output rows/columns with no input (holes); use kernel {fix}",
            )
        ]
    shared = [(d, s) for d, s in zip(ds, ss, strict=True) if s > 1 and math.gcd(d, s) > 1]
    if shared:
        d, s = shared[0]
        return [
            (
                "CBD103",
                f"{t.name} dilation {_show(ds)} stride {_show(ss)}: dilation {d} and stride {s} "
                f"share the factor {math.gcd(d, s)}, so whole rows/columns get no input (holes); "
                f"use dilation 1",
            )
        ]
    ratios = [_ratio(k, s, d) for k, s, d in zip(ks, ss, ds, strict=True)]
    if all(r == 1 for r in ratios):
        return []
    if not t.ndim_known and len(ratios) == 1:
        r = _num(ratios[0])
        ratio_text = (
            f"interior max/min {r} per axis ({r}^n in n-D: the spatial dimensions are not "
            "known statically)"
        )
    elif t.ndim == 1 or len(ratios) == 1:
        ratio_text = f"interior max/min {_num(ratios[0])}"
    else:
        ratio_text = (
            f"interior max/min {' x '.join(_num(r) for r in ratios)} = "
            f"{_num(math.prod(ratios))} in {len(ratios)}-D"
        )
    return [
        (
            "CBD101",
            f"{t.name} kernel {_show(ks)} not divisible by stride {_show(ss)}: uneven overlap, "
            f"{ratio_text}; {_fix(t, args, ks, ss, ds)} or resize-conv (nearest x{_show(ss)} "
            "then a stride-1 conv)",
        )
    ]


def _fix(
    t: Target, args: CallArgs, ks: tuple[int, ...], ss: tuple[int, ...], ds: tuple[int, ...]
) -> str:
    """The kernel to use, with the padding and output padding that keep the output size."""
    new = tuple(_up(k, s) for k, s in zip(ks, ss, strict=True))
    text = f"use kernel {_show(new)}"
    if t.framework == "monai" and t.name == "UNet":
        return (
            "MONAI's UNet pads its up-convolutions for an odd up_kernel_size only, so none is "
            "divisible by an even stride: use an upsampler with kernel = stride (BasicUNet's "
            "deconv UpSample)"
        )
    if t.framework == "monai" and t.name == "UpSample":
        new_k = text.replace("kernel", "kernel_size", 1)
        return f"{new_k}, or leave kernel_size unset (kernel = scale_factor)"
    if t.framework in ("torch", "monai") and t.kernel is not None:
        pads = _torch_pads(t, args, len(ks))
        if pads is None:
            return text
        (ps, ops) = pads
        p2, op2 = [], []
        for k, k2, s, d, p, op in zip(ks, new, ss, ds, ps, ops, strict=True):
            # out = (i - 1) s - 2 p + d (k - 1) + op + 1: keep 2p - op - d k
            target = 2 * p - op + d * (k2 - k)
            o = target % 2
            if target < 0 or o >= max(s, d):
                return text + " (then adjust padding to keep the output size)"
            p2.append((target + o) // 2)
            op2.append(o)
        text += f" with padding {_show(tuple(p2))}"
        if any(op2) or any(ops):
            text += f", output_padding {_show(tuple(op2))}"
            if t.name in CONFIGURED_NAMES:
                text += " in its config"  # (mmcv: the config's keys go to the layer)
        if t.name == "Convolution" and t.framework == "monai":
            return (
                f"{text} (the same output size; given explicitly: MONAI's default padding "
                "needs an odd kernel)"
            )
        text += " (the same output size)"
        return text
    if t.framework in ("keras", "flax"):
        given, pad = args.get(t.padding or Arg(3, ("padding",)), "padding")
        mode = str(pad).lower() if given and isinstance(pad, str) else None
        if mode is None:
            mode = t.default_padding or ("valid" if t.framework == "keras" else "same")
        if mode == "same":
            text += " (padding 'same' keeps the output size)"
        else:
            text += " (with padding 'same' the output is the input times the stride)"
    return text


def _torch_pads(
    t: Target, args: CallArgs, ndim: int
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    pad_pos, op_pos = (4, 5) if t.kind == "deconv" else (4, None)
    if t.name.startswith("Lazy"):
        pad_pos, op_pos = 3, 4
    given, pad = args.get(Arg(pad_pos, ("padding",)), "padding")
    pads = per_axis(pad if given else 0, ndim)
    if pads is None:
        return None
    ops = (0,) * ndim
    if op_pos is not None:
        given, op = args.get(Arg(op_pos, ("output_padding",)), "output_padding")
        got = per_axis(op if given else 0, ndim)
        if got is None:
            return None
        ops = got
    return pads, ops


def spatial_layer(t: Target, args: CallArgs) -> Any:
    """The overlap engine's layer of a 2-D call (or why not)."""
    p = params(t, args)
    if isinstance(p, Unknown):
        return p
    if isinstance(p, tuple):
        return Unknown("a symbolic kernel")
    (ky, kx), (sy, sx), (dy, dx) = p["kernel"], p["stride"], p["dilation"]
    if max(ky, kx, sy, sx, dy, dx) > 1024:
        return Unknown("a kernel larger than any real layer's")
    try:
        if t.framework == "torch":
            pads = _torch_pads(t, args, 2)
            if pads is None:
                return Unknown("padding is not known statically")
            (py, px), (oy, ox) = pads
            return deconv(
                (ky, kx),
                (sy, sx),
                padding=(py, px),
                output_padding=(oy, ox),
                dilation=(dy, dx),
                kind=t.kind,
            )
        given, pad = args.get(t.padding or Arg(3, ("padding",)), "padding")
        mode = (
            str(pad).lower()
            if given and isinstance(pad, str)
            else (t.default_padding or ("valid" if t.framework == "keras" else "same"))
        )
        if mode not in ("same", "valid"):
            return Unknown(f"padding {pad!r}")
        return deconv((ky, kx), (sy, sx), dilation=(dy, dx), tf_padding=mode, kind=t.kind)
    except (CbdiagError, ValueError, TypeError):
        return Unknown("parameters the overlap engine refuses")


def resampler(kind: str, factor: Any) -> Any:
    f = per_axis(factor, 2)
    if f is None:
        return _why(factor, "scale_factor")
    if max(f) > 64:
        return Unknown("a scale factor larger than any real layer's")
    try:
        return Spatial(AxisOp(kind, stride=f[0]), AxisOp(kind, stride=f[1]))
    except CbdiagError:  # the layer model refuses it (LayerSpecError)
        return Unknown("an invalid scale factor")


def check_stack(container: str, items: list[Any]) -> Finding | Unknown | None:
    """CBD104 on the layers of a container, in order."""
    stack: list[Any] = []
    ups: list[str] = []
    deconvs = 0
    own = []
    known = sum(_is_deconv(it) for it in items)
    if not known:
        return None  # no transposed convolution known in it: not this rule's business
    if known < 2 and not any(_may_hold_deconv(it) for it in items if not _is_deconv(it)):
        return None  # one transposed convolution, and nothing that could hold another
    if _all_even(items):
        return None  # each transposed convolution even alone: so is any stack of them
    for it in items:
        if isinstance(it, Seq):
            return Unknown("a nested list")
        if isinstance(it, Growth):
            return Unknown(f"the container's layers: {it.reason}")
        if not isinstance(it, Layer):
            continue  # a value not known (a norm or activation passed in): no grid change
        if not it.spatial:
            continue
        if it.target is not None and (it.target.ndim != 2 or not it.target.ndim_known):
            return None  # the stack rule is 2-D
        if it.unknown is not None or it.layer is None:
            if not ups and not _may_hold_deconv(it):
                # before the first upsampler, a block of convolutions (of any stride) gives
                # every output the same number of taps: the stack after it is what counts
                continue
            return Unknown(f"a layer of the container: {it.unknown or 'not known'}")
        stack.append(it.layer)
        if it.layer.kind in ("deconv", "nearest", "bilinear", "shuffle"):
            ups.append(it.layer.spec)
        if it.layer.kind == "deconv":
            deconvs += 1
            own.append(it.layer)
    if deconvs < 2:
        return None
    r = _stack_map(tuple(stack))
    if r is None or r.even:
        return None
    name = container.rsplit(".", 1)[-1]
    if r.holes:
        ratio = "holes"
    else:
        ratio = f"{_num(r.y.ratio)} x {_num(r.x.ratio)} = {_num(r.ratio_2d)} in 2-D"
        alone = [_stack_map((layer,)) for layer in own]
        worst = max((a.ratio_2d for a in alone if a is not None and not a.holes), default=None)
        if worst is not None and abs(worst - r.ratio_2d) > 1e-9:
            ratio += (
                f" (each layer alone at most {_num(worst)}: the unevenness compounds "
                "through the stack)"
                if r.ratio_2d > worst
                else f" (each layer alone up to {_num(worst)})"
            )
    return (
        "CBD104",
        f"{name} stacks {deconvs} transposed convolutions (upsamplers: {', '.join(ups)}): "
        f"combined interior max/min {ratio}, period {r.period[0]}x{r.period[1]}; "
        "make every transposed convolution's kernel divisible by its stride (k4 s2) or use "
        "resize-conv",
    )


class _Contents:
    """What a container's item is or holds, as far as followed: its transposed convolutions,
    whether something not followed may hold one, whether another upsampler is among them."""

    def __init__(self) -> None:
        self.deconvs: list[Layer] = []
        self.unfollowed = False
        self.resampler = False
        self.seen: set[int] = set()

    def add(self, v: Any) -> None:
        if id(v) in self.seen:
            return
        self.seen.add(id(v))
        if isinstance(v, Growth):
            self.unfollowed = True
        elif isinstance(v, Seq):
            for x in v.items:
                self.add(x)
        elif isinstance(v, Layer):
            if v.target is not None:
                if v.target.kind == "deconv":
                    self.deconvs.append(v)
            elif v.layer is not None:  # a resampler
                self.resampler = True
            elif v.spatial:
                inst = getattr(v, "inst", None)
                if inst is None:
                    self.unfollowed = True  # a module of the tree not followed
                else:
                    for x in inst.attrs.values():
                        self.add(x)
        # (a value not known is taken as a norm or activation passed in, as check_stack does)


def _all_even(items: list[Any]) -> bool:
    """Whether every transposed convolution the container holds (its items, and the layers of
    its modules of the tree, as far as followed) is known and even alone, with no other
    upsampler and nothing not followed that could hold one: an even stack then."""
    c = _Contents()
    for it in items:
        c.add(it)
    if c.unfollowed or c.resampler or not c.deconvs:
        return False
    return all(d.layer is not None and _even_alone(d.layer) for d in c.deconvs)


def _even_alone(layer: Spatial) -> bool:
    """Whether one transposed convolution's overlap is even: on every axis its kernel's taps
    fall on each phase of its stride equally often, none on no phase (closed form of the
    overlap map's verdict for one layer; no numpy)."""
    for op in layer.axes:
        counts = phase_counts(op)
        if min(counts) == 0 or min(counts) != max(counts):
            return False
    return True


def _is_deconv(v: Any) -> bool:
    return isinstance(v, Layer) and v.target is not None and v.target.kind == "deconv"


def _may_hold_deconv(v: Any) -> bool:
    """Whether an item of a container is or may hold a transposed convolution: a nested list
    or a module of the tree holding one (by the layers its run assigned, or any module of the
    tree whose layers are not known), items added where cbdiag does not follow."""
    c = _Contents()
    c.add(v)
    return c.unfollowed or bool(c.deconvs)


@lru_cache(maxsize=256)
def _stack_map(stack: tuple[Any, ...]) -> Any:
    """The interior of a stack's overlap map (cached: the same stacks recur across files),
    from the periodic model in plain Python (:mod:`cbdiag.interior`, which gives the overlap
    engine's interior); a stack past that model's bounds goes to the overlap engine (numpy,
    imported only then), or None when the engine refuses it (SizeError, LayerSpecError)."""
    got = stack_interior(stack)
    if got is not None:
        return got
    from ..overlap import overlap_map

    try:
        return overlap_map(list(stack))
    except CbdiagError:
        return None


@lru_cache(maxsize=512)
def _ratio(k: int, s: int, d: int) -> float:
    """Interior max/min of one axis: the overlap engine's per-phase tap count (no size limit)."""
    if s == 1:
        return 1.0
    counts = phase_counts(AxisOp("deconv", kernel=k, stride=s, dilation=d))
    return math.inf if min(counts) == 0 else max(counts) / min(counts)


def _up(k: int, s: int) -> int:
    return max(s, -(-k // s) * s)


def _show(v: tuple[int, ...]) -> str:
    return str(v[0]) if len(set(v)) == 1 else "x".join(map(str, v))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"
