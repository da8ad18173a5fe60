"""The linter's engine: parse with ``ast`` (never import or run), extract each module's layer
structure with the static interpreter (:mod:`cbdiag.lint.structure`, which resolves names
through :mod:`cbdiag.lint.scopes` and evaluates values with :mod:`cbdiag.lint.values`), apply
the rules (:mod:`cbdiag.lint.checks`), honour ``# noqa``.

Across the files of one run, literal arguments passed at call sites reach the functions and
classes they call (imports between the linted files are followed). Every layer call the rules
know ends as a finding, clean, or unresolved with the reason. A file found in a directory whose
text names no layer is parsed only when the analysis needs it. Files that cannot reach one
another (:mod:`cbdiag.lint.linking`) are analysed one group at a time, each group's trees let
go before the next group is parsed.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import io
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter

from ..records import MutableRecord, Record
from . import skeleton
from .linking import groups
from .notebook import NotebookError, notebook_source
from .rules import RULES
from .structure import (
    _BODIES,
    Outcome,
    Project,
    analyse,
    header_roots,
    iter_outcomes,
    lines_span,
    newline_offsets,
    nodes_at,
    statement_at,
    statements_cached,
    word_before,
)
from .targets import MONAI_EVEN_NETS, MONAI_UNET, PREFILTER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _T = TypeVar("_T")

#: `` as ALIAS``, and the dotted name just before it.
_AS = re.compile(r"as[ \t]+(\w+)")  # (after a space or tab: see _target_aliases)

#: MONAI's network names the model knows, as whole words (``UNet``, not the ``UNet`` in
#: ``nnUNetTrainer``); each holds ``UNet``, ``Unet`` or ``UNETR`` (see :func:`_text_lines`).
_NET_NAMES = sorted({q.rsplit(".", 1)[1] for q in (*MONAI_UNET, *MONAI_EVEN_NETS)})


def whole_words(names: Iterable[str]) -> str:
    """A pattern of ``names`` (each starting with a word character) as whole words, written as
    flat alternatives, each a literal first character and the word boundary checked after it:
    a pattern that starts with ``\\b`` or a group cannot skip, in C, the places where no
    alternative can start (on source text, ten times slower)."""
    out = []
    for n in names:
        head, tail = re.escape(n[0]), re.escape(n[1:])
        out.append(rf"{head}(?<!\w{head}){tail}\b")
    return "|".join(out)


_NETS = re.compile(whole_words(_NET_NAMES))
#: The leaf names of every target and container: lines without one hold nothing to check.
#: (:func:`_text_lines` finds each by its own search: a name added here is added there too.)
_CANDIDATE = re.compile(
    r"ConvTranspose|Conv[123]DTranspose|Convolution[123]DTranspose|conv_transpose|"
    r"conv2d_transpose|Conv[123][dD]|Sequential|PixelShuffle|pixel_shuffle|depth_to_space|"
    r"ConvModule|build_conv_layer|build_upsample_layer|"  # (mmcv: a config may name a deconv)
    r"Convolution|UpSample|CONVTRANS|" + _NETS.pattern  # (MONAI's blocks and layer factory)
)
#: Keras models grown by ``model.add(layer)``: only where a Sequential is made.
_ADD = re.compile(r"\.add\(")

#: A per-line suppression comment (noqa, with or without codes), and the file-level one.
_NOQA_TEXT = r"#\s*noqa(?![\w-])(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?"
_FILE_NOQA_TEXT = r"^\s*#\s*cbdiag:\s*" + _NOQA_TEXT.removeprefix("#\\s*")


#: Which codes a layer call's outcome belongs to (for counting what was checked).
CODES_OF_KIND = {
    "deconv": ("CBD101", "CBD102", "CBD103"),
    "conv": ("CBD105",),
    "shuffle": ("CBD106",),
    "container": ("CBD104",),
}


class Violation(Record):
    """One finding, 1-based line and column (``end_col`` is the column after the call);
    ``cell`` is the notebook cell (1-based) when the file is a notebook, the line then counted
    within the cell."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    message: str
    cell: int | None = None

    _fields = ("path", "line", "col", "end_line", "end_col", "code", "message", "cell")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        path: str,
        line: int,
        col: int,
        end_line: int,
        end_col: int,
        code: str,
        message: str,
        cell: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.end_line = end_line
        self.end_col = end_col
        self.code = code
        self.message = message
        self.cell = cell

    @property
    def rule(self) -> str:
        return RULES[self.code].name


