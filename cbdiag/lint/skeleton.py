"""Parsing a module without the function bodies the analysis may never read.

A linted file is parsed as a *skeleton*: the body of a function whose lines hold no candidate
layer name (and that defines no function or class inside) is left out of the parse, and is
parsed on its own the first time anything reads it (``node.body``). Every node outside those
bodies, with its lines and columns, is the one ``ast.parse`` gives for the whole file (the
functions' own end positions included); a body, once read, is the one it gives too.

The bodies left out are found in the text (a one-line ``def`` header, then every line until
the first line of code indented no deeper than the ``def``), and the skeleton is checked
against what was assumed: each function left out must be, in the skeleton's tree, a function
at that line and column whose body is the placeholder put on its last line. Where the text
could mislead, the body is kept: a tab, form feed or carriage return in the file; a last line
ending in a backslash, a comment or a semicolon; a triple-quoted string or f-string the
region does not close; a ``def`` indented more than :data:`MAX_INDENT` columns. When the
skeleton does not parse or does not match, the whole file is parsed as it is.

A body that does hold a candidate line may be left out *in part* (:func:`_split`) when each of
its lines is one whole simple statement binding no name (an attribute set, or an expression
that starts with a call or an attribute: ``super().__init__()``,
``self.norm = nn.BatchNorm2d(c)``): it is blanked but for its candidate lines. A body with any
other statement is kept whole: its layer calls are then likely to need a run, which reads the
whole body (leaving out its first lines would save their parse once and cost a second parse of
all the rest). The function is lazy as above, and also holds the statements kept
(:func:`partial_body`), each the one ``ast.parse`` gives; when the whole body is read, those
same objects take their places in it. (Nothing left out binds a name, so the names the kept
statements and the parameters bind are the function's.)

A body that does not parse when it is read is reported through ``on_error``: that file's
syntax error, found where the analysis looked. A syntax error in a body nothing reads is not
seen (the file's own compiler reports it). Reading bodies late costs at most about one more
parse of the file (see :class:`_File`).
"""

from __future__ import annotations

import ast
import bisect
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: A one-line ``def`` header (its body starts on the next line).
_HEADER = re.compile(
    r"( *)(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(.*\)[ \t]*(?:->[^\n]*)?:[ \t]*(?:#[^\n]*)?$",
    re.MULTILINE,
)
_STRING_PARTS = (
    r"#[^\n]*",
    r'"""(?:[^"\\]|\\.|\\\n|"(?!""))*"""',
    r"'''(?:[^'\\]|\\.|\\\n|'(?!''))*'''",
    r'"(?:[^"\\\n]|\\.|\\\n)*"',
    r"'(?:[^'\\\n]|\\.|\\\n)*'",
)
#: String literals and comments, in the order the tokenizer meets them.
STRINGS = re.compile("|".join(_STRING_PARTS), re.DOTALL)
#: The same, and a triple quote the text does not close (group 1) where the tokenizer meets
#: it: without that alternative, an unclosed triple quote would match as two strings (an
#: empty one and one starting with the third quote), as if the text were all strings.
_OPEN_TRIPLE = re.compile(
    "|".join((*_STRING_PARTS[:3], r"(\"\"\"|''')", *_STRING_PARTS[3:])), re.DOTALL
)
#: The deepest ``def`` whose body may be left out (one compiled pattern per indent).
MAX_INDENT = 64
_STOPS: dict[int, re.Pattern[str]] = {}


def _stop(indent: int) -> re.Pattern[str]:
    """The next line of code indented ``indent`` spaces or less (a comment is not code)."""
    p = _STOPS.get(indent)
    if p is None:
        p = _STOPS[indent] = re.compile(rf"\n {{0,{indent}}}[^ \n#]")
    return p


class Region:
    """A function body left out: the header's line, its indent, the body's first and last
    lines, the last line's code end (in bytes), and its text's offsets. A body left out in
    part (see :func:`_split`) also has the text spans left out (``gaps``), the statements kept
    (``kept``: first line and the last line each may reach), the body's indent, and whether
    its last statement is left out (``tail``: a placeholder then ends the body)."""

    __slots__ = (
        "body_indent",
        "end_col",
        "first",
        "gaps",
        "indent",
        "kept",
        "last",
        "line",
        "start",
        "stop",
        "tail",
    )

    def __init__(
        self, line: int, indent: int, first: int, last: int, end_col: int, start: int, stop: int
    ) -> None:
        self.line = line
        self.indent = indent
        self.first = first
        self.last = last
        self.end_col = end_col
        self.start = start
        self.stop = stop
        self.gaps: list[tuple[int, int]] | None = None
        self.kept: list[tuple[int, int]] = []
        self.body_indent = 0
        self.tail = False


