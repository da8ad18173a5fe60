"""Which linted files may reach one another, read from their text alone (nothing is parsed),
so that each group of files that can only reach each other is analysed on its own and its
syntax trees let go before the next group is parsed.

A file *reaches* another when one of its words names it: the analysis goes from one module to
another only through names. Its import statements (every word of the lines
:func:`.structure.import_statements` reads, and a relative import's module as it resolves)
name modules, matched against the segments of each file's module names; a class's bases,
``partial(name, ...)`` and a name imported from above the top of the tree name functions and
classes of any module by their own name (see :meth:`.structure.Project.count_callers`),
matched against the names each file defines (``def`` and ``class`` anywhere in its text).
A line where the word ``import`` stands but no statement is read from it (after a colon or a
semicolon, in a string) gives its words both ways. Files that reach each other, directly or
through others, are one group: the groups are as wide as the analysis could ever look (a word
of a comment or a string only widens one), so each group analysed alone gives what one
analysis of all the files gives.

Where the text cannot tell what a file imports (an import whose parenthesis the file never
closes, such a line of code continued on the next, a star import from above the top of the
tree), the file may reach any file: then every file is one group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .structure import (
    _continued,
    _import_words,
    _statement_end,
    _triple_quoted,
    module_names,
    relative_name,
)

#: A class header up to its bases' opening parenthesis (anywhere in a file's text, strings
#: and comments included: a word more is only a wider group).
_CLASS_OPEN = re.compile(r"class[\s\\]+\w+[\s\\]*\(")
_WORD = re.compile(r"\w+")


class Links:
    """What one file's text says it may reach: ``modules``, words that name modules (matched
    against module-name segments); ``names``, words that name functions and classes of any
    module by their own name (matched against the names files define). ``modules`` None: it
    may reach any file."""

    __slots__ = ("modules", "names")

    def __init__(self, modules: set[str] | None, names: set[str]) -> None:
        self.modules = modules
        self.names = names


#: A relative import's dots and module (``from ..pkg.mod import``).
_RELATIVE = re.compile(r"from[\s\\]*(\.+)[\s\\]*(?:(?!import\b)([\w.]+))?")


def links(source: str, name: str, path: str) -> Links:
    """The words by which the file ``path`` (module ``name``) may reach another file. Its
    import statements are read where :func:`.structure.import_statements` reads them, as
    text (every word of them: a word more is only a wider group)."""
    words: set[str] = set()
    names: set[str] = set()
    done = -1
    for i in _import_words(source):
        if i < done:
            continue
        line = source.rfind("\n", 0, i) + 1
        while line > 1 and _continued(source, line - 1):
            line = source.rfind("\n", 0, line - 1) + 1
        done = _statement_end(source, i)
        text = source[line:done]
        if text.count("(") > text.count(")"):
            return Links(None, names)  # (its names run to the end of the file)
        got = _WORD.findall(text)
        words.update(got)
        rel = _RELATIVE.match(text.lstrip(" \t"))
        if rel is None:
            continue
        target = relative_name(name, path, len(rel.group(1)), rel.group(2) or None)
        if target is not None:
            words.update(target.split("."))
            continue
        # a name imported from above the top of the tree: any module's name
        bound = text[text.find("import", rel.end()) :]
        if "*" in bound:
            return Links(None, names)
        names.update(_WORD.findall(bound))
    unread: set[str] = set()
    if _unread_imports(source, name, path, unread):
        return Links(None, names)
    words |= unread
    names |= unread  # (a name such a line imports may be from above the top of the tree)
    seen = 0  # (the text read so far: a header inside bases already read adds nothing)
    for m in _CLASS_OPEN.finditer(source) if "class" in source else ():
        if m.end() < seen:
            continue
        # (to the end of the line the bases close on: a parenthesis in a string there closes
        # nothing); bases that do not close within MAX_BASES: the file may reach any
        close = _closing(source, m.end(), MAX_BASES)
        if close < 0:
            return Links(None, names)
        end = source.find("\n", close)
        seen = len(source) if end < 0 else end
        names.update(_WORD.findall(source, m.end(), seen))
    for i in _keyword(source, "partial", after_dot=True):
        arg = _PARTIAL_ARG.match(source, i)
        if arg is not None:
            names.add(arg.group(1))
    return Links(words, names)


#: After ``partial``: its first argument's last name (see :class:`.structure._CallText`).
_PARTIAL_ARG = re.compile(r"\s*\(\s*(?:[\w.]*\.)?(\w+)")


def _unread_imports(source: str, name: str, path: str, words: set[str]) -> bool:
    """Add to ``words`` every word on the lines where the word ``import`` stands but
    :func:`import_statements` reads no statement (after a colon or semicolon, in a string),
    and the modules their relative imports name; True when such a line of code goes on to the
    next (its names cannot be read from it) or star-imports from above the top of the tree."""
    read = set(_import_words(source))
    strings: list[tuple[int, int]] | None = None

    def in_string(i: int) -> bool:  # (in a docstring: words, not a statement)
        nonlocal strings
        if strings is None:
            strings = _triple_quoted(source, len(source))
        return any(a <= i < b for a, b in strings)

    end = -1  # (the end of the line read last: each line is read once)
    for i in _keyword(source, "import"):
        i -= 6
        if i < end or source[i + 6 : i + 7] not in " \t(\\" or i in read:
            continue
        start = source.rfind("\n", 0, i) + 1
        end = source.find("\n", i)
        end = len(source) if end < 0 else end
        line = source[start:end]
        words.update(_WORD.findall(line))
        code = line.split("#", 1)[0].rstrip(" \t")
        if (
            code.endswith("\\")
            or code.count("(") > code.count(")")
            or code.lstrip(" \t").startswith(".")  # (the dots of a line continued)
        ) and not in_string(i):
            return True
        for rel in _RELATIVE_ANY.finditer(code):
            target = relative_name(name, path, len(rel.group(1)), rel.group(2) or None)
            if target is not None:
                words.update(target.split("."))
            elif "*" in code[rel.end() :] and not in_string(i):
                return True
    return False


#: A relative import anywhere on a line (``try: from ..pkg import x``).
_RELATIVE_ANY = re.compile(r"\bfrom[\s\\]*(\.+)[\s\\]*(?:(?!import\b)([\w.]+))?")


#: The most characters a class's bases are read over.
MAX_BASES = 10_000


def _closing(source: str, pos: int, limit: int) -> int:
    """The offset of the parenthesis that closes the one open before ``pos``, within
    ``limit`` characters (-1: none)."""
    depth = 1
    for m in _PARENS.finditer(source, pos, pos + limit):
        depth += 1 if m.group() == "(" else -1
        if depth == 0:
            return m.start()
    return -1


_PARENS = re.compile(r"[()]")


def _defined(source: str) -> set[str]:
    """Every name after ``def`` or ``class`` in ``source`` (after ``subclass`` in a comment
    too: a name more is only a wider group; each pattern starts with its word, which the
    regular expression engine looks for as fast as ``str.find``)."""
    words = set(_CLASS_NAME.findall(source))
    words.update(_DEF_NAME.findall(source))
    return words


_CLASS_NAME = re.compile(r"class[\s\\]+(\w+)")
_DEF_NAME = re.compile(r"def[\s\\]+(\w+)")


def _keyword(source: str, word: str, after_dot: bool = False) -> list[int]:
    """The offsets just after each ``word`` of ``source`` not inside a longer name (nor after
    a dot, unless ``after_dot``), found by ``str.find`` (a pattern with a look-behind scans
    every character)."""
    out = []
    n = len(word)
    stops = "_" if after_dot else "_."
    i = source.find(word)
    while i >= 0:
        if i == 0 or not (source[i - 1].isalnum() or source[i - 1] in stops):
            out.append(i + n)
        i = source.find(word, i + n)
    return out


def groups(files: Sequence[tuple[str, str, str | None]]) -> list[list[int]]:
    """The groups of ``files`` (``(path, Python source, lint root)``) that may reach only
    each other, as lists of indices in the order given, ordered by their first file."""
    n = len(files)
    if n <= 1:  # (nothing to group: no text read)
        return [list(range(n))] if n else []
    parent = list(range(n))
    count = [n]  # (groups left: at one, the rest of the text need not be read)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
            count[0] -= 1

    def join(table: dict[str, list[int]], words: set[str], i: int, kind: bool) -> None:
        for w in words:
            members = table.get(w)
            if members is None:
                continue
            if (w, kind) not in joined:  # (the owners of a word reached: joined once)
                joined.add((w, kind))
                for j in members[1:]:
                    union(members[0], j)
            union(i, members[0])

    one = [list(range(n))]
    owners: dict[str, list[int]] = {}  # module-name segment -> files
    mod_names = [module_names(path, root) for path, _, root in files]
    for i, names in enumerate(mod_names):
        for w in {seg for m in names for seg in m.split(".")}:
            owners.setdefault(w, []).append(i)
    joined: set[tuple[str, bool]] = set()
    named: list[set[str]] = []
    for i, (path, source, _) in enumerate(files):
        got = links(source, mod_names[i][0], path)
        if got.modules is None:
            return one
        join(owners, got.modules, i, False)
        if count[0] <= 1:
            return one
        named.append(got.names)
    wanted = set().union(*named) if named else set()
    defs: dict[str, list[int]] = {}  # name defined -> files
    for i, (_, source, _) in enumerate(files):
        if not wanted:
            break
        for w in _defined(source) & wanted:
            defs.setdefault(w, []).append(i)
    for i, reached in enumerate(named):
        join(defs, reached, i, True)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(i)
    return list(out.values())
