"""``cbdiag probe``: run an ONNX model (with onnxruntime) on inputs that make its fixed pattern
visible, and measure the pattern with the detector.

The test users of image and video autoencoders write by hand ("encode and decode a constant
colour and look at the FFT"), for any ONNX model and with the detector's units:

* **constant**: one input that is the same everywhere (a mid-grey image for an image model, a
  zero latent for a generator). Whatever periodic structure the output holds is the model's
  own: there is no content to hide it;
* **smooth** (image models): ``N`` random smooth images (a few low-frequency cosines per
  channel), pooled: the pattern common to all outputs;
* **latent** (generators, an input without two spatial axes larger than 1): ``N`` samples of a
  standard normal latent, pooled.

The periods looked for are the detector's (2, 4, 8, 16, 32), or, when the graph's image path
paints another one (the product of its upsampling factors, e.g. 3 for a sub-pixel x3), that one.
Outputs are mapped to ``[0, 1]`` from ``--output-range`` (default ``-1,1``, a ``tanh``
generator) and scored as images (1, 3 or 4 channels): amplitude in grey levels of 8-bit RMS,
significance, period. The model runs in onnxruntime on the CPU: no Python code of the model's
is run, and external data is checked (inside the model's folder, sizes as declared) before
onnxruntime opens the file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import CbdiagError

#: Most samples per probe, and the largest output (pixels per image) scored.
MAX_SAMPLES = 1024
MAX_OUTPUT_PIXELS = 1 << 24


class ProbeError(CbdiagError):
    """A model that cannot be probed."""


def _ort() -> Any:
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError:
        raise ProbeError(
            "probe runs models with the optional onnxruntime package: pip install 'cbdiag[probe]'"
        ) from None
    return onnxruntime


@dataclass
class ProbeRow:
    """One probe: what was fed, how many outputs, and their pattern."""

    name: str  # constant, smooth, latent
    samples: int
    period: int | None
    amplitude: float
    significance: float
    flagged: bool
    pooled: bool

    def as_dict(self) -> dict[str, Any]:
        from .report import rounded as num

        return {
            "probe": self.name,
            "samples": self.samples,
            "pooled": self.pooled,
            "period": self.period,
            "amplitude": num(self.amplitude),
            "significance": num(self.significance),
            "flagged": self.flagged,
        }


@dataclass
class ProbeResult:
    path: str
    input: str
    input_shape: list[int]
    kind: str  # image or latent
    output: str
    output_shape: list[int]
    rows: list[ProbeRow]
    runtime: str
    stride: int | None = None  # the only period looked for (given, or the graph's)
    inputs: dict[str, NDArray[np.float32]] = field(default_factory=dict, repr=False)
    outputs: dict[str, NDArray[np.float32]] = field(default_factory=dict, repr=False)

    @property
    def flagged(self) -> bool:
        return any(r.flagged for r in self.rows)


def _check_file(path: Path) -> Any:
    """The model parsed with onnx, and what onnxruntime would read besides the file (external
    data) checked as inspect checks it."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ProbeError(
            "probe checks the model file with the optional onnx package first: "
            "pip install 'cbdiag[probe]'"
        ) from None
    from .graph import check_external, read_model

    model = read_model(path)
    check_external(model)
    return model


def graph_period(model: Any, input: str | None) -> int | None:
    """The lattice period the image path paints, from the graph: the product of its
    upsampling factors, when both axes agree and nothing on the path downsamples (else None)."""
    from .graph import image_path

    try:
        path = image_path(model, input)
    except CbdiagError:
        return None
    py = px = 1
    for n in path.layers:
        assert n.layer is not None
        y, x = n.layer.y, n.layer.x
        if n.layer.kind in ("deconv", "shuffle", "nearest", "bilinear"):
            py, px = py * y.stride, px * x.stride
        elif y.stride > 1 or x.stride > 1:
            return None
    return py if py == px and py > 1 else None


