"""Coverage-guided fuzzing of cbdiag's readers with atheris (libFuzzer): ``python -m tests.fuzz``.

The contract under test: every failure a user can cause raises ``cbdiag.errors.CbdiagError``
(or a subclass); any other exception escaping a reader is a bug, and so is an input that runs
past the time limit or takes memory past the RSS limit.

Targets (one module each, ``tests/fuzz/fuzz_<target>.py``, seeds in
``tests/fuzz/corpus/<target>/``, a libFuzzer dictionary in ``tests/fuzz/dicts/<target>.dict``):
``image`` (the loader of ``cbdiag score``), ``npz`` and ``npy`` (``load_checkpoint``),
``safetensors`` (``read_safetensors``), ``onnx`` (``read_model`` and what ``overlap --model``
and ``inspect`` do with it), ``layers`` (the ``--layers`` parser), ``lint`` (the lint engine on
one source), ``skeleton`` (the lint engine's parse, against ``ast.parse``), ``config``
(``[tool.cbdiag]`` in ``pyproject.toml``), ``wav`` (``load_audio`` and a score of what it
read).

Usage (from the repository's top level, atheris installed: ``pip install '.[fuzz]'``)::

    python -m tests.fuzz                        # every target, 20 s each
    python -m tests.fuzz --seconds 15           # the CI step (.ci/run)
    python -m tests.fuzz --target npz --target npy --seconds 120

Each target runs in its own process: ``tests/fuzz/fuzz_<target>.py <workdir>/<target>/corpus
-max_total_time=N -rss_limit_mb=MB -timeout=S -artifact_prefix=<workdir>/<target>/``. The
checked-in seeds are copied to ``<workdir>`` first, so a run never grows them;
``--grow-corpus`` merges the inputs that reached new code back into ``tests/fuzz/corpus/``
(libFuzzer ``-merge=1``: only inputs that add coverage; keep the corpus small, a few hundred KB).
The run exits 1 if any target crashed (an exception other than CbdiagError), went over the RSS
limit or timed out, and prints for each distinct failure the artifact (the input that caused it),
the exception type and message, where it was raised and the first lines of the traceback. The
libFuzzer log of each target is ``<workdir>/<target>/fuzz.log``.

A longer campaign: give it time and a work directory that is kept, so that a second run goes on
from the corpus the first one grew, and let it go on past failures to collect them all
(``--keep-going``: the first input of each kind of escaping exception, its type and the cbdiag
line it escaped from, is written as ``crash-<sha1 of the kind>`` and fuzzing goes on; after an
OOM or a timeout the target is started again on the time left)::

    python -m tests.fuzz --seconds 3600 --workdir /tmp/cbdiag-fuzz --keep-going
    python -m tests.fuzz --seconds 3600 --workdir /tmp/cbdiag-fuzz --grow-corpus

Extra libFuzzer flags go after ``--``: ``python -m tests.fuzz --target lint -- -max_len=20000``.

Replaying an artifact (one input run once, with the Python traceback)::

    python tests/fuzz/fuzz_npz.py /tmp/cbdiag-fuzz/npz/crash-<sha1>   # under atheris/libFuzzer
    python -m tests.fuzz.replay npz /tmp/cbdiag-fuzz/npz/crash-*      # plain Python, grouped

A fixed artifact becomes a regression test by copying it into the target's corpus
(``tests/test_fuzz_targets.py`` replays every seed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz._harness import COLLECT_ENV

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"
DICTS = HERE / "dicts"
TARGETS = (
    "image",
    "npz",
    "npy",
    "safetensors",
    "onnx",
    "layers",
    "lint",
    "skeleton",
    "config",
    "wav",
)
#: libFuzzer's artifact names: ``<kind>-<sha1>``.
ARTIFACT_KINDS = ("crash", "oom", "timeout", "leak")
#: Time allowed for a target's start-up (imports, instrumentation, loading the corpus).
STARTUP_S = 120
#: With --keep-going, the most times a target is started again after an OOM or a timeout.
MAX_RUNS = 20


@dataclass
class Failure:
    """One artifact and what replaying it showed."""

    artifact: Path
    kind: str  # crash, oom, timeout, leak (from libFuzzer)
    type: str | None = None
    message: str | None = None
    raised: str | None = None
    cbdiag: str | None = None
    traceback: list[str] = field(default_factory=list)
    reproduces: bool = True

    @property
    def signature(self) -> tuple[str, str | None, str | None]:
        return (self.kind, self.type, self.cbdiag or self.raised)


@dataclass
class Outcome:
    target: str
    result: str  # ok, crash, oom, timeout, leak, hung, error
    executions: int
    corpus: int
    seconds: float
    log: Path
    failures: list[Failure] = field(default_factory=list)
    note: str = ""

    @property
    def distinct(self) -> dict[tuple[str, str | None, str | None], list[Failure]]:
        groups: dict[tuple[str, str | None, str | None], list[Failure]] = {}
        for f in self.failures:
            groups.setdefault(f.signature, []).append(f)
        return groups


# ---------------------------------------------------------------------------------------------
# the libFuzzer log
# ---------------------------------------------------------------------------------------------

_STAT = re.compile(r"^stat::number_of_executed_units:\s*(\d+)", re.M)
_DONE = re.compile(r"^Done (\d+) runs in", re.M)
_STATUS = re.compile(r"^#(\d+)[:\s]", re.M)
_CORP = re.compile(r"\bcorp: (\d+)")
_UNCAUGHT = "=== Uncaught Python exception: ==="
_BANNER = "INFO: Using built-in libfuzzer"


def executions(log: str) -> int:
    """Inputs run, from libFuzzer's final statistics (or its last status line).

    >>> executions("#2\\tINITED cov: 6\\n#4096\\tpulse cov: 9\\nDone 5000 runs in 2 second(s)")
    5000
    >>> executions("#12: cov: 7 ft: 7 corp: 2 exec/s 22 oom/timeout/crash: 0/0/0 time: 6s")
    12
    """
    for rx in (_STAT, _DONE):
        m = rx.findall(log)
        if m:
            return int(m[-1])
    m = _STATUS.findall(log)
    return max(int(x) for x in m) if m else 0


def corpus_size(log: str) -> int | None:
    """Inputs in the corpus at the end, from libFuzzer's last status line.

    >>> corpus_size("#2\tINITED cov: 6 ft: 6 corp: 1/3b\n#9\tNEW cov: 7 ft: 7 corp: 2/6b")
    2
    """
    m = _CORP.findall(log)
    return int(m[-1]) if m else None


def log_traceback(log: str) -> list[str]:
    """The Python exception atheris printed, if any (its lines up to libFuzzer's report)."""
    i = log.find(_UNCAUGHT)
    if i < 0:
        return []
    lines = []
    for line in log[i + len(_UNCAUGHT) :].splitlines()[1:]:
        if line.startswith("==") and "ERROR: libFuzzer" in line:
            break
        lines.append(line)
    return lines


def artifacts(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.name.split("-")[0] in ARTIFACT_KINDS)


# ---------------------------------------------------------------------------------------------
# running a target
# ---------------------------------------------------------------------------------------------


def _libfuzzer_flags(target: str, args: argparse.Namespace, wd: Path, seconds: int) -> list[str]:
    flags = [
        f"-max_total_time={seconds}",
        f"-rss_limit_mb={args.rss_mb}",
        f"-timeout={args.timeout}",
        f"-artifact_prefix={wd}/",
        "-print_final_stats=1",
    ]
    d = DICTS / f"{target}.dict"
    if d.is_file():
        flags.append(f"-dict={d}")
    return flags + list(args.libfuzzer)


def _env(wd: Path, collect: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(COLLECT_ENV, None)
    if collect:
        env[COLLECT_ENV] = str(wd)
    tmp = wd / "tmp"
    tmp.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp)  # scratch files (and what a crash leaves) stay in the work dir
    env.pop("PYTHONSTARTUP", None)
    return env


def _run(cmd: list[str], log: Path, env: dict[str, str], wall: float) -> tuple[int | None, bool]:
    """Run ``cmd`` in its own process group, output to ``log``; (exit code, hung)."""
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return proc.wait(timeout=wall), False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, True


def replay(target: str, inputs: list[Path], timeout: float, rss_mb: int) -> dict[Path, dict]:
    """What each input does when replayed in plain Python (``tests.fuzz.replay --json``);
    an input that kills or hangs the replay process is reported as such."""
    out: dict[Path, dict[str, Any]] = {}
    todo = list(inputs)
    while todo:
        cmd = [sys.executable, "-m", "tests.fuzz.replay", target, *map(str, todo), "--json"]
        cmd += [f"--timeout={timeout}", f"--rss-mb={rss_mb}"]
        wall = timeout * len(todo) + 60
        try:
            proc = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, timeout=wall, check=False
            )
            stdout, why = proc.stdout, f"the replay process ended with exit code {proc.returncode}"
        except subprocess.TimeoutExpired as exc:
            raw = exc.stdout or ""
            stdout = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            why = "the replay process hung"
        for line in stdout.splitlines():
            with_json = line.strip()
            if with_json.startswith("{"):
                res = json.loads(with_json)
                out[Path(res["input"])] = res
        todo = [p for p in todo if p not in out]
        if todo:  # the first one left killed the process
            out[todo[0]] = {"outcome": "died", "type": None, "message": why}
            todo = todo[1:]
    return out


