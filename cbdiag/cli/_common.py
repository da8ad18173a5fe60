"""Shared pieces of the command-line layer: consoles, error mapping, output format."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from ..errors import CbdiagError
from ..files import display

TYPE_CHECKING = False
if TYPE_CHECKING:  # rich is imported by the commands that print with it
    from typing import IO, Any, NoReturn

    from rich.console import Console


class Format(str, Enum):
    """``--format`` values every command accepts."""

    text = "text"
    json = "json"


def out_console(width: int | None = None, file: IO[str] | None = None) -> Console:
    """Console for results (stdout, or ``file``). Colour only on a terminal; ``NO_COLOR``
    honoured by rich.

    Markup and emoji codes are off: text that holds file or layer names (``[/]``,
    ``:smile:``) is printed as it is, never interpreted. Styles are given as ``style=``.
    Soft wrap: the console never breaks or crops a line; the layout is done beforehand by
    :mod:`cbdiag.render.layout`, which breaks lines between whole values only."""
    from rich.console import Console

    return Console(
        file=file, highlight=False, soft_wrap=True, width=width, markup=False, emoji=False
    )


def err_console() -> Console:
    """Console for status, warnings and summaries (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def show(text: str, style: str | None = None, rest: str = "  ") -> None:
    """Print a line of results on stdout, wrapped between whole values (``rest`` indents the
    continuation lines) at the width of :func:`cbdiag.render.layout.width_of`."""
    from ..render.layout import emit, paragraph, width_of

    console = out_console()
    lead = text[: len(text) - len(text.lstrip())]
    emit(console, paragraph(text, width_of(console), lead, lead + rest), style)


def show_table(columns: list[Any], rows: list[list[Any]], row_styles: Any = None) -> None:
    """Print a table on stdout laid out by :func:`cbdiag.render.layout.table`."""
    from ..render.layout import emit, table, width_of

    console = out_console()
    emit(console, table(columns, rows, width_of(console), row_styles=row_styles))


def status(message: str) -> None:
    """One status line on stderr (a summary, a note), dimmed on a colour terminal. Written
    directly, without rich: the linter's summary costs no import."""
    env = os.environ
    tty = sys.stderr.isatty() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    line = f"\x1b[2m{message}\x1b[0m" if tty else message
    try:
        sys.stderr.write(line + "\n")
    except UnicodeEncodeError:
        sys.stderr.write(line.encode("ascii", "backslashreplace").decode("ascii") + "\n")
    sys.stderr.flush()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    sys.stderr.write(f"error: {display(' '.join(str(message).split()), limit=4000)}\n")
    sys.stderr.flush()
    raise SystemExit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map :class:`CbdiagError` (and unexpected errors) to one line on stderr and exit 2."""
    try:
        yield
    except CbdiagError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # an internal error still gets one line, not a traceback
        typer = sys.modules.get("typer")
        if typer is not None and isinstance(exc, typer.Exit):  # a command's own exit code
            raise
        if os.environ.get("CBDIAG_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set CBDIAG_DEBUG=1 for a traceback)")


def write_stdout(text: str) -> None:
    """Write machine output to stdout exactly (no rich markup). A file name that is not valid
    UTF-8 is written back as the bytes it was made of."""
    text = text if text.endswith("\n") else text + "\n"
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        buf = getattr(sys.stdout, "buffer", None)
        if buf is None:
            raise
        sys.stdout.flush()
        buf.write(text.encode(sys.stdout.encoding or "utf-8", "surrogateescape"))
    sys.stdout.flush()
