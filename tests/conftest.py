"""Shared fixtures: the optional torch oracle and a clean environment for CLI output."""

from __future__ import annotations

import os
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """PyTorch as a reference oracle.

    Skipped when torch is not installed, except when ``CBDIAG_REQUIRE_TORCH=1`` (set by
    ``.ci/run``): then a missing torch is a failure, so reference tests can never silently
    disappear from CI.
    """
    try:
        import torch as _torch
    except ImportError:
        if os.environ.get("CBDIAG_REQUIRE_TORCH") == "1":
            pytest.fail("CBDIAG_REQUIRE_TORCH=1 but torch is not installed")
        pytest.skip("torch is not installed (install the 'torch' extra to run reference tests)")
    _torch.set_default_dtype(_torch.float64)
    return _torch


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic CLI output: no colour, fixed width, no CI terminal forcing."""
    for var in ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TTY_COMPATIBLE", "CLICOLOR_FORCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")


# Lint fixtures are inputs of `cbdiag lint`, not modules to import (doctest collection would).
collect_ignore_glob = ["lint/fixtures/*", "lint/resolution/*"]
