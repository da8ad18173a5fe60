"""Output formats of ``cbdiag lint`` (ruff's family): full, concise, json, json-lines, github,
sarif. One function per format, each taking the violations and returning the text."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .._version import __version__
from ..files import display, pure
from ..lint.engine import Violation
from ..lint.rules import RULES

FORMATS = ("full", "concise", "json", "json-lines", "github", "sarif")
INFO_URI = "https://pypi.org/project/cbdiag/"


def display_path(path: str) -> str:
    """Relative to the working directory when below it (as editors and CI expect)."""
    if path in ("-", "<stdin>"):
        return path
    absolute = os.path.abspath(path)  # not resolved: a symlink keeps its own name
    rel = os.path.relpath(absolute, os.getcwd())
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return pure(absolute, slashes=True)
    return pure(rel, slashes=True)


def _cwd_uri() -> str:
    from pathlib import Path

    return Path.cwd().resolve().as_uri() + "/"


def where(v: Violation) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook (as ruff writes it)."""
    cell = f"cell {v.cell}:" if v.cell is not None else ""
    return f"{display_path(v.path)}:{cell}{v.line}:{v.col}"


def _line(text: str) -> str:
    """One line of a text format: control characters (ANSI escapes from a file name or a
    string in the source) escaped, so the output cannot drive the terminal."""
    return display(text, limit=MAX_LINE) + "\n"


#: Longest line a text format writes (a longer message or path is shortened in the middle).
MAX_LINE = 4000
#: Source characters shown around a finding in the full format.
CONTEXT = 160


def concise(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    return "".join(_line(f"{where(v)}: {v.code} {v.message}") for v in vs)


def _source_line(v: Violation, lines: list[str]) -> int:
    """The index (1-based) in ``lines`` of a finding's line; a notebook's lines are its
    joined code cells, each after a ``# %% cbdiag cell N`` marker."""
    if v.cell is None:
        return v.line
    try:
        return lines.index(f"# %% cbdiag cell {v.cell}") + 1 + v.line
    except ValueError:
        return 0


def full(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    """``path:line:col: CODE [name] message``, the source line with a caret, and the fix."""
    out = []
    for v in vs:
        out.append(_line(f"{where(v)}: {v.code} [{v.rule}] {v.message}"))
        lines = (sources or {}).get(v.path)
        at = _source_line(v, lines) if lines else 0
        if lines and 0 < at <= len(lines):
            text, caret = _excerpt(lines[at - 1].rstrip("\n"), v)
            out.append(f"  {v.line:>4} | {text}\n")
            out.append(f"       | {caret}\n")
        out.append(f"       = help: see `cbdiag lint --explain {v.code}`\n\n")
    return "".join(out)


def _excerpt(text: str, v: Violation) -> tuple[str, str]:
    """The part of a source line shown under a finding (at most about :data:`CONTEXT`
    characters around it, escaped like every text line) and the caret line under it."""
    col = max(1, min(v.col, len(text) + 1))
    end = v.end_col if v.end_line == v.line else len(text) + 1
    end = max(col + 1, min(end, len(text) + 1))
    lo = max(0, col - 1 - CONTEXT // 2)
    hi = min(len(text), max(end - 1, col) + CONTEXT // 2)
    end = min(end, col + CONTEXT)
    head = "..." if lo > 0 else ""
    tail = "..." if hi < len(text) else ""
    before = head + display(text[lo : col - 1], limit=10 * CONTEXT)
    marked = display(text[col - 1 : end - 1], limit=10 * CONTEXT)
    after = display(text[end - 1 : hi], limit=10 * CONTEXT) + tail
    return before + marked + after, " " * len(before) + "^" * max(1, len(marked))


def _record(v: Violation) -> dict[str, object]:
    return {
        "code": v.code,
        "name": v.rule,
        "message": v.message,
        "filename": display_path(v.path),
        "location": {"row": v.line, "column": v.col},
        "end_location": {"row": v.end_line, "column": v.end_col},
        "noqa_row": v.line,
        "level": RULES[v.code].level,
        "url": None,
        "cell": v.cell,
    }


def as_json(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    import json

    return json.dumps([_record(v) for v in vs], indent=2) + "\n"


def json_lines(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    import json

    return "".join(json.dumps(_record(v)) + "\n" for v in vs)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    """GitHub Actions workflow commands, escaped as actions/toolkit does."""
    out = []
    for v in vs:
        path = display_path(v.path)
        level = "error" if RULES[v.code].level == "error" else "warning"
        props = (
            f"title={_escape_prop(f'cbdiag ({v.code})')},file={_escape_prop(path)},"
            f"line={v.line},col={v.col},endLine={v.end_line},endColumn={v.end_col}"
        )
        msg = _escape_data(f"{where(v)}: {v.code} {v.message}")
        out.append(_line(f"::{level} {props}::{msg}"))
    return "".join(out)


def sarif(vs: Sequence[Violation], sources: dict[str, list[str]] | None = None) -> str:
    """SARIF 2.1.0 for GitHub code scanning: every rule with its descriptions and help,
    repository-relative URIs, 1-based regions (``endColumn`` is the column after)."""
    codes = sorted(RULES)
    index = {c: i for i, c in enumerate(codes)}
    rules = []
    for c in codes:
        r = RULES[c]
        rules.append(
            {
                "id": c,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": f"{r.what} {r.why}"},
                "help": {"text": f"{r.why} Use instead: {r.instead}", "markdown": r.doc()},
                "defaultConfiguration": {"level": "error" if r.level == "error" else "warning"},
                "properties": {
                    "tags": ["checkerboard", "upsampling"],
                    "precision": "very-high",
                    "problem.severity": "error" if r.level == "error" else "warning",
                },
            }
        )
    results = []
    for v in vs:
        results.append(
            {
                "ruleId": v.code,
                "ruleIndex": index[v.code],
                "level": "error" if RULES[v.code].level == "error" else "warning",
                "message": {"text": v.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": display_path(v.path),
                                "uriBaseId": "%SRCROOT%",
                            },
                            "region": {
                                "startLine": v.line,
                                "startColumn": v.col,
                                "endLine": v.end_line,
                                "endColumn": max(v.end_col, v.col + 1)
                                if v.end_line == v.line
                                else v.end_col,
                            },
                        }
                    }
                ],
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cbdiag",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _cwd_uri()}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    import json

    return json.dumps(doc, indent=2) + "\n"


RENDERERS: dict[str, Callable[[Sequence[Violation], dict[str, list[str]] | None], str]] = {
    "full": full,
    "concise": concise,
    "json": as_json,
    "json-lines": json_lines,
    "github": github,
    "sarif": sarif,
}
assert set(RENDERERS) == set(FORMATS)