def regions(source: str, keep: list[int]) -> list[Region]:
    """The function bodies of ``source`` that may be left out: those holding none of the
    lines ``keep`` (sorted) and no nested function or class, and those that hold some, in
    part: the statements holding none (see :func:`_split`). Outermost first; a body inside
    one left out is not listed."""
    if "\t" in source or "\f" in source or "\r" in source:
        return []
    out: list[Region] = []
    pos = 0
    n = len(source)
    # line numbers by offset, counted as the scan goes (no table of the whole file)
    line_no, line_pos = 1, 0
    while True:
        m = _next_header(source, pos)
        if m is None:
            break
        line_no += source.count("\n", line_pos, m.start())
        line_pos = m.start()
        head_end = m.end()  # the header's newline (or the end of the file)
        pos = head_end
        indent = len(m.group(1))
        if head_end >= n or (line_no == 1 and indent) or indent > MAX_INDENT:
            continue
        body = head_end + 1
        s = _stop(indent).search(source, head_end)
        stop = s.start() + 1 if s is not None else n
        # the body's last line of code: back over blank and comment-only lines
        last_end = stop - 1 if stop > 0 and source[stop - 1] == "\n" else stop
        while last_end > body:
            ls = source.rfind("\n", body, last_end) + 1 or body
            text = source[ls:last_end].strip(" ")
            if text and not text.startswith("#"):
                break
            last_end = ls - 1
        if last_end <= body:
            continue  # no body line below the header (the one-line def is not here)
        last_start = source.rfind("\n", body, last_end) + 1 or body
        last_line = line_no + 1 + source.count("\n", body, last_start)
        kept = _kept(keep, line_no + 1, last_line)
        last_text = source[last_start:last_end].rstrip(" ")
        if "#" in last_text or last_text.endswith(";"):
            continue  # (where the last statement ends is not the line's end)
        end_col = len(last_text) if last_text.isascii() else len(last_text.encode())
        if end_col < indent + 2 or not _safe(source[body:last_end], last_text):
            continue
        first_code = _first_code(source, body, last_end)
        if first_code is None:
            continue
        first_line = line_no + 1 + source.count("\n", body, first_code)
        r = Region(line_no, indent, first_line, last_line, end_col, line_pos, last_end)
        if kept and not _split(source, r, keep, body, first_code):
            continue
        out.append(r)
        pos = last_end
    return out


#: What a line left out of a body in part may hold: one whole simple statement that binds no
#: name (an assignment to an attribute, or an expression that starts with a name's call or
#: attribute), with no colon, semicolon or backslash, strings that end on the line (a body
#: with a triple quote is not split) and brackets at most two deep that close on it.
_IN = r"""(?:[^()\[\]{}'"#\\\n:;]++|"[^"\\\n]*+"|'[^'\\\n]*+')"""
_G1 = rf"(?:\({_IN}*+\)|\[{_IN}*+\])"
_G2 = rf"(?:\((?:{_IN}|{_G1})*+\)|\[(?:{_IN}|{_G1})*+\])"
_OUT = rf"""(?:[\w .,+\-*/%<>!~&|^@]++|"[^"\\\n]*+"|'[^'\\\n]*+'|{_G2})"""
_SIMPLE = (
    rf"(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+ *= *{_OUT}++|(?!del\b)[A-Za-z_]\w*(?=[.(]){_OUT}*+)"
    r"(?: *#[^\n]*)?"
)
#: The run of such lines (and blank or comment lines) at the start of a body, by indent.
_RUNS: dict[int, re.Pattern[str]] = {}


def _run(indent: int) -> re.Pattern[str]:
    p = _RUNS.get(indent)
    if p is None:
        line = rf"(?: {{{indent}}}{_SIMPLE}| *(?:#[^\n]*)?)"
        p = _RUNS[indent] = re.compile(rf"(?:{line}(?:\n|\Z))*")
    return p


