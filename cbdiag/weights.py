"""Checkpoint readers and the per-phase (polyphase) DC-gain analysis of upsampling kernels.

A stride-``s`` transposed convolution answers a constant input with a pattern of period ``s``:
output phase ``r`` (``r = (ry, rx)``) receives the sum of the taps ``w[m*s + r]`` (its DC gain
``P_r``), plus the bias. Whatever the kernel size, the output is a checkerboard unless all
``P_r`` are equal (Sugawara et al.; theory.md section 3.5): a kernel size divisible by the stride
only makes the *number* of taps even, not their sums. With random zero-mean weights the
checkerboard energy of the constant-input response is ``S - 1`` times its mean energy
(``S = sy * sx`` phases).

Readers parse ``.npz`` / ``.npy`` (no pickle), ``.safetensors`` (header and buffer parsed here,
bounds-checked, nothing executed) and PyTorch ``.pt``/``.pth`` only when asked
(``allow_pickle=True``, through ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import itertools
import json
import math
import mmap
import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from lzma import LZMAError
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import CheckpointError
from .files import InputError, display, open_regular, reason

__all__ = [
    "LAYOUTS",
    "InspectResult",
    "LayerReport",
    "equalize_phases",
    "inspect_weights",
    "load_checkpoint",
    "phase_gains",
]

F64 = NDArray[np.float64]
LAYOUTS = ("auto", "torch", "keras", "flax", "subpixel")
#: Largest safetensors JSON header (bytes).
MAX_HEADER = 100 * 1024 * 1024
#: Largest .npy header (bytes; numpy's own default is 10,000).
MAX_NPY_HEADER = 1 << 16
#: Default bound on a checkpoint: the arrays read from a .npz/.npy, the size of a
#: .safetensors (memory-mapped) or PyTorch file.
MAX_LOAD_BYTES = 4 << 30
#: Most members of a .npz.
MAX_MEMBERS = 100_000
#: Largest kernel analysed (elements); a bigger 4-D array is listed as skipped.
MAX_KERNEL_ELEMENTS = 1 << 26
#: Most multiply-adds spent following a constant input through one more layer of a chain.
MAX_CHAIN_WORK = 1 << 31
#: Most taps (kH * kW) of a kernel analysed.
MAX_KERNEL_TAPS = 1 << 16
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

_ST_DTYPES: dict[str, np.dtype[Any]] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # converted below
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------


def read_safetensors(
    path: str | os.PathLike[str], *, max_bytes: int | None = None
) -> dict[str, NDArray[Any]]:
    """Parse a ``.safetensors`` file: an 8-byte little-endian header length, a JSON header
    ``{name: {dtype, shape, data_offsets: [begin, end]}}`` and a raw little-endian buffer.

    Every field is checked before any data is touched: the header length against the file
    size, dtypes against the known set, shapes and offsets for type and sign, each tensor's
    byte span against its shape and dtype and the buffer size, and spans for overlap. The
    buffer is memory-mapped, not read: a tensor costs memory only when it is analysed.
    ``max_bytes`` (default :data:`MAX_LOAD_BYTES`) bounds the file size.
    """
    p = Path(path)
    shown = display(p)
    limit = MAX_LOAD_BYTES if max_bytes is None else max_bytes
    with open_regular(p) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise CheckpointError(
                f"{shown}: {size:,} bytes is over the checkpoint limit of {limit:,} bytes "
                "(--max-size raises it)"
            )
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{shown}: truncated safetensors file (no header length)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > min(MAX_HEADER, size - 8):
            raise CheckpointError(f"{shown}: safetensors header length {n} does not fit the file")
        raw = fh.read(n)
        if len(raw) < n:
            raise CheckpointError(f"{shown}: truncated safetensors header")
        data: Any = b""
        if size - 8 - n > 0:
            try:
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"{shown}: cannot map the file ({exc})") from exc
    start = 8 + n
    buffer = size - start

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise CheckpointError(f"{shown}: safetensors header names {display(dup)!r} twice")
        return out

    try:
        header = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=no_duplicates,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise CheckpointError(
            f"{shown}: safetensors header is not valid JSON ({type(exc).__name__})"
        ) from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{shown}: safetensors header is not a JSON object")
    spans = []
    out: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        label = display(name)
        if not isinstance(info, dict):
            raise CheckpointError(f"{shown}: entry {label!r} is not an object")
        dtype = _ST_DTYPES.get(str(info.get("dtype")))
        if dtype is None:
            raise CheckpointError(
                f"{shown}: {label!r} has unsupported dtype {display(info.get('dtype'), 40)!r}"
            )
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not (
            isinstance(shape, list)
            and len(shape) <= 32
            and all(type(d) is int and 0 <= d < 2**48 for d in shape)
        ):
            raise CheckpointError(f"{shown}: {label!r} has an invalid shape")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int and abs(o) < 2**63 for o in offsets)
        ):
            raise CheckpointError(f"{shown}: {label!r} has invalid data_offsets")
        begin, end = offsets
        count = math.prod(shape)
        if begin < 0 or end < begin or end > buffer:
            raise CheckpointError(
                f"{shown}: {label!r} spans bytes {begin}..{end} outside the {buffer}-byte buffer"
            )
        if end - begin != count * dtype.itemsize:
            raise CheckpointError(
                f"{shown}: {label!r} spans {end - begin} bytes but shape {shape} of "
                f"{info['dtype']} needs {count * dtype.itemsize}"
            )
        spans.append((begin, end, name))
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=start + begin).reshape(shape)
        if info["dtype"] == "BF16":
            arr = _widen_bf16(arr)
        out[name] = arr
    spans.sort()
    for (_b0, e0, n0), (b1, _e1, n1) in itertools.pairwise(spans):
        if b1 < e0:
            raise CheckpointError(
                f"{shown}: tensors {display(n0)!r} and {display(n1)!r} overlap in the buffer"
            )
    return out


#: bfloat16 words kept raw (a tensor too large to widen is not a kernel cbdiag analyses).
_BF16_RAW = np.dtype([("bfloat16", "<u2")])


def _widen_bf16(words: NDArray[Any]) -> NDArray[Any]:
    if words.size > MAX_KERNEL_ELEMENTS:
        return words.view(_BF16_RAW)
    return (words.astype(np.uint32) << 16).view(np.float32)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------------------------------------
# .npy / .npz: parsed here (headers checked, sizes bounded, never a pickle)
# ---------------------------------------------------------------------------------------------


def _npy_header(fh: Any, shown: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """The ``(shape, fortran_order, dtype)`` of the ``.npy`` stream at ``fh``, checked."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=MAX_NPY_HEADER)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (MemoryError, RecursionError) as exc:
        raise CheckpointError(f"{shown}: the .npy header is too complex to parse") from exc
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot read ({_one_line(exc)})") from exc
    except Exception as exc:  # numpy's parser of the header's text: any failure is the file's
        raise CheckpointError(f"{shown}: not a valid .npy header ({_one_line(exc)})") from exc
    if dtype.hasobject:
        raise CheckpointError(
            f"{shown}: contains pickled objects, which cbdiag never loads from .npy/.npz"
        )
    if len(shape) > 32 or any(type(d) is not int or not 0 <= d < 2**48 for d in shape):
        raise CheckpointError(f"{shown}: the .npy header has an invalid shape")
    return tuple(shape), bool(fortran), dtype


