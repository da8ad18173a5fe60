"""What every fuzz target shares: instrumentation when atheris runs it, a scratch file per
process, and the libFuzzer entry point.

A target module imports cbdiag inside ``with instrumented(__name__, ...)``: run as a script
under atheris, the modules imported there are instrumented for coverage; imported by pytest (or
anything else) it is a plain import and atheris is not needed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The repository's top level (tests/fuzz/ is two levels down).
REPO = Path(__file__).resolve().parents[2]

_scratch: Path | None = None

#: Set to a directory, a target goes on past escaping exceptions: the first input of each
#: kind (exception type and the cbdiag line it escaped from) is written there as
#: ``crash-<sha1 of the kind>`` (``python -m tests.fuzz --keep-going`` sets it).
COLLECT_ENV = "CBDIAG_FUZZ_COLLECT"


def instrumented(name: str, *packages: str) -> contextlib.AbstractContextManager[Any]:
    """``atheris.instrument_imports`` for cbdiag and ``packages`` when the calling module runs
    as a script (``name == "__main__"``), else a no-op context."""
    if name != "__main__":
        return contextlib.nullcontext()
    try:
        import atheris
    except ImportError:  # replaying inputs without atheris (see fuzz() below)
        return contextlib.nullcontext()
    return atheris.instrument_imports(include=["cbdiag", *packages])


def instrument_modules(name: str, *modules: str) -> None:
    """Instrument the functions and methods defined in ``modules`` (already imported) when the
    calling module runs as a script under atheris: for a few modules of a large package
    (numpy), whose whole instrumentation on import would cost many seconds per start."""
    if name != "__main__":
        return
    try:
        import atheris
    except ImportError:
        return
    import importlib
    import inspect

    def patch(obj: Any) -> None:
        fn = getattr(obj, "__func__", obj)
        if inspect.isfunction(fn):
            atheris.instrument_func(fn)

    for mod_name in modules:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        for obj in list(vars(mod).values()):
            if getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isclass(obj):
                for member in list(vars(obj).values()):
                    if isinstance(member, property):
                        for acc in (member.fget, member.fset):
                            if acc is not None:
                                patch(acc)
                    else:
                        patch(member)
            else:
                patch(obj)


def scratch_dir() -> Path:
    """A private temporary directory of this process (removed at exit)."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="cbdiag-fuzz-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def scratch(name: str, data: bytes) -> Path:
    """Write ``data`` to the file ``name`` in :func:`scratch_dir` (overwritten each call)."""
    path = scratch_dir() / name
    path.write_bytes(data)
    return path


def collecting(test_one_input: Callable[[bytes], None], where: Path) -> Callable[[bytes], None]:
    """``test_one_input`` that records escaping exceptions instead of stopping (see
    :data:`COLLECT_ENV`), one input per kind."""
    import hashlib
    import traceback

    from tests.fuzz.replay import locate

    def run(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:
            raised, ours = locate(exc.__traceback__)
            kind = f"{type(exc).__module__}.{type(exc).__qualname__} at {ours or raised}"
            path = where / f"crash-{hashlib.sha1(kind.encode()).hexdigest()}"
            if not path.exists():
                path.write_bytes(data)
                print(f"\n=== new failure, going on: {kind}; input: {path}", file=sys.stderr)
                traceback.print_exception(exc, file=sys.stderr)

    return run


def fuzz(test_one_input: Callable[[bytes], None], script: str) -> None:
    """Run ``test_one_input`` under atheris/libFuzzer with this process's argv.

    ``argv[0]`` given to libFuzzer is ``python script`` (quoted) rather than the bare script:
    libFuzzer's ``-fork`` and ``-merge`` modes start themselves again through a shell with
    it, and the script is not an executable of its own. Without atheris, the arguments must
    be input files: each is run once through ``test_one_input`` (a plain replay).
    """
    args = sys.argv[1:]
    try:
        import atheris
    except ImportError:
        files = [a for a in args if not a.startswith("-")]
        if not files or not all(os.path.isfile(f) for f in files):
            sys.exit("fuzzing needs atheris: pip install '.[fuzz]' (or give input files to replay)")
        for f in files:
            print(f"Running: {f}", file=sys.stderr)
            test_one_input(Path(f).read_bytes())
        return
    collect = os.environ.get(COLLECT_ENV)
    if collect:
        test_one_input = collecting(test_one_input, Path(collect))
    me = f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(script))}"
    atheris.Setup([me, *args], test_one_input)
    atheris.Fuzz()