def probe_model(
    path: str | os.PathLike[str],
    *,
    input: str | None = None,
    input_size: tuple[int, int] | None = None,
    samples: int = 16,
    seed: int = 0,
    output_range: tuple[float, float] = (-1.0, 1.0),
    input_range: tuple[float, float] = (-1.0, 1.0),
    stride: int | None = None,
    keep: bool = False,
) -> ProbeResult:
    """Run the probes on the ONNX model at ``path``; see the module's doc."""
    from .spectrum import score_image, score_pooled

    ort = _ort()
    p = Path(path)
    if not p.is_file():
        raise ProbeError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    if not 1 <= samples <= MAX_SAMPLES:
        raise ProbeError(f"--samples must be 1..{MAX_SAMPLES}, got {samples}")
    lo, hi = output_range
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ProbeError("--output-range must be two finite numbers LO,HI with LO < HI")
    model = _check_file(p)
    period = graph_period(model, input)
    if stride is None and period is not None and period & (period - 1) and 2 <= period <= 32:
        # the detector looks at 2, 4, 8, 16 and 32 by default: another period is asked for
        stride = period
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200]
        raise ProbeError(f"{p}: onnxruntime cannot load it ({type(exc).__name__}: {msg})") from None
    ins = sess.get_inputs()
    if input is None:
        if len(ins) != 1:
            names = ", ".join(i.name for i in ins)
            raise ProbeError(f"{p}: {len(ins)} inputs ({names}); probe feeds models with one input")
        spec = ins[0]
    else:
        found = [i for i in ins if i.name == input]
        if not found:
            raise ProbeError(f"{p}: no input {input!r} (inputs: {', '.join(i.name for i in ins)})")
        spec = found[0]
        if len(ins) > 1:
            names = ", ".join(i.name for i in ins)
            raise ProbeError(f"{p}: {len(ins)} inputs ({names}); probe feeds models with one input")
    if "float" not in str(spec.type):
        raise ProbeError(f"{p}: input {spec.name!r} is {spec.type}, not a float tensor")
    shape = _shape(spec.shape, input_size, p, spec.name)
    kind = "image" if len(shape) == 4 and shape[2] > 1 and shape[3] > 1 else "latent"
    rng = np.random.default_rng(seed)
    feeds: dict[str, NDArray[np.float32]] = {}
    ilo, ihi = input_range
    if kind == "image":
        feeds["constant"] = np.full([1, *shape[1:]], (ilo + ihi) / 2, np.float32)
        feeds["smooth"] = _smooth(rng, [samples, *shape[1:]], ilo, ihi)
    else:
        feeds["constant"] = np.zeros([1, *shape[1:]], np.float32)
        feeds["latent"] = rng.standard_normal([samples, *shape[1:]]).astype(np.float32)
    out_name = sess.get_outputs()[0].name
    rows: list[ProbeRow] = []
    outputs: dict[str, NDArray[np.float32]] = {}
    out_shape: list[int] = []
    for name, x in feeds.items():
        y = _run(sess, spec.name, out_name, x, p)
        outputs[name] = y
        out_shape = list(y.shape[1:])
        images = [_as_image(y[i], lo, hi, p) for i in range(y.shape[0])]
        h, w = images[0].shape[:2]
        from .images import MIN_SIZE

        if min(h, w) < MIN_SIZE:
            raise ProbeError(
                f"{p}: the model's output is {h}x{w}, smaller than the {MIN_SIZE}x{MIN_SIZE} the "
                "detector needs (a larger --input-size, if the input's size is free)"
            )
        if len(images) == 1:
            s = score_image(images[0], stride=stride)
            rows.append(ProbeRow(name, 1, s.period, s.amplitude, s.significance, s.flagged, False))
        else:
            pr = score_pooled(images, stride=stride)
            rows.append(
                ProbeRow(name, len(images), pr.period, pr.amplitude, pr.significance,
                         pr.flagged, True)
            )  # fmt: skip
    return ProbeResult(
        path=str(p),
        input=spec.name,
        input_shape=shape,
        kind=kind,
        output=out_name,
        output_shape=out_shape,
        rows=rows,
        runtime=f"onnxruntime {ort.__version__} (CPU)",
        stride=stride,
        inputs=feeds if keep else {},
        outputs=outputs if keep else {},
    )


def _shape(dims: list[Any], size: tuple[int, int] | None, p: Path, name: str) -> list[int]:
    out: list[int] = []
    for i, d in enumerate(dims):
        if i == 0:
            out.append(1)  # the batch: set per probe
            continue
        if len(dims) == 4 and i >= 2 and size is not None:
            out.append(size[i - 2])
            continue
        if not isinstance(d, int) or d <= 0:
            raise ProbeError(
                f"{p}: dimension {i} of input {name!r} is not fixed ({d}); pass --input-size"
                if len(dims) == 4 and i >= 2
                else f"{p}: dimension {i} of input {name!r} is not fixed ({d})"
            )
        out.append(d)
    if int(np.prod(out)) > MAX_OUTPUT_PIXELS:
        raise ProbeError(f"{p}: an input of {out} is too large to probe")
    return out


def _smooth(
    rng: np.random.Generator, shape: list[int], lo: float, hi: float
) -> NDArray[np.float32]:
    """Random smooth images: per channel a mean and four cosines of at most 3 cycles across."""
    n, c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty(shape, np.float32)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    for i in range(n):
        for ch in range(c):
            img = np.full((h, w), rng.uniform(-0.3, 0.3))
            for _ in range(4):
                fy, fx = rng.uniform(-3, 3, size=2)
                img += 0.15 * np.cos(2 * np.pi * (fy * yy + fx * xx) + rng.uniform(0, 2 * np.pi))
            out[i, ch] = mid + half * np.clip(img, -1, 1)
    return out


def _run(sess: Any, iname: str, oname: str, x: NDArray[np.float32], p: Path) -> Any:
    outs = []
    for i in range(x.shape[0]):  # one at a time: models exported with a batch of 1
        try:
            (y,) = sess.run([oname], {iname: x[i : i + 1]})
        except Exception as exc:
            msg = " ".join(str(exc).split())[:200]
            raise ProbeError(f"{p}: onnxruntime failed on the probe ({msg})") from None
        y = np.asarray(y)
        if y.ndim != 4 or y.shape[0] != 1:
            raise ProbeError(
                f"{p}: output {oname!r} has shape {list(y.shape)}, not an image batch (N, C, H, W)"
            )
        if y.shape[2] * y.shape[3] > MAX_OUTPUT_PIXELS:
            raise ProbeError(f"{p}: an output of {y.shape[2]}x{y.shape[3]} is too large to score")
        outs.append(y[0].astype(np.float32))
    return np.stack(outs)


def _as_image(y: NDArray[np.float32], lo: float, hi: float, p: Path) -> NDArray[np.float64]:
    c = y.shape[0]
    if c not in (1, 3, 4):
        raise ProbeError(f"{p}: the output has {c} channels; probe scores images of 1, 3 or 4")
    if not np.isfinite(y).all():
        raise ProbeError(f"{p}: the output holds NaN or infinite values")
    img = np.clip((y.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return img[0] if c == 1 else np.moveaxis(img[:3], 0, -1)