def _npy_array(fh: Any, shown: str, total: int, budget: list[int]) -> NDArray[Any]:
    """Read one ``.npy`` stream of ``total`` bytes (the file's or the member's real size): the
    header checked, the data it claims checked against what follows it and against the
    remaining ``budget``."""
    shape, fortran, dtype = _npy_header(fh, shown)
    nbytes = math.prod(shape) * dtype.itemsize
    available = total - fh.tell()
    if nbytes > available:
        raise CheckpointError(
            f"{shown}: the header claims {nbytes:,} bytes of data but the file holds {available:,}"
        )
    if nbytes > budget[0]:
        raise CheckpointError(
            f"{shown}: {nbytes:,} bytes of arrays is over the checkpoint limit of "
            f"{budget[1]:,} bytes (--max-size raises it)"
        )
    budget[0] -= nbytes
    raw = bytearray()
    while len(raw) < nbytes:
        chunk = fh.read(min(nbytes - len(raw), 1 << 24))
        if not chunk:
            raise CheckpointError(
                f"{shown}: truncated data ({len(raw):,} of {nbytes:,} bytes present)"
            )
        raw += chunk
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(shape)) if nbytes else np.zeros(0, dtype)
    order = "F" if fortran else "C"
    return arr.reshape(shape[::-1]).T if order == "F" else arr.reshape(shape)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def read_npy(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> NDArray[Any]:
    """One ``.npy`` array (never a pickle), its size checked against the file before reading."""
    shown = display(path)
    limit = MAX_LOAD_BYTES if max_bytes is None else max_bytes
    with open_regular(path) as fh:
        try:
            return _npy_array(fh, shown, os.fstat(fh.fileno()).st_size, [limit, limit])
        except OSError as exc:
            raise CheckpointError(f"{shown}: {reason(exc)}") from exc


def read_npz(
    path: str | os.PathLike[str], *, max_bytes: int | None = None
) -> dict[str, NDArray[Any]]:
    """The arrays of an ``.npz`` (a zip of ``.npy`` members), read member by member: each
    member's declared size and compression checked before it is inflated, the total bounded
    by ``max_bytes``, the CRC verified, nothing unpickled."""
    shown = display(path)
    limit = MAX_LOAD_BYTES if max_bytes is None else max_bytes
    budget = [limit, limit]
    out: dict[str, NDArray[Any]] = {}
    with open_regular(path) as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:  # zipfile's parser of this file's bytes: any failure is the file's
            raise CheckpointError(f"{shown}: not a readable .npz ({_one_line(exc)})") from exc
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CheckpointError(
                    f"{shown}: {len(infos):,} members is over the limit of {MAX_MEMBERS:,}"
                )
            for info in infos:
                if not info.filename or info.filename.endswith("/"):
                    continue  # a folder entry (or a nameless one) holds no array
                label = f"{shown}: member {display(info.filename)!r}"
                if info.flag_bits & 0x1:
                    raise CheckpointError(f"{label} is encrypted")
                if info.compress_type not in _ZIP_METHODS:
                    raise CheckpointError(
                        f"{label} uses an unsupported compression method {info.compress_type}"
                    )
                if info.file_size > budget[0]:
                    raise CheckpointError(
                        f"{label} inflates to {info.file_size:,} bytes, over the checkpoint limit "
                        f"of {limit:,} bytes (--max-size raises it)"
                    )
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                try:
                    with zf.open(info) as member:
                        arr = _npy_array(member, label, info.file_size, budget)
                        if member.read(1):
                            raise CheckpointError(f"{label} holds data after its array")
                except CheckpointError:
                    raise
                except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
                    raise CheckpointError(f"{label} cannot be read ({_one_line(exc)})") from exc
                except (NotImplementedError, RuntimeError, LZMAError) as exc:
                    raise CheckpointError(f"{label} cannot be inflated ({_one_line(exc)})") from exc
                out[name] = arr
    return out


def _flatten(obj: Any) -> dict[str, NDArray[Any]]:
    """The tensors and arrays of a loaded PyTorch object, by dotted path (iteratively: a
    deeply nested object cannot exhaust the stack). Quantized tensors are dequantized, sparse
    ones made dense when small enough; anything else that is not a plain tensor is left out."""
    out: dict[str, NDArray[Any]] = {}
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        prefix, o = stack.pop()
        if isinstance(o, dict):
            stack.extend(
                (f"{prefix}.{k}" if prefix else str(k), v) for k, v in reversed(list(o.items()))
            )
        elif hasattr(o, "detach") and hasattr(o, "numpy"):
            try:
                t = o.detach().cpu()
                if getattr(t, "is_quantized", False):
                    t = t.dequantize()
                if getattr(t, "is_sparse", False) or str(getattr(t, "layout", "")) != (
                    "torch.strided"
                ):
                    if t.numel() > MAX_KERNEL_ELEMENTS:
                        continue
                    t = t.to_dense()
                if t.is_complex():
                    out[prefix] = t.numpy()
                else:
                    out[prefix] = t.float().numpy()
            except (RuntimeError, TypeError, ValueError):
                continue  # a tensor type numpy cannot hold (meta, nested, ...)
        elif isinstance(o, np.ndarray):
            out[prefix] = o
    return out


#: PyTorch checkpoints (``torch.save``; ``.tar`` is the name PyTorch's own tutorials use,
#: ``.ckpt`` Lightning's): read only with ``allow_pickle``.
TORCH_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin")


def load_checkpoint(
    path: str | os.PathLike[str], *, allow_pickle: bool = False, max_bytes: int | None = None
) -> dict[str, NDArray[Any]]:
    """Read every array of a checkpoint: ``{name: array}``.

    ``.npz`` and ``.npy`` are read with ``allow_pickle=False``; ``.safetensors`` is parsed
    here; ``.pt``, ``.pth``, ``.tar``, ``.ckpt`` and ``.bin`` need ``allow_pickle=True`` and
    torch (nested dicts are flattened: ``netG_state_dict.main.0.weight``). ``max_bytes``
    (default :data:`MAX_LOAD_BYTES`) bounds what is read.
    """
    p = Path(path)
    shown = display(p)
    suffix = p.suffix.lower()
    try:
        if suffix == ".safetensors":
            return read_safetensors(p, max_bytes=max_bytes)
        if suffix == ".npy":
            return {p.stem: read_npy(p, max_bytes=max_bytes)}
        if suffix == ".npz":
            return read_npz(p, max_bytes=max_bytes)
        open_regular(p).close()  # the other kinds: a missing file, a FIFO, a device refused
    except InputError as exc:
        raise CheckpointError(str(exc)) from exc
    if suffix in TORCH_SUFFIXES:
        if not allow_pickle:
            raise CheckpointError(
                f"{shown}: PyTorch checkpoints are pickles; pass --allow-pickle to load it with "
                "torch.load(weights_only=True), or convert it to .safetensors"
            )
        try:
            import torch
        except ImportError as exc:
            raise CheckpointError(
                f"{shown}: reading PyTorch checkpoints needs torch (pip install torch)"
            ) from exc
        size = p.stat().st_size
        limit = MAX_LOAD_BYTES if max_bytes is None else max_bytes
        if size > limit:
            raise CheckpointError(
                f"{shown}: {size:,} bytes is over the checkpoint limit of {limit:,} bytes "
                "(--max-size raises it)"
            )
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"{shown}: torch.load refused it ({type(exc).__name__})") from exc
        flat = _flatten(obj)
        if not flat:
            raise CheckpointError(f"{shown}: no tensors found")
        return flat
    raise CheckpointError(
        f"{shown}: unknown checkpoint type {display(suffix, 40)!r} (known: .npz, .npy, "
        f".safetensors, {'/'.join(TORCH_SUFFIXES)})"
    )


