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


class Format(str, Enum):
    """``--format`` values every command accepts."""

    text = "text"
    json = "json"


def out_console(width: int | None = None) -> Console:
    """Console for results (stdout). Colour only on a terminal; ``NO_COLOR`` honoured by rich."""
    return Console(highlight=False, soft_wrap=False, width=width)


def err_console() -> Console:
    """Console for status, warnings and summaries (stderr)."""
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
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
    """Write machine output to stdout exactly (no rich markup)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
