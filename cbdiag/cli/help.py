"""Help pages as plain text that reads well at any width.

The help of every command is click's plain layout (no boxes, no ``<bool>`` for flags) with one
change: lines break only between words. Click's wrapper breaks after a hyphen and cuts a word
longer than the line, which splits ``--input-size`` or a layer string over two lines; here a
long word stays whole on its own line."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from typer.core import _click

_formatting: Any = _click.formatting
_textwrap: Any = getattr(_click, "_textwrap", None)
if _textwrap is None:  # pragma: no cover - typer versions that use click itself
    import importlib

    _textwrap = importlib.import_module(f"{_click.__name__}._textwrap")


class _WholeWords(_textwrap.TextWrapper):
    """Click's wrapper, breaking at spaces only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["break_on_hyphens"] = False
        kwargs["break_long_words"] = False
        super().__init__(*args, **kwargs)

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        textwrap.TextWrapper._handle_long_word(self, reversed_chunks, cur_line, cur_len, width)


@contextmanager
def _whole_words() -> Iterator[None]:
    saved = _textwrap.TextWrapper
    _textwrap.TextWrapper = _WholeWords
    try:
        yield
    finally:
        _textwrap.TextWrapper = saved


class HelpFormatter(_formatting.HelpFormatter):
    """Click's help formatter with line breaks between words only."""

    def write_usage(self, *args: Any, **kwargs: Any) -> None:
        with _whole_words():
            super().write_usage(*args, **kwargs)

    def write_text(self, *args: Any, **kwargs: Any) -> None:
        with _whole_words():
            super().write_text(*args, **kwargs)

    def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
        rows = [(plain_metavar(term), text) for term, text in rows]
        with _whole_words():
            super().write_dl(rows, *args, **kwargs)


#: How a value is named in a help page: click's names, not typer's ``<type>`` placeholders.
_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "file": "FILE"}


def plain_metavar(term: str) -> str:
    """``--glob <str>`` as ``--glob TEXT``, ``--format <text|json>`` as ``--format
    [text|json]``, an argument's ``PATHS... <list[str]>`` as ``PATHS...``.

    >>> plain_metavar("-f, --format <text|json>"), plain_metavar("PATHS... <list[str]>")
    ('-f, --format [text|json]', 'PATHS...')
    """

    def name(m: re.Match[str]) -> str:
        label = m.group(1)
        if label.startswith("list["):
            return ""
        if "|" in label:
            return f"[{label}]"
        return _NAMES.get(label, label.upper())

    return re.sub(r"\s*<([^<>]+)>", lambda m: (" " + name(m)) if name(m) else "", term)


class HelpContext(_click.Context):
    """The click context of every cbdiag command: help through :class:`HelpFormatter`."""

    formatter_class = HelpFormatter