def _split(source: str, r: Region, keep: list[int], body: int, first_code: int) -> bool:
    """Leave out of a body that holds kept lines the statements that hold none, where the
    text vouches for them: when every line of the body is one whole simple statement binding
    no name (see :data:`_SIMPLE`), the lines not kept. ``r`` gets the gaps to blank and the
    statements kept; False when nothing would be left out, or the body holds a statement of
    another kind (it is kept whole: see the module's notes)."""
    j = first_code
    while source[j] == " ":
        j += 1
    bi = j - first_code
    if bi <= r.indent:
        return False
    if source.find('"""', body, r.stop) >= 0 or source.find("'''", body, r.stop) >= 0:
        return False  # (a line of a string that spans lines could look like a statement)
    m = _run(bi).match(source, body, min(r.stop + 1, len(source)))
    end = m.end() if m is not None else body
    if end < r.stop:
        return False  # (a statement of another kind: the whole body kept)
    lo = bisect.bisect_left(keep, r.line + 1)
    hi = bisect.bisect_right(keep, r.last)
    gaps: list[tuple[int, int]] = []
    kept: list[tuple[int, int]] = []
    line = r.line + 1  # (the line that starts at ``pos``)
    pos = body
    gap = body  # (where the gap being gathered starts; -1: none)
    for k in keep[lo:hi]:
        while line < k and pos < end:
            pos = source.find("\n", pos, end) + 1 or end
            line += 1
        if pos >= end:
            break
        nxt = source.find("\n", pos, end) + 1 or end
        text = source[pos:nxt].lstrip(" ")
        if not text.rstrip() or text[0] == "#":
            continue  # (a comment: nothing to keep)
        if gap < pos:
            gaps.append((gap, pos))
        kept.append((k, k))
        pos = gap = nxt
        line += 1
    if gap >= end:
        gap = -1
    r.tail = gap >= 0
    if gap >= 0:
        gaps.append((gap, r.stop))
    if not gaps or not kept or (r.tail and r.end_col - bi < 1):
        return False
    r.gaps = gaps
    r.kept = kept
    r.body_indent = bi
    return True


def _next_header(source: str, pos: int) -> re.Match[str] | None:
    """The next one-line ``def`` header at or after ``pos`` (found by its word, then
    matched from its line's start)."""
    i = source.find("def ", pos)
    while i >= 0:
        ls = source.rfind("\n", 0, i) + 1
        if ls >= pos:
            lead = source[ls:i]
            if not lead.strip(" ") or lead.strip(" ") == "async":
                m = _HEADER.match(source, ls)
                if m is not None:
                    return m
        i = source.find("def ", i + 4)
    return None


def _first_code(source: str, start: int, stop: int) -> int | None:
    """The offset of the first line of code in ``source[start:stop]``."""
    while start < stop:
        e = source.find("\n", start, stop)
        e = stop if e < 0 else e
        text = source[start:e].lstrip(" ")
        if text and not text.startswith("#"):
            return start
        start = e + 1
    return None


def _kept(keep: list[int], first: int, last: int) -> bool:
    i = bisect.bisect_left(keep, first)
    return i < len(keep) and keep[i] <= last


def _safe(region: str, last_line: str) -> bool:
    """Can the region's text be trusted to end where its indentation says: no nested
    definition, no backslash at its end, every triple-quoted string closed inside it."""
    if _has_word(region, "def ") or _has_word(region, "class "):
        return False
    if last_line.endswith("\\"):
        return False
    if '"""' in region or "'''" in region:
        if _f_triple(region, '"""') or _f_triple(region, "'''"):
            return False
        rest = _OPEN_TRIPLE.sub(r"\1", region)  # (only triple quotes not closed are left)
        if '"' in rest or "'" in rest:
            return False
    return True


def _has_word(text: str, word: str) -> bool:
    """``word`` in ``text`` not right after a name character or a dot."""
    i = text.find(word)
    while i >= 0:
        if i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_."):
            return True
        i = text.find(word, i + 1)
    return False


def _f_triple(text: str, quote: str) -> bool:
    """A triple-quoted f-string in ``text`` (its nested quotes could fool the string scan)."""
    i = text.find(quote)
    while i >= 0:
        if i and text[max(0, i - 2) : i].lower().count("f"):
            return True
        i = text.find(quote, i + 3)
    return False


