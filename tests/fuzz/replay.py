"""Replay inputs through a fuzz target without atheris, and say what each one does.

``python -m tests.fuzz.replay TARGET FILE... [--timeout S] [--rss-mb MB] [--json]``

Each input runs once through ``tests/fuzz/fuzz_<TARGET>.py``'s ``TestOneInput`` in this
process, with a time limit (``SIGALRM``, checked between Python bytecodes) and an address-space
limit of ``--rss-mb`` megabytes above what the process already maps (an allocation past it is
a ``MemoryError``). For each input it prints the outcome (``ok``, ``exception``, ``timeout``),
the exception type and message, where it was raised and the innermost cbdiag frame on the way
(``cbdiag/weights.py:170``), and the traceback; ``--json`` prints one JSON object a line
instead (what ``python -m tests.fuzz`` reads to group crashes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


class InputTimeout(BaseException):
    """The input ran longer than ``--timeout`` (a BaseException: no target catches it)."""


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise InputTimeout


def _short(filename: str) -> str:
    """``cbdiag/weights.py`` for the package, ``numpy/lib/format.py`` for site-packages."""
    p = Path(filename)
    parts = p.parts
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    try:
        return p.resolve().relative_to(REPO).as_posix()
    except ValueError:
        pass
    if "lib" in parts:  # the standard library: python3.11/zipfile/__init__.py -> zipfile/...
        i = len(parts) - 1 - parts[::-1].index("lib")
        return "/".join(parts[i + 2 :]) or p.name
    return str(p)


def locate(tb: TracebackType | None) -> tuple[str | None, str | None]:
    """(where the exception was raised, the innermost frame in cbdiag/) as ``path:line``."""
    frames = traceback.extract_tb(tb)
    raised = f"{_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else None
    ours = None
    for fr in reversed(frames):
        short = _short(fr.filename)
        if short.startswith("cbdiag/"):
            ours = f"{short}:{fr.lineno}"
            break
    return raised, ours


def _limit_memory(rss_mb: int) -> None:
    try:
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: no limit
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = mapped + (rss_mb << 20)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def replay_one(test_one_input: Any, path: Path, timeout: float) -> dict[str, Any]:
    """Run one input; the outcome as a JSON-able dict."""
    out: dict[str, Any] = {"input": str(path), "outcome": "ok"}
    data = path.read_bytes()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        test_one_input(data)
    except InputTimeout as exc:
        raised, ours = locate(exc.__traceback__)
        out.update(outcome="timeout", type="timeout", message=f"over {timeout:g} s")
        out.update(raised=raised, cbdiag=ours, traceback=_format(exc))
    except Exception as exc:  # the finding: anything that is not a CbdiagError
        raised, ours = locate(exc.__traceback__)
        msg = " ".join(str(exc).split())
        out.update(outcome="exception", type=type(exc).__qualname__, message=msg[:300])
        mod = type(exc).__module__
        if mod not in ("builtins", "__main__"):
            out["type"] = f"{mod}.{type(exc).__qualname__}"
        out.update(raised=raised, cbdiag=ours, traceback=_format(exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return out


def _format(exc: BaseException) -> list[str]:
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None:  # from TestOneInput on, not replay_one
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    return "".join(lines).rstrip("\n").splitlines()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", help="the target name (image, npz, ...)")
    ap.add_argument("inputs", nargs="+", type=Path, help="input files")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    ap.add_argument("--rss-mb", type=int, default=2048, help="memory allowed per input")
    ap.add_argument("--json", action="store_true", help="one JSON object per input")
    args = ap.parse_args(argv)
    mod = importlib.import_module(f"tests.fuzz.fuzz_{args.target}")
    signal.signal(signal.SIGALRM, _alarm)
    _limit_memory(args.rss_mb)
    bad = 0
    for path in args.inputs:
        res = replay_one(mod.TestOneInput, path, args.timeout)
        bad += res["outcome"] != "ok"
        if args.json:
            print(json.dumps(res), flush=True)
            continue
        print(f"{path}: {res['outcome']}")
        if res["outcome"] != "ok":
            print(f"  {res['type']}: {res['message']}")
            print(f"  raised at {res['raised']}, in cbdiag at {res['cbdiag']}")
            print("  " + "\n  ".join(res["traceback"][-12:]))
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