# ---------------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------------


def dilate_kernel(weight: NDArray[Any], dilation: tuple[int, int]) -> F64:
    """The kernel a dilated convolution equals: zeros between the taps, ``d (k - 1) + 1`` wide."""
    w = np.asarray(weight, dtype=np.float64)
    dy, dx = dilation
    if (dy, dx) == (1, 1):
        return w
    kh, kw = w.shape[2:]
    out = np.zeros((*w.shape[:2], dy * (kh - 1) + 1, dx * (kw - 1) + 1))
    out[:, :, ::dy, ::dx] = w
    return out


def phase_gains(
    weight: NDArray[Any], stride: tuple[int, ...], bias: NDArray[Any] | None = None
) -> F64:
    """Constant-input response per output channel and phase of a transposed convolution.

    Parameters
    ----------
    weight : (C_in, C_out, k...)
        PyTorch ``ConvTranspose1d/2d/3d`` layout (one group): ``(C_in, C_out, kH, kW)`` for an
        image, ``(C_in, C_out, k)`` for a signal, ``(C_in, C_out, kD, kH, kW)`` for a volume.
    stride : one int per spatial axis
    bias : (C_out,), optional

    Returns
    -------
    (C_out, s...) array: ``R[c, r] = sum_{c_in, m} w[c_in, c, m*s + r] + b[c]`` per phase ``r``
    (one index per axis), the value every interior output position of that phase takes when
    every input channel is 1. Phases are counted from the full (uncropped) output; padding only
    rotates them.

    Examples
    --------
    >>> w = np.ones((1, 1, 3, 3))
    >>> phase_gains(w, (2, 2))[0]
    array([[4., 2.],
           [2., 1.]])
    >>> phase_gains(np.arange(6.0).reshape(1, 1, 6), (4,))[0]  # taps 0+4, 1+5, 2, 3
    array([4., 6., 2., 3.])
    """
    w = np.asarray(weight, dtype=np.float64)
    n = w.ndim - 2
    if len(stride) != n:
        raise CheckpointError(f"a {n}-D kernel needs {n} stride values, got {len(stride)}")
    summed = w.sum(axis=0)  # (C_out, k...)
    out = np.zeros((w.shape[1], *stride))
    axes = tuple(range(1, n + 1))
    for r in itertools.product(*(range(si) for si in stride)):
        taps = tuple(slice(ri, None, si) for ri, si in zip(r, stride, strict=True))
        index: tuple[Any, ...] = (slice(None), *taps)
        at: tuple[Any, ...] = (slice(None), *r)
        out[at] = summed[index].sum(axis=axes)
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape(-1, *([1] * n))
    return out


def _imbalance(resp: F64) -> tuple[F64, F64, F64]:
    """Per channel: checkerboard energy, mean (DC) energy and max/min |R| of the responses."""
    c = resp.shape[0]
    flat = resp.reshape(c, -1)
    mean = flat.mean(axis=1, keepdims=True)
    cb = ((flat - mean) ** 2).sum(axis=1)
    dc = flat.shape[1] * mean[:, 0] ** 2
    a = np.abs(flat)
    with np.errstate(divide="ignore", invalid="ignore"):
        mm = np.where(a.min(axis=1) > 0, a.max(axis=1) / a.min(axis=1), np.inf)
    return cb, dc, mm


@dataclass
class LayerReport:
    """Per-phase analysis of one upsampling layer (see :func:`inspect_weights`).

    ``response`` is ``(C_out, s...)``: the constant-input response per channel and phase (bias
    included), one phase index per spatial axis (``(C_out, sy, sx)`` for an image, ``(C_out,
    s)`` for a 1-D kernel, ``(C_out, sz, sy, sx)`` for a volume). ``imbalance`` = total
    checkerboard energy / total mean energy of those responses (0 when every channel answers a
    constant with a constant; about ``prod(s) - 1`` for random zero-mean weights);
    ``imbalance_axes`` the same along each axis alone (about ``s - 1``); ``imbalance_y`` and
    ``imbalance_x`` name an image's two (the last two; a 1-D kernel's one axis is both).
    """

    name: str
    layout: str
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    stride_assumed: bool
    response: F64
    imbalance: float
    imbalance_y: float
    imbalance_x: float
    max_min_ratio: float
    top_channels: list[tuple[int, float]]
    bias: bool
    holes: bool
    kernel: F64 | None = field(default=None, repr=False)
    bias_values: F64 | None = field(default=None, repr=False)
    imbalance_axes: tuple[float, ...] = ()
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        from .response import verdict

        self.verdict = "holes" if self.holes else verdict(self.imbalance)

    def _per_axis(self) -> dict[str, float | None]:
        from .layers import AXIS_NAMES
        from .report import rounded

        if len(self.stride) == 2 or not self.imbalance_axes:
            return {"y": rounded(self.imbalance_y), "x": rounded(self.imbalance_x)}
        names = AXIS_NAMES[len(self.stride)]
        return {n: rounded(v) for n, v in zip(names, self.imbalance_axes, strict=True)}

    def as_dict(self) -> dict[str, Any]:
        from .report import rounded

        return {
            "name": self.name,
            "layout": self.layout,
            "shape": list(self.shape),
            "stride": list(self.stride),
            "stride_assumed": self.stride_assumed,
            "imbalance": rounded(self.imbalance),
            "dims": len(self.stride),
            "imbalance_1d": self._per_axis(),
            "max_min_ratio": rounded(self.max_min_ratio),
            "verdict": self.verdict,
            "holes": self.holes,
            "bias": self.bias,
            "top_channels": [{"channel": c, "share": round(s, 4)} for c, s in self.top_channels],
            "phase_gains": np.round(self.response, 6).tolist(),
        }


