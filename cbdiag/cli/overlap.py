"""``cbdiag overlap``: exact overlap maps from layer parameters, presets or a layer list."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..images import check_writable, save_png
from ..layers import (
    PRESETS,
    Layer,
    deconv,
    parse_layers,
    parse_pair,
    parse_sizes,
    preset,
    preset_dims,
)
from ..overlap import OverlapResult, overlap_map
from ..report import dumps, envelope
from ..report.overlap import overlap_json
from ._common import Format, handle_errors, out_console, show_table, write_stdout

HELP = """Exact overlap (path-count) map of a transposed convolution or a whole stack.

Counts, for every output pixel, the input taps (paths) that reach it, with exact PyTorch or
TensorFlow semantics; shows the interior pattern, its period and max/min ratio, holes, the
border, and how to fix it.

One layer: --kernel 3 --stride 2 [--padding 1 --output-padding 1 --dilation 1]; per-axis
values as HxW (--kernel 3x4). A stack: --layers "2x deconv k3 s2 p1 op1, conv k7 p3 reflect"
or --preset NAME (dcgan, cyclegan, pix2pixhd, resize-conv, subpixel, stylegan2; the vocoders
hifigan-v1 and melgan are 1-D, the volume decoders monai-unet and nnunet 3-D). --dims 1 maps a
1-D signal path (ConvTranspose1d: vocoders, values N), --dims 3 a volume (ConvTranspose3d,
values N or DxHxW); a preset brings its own. A model:
--model model.onnx (optional onnx package; parsed, never run) maps its image path from --input
(default: the only 4-D input); merges (skips) sum their branches' path counts.

Layer syntax: layers separated by commas; an optional "Nx" prefix repeats a layer, or a group
in parentheses: "2x (nearest x2, conv k3 p1)". deconv/conv take kN sN pN opN dN (N or HxW),
"same"/"valid" for the TensorFlow rule, and zeros/reflect/replicate/circular padding modes
(conv); nearest/bilinear/shuffle take a factor "x2"; blur N (binomial, N taps) and box N are
fixed filters with same-size output.

Exit codes: 0 ran (with --check: even), 1 with --check and an uneven or holed interior,
2 bad input."""


class Framework(str, Enum):
    torch = "torch"
    tf = "tf"


class TfPadding(str, Enum):
    same = "same"
    valid = "valid"


def _single_layer(
    kernel: str,
    stride: str | None,
    padding: str | None,
    output_padding: str | None,
    dilation: str | None,
    framework: Framework | None,
    tf_padding: TfPadding | None,
    gradient: bool,
    dims: int = 2,
) -> Layer:
    if framework == Framework.torch and tf_padding is not None:
        raise UsageError("--tf-padding needs --framework tf")
    tf = framework == Framework.tf or tf_padding is not None
    if tf and (padding is not None or output_padding is not None):
        raise UsageError(
            "--padding/--output-padding are PyTorch options; with --framework tf use "
            "--tf-padding same|valid"
        )
    if gradient and output_padding is not None:
        raise UsageError("--output-padding applies to transposed convolutions, not --gradient")
    return deconv(
        parse_sizes(kernel, dims, "--kernel"),
        parse_sizes(stride or "1", dims, "--stride"),
        padding=parse_sizes(padding or "0", dims, "--padding"),
        output_padding=parse_sizes(output_padding or "0", dims, "--output-padding"),
        dilation=parse_sizes(dilation or "1", dims, "--dilation"),
        tf_padding=(tf_padding.value if tf_padding else "same") if tf else None,
        kind="conv" if gradient else "deconv",
        dims=dims,
    )


def build_layers(
    *,
    kernel: str | None = None,
    stride: str | None = None,
    padding: str | None = None,
    output_padding: str | None = None,
    dilation: str | None = None,
    framework: Framework | None = None,
    tf_padding: TfPadding | None = None,
    layers: str | None = None,
    preset_name: str | None = None,
    gradient: bool = False,
    dims: int = 2,
) -> list[Layer]:
    """Turn the command's options into a layer list (exactly one way of giving layers)."""
    single = [
        ("--kernel", kernel),
        ("--stride", stride),
        ("--padding", padding),
        ("--output-padding", output_padding),
        ("--dilation", dilation),
        ("--framework", framework),
        ("--tf-padding", tf_padding),
    ]
    given_single = [name for name, v in single if v is not None]
    ways = sum(1 for v in (layers, preset_name) if v is not None) + (1 if given_single else 0)
    if ways > 1:
        named = [n for n, v in (("--layers", layers), ("--preset", preset_name)) if v is not None]
        raise UsageError(
            "give one layer description: --kernel/--stride..., --layers or --preset "
            f"(got {', '.join(given_single + named)})"
        )
    if layers is not None:
        return parse_layers(layers, dims)
    if preset_name is not None:
        return preset(preset_name, dims)
    if kernel is None:
        if given_single:
            raise UsageError(f"{given_single[0]} needs --kernel")
        raise UsageError('give --kernel K --stride S, --layers "..." or --preset NAME')
    return [
        _single_layer(
            kernel, stride, padding, output_padding, dilation, framework, tf_padding, gradient, dims
        )
    ]


