"""Running the installed command as a user does, for the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def cbdiag(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m cbdiag ARGS`` in ``cwd``: its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
