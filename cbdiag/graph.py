"""ONNX models: the image path of a graph, read from the file (never run), as cbdiag layers.

``read_model`` parses the protobuf with the optional ``onnx`` package (``cbdiag[onnx]``) and
checks what it will use before using it: tensors whose declared size does not match their data,
external data outside the model's folder or beyond its file, dangling inputs, cycles.
``image_path`` walks the graph from an image input (``--input NAME``: any tensor) to an output
and turns every node on the way into what the overlap engine and ``inspect`` understand:

* ``ConvTranspose`` (strides, pads, output_padding, dilations, group, auto_pad) and ``Conv``:
  a transposed or plain convolution; their weights are the kernels ``inspect`` analyses;
* ``Resize`` / ``Upsample`` with an integer scale on the spatial axes (from ``scales`` or
  ``sizes``): nearest (any coordinate mode that picks ``floor(o / f)``) or linear with
  ``half_pixel`` / ``pytorch_half_pixel`` (PyTorch's ``align_corners=False``);
* ``DepthToSpace`` (DCR and CRD): a pixel shuffle; a ``Conv`` before it is a sub-pixel
  convolution;
* ``Pad`` (constant, reflect, edge; the same on both sides of an axis) and ``MaxPool`` /
  ``AveragePool``: their geometry (a pooling window counts each of its taps as a path);
* element-wise ops (activations, normalisations, ``Add``/``Mul``/... with a constant): geometry
  kept;
* ``Add`` / ``Sum`` / ``Concat`` (on channels) of two tensors of the path: a merge, whose map is
  the sum of the branches' path counts (the number of paths from the input to each pixel,
  whatever branch they take; what a network with every weight 1 answers to an input of ones).

Any other op on the path stops it, named: never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import CbdiagError, LayerSpecError
from .layers import AxisOp, Layer, deconv

#: Ops that keep every tensor's geometry (element-wise, or per channel).
ELEMENTWISE = frozenset(
    {
        "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "Tanh",
        "HardSwish", "Softplus", "Softsign", "Gelu", "Mish", "Erf", "Clip", "Identity",
        "Dropout", "Cast", "BatchNormalization", "InstanceNormalization", "Neg", "Abs", "Exp",
        "Log", "Sqrt", "Reciprocal", "ThresholdedRelu", "Sin", "Cos", "Floor", "Ceil", "Round",
        "Sign", "Not", "IsNaN", "CastLike",
    }
)  # fmt: skip
#: Binary element-wise ops: geometry kept when the other operand is a constant, a merge when it
#: is another tensor of the path (only Add and Sum count as merges).
BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "PRelu", "Mean"})
MERGES = frozenset({"Add", "Sum", "Concat"})

#: Bounds on what is read from a file.
MAX_NODES = 200_000
MAX_TENSOR_ELEMENTS = 1 << 28
MAX_FILE_BYTES = 4 << 30
#: The largest side of a map with merges (dense per-axis operators).
MAX_MAP = 4096
#: Largest Resize / Upsample factor mapped.
MAX_SCALE = 256

_FLOAT_TYPES: dict[int, str] = {1: "f4", 10: "f2", 11: "f8", 16: "bfloat16"}
_INT_TYPES: dict[int, str] = {6: "i4", 7: "i8", 5: "i2", 3: "i1", 2: "u1", 4: "u2"}


class ModelError(CbdiagError):
    """A model file that cannot be read, or a graph cbdiag cannot follow."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelError(
            "ONNX models need the optional onnx package: pip install 'cbdiag[onnx]'"
        ) from None
    return onnx


@dataclass
class Model:
    """A parsed ONNX model: its graph and where it lies (for external data)."""

    path: Path
    proto: Any
    initializers: dict[str, Any]
    producers: dict[str, Any]  # tensor name -> node
    consumers: dict[str, list[Any]]
    shapes: dict[str, list[int | str | None]]  # declared shapes (inputs, outputs, value_info)
    _arrays: dict[str, NDArray[Any]] = field(default_factory=dict)
    _folding: int = 0

    @property
    def graph(self) -> Any:
        return self.proto.graph

    def constant(self, name: str) -> NDArray[Any] | None:
        """The value of an initializer or a ``Constant`` node's output (None if neither)."""
        if not name:
            return None
        if name in self._arrays:
            return self._arrays[name]
        t = self.initializers.get(name)
        if t is None:
            node = self.producers.get(name)
            hops = 0
            while node is not None and node.op_type == "Identity" and hops < 64:
                # exporters share equal initializers through Identity nodes
                src = node.input[0] if node.input else ""
                if src in self.initializers:
                    return self.constant(src)
                node, hops = self.producers.get(src), hops + 1
            if node is None:
                return None
            if node.op_type != "Constant":
                folded = self._fold(node, name)
                if folded is not None:
                    self._arrays[name] = folded
                return folded
            t = _constant_value(node)
            if t is None:
                return None
        arr = _tensor(t, self.path)
        self._arrays[name] = arr
        return arr

    def _fold(self, node: Any, name: str, depth: int = 0) -> NDArray[Any] | None:
        """The value of a small computation on constants (how exporters write pads, scales
        and shapes: ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast, ...), folded
        here with numpy on at most :data:`MAX_FOLD` elements; None when it is not one."""
        op = node.op_type
        if op not in _FOLD or depth > 64 or self._folding > 4096:
            return None
        self._folding += 1
        args: list[NDArray[Any] | None] = []
        for t in node.input:
            if not t:
                args.append(None)
                continue
            v = self.constant(t)
            if v is None:
                return None
            if v.size > MAX_FOLD:
                return None
            args.append(v)
        try:
            out = _FOLD[op](args, _attrs(node))
        except Exception:  # a computation that numpy refuses is not a constant we can know
            return None
        if out is None or out.size > MAX_FOLD:
            return None
        return np.asarray(out)