class Unresolved(Record):
    """A layer call whose parameters are not known statically, and why."""

    path: str
    line: int
    col: int
    name: str
    reason: str
    codes: tuple[str, ...]
    cell: int | None = None

    _fields = ("path", "line", "col", "name", "reason", "codes", "cell")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        path: str,
        line: int,
        col: int,
        name: str,
        reason: str,
        codes: tuple[str, ...],
        cell: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.name = name
        self.reason = reason
        self.codes = codes
        self.cell = cell


class FileReport(MutableRecord):
    """One file's findings, unresolved calls, and how many layer calls ended clean."""

    path: str
    violations: list[Violation]
    unresolved: list[Unresolved]
    clean: list[tuple[int, tuple[str, ...]]]  # (line, codes)

    _fields = ("path", "violations", "unresolved", "clean")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        path: str,
        violations: list[Violation] | None = None,
        unresolved: list[Unresolved] | None = None,
        clean: list[tuple[int, tuple[str, ...]]] | None = None,
    ) -> None:
        self.path = path
        self.violations = list() if violations is None else violations
        self.unresolved = list() if unresolved is None else unresolved
        self.clean = list() if clean is None else clean


def _target_aliases(source: str) -> set[str]:
    """Aliases of target classes or functions ("from torch.nn import ConvTranspose2d as Up"):
    an alias hides the name the line filter looks for. Module aliases need nothing."""
    out = set()
    for m in _AS.finditer(source):
        if not m.start() or source[m.start() - 1] not in " \t":
            continue  # (the tail of a word: "has", "bias")
        before = word_before(source, max(0, m.start() - 120), m.start(), dots=True)
        if before and _CANDIDATE.search(before.rsplit(".", 1)[-1]):
            out.add(m.group(1))
    return out


def candidate_lines(source: str, tree: ast.Module | None = None) -> list[int]:
    """Lines that may hold a layer call or a container: a textual filter, then (given the
    tree) only the lines whose statement names a target in code, not in a string, a comment,
    an annotation or an import."""
    return _candidates(source, tree)[0]


def _candidates(
    source: str, tree: ast.Module | None = None
) -> tuple[list[int], re.Pattern[str] | None]:
    """:func:`candidate_lines` and the pattern of the names they hold."""
    if not any(p in source for p in PREFILTER):
        return [], None
    lines, pattern = _text_lines(source)
    if tree is None or not lines:
        return lines, pattern
    return _in_code(source, tree, lines, pattern), pattern


def _in_code(
    source: str,
    tree: ast.Module,
    lines: list[int],
    pattern: re.Pattern[str] | None,
    newlines: list[int] | None = None,
) -> list[int]:
    """The lines whose statement names a target in code (``newlines``: the source's
    :func:`.structure.newline_offsets`, when the caller has them)."""
    if pattern is None:
        return lines
    nl = newline_offsets(source) if newlines is None else newlines
    out = []
    plain: dict[int, bool] = {}  # (by statement: no string or line that goes on over lines)
    size = len(source)
    for n in lines:
        st = statement_at(tree.body, n)
        if st is None or isinstance(st, ast.Import | ast.ImportFrom):
            continue
        a, b = lines_span(nl, size, n, n)
        if not _NOT_PLAIN.search(source, a, b):
            if st.lineno == n == st.end_lineno:
                out.append(n)  # (as in _names_in_code: a one-line statement, the name is code)
                continue
            if type(st) not in _NOT_SIMPLE:
                key = id(st)
                if key not in plain:
                    s0, s1 = lines_span(nl, size, st.lineno, st.end_lineno or st.lineno)
                    plain[key] = (
                        source.find('"""', s0, s1) < 0
                        and source.find("'''", s0, s1) < 0
                        and source.find("\\", s0, s1) < 0
                    )
                if plain[key]:
                    out.append(n)  # (a line inside a simple statement, as one of one line)
                    continue
        if _named_in_code(st, n, pattern):
            out.append(n)
    return out


