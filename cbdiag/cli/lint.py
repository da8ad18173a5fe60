"""``cbdiag lint``: the CI lint step for checkerboard-prone upsampling in model code."""

from __future__ import annotations

import sys
from collections import Counter

from ..errors import UsageError
from ..files import check_writable, display, write_atomic
from ..lint import (
    DEFAULT_EXCLUDE,
    LintResult,
    decode,
    lint_paths,
    lint_text,
    load_config,
    select_codes,
)
from ..lint.engine import Violation
from ..lint.rules import RULES, rules_markdown
from ..report.lint import FORMATS, RENDERERS, display_path
from ._common import handle_errors, status
from .parse import Parser

HELP = """Lint model source code for checkerboard-prone upsampling, without importing or
running it.

Reads .py/.pyi files, Jupyter notebooks (.ipynb: code cells, reported as path:cell N:line:col)
and directories (recursively; .git, virtual environments and build folders excluded), or - for
stdin. Resolves imports and aliases to PyTorch, Keras/TensorFlow and Flax transposed
convolutions (and strided convolutions, pixel shuffles) and follows static values: literals,
constants, parameter defaults, literal arguments from call sites anywhere in the linted files,
loops over literal lists, layer lists built in loops, Keras model.add, functools.partial.
Reports path:line:col: CODE message; a finding reached through a call names it (via ...).
Every layer call ends as a finding, clean, or unresolved: --show-unresolved lists the last
with the reason, and the summary counts them.

Rules: CBD101 kernel not divisible by stride, CBD102 kernel smaller than stride, CBD103 dilation
sharing a factor with the stride, CBD104 stacked transposed convolutions with uneven combined
overlap, CBD105 strided-conv gradient checkerboard (off by default), CBD106 pixel shuffle
without ICNR (off by default), CBD901/CBD902 unparsable/unreadable file. --explain CODE
documents one.

Suppress with # noqa, # noqa: CBD101, or a file-level # cbdiag: noqa. Configuration in
[tool.cbdiag.lint] of the nearest pyproject.toml (select, extend-select, ignore, exclude,
extend-exclude, output-format); flags override it.

Exit codes: 0 clean, 1 violations (0 with --exit-zero), 2 usage or configuration error, or a
file that could not be read or analysed (CBD902; every other file is still reported)."""


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [p for v in values for p in v.split(",") if p.strip()]


