"""Which linted files may reach one another, read from their text alone (nothing parsed but
import lines), so that each group of files that can only reach each other is analysed on its
own and its syntax trees let go before the next group is parsed.

A file *reaches* another when one of its words names it: the analysis goes from one module to
another only through names. Its import statements name modules (every segment of a dotted
name, and a relative import's module as it resolves); a class's bases and ``partial(name,
...)`` name functions and classes of any module by their own name (see
:meth:`.structure.Project.count_callers`). A file *answers* to the segments of its module's
names and to every name it defines (``def`` and ``class`` anywhere in its text). Files that
reach each other, directly or through others, are one group; the groups are exactly as wide
as the analysis could ever look, so each group analysed alone gives what one analysis of all
the files gives.

Where the text cannot tell what a file's imports name (an import line that does not parse
alone, an ``import`` after a colon or semicolon that continues on the next line, a relative
import above the top of the tree), the file may reach any file: then every file is one group.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Sequence

from .structure import _PARTIAL_TEXT, _import_words, import_statements, module_names

#: ``def name`` and ``class Name`` anywhere in a file's text (strings and comments included:
#: a name more is only a wider group).
_DEFINED = re.compile(r"\s+(\w+)")
#: A class header's name up to its bases' opening parenthesis (after ``class``).
_CLASS_OPEN = re.compile(r"\s+\w+\s*\(")
_WORD = re.compile(r"\w+")


def relative_name(name: str, path: str, level: int, module: str | None) -> str | None:
    """The module ``from {'.' * level}{module} import ...`` names in module ``name`` (at
    ``path``), or None when it goes above the top of the tree."""
    parts = name.split(".")
    is_pkg = os.path.basename(path).startswith("__init__.")
    base = parts if is_pkg else parts[:-1]
    if level - 1 > len(base):
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([module] if module else [])]) or None


def reaching_words(source: str, name: str, path: str) -> set[str] | None:
    """The words by which the file ``path`` (module ``name``) may reach another file, or None
    when it may reach any."""
    found = import_statements(source)
    if found is None:
        return None
    words: set[str] = set()
    for st in found:
        if isinstance(st, ast.Import):
            for a in st.names:
                words.update(a.name.split("."))
            continue
        if st.module:
            words.update(st.module.split("."))
        if st.level:
            target = relative_name(name, path, st.level, st.module)
            if target is None:
                return None
            words.update(target.split("."))
        words.update(a.name for a in st.names if a.name != "*")
    if _unread_imports(source, words):
        return None
    for i in _keyword(source, "class"):
        m = _CLASS_OPEN.match(source, i)
        if m is None:
            continue
        # (to the end of the line the bases close on: a parenthesis in a string there closes
        # nothing)
        close = _closing(source, m.end())
        end = source.find("\n", close if close >= 0 else m.end())
        words.update(_WORD.findall(source, m.end(), len(source) if end < 0 else end))
    if "partial" in source:
        words.update(hit.group(2) for hit in _PARTIAL_TEXT.finditer(source))
    return words


def _unread_imports(source: str, words: set[str]) -> bool:
    """Add to ``words`` every word on the lines where ``import`` stands but
    :func:`import_statements` reads no statement (after a colon or semicolon, in a string);
    True when such a line goes on to the next (its names cannot be read from it alone)."""
    read = set(_import_words(source))
    i = source.find("import")
    while i >= 0:
        if source[i + 6 : i + 7] in " \t(\\" and i not in read:
            start = source.rfind("\n", 0, i) + 1
            end = source.find("\n", i)
            end = len(source) if end < 0 else end
            line = source[start:end]
            code = line.split("#", 1)[0].rstrip(" \t")
            if code.endswith("\\") or code.count("(") > code.count(")"):
                return True
            words.update(_WORD.findall(line))
        i = source.find("import", i + 6)
    return False


def _closing(source: str, pos: int) -> int:
    """The offset of the parenthesis that closes the one open before ``pos`` (-1: none)."""
    depth = 1
    for m in _PARENS.finditer(source, pos):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            return m.start()
    return -1


_PARENS = re.compile(r"[()]")


def answer_words(source: str, names: list[str]) -> set[str]:
    """The words that name the file: its module names' segments and the names it defines."""
    words = {seg for n in names for seg in n.split(".")}
    for kw in ("def", "class"):
        for i in _keyword(source, kw):
            m = _DEFINED.match(source, i)
            if m is not None:
                words.add(m.group(1))
    return words


def _keyword(source: str, word: str) -> list[int]:
    """The offsets just after each ``word`` of ``source`` not inside a longer name or after a
    dot (found by ``str.find``: a pattern with a look-behind scans every character)."""
    out = []
    n = len(word)
    i = source.find(word)
    while i >= 0:
        if i == 0 or not (source[i - 1].isalnum() or source[i - 1] in "_."):
            out.append(i + n)
        i = source.find(word, i + n)
    return out


def groups(files: Sequence[tuple[str, str, str | None]]) -> list[list[int]]:
    """The groups of ``files`` (``(path, Python source, lint root)``) that may reach only
    each other, as lists of indices in the order given, ordered by their first file."""
    n = len(files)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    owners: dict[str, list[int]] = {}
    reach: list[set[str]] = []
    for i, (path, source, root) in enumerate(files):
        names = module_names(path, root)
        words = reaching_words(source, names[0], path)
        if words is None:
            return [list(range(n))] if n else []
        reach.append(words)
        for w in answer_words(source, names):
            owners.setdefault(w, []).append(i)
    joined: set[str] = set()  # (the owners of a word reached: one group, joined once)
    for i, words in enumerate(reach):
        for w in words:
            got = owners.get(w)
            if got is None:
                continue
            if w not in joined:
                joined.add(w)
                for j in got[1:]:
                    union(got[0], j)
            union(i, got[0])
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(i)
    return list(out.values())