def read_model(path: str | os.PathLike[str]) -> Model:
    """Parse an ONNX file (nothing run) and index its graph."""
    onnx = _onnx()
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelError(f"{p}: {size} bytes is larger than an ONNX protobuf can be")
    if size == 0:
        raise ModelError(f"{p}: empty file")
    try:
        proto = onnx.load_model(str(p), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, and anything a hostile file provokes
        raise ModelError(f"{p}: not an ONNX model ({type(exc).__name__})") from None
    g = proto.graph
    if len(g.node) == 0:
        raise ModelError(f"{p}: the graph has no nodes (not an ONNX model?)")
    if len(g.node) > MAX_NODES:
        raise ModelError(f"{p}: {len(g.node)} nodes (more than {MAX_NODES})")
    for what in (g.input, g.output, g.initializer, g.value_info, g.node):
        for item in what:
            names = [item.name, *getattr(item, "input", ()), *getattr(item, "output", ())]
            if not all(isinstance(x, str) for x in names):
                raise ModelError(f"{p}: names that are not UTF-8 text (not a valid ONNX model)")
    initializers = {t.name: t for t in g.initializer}
    producers: dict[str, Any] = {}
    consumers: dict[str, list[Any]] = {}
    for i, node in enumerate(g.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
        for o in node.output:
            if o:
                if o in producers or o in initializers:
                    raise ModelError(f"{p}: tensor {o!r} is produced twice (not a valid graph)")
                producers[o] = node
        for t in node.input:
            if t:
                consumers.setdefault(t, []).append(node)
    shapes: dict[str, list[int | str | None]] = {}
    for vi in [*g.input, *g.output, *g.value_info]:
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            shapes[vi.name] = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in tt.shape.dim
            ]
    return Model(p, proto, initializers, producers, consumers, shapes)


#: The most elements a folded constant may have.
MAX_FOLD = 4096


def _reshape(a: list[Any], at: dict[str, Any]) -> Any:
    data, shape = a[0], [int(x) for x in a[1]]
    if not at.get("allowzero"):
        shape = [data.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return data.reshape(shape)


def _slice(a: list[Any], at: dict[str, Any]) -> Any:
    data = a[0]
    starts, ends = [int(x) for x in a[1]], [int(x) for x in a[2]]
    axes = [int(x) for x in a[3]] if len(a) > 3 and a[3] is not None else list(range(len(starts)))
    steps = [int(x) for x in a[4]] if len(a) > 4 and a[4] is not None else [1] * len(starts)
    idx = [slice(None)] * data.ndim
    for st, en, ax, sp in zip(starts, ends, axes, steps, strict=True):
        n = data.shape[ax]
        en = max(min(en, n), -n - 1) if sp < 0 else max(min(en, n), -n)
        idx[ax] = slice(st, en, sp)
    return data[tuple(idx)]


def _axes(a: list[Any], at: dict[str, Any]) -> list[int]:
    if len(a) > 1 and a[1] is not None:
        return [int(x) for x in a[1]]
    return [int(x) for x in at.get("axes") or []]


def _cast(a: list[Any], at: dict[str, Any]) -> Any:
    dt = _FLOAT_TYPES.get(int(at.get("to", 0))) or _INT_TYPES.get(int(at.get("to", 0)))
    if dt is None or dt == "bfloat16":
        return None
    return a[0].astype(dt)


def _const_of_shape(a: list[Any], at: dict[str, Any]) -> Any:
    shape = [int(x) for x in a[0]]
    if any(d < 0 for d in shape) or int(np.prod(shape)) > MAX_FOLD:
        return None
    v = at.get("value")
    fill = 0.0 if v is None else _onnx().numpy_helper.to_array(v).ravel()[0]
    return np.full(shape, fill)


_FOLD: dict[str, Any] = {
    "ConstantOfShape": _const_of_shape,
    "Concat": lambda a, at: np.concatenate(a, axis=int(at.get("axis", 0))),
    "Reshape": _reshape,
    "Slice": _slice,
    "Transpose": lambda a, at: np.transpose(a[0], at.get("perm")),
    "Cast": _cast,
    "Squeeze": lambda a, at: np.squeeze(a[0], axis=tuple(_axes(a, at)) or None),
    "Unsqueeze": lambda a, at: np.expand_dims(a[0], axis=tuple(_axes(a, at))),
    "Gather": lambda a, at: np.take(a[0], a[1].astype(np.int64), axis=int(at.get("axis", 0))),
    "Add": lambda a, at: a[0] + a[1],
    "Sub": lambda a, at: a[0] - a[1],
    "Mul": lambda a, at: a[0] * a[1],
    "Neg": lambda a, at: -a[0],
}


def _constant_value(node: Any) -> Any:
    for a in node.attribute:
        if a.name == "value" and a.HasField("t"):
            return a.t
    onnx = _onnx()
    for a in node.attribute:  # value_float(s) / value_int(s)
        if a.name in ("value_float", "value_floats", "value_int", "value_ints"):
            v = onnx.helper.get_attribute_value(a)
            dtype = np.float32 if "float" in a.name else np.int64
            return onnx.numpy_helper.from_array(np.asarray(v, dtype=dtype))
    return None


def _itemsize(data_type: int) -> int:
    """Bytes per element of an ONNX data type cbdiag reads (0 for the others)."""
    dt = _FLOAT_TYPES.get(data_type) or _INT_TYPES.get(data_type)
    if dt is None:
        return 0
    return 2 if dt == "bfloat16" else np.dtype(dt).itemsize


def check_external(model: Model) -> None:
    """Every initializer's external data, checked as :func:`_tensor` checks it before reading
    (inside the model's folder, its declared size within its file), without reading it."""
    onnx = _onnx()
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            dims = [int(d) for d in t.dims]
            n = int(np.prod(dims, dtype=np.float64)) if dims else 1
            _external(t, model.path, n * max(1, _itemsize(t.data_type)), read=False)


def _tensor(t: Any, model_path: Path) -> NDArray[Any]:
    """A TensorProto as an array, its declared size checked against its data first."""
    onnx = _onnx()
    dims = [int(d) for d in t.dims]
    if any(d < 0 for d in dims):
        raise ModelError(f"{model_path}: tensor {t.name!r} has a negative dimension")
    n = int(np.prod(dims, dtype=np.float64)) if dims else 1
    if n > MAX_TENSOR_ELEMENTS:
        raise ModelError(f"{model_path}: tensor {t.name!r} declares {n} elements (too many)")
    dt = _FLOAT_TYPES.get(t.data_type) or _INT_TYPES.get(t.data_type)
    if dt is None:
        raise ModelError(f"{model_path}: tensor {t.name!r} has data type {t.data_type}, not read")
    itemsize = _itemsize(t.data_type)
    if t.data_location == onnx.TensorProto.EXTERNAL:
        raw = _external(t, model_path, n * itemsize)
    elif t.HasField("raw_data"):
        raw = t.raw_data
        if len(raw) != n * itemsize:
            raise ModelError(
                f"{model_path}: tensor {t.name!r} declares {n} elements ({n * itemsize} "
                f"bytes) but holds {len(raw)} bytes"
            )
    else:
        try:
            arr = onnx.numpy_helper.to_array(t)
        except Exception as exc:
            raise ModelError(
                f"{model_path}: tensor {t.name!r} cannot be read ({type(exc).__name__})"
            ) from None
        if arr.size != n:
            raise ModelError(
                f"{model_path}: tensor {t.name!r} declares {n} elements but holds {arr.size}"
            )
        return np.asarray(arr)
    if dt == "bfloat16":
        u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return u.view(np.float32).reshape(dims)
    return np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).reshape(dims)


def _external(t: Any, model_path: Path, nbytes: int, *, read: bool = True) -> bytes:
    info = {e.key: e.value for e in t.external_data}
    loc = info.get("location", "")
    folder = model_path.resolve().parent
    target = (folder / loc).resolve()
    if not loc or Path(loc).is_absolute() or not target.is_relative_to(folder):
        raise ModelError(
            f"{model_path}: tensor {t.name!r} names external data {loc!r} outside the model's "
            "folder (refused)"
        )
    if not target.is_file():
        raise ModelError(f"{model_path}: external data {loc!r} of {t.name!r} is missing")
    try:
        offset = int(info.get("offset", "0"))
        length = int(info.get("length", str(nbytes)))
    except ValueError:
        raise ModelError(f"{model_path}: tensor {t.name!r} has a bad external offset") from None
    if offset < 0 or length != nbytes or offset + length > target.stat().st_size:
        raise ModelError(
            f"{model_path}: external data of {t.name!r} ({length} bytes at {offset}) does not "
            f"match its {nbytes} declared bytes or lies beyond {loc!r}"
        )
    if not read:
        return b""
    with open(target, "rb") as f:
        f.seek(offset)
        return f.read(length)


# ---------------------------------------------------------------------------------------------
# the image path
# ---------------------------------------------------------------------------------------------


@dataclass
class PathNode:
    """One node on the image path, as cbdiag models it.

    ``role``: ``layer`` (``layer`` set: a geometric layer), ``keep`` (geometry kept), ``merge``
    (a sum of branches).
    """

    name: str
    op: str
    role: str
    inputs: list[str]  # the path tensors it reads
    output: str
    layer: Layer | None = None
    weight: str | None = None  # initializer of a Conv / ConvTranspose kernel
    bias: str | None = None
    group: int = 1
    shuffle_mode: str = "CRD"
    resize_mode: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.op})"