def lint(
    paths: list[str] | None = None,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    exclude: list[str] | None = None,
    force_exclude: bool = False,
    output_format: str | None = None,
    output: str | None = None,
    force: bool = False,
    exit_zero: bool = False,
    statistics: bool = False,
    explain: str | None = None,
    stdin_filename: str | None = None,
    jobs: int = 1,
    show_unresolved: bool = False,
) -> None:
    """Run the linter as ``cbdiag lint`` does; exits with the contract's code."""
    with handle_errors():
        if explain is not None:
            code = explain.strip().upper()
            if code == "ALL":
                sys.stdout.write(rules_markdown())
                return
            if code not in RULES:
                raise UsageError(f"unknown rule {explain!r} (known: ALL, {', '.join(RULES)})")
            sys.stdout.write(RULES[code].doc())
            return
        if jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {jobs}")
        cfg, cfg_path = load_config()
        fmt = output_format or str(cfg.get("output_format", "full"))
        if fmt not in FORMATS:
            raise UsageError(f"unknown output format {fmt!r} (known: {', '.join(FORMATS)})")
        if select:  # a --select on the command line replaces the configured selection
            sel, ext, ign = _split(select), _split(extend_select) or [], _split(ignore) or []
        else:
            sel = cfg.get("select")
            ext = (cfg.get("extend_select") or []) + (_split(extend_select) or [])
            ign = (cfg.get("ignore") or []) + (_split(ignore) or [])
        codes = select_codes(sel, ext, ign)
        excl = list(cfg.get("exclude") or DEFAULT_EXCLUDE) + list(cfg.get("extend_exclude") or [])
        excl += _split(exclude) or []
        if not paths:
            raise UsageError("give files or directories to lint (or - for stdin)")
        if output is not None:
            check_writable(output, force=force)
        sources: dict[str, list[str]] = {}
        if paths == ["-"]:
            name = stdin_filename or "-"
            decoded, problem = decode(sys.stdin.buffer.read())
            if decoded is None:
                violations = [Violation(name, 1, 1, 1, 2, "CBD902", f"cannot read: {problem}")]
                res = LintResult([v for v in violations if v.code in codes], 1)
            else:
                res = lint_text(decoded, name, codes=codes)
                sources[name] = decoded.splitlines()
        else:
            if "-" in paths:
                raise UsageError("- (stdin) cannot be mixed with paths")
            res = lint_paths(
                paths, select=sorted(codes), exclude=excl, force_exclude=force_exclude, jobs=jobs
            )
            if fmt == "full":
                for v in res.violations:
                    if v.path not in sources:
                        sources[v.path] = _source_lines(v.path)
        violations, n_files = res.violations, res.files
        if statistics:
            counts = Counter(v.code for v in violations)
            text = "".join(f"{n:5d}  {c}  {RULES[c].name}\n" for c, n in sorted(counts.items()))
        else:
            text = RENDERERS[fmt](violations, sources)
        unresolved_text = "".join(
            display(
                f"{display_path(u.path)}:{f'cell {u.cell}:' if u.cell is not None else ''}"
                f"{u.line}:{u.col}: unresolved {u.name}: {u.reason}",
                limit=4000,
            )
            + "\n"
            for u in res.unresolved
        )
        if show_unresolved and fmt in ("full", "concise") and not statistics:
            text += unresolved_text
        if output is not None:
            data = text.encode("utf-8", "surrogateescape")
            write_atomic(output, lambda fh: fh.write(data), force=force)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        files = {v.path for v in violations}
        if show_unresolved and unresolved_text and fmt not in ("full", "concise"):
            sys.stderr.write(unresolved_text)
        n_un = len(res.unresolved)
        calls = f"; layer calls: {res.clean} clean, {n_un} unresolved" + (
            " (--show-unresolved lists them)" if n_un and not show_unresolved else ""
        )
        if violations:
            status(
                f"Found {len(violations)} violation{'s' * (len(violations) != 1)} in "
                f"{len(files)} file{'s' * (len(files) != 1)} ({n_files} checked{calls})"
                + (f"; configuration: {display(str(cfg_path))}" if cfg_path else "")
            )
        else:
            status(f"All checks passed ({n_files} files{calls}).")
        if any(v.code == "CBD902" for v in violations):
            raise SystemExit(2)  # an input that could not be read: every other file reported
        if violations and not exit_zero:
            raise SystemExit(1)


def _source_lines(path: str) -> list[str]:
    """A file's lines for the full format (a notebook's: its joined code cells), read as the
    linter read it (a regular file, within the size limit)."""
    from ..lint import _read

    text, _ = _read(path)
    if text is None:
        return []
    if path.endswith(".ipynb"):
        from ..lint.notebook import NotebookError, notebook_source

        try:
            return notebook_source(text)[0].splitlines()
        except NotebookError:
            return []
    return text.splitlines()


def parser() -> Parser:
    """The options of ``cbdiag lint`` (parsed by the standard library: a pre-commit run on a
    few files starts without the command-line framework the other commands use)."""
    p = Parser("lint", HELP, "[OPTIONS] [PATHS]...")
    p.add_argument("paths", nargs="*", metavar="PATHS", help="Files, directories, or -.")
    p.add_argument(
        "--select", action="append", metavar="CODES", help="Rules to enable (codes, prefixes, ALL)."
    )
    p.add_argument(
        "--extend-select", action="append", metavar="CODES", help="Rules to add to the selection."
    )
    p.add_argument("--ignore", action="append", metavar="CODES", help="Rules to disable.")
    p.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="Patterns to exclude (adds to defaults).",
    )
    p.add_argument(
        "--force-exclude", action="store_true", help="Apply excludes to files named explicitly."
    )
    p.add_argument("--output-format", metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}.")
    p.add_argument("-o", "--output", metavar="FILE", help="Write the report to this file.")
    p.add_argument("--force", action="store_true", help="Overwrite the --output file.")
    p.add_argument(
        "--exit-zero", action="store_true", help="Exit 0 even when there are violations."
    )
    p.add_argument(
        "--statistics", action="store_true", help="Count violations per rule instead of listing."
    )
    p.add_argument(
        "--explain", metavar="CODE", help="Print a rule's documentation (or ALL) and exit."
    )
    p.add_argument("--stdin-filename", metavar="NAME", help="Name to report for - (stdin).")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="Accepted for compatibility (one process).",
    )
    p.add_argument(
        "--show-unresolved",
        action="store_true",
        help="List the layer calls whose parameters are not known.",
    )
    return p


def main(argv: list[str]) -> None:
    """``cbdiag lint ARGV``: parse the options and run; exits with the contract's code."""
    lint(**vars(parser().parse(argv)))
