"""The benchmarks' timing helper (``benchmarks/_timing.py``): the order in which the functions it
compares take turns (what a ratio of two of them rests on)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _timing() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_timing", ROOT / "benchmarks" / "_timing.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _recorder() -> tuple[list[str], dict[str, object]]:
    calls: list[str] = []
    return calls, {k: (lambda k=k: calls.append(k)) for k in ("a", "b")}


def test_rounds_take_turns_in_one_order_by_default() -> None:
    calls, fns = _recorder()
    times = _timing().interleaved(fns, 3)
    assert calls == ["a", "b", *(["a", "b"] * 3)]  # (a warm-up round first)
    assert [len(v) for v in times.values()] == [3, 3]


def test_alternate_rounds_reverse_the_order() -> None:
    calls: list[str] = []
    now = [0.0]

    def step(name: str, cost: float) -> None:
        calls.append(name)
        now[0] += cost

    fns = {"a": lambda: step("a", 1.0), "b": lambda: step("b", 10.0)}
    times = _timing().interleaved(fns, 4, clock=lambda: now[0], alternate=True)
    warm_up, rounds = ["a", "b"], ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert calls == [*warm_up, *rounds]
    # each function's times are its own, whichever ran first in the round
    assert times == {"a": [1.0] * 4, "b": [10.0] * 4}


def test_lint_speed_fresh_times_each_run_in_its_own_interpreter(tmp_path: Path) -> None:
    """``--fresh``: every run of the floor and of lint is a new interpreter (each child's own
    pid), the two taking turns, and the times are what the children measured inside."""
    import subprocess

    spec = importlib.util.spec_from_file_location(
        "lint_speed", ROOT / "benchmarks" / "lint_speed.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.make_tree(tmp_path, 6)
    runs: list[tuple[str, str]] = []
    real = subprocess.run

    def spy(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        code = cmd[-1]
        mode = "floor" if "'floor' ==" in code else "lint"
        out = real([*cmd[:-1], code + "\nimport os; print('pid', os.getpid())"], **kw)  # type: ignore[call-overload]
        pid = out.stdout.split()[-1]
        runs.append((mode, pid))
        return subprocess.CompletedProcess(cmd, 0, out.stdout.rsplit("pid", 1)[0], "")

    mod.subprocess.run = spy  # type: ignore[attr-defined]
    try:
        times = mod.fresh_times(tmp_path, "lint", 2, cpu=True)
    finally:
        mod.subprocess.run = real  # type: ignore[attr-defined]
    assert [m for m, _ in runs] == ["floor", "floor", "lint", "lint", "floor"]
    assert len({pid for _, pid in runs}) == len(runs)  # a new interpreter each time
    assert [len(v) for v in times.values()] == [2, 2]
    assert all(0 < t < 60 for v in times.values() for t in v)