def overlap(
    kernel: Annotated[
        str | None,
        typer.Option("--kernel", "-k", help="Kernel size, N or HxW.", show_default=False),
    ] = None,
    stride: Annotated[
        str | None, typer.Option("--stride", "-s", help="Stride, N or HxW (default 1).")
    ] = None,
    padding: Annotated[
        str | None, typer.Option("--padding", "-p", help="PyTorch padding, N or HxW (default 0).")
    ] = None,
    output_padding: Annotated[
        str | None,
        typer.Option("--output-padding", help="PyTorch output_padding, N or HxW (default 0)."),
    ] = None,
    dilation: Annotated[
        str | None, typer.Option("--dilation", "-d", help="Dilation, N or HxW (default 1).")
    ] = None,
    framework: Annotated[
        Framework | None,
        typer.Option("--framework", help="Padding semantics: torch (default) or tf (Keras)."),
    ] = None,
    tf_padding: Annotated[
        TfPadding | None,
        typer.Option(
            "--tf-padding", help="TensorFlow/Keras padding rule (implies --framework tf)."
        ),
    ] = None,
    layers: Annotated[
        list[str] | None,
        typer.Option(
            "--layers",
            "-l",
            help='A layer stack, e.g. "2x deconv k3 s2 p1 op1, conv k7 p3" (given again: the '
            "layers follow, in order).",
        ),
    ] = None,
    preset_name: Annotated[
        str | None,
        typer.Option("--preset", help=f"A named generator: {', '.join(PRESETS)}."),
    ] = None,
    input_size: Annotated[
        str | None,
        typer.Option(
            "--input-size",
            "-i",
            help="Input size N or HxW (default: enough to show both borders and the interior).",
        ),
    ] = None,
    gradient: Annotated[
        bool,
        typer.Option(
            "--gradient",
            help="Map the gradient of strided convolutions instead (their backward pass is a "
            "transposed convolution): --kernel/--stride then describe a Conv layer.",
        ),
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write a labelled heatmap PNG to this file.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --png file.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 when the interior is uneven or has holes (for CI)."),
    ] = False,
    list_presets: Annotated[
        bool, typer.Option("--list-presets", help="List the presets and exit.")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="An ONNX model (optional onnx package): the map of its image path, each node's "
            "parameters from the graph, at the graph's input size (or --input-size).",
        ),
    ] = None,
    graph_input: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="With --model: the tensor the path starts from (default: the only "
            "4-D graph input).",
        ),
    ] = None,
    dims: Annotated[
        int | None,
        typer.Option(
            "--dims",
            help="Spatial axes: 1 for a signal (ConvTranspose1d: vocoders), 2 for an image "
            "(the default), 3 for a volume (ConvTranspose3d); a preset brings its own.",
            show_default=False,
        ),
    ] = None,
) -> None:
    with handle_errors():
        if list_presets:
            from ..render.layout import Column

            show_table(
                [Column("preset"), Column("layers"), Column("what it is", notes=True)],
                [[name, spec, desc] for name, (spec, desc) in PRESETS.items()],
            )
            return
        if dims is not None and dims not in (1, 2, 3):
            raise UsageError(f"--dims must be 1, 2 or 3, got {dims}")
        if model is not None:
            if dims not in (None, 2):
                raise UsageError("--model maps an ONNX graph's 2-D image path: drop --dims")
            given = [
                n
                for n, v in (
                    ("--kernel", kernel), ("--stride", stride), ("--padding", padding),
                    ("--output-padding", output_padding), ("--dilation", dilation),
                    ("--framework", framework), ("--tf-padding", tf_padding),
                    ("--layers", layers), ("--preset", preset_name),
                )
                if v is not None
            ] + (["--gradient"] if gradient else [])  # fmt: skip
            if given:
                raise UsageError(f"--model gives the layers: drop {', '.join(given)}")
            if png is not None:
                check_writable(png, force=force)
            _model(model, graph_input, input_size, fmt, png, force, check)
            return
        if graph_input is not None:
            raise UsageError("--input names a tensor of an ONNX graph: use it with --model")
        joined = ", ".join(layers) if layers else None  # -l A -l B stacks A then B
        if dims is None:
            dims = preset_dims(preset_name) if preset_name is not None else 2
        stack = build_layers(
            kernel=kernel,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
            framework=framework,
            tf_padding=tf_padding,
            layers=joined,
            preset_name=preset_name,
            gradient=gradient,
            dims=dims,
        )
        if png is not None:
            check_writable(png, force=force)
        size = parse_sizes(input_size, dims, "--input-size") if input_size is not None else None
        result = overlap_map(stack, size, gradient=gradient)
        png_path = None
        if png is not None:
            from ..render import overlap_nd, overlap_png

            draw = overlap_png.render_png if dims == 2 else overlap_nd.render_png
            png_path = str(save_png(draw(result), png, force=force))
        _emit(result, fmt, png_path)
        if check and (not result.even or result.holes):
            raise typer.Exit(1)


