"""``cbdiag lint``: checkerboard-prone upsampling in model source code, read with ``ast``.

The code is parsed, never imported or executed. See :mod:`cbdiag.lint.rules` for the rules and
:mod:`cbdiag.lint.targets` for the API table.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Sequence
from operator import attrgetter

from ..errors import UsageError
from ..files import InputError, display, is_regular, pure, read_bytes, reason
from ..records import MutableRecord
from .engine import FileReport, Unresolved, Violation, check_files, check_source
from .notebook import MAX_NOTEBOOK
from .rules import DEFAULT_SELECT, RULES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LintResult",
    "Unresolved",
    "Violation",
    "lint_paths",
    "lint_source",
    "lint_text",
    "load_config",
    "select_codes",
]

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
)
SUFFIXES = (".py", ".pyi", ".ipynb")
#: Largest source file read (bytes).
MAX_SOURCE = 16 << 20


class LintResult(MutableRecord):
    """Findings (selected and not suppressed), the files read, and the layer calls the
    selected rules look at: how many ended clean, and those left unresolved (with why)."""

    violations: list[Violation]
    files: int = 0
    unresolved: list[Unresolved]
    clean: int = 0

    _fields = ("violations", "files", "unresolved", "clean")
    _key = attrgetter(*_fields)

    def __init__(
        self,
        violations: list[Violation] | None = None,
        files: int = 0,
        unresolved: list[Unresolved] | None = None,
        clean: int = 0,
    ) -> None:
        self.violations = list() if violations is None else violations
        self.files = files
        self.unresolved = list() if unresolved is None else unresolved
        self.clean = clean

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0


def select_codes(
    select: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> set[str]:
    """Expand ruff-style selectors (codes, prefixes, ``ALL``) into the set of enabled codes."""

    def expand(items: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for raw in items:
            item = raw.strip().upper()
            if not item:
                continue
            if item == "ALL":
                out |= set(RULES)
                continue
            hits = {c for c in RULES if c.startswith(item)}
            if not hits:
                raise UsageError(
                    f"unknown rule selector {raw!r} (known: ALL, {', '.join(RULES)} or prefixes)"
                )
            out |= hits
        return out

    base = expand(select) if select is not None else set(DEFAULT_SELECT)
    base |= expand(extend_select or [])
    base -= expand(ignore or [])
    return base


def lint_source(
    source: str, path: str = "<stdin>", *, codes: set[str] | None = None
) -> list[Violation]:
    """Findings in one source text (``codes``: enabled codes, default the default set)."""
    enabled = set(DEFAULT_SELECT) if codes is None else codes
    return [v for v in check_source(source, path) if v.code in enabled]


def lint_text(source: str, path: str = "<stdin>", *, codes: set[str] | None = None) -> LintResult:
    """:func:`lint_source` with the unresolved and clean layer calls."""
    enabled = set(DEFAULT_SELECT) if codes is None else codes
    result = LintResult(files=1)
    _collect(result, check_files([(path, source)])[0], frozenset(enabled))
    return result


def _collect(result: LintResult, rep: FileReport, codes: frozenset[str]) -> None:
    result.violations.extend(v for v in rep.violations if v.code in codes)
    result.unresolved.extend(u for u in rep.unresolved if codes & set(u.codes))
    result.clean += sum(1 for _, c in rep.clean if codes & set(c))


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


#: Largest pyproject.toml read (bytes).
MAX_CONFIG = 1 << 20


def _toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        raw = read_bytes(path, MAX_CONFIG, "configuration")
    except InputError as exc:
        raise UsageError(f"cannot read the configuration: {exc}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{display(path)}: cannot read the configuration (not UTF-8)") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        why = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise UsageError(
            f"{display(path)}: cannot read the configuration ({display(why, 200)})"
        ) from exc


def load_config(
    start: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """``[tool.cbdiag.lint]`` (merged over ``[tool.cbdiag]``) of the nearest ``pyproject.toml``
    from ``start`` upwards that has a ``[tool.cbdiag]`` table; keys normalised to snake_case."""
    d = os.path.realpath(start if start is not None else os.getcwd())
    while True:
        p = os.path.join(d, "pyproject.toml")
        if os.path.isfile(p):
            tool = _toml(p).get("tool", {})
            data = tool.get("cbdiag") if isinstance(tool, dict) else None
            if not isinstance(tool, dict):
                raise UsageError(f"{display(p)}: [tool] must be a table")
            if data is not None and not isinstance(data, dict):
                raise UsageError(f"{display(p)}: [tool.cbdiag] must be a table")
            if isinstance(data, dict):
                merged = {k: v for k, v in data.items() if not isinstance(v, dict)}
                lint = data.get("lint", {})
                if not isinstance(lint, dict):
                    raise UsageError(f"{display(p)}: [tool.cbdiag.lint] must be a table")
                merged.update(lint)
                cfg = {k.replace("-", "_"): v for k, v in merged.items()}
                known = {
                    "select",
                    "extend_select",
                    "ignore",
                    "exclude",
                    "extend_exclude",
                    "output_format",
                }
                unknown = sorted(set(cfg) - known)
                if unknown:
                    raise UsageError(
                        f"{display(p)}: unknown [tool.cbdiag.lint] key {unknown[0]!r} (known: "
                        f"{', '.join(sorted(k.replace('_', '-') for k in known))})"
                    )
                for k, v in cfg.items():
                    if k == "output_format":
                        if not isinstance(v, str):
                            raise UsageError(
                                f"{display(p)}: [tool.cbdiag.lint] output-format must be a string"
                            )
                    elif not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                        raise UsageError(
                            f"{display(p)}: [tool.cbdiag.lint] {k} must be a list of strings"
                        )
                return cfg, p
        if os.path.exists(os.path.join(d, ".git")) or os.path.exists(os.path.join(d, ".hg")):
            break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return {}, None


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


class _Excluder:
    """Glob patterns matched against each path part (and against the whole path when they
    contain a slash), compiled once."""

    def __init__(self, patterns: Sequence[str]) -> None:
        parts = [fnmatch.translate(p) for p in patterns if "/" not in p]
        self.part = re.compile("|".join(parts)) if parts else None
        self.whole = [p for p in patterns if "/" in p]

    def name(self, name: str) -> bool:
        return bool(self.part and self.part.match(name))

    def path(self, path: str | os.PathLike[str]) -> bool:
        posix = pure(path, slashes=True)
        if any(self.name(part) for part in posix.split("/") if part):
            return True
        return any(
            fnmatch.fnmatch(posix, pat) or fnmatch.fnmatch(posix, f"*/{pat}") for pat in self.whole
        )


def iter_files(
    paths: Iterable[str | os.PathLike[str]],
    exclude: Sequence[str],
    *,
    force_exclude: bool = False,
) -> list[tuple[str, str | None]]:
    """``(path, error)`` for every file to lint: directories are searched for ``.py``/``.pyi``
    outside the excludes; files given explicitly are linted unless ``force_exclude``."""
    out: list[tuple[str, str | None]] = []
    ex = _Excluder(exclude)
    for raw in paths:
        p = pure(raw)
        if os.path.isdir(p):
            unread: list[tuple[str, str | None]] = []

            def onerror(
                exc: OSError, top: str = p, unread: list[tuple[str, str | None]] = unread
            ) -> None:
                where = exc.filename if exc.filename is not None else top
                unread.append((str(where), f"cannot search the folder ({reason(exc)})"))

            for root, dirs, files in os.walk(p, onerror=onerror):
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not ex.name(d) and not (ex.whole and ex.path(os.path.join(root, d)))
                )
                for f in sorted(files):
                    if f.endswith(SUFFIXES) and not ex.name(f):
                        if ex.whole and ex.path(os.path.join(root, f)):
                            continue
                        q = os.path.join(root, f)
                        if not is_regular(q) and os.path.exists(q):
                            continue  # a named pipe, a device or a socket: not a source file
                        out.append((q, None))
            out.extend(unread)
        elif os.path.exists(p):
            if force_exclude and ex.path(p):
                continue
            out.append((p, None))
        else:
            out.append((p, "no such file or directory"))
    return out


def decode(raw: bytes) -> tuple[str | None, str | None]:
    """Source bytes to text as Python reads them (BOM and ``# coding:`` honoured)."""
    first = raw.find(b"\n")
    second = raw.find(b"\n", first + 1) if first >= 0 else -1
    head = raw if second < 0 else raw[:second]
    if not raw.startswith(b"\xef\xbb\xbf") and b"coding" not in head:
        try:  # most files: UTF-8 with no coding line, decoded without the tokenizer
            return raw.decode("utf-8"), None
        except UnicodeDecodeError:
            pass  # the tokenizer's reading says which problem it is
    import io
    import tokenize

    try:  # (detect_encoding reads at most two lines)
        enc, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except LookupError as exc:  # a coding: line naming an unknown encoding
        return None, f"cannot decode: {exc}"
    except SyntaxError as exc:  # an unknown or contradicted coding line, or bytes not UTF-8
        if "unknown encoding" in str(exc) or "encoding problem" in str(exc):
            return None, f"cannot decode: {exc}"
        return None, "cannot decode: not valid UTF-8 and no '# coding:' line says what it is"
    try:
        return raw.decode(enc), None
    except UnicodeDecodeError as exc:
        return None, f"cannot decode: not valid {enc} (byte {exc.start + 1})"
    except LookupError as exc:
        return None, f"cannot decode: {exc}"


def _read(path: str) -> tuple[str | None, str | None]:
    """A source file's text, or why not: only a regular file (a FIFO or a device is refused
    before a byte is read), at most :data:`MAX_SOURCE` bytes."""
    limit = MAX_NOTEBOOK if path.endswith(".ipynb") else MAX_SOURCE
    try:
        raw = read_bytes(path, limit, "source")
    except InputError as exc:
        return None, str(exc).removeprefix(f"{display(path)}: ")
    if path.endswith(".ipynb"):
        try:
            return raw.decode("utf-8-sig"), None
        except UnicodeDecodeError:
            return None, "cannot decode (a notebook must be UTF-8)"
    return decode(raw)


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    select: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    extend_exclude: Sequence[str] | None = None,
    force_exclude: bool = False,
    jobs: int = 1,
) -> LintResult:
    """Lint files and directories; returns the findings in path and line order.

    The files are analysed together: literal arguments passed in one file reach the
    functions and classes of another that it imports (files that cannot reach one another
    are analysed apart, one group at a time, with the same results). (``jobs`` is accepted
    for compatibility; the analysis runs in one process.)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> src = "import torch.nn as nn\\nup = nn.ConvTranspose2d(8, 4, 3, 2)\\n"
    >>> _ = (d / "g.py").write_text(src)
    >>> [(v.line, v.code) for v in lint_paths([d]).violations]
    [(2, 'CBD101')]
    """
    codes = frozenset(select_codes(select, extend_select, ignore))
    excl = list(DEFAULT_EXCLUDE if exclude is None else exclude) + list(extend_exclude or [])
    files = iter_files(paths, excl, force_exclude=force_exclude)
    result = LintResult(files=len(files))
    texts: list[tuple[str, str]] = []
    roots: dict[str, str | None] = {}
    for path, err, root in _with_roots(files, paths):
        text = None
        if err is None:
            text, err = _read(path)
        if text is None:
            if "CBD902" in codes:
                result.violations.append(
                    Violation(path, 1, 1, 1, 1, "CBD902", f"cannot read: {err}")
                )
            continue
        texts.append((path, text))
        roots[path] = root
    named = {os.path.normpath(p) for p in paths if not os.path.isdir(p)}
    found = {p for p, _ in texts if os.path.normpath(p) not in named}
    try:
        reports = check_files(texts, roots, found)
    except Exception as exc:  # never lose the run: report it on every file
        reports = [
            FileReport(
                p,
                [Violation(p, 1, 1, 1, 2, "CBD902", f"cannot analyse: {type(exc).__name__}")],
            )
            for p, _ in texts
        ]
    for rep in reports:
        _collect(result, rep, codes)
    result.violations.sort(key=lambda v: (v.path, v.cell or 0, v.line, v.col, v.code))
    result.unresolved.sort(key=lambda u: (u.path, u.cell or 0, u.line, u.col))
    return result


def _with_roots(
    files: list[tuple[str, str | None]], paths: Sequence[str | os.PathLike[str]]
) -> list[tuple[str, str | None, str | None]]:
    """Each file with the directory it was found under (its module names start there)."""
    # (compared as absolute paths: ``commonpath`` of "." and "./pkg/a.py" is "")
    # (both normalised by ``abspath``: a file is below a directory when the directory and a
    # separator start its path, or it is the directory)
    dirs = []
    for p in paths:
        if os.path.isdir(p):
            a = os.path.abspath(p)
            dirs.append((os.fspath(p), a, a if a.endswith(os.sep) else a + os.sep))
    out = []
    for path, err in files:
        full = os.path.abspath(path)
        root = next((d for d, a, pre in dirs if full.startswith(pre) or full == a), None)
        out.append((path, err, root))
    return out
