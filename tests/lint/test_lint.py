"""cbdiag lint: rule fixtures, sample models, formats, selection, noqa, config, files, CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cbdiag.lint import lint_paths, lint_source, select_codes
from cbdiag.lint.rules import RULES
from cbdiag.report.lint import github

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
ROOT = HERE.parent.parent
SAMPLES = ROOT / "samples" / "models"


def cli(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", "lint", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=cwd,
        input=stdin,
    )


# ---------------------------------------------------------------------------------------------
# fixtures: one file per rule, expected "line:col CODE" written by hand
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("CBD*.py")), ids=lambda p: p.stem)
def test_rule_fixture(fixture: Path) -> None:
    code = fixture.stem
    got = [
        f"{v.line}:{v.col} {v.code}"
        for v in lint_source(fixture.read_text(), str(fixture), codes={code})
    ]
    want = [line for line in fixture.with_suffix(".txt").read_text().splitlines() if line]
    assert got == want
    # the expected file agrees with the markers in the fixture
    marked = [
        i for i, line in enumerate(fixture.read_text().splitlines(), 1) if f"# <- {code}" in line
    ]
    assert [int(w.split(":")[0]) for w in want] == marked


def test_every_rule_has_a_fixture_and_a_doc() -> None:
    for code, rule in RULES.items():
        assert (FIXTURES / f"{code}.py").exists() or code == "CBD902"
        doc = rule.doc()
        for part in ("What it does", "Why is this bad?", "Example", "Use instead"):
            assert part in doc
        assert re.fullmatch(r"CBD\d{3}", code) and re.fullmatch(r"[a-z0-9-]+", rule.name)


# ---------------------------------------------------------------------------------------------
# the sample models: real generator shapes in each framework's idiom
# ---------------------------------------------------------------------------------------------


EXPECTED_SAMPLES = {
    "dcgan_torch.py": [],
    "esrgan_torch.py": [],
    "cyclegan_torch.py": [(17, "CBD101"), (29, "CBD104")],
    "pix2pixhd_torch.py": [
        (9, "CBD104"),
        (10, "CBD101"),
        (13, "CBD101"),
        (16, "CBD101"),
        (19, "CBD101"),
    ],
    "dcgan_keras.py": [(8, "CBD104"), (17, "CBD101"), (20, "CBD101")],
    "generator_flax.py": [(14, "CBD101")],
}


def test_sample_models() -> None:
    res = lint_paths([SAMPLES])
    assert res.files == len(EXPECTED_SAMPLES)
    got: dict[str, list[tuple[int, str]]] = {name: [] for name in EXPECTED_SAMPLES}
    for v in res.violations:
        got[Path(v.path).name].append((v.line, v.code))
    assert got == EXPECTED_SAMPLES
    pix = next(v for v in res.violations if v.code == "CBD104" and "pix2pixhd" in v.path)
    assert "= 2.1 in 2-D" in pix.message and "period 16x16" in pix.message  # theory: 2.098


def test_linting_never_imports_or_runs(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    src = (
        f"open({str(sentinel)!r}, 'w').write('x')\n"
        "import torch.nn as nn\nraise SystemExit(3)\nup = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    )
    (tmp_path / "evil.py").write_text(src)
    res = lint_paths([tmp_path])
    assert [v.code for v in res.violations] == ["CBD101"]
    assert not sentinel.exists()


# ---------------------------------------------------------------------------------------------
# selection and suppression
# ---------------------------------------------------------------------------------------------


def test_selection() -> None:
    default = select_codes()
    assert "CBD101" in default and "CBD105" not in default and "CBD106" not in default
    assert select_codes(["ALL"]) == set(RULES)
    assert select_codes(["CBD10"]) == {c for c in RULES if c.startswith("CBD10")}
    assert select_codes(None, ["CBD105"], ["CBD101"]) == (default | {"CBD105"}) - {"CBD101"}
    from cbdiag.errors import UsageError

    with pytest.raises(UsageError, match="unknown rule selector"):
        select_codes(["XYZ1"])


def test_file_level_noqa() -> None:
    src = "# cbdiag: noqa\nimport torch.nn as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    assert lint_source(src, "x.py") == []
    src = "# cbdiag: noqa: CBD102\nimport torch.nn as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    assert [v.code for v in lint_source(src, "x.py")] == ["CBD101"]
    src = "import torch.nn as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)  # NOQA:cbd101\n"
    assert lint_source(src, "x.py") == []


# ---------------------------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------------------------


def test_concise_and_full(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text("import torch.nn as nn\nup = nn.ConvTranspose2d(8, 8, 3, 2)\n")
    p = cli("g.py", "--output-format", "concise", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout.startswith(
        "g.py:2:6: CBD101 ConvTranspose2d kernel 3 not divisible by stride 2"
    )
    assert "Found 1 violation in 1 file" in p.stderr
    p = cli("g.py", cwd=tmp_path)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("g.py:2:6: CBD101 [kernel-not-divisible-by-stride]")
    assert lines[1].endswith("up = nn.ConvTranspose2d(8, 8, 3, 2)")
    assert lines[2].index("^") == lines[1].index("nn.ConvTranspose2d")
    assert set(lines[2].split("|")[1].strip()) == {"^"}


def test_json_and_json_lines(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text("import torch.nn as nn\nup = nn.ConvTranspose2d(8, 8, 1, 2)\n")
    d = json.loads(cli("g.py", "--output-format", "json", cwd=tmp_path).stdout)
    assert d == [
        {
            "code": "CBD102",
            "name": "kernel-smaller-than-stride",
            "message": d[0]["message"],
            "filename": "g.py",
            "location": {"row": 2, "column": 6},
            "end_location": {"row": 2, "column": 36},
            "noqa_row": 2,
            "level": "warning",
            "url": None,
            "cell": None,
        }
    ]
    lines = cli("g.py", "--output-format", "json-lines", cwd=tmp_path).stdout.splitlines()
    assert [json.loads(line) for line in lines] == d


def test_github_annotations_are_escaped() -> None:
    from cbdiag.lint.engine import Violation

    v = Violation("dir,odd:name%.py", 3, 4, 3, 9, "CBD101", "50% uneven,\nsecond line")
    out = github([v])
    assert out.startswith(
        "::warning title=cbdiag (CBD101),file=dir%2Codd%3Aname%25.py,"
        "line=3,col=4,endLine=3,endColumn=9::"
    )
    assert out.endswith("CBD101 50%25 uneven,%0Asecond line\n")
    assert out.count("\n") == 1


def _sarif_schema() -> dict:
    # OASIS's published SARIF 2.1.0 schema (errata 01), kept in tests/data
    path = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
    return json.loads(path.read_text())


def test_sarif_validates_against_the_schema() -> None:
    jsonschema = (
        pytest.importorskip("jsonschema") if not os.environ.get("CI") else __import__("jsonschema")
    )
    schema = _sarif_schema()
    p = cli(str(SAMPLES), "--output-format", "sarif", "--select", "ALL", cwd=ROOT)
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    jsonschema.validate(doc, schema)
    run = doc["runs"][0]
    assert doc["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "cbdiag"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(RULES)
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
    for res in run["results"]:
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].startswith("samples/models/")  # repo-relative
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


# ---------------------------------------------------------------------------------------------
# the command: config, files, stdin, exits
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "g.py").write_text(
        "import torch.nn as nn\n"
        "a = nn.ConvTranspose2d(8, 8, 3, 2)\n"
        "b = nn.ConvTranspose2d(8, 8, 1, 2)\n"
        "c = nn.Conv2d(8, 8, 3, 2)\n"
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text(
        "import torch.nn as nn\nx = nn.ConvTranspose2d(1, 1, 3, 2)\n"
    )
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "auto.py").write_text(
        "import torch.nn as nn\nx = nn.ConvTranspose2d(1, 1, 5, 2)\n"
    )
    return tmp_path


def _codes(p: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split()[1] for line in p.stdout.splitlines() if line]


def test_default_excludes_and_exclude_flags(project: Path) -> None:
    p = cli(".", "--output-format", "concise", cwd=project)
    files = {line.split(":")[0] for line in p.stdout.splitlines()}
    assert files == {"models/g.py", "gen/auto.py"}
    p = cli(".", "--output-format", "concise", "--exclude", "gen", cwd=project)
    assert {line.split(":")[0] for line in p.stdout.splitlines()} == {"models/g.py"}
    # explicitly named files are linted unless --force-exclude (as pre-commit passes them)
    assert cli("gen/auto.py", "--exclude", "gen", cwd=project).returncode == 1
    p = cli("gen/auto.py", "--exclude", "gen", "--force-exclude", cwd=project)
    assert p.returncode == 0 and p.stdout == ""


def test_select_ignore_flags(project: Path) -> None:
    base = ["models", "--output-format", "concise"]
    assert _codes(cli(*base, cwd=project)) == ["CBD101", "CBD102"]
    assert _codes(cli(*base, "--extend-select", "CBD105", cwd=project)) == [
        "CBD101",
        "CBD102",
        "CBD105",
    ]
    assert _codes(cli(*base, "--ignore", "CBD101", cwd=project)) == ["CBD102"]
    assert _codes(cli(*base, "--select", "CBD102,CBD105", cwd=project)) == ["CBD102", "CBD105"]
    p = cli(*base, "--select", "NOPE", cwd=project)
    assert p.returncode == 2 and p.stderr.startswith("error: unknown rule selector")


def test_config_in_pyproject_and_flags_override(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.cbdiag.lint]\nextend-select = ["CBD105"]\nignore = ["CBD101"]\n'
        'extend-exclude = ["gen"]\noutput-format = "concise"\n'
    )
    p = cli(".", cwd=project / "models")
    assert _codes(p) == ["CBD102", "CBD105"]
    assert "configuration" in p.stderr
    p = cli("g.py", "--select", "CBD101", cwd=project / "models")
    assert _codes(p) == ["CBD101"]
    p = cli(".", cwd=project)
    assert {line.split(":")[0] for line in p.stdout.splitlines()} == {"models/g.py"}
    (project / "pyproject.toml").write_text('[tool.cbdiag.lint]\nselct = ["CBD1"]\n')
    p = cli(".", cwd=project)
    assert p.returncode == 2 and "unknown [tool.cbdiag.lint] key 'selct'" in p.stderr


def test_exit_zero_statistics_explain_output(project: Path) -> None:
    assert cli("models", "--exit-zero", cwd=project).returncode == 0
    p = cli("models", "--statistics", "--extend-select", "CBD105", cwd=project)
    assert p.stdout.split() == [
        "1",
        "CBD101",
        "kernel-not-divisible-by-stride",
        "1",
        "CBD102",
        "kernel-smaller-than-stride",
        "1",
        "CBD105",
        "strided-conv-gradient-checkerboard",
    ]
    p = cli("--explain", "cbd104", cwd=project)
    assert (
        p.returncode == 0 and "uneven-stacked-upsamplers" in p.stdout and "Use instead" in p.stdout
    )
    assert cli("--explain", "CBD999", cwd=project).returncode == 2
    out = project / "report.sarif"
    p = cli("models", "--output-format", "sarif", "-o", str(out), cwd=project)
    assert (
        p.returncode == 1 and p.stdout == "" and json.loads(out.read_text())["version"] == "2.1.0"
    )
    p = cli("models", "-o", str(out), cwd=project)
    assert p.returncode == 2 and "exists" in p.stderr
    assert cli("models", "-o", str(out), "--force", cwd=project).returncode == 1


def test_stdin(project: Path) -> None:
    src = "import torch.nn as nn\nx = nn.ConvTranspose2d(1, 1, 3, 2)\n"
    p = cli(
        "-",
        "--output-format",
        "concise",
        "--stdin-filename",
        "models/new.py",
        stdin=src,
        cwd=project,
    )
    assert p.returncode == 1 and p.stdout.startswith("models/new.py:2:5: CBD101")
    assert cli("-", stdin="x = 1\n", cwd=project).returncode == 0


def test_bad_files_are_reported_and_the_run_goes_on(project: Path) -> None:
    models = project / "models"
    (models / "broken.py").write_text("import torch.nn as nn\nup = nn.ConvTranspose2d\ndef f(:\n")
    (models / "latin.py").write_bytes(b"x = '\xff\xfe'\n")
    (models / "helpers.py").write_text(
        "import torch.nn as nn\ndef up(k):\n    return nn.ConvTranspose2d(8, 8, k, 2)\n"
    )
    # no layer name in its text, but it calls one that holds a layer: it must be read
    (models / "caller.py").write_text("from helpers import up\nx = up(4)\ndef f(:\n")
    # no layer name and no call of one: nothing in it can be checked, so it is not parsed
    (models / "unrelated.py").write_text("import os\ndef f(:\n")
    p = cli("models", "missing.py", "--output-format", "concise", cwd=project)
    assert p.returncode == 2  # unreadable inputs: exit 2, every readable file still reported
    by_file = {line.split(":")[0]: line.split()[1] for line in p.stdout.splitlines()}
    assert by_file["models/broken.py"] == "CBD901"
    assert by_file["models/caller.py"] == "CBD901"
    assert "models/unrelated.py" not in by_file
    assert by_file["models/latin.py"] == "CBD902"
    assert by_file["missing.py"] == "CBD902"
    assert "CBD101" in p.stdout
    # named on the command line (as pre-commit does), every file is parsed
    p = cli("models/unrelated.py", "--output-format", "concise", cwd=project)
    assert p.returncode == 1 and p.stdout.startswith("models/unrelated.py:2:7: CBD901")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "give files or directories"),
        (["x.py", "--output-format", "xml"], "unknown output format"),
        (["x.py", "--jobs", "0"], "--jobs must be >= 1"),
        (["-", "x.py"], "cannot be mixed"),
    ],
)
def test_usage_errors(args: list[str], fragment: str, tmp_path: Path) -> None:
    p = cli(*args, cwd=tmp_path, stdin="")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_jobs_give_the_same_findings() -> None:
    one = lint_paths([SAMPLES, FIXTURES], select=["ALL"]).violations
    two = lint_paths([SAMPLES, FIXTURES], select=["ALL"], jobs=2).violations
    assert one == two and len(one) > 20


def test_python_api_exported() -> None:
    import cbdiag

    res = cbdiag.lint_paths([SAMPLES / "esrgan_torch.py"])
    assert res.violations == [] and res.exit_code == 0 and res.files == 1


def test_pre_commit_manifest() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: cbdiag-lint" in text and "entry: cbdiag lint --force-exclude" in text
    assert "language: python" in text and "types_or: [python, pyi, jupyter]" in text
    assert "id: cbdiag-score" in text  # both hooks run for real in tests/test_precommit.py


# ---------------------------------------------------------------------------------------------
# regressions: scoping, robustness, locations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        # an even layer with a stride beyond cbdiag's overlap limits: no finding, no abort
        ("import torch.nn as nn\na = nn.ConvTranspose1d(8, 8, kernel_size=600, stride=300)\n", []),
        (
            "import torch.nn as nn\na = nn.ConvTranspose1d(8, 8, kernel_size=601, stride=300)\n",
            ["CBD101"],
        ),
        # the last import of a name wins
        (
            "import mylib as nn\nimport torch.nn as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)\n",
            ["CBD101"],
        ),
        ("import torch.nn as nn\nimport mylib as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)\n", []),
        # lambda and comprehension variables shadow
        ("import torch.nn as nn\nf = lambda nn: nn.ConvTranspose2d(8, 4, 3, 2)\n", []),
        ("import torch.nn as nn\ng = [nn.ConvTranspose2d(8, 4, 3, 2) for nn in range(2)]\n", []),
        # class-body names are not visible in methods
        (
            "import torch.nn as nn\nclass A:\n    nn = None\n    def f(self):\n"
            "        return nn.ConvTranspose2d(8, 8, 3, 2)\n",
            ["CBD101"],
        ),
        # a constant bound twice is unknown
        (
            "import torch.nn as nn\nK = 3\nif x:\n    K = 4\na = nn.ConvTranspose2d(8, 8, K, 2)\n",
            [],
        ),
        # NHWC strides of tf.nn.conv2d_transpose
        (
            "import tensorflow as tf\n"
            "h = tf.nn.conv2d_transpose(x, tf.random.normal([3, 3, 8, 8]), s, "
            "strides=[1, 2, 2, 1])\n",
            ["CBD101"],
        ),
        # invalid factors inside a Sequential are unknown, not a crash
        (
            "import torch.nn as nn\nj = nn.Sequential(nn.Upsample(scale_factor=0), "
            "nn.ConvTranspose2d(8, 8, 3, 2), nn.ConvTranspose2d(8, 8, 3, 2))\n",
            ["CBD101", "CBD101"],
        ),
        # a word that merely starts with noqa is not a suppression
        (
            "import torch.nn as nn\nl = nn.ConvTranspose2d(8, 8, 3, 2)  # " + "noqanything\n",
            ["CBD101"],
        ),
        ("import torch.nn as nn\r\nl = nn.ConvTranspose2d(8, 8, 3, 2)\r\n", ["CBD101"]),
        ("import torch.nn as nn\rl = nn.ConvTranspose2d(8, 8, 3, 2)\r", ["CBD101"]),
    ],
)
def test_scoping_and_robustness(src: str, expected: list[str]) -> None:
    assert [v.code for v in lint_source(src, "x.py")] == expected


def test_keras_conv2d_gradient_rule() -> None:
    src = "from tensorflow.keras import layers\ni = layers.Conv2D(8, 3, strides=2)\n"
    assert [v.code for v in lint_source(src, "x.py", codes={"CBD105"})] == ["CBD105"]


def test_columns_count_characters() -> None:
    (v,) = lint_source("import torch.nn as nn\nschön = nn.ConvTranspose2d(8, 4, 3, 2)\n", "x.py")
    assert (v.col, v.end_col) == (9, 39)


def test_deep_nesting_is_reported_not_raised() -> None:
    src = (
        "import torch.nn as nn\nK = "
        + "+".join(["1"] * 3000)
        + "\na = nn.ConvTranspose2d(8, 8, K, 2)\n"
    )
    codes = [v.code for v in lint_source(src, "x.py", codes=set(RULES))]
    assert codes in ([], ["CBD901"])


def test_empty_selection_reports_nothing(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text("import torch.nn as nn\na = nn.ConvTranspose2d(8, 8, 3, 2)\n")
    assert lint_paths([tmp_path], select=[]).violations == []
    p = cli("g.py", "--select", "CBD105", "--ignore", "CBD105", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout == ""


def test_stdin_is_decoded_like_a_file() -> None:
    src = b"\xef\xbb\xbfimport torch.nn as nn\nx = nn.ConvTranspose2d(1, 1, 3, 2)\n"
    env = {**os.environ, "NO_COLOR": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", "lint", "-", "--output-format", "concise"],
        input=src,
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 1 and p.stdout.decode().startswith("-:2:5: CBD101")


# ---------------------------------------------------------------------------------------------
# static value analysis: one file per resolution rule, expectations written as markers
# (``# <- CODE`` a finding on that line, ``# ? words`` unresolved with a reason holding them,
# ``# not a stack`` a container not listed as an unresolved stack either, ``# ok`` a layer call
# proved even: neither a finding nor unresolved)
# ---------------------------------------------------------------------------------------------

RESOLUTION = HERE / "resolution"


@pytest.mark.parametrize("fixture", sorted(RESOLUTION.glob("*.py")), ids=lambda p: p.stem)
def test_resolution_fixture(fixture: Path) -> None:
    from cbdiag.lint import lint_text

    text = fixture.read_text()
    res = lint_text(text, str(fixture), codes=set(select_codes(["ALL"])) - {"CBD105"})
    want = []
    unresolved = {}
    for i, line in enumerate(text.splitlines(), 1):
        want += [(i, m) for m in re.findall(r"# <- (CBD\d{3})", line)]
        m = re.search(r"# \? (.+)$", line)
        if m:
            unresolved[i] = m.group(1).strip()
    assert sorted((v.line, v.code) for v in res.violations) == sorted(want)
    got = {u.line: u.reason for u in res.unresolved if u.line in unresolved}
    assert set(got) == set(unresolved), (got, res.unresolved)
    for line, words in unresolved.items():
        assert words in got[line], (line, got[line])
    ok = {i for i, line in enumerate(text.splitlines(), 1) if re.search(r"# ok\b", line)}
    assert not ok & {u.line for u in res.unresolved}, res.unresolved
    assert not ok & {v.line for v in res.violations}, res.violations
    flat = {i for i, line in enumerate(text.splitlines(), 1) if line.endswith("# not a stack")}
    assert not flat & {u.line for u in res.unresolved if "CBD104" in u.codes}, res.unresolved


def test_monai_factory_layers_proved_even_are_clean() -> None:
    from cbdiag.lint.engine import check_files

    path = RESOLUTION / "monai_factory.py"
    (rep,) = check_files([(str(path), path.read_text())])
    clean = {line for line, codes in rep.clean if "CBD101" in codes}
    # C2[C2.CONVTRANS, 3] k4 s2; kernel_size=up, stride=up (one value, whatever it is); the
    # loop over kernels[1:], strides[1:] (k4 s2 twice); a choice of a transposed or a plain
    # convolution that is even as the transposed one (k4 s2, k6 s3)
    assert {15, 50, 56, 69, 75} <= clean, rep.clean


def test_a_call_chain_is_named_in_the_message() -> None:
    from cbdiag.lint import lint_text

    res = lint_text((RESOLUTION / "callsites.py").read_text(), "callsites.py")
    by_line = {v.line: v.message for v in res.violations}
    assert by_line[8].endswith("(via callsites.py:25 `UpBlock(64, 32, k_size=3, stride=2)`)")
    chain = "via callsites.py:27 `two_deep(16, 5)` → callsites.py:19 `make_up(c, k, 2)`"
    assert chain in by_line[15]


def test_literals_cross_modules_by_import(tmp_path: Path) -> None:
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text(
        "import torch.nn as nn\n\n\nclass UpBlock(nn.Module):\n"
        "    def __init__(self, c, k_size=4, stride=2):\n        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(c, c, k_size, stride, 1)\n"
    )
    (pkg / "net.py").write_text(
        "from .blocks import UpBlock\nfrom models import blocks as b\n\n"
        "x = UpBlock(8, k_size=3)\ny = b.UpBlock(8, k_size=4)\n"
    )
    (tmp_path / "train.py").write_text("from models.blocks import UpBlock\nz = UpBlock(8, 5, 2)\n")
    res = lint_paths([tmp_path])
    got = sorted((Path(v.path).name, v.line, v.code) for v in res.violations)
    assert got == [("blocks.py", 7, "CBD101")]
    v = res.violations[0]
    # one chain is named: the first call site run with uneven literals (both are)
    assert v.message.endswith(
        ("(via net.py:4 `UpBlock(8, k_size=3)`)", "(via train.py:2 `UpBlock(8, 5, 2)`)")
    )
    # alone, the block uses its defaults (clean): the finding needs the caller's literal
    alone = lint_paths([pkg / "blocks.py"])
    assert alone.violations == [] and alone.clean == 1


def test_a_directory_named_dot_is_the_root_of_its_module_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a script at the top imports the package by its absolute name: it resolves only when
    # the directory linted is the root of the module names, however that directory is spelt
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "blocks.py").write_text(
        "import torch.nn as nn\n\n\nclass UpBlock(nn.Module):\n"
        "    def __init__(self, c, k_size=4):\n        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(c, c, k_size, 2, 1)\n"
    )
    (tmp_path / "train.py").write_text("from models.blocks import UpBlock\nz = UpBlock(8, 3)\n")
    monkeypatch.chdir(tmp_path)
    for spelt in (".", "./", str(tmp_path), "../" + tmp_path.name):
        res = lint_paths([spelt])
        got = [(Path(v.path).name, v.line, v.code) for v in res.violations]
        assert got == [("blocks.py", 7, "CBD101")], spelt
        assert res.violations[0].message.endswith("(via train.py:2 `UpBlock(8, 3)`)"), spelt


def test_module_names_are_those_of_the_path_relative_to_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path that starts with its root gives its module names from the rest, without
    ``os.path.relpath``; they must be those the relative path gives, for roots and paths spelt
    with ``.``, trailing separators, ``..``, doubled separators, absolute or not."""
    import os

    from cbdiag.lint.structure import module_names

    def reference(path: str, root: str | None) -> list[str]:
        rel = os.path.relpath(path, root) if root else os.path.basename(path)
        parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]
        if not parts or parts[0] == "..":
            parts = [os.path.basename(path)]
        last = parts[-1]
        for suf in (".py", ".pyi", ".ipynb"):
            last = last.removesuffix(suf)
        parts[-1] = last
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        return [".".join(parts[i:]) for i in range(len(parts))]

    monkeypatch.chdir(tmp_path)
    roots = [".", "./", "pkg", "pkg/", "./pkg", "a/b", "a/b/..", "../x", "a//b", "x/./y"]
    roots += [str(tmp_path), str(tmp_path) + "/", "/", None, ""]
    tails = ["m.py", "sub/m.py", "sub/__init__.py", "../m.py", "sub/../m.py", "./m.py"]
    tails += ["sub//m.py", "__init__.py", "n.ipynb", "s.pyi"]
    checked = 0
    for root in roots:
        for tail in tails:
            for path in {f"{root or ''}/{tail}", f"{root or ''}{tail}", tail, f"/abs/{tail}"}:
                assert module_names(path, root) == reference(path, root), (path, root)
                checked += 1
    assert checked > 400