def skeleton_text(source: str, found: list[Region]) -> str:
    """``source`` with each region's lines blank but for a placeholder ``0`` on its last line
    that ends where the region's code ends (the function keeps its end line and column); a
    region left out in part has only its gaps blank (and a placeholder of zeros at the
    body's indent, ending there too, when the last statement is left out)."""
    parts = []
    pos = 0
    for r in found:
        if r.gaps is not None:  # in part: the gaps blank, a placeholder if the last is one
            for a, b in r.gaps:
                parts.append(source[pos:a])
                parts.append("\n" * source.count("\n", a, b))
                pos = b
            if r.tail:
                parts.append(" " * r.body_indent + "0" * (r.end_col - r.body_indent))
            continue
        body = source.find("\n", r.start) + 1
        parts.append(source[pos:body])
        parts.append("\n" * (r.last - r.line - 1))
        parts.append(" " * (r.end_col - 1) + "0")
        pos = r.stop
    parts.append(source[pos:])
    return "".join(parts)


def _lazy_getattr(self: ast.AST, name: str) -> object:
    """A function left out of the skeleton: its body is parsed when first read."""
    if name != "body":
        raise AttributeError(name)
    lazy = self.__dict__.pop("_cbdiag_lazy", None)
    if lazy is None:
        raise AttributeError(name)
    file, r = lazy
    placeholder = self._cbdiag_placeholder  # type: ignore[attr-defined]
    body = file.body(r, placeholder)
    if r.gaps is not None and body is not placeholder:
        # the statements kept are the ones the analysis may have seen: the same objects
        mine = {(st.lineno, st.col_offset): st for st in placeholder}
        body = [_same(st, mine.get((st.lineno, st.col_offset))) for st in body]
    self.body = body  # type: ignore[attr-defined]
    return body


def _same(st: ast.stmt, kept: ast.stmt | None) -> ast.stmt:
    if kept is not None and type(kept) is type(st) and kept.end_lineno == st.end_lineno:
        return kept
    return st


class _File:
    """One parsed file, for its bodies read late. A body is parsed alone on its own lines
    (blank lines before it, which the tokenizer skips fast); once the blank lines so spent
    pass :data:`BLANK_LINES_PER_LINE` times the file's length, the whole file is parsed once
    and every body left is taken from that tree (so reading bodies never costs more than
    about two parses of the file)."""

    __slots__ = ("budget", "failed", "full", "on_error", "path", "source", "starts")

    def __init__(self, source: str, path: str, on_error: Callable[[BaseException], None]) -> None:
        self.source = source
        self.path = path
        self.on_error = on_error
        self.budget = BLANK_LINES_PER_LINE * (source.count("\n") + 1)
        self.full: ast.Module | None = None
        self.starts: dict[int, list[int]] = {}
        self.failed = False

    def body(self, r: Region, placeholder: list[ast.stmt]) -> list[ast.stmt]:
        if self.failed:
            return placeholder
        try:
            if self.full is None and r.line > self.budget:
                self.full = ast.parse(self.source, filename=self.path)
            fn: ast.stmt | None
            if self.full is not None:
                fn = _def_at(self.full.body, r.line, self.starts)
            else:
                self.budget -= r.line
                segment = self.source[r.start : r.stop]
                # (on its own lines; indented, inside an ``if`` on the line above)
                head = "\n" * (r.line - 2) + "if 1:\n" if r.indent else "\n" * (r.line - 1)
                tree = ast.parse(head + segment, filename=self.path)
                fn = tree.body[0].body[0] if r.indent else tree.body[0]  # type: ignore[attr-defined]
            assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.lineno == r.line
            return fn.body
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            self.failed = True  # (one error per file: the first found)
            # (without its traceback: that holds the frames of the analysis that read the
            # body, whose locals hold this file's item, which holds the error: a cycle that
            # would keep every tree of the run until the cyclic garbage collector ran)
            self.on_error(exc.with_traceback(None))
            return placeholder


#: Blank lines the bodies read late may cost, per line of the file (see :class:`_File`).
BLANK_LINES_PER_LINE = 4


class _LazyFunctionDef(ast.FunctionDef):
    __slots__ = ()
    __getattr__ = _lazy_getattr


class _LazyAsyncFunctionDef(ast.AsyncFunctionDef):
    __slots__ = ()
    __getattr__ = _lazy_getattr


#: The classes of the functions left out (their ``body`` is parsed when read).
LAZY_TYPES = (_LazyFunctionDef, _LazyAsyncFunctionDef)


def is_lazy(node: ast.AST) -> bool:
    """A function whose body has not been parsed yet."""
    return "_cbdiag_lazy" in node.__dict__


def first_body_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    """The line of a definition's first statement (without parsing a body left out)."""
    r = node.__dict__.get("_cbdiag_lazy")
    return r[1].first if r is not None else node.body[0].lineno