_NOT_PLAIN = re.compile(r"[\"'#:]")
#: Statements whose lines are not all code: compound ones (a body, a header), imports, and
#: annotated assignments (the annotation is not run).
_NOT_SIMPLE = frozenset((*_BODIES, ast.AnnAssign, ast.Import, ast.ImportFrom))


def _names_in_code(
    tree: ast.Module, line: int, pattern: re.Pattern[str], text: str | None = None
) -> bool:
    st = statement_at(tree.body, line)
    if st is None or isinstance(st, ast.Import | ast.ImportFrom):
        return False
    if st.lineno == line == st.end_lineno and text is not None and not _NOT_PLAIN.search(text):
        return True  # a one-line statement with no string or comment: the name is code
    return _named_in_code(st, line, pattern)


def _named_in_code(st: ast.stmt, line: int, pattern: re.Pattern[str]) -> bool:
    """Does a node of ``st`` on ``line`` that is code (not its annotations or its body) name
    a target?"""
    for root in header_roots(st):
        for node in nodes_at(root, line):
            if isinstance(node, ast.Name):
                probe = node.id + "("
            elif isinstance(node, ast.Attribute):
                probe = "." + node.attr + "("
            else:
                continue
            if pattern.search(probe):
                return True
    return False


#: A ``Conv`` that starts a :data:`_CANDIDATE` name, and the other names it holds (each found by
#: ``str.find``: the names are few, and a search per name in C beats one pattern's scan).
_CONV_AT = re.compile(r"Conv(?:Transpose|[123][dD]|olution|Module)")
_PLAIN_WORDS = (
    "Sequential",
    "PixelShuffle",
    "pixel_shuffle",
    "depth_to_space",
    "build_conv_layer",
    "build_upsample_layer",
    "UpSample",
    "CONVTRANS",
)


def _text_lines(source: str) -> tuple[list[int], re.Pattern[str]]:
    """The lines where the candidate pattern matches (with ``.add(`` where a Sequential is
    made, and the aliases of targets), and that pattern."""
    base = _CANDIDATE.pattern
    words: tuple[str, ...] = _PLAIN_WORDS
    if "Sequential" in source:
        base = f"{base}|{_ADD.pattern}"
        words = (*words, ".add(")
    aliases = _target_aliases(source)
    extra = None
    if aliases:
        extra = re.compile(whole_words(sorted(aliases)))
        base = rf"{base}|{extra.pattern}"
    pattern = _CANDIDATE if base == _CANDIDATE.pattern else re.compile(base)
    at: list[int] = []
    find, match = source.find, _CONV_AT.match
    i = find("Conv")
    while i >= 0:
        if match(source, i):
            at.append(i)
        i = find("Conv", i + 4)
    i = find("_transpose")  # (conv_transpose, conv2d_transpose)
    while i >= 0:
        if source.endswith("conv", 0, i) or source.endswith("conv2d", 0, i):
            at.append(i)
        i = find("_transpose", i + 10)
    for w in words:
        i = find(w)
        while i >= 0:
            at.append(i)
            i = find(w, i + len(w))
    if "UNet" in source or "Unet" in source or "UNETR" in source:
        at.extend(m.start() for m in _NETS.finditer(source))
    if extra is not None:
        at.extend(m.start() for m in extra.finditer(source))
    at.sort()
    lines: list[int] = []
    line, pos = 1, 0
    for start in at:  # (the newlines counted between hits, in C)
        line += source.count("\n", pos, start)
        pos = start
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines, pattern


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------


def _noqa(source: str) -> tuple[dict[int, set[str] | None], set[str] | bool | None]:
    """Per-line noqa (None = blanket) and the file-level one (False = none, None = all)."""
    lines: dict[int, set[str] | None] = {}
    file_level: set[str] | bool | None = False
    import tokenize  # only for a file with a noqa comment (see _apply_noqa)

    line_noqa = re.compile(_NOQA_TEXT, re.IGNORECASE)
    file_noqa = re.compile(_FILE_NOQA_TEXT, re.IGNORECASE)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        toks = []
    for tok in toks:
        if tok.type != tokenize.COMMENT:
            continue
        m = file_noqa.match(tok.line) if tok.line.strip().startswith("#") else None
        if m:
            codes = m.group("codes")
            if codes is None:
                file_level = None
            elif file_level is not None:
                prev = file_level if isinstance(file_level, set) else set()
                file_level = prev | {c.upper() for c in re.split(r"[,\s]+", codes) if c}
            continue
        m = line_noqa.search(tok.string)
        if m:
            codes = m.group("codes")
            lines[tok.start[0]] = (
                None if codes is None else {c.upper() for c in re.split(r"[,\s]+", codes) if c}
            )
    return lines, file_level