def _axis_ratio(resp: F64, axis: int) -> float:
    """The imbalance along spatial axis ``axis`` alone: the response summed over the others."""
    others = tuple(a + 1 for a in range(resp.ndim - 1) if a != axis)
    marg = resp.sum(axis=others) if others else resp  # (C, s)
    mean = marg.mean(axis=1, keepdims=True)
    dc = float((marg.shape[1] * mean[:, 0] ** 2).sum())
    cb = float(((marg - mean) ** 2).sum())
    return cb / dc if dc > 0 else (0.0 if cb == 0 else math.inf)


def _report(
    name: str,
    resp: F64,
    stride: tuple[int, ...],
    *,
    layout: str,
    shape: tuple[int, ...],
    stride_assumed: bool,
    holes: bool,
    bias: bool,
    top: int,
    kernel: F64 | None = None,
    bias_values: F64 | None = None,
) -> LayerReport:
    cb, dc, mm = _imbalance(resp)
    total_dc, total_cb = float(dc.sum()), float(cb.sum())
    imb = total_cb / total_dc if total_dc > 0 else (0.0 if total_cb == 0 else math.inf)
    order = np.argsort(-cb)[:top]
    per_axis = tuple(_axis_ratio(resp, a) for a in range(len(stride)))
    return LayerReport(
        name=name,
        layout=layout,
        shape=shape,
        stride=stride,
        stride_assumed=stride_assumed,
        response=resp,
        imbalance=imb,
        imbalance_y=per_axis[-2] if len(per_axis) > 1 else per_axis[0],
        imbalance_x=per_axis[-1],
        max_min_ratio=float(np.max(mm)) if len(mm) else 1.0,
        top_channels=[(int(c), float(cb[c] / total_cb) if total_cb > 0 else 0.0) for c in order],
        bias=bias,
        holes=holes,
        kernel=kernel,
        bias_values=bias_values,
        imbalance_axes=per_axis,
    )


def analyse_layer(
    name: str,
    weight: NDArray[Any],
    stride: tuple[int, ...],
    *,
    bias: NDArray[Any] | None = None,
    layout: str = "torch",
    shape: tuple[int, ...] | None = None,
    stride_assumed: bool = False,
    top: int = 3,
) -> LayerReport:
    """Analyse a transposed-convolution kernel in ``(C_in, C_out, k...)`` layout (1, 2 or 3
    spatial axes, one stride per axis)."""
    w = np.asarray(weight, dtype=np.float64)
    b = None if bias is None else np.asarray(bias, dtype=np.float64)
    return _report(
        name,
        phase_gains(w, stride, b),
        stride,
        layout=layout,
        shape=tuple(shape or w.shape),
        stride_assumed=stride_assumed,
        holes=any(k < st for k, st in zip(w.shape[2:], stride, strict=True)),
        bias=b is not None,
        top=top,
        kernel=w,
        bias_values=b,
    )