def test_a_function_of_a_module_not_run_yet_sees_its_globals(tmp_path: Path) -> None:
    # a_net.py is analysed first and calls into z_blocks.py before that module ran: the call
    # must see z_blocks' imports (`nn`), and its outcome must not stand for later runs
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a_net.py").write_text("from pkg.z_blocks import up\n\nnet = up(8, 3)\n")
    (pkg / "z_blocks.py").write_text(
        "import torch.nn as nn\n\n\ndef up(c, k=4):\n    return nn.ConvTranspose2d(c, c, k, 2, 1)\n"
    )
    res = lint_paths([tmp_path])
    got = [(Path(v.path).name, v.line, v.code) for v in res.violations]
    assert got == [("z_blocks.py", 5, "CBD101")]
    assert "(via a_net.py:3 `up(8, 3)`)" in res.violations[0].message


def test_a_tree_that_is_monai_has_its_blocks_read_as_the_model(tmp_path: Path) -> None:
    # linting a checkout of MONAI: its own Convolution is MONAI's Convolution (checked from
    # its arguments at each call, as when it is imported from the installed package)
    blocks = tmp_path / "monai" / "networks" / "blocks"
    nets = tmp_path / "monai" / "networks" / "nets"
    layers = tmp_path / "monai" / "networks" / "layers"
    for d in (blocks, nets, layers):
        d.mkdir(parents=True)
        (d / "__init__.py").write_text("")
    for d in (tmp_path / "monai", tmp_path / "monai" / "networks"):
        (d / "__init__.py").write_text("")
    (layers / "factories.py").write_text("Conv = LayerFactory('Convolution layers')\n")
    (blocks / "__init__.py").write_text("from .convolutions import Convolution\n")
    (blocks / "convolutions.py").write_text(
        "import torch.nn as nn\nfrom monai.networks.layers.factories import Conv\n\n\n"
        "class Convolution(nn.Sequential):\n"
        "    def __init__(self, spatial_dims, in_channels, out_channels, strides=1,\n"
        "                 kernel_size=3, is_transposed=False):\n"
        "        super().__init__()\n"
        "        conv_type = Conv[Conv.CONVTRANS if is_transposed else Conv.CONV, spatial_dims]\n"
        "        self.add_module('conv', conv_type(in_channels, out_channels, kernel_size,\n"
        "                                          strides))\n"
    )
    (nets / "net.py").write_text(
        "from monai.networks.blocks import Convolution\n\n"
        "up = Convolution(2, 8, 8, strides=2, kernel_size=3, is_transposed=True)\n"
        "even = Convolution(3, 8, 8, strides=2, kernel_size=4, is_transposed=True, padding=1)\n"
    )
    res = lint_paths([tmp_path])
    got = [(Path(v.path).name, v.line, v.code) for v in res.violations]
    assert got == [("net.py", 3, "CBD101")]
    msg = res.violations[0].message
    assert msg.startswith("Convolution kernel 3 not divisible by stride 2") and "2-D" in msg
    assert res.clean == 1  # the even call
    # the block's own layer: every call passes is_transposed, so it is one or the other
    (u,) = res.unresolved
    assert Path(u.path).name == "convolutions.py" and u.line == 10
    assert (
        u.reason
        == "the layer is `ConvTransposeNd` or `ConvNd`: `is_transposed` is not known statically"
    )


