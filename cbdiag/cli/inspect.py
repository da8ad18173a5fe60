"""``cbdiag inspect``: the checkerboard in the weights (per-phase DC gains of upsamplers)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..files import display
from ..images import check_writable, save_png
from ..layers import parse_sizes
from ..report import dumps, envelope
from ..weights import LAYOUTS, MAX_LOAD_BYTES, InspectResult, inspect_weights
from ._common import Format, handle_errors, show, show_table, write_stdout

HELP = """Find the checkerboard in the weights: per-phase DC gains of transposed convolutions and
sub-pixel convolutions in a checkpoint.

A stride-s upsampler answers a constant input with a period-s pattern unless every phase's
taps sum to the same value, whatever the kernel size: k divisible by s only evens out the
number of taps. For each layer: the constant-input response per output channel and phase
(bias included), the imbalance (checkerboard energy / mean energy of that response: 0 when
balanced, about s*s-1 for random weights), max/min, the channels that carry it, a verdict;
and the combined pattern of consecutive layers.

Reads .npz, .npy, .safetensors (parsed and bounds-checked, nothing executed), ONNX models
(.onnx, with the optional onnx package: each layer's stride, padding and layout from the graph,
along the image path from --input) and, only with
--allow-pickle, PyTorch .pt/.pth/.tar/.ckpt through torch.load(weights_only=True). With
--source models.py[:Class] each state-dict key's layer (kind, stride, padding) is read from the
model's source statically, as cbdiag lint reads it (never imported or run): only transposed and
sub-pixel convolutions are analysed, each with its own stride, and the headline is the output:
the constant-input response through every linear layer from the first upsampler to the end
(--check gates on it). Without it, layers are found by
name (ConvTranspose / Conv2DTranspose / deconv / pixel shuffle ...) or picked with --layer, and
the stride, which weights do not store, is --stride (default 2, assumed).

