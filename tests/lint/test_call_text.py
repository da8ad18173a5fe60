"""Which names a module's text calls (``structure._CallText``): asked about a few names, each
is looked for in the text; asked about many, the text is cut into its call tokens. Both must
give the same names, and the tokens must be the calls of the syntax tree where the text is
plain (no call hidden in a string or a comment)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cbdiag.lint import structure

from .test_skeleton import _stdlib_sources

ROOT = Path(__file__).resolve().parents[2]


class _Module:
    def __init__(self, source: str) -> None:
        self.source = source

    def line_of(self, i: int) -> int:
        return self.source.count("\n", 0, i) + 1


TRICKY = [
    "def f(x): f (1)\nclass  C(f(2)): pass\n",
    "(def g(\nx.def h(\né(1) aé( é (\n",
    "def  f(\n",
    " def ( (\n",
    "class K(object): K(1)\n",
    "x.class_(1)\nmy_def(2)\n",
]


def test_a_few_names_looked_for_give_what_the_tokens_give() -> None:
    sources = [*TRICKY, *(p.read_text(encoding="utf-8") for p in _stdlib_sources())]
    checked = found = 0
    for source in sources:
        words = sorted(set(re.findall(r"\w+", source)))
        for i in range(0, len(words), structure._FEW_KEYS):
            few = set(words[i : i + structure._FEW_KEYS])
            one = structure._CallText(_Module(source))  # (asked first about a few names)
            got = one.called(few)
            assert one._tokens is None  # (found without cutting the text into tokens)
            want = {w for w in few if (w + "(").encode("utf-8", "surrogatepass") in one.tokens}
            want |= few & one.partials.keys()  # (``partial(name, ...)``: a call of ``name``)
            assert got == want, (source[:40], sorted(got ^ want))
            checked += len(few)
            found += len(got)
    assert checked > 5000 and found > 500


def test_the_tokens_are_the_calls_of_plain_code() -> None:
    """On cbdiag's own modules, every call of a bare name or an attribute (outside strings
    and comments) is a token, and a name only ever defined (``def f(``) is not."""
    for path in sorted((ROOT / "cbdiag" / "lint").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tokens = structure._CallText(_Module(source)).tokens
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                if name is not None and source.count(f"{name}(") > 0:
                    assert f"{name}(".encode() in tokens, (path.name, node.lineno, name)
        rest = source.replace(" (", "(")  # (``name (`` is a call too)
        defined_only = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef)
            and f"{n.name}(" not in rest.replace(f"def {n.name}(", "")
        ]
        assert defined_only or path.name == "__init__.py"
        for name in defined_only:
            assert f"{name}(".encode() not in tokens, (path.name, name)