def _suppressed(code: str, selected: set[str] | None) -> bool:
    return selected is None or any(code.startswith(c) for c in selected)


# ---------------------------------------------------------------------------------------------
# files to reports
# ---------------------------------------------------------------------------------------------


class _Parsed(MutableRecord):
    path: str
    source: str  # Python source (a notebook's code cells joined)
    tree: ast.Module | None
    error: Violation | None = None
    cells: list[tuple[int, int]] | None = None  # per source line: (cell, line in cell)
    late: list[BaseException]  # parse errors of function bodies read after the skeleton

    _fields = ("path", "source", "tree", "error", "cells")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        path: str,
        source: str,
        tree: ast.Module | None,
        error: Violation | None = None,
        cells: list[tuple[int, int]] | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.tree = tree
        self.error = error
        self.cells = cells
        # (a list the lazy bodies append to: no reference from the tree back to this item,
        # so that the trees are freed without the cyclic garbage collector)
        self.late = []


def _prepare(path: str, text: str) -> _Parsed:
    """A file's Python source (a notebook's code cells joined; newlines made ``\\n``),
    not parsed yet."""
    cells = None
    if path.endswith(".ipynb"):
        try:
            text, cells = notebook_source(text)
        except NotebookError as exc:
            return _Parsed(path, "", None, Violation(path, 1, 1, 1, 2, "CBD901", str(exc)))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _Parsed(path, text, None, cells=cells)


#: Most operators and delimiters in a file the linter parses: a syntax tree costs about 1 KB
#: per item, so this bounds a parse to about 1 GB (the largest file of PyTorch has 100,000).
MAX_DELIMITERS = 1_000_000


def _density(text: str) -> int:
    """The operators and delimiters of ``text`` (a cheap bound on its syntax tree's size)."""
    return sum(text.count(c) for c in ",([{=.:+-*")


#: Parse linted files as skeletons (see :mod:`.skeleton`): the bodies of functions that name
#: no layer are parsed only when the analysis reads them.
SKIP_BODIES = True


def _parse_tree(item: _Parsed, keep: list[int] | None = None) -> ast.Module | None:
    """Parse ``item`` (its tree, or None with ``item.error`` set). ``keep``: the lines that
    may name a layer (the function bodies holding none of them are parsed when read)."""
    path, text = item.path, item.source
    dense = _density(text) if len(text) > MAX_DELIMITERS else 0  # (one per character at most)
    if dense > MAX_DELIMITERS:
        item.error = Violation(
            path,
            1,
            1,
            1,
            2,
            "CBD902",
            f"cannot analyse: {dense:,} operators and delimiters, over the limit of "
            f"{MAX_DELIMITERS:,} (its syntax tree would not fit the memory budget)",
        )
        return None

    try:
        if SKIP_BODIES:  # (a body that does not parse when read: _Parsed.late)
            item.tree = skeleton.parse(text, path, keep or [], item.late.append)
        else:
            item.tree = ast.parse(text, filename=path)
    except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
        item.error = _syntax_error(item, exc)
    return item.tree


def _syntax_error(item: _Parsed, exc: BaseException) -> Violation:
    """CBD901 for a parse that failed (CPython's parser: nesting beyond its own limit is a
    RecursionError or MemoryError)."""
    if isinstance(exc, RecursionError | MemoryError):
        v = Violation(item.path, 1, 1, 1, 2, "CBD901", "cannot parse: too deeply nested")
        return _in_cell(v, item.cells)
    line = getattr(exc, "lineno", 1) or 1
    col = getattr(exc, "offset", 1) or 1
    msg = getattr(exc, "msg", str(exc))
    v = Violation(item.path, line, col, line, col + 1, "CBD901", f"cannot parse: {msg}")
    return _in_cell(v, item.cells)


