"""Jupyter notebooks for the linter: the code cells joined into one Python source (IPython
magics, shell escapes and help lines left out, line numbers kept), with the cell and line
within the cell of every line, the way ruff reports notebooks (``path:cell N:line:col``; ``N``
counts every cell of the notebook from 1, markdown included, in file order)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Largest notebook read (bytes of JSON).
MAX_NOTEBOOK = 64 << 20


class NotebookError(Exception):
    """A notebook that cannot be read (its message is the finding's)."""


def _cell_lines(src: Any) -> list[str]:
    if isinstance(src, list):
        if not all(isinstance(s, str) for s in src):
            raise NotebookError("cannot parse: a notebook cell's source is not text")
        text = "".join(src)
    elif isinstance(src, str):
        text = src
    else:
        raise NotebookError("cannot parse: a notebook cell's source is not text")
    return text.split("\n")


def _python(line: str) -> bool:
    s = line.lstrip()
    return not (s.startswith(("%", "!")) or (s.endswith("?") and not s.startswith("#")))


def notebook_source(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``(source, cells)``: the joined code cells and, per line of it, ``(cell, line)``."""
    if len(text) > MAX_NOTEBOOK:
        raise NotebookError(f"cannot parse: a notebook over {MAX_NOTEBOOK >> 20} MiB")
    try:
        import json

        nb = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"cannot parse: not a notebook (invalid JSON: {exc})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("cannot parse: not a notebook (no list of cells)")
    lang = ""
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        info = meta.get("language_info") or meta.get("kernelspec") or {}
        if isinstance(info, dict):
            lang = str(info.get("name") or info.get("language") or "")
    if lang and "python" not in lang.lower():
        return "", []
    out: list[str] = []
    where: list[tuple[int, int]] = []
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _cell_lines(cell.get("source", ""))
        out.append(f"# %% cbdiag cell {n}")
        where.append((n, 0))
        if lines and lines[0].lstrip().startswith("%%"):
            lines = [""] * len(lines)  # a cell magic: not Python
        for i, line in enumerate(lines, 1):
            out.append(line if _python(line) else "")
            where.append((n, i))
    return "\n".join(out) + "\n", where