def analyse_subpixel(
    name: str,
    weight: NDArray[Any],
    r: int,
    *,
    bias: NDArray[Any] | None = None,
    stride_assumed: bool = False,
    top: int = 3,
) -> LayerReport:
    """Analyse ``Conv(k)`` with ``C*r*r`` outputs followed by ``PixelShuffle(r)``: phase
    ``(qy, qx)`` of output channel ``c`` is conv channel ``c*r*r + qy*r + qx``, so its constant
    response is that sub-kernel's sum plus its own bias (one bias per phase channel)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.shape[0] % (r * r):
        raise CheckpointError(f"{name}: {w.shape[0]} channels are not a multiple of {r}^2")
    c = w.shape[0] // (r * r)
    resp = w.reshape(c, r, r, -1).sum(axis=3)
    if bias is not None:
        resp = resp + np.asarray(bias, dtype=np.float64).reshape(c, r, r)
    return _report(
        name,
        resp,
        (r, r),
        layout="subpixel",
        shape=w.shape,
        stride_assumed=stride_assumed,
        holes=False,
        bias=bias is not None,
        top=top,
    )


def subpixel_as_transposed(weight: NDArray[Any], r: int) -> NDArray[Any]:
    """The transposed-convolution kernel equivalent to ``Conv(k) + PixelShuffle(r)``.

    Sub-pixel weight ``(C*r*r, C_in, k, k)``; the equivalent stride-``r`` transposed kernel is
    ``(C_in, C, r*k, r*k)`` with ``K[r*(k-1-m) + q] = W_sub[q, m]`` per axis (Shi et al. 2016).
    """
    w = np.asarray(weight)
    cr2, cin, kh, kw = w.shape
    if cr2 % (r * r):
        raise CheckpointError(f"sub-pixel weight has {cr2} channels, not a multiple of {r}^2")
    c = cr2 // (r * r)
    sub = w.reshape(c, r, r, cin, kh, kw)  # (c, qy, qx, cin, m, n)
    out = np.zeros((cin, c, r * kh, r * kw), dtype=np.float64)
    for qy in range(r):
        for qx in range(r):
            for m in range(kh):
                for n in range(kw):
                    out[:, :, r * (kh - 1 - m) + qy, r * (kw - 1 - n) + qx] = sub[
                        :, qy, qx, :, m, n
                    ].T
    return out


def _to_torch_layout(arr: NDArray[Any], layout: str) -> NDArray[Any]:
    n = arr.ndim - 2  # spatial axes
    if layout == "torch":
        return arr
    if layout == "keras":  # (k..., C_out, C_in)
        return arr.transpose(n + 1, n, *range(n))
    if layout == "flax":  # (k..., C_in, C_out)
        return arr.transpose(n, n + 1, *range(n))
    raise CheckpointError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")


_TRANSPOSED_HINTS = (
    "convtranspose",
    "conv_transpose",
    "conv2dtranspose",
    "conv2d_transpose",
    "deconv",
    "convt",
    "upconv",
    "transpose",
    "transpconv",  # nnU-Net's decoder.transpconvs.N
)
#: HiFi-GAN, BigVGAN and their kin keep their ConvTranspose1d upsamplers in ``ups``.
_UPS = ("ups.", "ups_", "upsamples.", "upsample_layers.")
_SUBPIXEL_HINTS = ("subpixel", "sub_pixel", "pixelshuffle", "pixel_shuffle", "icnr", "espcn")


def guess_layout(name: str, shape: tuple[int, ...]) -> str | None:
    """The layout of a kernel from its name (and shape), or ``None`` if not an upsampler:
    4-D for an image, 3-D for a signal (``ConvTranspose1d``), 5-D for a volume."""
    low = name.lower().replace("-", "_")
    if len(shape) not in (3, 4, 5):
        return None
    if len(shape) == 4 and any(h in low for h in _SUBPIXEL_HINTS):
        return "subpixel"
    # a 1-D kernel in ``ups`` is a vocoder's ConvTranspose1d; an image model's ``ups`` may
    # hold the plain convolutions of resize-conv blocks, so the name alone does not say
    vocoder = len(shape) == 3 and any(
        low.startswith(u) or f".{u}" in low or f"/{u}" in low for u in _UPS
    )
    if not any(h in low for h in _TRANSPOSED_HINTS) and not vocoder:
        return None
    if "kernel" in low.rsplit(".", 1)[-1] or "kernel" in low.rsplit("/", 1)[-1]:
        # Keras kernels keep (C_out, C_in) last, Flax (C_in, C_out). Keras names the layer
        # conv2d_transpose(_N) and ends in kernel:0; Flax names modules ConvTranspose_N.
        if "ConvTranspose" in name and "conv2d_transpose" not in low and ":0" not in name:
            return "flax"
        return "keras" if "/" in name or ":0" in name else "flax"
    return "torch"


@dataclass
class InspectResult:
    """Per-layer reports and, where several layers chain, their combined behaviour."""

    path: str | None
    layers: list[LayerReport]
    chain: dict[str, Any] | None
    skipped: list[str]
    #: why each skipped array was left out (the source's layer it is, or that none is known)
    skipped_reasons: dict[str, str] = field(default_factory=dict)
    #: with a source: ``{"path", "class", "layers"}`` (layers: submodules found in it)
    source: dict[str, Any] | None = None

    def worst(self) -> float:
        return max((r.imbalance for r in self.layers), default=0.0)

    @property
    def output(self) -> dict[str, Any] | None:
        """The path's response where it reaches the model's output (known from a source or
        a graph), else None."""
        if self.chain is not None and self.chain.get("reaches_output"):
            return self.chain
        return None

    @property
    def not_finite(self) -> list[str]:
        """Kernels skipped because they hold NaN or infinite values (a ``--check`` fails)."""
        return [k for k in self.skipped if "NaN" in self.skipped_reasons.get(k, "")]

    def gated(self) -> list[float]:
        """The imbalances a ``--check`` gate compares: the output's when it is known (what
        the images show), else every layer's; a kernel holding NaN or infinite values counts
        as infinitely imbalanced (the gate fails closed)."""
        if self.not_finite:
            return [math.inf]
        out = self.output
        if out is not None:
            return [math.inf if out["imbalance"] is None else float(out["imbalance"])]
        return [r.imbalance for r in self.layers]


def _bias_for(name: str, arrays: dict[str, NDArray[Any]], cout: int) -> NDArray[Any] | None:
    for cand in (
        name.rsplit(".", 1)[0] + ".bias",
        name.replace("kernel", "bias"),
        name.replace("weight", "bias"),
    ):
        b = arrays.get(cand)
        if cand != name and b is not None and b.ndim == 1 and b.shape[0] == cout:
            return b
    return None


def name_matches(layer: str | Sequence[str] | None, name: str) -> bool:
    """Whether ``name`` is picked by ``--layer`` (none given: every name; several: any)."""
    if layer is None:
        return True
    if isinstance(layer, str):
        return layer in name
    return not layer or any(part in name for part in layer)


def inspect_weights(
    source: str | os.PathLike[str] | dict[str, NDArray[Any]] | NDArray[Any],
    *,
    stride: int | tuple[int, ...] | None = None,
    layout: str = "auto",
    layer: str | Sequence[str] | None = None,
    allow_pickle: bool = False,
    top: int = 3,
    model_source: str | os.PathLike[str] | None = None,
    model_class: str | None = None,
    graph_input: str | None = None,
    max_bytes: int | None = None,
) -> InspectResult:
    """Per-phase DC-gain analysis of every upsampling kernel in a checkpoint or array(s).

    Parameters
    ----------
    source : path, ``{name: array}`` or a single kernel
        Kernels of 2-D layers are 4-D arrays, of 1-D layers (``ConvTranspose1d``: vocoders)
        3-D, of 3-D layers (volumes) 5-D. A kernel stored with weight normalisation
        (``weight_g`` and ``weight_v``, or ``parametrizations.weight.original0/1``) is
        analysed as the weight it stands for, ``g v / |v|``.
    stride : int or one int per spatial axis, optional
        The layers' stride (weights do not store it). Default, reported as assumed: 2, and for
        a 1-D kernel of even size ``k >= 4``, ``k / 2`` (the kernel twice the rate of HiFi-GAN
        and MelGAN).
    layout : {"auto", "torch", "keras", "flax", "subpixel"}
        ``auto`` recognises transposed convolutions and sub-pixel convolutions by name.
    layer : str or sequence of str, optional
        Only layers whose name contains this (or any of these).
    model_source, model_class : optional
        The PyTorch module's source file (and class): each key's layer (kind, stride,
        padding) is read from it statically (:func:`cbdiag.lint.modules.source_layers`, never
        imported), so only its transposed and sub-pixel convolutions are analysed, each with its
        own stride; the other 4-D weights are listed as skipped with what they are.
    graph_input : str, optional
        For an ``.onnx`` model (read with :mod:`cbdiag.graph`, never run): the tensor the image
        path starts from (default: the graph's only 4-D input).
    max_bytes : int, optional
        The most a checkpoint may hold (default :data:`MAX_LOAD_BYTES`).
    """
    if layout not in LAYOUTS:
        raise CheckpointError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".onnx"):
        if stride is not None or model_source is not None or layout != "auto":
            raise CheckpointError(
                "an ONNX model gives each layer's stride and layout: drop --stride, --layout "
                "and --source"
            )
        from .graph import image_path, inspect_graph, read_model

        model = read_model(source)
        return inspect_graph(model, image_path(model, graph_input), layer=layer, top=top)
    if model_source is not None and stride is not None:
        raise CheckpointError("--stride and --source: the source gives each layer's stride")
    if model_source is not None and layout not in ("auto", "torch"):
        raise CheckpointError("--source reads PyTorch modules: their weights are in torch layout")
    path = None
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        arrays = load_checkpoint(source, allow_pickle=allow_pickle, max_bytes=max_bytes)
    elif isinstance(source, dict):
        arrays = dict(source)
    else:
        arrays = {"weight": np.asarray(source)}
    given: tuple[int, ...] | None
    if stride is None:
        given = None
    elif isinstance(stride, int):
        given = (int(stride),)
    else:
        given = tuple(int(v) for v in stride)
    if given is not None and (not given or min(given) < 1):
        raise CheckpointError(f"stride must be >= 1, got {given}")
    if given is not None and max(given) > 64:
        raise CheckpointError(f"stride {max(given)} is absurdly large (max 64)")
    arrays = _weight_norm(arrays)
    reports: list[LayerReport] = []
    skipped: list[str] = []
    why: dict[str, str] = {}
    structure = None
    source_info = None
    if model_source is not None:
        from .lint.modules import source_layers

        cls_name, structure = source_layers(model_source, model_class, keys=arrays)
        source_info = {"path": str(model_source), "class": cls_name, "layers": len(structure)}
    for name in sorted(arrays, key=_natural):
        arr = np.asarray(arrays[name])
        if not name_matches(layer, name):
            continue
        if arr.ndim not in (3, 4, 5):
            continue
        problem = _unusable(arr)
        if problem:
            skipped.append(name)
            why[name] = problem
            continue
        if structure is not None:
            got = _from_source(name, arr, structure, arrays, top)
            if isinstance(got, str):
                skipped.append(name)
                why[name] = got
            else:
                reports.append(got)
            continue
        lay = layout if layout != "auto" else guess_layout(name, arr.shape)
        if (
            lay is not None
            and layout != "auto"
            and layer is None
            and len(arrays) > 1
            and guess_layout(name, arr.shape) is None
        ):
            # a layout says how a kernel is stored, not that it is an upsampler: without a
            # name that says so, a source or --layer, it is not assumed to be one
            lay = None
        if lay is None:
            if layer is not None or len(arrays) == 1:
                lay = "torch" if layout == "auto" else layout  # asked for explicitly, or alone
            else:
                skipped.append(name)
                why[name] = (
                    "not named as an upsampler (give the model's source with --source, or "
                    "--layer to pick it)"
                )
                continue
        dims = arr.ndim - 2
        try:
            s, assumed = _stride_of(given, arr, lay, dims)
        except CheckpointError as exc:
            raise CheckpointError(f"{name}: {exc}") from None
        if lay == "subpixel":
            if dims != 2:
                raise CheckpointError(f"{name}: a sub-pixel convolution here is 2-D (4-D weight)")
            if s[0] != s[1]:
                raise CheckpointError("a sub-pixel convolution has one upscale factor")
            b = _bias_for(name, arrays, arr.shape[0])
            reports.append(
                analyse_subpixel(name, arr, s[0], bias=b, stride_assumed=assumed, top=top)
            )
            continue
        w = _to_torch_layout(arr, lay).astype(np.float64)
        b = _bias_for(name, arrays, w.shape[1])
        reports.append(
            analyse_layer(
                name, w, s, bias=b, layout=lay, shape=arr.shape, stride_assumed=assumed, top=top
            )
        )
    chain = None
    if structure is not None:
        from .lint.modules import forward_note

        assert model_source is not None and source_info is not None
        note = forward_note(model_source, str(source_info["class"]), structure)
        chain = _source_chain(structure, arrays, note)
    if not reports and chain is None:
        hint = "" if skipped else " (no 4-D arrays)"
        if structure is not None:
            raise CheckpointError(
                f"{path or 'arrays'}: no transposed or sub-pixel convolution of "
                f"{source_info and source_info['class']} matches a weight{hint} (4-D arrays "
                f"seen: {', '.join(f'{k}: {why[k]}' for k in skipped[:3]) or 'none'})"
            )
        seen = ", ".join(
            display(k) if "not named" in why.get(k, "") else f"{display(k)}: {why.get(k)}"
            for k in skipped[:5]
        )
        raise CheckpointError(
            f"{path or 'arrays'}: no upsampling kernel found{hint}; give the model's source "
            f"with --source, or --layer (4-D arrays seen: {seen or 'none'})"
        )
    if structure is not None:
        order = {k: i for i, k in enumerate(structure)}
        reports.sort(key=lambda r: order.get(_source_key(r.name, structure) or "", len(order)))
    else:
        chain = _chain(reports)
    return InspectResult(
        path=path,
        layers=reports,
        chain=chain,
        skipped=skipped,
        skipped_reasons=why,
        source=source_info,
    )


def _stride_of(
    given: tuple[int, ...] | None, arr: NDArray[Any], layout: str, dims: int
) -> tuple[tuple[int, ...], bool]:
    """The stride of one kernel (its value per axis) and whether it is assumed."""
    if given is not None:
        if len(given) == 1:
            return given * dims, False
        if len(given) != dims:
            shown = "x".join(map(str, given))
            takes = "one stride value" if dims == 1 else f"1 or {dims} stride values"
            raise CheckpointError(f"a {dims}-D kernel takes {takes}, got {shown}")
        return given, False
    if dims == 1:
        k = arr.shape[-1] if layout in ("torch", "subpixel") else arr.shape[0]
        if k >= 4 and k % 2 == 0:
            return (k // 2,), True
    return (2,) * dims, True


def _weight_norm(arrays: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """``arrays`` with each weight-normalised kernel as the weight it stands for: ``X.weight =
    g v / |v|`` from ``X.weight_g`` and ``X.weight_v`` (``torch.nn.utils.weight_norm``) or
    ``X.parametrizations.weight.original0`` / ``original1`` (its newer form), the norm taken
    over every axis but the one ``g`` keeps (``g`` has size 1 on the others)."""
    pairs = []
    for name in arrays:
        if name.endswith(".weight_v"):
            base = name[: -len("_v")]
            pairs.append((base, base + "_g", name))
        elif name.endswith(".parametrizations.weight.original1"):
            base = name[: -len(".parametrizations.weight.original1")] + ".weight"
            pairs.append((base, name[:-1] + "0", name))
    if not pairs:
        return arrays
    out = dict(arrays)
    for base, g_name, v_name in pairs:
        if g_name not in arrays or base in arrays:
            continue
        v = np.asarray(arrays[v_name], dtype=np.float64)
        g = np.asarray(arrays[g_name], dtype=np.float64)
        if g.ndim != v.ndim or any(a not in (1, b) for a, b in zip(g.shape, v.shape, strict=True)):
            continue  # not a weight norm this reader understands: both are left as they are
        axes = tuple(i for i, a in enumerate(g.shape) if a == 1 and v.shape[i] != 1)
        norm = np.sqrt((v**2).sum(axis=axes, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[base] = np.where(norm > 0, g * v / norm, 0.0)
        del out[g_name], out[v_name]
    return out


def _unusable(arr: NDArray[Any]) -> str | None:
    """Why an array cannot be analysed as a kernel (``None`` when it can)."""
    if arr.size == 0:
        return "empty"
    if np.issubdtype(arr.dtype, np.complexfloating):
        return "complex values (a real kernel was expected)"
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return f"not numbers (dtype {arr.dtype})"
    if arr.size > MAX_KERNEL_ELEMENTS:
        return f"{arr.size:,} elements, over the limit of {MAX_KERNEL_ELEMENTS:,} for a kernel"
    if math.prod(arr.shape[2:]) > MAX_KERNEL_TAPS:
        taps = "x".join(map(str, arr.shape[2:]))
        return f"{taps} taps, over the limit of {MAX_KERNEL_TAPS:,}"
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        return "holds NaN or infinite values"
    return None


def _source_key(name: str, structure: dict[str, Any]) -> str | None:
    from .lint.modules import match

    if not name.endswith(".weight"):
        return None
    sl = match(name[: -len(".weight")], structure)
    return None if sl is None else str(sl.key)


def _source_chain(
    structure: dict[str, Any], arrays: dict[str, NDArray[Any]], forward_note: str | None = None
) -> dict[str, Any] | None:
    """The constant-input response through the source's layers in the order it builds them
    (``nn.Sequential``'s order is the order it runs), from the first upsampler to the end."""
    from .response import Step, as_dict, follow

    weights: dict[str, str] = {}
    for name in arrays:
        k = _source_key(name, structure)
        if k is not None and np.asarray(arrays[name]).ndim == 4:
            weights[k] = name
    steps: list[Step] = []
    stop: str | None = None
    started = shuffle_done = False
    known_keys = set(weights)
    missing: str | None = None
    for name in arrays:
        a = np.asarray(arrays[name])
        if a.ndim == 4 and name.endswith(".weight") and _source_key(name, structure) is None:
            # a kernel of the checkpoint that no layer of the source explains: the path from
            # the source would miss it
            missing = f"{name}: no layer of the source's class has this key (the path misses it)"
    for sl in structure.values():
        if sl.kind == "unknown" and sl.key in known_keys and missing is None:
            missing = f"{sl.key}: {sl.reason or 'not known statically'} (the path misses it)"
    for sl in structure.values():
        kind = sl.kind
        if kind in ("container", "module", "other") or (kind == "shuffle" and shuffle_done):
            shuffle_done = shuffle_done and kind != "shuffle"
            continue  # activations and normalisations: outside the linear path
        upsampler = kind in ("subpixel", "shuffle", "resize") or (
            kind == "deconv" and sl.key in weights
        )
        if not started and not upsampler:
            continue  # before the first upsampler a constant stays a constant
        started = True
        ax = sl.layer
        if kind in ("deconv", "conv", "subpixel"):
            wname = weights.get(sl.key)
            if wname is None:
                stop = f"{sl.key}: no 4-D weight of it in the checkpoint"
                break
            if ax is None or sl.stride is None:
                stop = f"{sl.key}: {sl.reason or 'its parameters are not known statically'}"
                break
            if sl.groups is None:
                stop = f"{sl.key}: its groups are not known statically"
                break
            from .graph import dense_kernel

            w = dense_kernel(arrays[wname], sl.groups, transposed=kind == "deconv")
            if kind == "deconv":
                w = dilate_kernel(w, _dilation(sl))
            cout = w.shape[1] if kind == "deconv" else w.shape[0]
            b = _bias_for(wname, arrays, cout)
            steps.append(
                Step(
                    wname,
                    "deconv" if kind == "deconv" else "conv",
                    kernel=w,
                    bias=None if b is None else np.asarray(b, dtype=np.float64),
                    stride=sl.stride,
                    padding=(ax.y.padding, ax.x.padding),
                    dilation=(1, 1) if kind == "deconv" else (ax.y.dilation, ax.x.dilation),
                )
            )
            if kind == "subpixel" and sl.factor is not None:
                keys = list(structure)
                after = keys[keys.index(sl.key) + 1 :]
                shuffle = next((k for k in after if structure[k].kind == "shuffle"), sl.key)
                steps.append(Step(f"{shuffle} (pixel shuffle)", "shuffle", factor=(sl.factor,) * 2))
                shuffle_done = True
            continue
        if kind == "shuffle" and sl.factor is not None:
            steps.append(Step(sl.key, "shuffle", factor=(sl.factor, sl.factor)))
            continue
        if kind == "resize" and ax is not None:
            steps.append(Step(sl.key, "resize", factor=(ax.y.stride, ax.x.stride), mode=ax.y.kind))
            continue
        stop = f"{sl.key} ({sl.name}): {sl.reason or 'not known statically'}"
        break
    if not steps:
        why = stop or missing
        if why is None:
            return None
        return {"layers": [], "period": None, "imbalance": None, "verdict": None,
                "reaches_output": False, "stopped": why}  # fmt: skip
    r = follow(steps)
    if r.stopped is None and stop is not None:
        r.stopped = stop
    if missing is not None:
        r.stopped = missing if r.stopped is None else f"{missing}; {r.stopped}"
    if r.stopped is None and forward_note is not None:
        r.stopped = forward_note
    return as_dict(r, reaches_output=r.stopped is None)


def _from_source(
    name: str,
    arr: NDArray[Any],
    structure: dict[str, Any],
    arrays: dict[str, NDArray[Any]],
    top: int,
) -> LayerReport | str:
    """The report of a 4-D weight whose layer the model's source names (or why not)."""
    from .lint.modules import match

    if not name.endswith(".weight"):
        return "not a module's weight"
    sl = match(name[: -len(".weight")], structure)
    if sl is None:
        return "no layer of the source's class has this key"
    what = f"{sl.name}{f' ({sl.spec})' if sl.spec else ''}"
    if sl.kind in ("subpixel", "deconv") and sl.groups is None:
        return f"{what}: its groups are not known statically"
    from .graph import dense_kernel

    if sl.kind == "subpixel" and sl.factor is not None and sl.stride == (1, 1):
        w = dense_kernel(arr, sl.groups or 1, transposed=False)
        w = dilate_kernel(w, _dilation(sl))
        b = _bias_for(name, arrays, arr.shape[0])
        return analyse_subpixel(name, w, sl.factor, bias=b, stride_assumed=False, top=top)
    if sl.kind != "deconv":
        return f"{what}: not an upsampler"
    if sl.stride is None:
        return f"{what}: {sl.reason or 'its stride is not known statically'}"
    w = dilate_kernel(dense_kernel(arr, sl.groups or 1, transposed=True), _dilation(sl))
    b = _bias_for(name, arrays, w.shape[1])
    return analyse_layer(
        name, w, sl.stride, bias=b, layout="torch", shape=arr.shape, stride_assumed=False, top=top
    )


def _dilation(sl: Any) -> tuple[int, int]:
    ax = getattr(sl, "layer", None)
    return (1, 1) if ax is None else (ax.y.dilation, ax.x.dilation)


def _chain(reports: list[LayerReport]) -> dict[str, Any] | None:
    """A constant input through consecutive transposed convolutions whose channels match, in
    file order. Linear: the activations and normalisations between them are not in the weights
    and are left out, so this is the structure the layers paint together, not the exact image."""
    if len(reports) < 2 or reports[0].kernel is None:
        return None
    names = [reports[0].name]
    pattern = reports[0].response  # (C, P...): one period of every channel
    dims = pattern.ndim - 1
    for rep in reports[1:]:
        if (
            rep.kernel is None
            or rep.kernel.shape[0] != pattern.shape[0]
            or rep.kernel.ndim - 2 != dims
        ):
            break
        period = [p * s for p, s in zip(pattern.shape[1:], rep.stride, strict=True)]
        if math.prod(period) * rep.kernel.shape[1] > 1 << 22:  # the next period: too large
            break
        cin, cout, *ks = rep.kernel.shape
        reach = math.prod(p + k for p, k in zip(period, ks, strict=True))
        if math.prod(ks) * cin * cout * reach > MAX_CHAIN_WORK:  # minutes of work
            break
        pattern = _through(pattern, rep.kernel, rep.stride, rep.bias_values)
        names.append(rep.name)
    if len(names) < 2:
        return None
    from .report import rounded

    cb, dc, _ = _imbalance(pattern)
    imb = float(cb.sum() / dc.sum()) if dc.sum() > 0 else math.inf
    return {
        "layers": names,
        "period": [int(p) for p in pattern.shape[1:]],
        "imbalance": rounded(imb),
    }


def _through(pattern: F64, kernel: F64, stride: tuple[int, ...], bias: F64 | None) -> F64:
    """One period ``(C_out, P*s...)`` of the output of a transposed convolution whose input
    repeats ``pattern`` ``(C_in, P...)`` forever (phases of the full output index), for 1, 2 or
    3 spatial axes."""
    periods = pattern.shape[1:]
    ks = kernel.shape[2:]
    cout = kernel.shape[1]
    qs = [p * s for p, s in zip(periods, stride, strict=True)]
    # enough input periods that one output period lies wholly in the interior
    ns = [
        (-(-(k - 1) // q) * q + q) // s + 2 * p + 1
        for p, k, s, q in zip(periods, ks, stride, qs, strict=True)
    ]
    reps = [-(-n // p) for n, p in zip(ns, periods, strict=True)]
    first: tuple[Any, ...] = (slice(None), *(slice(0, n) for n in ns))
    x = np.tile(pattern, (1, *reps))[first]
    full = np.zeros((cout, *((n - 1) * s + k for n, s, k in zip(ns, stride, ks, strict=True))))
    for tap in itertools.product(*(range(k) for k in ks)):
        one: tuple[Any, ...] = (slice(None), slice(None), *tap)
        contrib = np.tensordot(kernel[one], x, axes=([0], [0]))
        strided = (
            slice(t, t + (n - 1) * s + 1, s) for t, n, s in zip(tap, ns, stride, strict=True)
        )
        where: tuple[Any, ...] = (slice(None), *strided)
        full[where] += contrib
    starts = [-(-(k - 1) // q) * q for k, q in zip(ks, qs, strict=True)]  # a period's multiple
    period: tuple[Any, ...] = (
        slice(None),
        *(slice(t, t + q) for t, q in zip(starts, qs, strict=True)),
    )
    out = full[period]
    if bias is not None:
        out = out + bias.reshape(-1, *([1] * len(periods)))
    return np.asarray(out)


def _natural(name: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def equalize_phases(weight: NDArray[Any], stride: int | tuple[int, int]) -> F64:
    """ICNR-style fix: shift each phase's taps so every phase sums to the mean phase gain.

    ``weight`` is ``(C_in, C_out, kH, kW)``. For every (input, output) channel pair and phase
    ``r`` the difference ``P_r - mean(P)`` is removed evenly from that phase's taps, so a constant
    input gives a constant output while the mean response (and the kernel's other frequencies
    as far as possible) is kept. Raises if a phase has no taps (kernel smaller than stride).
    """
    s = (stride, stride) if isinstance(stride, int) else stride
    w = np.array(weight, dtype=np.float64)
    sy, sx = s
    kh, kw = w.shape[2:]
    if kh < sy or kw < sx:
        raise CheckpointError("a phase has no taps (kernel smaller than stride): cannot equalise")
    gains = np.zeros((*w.shape[:2], sy, sx))
    for ry in range(sy):
        for rx in range(sx):
            gains[:, :, ry, rx] = w[:, :, ry::sy, rx::sx].sum(axis=(2, 3))
    mean = gains.mean(axis=(2, 3), keepdims=True)
    for ry in range(sy):
        for rx in range(sx):
            taps = w[:, :, ry::sy, rx::sx]
            n = taps.shape[2] * taps.shape[3]
            w[:, :, ry::sy, rx::sx] -= ((gains[:, :, ry, rx] - mean[:, :, 0, 0]) / n)[
                :, :, None, None
            ]
    return w
