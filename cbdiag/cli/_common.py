"""Shared pieces of the command-line layer: consoles, error mapping, output format."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import NoReturn

import typer
from rich.console import Console

from ..errors import CbdiagError
from ..files import display


class Format(str, Enum):
    """``--format`` values every command accepts."""

    text = "text"
    json = "json"


def out_console(width: int | None = None) -> Console:
    """Console for results (stdout). Colour only on a terminal; ``NO_COLOR`` honoured by rich.

    Markup and emoji codes are off: text that holds file or layer names (``[/]``,
    ``:smile:``) is printed as it is, never interpreted. Styles are given as ``style=``."""
    return Console(highlight=False, soft_wrap=False, width=width, markup=False, emoji=False)


def err_console() -> Console:
    """Console for status, warnings and summaries (stderr)."""
    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    sys.stderr.write(f"error: {display(' '.join(str(message).split()), limit=4000)}\n")
    sys.stderr.flush()
    raise typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Map :class:`CbdiagError` (and unexpected errors) to one line on stderr and exit 2."""
    try:
        yield
    except typer.Exit:
        raise
    except CbdiagError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # an internal error still gets one line, not a traceback
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