def test_callers_are_matched_by_import_not_by_name(tmp_path: Path) -> None:
    """A call of a same-named function of a module that does not import this one is not a
    caller; a call through an ``as`` alias, a module alias or a package that re-exports is."""
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .blocks import up\n")
    (pkg / "blocks.py").write_text(
        "import torch.nn as nn\n\n\ndef up(c, k=3):\n    return nn.ConvTranspose2d(c, c, k, 2, 1)\n"
    )
    # another module's own `up`, which has nothing to do with models.blocks.up
    (tmp_path / "other.py").write_text(
        'def up(c, k=0):\n    return c + k\n\n\ny = up(1, k=4)\n"""Docs: up(8, k=4)."""\n'
    )
    res = lint_paths([tmp_path])
    # nothing calls models.blocks.up: its default k=3 is what runs (k3 s2: CBD101)
    assert [(Path(v.path).name, v.code) for v in res.violations] == [("blocks.py", "CBD101")]
    for caller in (
        "from models.blocks import up as make_up\nz = make_up(8, k=4)\n",
        "import models.blocks as mb\nz = mb.up(8, k=4)\n",
        "from models import up\nz = up(8, k=4)\n",
    ):
        (tmp_path / "train.py").write_text(caller)
        res = lint_paths([tmp_path])
        # the caller passes k=4 (clean) and leaves nothing out: the default never runs
        assert res.violations == [], caller


