"""``cbdiag probe``: run an ONNX model on constant, smooth or latent inputs; score the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..files import display
from ..layers import parse_pair
from ..report import dumps, envelope
from ._common import Format, handle_errors, show, show_table, write_stdout

HELP = """Run an ONNX model on inputs that show its fixed pattern and score the outputs.

Needs the optional onnxruntime and onnx packages (pip install 'cbdiag[probe]'). The model runs
in onnxruntime on the CPU; no Python code of the model's is run, and external data must lie in
the model's folder. Probes: "constant" (one mid-grey image, or a zero latent for a generator)
and either "smooth" (image models: --samples random smooth images) or "latent" (generators:
--samples standard normal latents), pooled. Each output is mapped to [0, 1] from
--output-range (default -1,1) and scored like an image: the amplitude of its periodic pattern
in grey levels of 8-bit (RMS), its significance and period.

Exit codes: 0 ran (with --check: nothing flagged), 1 with --check and a probe flagged,
2 bad input or a model that cannot be run."""


def _range(text: str, what: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lo, hi = (float(x) for x in parts)
    except ValueError:
        raise UsageError(f"{what} must be LO,HI (e.g. -1,1), got {text!r}") from None
    if not (lo < hi) or any(v != v or abs(v) == float("inf") for v in (lo, hi)):
        raise UsageError(f"{what} must be two finite numbers with LO < HI, got {text!r}")
    return lo, hi


def probe(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="An ONNX model file.", show_default=False)
    ],
    graph_input: Annotated[
        str | None, typer.Option("--input", help="The input to feed (default: the only one).")
    ] = None,
    input_size: Annotated[
        str | None,
        typer.Option("--input-size", "-i", help="H or HxW for an image input whose size is free."),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", "-n", help="Smooth images or latents per pooled probe.")
    ] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the probe inputs.")] = 0,
    output_range: Annotated[
        str, typer.Option("--output-range", help="The model's output range LO,HI.")
    ] = "-1,1",
    input_range: Annotated[
        str, typer.Option("--input-range", help="An image model's input range LO,HI.")
    ] = "-1,1",
    stride: Annotated[
        int | None, typer.Option("--stride", help="Only look for this period (2 to 32).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a probe is flagged (for CI).")
    ] = False,
) -> None:
    with handle_errors():
        from ..probe import probe_model

        size = parse_pair(input_size, "--input-size") if input_size is not None else None
        result = probe_model(
            model,
            input=graph_input,
            input_size=size,
            samples=samples,
            seed=seed,
            output_range=_range(output_range, "--output-range"),
            input_range=_range(input_range, "--input-range"),
            stride=stride,
        )
        if fmt == Format.json:
            write_stdout(
                dumps(
                    envelope(
                        "probe",
                        path=result.path,
                        input=result.input,
                        input_shape=result.input_shape,
                        kind=result.kind,
                        output=result.output,
                        output_shape=result.output_shape,
                        runtime=result.runtime,
                        probes=[r.as_dict() for r in result.rows],
                        flagged=result.flagged,
                    )
                )
            )
        else:
            from ..render.layout import Column

            shape = "x".join(map(str, result.input_shape))
            oshape = "x".join(map(str, result.output_shape))
            show(
                f"probe {display(str(result.path))}: input {result.input!r} {shape} "
                f"({result.kind}), output {result.output!r} {oshape} (run by onnxruntime on "
                "the CPU)"
            )
            columns = [
                Column("probe"),
                Column("samples"),
                Column("period", right=True),
                Column("amplitude (grey levels)", right=True),
                Column("sigma", right=True),
                Column("flag", bare=True),
            ]
            rows: list[list[Any]] = [
                [
                    r.name,
                    f"{r.samples}{' pooled' if r.pooled else ''}",
                    "-" if r.period is None else str(r.period),
                    f"{r.amplitude:.3g}",
                    f"{r.significance:.3g}",
                    ("FLAGGED", "bold red") if r.flagged else ("ok", "green"),
                ]
                for r in result.rows
            ]
            show_table(columns, rows)
        if check and result.flagged:
            raise typer.Exit(1)
