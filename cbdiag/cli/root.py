"""The root ``cbdiag`` command: one sub-command per capability, each imported when it runs.

``cbdiag --help`` lists the sub-commands from the table below without importing any of them,
and ``cbdiag lint`` imports the linter only (no numpy, no image readers), so a pre-commit run on
a handful of files is not dominated by start-up."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from .._version import __version__
from .help import HelpContext


class Sub(NamedTuple):
    """A sub-command: its module (under ``cbdiag.cli``), the function, the one-line help."""

    module: str
    function: str
    short_help: str
    no_args_is_help: bool = False


COMMANDS: dict[str, Sub] = {
    "overlap": Sub(
        "overlap",
        "overlap",
        "Exact overlap (path-count) maps of a layer or a whole generator.",
        no_args_is_help=True,
    ),
    "generate": Sub(
        "generate",
        "generate",
        "Outputs of untrained generators with different upsamplers (PNG grid, panel).",
    ),
    "score": Sub(
        "score",
        "score",
        "The periodic pattern of images in grey levels, per image and pooled; a CI gate.",
    ),
    "inspect": Sub(
        "inspect",
        "inspect",
        "Per-phase DC gains of upsampling kernels in a checkpoint (weights' checkerboard).",
    ),
    "probe": Sub(
        "probe",
        "probe",
        "Run an ONNX model on constant, smooth or latent inputs and score its outputs.",
        no_args_is_help=True,
    ),
    "lint": Sub(
        "lint", "lint", "Lint model code for checkerboard-prone upsampling (CI, pre-commit, SARIF)."
    ),
    "demo": Sub(
        "demo",
        "demo",
        "The whole story on built-in defaults: a report folder with figures and index.html.",
    ),
}

SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Command(TyperCommand):
    """A sub-command whose help is plain text wrapped at whole words (see :mod:`.help`)."""

    context_class = HelpContext


def _forward(name: str, sub: Sub, run: Any) -> Any:
    """A sub-command that hands its arguments, unparsed, to its own parser (``cbdiag lint``:
    see :mod:`.parse`)."""
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @single.command(
        name,
        cls=Command,
        short_help=sub.short_help,
        add_help_option=False,
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "help_option_names": [],
        },
    )
    def forward(ctx: typer.Context) -> None:
        run(list(ctx.args))

    command = typer.main.get_command(single)
    command.name = name
    return command


class Group(TyperGroup):
    """The root group: sub-commands are built from :data:`COMMANDS` when first asked for."""

    context_class = HelpContext

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        sub = COMMANDS.get(cmd_name)
        if sub is None:
            return None
        module = importlib.import_module(f".{sub.module}", __package__)
        if sub.module == "lint":
            return _forward(cmd_name, sub, module.main)
        single = typer.Typer(
            add_completion=False,
            pretty_exceptions_enable=False,
            rich_markup_mode=None,
        )
        single.command(
            cmd_name,
            cls=Command,
            help=module.HELP,
            short_help=sub.short_help,
            no_args_is_help=sub.no_args_is_help,
            context_settings=SETTINGS,
        )(getattr(module, sub.function))
        command = typer.main.get_command(single)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, sub.short_help) for name, sub in COMMANDS.items()])


app = typer.Typer(
    name="cbdiag",
    cls=Group,
    help=(
        "Diagnose checkerboard artifacts of transposed convolutions and other strided "
        "upsamplers: before training (from the architecture), after (from the images) and in CI."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=SETTINGS,
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