Exit codes: 0 ran (with --check: nothing above --max-imbalance), 1 with --check and a layer
above it, 2 bad input."""


def inspect(
    checkpoint: Annotated[
        Path,
        typer.Argument(metavar="CHECKPOINT", help="A .npz, .npy, .safetensors, .pt or .onnx file."),
    ],
    stride: Annotated[
        str | None,
        typer.Option(
            "--stride",
            "-s",
            help="Stride N, or one per axis (HxW; DxHxW for a volume). Default 2, assumed; for "
            "a 1-D kernel of even size k >= 4, k/2.",
        ),
    ] = None,
    layout: Annotated[
        str, typer.Option("--layout", help=f"Weight layout: {', '.join(LAYOUTS)}.")
    ] = "auto",
    layer: Annotated[
        list[str] | None,
        typer.Option(
            "--layer", help="Only layers whose name contains this (repeat to give several)."
        ),
    ] = None,
    allow_pickle: Annotated[
        bool,
        typer.Option("--allow-pickle", help="Allow PyTorch pickles (torch.load weights_only)."),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            metavar="FILE.py[:Class]",
            help="The PyTorch model's source, FILE.py or FILE.py:Class: each key's layer "
            "(kind, stride) is read from it statically, never imported.",
        ),
    ] = None,
    graph_input: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="ONNX models: the tensor the image path starts from (default: the only 4-D "
            "graph input).",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Channels to name per layer.")] = 3,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    png: Annotated[
        Path | None, typer.Option("--png", help="Write per-layer phase-gain heatmaps here.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the PNG.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a layer is above --max-imbalance.")
    ] = False,
    max_imbalance: Annotated[
        float, typer.Option("--max-imbalance", help="Threshold for --check.")
    ] = 0.01,
    max_size: Annotated[
        float,
        typer.Option(
            "--max-size",
            help=f"Largest checkpoint read, in GiB (default {MAX_LOAD_BYTES >> 30}).",
            show_default=False,
        ),
    ] = MAX_LOAD_BYTES / (1 << 30),
) -> None:
    with handle_errors():
        if not 1 <= top <= 1000:
            raise UsageError(f"--top must be from 1 to 1000, got {top}")
        if not (max_imbalance >= 0 and math.isfinite(max_imbalance)):
            raise UsageError(f"--max-imbalance must be a finite number >= 0, got {max_imbalance}")
        if not (max_size > 0 and math.isfinite(max_size)):
            raise UsageError(f"--max-size must be a positive number of GiB, got {max_size}")
        s = _stride(stride) if stride is not None else None
        if png is not None:
            check_writable(png, force=force)
        model_source, model_class = _split_source(source)
        result = inspect_weights(
            checkpoint,
            stride=s,
            layout=layout,
            layer=layer,
            allow_pickle=allow_pickle,
            top=top,
            model_source=model_source,
            model_class=model_class,
            graph_input=graph_input,
            max_bytes=int(max_size * (1 << 30)),
        )
        if png is not None:
            from ..render.weights_png import weights_png

            save_png(weights_png(result), png, force=force)
        _emit(result, fmt, max_imbalance, None if png is None else str(png))
        if check and any(not math.isfinite(v) or v > max_imbalance for v in result.gated()):
            raise typer.Exit(1)


def _stride(text: str) -> int | tuple[int, ...]:
    """``--stride``: N (every axis), or one value per axis (HxW, DxHxW)."""
    n = text.lower().count("x") + 1
    if n > 3:
        raise UsageError(f"--stride is N, HxW or DxHxW, got {text!r}")
    values = parse_sizes(text, n, "--stride")
    return values[0] if n == 1 else values


def _split_source(source: str | None) -> tuple[str | None, str | None]:
    """``models.py:Generator`` → (``models.py``, ``Generator``)."""
    if source is None:
        return None, None
    path, sep, cls = source.rpartition(":")
    if sep and path and cls.isidentifier():
        return path, cls
    if sep and path and not cls:
        return path, None
    return source, None


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _fmt(v: float) -> str:
    return "inf" if not math.isfinite(v) else f"{v:.4g}"


def _emit(result: InspectResult, fmt: Format, max_imbalance: float, png: str | None) -> None:
    if fmt == Format.json:
        write_stdout(
            dumps(
                envelope(
                    "inspect",
                    path=result.path,
                    max_imbalance=max_imbalance,
                    layers=[r.as_dict() for r in result.layers],
                    chain=result.chain,
                    skipped=result.skipped,
                    skipped_reasons=result.skipped_reasons,
                    source=result.source,
                    png=png,
                )
            )
        )
        return
    from ..render.layout import Column

    columns = [
        Column("layer"),
        Column("shape (layout)"),
        Column("stride"),
        Column("imbalance (per axis)"),
        Column("verdict", bare=True),
        Column("top channels", notes=True),
    ]
    rows: list[list[Any]] = []
    for r in result.layers:
        style = {"balanced": "green", "nearly balanced": "yellow"}.get(r.verdict, "bold red")
        stride = "x".join(map(str, r.stride)) + ("?" if r.stride_assumed else "")
        per_axis = " / ".join(_fmt(v) for v in (r.imbalance_axes or (r.imbalance_y, r.imbalance_x)))
        tops = ", ".join(f"{c} ({share:.0%})" for c, share in r.top_channels)
        rows.append(
            [
                display(r.name),
                f"{'x'.join(map(str, r.shape))} ({r.layout})",
                stride,
                f"{_fmt(r.imbalance)} ({per_axis})",
                (r.verdict, style),
                tops,
            ]
        )
    if result.layers:
        show_table(columns, rows)
    else:
        show(
            "no transposed or sub-pixel convolution: no kernel of its own paints a lattice "
            "(resizing and convolutions)"
        )
    if result.chain and "reaches_output" in result.chain and not result.chain["layers"]:
        show(f"output: not followed (stopped at {display(result.chain['stopped'])})")
    elif result.chain and "reaches_output" in result.chain:
        c = result.chain
        imb = _fmt(c["imbalance"] if c["imbalance"] is not None else math.inf)
        where = "output" if c["reaches_output"] else f"path up to {c['layers'][-1]}"
        show(
            f"{where}: period {'x'.join(map(str, c['period']))}, imbalance {imb}, {c['verdict']} "
            f"(through {' -> '.join(map(display, c['layers']))}; linear: activations and norms "
            "left out)"
        )
        if c["stopped"]:
            show(f"path stopped at {display(c['stopped'])}", style="dim")
    elif result.chain:
        c = result.chain
        show(
            f"chain {' -> '.join(map(display, c['layers']))}: "
            f"period {'x'.join(map(str, c['period']))}, "
            f"imbalance {_fmt(c['imbalance'] if c['imbalance'] is not None else math.inf)} "
            "(linear: activations and norms between layers left out)"
        )
    if result.source is not None:
        src = result.source
        where = (
            f"the graph of {src['path']} from {src['input']!r} to {src['output']!r} (parsed, "
            "never run)"
            if src.get("graph")
            else f"{src['path']}:{src['class']} (read statically, never imported)"
        )
        show(
            f"layers from {where}: "
            f"{_n(len(result.layers), 'upsampler')} analysed, each with its own stride, "
            f"{_n(len(result.skipped), 'other 4-D weight')} skipped",
            style="dim",
        )
        followed = set(result.chain["layers"]) if result.chain else set()
        for name in result.skipped[:12]:
            why = result.skipped_reasons.get(name, "")
            if name in followed:
                why += " (its weights are in the output path)"
            show(f"  skipped {display(name)}: {why}", style="dim")
        if len(result.skipped) > 12:
            show(f"  ... and {len(result.skipped) - 12} more", style="dim")
    elif result.skipped:
        by_name = [n for n in result.skipped if "not named" in result.skipped_reasons.get(n, "")]
        if by_name:
            show(
                f"not upsamplers by name ({len(by_name)} 4-D arrays skipped; "
                "--source or --layer to include): " + ", ".join(map(display, by_name[:6])),
                style="dim",
            )
        for name in [n for n in result.skipped if n not in by_name][:12]:
            why = result.skipped_reasons.get(name, "")
            show(f"  skipped {display(name)}: {why}", style="dim")
    assumed = any(r.stride_assumed for r in result.layers)
    show(
        "imbalance = checkerboard energy / mean energy of the constant-input response "
        "(0 balanced; about s*s-1 for random weights)"
        + (
            "; ? = stride assumed (2; k/2 for a 1-D kernel of even k), pass --stride"
            if assumed
            else ""
        ),
        style="dim",
    )
    if png:
        show(f"wrote {png}", style="dim")
