"""The README's promises: two set-up commands, the CI calls the test one, shown output is real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _setup_commands() -> list[str]:
    section = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)


def test_exactly_two_setup_commands() -> None:
    cmds = _setup_commands()
    assert len(cmds) == 2
    run, test = cmds
    assert "\n" not in run and "\n" not in test
    assert run.startswith("python3 -m venv") and "pip install ." in run
    assert run.endswith("cbdiag demo")
    assert "'.[test,torch]'" in test and test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_cmd = _setup_commands()[1]
    assert test_cmd in ci.splitlines()
    assert "CBDIAG_REQUIRE_TORCH=1" in ci
    for step in ("ruff check .", "ruff format --check .", "mypy cbdiag"):
        assert step in ci


@pytest.mark.parametrize(
    ("comment", "block"),
    re.findall(r"<!-- output: (.*?) -->\n```text\n(.*?)```", README, flags=re.S),
)
def test_shown_output_is_what_the_command_prints(comment: str, block: str, tmp_path: Path) -> None:
    """Each ``<!-- output: cmd -->`` block is what ``cmd`` prints (timings aside)."""
    args = comment.split()
    assert args[0] == "cbdiag"
    (tmp_path / "samples").symlink_to(ROOT / "samples")  # the demo reads ./samples
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
    p = subprocess.run(
        [sys.executable, "-m", "cbdiag", *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        # commands that write files run in a scratch folder, the others in the repository
        cwd=tmp_path if args[1] in ("generate", "demo") else ROOT,
    )
    assert p.returncode in (0, 1), p.stderr

    def norm(text: str) -> list[str]:
        return [
            re.sub(r"\d+\.\d+ s\b", "T s", line.rstrip()) for line in text.rstrip().splitlines()
        ]

    assert norm(p.stdout) == norm(block)


def test_readme_pictures_exist() -> None:
    for path in re.findall(r"\]\((samples/[^)]+\.png)\)", README):
        assert (ROOT / path).is_file(), path


def test_python_api_example_runs_and_says_what_it_prints() -> None:
    block = README.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), scope)
    r = scope["r"]
    claimed = re.search(r"r\.y\.pattern, r\.ratio_2d\s+# (.*)", block)
    assert claimed is not None
    assert repr((r.y.pattern, r.ratio_2d)) == claimed.group(1).strip()  # type: ignore[attr-defined]
    assert scope["m"].shape == r.shape  # type: ignore[attr-defined]
    assert scope["g"].ratio_2d == 4  # type: ignore[attr-defined]


_OUTSIDE_RULES = re.sub(r"<!-- rules:start -->.*?<!-- rules:end -->", "", README, flags=re.S)


@pytest.mark.parametrize(
    "block",
    re.findall(r"```python\n(.*?)```", _OUTSIDE_RULES, flags=re.S),
    ids=lambda b: b.split("\n")[0],
)
def test_every_python_example_runs(block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples refer to files in the repository
    exec(compile(block, "README.md", "exec"), {})


def test_readme_rules_section_is_generated_from_the_rules() -> None:
    from cbdiag.lint.rules import rules_markdown

    section = README.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert section == rules_markdown()
