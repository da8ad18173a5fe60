"""Text layout for the terminal, pipes and CI logs: lines are broken only between whole values.

Every command's text output is laid out here, never by the console: the console prints each
line as it is (no wrapping, no cropping), so a value is never cut or split over two lines.

* The width is ``COLUMNS`` when set, else the terminal's; in a pipe or a CI log without
  ``COLUMNS`` it is unlimited, and every table row and every note is one line (complete, and
  ``grep`` finds it).
* A table whose rows fit is printed as aligned columns. When only its last column (the notes)
  does not fit, that column is wrapped under itself, or, with less room, printed under its row.
  When the columns do not fit at all, each row becomes a record: its first cell on a line, then
  ``header: value`` pairs packed into lines.
* Prose (notes, fixes, legends) is wrapped between *units*: words, except that a quoted span
  (``'deconv k4 s2 p1 op1'``) or a unit built by the caller (``x 1/2: 0.333``) is never broken.
  A unit longer than the line is printed whole on a line of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

#: Width used when there is none (a pipe without ``COLUMNS``): no line is ever broken.
UNLIMITED = 1 << 30

_UNIT = re.compile(r"""'[^']*'|"[^"]*"|`[^`]*`|\S+""")


def cells(text: str) -> int:
    """Columns ``text`` takes on a terminal: a wide (East Asian) character takes two."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return int(cell_len(text))


def width_of(console: Console) -> int:
    """The width to lay out for: ``COLUMNS``, the terminal's, or :data:`UNLIMITED` in a pipe."""
    cols = os.environ.get("COLUMNS", "").strip()
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    if console.is_terminal:
        return console.width
    return UNLIMITED


def units(text: str) -> list[str]:
    """Unbreakable pieces of ``text``: words, with quoted spans kept whole (a quoted span stays
    attached to the punctuation that follows it)."""
    out: list[str] = []
    for m in _UNIT.finditer(text):
        piece = m.group(0)
        # "'a b'," -> the regex gives "'a b'" then ","; glue trailing punctuation back on
        if out and m.start() > 0 and not text[m.start() - 1].isspace():
            out[-1] += piece
        else:
            out.append(piece)
    return out


