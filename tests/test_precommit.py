"""pre-commit, as a user sets it up: the README's local configuration pasted into a scratch
repository, and this repository's ``.pre-commit-hooks.yaml`` through ``pre-commit try-repo``
(which installs cbdiag from the repository into pre-commit's own environment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BAD = "import torch.nn as nn\n\nup = nn.ConvTranspose2d(64, 32, 3, stride=2)\n"
GOOD = "import torch.nn as nn\n\nup = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)\n"


def _pre_commit() -> str:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("pre-commit is not installed (it is in the test extra)")
    return exe


def _repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "project"
    (repo / "models").mkdir(parents=True)
    (repo / "samples" / "generated").mkdir(parents=True)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        # the hooks' `cbdiag` is the one installed beside this interpreter
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "NO_COLOR": "1",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    return repo, env


def _run(args: list[str], repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def test_readme_local_configuration_works_as_pasted(tmp_path: Path) -> None:
    block = README.split("<!-- pre-commit: local -->", 1)[1]
    config = re.search(r"```yaml\n(.*?)```", block, flags=re.S).group(1)  # type: ignore[union-attr]
    repo, env = _repo(tmp_path)
    (repo / ".pre-commit-config.yaml").write_text(config)
    (repo / "models" / "up.py").write_text(BAD)
    (repo / "models" / "fine.py").write_text(GOOD)
    shutil.copy(ROOT / "samples" / "untrained_deconv_k3s2.png", repo / "samples" / "generated")
    shutil.copy(ROOT / "tests" / "data" / "camera_256.png", repo / "camera.png")  # not a sample
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    pc = _pre_commit()

    p = _run([pc, "run", "cbdiag-lint", "--files", "models/fine.py"], repo, env)
    assert p.returncode == 0, p.stdout + p.stderr
    p = _run([pc, "run", "cbdiag-lint", "--files", "models/up.py", "models/fine.py"], repo, env)
    assert p.returncode == 1 and "models/up.py:3:6: CBD101" in p.stdout, p.stdout + p.stderr

    p = _run([pc, "run", "cbdiag-score", "--files", "camera.png"], repo, env)
    assert p.returncode == 0 and "no files to check" in p.stdout.lower(), p.stdout  # files: filter
    p = _run([pc, "run", "cbdiag-score", "--all-files"], repo, env)
    assert p.returncode == 1 and "FLAGGED" in p.stdout, p.stdout + p.stderr


def test_hooks_of_this_repository_through_try_repo(tmp_path: Path) -> None:
    """``pre-commit try-repo`` installs cbdiag from this repository (its committed state, and
    any tracked changes) into a fresh environment and runs ``.pre-commit-hooks.yaml``."""
    if not (ROOT / ".git").exists():
        pytest.fail("try-repo needs this repository's git checkout")
    repo, env = _repo(tmp_path)
    (repo / "models" / "up.py").write_text(BAD)
    shutil.copy(ROOT / "samples" / "untrained_deconv_k3s2.png", repo / "samples" / "generated")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    pc = _pre_commit()
    env["PATH"] = os.environ.get("PATH", "")  # the hooks' own environment, not this one
    p = _run([pc, "try-repo", str(ROOT), "cbdiag-lint", "--files", "models/up.py"], repo, env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "models/up.py:3:6: CBD101" in p.stdout, p.stdout + p.stderr
    png = "samples/generated/untrained_deconv_k3s2.png"
    p = _run([pc, "try-repo", str(ROOT), "cbdiag-score", "--files", png], repo, env)
    assert p.returncode == 1 and "FLAGGED" in p.stdout, p.stdout + p.stderr