def parse(
    source: str,
    path: str,
    keep: list[int],
    on_error: Callable[[BaseException], None],
) -> ast.Module:
    """``source`` parsed without the bodies :func:`regions` finds (``keep``: lines that must
    be parsed); each such function's body is parsed when read. Raises what ``ast.parse``
    raises for the whole file when the skeleton does not parse."""
    found = regions(source, keep)
    if not found:
        return ast.parse(source, filename=path)
    try:
        tree = ast.parse(skeleton_text(source, found), filename=path)
    except (SyntaxError, ValueError):
        return ast.parse(source, filename=path)
    nodes = []
    starts: dict[int, list[int]] = {}
    for r in found:
        fn = _def_at(tree.body, r.line, starts)
        if fn is None or not (_partial(fn, r) if r.gaps is not None else _placeholder(fn, r)):
            return ast.parse(source, filename=path)
        nodes.append(fn)
    file = _File(source, path, on_error)
    for fn, r in zip(nodes, found, strict=True):
        d = fn.__dict__
        body = d.pop("body")
        if r.gaps is not None:
            if r.tail:
                body.pop()
            d["_cbdiag_partial"] = body
        d["_cbdiag_placeholder"] = body
        d["_cbdiag_lazy"] = (file, r)
        fn.__class__ = _LazyFunctionDef if type(fn) is ast.FunctionDef else _LazyAsyncFunctionDef
    return tree


def _placeholder(fn: ast.FunctionDef | ast.AsyncFunctionDef, r: Region) -> bool:
    if fn.col_offset != r.indent or len(fn.body) != 1:
        return False
    st = fn.body[0]
    return (
        isinstance(st, ast.Expr)
        and isinstance(st.value, ast.Constant)
        and type(st.value.value) is int
        and st.lineno == r.last
        and st.col_offset == r.end_col - 1
        and fn.end_lineno == r.last
        and fn.end_col_offset == r.end_col
    )


def _partial(fn: ast.FunctionDef | ast.AsyncFunctionDef, r: Region) -> bool:
    """A function left out in part is, in the skeleton, the statements kept, each starting
    where the text says at the body's indent and ending before the next statement of the
    text (then the placeholder if the last statement is left out)."""
    if fn.col_offset != r.indent or fn.end_lineno != r.last or fn.end_col_offset != r.end_col:
        return False
    body = fn.body
    if r.tail:
        st = body[-1]
        if not (
            isinstance(st, ast.Expr)
            and isinstance(st.value, ast.Constant)
            and type(st.value.value) is int
            and st.lineno == r.last
            and st.col_offset == r.body_indent
        ):
            return False
        body = body[:-1]
    i = 0
    for first, bound in r.kept:
        if i >= len(body) or body[i].lineno != first or body[i].col_offset != r.body_indent:
            return False
        while i < len(body) and body[i].lineno <= bound:
            if (body[i].end_lineno or body[i].lineno) > bound:
                return False
            i += 1
    return i == len(body)


def partial_body(node: ast.AST) -> list[ast.stmt] | None:
    """The statements kept of a function left out in part, while its body is not read."""
    d = node.__dict__
    return d.get("_cbdiag_partial") if "_cbdiag_lazy" in d else None


def _def_at(
    body: list[ast.stmt], line: int, starts: dict[int, list[int]]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function defined at ``line`` (its ``def``), searched by lines (``starts``: the
    first lines of each body's statements, by the body's identity, while the tree lives)."""
    while body:
        got = starts.get(id(body))
        if got is None:
            got = starts[id(body)] = [st.lineno for st in body]
        k = bisect.bisect_right(got, line) - 1
        if k < 0:
            return None
        st = body[k]
        if st.lineno == line and isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
            return st
        if not st.lineno <= line <= (st.end_lineno or st.lineno):
            return None
        if isinstance(st, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = st.body  # (one body: the usual way down, a method in its class)
            continue
        parts = [getattr(st, part, None) for part in ("body", "orelse", "finalbody")]
        parts += [h.body for h in getattr(st, "handlers", None) or []]
        inner: list[ast.stmt] = []
        for sub in parts:
            if (
                isinstance(sub, list)
                and sub
                and isinstance(sub[0], ast.stmt)
                and sub[0].lineno <= line
                and (not inner or sub[0].lineno > inner[0].lineno)
            ):
                inner = sub
        body = inner
    return None