@dataclass
class ImagePath:
    """The nodes from an image input to an output, in an order where every node comes after
    the nodes it reads from."""

    input: str
    output: str
    input_size: tuple[int, int] | None  # spatial size declared in the graph
    output_size: tuple[int, int] | None
    nodes: list[PathNode]
    channels: int | None

    @property
    def layers(self) -> list[PathNode]:
        return [n for n in self.nodes if n.role == "layer"]

    @property
    def linear(self) -> bool:
        """No merge: every node reads the previous one."""
        return all(n.role != "merge" for n in self.nodes)


def image_path(model: Model, input: str | None = None, output: str | None = None) -> ImagePath:
    """The image path of ``model`` from ``input`` (default: the graph's only 4-D input that is
    not an initializer) to ``output`` (default: the graph output it reaches)."""
    g = model.graph
    p = model.path
    inputs = [i.name for i in g.input if i.name not in model.initializers]
    if input is None:
        four = [n for n in inputs if len(model.shapes.get(n, [])) == 4]
        if len(four) != 1:
            raise ModelError(
                f"{p}: {'no' if not four else len(four)} 4-D graph inputs "
                f"({', '.join(inputs) or 'none'}); name the image one with --input NAME"
            )
        input = four[0]
    elif input not in model.consumers:
        known = ", ".join(inputs[:8]) or "none"
        raise ModelError(f"{p}: no node reads a tensor {input!r} (graph inputs: {known})")
    # every tensor reachable from the input, in topological order (Kahn, bounded)
    reach: set[str] = {input}
    stack = [input]
    reach_nodes: dict[int, Any] = {}
    while stack:
        t = stack.pop()
        for node in model.consumers.get(t, []):
            if node.op_type in ("Shape", "Size"):
                continue  # metadata of a path tensor, not image data
            if id(node) not in reach_nodes:
                reach_nodes[id(node)] = node
                for o in node.output:
                    if o and o not in reach:
                        reach.add(o)
                        stack.append(o)
    # a node is ready once every input it reads from the path is computed
    pending = {
        k: sum(1 for t in node.input if t in reach and t != input)
        for k, node in reach_nodes.items()
    }
    order: list[Any] = []
    ready = [n for k, n in reach_nodes.items() if pending[k] == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for o in node.output:
            for c in model.consumers.get(o, []):
                if id(c) in pending:
                    pending[id(c)] -= 1
                    if pending[id(c)] == 0:
                        ready.append(c)
    if len(order) != len(reach_nodes):
        raise ModelError(f"{p}: the graph has a cycle after {input!r} (not a valid ONNX graph)")
    outs = [o.name for o in g.output]
    if output is None:
        hit = [o for o in outs if o in reach]
        if not hit:
            raise ModelError(f"{p}: no graph output depends on {input!r}")
        output = hit[0]
    elif output not in reach:
        raise ModelError(f"{p}: output {output!r} does not depend on {input!r}")
    # keep only the nodes the output depends on
    needed: set[str] = {output}
    kept: list[Any] = []
    for node in reversed(order):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(t for t in node.input if t in reach)
    kept.reverse()
    nodes = [_mapped(model, n, reach) for n in kept]
    return ImagePath(
        input=input,
        output=output,
        input_size=_spatial(model.shapes.get(input)),
        output_size=_spatial(model.shapes.get(output)),
        nodes=nodes,
        channels=_channels(model.shapes.get(input)),
    )


def _spatial(shape: list[int | str | None] | None) -> tuple[int, int] | None:
    if shape is None or len(shape) != 4:
        return None
    h, w = shape[2], shape[3]
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        return (h, w)
    return None


def _channels(shape: list[int | str | None] | None) -> int | None:
    if shape is None or len(shape) != 4 or not isinstance(shape[1], int) or shape[1] <= 0:
        return None
    return shape[1]


def _attrs(node: Any) -> dict[str, Any]:
    onnx = _onnx()
    out: dict[str, Any] = {}
    for a in node.attribute:
        try:
            v = onnx.helper.get_attribute_value(a)
        except Exception:
            v = None
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def _stop_name(model: Model, name: str, why: str) -> ModelError:
    return ModelError(f"{model.path}: node {name!r}: {why}")


def _stop(model: Model, node: Any, why: str) -> ModelError:
    return ModelError(
        f"{model.path}: node {node.name!r} ({node.op_type}) on the image path: {why}; the map "
        "stops there (never guessed)"
    )


def _mapped(model: Model, node: Any, reach: set[str]) -> PathNode:
    """:func:`_path_node`, with attributes of the wrong type or length (a hostile or broken
    file) stopping the map at that node instead of escaping as an exception."""
    try:
        return _path_node(model, node, reach)
    except (ModelError, CbdiagError):
        raise
    except (TypeError, ValueError, IndexError, KeyError, OverflowError, AttributeError) as exc:
        raise _stop(model, node, f"attributes cbdiag cannot read ({type(exc).__name__})") from None
    except MemoryError:
        raise _stop(model, node, "attributes too large to read") from None


def _path_node(model: Model, node: Any, reach: set[str]) -> PathNode:
    op = node.op_type
    on_path = [t for t in node.input if t in reach]
    out = node.output[0] if node.output else ""
    if node.domain not in ("", "ai.onnx"):
        raise _stop(model, node, f"an op of domain {node.domain!r} is not modelled")
    known = reach | model.initializers.keys() | model.producers.keys()
    known |= {i.name for i in model.graph.input}
    for t in node.input:
        if t and t not in known:
            raise ModelError(
                f"{model.path}: node {node.name!r} reads {t!r}, which nothing produces "
                "(a dangling input)"
            )
    a = _attrs(node)
    if op in MERGES and len(on_path) > 1:
        if op == "Concat" and a.get("axis") not in (1, -3):
            raise _stop(model, node, f"a Concat on axis {a.get('axis')} is not a channel merge")
        return PathNode(node.name, op, "merge", on_path, out)
    if len(on_path) > 1 and op in BINARY and len({_root(model, t) for t in on_path}) == 1:
        # an element-wise function of one tensor (SiLU exported as x * sigmoid(x))
        return PathNode(node.name, op, "keep", [on_path[0]], out)
    if len(on_path) != 1:
        raise _stop(model, node, "it reads several tensors of the path")
    src = on_path[0]
    if node.input[0] != src and op not in BINARY:
        raise _stop(model, node, "the path enters it through an input that is not its data")
    base = PathNode(node.name, op, "keep", [src], out)
    if op in ELEMENTWISE:
        return base
    if op == "Reshape" and _group_norm_reshape(model, node):
        return base  # GroupNorm as exporters write it: Reshape, InstanceNorm, Reshape back
    if op in BINARY or op == "Concat":
        if op == "Concat":
            raise _stop(model, node, "a Concat with a tensor from outside the path")
        for t in node.input:
            if t != src and model.constant(t) is None:
                shape = model.shapes.get(t)
                if shape is None or len(shape) < 2 or any(d != 1 for d in shape[-2:]):
                    raise _stop(
                        model,
                        node,
                        f"its other operand {t!r} is neither a constant nor known to be the "
                        "same at every pixel",
                    )
            c = model.constant(t) if t != src else None
            if c is not None and c.ndim >= 2 and any(d != 1 for d in c.shape[-2:]):
                raise _stop(model, node, f"its constant {t!r} varies across pixels")
        return base
    try:
        if op in ("ConvTranspose", "Conv"):
            return _conv(model, node, a, base)
        if op in ("Resize", "Upsample"):
            return _resize(model, node, a, base)
        if op == "DepthToSpace":
            r = int(a.get("blocksize", 0))
            mode = str(a.get("mode", "DCR"))
            base.role, base.layer, base.shuffle_mode = "layer", _layer("shuffle", stride=r), mode
            return base
        if op == "Pad":
            return _pad(model, node, a, base)
        if op in ("MaxPool", "AveragePool"):
            return _pool(model, node, a, base)
    except LayerSpecError as exc:
        raise _stop(model, node, str(exc)) from None
    raise _stop(model, node, "this op is not modelled")


def _root(model: Model, t: str) -> str:
    """The tensor ``t`` is an element-wise function of (back through one-input element-wise
    ops)."""
    for _ in range(64):
        node = model.producers.get(t)
        if node is None or node.op_type not in ELEMENTWISE or not node.input:
            return t
        t = node.input[0]
    return t


def _group_norm_reshape(model: Model, node: Any) -> bool:
    """Whether a Reshape is one of the pair PyTorch exports GroupNorm as: ``Reshape(x, c)``
    into ``InstanceNormalization`` then ``Reshape(·, Shape(x))``: the geometry of ``x`` back."""

    def restores(r2: Any, x: str) -> bool:
        if r2.op_type != "Reshape" or len(r2.input) < 2:
            return False
        shape = model.producers.get(r2.input[1])
        return shape is not None and shape.op_type == "Shape" and shape.input[0] == x

    src = model.producers.get(node.input[0])
    if src is not None and src.op_type == "InstanceNormalization":
        r1 = model.producers.get(src.input[0])
        if r1 is not None and r1.op_type == "Reshape" and restores(node, r1.input[0]):
            return True
    users = model.consumers.get(node.output[0], []) if node.output else []
    if users and all(u.op_type == "InstanceNormalization" for u in users):
        return all(
            all(restores(r2, node.input[0]) for r2 in model.consumers.get(u.output[0], []))
            and model.consumers.get(u.output[0])
            for u in users
        )
    return False


def _layer(kind: str, **kw: Any) -> Layer:
    return Layer(AxisOp(kind, **kw), AxisOp(kind, **kw))


def _pairs(v: Iterable[int] | None, default: int, n: int = 2) -> list[int]:
    vals = [int(x) for x in v] if v is not None else []
    return vals if vals else [default] * n


def _conv(model: Model, node: Any, a: dict[str, Any], base: PathNode) -> PathNode:
    w = model.constant(node.input[1]) if len(node.input) > 1 else None
    if w is None:
        raise _stop(model, node, "its weight is not an initializer or a constant")
    if w.ndim != 4:
        raise _stop(model, node, f"a {w.ndim - 2}-D convolution (only 2-D images are modelled)")
    k = _pairs(a.get("kernel_shape"), 0) if a.get("kernel_shape") else [w.shape[2], w.shape[3]]
    s = _pairs(a.get("strides"), 1)
    d = _pairs(a.get("dilations"), 1)
    pads = _pairs(a.get("pads"), 0, 4)
    auto = str(a.get("auto_pad", "NOTSET"))
    if len(k) != 2 or len(s) != 2 or len(d) != 2 or len(pads) != 4:
        raise _stop(model, node, "attributes of the wrong length for a 2-D convolution")
    transposed = node.op_type == "ConvTranspose"
    if transposed and a.get("output_shape"):
        raise _stop(model, node, "an explicit output_shape is not modelled")
    op = _pairs(a.get("output_padding"), 0) if transposed else [0, 0]
    axes = []
    for i in range(2):
        ke = d[i] * (k[i] - 1) + 1
        b, e = pads[i], pads[i + 2]
        tf = None
        if auto == "VALID":
            b = e = 0
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            if transposed:
                total = op[i] + ke - s[i]
                b = total // 2 if auto == "SAME_UPPER" else total - total // 2
                e = total - b
            else:
                tf = "same"
        elif auto != "NOTSET":
            raise _stop(model, node, f"auto_pad {auto!r} is not modelled")
        if tf == "same" and auto == "SAME_LOWER":
            raise _stop(model, node, "a Conv with auto_pad SAME_LOWER is not modelled")
        if transposed:
            if b < 0 or e < 0:
                raise _stop(model, node, "negative pads")
            opad = op[i] + b - e  # PyTorch form: crop b at both ends, add back at the end
            if opad < 0 and op[i] == 0 and b + e == ke - s[i] and b == (ke - s[i]) // 2:
                # one more cropped at the end than at the start: TensorFlow's "same"
                axes.append(
                    AxisOp("deconv", kernel=k[i], stride=s[i], dilation=d[i], tf_padding="same")
                )
                continue
            if opad < 0 or (opad > 0 and opad >= max(s[i], d[i])):
                raise _stop(model, node, f"pads {b} and {e} on one axis are not modelled")
            axes.append(
                AxisOp("deconv", kernel=k[i], stride=s[i], padding=b, output_padding=opad,
                       dilation=d[i])
            )  # fmt: skip
        else:
            if tf is None and b != e:
                raise _stop(model, node, f"unequal pads {b} and {e} on one axis")
            axes.append(
                AxisOp("conv", kernel=k[i], stride=s[i], padding=0 if tf else b, dilation=d[i],
                       tf_padding=tf)
            )  # fmt: skip
    base.role = "layer"
    base.layer = Layer(axes[0], axes[1])
    base.weight = node.input[1]
    base.bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    base.group = int(a.get("group", 1) or 1)
    return base


def _resize(model: Model, node: Any, a: dict[str, Any], base: PathNode) -> PathNode:
    mode = str(a.get("mode", "nearest"))
    scales = None
    if node.op_type == "Upsample":
        scales = a.get("scales")
        if scales is None and len(node.input) > 1:
            scales = model.constant(node.input[1])
        ctm = "asymmetric"
        nearest = "floor"
    else:
        ctm = str(a.get("coordinate_transformation_mode", "half_pixel"))
        nearest = str(a.get("nearest_mode", "round_prefer_floor"))
        if len(node.input) > 2 and node.input[2]:
            scales = model.constant(node.input[2])
        if (scales is None or np.size(scales) == 0) and len(node.input) > 3 and node.input[3]:
            sizes = model.constant(node.input[3])
            src = model.shapes.get(base.inputs[0])
            if sizes is None or src is None or len(src) != 4 or len(sizes) != 4:
                raise _stop(model, node, "its sizes are not constant, or its input size unknown")
            if not all(isinstance(x, int) and x > 0 for x in src[2:]):
                raise _stop(model, node, "its input size is not declared in the graph")
            scales = [float(sizes[i]) / float(src[i]) for i in range(4)]  # type: ignore[arg-type]
        if a.get("axes"):
            raise _stop(model, node, "a Resize with axes is not modelled")
    if scales is None or np.size(scales) != 4:
        raise _stop(model, node, "its scales are not a constant of 4 values")
    sc = [float(x) for x in np.asarray(scales).ravel()]
    if sc[0] != 1 or sc[1] != 1:
        raise _stop(model, node, "it resizes the batch or channel axis")
    f = []
    for v in sc[2:]:
        if v < 1 or v != int(v):
            raise _stop(model, node, f"scale {v:g} is not an integer upsampling factor")
        if v > MAX_SCALE:
            raise _stop(model, node, f"scale {v:g} is over the limit of {MAX_SCALE}")
        f.append(int(v))
    if mode == "nearest":
        for fi in set(f):
            if not _nearest_is_floor(fi, ctm, nearest):
                raise _stop(
                    model, node, f"nearest with {ctm} / {nearest} does not pick floor(o / {fi})"
                )
        kind = "nearest"
    elif mode == "linear":
        if ctm not in ("half_pixel", "pytorch_half_pixel"):
            raise _stop(model, node, f"linear resizing with {ctm} coordinates is not modelled")
        kind = "bilinear"
    else:
        raise _stop(model, node, f"{mode} resizing is not modelled")
    base.role = "layer"
    base.layer = Layer(AxisOp(kind, stride=f[0]), AxisOp(kind, stride=f[1]))
    base.resize_mode = kind
    return base


def _nearest_is_floor(f: int, ctm: str, nearest: str) -> bool:
    """Whether ONNX's nearest Resize with these modes picks input ``floor(o / f)`` for every
    output ``o`` (checked on several periods, as the spec's formulas compute it)."""
    import math

    o = np.arange(8 * f, dtype=np.float64)
    if ctm in ("half_pixel", "pytorch_half_pixel"):
        x = (o + 0.5) / f - 0.5
    elif ctm == "asymmetric":
        x = o / f
    else:
        return False
    if nearest == "floor":
        i = np.floor(x)
    elif nearest == "ceil":
        i = np.ceil(x)
    elif nearest == "round_prefer_floor":
        i = np.array([math.ceil(v - 0.5) for v in x])
    elif nearest == "round_prefer_ceil":
        i = np.array([math.floor(v + 0.5) for v in x])
    else:
        return False
    i = np.maximum(i, 0)
    return bool(np.array_equal(i, np.floor(o / f)))


def _pad(model: Model, node: Any, a: dict[str, Any], base: PathNode) -> PathNode:
    mode = str(a.get("mode", "constant"))
    pads = a.get("pads")
    if pads is None and len(node.input) > 1:
        pads = model.constant(node.input[1])
    if len(node.input) > 3 and node.input[3]:
        raise _stop(model, node, "a Pad with axes is not modelled")
    if pads is None or np.size(pads) != 8:
        raise _stop(model, node, "its pads are not a constant of 8 values")
    pv = [int(x) for x in np.asarray(pads).ravel()]
    if pv[0] or pv[1] or pv[4] or pv[5]:
        raise _stop(model, node, "it pads the batch or channel axis")
    if pv[2] != pv[6] or pv[3] != pv[7] or min(pv) < 0:
        raise _stop(model, node, f"unequal or negative pads {pv[2:4]} / {pv[6:8]}")
    pm = {"constant": "zeros", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if pm is None:
        raise _stop(model, node, f"{mode} padding is not modelled")
    base.role = "layer"
    base.layer = Layer(
        AxisOp("conv", kernel=1, padding=pv[2], padding_mode=pm),
        AxisOp("conv", kernel=1, padding=pv[3], padding_mode=pm),
    )
    return base


def _pool(model: Model, node: Any, a: dict[str, Any], base: PathNode) -> PathNode:
    k = _pairs(a.get("kernel_shape"), 0)
    s = _pairs(a.get("strides"), 1)
    d = _pairs(a.get("dilations"), 1)
    pads = _pairs(a.get("pads"), 0, 4)
    if a.get("ceil_mode"):
        raise _stop(model, node, "ceil_mode is not modelled")
    if str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise _stop(model, node, "auto_pad SAME_* pooling is not modelled")
    if len(k) != 2 or pads[0] != pads[2] or pads[1] != pads[3]:
        raise _stop(model, node, "a pooling window that is not 2-D with equal pads")
    base.role = "layer"
    base.layer = deconv(
        (k[0], k[1]), (s[0], s[1]), padding=(pads[0], pads[1]), dilation=(d[0], d[1]), kind="conv"
    )
    return base


# ---------------------------------------------------------------------------------------------
# the map of a path with merges
# ---------------------------------------------------------------------------------------------


def path_map(path: ImagePath, size: tuple[int, int]) -> tuple[NDArray[np.float64], list[str]]:
    """The 2-D path-count map at the output for an input of ``size``: ones at the input, each
    layer's exact operator per axis, merges summed (the branches must agree in size). Returns
    the map and, per node, its output size (for the table)."""
    if max(size) > MAX_MAP or min(size) < 1:
        raise ModelError(
            f"an input of {size[0]}x{size[1]} cannot be mapped with merges (sides 1 to "
            f"{MAX_MAP}; a smaller --input-size shows the same interior)"
        )
    maps: dict[str, NDArray[np.float64]] = {path.input: np.ones(size)}
    sizes: list[str] = []
    for n in path.nodes:
        if n.role == "merge":
            parts = [maps[t] for t in n.inputs]
            if any(m.shape != parts[0].shape for m in parts):
                shapes = " and ".join(f"{m.shape[0]}x{m.shape[1]}" for m in parts)
                raise ModelError(f"merge {n.label}: branches of sizes {shapes} do not add up")
            maps[n.output] = np.sum(parts, axis=0)
        elif n.role == "layer":
            assert n.layer is not None
            m = maps[n.inputs[0]]
            maps[n.output] = _apply_layer(n.layer, m, n.label)
        else:
            maps[n.output] = maps[n.inputs[0]]
        sizes.append(f"{maps[n.output].shape[0]}x{maps[n.output].shape[1]}")
    return maps[path.output], sizes


def _apply_layer(layer: Layer, m: NDArray[np.float64], label: str) -> NDArray[np.float64]:
    h, w = m.shape
    ay = _matrix(layer.y, h, label)
    ax = _matrix(layer.x, w, label)
    return np.asarray(ay @ m @ ax.T)


def _matrix(op: AxisOp, n: int, label: str) -> NDArray[np.float64]:
    out = op.output_size(n)
    if out <= 0:
        raise ModelError(f"{label}: an input of {n} gives an output of {out}")
    if out > MAX_MAP or n > MAX_MAP:
        raise ModelError(
            f"{label}: {max(out, n)} pixels per axis is too large to map with merges "
            f"(at most {MAX_MAP}; a smaller --input-size shows the same interior)"
        )
    r, c, w = op.operator(n)
    mat = np.zeros((out, n))
    np.add.at(mat, (r, c), w)
    return mat


# ---------------------------------------------------------------------------------------------
# inspect: the kernels of the path, each with the stride the graph gives it
# ---------------------------------------------------------------------------------------------


def dense_kernel(w: NDArray[Any], group: int, transposed: bool) -> NDArray[np.float64]:
    """A grouped kernel as the dense one it equals (zeros between groups): transposed
    ``(C_in, C_out/g, k, k) -> (C_in, C_out, k, k)``, plain ``(C_out, C_in/g, k, k) ->
    (C_out, C_in, k, k)``."""
    w = np.asarray(w, dtype=np.float64)
    if group == 1:
        return w
    a, b = w.shape[:2]
    if a % group:
        raise ModelError(f"a kernel of {a} channels in {group} groups")
    out = np.zeros((a, b * group, *w.shape[2:]))
    per = a // group
    for i in range(a):
        gi = i // per
        out[i, gi * b : (gi + 1) * b] = w[i]
    return out


def _layers_text(layer: Any) -> str:
    return repr(layer) if isinstance(layer, str) else " or ".join(map(repr, layer))


def inspect_graph(model: Model, path: ImagePath, *, layer: Any = None, top: int = 3) -> Any:
    """:func:`_inspect_graph`; weights whose shapes contradict the graph (a broken or hostile
    file) end in one :class:`ModelError` naming the file, not an exception from numpy."""
    try:
        return _inspect_graph(model, path, layer=layer, top=top)
    except CbdiagError:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        raise ModelError(
            f"{model.path}: weights whose shapes contradict the graph "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from None


def _inspect_graph(model: Model, path: ImagePath, *, layer: Any = None, top: int = 3) -> Any:
    """``inspect`` of an ONNX model: every transposed convolution and every sub-pixel
    convolution (a ``Conv`` whose output reaches a ``DepthToSpace`` through element-wise ops
    only) on the image path, with the graph's own strides, and the output: the constant-input
    response followed through the path's linear layers (see :mod:`cbdiag.response`)."""
    from .response import Step, as_dict, follow
    from .weights import (
        InspectResult,
        analyse_layer,
        analyse_subpixel,
        dilate_kernel,
        name_matches,
    )

    reports = []
    skipped: list[str] = []
    why: dict[str, str] = {}
    steps: list[Step] = []
    stop: str | None = None
    started = False
    shuffle_after = _shuffles_after(path)
    for n in path.nodes:
        if n.role == "merge":
            if started and stop is None:
                stop = f"{n.label}: a merge of branches (the output chain is not followed)"
            continue
        if n.role != "layer":
            continue
        assert n.layer is not None
        kind = n.layer.kind
        w = model.constant(n.weight) if n.weight else None
        b = model.constant(n.bias) if n.bias else None
        bias = None if b is None else np.asarray(b, dtype=np.float64).ravel()
        if bias is not None and w is not None and w.ndim == 4:
            cout = w.shape[1] * int(n.group or 1) if kind == "deconv" else w.shape[0]
            if bias.shape != (cout,):
                raise _stop_name(model, n.name, f"a bias of {bias.size} values for {cout} channels")
        stride = (n.layer.y.stride, n.layer.x.stride)
        label = n.name if n.op in n.name else f"{n.name} ({n.op})"
        dil = (n.layer.y.dilation, n.layer.x.dilation)
        if kind == "deconv":
            assert w is not None
            k = dilate_kernel(dense_kernel(w, n.group, transposed=True), dil)
            if name_matches(layer, n.name):
                reports.append(
                    analyse_layer(label, k, stride, bias=bias, layout="onnx", shape=w.shape,
                                  top=top)
                )  # fmt: skip
            started = True
            step = Step(label, "deconv", k, bias, stride=stride)
        elif kind == "conv" and w is not None:
            k = dense_kernel(w, n.group, transposed=False)
            sh = shuffle_after.get(n.name)
            if sh is not None and stride == (1, 1):
                mode, factor = sh
                if k.shape[0] % (factor * factor):
                    raise _stop_name(
                        model,
                        n.name,
                        f"{k.shape[0]} output channels before a DepthToSpace of block {factor} "
                        f"(a multiple of {factor * factor} is needed)",
                    )
                kd = dilate_kernel(k, dil)
                sub = kd if mode == "CRD" else _dcr_to_crd(kd, factor)
                sb = bias if bias is None or mode == "CRD" else _dcr_to_crd(bias, factor)
                if name_matches(layer, n.name):
                    reports.append(analyse_subpixel(label, sub, factor, bias=sb, top=top))
                started = True
            elif name_matches(layer, n.name):
                skipped.append(label)
                why[label] = f"{n.layer.spec}: not an upsampler"
            step = Step(
                label,
                "conv",
                k,
                bias,
                stride=stride,
                padding=(n.layer.y.padding, n.layer.x.padding),
                dilation=(n.layer.y.dilation, n.layer.x.dilation),
            )
        elif kind == "shuffle":
            started = True
            step = Step(label, "shuffle", factor=stride, mode=n.shuffle_mode)
        elif kind in ("nearest", "bilinear"):
            started = True
            step = Step(label, "resize", factor=stride, mode=kind)
        elif n.op == "Pad":
            continue  # a shift of the interior
        else:
            step = Step(label, n.op)  # pooling: stops the chain by name
        if started and stop is None:
            steps.append(step)
    if not reports and (layer is not None or not steps):
        raise ModelError(
            f"{model.path}: no transposed or sub-pixel convolution on the image path from "
            f"{path.input!r}" + (f" matches --layer {_layers_text(layer)}" if layer else "")
        )
    chain = None
    if steps:
        r = follow(steps)
        if r.stopped is None and stop is not None:
            r.stopped = stop
        chain = as_dict(r, reaches_output=r.stopped is None)
    src = {"path": str(model.path), "input": path.input, "output": path.output, "graph": True}
    return InspectResult(
        path=str(model.path),
        layers=reports,
        chain=chain,
        skipped=skipped,
        skipped_reasons=why,
        source=src,
    )


def _shuffles_after(path: ImagePath) -> dict[str, tuple[str, int]]:
    """Conv node name -> (DepthToSpace mode, block size) where the conv's output reaches a
    DepthToSpace through element-wise nodes only."""
    by_output = {n.output: n for n in path.nodes}
    out: dict[str, tuple[str, int]] = {}
    for n in path.nodes:
        if n.role == "layer" and n.layer is not None and n.layer.kind == "shuffle":
            src = by_output.get(n.inputs[0])
            while src is not None and src.role == "keep":
                src = by_output.get(src.inputs[0])
            if src is not None and src.layer is not None and src.layer.kind == "conv":
                out[src.name] = (n.shuffle_mode, n.layer.y.stride)
    return out


def _dcr_to_crd(a: NDArray[np.float64], r: int) -> NDArray[np.float64]:
    """Reorder the first axis from DCR (``(i r + j) C + c``) to CRD (``c r^2 + i r + j``)."""
    n = a.shape[0]
    c = n // (r * r)
    return np.ascontiguousarray(
        a.reshape(r * r, c, *a.shape[1:]).swapaxes(0, 1).reshape(n, *a.shape[1:])
    )


@dataclass
class MergedMap:
    """The path-count map of an image path with merges: 2-D (branches of different geometry
    do not make an outer product), its interior (outputs no border reaches on any branch) and
    the interior's period and spread."""

    values: NDArray[np.float64]
    rows: tuple[int, int]  # interior [start, stop) per axis; empty when none
    cols: tuple[int, int]
    period: tuple[int, int]
    min: float
    max: float

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])

    @property
    def has_interior(self) -> bool:
        return self.rows[1] > self.rows[0] and self.cols[1] > self.cols[0]

    @property
    def holes(self) -> bool:
        return self.has_interior and self.min == 0

    @property
    def even(self) -> bool:
        return self.has_interior and self.max == self.min

    @property
    def ratio(self) -> float:
        if not self.has_interior:
            return float("nan")
        return float("inf") if self.min == 0 else self.max / self.min

    def as_dict(self) -> dict[str, Any]:

        from .report import rounded as num

        h, w = self.shape
        out: dict[str, Any] = {
            "shape": [h, w],
            "period": list(self.period),
            "ratio_2d": num(self.ratio),
            "min": num(self.min),
            "max": num(self.max),
            "even": self.even,
            "holes": self.holes,
            "interior": {"rows": list(self.rows), "cols": list(self.cols)},
            "border": {
                "top": self.rows[0],
                "bottom": h - self.rows[1],
                "left": self.cols[0],
                "right": w - self.cols[1],
            },
        }
        if self.has_interior:
            py, px = self.period
            r0, c0 = self.rows[0], self.cols[0]
            out["pattern_2d"] = [
                [num(float(v)) for v in row] for row in self.values[r0 : r0 + py, c0 : c0 + px]
            ]
        if h * w <= 1 << 16:
            out["values_2d"] = [[num(float(v)) for v in row] for row in self.values]
        return out

    def text(self, input_size: tuple[int, int]) -> str:
        h, w = self.shape
        lines = [
            f"overlap map of a path with merges: input {input_size[0]}x{input_size[1]} -> map "
            f"{h}x{w} (path counts: branches summed)"
        ]
        if not self.has_interior:
            lines.append("no interior: a border reaches every output (pass a larger --input-size)")
            return "\n".join(lines)
        py, px = self.period
        r0, c0 = self.rows[0], self.cols[0]
        lines.append(
            f"interior rows {self.rows[0]}..{self.rows[1] - 1}, "
            f"cols {self.cols[0]}..{self.cols[1] - 1}; period {py}x{px}; min {self.min:g}, "
            f"max {self.max:g}, max/min {self.ratio:.4g}"
        )
        if py * px <= 64:
            lines.append("one period of the interior:")
            for row in self.values[r0 : r0 + py, c0 : c0 + px]:
                lines.append("  " + " ".join(f"{v:g}" for v in row))
        if self.holes:
            lines.append("HOLES: some interior outputs receive no input")
        elif self.even:
            lines.append("EVEN: every interior output receives the same number of paths")
        else:
            lines.append(f"UNEVEN: interior max/min {self.ratio:.4g} in 2-D")
        return "\n".join(lines)


def merged_map(path: ImagePath, size: tuple[int, int]) -> MergedMap:
    """The map of ``path`` (merges allowed) at input ``size``, with its interior: an output is
    interior when, on every branch, no layer read padding or a border-touched value for it
    (per axis, as the overlap engine does)."""
    values, _ = path_map(path, size)
    dirty: dict[str, tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {
        path.input: (np.zeros(size[0], bool), np.zeros(size[1], bool))
    }
    for n in path.nodes:
        if n.role == "merge":
            parts = [dirty[t] for t in n.inputs]
            dirty[n.output] = (
                np.logical_or.reduce([p[0] for p in parts]),
                np.logical_or.reduce([p[1] for p in parts]),
            )
        elif n.role == "layer":
            assert n.layer is not None
            dy, dx = dirty[n.inputs[0]]
            dirty[n.output] = (_dirty(n.layer.y, dy), _dirty(n.layer.x, dx))
        else:
            dirty[n.output] = dirty[n.inputs[0]]
    dy, dx = dirty[path.output]
    rows, cols = _run(~dy), _run(~dx)
    if rows[1] <= rows[0] or cols[1] <= cols[0]:
        return MergedMap(values, rows, cols, (0, 0), float("nan"), float("nan"))
    inner = values[rows[0] : rows[1], cols[0] : cols[1]]
    return MergedMap(
        values,
        rows,
        cols,
        (_period(inner, 0), _period(inner, 1)),
        float(inner.min()),
        float(inner.max()),
    )


def _dirty(op: AxisOp, d: NDArray[np.bool_]) -> NDArray[np.bool_]:
    n = d.shape[0]
    out_n = op.output_size(n)
    r, c, _ = op.taps(np.arange(out_n, dtype=np.int64), n)
    bad = (c < 0) | (c >= n)
    bad |= d[np.clip(c, 0, n - 1)]
    out = np.zeros(out_n, bool)
    np.logical_or.at(out, r, bad)
    if op.kind == "deconv":  # an output no tap reaches at all is a border (output padding)
        hit = np.zeros(out_n, bool)
        hit[r] = True
        out |= ~hit & (np.arange(out_n) >= out_n - op.output_padding)
    return out


def _run(clean: NDArray[np.bool_]) -> tuple[int, int]:
    """The longest run of True as [start, stop)."""
    best = (0, 0)
    start = None
    for i, v in enumerate([*clean.tolist(), False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def _period(a: NDArray[np.float64], axis: int) -> int:
    n = a.shape[axis]
    for p in range(1, n):
        x = np.take(a, range(p, n), axis=axis)
        y = np.take(a, range(n - p), axis=axis)
        if np.allclose(x, y, rtol=1e-12, atol=1e-12):
            return p
    return n
