"""A command-line parser from the standard library, for the command that must start fast.

``cbdiag lint`` runs in pre-commit hooks on a few files at a time, where start-up is most of the
cost; it is parsed with :mod:`argparse` (a few milliseconds to import) and laid out like the other
commands' help: ``Usage:``, the description in paragraphs, then ``Options:``, with lines broken
only between words. Usage errors are one ``error:`` line and exit 2, as everywhere in cbdiag."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn


def help_width() -> int:
    """The width help is wrapped to: the terminal's (or ``COLUMNS``), at most 100."""
    try:
        cols = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        try:
            cols = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError, AttributeError):
            cols = 80
    return max(min(cols, 100), 40) - 2


def fill(text: str, width: int, indent: str) -> str:
    """Paragraphs of ``text`` refilled to ``width``, broken only at spaces."""
    import textwrap

    paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    return "\n\n".join(
        textwrap.fill(
            p,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )
        for p in paras
    )


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` for ``cbdiag NAME``."""

    def __init__(self, name: str, description: str, usage: str) -> None:
        super().__init__(
            prog=f"cbdiag {name}",
            description=description,
            usage=usage,
            add_help=False,
            allow_abbrev=False,
        )
        self.add_argument("-h", "--help", action="store_true", help="Show this message and exit.")

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {' '.join(message.split())} (see '{self.prog} --help')\n")
        sys.exit(2)

    def format_help(self) -> str:
        import textwrap

        width = help_width()
        out = [f"Usage: {self.prog} {self.usage}", "", fill(self.description or "", width, "  ")]
        rows: list[tuple[str, str]] = []
        for action in self._actions:
            if not action.option_strings:
                continue
            names = ", ".join(sorted(action.option_strings, key=len))
            if action.nargs != 0:
                names += f" {action.metavar or action.dest.upper()}"
            rows.append((names, action.help or ""))
        left = min(max(len(n) for n, _ in rows) + 2, 30)
        out += ["", "Options:"]
        for names, text in rows:
            wrapped = textwrap.wrap(
                text, max(width - left - 2, 20), break_on_hyphens=False, break_long_words=False
            )
            if len(names) + 2 > left:
                out.append(f"  {names}")
                out += [" " * (left + 2) + w for w in wrapped]
            else:
                first, *rest = wrapped or [""]
                out.append(f"  {names.ljust(left)}{first}".rstrip())
                out += [" " * (left + 2) + w for w in rest]
        return "\n".join(out) + "\n"

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse ``argv``; ``-h``/``--help`` prints the help and exits 0."""
        options = list(argv)[: list(argv).index("--")] if "--" in argv else list(argv)
        if any(a in ("-h", "--help") for a in options):
            sys.stdout.write(self.format_help())
            sys.exit(0)
        ns = self.parse_args(list(argv))
        del ns.help
        return ns
