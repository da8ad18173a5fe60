"""The root ``cbdiag`` command: one sub-command per capability."""

from __future__ import annotations

from typing import Annotated

import typer

from .._version import __version__
from . import demo as demo_cmd
from . import generate as generate_cmd
from . import inspect as inspect_cmd
from . import lint as lint_cmd
from . import overlap as overlap_cmd
from . import probe as probe_cmd
from . import score as score_cmd

app = typer.Typer(
    name="cbdiag",
    help=(
        "Diagnose checkerboard artifacts of transposed convolutions and other strided "
        "upsamplers: before training (from the architecture), after (from the images) and in CI."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbdiag {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = None,
) -> None:
    """Diagnose checkerboard artifacts of transposed convolutions and strided upsamplers."""


app.command(
    "overlap",
    help=overlap_cmd.HELP,
    short_help="Exact overlap (path-count) maps of a layer or a whole generator.",
    no_args_is_help=True,
)(overlap_cmd.overlap)

app.command(
    "generate",
    help=generate_cmd.HELP,
    short_help="Outputs of untrained generators with different upsamplers (PNG grid, panel).",
)(generate_cmd.generate)

app.command(
    "score",
    help=score_cmd.HELP,
    short_help="The periodic pattern of images in grey levels, per image and pooled; a CI gate.",
)(score_cmd.score)

app.command(
    "inspect",
    help=inspect_cmd.HELP,
    short_help="Per-phase DC gains of upsampling kernels in a checkpoint (weights' checkerboard).",
)(inspect_cmd.inspect)

app.command(
    "probe",
    help=probe_cmd.HELP,
    short_help="Run an ONNX model on constant, smooth or latent inputs and score its outputs.",
    no_args_is_help=True,
)(probe_cmd.probe)

app.command(
    "lint",
    help=lint_cmd.HELP,
    short_help="Lint model code for checkerboard-prone upsampling (CI, pre-commit, SARIF).",
)(lint_cmd.lint)

app.command(
    "demo",
    help=demo_cmd.HELP,
    short_help="The whole story on built-in defaults: a report folder with figures and index.html.",
)(demo_cmd.demo)