def _loader(item: _Parsed) -> Callable[[], ast.Module]:
    """Parse a module the analysis asks for late (one that does not parse is empty)."""

    def load() -> ast.Module:
        tree = _parse_tree(item)
        return tree if tree is not None else ast.Module([], [])

    return load


def _in_cell(v: Violation, cells: list[tuple[int, int]] | None) -> Violation:
    if cells is None or not 0 < v.line <= len(cells):
        return v
    cell, line = cells[v.line - 1]
    end = cells[v.end_line - 1][1] if 0 < v.end_line <= len(cells) else line
    return Violation(v.path, line, v.col, end, v.end_col, v.code, v.message, cell)


def _char_col(lines: list[str], line: int, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; reports count characters (1-based)."""
    if 0 < line <= len(lines):
        text = lines[line - 1]
        if not text.isascii():
            return len(text.encode()[:byte_col].decode(errors="replace")) + 1
    return byte_col + 1


def check_files(
    files: Sequence[tuple[str, str]],
    roots: dict[str, str | None] | None = None,
    found: set[str] | None = None,
) -> list[FileReport]:
    """Reports of the given ``(path, text)`` files, analysed together (call sites in one file
    reach the functions of another when it imports them). ``roots``: each file's lint root,
    for its module name. ``found``: files found in a directory rather than named; one of
    those whose text names no layer is parsed only if the analysis needs it (a call in it of
    a function that holds a layer call, an import of it), so a syntax error in it is
    reported only then. A named file is always parsed (as a skeleton: see :mod:`.skeleton`).
    Files that cannot reach one another are analysed apart, one group at a time (see
    :mod:`.linking`): a group's trees are let go before the next group is parsed."""
    # the trees of a group's files stay alive for its analysis: the cyclic garbage collector
    # would walk them again and again as they pile up (twice the parse time) for nothing
    gc_was = gc.isenabled()
    gc.disable()
    try:
        return deep(_check_files, files, roots, found or set())
    finally:
        if gc_was:
            gc.enable()


#: Python frames the analysis may nest (every tree CPython's parser accepts: a chain of
#: 1,000 ``*`` is 1,000 levels deep), run on a thread with :data:`STACK_BYTES` of stack.
RECURSION_LIMIT = 40_000
STACK_BYTES = 512 << 20


def deep(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` on a thread with a large stack and a high recursion limit, so that
    walking a deeply nested syntax tree ends in a result, not a ``RecursionError``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    old_stack = threading.stack_size()
    old_limit = sys.getrecursionlimit()
    try:
        threading.stack_size(STACK_BYTES)
        sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
        t = threading.Thread(target=run, name="cbdiag-lint")
        t.start()
        t.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _check_files(
    files: Sequence[tuple[str, str]], roots: dict[str, str | None] | None, found: set[str]
) -> list[FileReport]:
    parsed = [_prepare(p, t) for p, t in files]
    out = {
        i: FileReport(item.path, [item.error])
        for i, item in enumerate(parsed)
        if item.error is not None
    }
    usable = [i for i in range(len(parsed)) if i not in out]
    texts = [(parsed[i].path, parsed[i].source, (roots or {}).get(parsed[i].path)) for i in usable]
    # each group of files that can reach only each other on its own: its trees are let go
    # before the next group is parsed (see .linking)
    for group in groups(texts):
        items = [parsed[usable[k]] for k in group]
        with statements_cached():  # (keyed by the identity of trees: one group's)
            reports = _check_group(items, roots, found)
        for k, item, rep in zip(group, items, reports, strict=True):
            out[usable[k]] = rep
            item.tree = None
    return [out[i] for i in range(len(parsed))]


def _check_group(
    parsed: list[_Parsed], roots: dict[str, str | None] | None, found: set[str]
) -> list[FileReport]:
    project = Project()
    infos = {}
    for item in parsed:
        if item.error is not None:
            continue
        root = (roots or {}).get(item.path)
        lines, pattern = _candidates(item.source)
        if not lines and item.path in found:
            info = project.add(item.path, item.source, None, [], root, load=_loader(item))
        else:
            if _parse_tree(item, lines) is None:
                continue
            assert item.tree is not None
            nl = None  # (the newline table, shared by the line filter and the analysis)
            if lines:
                nl = newline_offsets(item.source)
                lines = _in_code(item.source, item.tree, lines, pattern, nl)
            info = project.add(item.path, item.source, item.tree, lines, root, newlines=nl)
        info.pattern = pattern  # type: ignore[attr-defined]
        infos[item.path] = info
    with contextlib.suppress(RecursionError, MemoryError):
        analyse(project)
    out = []
    for item in parsed:
        rep = FileReport(item.path)
        out.append(rep)
        if item.error is None and item.late:  # a function body read late does not parse
            item.error = _syntax_error(item, item.late[0])
        if item.error is not None:  # (a lazy module: when the analysis needed it)
            rep.violations.append(item.error)
            continue
        m = infos.get(item.path)
        if m is None or not m.loaded:
            continue
        failed = getattr(m, "failed", None)
        if failed:
            rep.violations.append(
                Violation(item.path, 1, 1, 1, 2, "CBD902", f"cannot analyse: {failed}")
            )
            continue
        if getattr(m, "recursion", False):
            rep.violations.append(
                Violation(item.path, 1, 1, 1, 2, "CBD901", "cannot analyse: too deeply nested")
            )
            continue
        # (columns need the lines only where a line is not ASCII)
        src_lines = [] if item.source.isascii() else item.source.splitlines()
        for oc in iter_outcomes(m):
            _report(rep, oc, src_lines, item)
        _apply_noqa(rep, item.source)
        rep.violations.sort(key=lambda v: (v.cell or 0, v.line, v.col, v.code))
    project.release()
    return out


_KINDS: dict[str, str] = {}


def _kind(oc: Outcome) -> str:
    if getattr(oc, "container", False):
        return "container"
    if not _KINDS:
        from .targets import TARGETS

        for t in reversed(TARGETS.values()):  # (the first target of a name wins)
            _KINDS[t.name] = t.kind
    got = _KINDS.get(oc.name)
    if got is not None:
        return got
    return "shuffle" if "shuffle" in oc.name.lower() else "deconv"


def _report(rep: FileReport, oc: Outcome, src_lines: list[str], item: _Parsed) -> None:
    node = oc.node
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None) or line
    col = _char_col(src_lines, line, getattr(node, "col_offset", 0))
    end_col = _char_col(src_lines, end_line, getattr(node, "end_col_offset", 0) or 0)
    codes = CODES_OF_KIND[_kind(oc)]
    label = getattr(oc, "label", None)  # a class of the tree that is the layer
    if oc.findings:
        for code, msg, via in oc.findings:
            if label and label != oc.name and msg.startswith(oc.name + " "):
                msg = f"{label} (a {oc.name}){msg[len(oc.name) :]}"
            text = f"{msg} (via {via})" if via else msg
            rep.violations.append(
                _in_cell(Violation(rep.path, line, col, end_line, end_col, code, text), item.cells)
            )
        return
    if oc.status == "clean":
        rep.clean.append((line, codes))
        return
    cell = None
    if item.cells is not None and 0 < line <= len(item.cells):
        cell, line = item.cells[line - 1]
    name = f"{label} (a {oc.name})" if label and label != oc.name else oc.name
    rep.unresolved.append(Unresolved(rep.path, line, col, name, oc.reason(), codes, cell))


def _apply_noqa(rep: FileReport, source: str) -> None:
    if not rep.violations or "noqa" not in source.lower():
        return
    per_line, file_level = _noqa(source)
    kept = []
    for v in rep.violations:
        if file_level is not False and _suppressed(v.code, file_level):  # type: ignore[arg-type]
            continue
        if _line_of(v, source) in per_line and _suppressed(v.code, per_line[_line_of(v, source)]):
            continue
        kept.append(v)
    rep.violations = kept


def _line_of(v: Violation, source: str) -> int:
    """The line of the joined source a finding sits on (notebooks: undo the cell numbering)."""
    return v.line if v.cell is None else _cell_line(source, v.cell, v.line)


def _cell_line(source: str, cell: int, line: int) -> int:
    marker = f"# %% cbdiag cell {cell}\n"
    i = source.find(marker)
    return line if i < 0 else source.count("\n", 0, i) + 1 + line


def check_source(source: str, path: str) -> list[Violation]:
    """All findings (before selection) in one file's source; ``CBD901`` if it does not parse."""
    return check_files([(path, source)])[0].violations