def _emit(result: OverlapResult, fmt: Format, png_path: str | None) -> None:
    if fmt == Format.json:
        write_stdout(dumps(overlap_json(result, png=png_path)))
        return
    from ..render.layout import width_of

    console = out_console()
    if result.ndim != 2:
        from ..render import overlap_nd

        console.print(overlap_nd.render(result, width=width_of(console)))
        if png_path:
            console.print(f"wrote {png_path}", style="dim")
        return
    from ..render.overlap_text import render

    # 256 colours or more: with 16, the interior's low values get the border's grey, so the
    # border is marked with · as in a pipe
    color = (
        console.is_terminal
        and not console.no_color
        and console.color_system in ("256", "truecolor")
    )
    console.print(render(result, width=width_of(console), color=color))
    if png_path:
        console.print(f"wrote {png_path}", style="dim")


def _model(
    path: Path,
    graph_input: str | None,
    input_size: str | None,
    fmt: Format,
    png: Path | None,
    force: bool,
    check: bool,
) -> None:
    from ..graph import ModelError, image_path, read_model

    m = read_model(path)
    gp = image_path(m, graph_input)
    if input_size is not None:
        size = parse_pair(input_size, "--input-size")
    elif gp.input_size is not None:
        size = gp.input_size
    else:
        raise UsageError(
            f"{path}: the size of {gp.input!r} is not fixed in the graph; pass --input-size"
        )
    if not gp.layers:
        raise ModelError(f"{path}: no spatial layer on the path from {gp.input!r}")
    nodes = [
        {"layer": i + 1, "node": n.name, "op": n.op, "spec": n.layer.spec if n.layer else None}
        for i, n in enumerate(gp.layers)
    ]
    info = {
        "path": str(path),
        "input": gp.input,
        "output": gp.output,
        "nodes": nodes,
        "merges": [n.name for n in gp.nodes if n.role == "merge"],
        "passed": sorted({n.op for n in gp.nodes if n.role == "keep"}),
    }
    if gp.linear:
        result = overlap_map([n.layer for n in gp.layers if n.layer is not None], size)
        _check_size(gp, size, result.shape, path)
        png_path = None
        if png is not None:
            from ..render.overlap_png import render_png

            png_path = str(save_png(render_png(result), png, force=force))
        if fmt == Format.json:
            write_stdout(dumps({**overlap_json(result, png=png_path), "model": info}))
        else:
            _emit(result, fmt, png_path)
            _node_table(info)
        if check and (not result.even or result.holes):
            raise typer.Exit(1)
        return
    from ..graph import merged_map

    mm = merged_map(gp, size)
    _check_size(gp, size, mm.shape, path)
    if png is not None:
        raise UsageError("--png draws the map of a path without merges")
    if fmt == Format.json:
        write_stdout(dumps(envelope("overlap", mode="forward", **mm.as_dict(), model=info)))
    else:
        from ..render.layout import emit, reflow, width_of

        console = out_console()
        emit(console, reflow(mm.text(input_size=size), width_of(console)))
        _node_table(info)
    if check and (not mm.even or mm.holes):
        raise typer.Exit(1)


def _check_size(gp: Any, size: tuple[int, int], shape: tuple[int, ...], path: Path) -> None:
    from ..graph import ModelError

    if gp.input_size == tuple(size) and gp.output_size is not None and gp.output_size != shape:
        raise ModelError(
            f"{path}: the graph declares an output of {gp.output_size[0]}x{gp.output_size[1]}, "
            f"the path's layers give {shape[0]}x{shape[1]} (a node modelled wrongly?)"
        )


def _node_table(info: dict[str, Any]) -> None:
    from ..render.layout import emit, paragraph, reflow, width_of, wrap

    console = out_console()
    width = width_of(console)
    lines = paragraph(
        f"layers from the graph of {info['path']} ({info['input']!r} -> {info['output']!r}; "
        "parsed, never run):",
        width,
        rest="  ",
    )
    for n in info["nodes"]:  # the layer string is one value: never split
        pieces = [f"{n['layer']:>3} ", n["node"], f"({n['op']}):", n["spec"]]
        lines += wrap(pieces, width, "  ", "        ")
    if info["merges"]:
        lines += reflow(f"  merges (branches summed): {', '.join(info['merges'])}", width)
    emit(console, lines)
    if info["passed"]:
        emit(console, reflow(f"  geometry kept by: {', '.join(info['passed'])}", width), "dim")