def test_unresolved_calls_are_listed_and_counted(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text(
        "import torch.nn as nn\n\n\ndef up(c, k):\n    return nn.ConvTranspose2d(c, c, k, 2)\n\n\n"
        "a = nn.ConvTranspose2d(8, 8, 4, 2, 1)\n"
    )
    p = cli("g.py", cwd=tmp_path)
    assert p.returncode == 0
    assert "layer calls: 1 clean, 1 unresolved (--show-unresolved lists them)" in p.stderr
    p = cli("g.py", "--show-unresolved", "--output-format", "concise", cwd=tmp_path)
    assert p.stdout == (
        "g.py:5:12: unresolved ConvTranspose2d: kernel_size: parameter k of `up`, which no "
        "caller in the tree passes as a literal\n"
    )


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A generator\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "outputs": [],
            "source": ["%matplotlib inline\n", "import torch.nn as nn\n", "!pip list\n"],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "outputs": [],
            "source": [
                "G = nn.Sequential(\n",
                "    nn.ConvTranspose2d(64, 32, 5, 2),\n",
                "    nn.ConvTranspose2d(32, 3, 5, 2),\n",
                ")\n",
            ],
        },
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": "%%bash\necho hi\n"},
    ],
    "metadata": {"language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_notebooks_are_linted_cell_by_cell(tmp_path: Path) -> None:
    nb = tmp_path / "gan.ipynb"
    nb.write_text(json.dumps(NOTEBOOK))
    res = lint_paths([tmp_path])  # a directory includes its notebooks
    assert [(v.cell, v.line, v.col, v.code) for v in res.violations] == [
        (3, 1, 5, "CBD104"),
        (3, 2, 5, "CBD101"),
        (3, 3, 5, "CBD101"),
    ]
    p = cli("gan.ipynb", "--output-format", "concise", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout.splitlines()[1].startswith("gan.ipynb:cell 3:2:5: CBD101 ")
    full = cli("gan.ipynb", cwd=tmp_path).stdout
    assert "     | nn.ConvTranspose2d(64, 32, 5, 2)," not in full
    assert "    2 |     nn.ConvTranspose2d(64, 32, 5, 2)," in full
    d = json.loads(cli("gan.ipynb", "--output-format", "json", cwd=tmp_path).stdout)
    assert [(r["cell"], r["location"]["row"]) for r in d] == [(3, 1), (3, 2), (3, 3)]
    nb.write_text("{not json")
    p = cli("gan.ipynb", "--output-format", "concise", cwd=tmp_path)
    assert p.returncode == 1 and "CBD901 cannot parse: not a notebook" in p.stdout


def test_noqa_in_a_notebook_cell(tmp_path: Path) -> None:
    nb = json.loads(json.dumps(NOTEBOOK))
    nb["cells"][2]["source"][1] = "    nn.ConvTranspose2d(64, 32, 5, 2),  # noqa: CBD101\n"
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    res = lint_paths([tmp_path / "n.ipynb"])
    got = [(v.cell, v.line, v.code) for v in res.violations]
    assert got == [(3, 1, "CBD104"), (3, 3, "CBD101")]


PIX = (3, 2, 1, 1)  # pix2pixHD's kernel, stride, padding, output padding


def test_fix_keeps_the_output_size_for_the_padding_given() -> None:
    import torch

    cases = [
        ("nn.ConvTranspose2d(8, 8, kernel_size=3, stride=2, padding=1, output_padding=1)", *PIX),
        ("nn.ConvTranspose2d(8, 8, 5, 2, 2, 1)", 5, 2, 2, 1),
        ("nn.ConvTranspose2d(8, 8, 3, 2)", 3, 2, 0, 0),
        ("nn.ConvTranspose2d(8, 8, 7, 4, 3, 1)", 7, 4, 3, 1),
    ]
    for call, k, s, p, op in cases:
        (v,) = lint_source(f"import torch.nn as nn\nx = {call}\n")
        m = re.search(r"use kernel (\d+) with padding (\d+)(?:, output_padding (\d+))?", v.message)
        assert m, v.message
        k2, p2, op2 = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        assert k2 % s == 0
        x = torch.zeros(1, 1, 9, 9)
        before = torch.nn.ConvTranspose2d(1, 1, k, s, p, op)(x).shape
        after = torch.nn.ConvTranspose2d(1, 1, k2, s, p2, op2)(x).shape
        assert before == after, (call, v.message)


def test_one_module_the_interpreter_trips_on_loses_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cbdiag.lint import structure

    real = structure.Interpreter.run_module

    def trip(self: structure.Interpreter, m: structure.ModuleInfo) -> None:
        if m.path.endswith("bad.py"):
            raise ValueError("boom")
        real(self, m)

    monkeypatch.setattr(structure.Interpreter, "run_module", trip)
    from cbdiag.lint.engine import check_files

    src = "import torch.nn as nn\nup = nn.ConvTranspose2d(8, 8, 3, 2)\n"
    reps = check_files([("bad.py", src), ("good.py", src)])
    assert [(v.code, v.message) for v in reps[0].violations] == [
        ("CBD902", "cannot analyse: ValueError: boom")
    ]
    assert [v.code for v in reps[1].violations] == ["CBD101"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'x = "\xe9t\xe9"\n', "not valid UTF-8 and no '# coding:' line says what it is"),
        (b"# coding: bogus-enc\nx = 1\n", "unknown encoding: bogus-enc"),
        (b'x = 1\ny = "\xff"\n', "not valid utf-8 (byte 12)"),
    ],
)
def test_undecodable_sources_say_why(raw: bytes, reason: str) -> None:
    from cbdiag.lint import decode

    text, why = decode(raw)
    assert text is None and why == f"cannot decode: {reason}"
    assert decode(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n") == (
        "# -*- coding: latin-1 -*-\nx = 'é'\n",
        None,
    )