def run_target(target: str, args: argparse.Namespace, workdir: Path) -> Outcome:
    wd = workdir / target
    corpus = wd / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = CORPUS / target
    if seeds.is_dir():
        for f in seeds.iterdir():
            if f.is_file() and not (corpus / f.name).exists():
                shutil.copy2(f, corpus / f.name)
    before = {p.name for p in artifacts(wd)}
    log = wd / "fuzz.log"
    log.write_bytes(b"")
    module = HERE / f"fuzz_{target}.py"
    env = _env(wd, args.keep_going)
    t0 = time.monotonic()
    runs = 0
    while True:  # once; with --keep-going, again after each OOM or timeout until time is up
        left = args.seconds - int(time.monotonic() - t0)
        flags = _libfuzzer_flags(target, args, wd, max(left, 1))
        cmd = [sys.executable, str(module), str(corpus), *flags]
        rc, hung = _run(cmd, log, env, left + STARTUP_S + 2 * args.timeout)
        runs += 1
        if not args.keep_going or rc == 0 or hung or runs >= MAX_RUNS:
            break
        if args.seconds - (time.monotonic() - t0) < 5:
            break
        if not [p for p in artifacts(wd) if p.name not in before]:
            break  # it failed without an artifact: not something to go on from
    seconds = time.monotonic() - t0
    text = log.read_text(errors="replace")
    n_corpus = corpus_size(text)
    if n_corpus is None:
        n_corpus = sum(1 for p in corpus.iterdir() if p.is_file())
    n_exec = sum(executions(part) for part in text.split(_BANNER)) if runs > 1 else executions(text)
    outcome = Outcome(target, "ok", n_exec, n_corpus, seconds, log)
    found = artifacts(wd)
    if found:
        results = replay(target, found, args.timeout, args.rss_mb)
        for art in found:
            res = results.get(art, {})
            new = art.name not in before
            f = Failure(
                art,
                art.name.split("-")[0],
                res.get("type"),
                res.get("message"),
                res.get("raised"),
                res.get("cbdiag"),
                res.get("traceback") or [],
                reproduces=res.get("outcome") not in (None, "ok"),
            )
            if not f.reproduces and new:
                f.message = "does not fail when replayed alone" + (
                    " (memory may have grown over many inputs)" if f.kind == "oom" else ""
                )
                if f.kind == "crash" and not args.keep_going:
                    f.traceback = log_traceback(text)
            if new or f.reproduces:  # an old artifact that passes now is fixed
                outcome.failures.append(f)
    if outcome.failures:
        kinds = [f.kind for f in outcome.failures]
        outcome.result = max(set(kinds), key=kinds.count)
    elif hung:
        outcome.result = "hung"
        outcome.note = f"killed after {seconds:.0f} s"
    elif rc not in (0, None):
        outcome.result = "error"
        tail = text.strip().splitlines()[-15:]
        outcome.note = f"exit code {rc} without an artifact; log ends:\n    " + "\n    ".join(tail)
    if args.grow_corpus and seeds.is_dir():
        outcome.note += _grow(target, corpus, seeds, args, env, wd)
    return outcome


