"""Command-line interface: ``cbdiag`` (a thin typer layer over the core)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Longest run of digits accepted in an argument: Python refuses to convert more than 4,300
#: and converting long ones is slow; no value of any option comes near this.
MAX_DIGITS = 100
_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from .root import app

        return app
    raise AttributeError(f"module 'cbdiag.cli' has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: every usage error becomes ``error: <one line>``, exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(args):
        digits = max((len(m) for m in _DIGITS.findall(arg)), default=0)
        if digits > MAX_DIGITS:
            what = (
                f"the value of {args[i - 1]}"
                if i and args[i - 1].startswith("-")
                else "an argument"
            )
            sys.stderr.write(
                f"error: {what} holds a number of {digits:,} digits, over the limit of "
                f"{MAX_DIGITS} (no size, count or option of cbdiag needs more)\n"
            )
            sys.exit(2)
    if args in (["--version"], ["-V"]):  # the one answer that needs no command-line parser
        from .._version import __version__

        sys.stdout.write(f"cbdiag {__version__}\n")
        sys.exit(0)
    if args[:1] == ["lint"]:  # parsed by the standard library: no framework to import
        from ._common import handle_errors
        from .lint import main as lint_main

        with handle_errors():
            lint_main(args[1:])
        sys.exit(0)
    from .root import app

    try:
        rv = app(args=args, prog_name="cbdiag", standalone_mode=False)
    except Exception as exc:
        fmt = getattr(exc, "format_message", None)
        code = getattr(exc, "exit_code", 2)
        if type(exc).__name__ == "NoArgsIsHelpError" and callable(fmt):
            sys.stdout.write(fmt() + "\n")
            sys.exit(0)
        if callable(fmt) and isinstance(code, int):  # click / typer usage errors
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            sys.stderr.write(f"error: {' '.join(str(fmt()).split())}{where}\n")
            sys.exit(2 if code == 2 or code == 1 else code)
        if type(exc).__name__ == "Abort":
            sys.stderr.write("error: aborted\n")
            sys.exit(130)
        if os.environ.get("CBDIAG_DEBUG"):
            raise
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)
