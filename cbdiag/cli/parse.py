"""A small command-line parser, for the command that must start fast.

``cbdiag lint`` runs in pre-commit hooks on a few files at a time, where start-up is most of the
cost. Its options are parsed here, without the command-line framework the other commands use and
without :mod:`argparse` (whose help formatter and message catalogue lookups import ``shutil``,
the compression modules and ``locale`` before anything is parsed: about a tenth of the run).
The grammar is the usual one: ``--name VALUE``, ``--name=VALUE``, ``-n VALUE``, ``-nVALUE``,
flags that take no value, repeatable options, ``--`` ending the options and ``-`` an operand.
Help is laid out like the other commands': ``Usage:``, the description in paragraphs, then
``Options:``, with lines broken only between words. Usage errors are one ``error:`` line and
exit 2, as everywhere in cbdiag."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


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


class Option:
    """One option (or, with no ``flags``, the operands) of a :class:`Parser`."""

    def __init__(
        self,
        flags: tuple[str, ...],
        dest: str,
        action: str,
        metavar: str | None,
        help: str,
        type: Callable[[str], Any] | None,
        default: Any,
    ) -> None:
        self.flags = flags
        self.dest = dest
        self.action = action  # "store", "append", "store_true" or "operands"
        self.metavar = metavar
        self.help = help
        self.type = type
        self.default = default

    @property
    def takes_value(self) -> bool:
        return self.action in ("store", "append")

    @property
    def label(self) -> str:
        return "/".join(self.flags) if self.flags else (self.metavar or self.dest)


class Namespace:
    """The parsed options, as attributes (``vars()`` gives them as keyword arguments)."""


class Parser:
    """The options of ``cbdiag NAME`` and their help."""

    def __init__(self, name: str, description: str, usage: str) -> None:
        self.prog = f"cbdiag {name}"
        self.description = description
        self.usage = usage
        self.options: list[Option] = []
        self._by_flag: dict[str, Option] = {}
        self.add_argument("-h", "--help", action="store_true", help="Show this message and exit.")

    def add_argument(
        self,
        *flags: str,
        action: str = "store",
        nargs: str | None = None,
        metavar: str | None = None,
        help: str = "",
        type: Callable[[str], Any] | None = None,
        default: Any = None,
    ) -> None:
        """An option (``"--name"``, ``"-n"``), or the operands (one name, ``nargs="*"``)."""
        if flags and not flags[0].startswith("-"):
            if nargs != "*" or len(flags) != 1:
                raise ValueError("operands are declared as one name with nargs='*'")
            opt = Option((), flags[0], "operands", metavar, help, None, [])
        else:
            long = [f for f in flags if f.startswith("--")]
            dest = (long[0] if long else flags[0])[1:].lstrip("-").replace("-", "_")
            if action not in ("store", "append", "store_true"):
                raise ValueError(f"unknown action {action!r}")
            if action == "store_true":
                default = False
            opt = Option(tuple(flags), dest, action, metavar, help, type, default)
            for f in flags:
                self._by_flag[f] = opt
        self.options.append(opt)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {' '.join(message.split())} (see '{self.prog} --help')\n")
        sys.exit(2)

    def _value(self, opt: Option, text: str) -> Any:
        if opt.type is None:
            return text
        try:
            return opt.type(text)
        except ValueError:
            kind = getattr(opt.type, "__name__", "")
            self.error(f"argument {opt.label}: invalid {kind} value: {text!r}")

    def parse(self, argv: Sequence[str]) -> Namespace:
        """Parse ``argv``; ``-h``/``--help`` prints the help and exits 0."""
        argv = list(argv)
        options = argv[: argv.index("--")] if "--" in argv else argv
        if any(a in ("-h", "--help") for a in options):
            sys.stdout.write(self.format_help())
            sys.exit(0)
        values: dict[str, Any] = {o.dest: o.default for o in self.options if o.dest != "help"}
        operands: list[str] = []
        i = 0
        while i < len(argv):
            arg = argv[i]
            i += 1
            if arg == "--":
                operands += argv[i:]
                break
            if arg == "-" or not arg.startswith("-") or _number(arg):
                operands.append(arg)
                continue
            attached: str | None = None
            if arg.startswith("--"):
                flag, eq, rest = arg.partition("=")
                if eq:
                    attached = rest
            elif arg[:2] in self._by_flag and len(arg) > 2:
                flag, attached = arg[:2], arg[2:]
            else:
                flag = arg
            opt = self._by_flag.get(flag)
            if opt is None:
                self.error(f"unrecognized arguments: {arg}")
            if not opt.takes_value:
                if attached is not None:
                    self.error(f"argument {opt.label}: ignored explicit argument {attached!r}")
                values[opt.dest] = True
                continue
            if attached is None:
                if i >= len(argv) or (
                    argv[i].startswith("-") and argv[i] != "-" and not _number(argv[i])
                ):
                    self.error(f"argument {opt.label}: expected one argument")
                attached = argv[i]
                i += 1
            value = self._value(opt, attached)
            if opt.action == "append":
                values[opt.dest] = [*(values[opt.dest] or []), value]
            else:
                values[opt.dest] = value
        for o in self.options:
            if o.action == "operands":
                values[o.dest] = operands
                break
        else:
            if operands:
                self.error(f"unrecognized arguments: {' '.join(operands)}")
        ns = Namespace()
        ns.__dict__.update(values)
        return ns

    def format_help(self) -> str:
        import textwrap

        width = help_width()
        out = [f"Usage: {self.prog} {self.usage}", "", fill(self.description or "", width, "  ")]
        rows: list[tuple[str, str]] = []
        for opt in self.options:
            if not opt.flags:
                continue
            names = ", ".join(sorted(opt.flags, key=len))
            if opt.takes_value:
                names += f" {opt.metavar or opt.dest.upper()}"
            rows.append((names, opt.help))
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


def _number(arg: str) -> bool:
    """``-1`` or ``-0.5``: an operand or a value, not an option."""
    try:
        float(arg)
    except ValueError:
        return False
    return True