def _grow(
    target: str,
    corpus: Path,
    seeds: Path,
    args: argparse.Namespace,
    env: dict[str, str],
    wd: Path,
) -> str:
    """Merge the inputs of ``corpus`` that add coverage into the checked-in ``seeds``."""
    had = {p.name for p in seeds.iterdir()}
    cmd = [sys.executable, str(HERE / f"fuzz_{target}.py"), "-merge=1", str(seeds), str(corpus)]
    cmd += [f"-rss_limit_mb={args.rss_mb}", f"-timeout={args.timeout}"]
    cmd += [f"-artifact_prefix={wd}/merge-"]
    _run(cmd, wd / "merge.log", env, 30 * args.timeout + STARTUP_S)
    added = [p for p in seeds.iterdir() if p.name not in had]
    size = sum(p.stat().st_size for p in seeds.iterdir())
    return f"merged {len(added)} inputs into {seeds.relative_to(REPO)} (now {size // 1024} KB)"


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def report(outcomes: Sequence[Outcome], file: Any = sys.stdout) -> None:
    w = max(len(o.target) for o in outcomes)
    print(f"{'target':<{w}}  {'executions':>10}  {'corpus':>6}  {'time':>5}  result", file=file)
    for o in outcomes:
        res = o.result
        if o.failures:
            n = len(o.failures)
            res += f" ({n} artifact{'s' * (n != 1)}, {len(o.distinct)} distinct)"
        line = f"{o.target:<{w}}  {o.executions:>10}  {o.corpus:>6}  {o.seconds:>4.0f}s  {res}"
        print(line, file=file)
    for o in outcomes:
        if o.result == "ok" and not o.note:
            continue
        print(f"\n{o.target}: {o.result}  (log: {o.log})", file=file)
        if o.note:
            print(f"  {o.note}", file=file)
        for (kind, typ, _where), group in o.distinct.items():
            f = group[0]
            more = f"  (+{len(group) - 1} more like it)" if len(group) > 1 else ""
            print(f"  {kind}: {f.artifact}{more}", file=file)
            print(f"    {typ or kind}: {f.message or ''}", file=file)
            if f.raised or f.cbdiag:
                print(f"    raised at {f.raised}; in cbdiag at {f.cbdiag}", file=file)
            tb = f.traceback
            starts = [i for i, line in enumerate(tb) if line.startswith("Traceback (most")]
            tb = tb[starts[-1] :] if starts else tb  # the last of a chain: the one that escaped
            for line in tb[:9]:
                print(f"      {line}", file=file)
            if len(tb) > 9:
                print("      ...", file=file)
                for line in tb[-3:]:
                    print(f"      {line}", file=file)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description="Fuzz cbdiag's readers with atheris/libFuzzer (see the module docstring).",
    )
    ap.add_argument("--seconds", type=int, default=20, help="fuzzing time per target (20)")
    ap.add_argument(
        "--target", action="append", choices=TARGETS, help="a target (repeatable; default all)"
    )
    ap.add_argument("--rss-mb", type=int, default=2048, help="RSS limit per target (2048 MB)")
    ap.add_argument("--timeout", type=int, default=10, help="time limit per input (10 s)")
    ap.add_argument("--workdir", type=Path, help="work directory (default: a new temp dir)")
    ap.add_argument(
        "--grow-corpus",
        action="store_true",
        help="merge the inputs that add coverage into tests/fuzz/corpus/<target>/",
    )
    ap.add_argument(
        "--keep-going",
        action="store_true",
        help="go on past failures to collect them all: the first input of each kind of "
        "escaping exception is kept, and the target starts again after an OOM or a timeout",
    )
    ap.add_argument("--jobs", type=int, default=1, help="targets run at the same time (1)")
    args = ap.parse_args(argv)
    args.libfuzzer = extra
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("error: fuzzing needs atheris: pip install '.[fuzz]'", file=sys.stderr)
        return 2
    targets = list(dict.fromkeys(args.target or TARGETS))
    given = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cbdiag-fuzz-"))
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"fuzzing {', '.join(targets)} for {args.seconds} s each in {workdir}", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda t: run_target(t, args, workdir), targets))
    report(outcomes)
    failed = [o for o in outcomes if o.result != "ok"]
    if not failed and not given:
        shutil.rmtree(workdir, ignore_errors=True)
    elif failed:
        print(f"\nartifacts and logs kept in {workdir}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
