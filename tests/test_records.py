"""The plain record classes (``cbdiag.records``) behave as the dataclasses they replace, and
``cbdiag.files.pure`` normalises paths exactly as :mod:`pathlib` does."""

from __future__ import annotations

import itertools
import os
import pathlib
import random

import pytest

from cbdiag.files import pure
from cbdiag.layers import AxisOp, Layer, deconv
from cbdiag.lint.engine import FileReport, Violation
from cbdiag.lint.values import Growth, LateUnknown, Sym, Unknown


def test_records_compare_by_class_and_key() -> None:
    assert Sym("s", 2) == Sym("s", 2) and hash(Sym("s", 2)) == hash(Sym("s", 2))
    assert Sym("s", 2) != Sym("s", 3)
    # a subclass with the same fields is a different value, as with dataclasses
    assert Unknown("why") != Growth("why") and Growth("why") == Growth("why")
    assert len({Unknown("a"), Unknown("a"), Growth("a")}) == 2
    assert Unknown("a") != "a"
    v = Violation("m.py", 3, 5, 3, 9, "CBD101", "message")
    assert v == Violation("m.py", 3, 5, 3, 9, "CBD101", "message", cell=None)
    assert v != Violation("m.py", 3, 5, 3, 9, "CBD101", "message", cell=1)
    assert repr(Sym("s")) == "Sym(name='s', coef=1, reason='')"


def test_a_layers_spec_text_is_not_part_of_its_value() -> None:
    a = Layer(AxisOp("deconv", 4, 2, 1), AxisOp("deconv", 4, 2, 1))
    b = Layer(AxisOp("deconv", 4, 2, 1), AxisOp("deconv", 4, 2, 1), spec="deconv k4 s2 p1 (copy)")
    assert a == b and hash(a) == hash(b) and a.spec == "deconv k4 s2 p1"
    assert a == deconv(4, 2, padding=1) and a != deconv(3, 2, padding=1)


def test_mutable_records_get_fresh_defaults_and_no_hash() -> None:
    one, two = FileReport("a.py"), FileReport("a.py")
    one.violations.append(Violation("a.py", 1, 1, 1, 2, "CBD101", "m"))
    assert two.violations == [] and one != two
    with pytest.raises(TypeError):
        hash(one)


def _names() -> list[str]:
    parts = ["", ".", "..", "a", "b.py", " ", "x y"]
    out = set()
    for n in range(1, 4):
        for combo in itertools.product(parts, repeat=n):
            s = "/".join(combo)
            out.update({s, "/" + s, "//" + s, "///" + s, s + "/"})
    rng = random.Random(7)
    for _ in range(500):
        out.add("".join(rng.choice("/.ab") for _ in range(rng.randrange(0, 9))))
    return sorted(out)


@pytest.mark.skipif(os.name != "posix", reason="pure() is pathlib itself elsewhere")
def test_pure_is_pathlib_normalisation() -> None:
    names = _names()
    assert len(names) > 1000
    for s in names:
        assert pure(s) == str(pathlib.PurePath(s)), s
        assert pure(s, slashes=True) == pathlib.PurePath(s).as_posix(), s
    assert pure(pathlib.Path("a//b")) == "a/b"


def test_a_late_reason_is_written_once_when_read() -> None:
    calls: list[int] = []

    def make() -> str:
        calls.append(1)
        return "the result of `f`"

    late = LateUnknown(make)
    assert calls == [] and isinstance(late, Unknown)  # (an unknown like any other)
    assert late.reason == "the result of `f`" and late.reason == "the result of `f`"
    assert calls == [1]
    assert repr(late) == "LateUnknown(reason='the result of `f`')"
    assert LateUnknown(lambda: "x") == LateUnknown(lambda: "x") != LateUnknown(lambda: "y")


def test_a_call_site_on_a_chain_is_written_when_shown_even_after_the_analysis() -> None:
    import ast

    from cbdiag.lint.structure import ModuleInfo, _Site

    src = "import torch.nn as nn\nup = make_up(k_size=3,\n             stride=2)\n"
    tree = ast.parse(src)
    call = tree.body[1].value  # type: ignore[attr-defined]
    m = ModuleInfo("models", "pkg/models.py", src, tree, None)
    site = _Site(m, call)
    m.__dict__.clear()  # (what Project.release does once the analysis is over)
    assert str(site) == "models.py:2 `make_up(k_size=3, stride=2)`"