def layer_units(label: str) -> list[str]:
    """A stack's label cut between its layers only (a layer, or a repeated group, is one value)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(label):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(label[start : i + 1].strip())
            start = i + 1
    parts.append(label[start:].strip())
    return [p for p in parts if p]


def wrap(
    pieces: Iterable[str], width: int, first: str = "", rest: str | None = None, sep: str = " "
) -> list[str]:
    """Lines of ``pieces`` joined by ``sep``, each line at most ``width`` wide unless a single
    piece is wider, broken only between pieces. ``first``/``rest`` prefix the first/other lines."""
    rest = first if rest is None else rest
    lines: list[str] = []
    line = first
    empty = True
    for piece in pieces:
        candidate = piece if empty else line + sep + piece
        if empty:
            line = line + piece
            empty = False
        elif cells(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = rest + piece
    if not empty or not lines:
        lines.append(line)
    return [ln.rstrip() for ln in lines]


def paragraph(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """``text`` wrapped between its :func:`units`."""
    return wrap(units(text), width, first, rest)


def reflow(text: str, width: int) -> list[str]:
    """The lines of ``text``, each longer than ``width`` wrapped between its units under its
    own indent (plus two spaces); shorter lines are kept exactly."""
    out: list[str] = []
    for line in text.splitlines():
        if cells(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        out += paragraph(line, width, lead, lead + "  ")
    return out


Cell = Union[str, tuple[str, str]]  # noqa: UP007 - text, or (text, style)


@dataclass
class Column:
    """One table column: its header and alignment; ``notes`` for a free-text last column."""

    header: str
    right: bool = False
    notes: bool = False
    #: in a record (a table too wide for its columns), the value is shown without its header
    bare: bool = False


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _style(cell: Cell) -> str | None:
    return None if isinstance(cell, str) else cell[1]


Line = list[tuple[str, Union[str, None]]]  # noqa: UP007 - (text, style) spans of one line


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    *,
    header_style: str | None = "bold",
    row_styles: Sequence[str | None] | None = None,
) -> list[Line]:
    """The lines of a table (see the module's docstring for how it degrades)."""
    n = len(columns)
    texts = [[_text(c) for c in row] for row in rows]
    widths = [
        max([cells(col.header)] + [cells(t[i]) for t in texts]) for i, col in enumerate(columns)
    ]
    gap = 2
    total = sum(widths) + gap * (n - 1)
    notes = n > 1 and columns[-1].notes
    fixed = sum(widths[:-1]) + gap * (n - 1)
    if total <= width:
        return _aligned(columns, rows, widths, None, header_style, row_styles)
    if notes and width - fixed >= 20:
        return _aligned(columns, rows, widths, width - fixed, header_style, row_styles)
    if notes and fixed - gap <= width:  # the notes go under their row
        head = [list(r[:-1]) for r in rows]
        lines = _aligned(columns[:-1], head, widths[:-1], None, header_style, row_styles)
        out = lines[:1]
        for r, row in enumerate(rows):
            out.append(lines[r + 1])
            if _text(row[-1]):
                base = row_styles[r] if row_styles else None
                text = f"{columns[-1].header}: {_text(row[-1])}"
                out += [[(ln, base)] for ln in paragraph(text, width, "    ", "      ")]
        return out
    return _records(columns, rows, width, row_styles)


def _aligned(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    widths: list[int],
    notes_width: int | None,
    header_style: str | None,
    row_styles: Sequence[str | None] | None,
) -> list[Line]:
    n = len(columns)
    if notes_width is not None:
        widths = [*widths[:-1], notes_width]

    def pad(i: int, s: str) -> str:
        if i == n - 1 and not columns[i].right:
            return s
        fill = " " * max(widths[i] - cells(s), 0)
        return fill + s if columns[i].right else s + fill

    out: list[Line] = [
        [("  ".join(pad(i, c.header) for i, c in enumerate(columns)).rstrip(), header_style)]
    ]
    indent = sum(widths[:-1]) + 2 * (n - 1)
    for r, row in enumerate(rows):
        base = row_styles[r] if row_styles else None
        spans: Line = []
        extra: list[str] = []
        for i, cell in enumerate(row):
            text = _text(cell)
            if i == n - 1 and notes_width is not None:
                lines = paragraph(text, notes_width)
                text, extra = lines[0], lines[1:]
            if i:
                spans.append(("  ", base))
            spans.append((pad(i, text), _style(cell) or base))
        _strip(spans)
        out.append(spans)
        out += [[(" " * indent + e, base)] for e in extra]
    return out


def wrap_spans(
    pieces: Sequence[tuple[str, str | None]], width: int, first: str, rest: str, sep: str
) -> list[Line]:
    """:func:`wrap` of styled pieces: each line a list of ``(text, style)`` spans."""
    lines: list[Line] = []
    line: Line = [(first, None)]
    length = cells(first)
    empty = True
    for text, style in pieces:
        if not empty and length + cells(sep) + cells(text) > width:
            lines.append(line)
            line, length, empty = [(rest, None)], cells(rest), True
        if not empty:
            line.append((sep, None))
            length += cells(sep)
        line.append((text, style))
        length += cells(text)
        empty = False
    lines.append(line)
    return lines


def _records(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    row_styles: Sequence[str | None] | None,
) -> list[Line]:
    out: list[Line] = []
    for r, row in enumerate(rows):
        base = row_styles[r] if row_styles else None
        out.append([(_text(row[0]), _style(row[0]) or base)])
        pieces = [
            (_text(cell), _style(cell) or base)
            if col.bare or not col.header
            else (f"{col.header}: {_text(cell)}", _style(cell) or base)
            for col, cell in zip(columns[1:], row[1:], strict=True)
            if _text(cell) not in ("", "-") and not col.notes
        ]
        short = [p for p in pieces if cells(p[0]) <= width - 4]
        if short:
            out += wrap_spans(short, width, "    ", "    ", sep="  ")
        for text, style in pieces:  # a value too long for a line: wrapped between its words
            if cells(text) > width - 4:
                out += [[(ln, style)] for ln in paragraph(text, width, "    ", "      ")]
        for col, cell in zip(columns[1:], row[1:], strict=True):
            if col.notes and _text(cell):
                for ln in paragraph(f"{col.header}: {_text(cell)}", width, "    ", "      "):
                    out.append([(ln, base)])
    return out


def _strip(spans: Line) -> None:
    while spans and not spans[-1][0].rstrip():
        spans.pop()
    if spans:
        spans[-1] = (spans[-1][0].rstrip(), spans[-1][1])


def to_text(lines: Iterable[Line | str]) -> Text:
    """The lines as one rich :class:`~rich.text.Text` (styles kept), each ending in a newline."""
    from rich.text import Text

    text = Text()
    for line in lines:
        if isinstance(line, str):
            text.append(line)
        else:
            for s, style in line:
                text.append(s, style=style or "")
        text.append("\n")
    return text


def emit(console: Console, lines: Iterable[Line | str], style: str | None = None) -> None:
    """Print ``lines`` exactly as laid out (the console neither wraps nor crops them)."""
    text = to_text(lines)
    text.rstrip()
    if style:
        text.stylize(style)
    console.print(text, soft_wrap=True)