def _decode_by_tokenizer(raw: bytes) -> str | None:
    """How Python itself decodes a source file (the reference for ``decode``)."""
    import io
    import tokenize

    try:
        enc, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(enc)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None


@pytest.mark.parametrize(
    "raw",
    [
        b"x = 1\n",
        b"",
        b"\xef\xbb\xbfx = '\xc3\xa9'\n",  # a BOM
        b"x = 1\r\ny = '\xc3\xa9'\r\n",
        b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
        b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = '\x80'\n",
        b"x = 1\ny = 2\n# coding: latin-1\nz = '\xc3\xa9'\n",  # a third line is no cookie
        b"# the coding style of this file\nx = '\xc3\xa9'\n",  # "coding" but no cookie
        b'x = "\xe9t\xe9"\n',
        b"x = 1\ny = 2\nz = '\xff'\n",
    ],
)
def test_decode_reads_sources_as_python_does(raw: bytes) -> None:
    from cbdiag.lint import decode

    text, why = decode(raw)
    assert text == _decode_by_tokenizer(raw)
    assert (why is None) == (text is not None)


def test_volume_decoders_are_reported_with_3d_ratios() -> None:
    from cbdiag.lint import lint_text

    src = (
        "import torch.nn as nn\n"
        "a = nn.ConvTranspose3d(8, 8, kernel_size=3, stride=2, padding=1, output_padding=1)\n"
        "b = nn.ConvTranspose3d(8, 8, kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))\n"
    )
    msgs = {v.line: v.message for v in lint_text(src, "vol.py").violations}
    assert "interior max/min 2 x 2 x 2 = 8 in 3-D" in msgs[2]
    # the thick-slice axis keeps its own (even) parameters in the fix
    assert "interior max/min 1 x 2 x 2 = 4 in 3-D" in msgs[3]
    assert "use kernel 1x4x4 with padding 0x2x2, output_padding 0x1x1" in msgs[3]
    assert "resize-conv (nearest x1x2x2 then a stride-1 conv)" in msgs[3]


