"""Start-up: each command imports what it needs and nothing else (the time these imports take is
measured by ``benchmarks/startup.py``; here, which modules a command loads, which is exact)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import atexit, json, sys
target = sys.argv[1]
def dump():
    with open(target, "w") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(dump)
args = sys.argv[2:]
sys.argv = ["cbdiag", *args]
from cbdiag.cli import main
main()
"""

ONE = "import torch.nn as nn\n\nup = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1)\n"
STACK = (
    "import torch.nn as nn\n\n"
    "net = nn.Sequential(\n"
    "    nn.ConvTranspose2d(8, 8, 3, 2, 1, 1),\n"
    "    nn.ConvTranspose2d(8, 8, 3, 2, 1, 1),\n"
    ")\n"
)


def modules(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    p = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert p.returncode in (0, 1), p.stderr
    return {m.split(".")[0] for m in json.loads(out.read_text())}


HEAVY = {"numpy", "scipy", "PIL", "rich", "typer", "pydantic"}


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    assert modules(tmp_path, "--version") & HEAVY == set()


def test_lint_of_a_file_imports_no_framework_and_no_numpy(tmp_path: Path) -> None:
    (tmp_path / "up.py").write_text(ONE)
    assert modules(tmp_path, "lint", "up.py") & HEAVY == set()
    (tmp_path / "clean.py").write_text("import torch.nn as nn\n\nx = nn.Conv2d(3, 8, 3)\n")
    assert modules(tmp_path, "lint", "clean.py") & HEAVY == set()


#: Standard-library modules a one-file lint run does without (each costs a few percent of its
#: start-up: ``benchmarks/startup.py``): typing, dataclasses (with inspect), pathlib (with
#: urllib and ipaddress), argparse (with gettext, locale and shutil), tokenize, json.
LINT_SKIPS = {
    "typing",
    "dataclasses",
    "inspect",
    "pathlib",
    "urllib",
    "ipaddress",
    "argparse",
    "gettext",
    "locale",
    "shutil",
    "tokenize",
}


def test_lint_of_a_file_skips_the_standard_library_it_does_not_need(tmp_path: Path) -> None:
    before = modules(tmp_path, "--version")  # the probe's own modules and the interpreter's
    # (an editable install's import hook loads pathlib at start-up; these nothing needs)
    assert before & {"typing", "dataclasses", "argparse", "tokenize", "shutil"} == set()
    (tmp_path / "up.py").write_text(ONE)
    loaded = modules(tmp_path, "lint", "up.py") - before
    assert loaded & LINT_SKIPS == set()
    assert {"ast", "cbdiag"} <= loaded | before  # the probe did run the linter
    # a finding, written as JSON, and a file with a noqa comment: still none of them but json
    (tmp_path / "noqa.py").write_text(ONE.replace("padding=1)", "padding=1)  # noqa: CBD102"))
    loaded = modules(tmp_path, "lint", "--output-format", "json", "noqa.py") - before
    assert loaded & (LINT_SKIPS - {"tokenize"}) == set()


def test_lint_of_a_stack_imports_numpy_only_past_the_periodic_model(tmp_path: Path) -> None:
    # CBD104's combined ratio comes from the periodic model of the interior (plain Python)
    (tmp_path / "stack.py").write_text(STACK)
    loaded = modules(tmp_path, "lint", "stack.py")
    assert loaded & {"numpy", "scipy", "PIL", "rich", "typer"} == set()
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "lint", "stack.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert "CBD104" in p.stdout and "3 x 3 = 9 in 2-D" in p.stdout  # (Fibonacci: F(4) per axis)
    # a stack whose period passes the model's bound goes to the overlap engine (numpy)
    deep = "    nn.ConvTranspose2d(8, 8, 3, 4),\n" * 7
    (tmp_path / "deep.py").write_text(f"import torch.nn as nn\n\nnet = nn.Sequential(\n{deep})\n")
    assert "numpy" in modules(tmp_path, "lint", "deep.py")


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["--help"], {"numpy", "scipy", "PIL", "rich"}),
        (["lint", "--help"], {"numpy", "scipy", "PIL", "rich", "typer"}),
        (["overlap", "--kernel", "3", "--stride", "2"], {"scipy"}),
    ],
)
def test_commands_import_what_they_need(tmp_path: Path, args: list[str], absent: set[str]) -> None:
    assert modules(tmp_path, *args) & absent == set()