def test_a_finding_at_a_subclass_of_a_layer_names_the_class_called() -> None:
    """The call a user reads is ``EqualDeconv(8, 8, 3, 2, 1)``: the message names that class
    and the layer it is, for a subclass with or without an ``__init__`` of its own, through a
    class of the tree, and for a container subclass (CBD104)."""
    from cbdiag.lint import lint_text

    text = (RESOLUTION / "subclasses.py").read_text()
    res = lint_text(text, "subclasses.py")
    lines = text.splitlines()
    heads = {
        lines[v.line - 1].split("=", 1)[0].strip(): (v.code, v.message.split(" kernel")[0])
        for v in res.violations
        if lines[v.line - 1][:1] in "abcdg"
    }
    assert heads["a"] == ("CBD101", "EqualDeconv (a ConvTranspose2d)")
    assert heads["c"] == ("CBD101", "Plain (a ConvTranspose2d)")
    assert heads["d"] == ("CBD101", "Fixed (a ConvTranspose2d)")
    assert heads["g"][0] == "CBD104"
    assert heads["g"][1].startswith("Up (a Sequential) stacks 2 transposed convolutions")
    # a library layer called by its own name keeps it
    plain = lint_text("import torch.nn as nn\nx = nn.ConvTranspose2d(1, 1, 3, 2)\n", "p.py")
    assert plain.violations[0].message.startswith("ConvTranspose2d kernel 3 not divisible")


def test_the_same_unknown_value_for_kernel_and_stride_is_clean_through_a_partial() -> None:
    """``partial(nn.ConvTranspose2d, c, c, kernel_size=u)(stride=u)`` and a partial that
    shifts the call's positions: one value for both, whichever argument list holds it."""
    from cbdiag.lint.engine import check_files

    path = RESOLUTION / "symbolic.py"
    (rep,) = check_files([(str(path), path.read_text())])
    clean = {line for line, codes in rep.clean if "CBD101" in codes}
    assert {22, 24} <= clean, (rep.clean, rep.unresolved)
