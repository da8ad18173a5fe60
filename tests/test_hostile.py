"""Hostile and broken inputs on the command line: one table of cases, one contract.

Every case builds its input in ``tmp_path`` (zip bombs, sparse files, FIFOs, device nodes,
odd file names, absurd numbers), runs ``python -m cbdiag ...`` in a subprocess capped at 3 GiB
of address space and 60 s, and checks the contract of ``../shared/DESIGN.md`` section 3:

- the run ends (no hang), is not killed by a signal and does not run out of memory;
- the exit code is the case's (2 for a refused input; a batch with one bad file still reports
  the good ones and exits 2);
- stderr holds no traceback, no "internal error" and no numpy/Pillow warning, and a refusal is
  ONE line ``error: ...`` naming the offending input (file or option);
- ``--format json`` output parses strictly (no NaN / Infinity tokens);
- no escape character reaches the terminal raw, and stdout stays bounded;
- no file the user gave is modified or replaced (device nodes stay device nodes), and no huge
  or temporary file is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import resource
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
TIMEOUT = 60
ADDRESS_SPACE = 3 * GiB
#: A safety net for the machine, not part of the contract: a run that writes a file over this
#: size is killed by SIGXFSZ (and the case fails, naming the signal).
FILE_SIZE_CAP = 1 * GiB
ZEROS = "0" * 5000  # the digits of a number with 5001 digits, after a leading 1
WARNING_RE = re.compile(rb"\b[A-Z][A-Za-z]*Warning\b")


# ---------------------------------------------------------------------------------------------
# running the command
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One finished ``python -m cbdiag`` run."""

    args: list[bytes]
    rc: int
    out: bytes
    err: bytes
    seconds: float

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8", "backslashreplace")

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "backslashreplace")

    def explain(self, what: str) -> str:
        """``what`` with the command, its exit code and (the start of) both streams."""
        shown = " ".join(a.decode("utf-8", "backslashreplace") for a in self.args)
        if len(shown) > 300:
            shown = shown[:150] + " ... " + shown[-100:]

        def cut(s: str) -> str:
            return (
                s
                if len(s) <= 3000
                else s[:2000] + f"\n... ({len(s):,} characters) ...\n" + s[-800:]
            )

        return (
            f"{what}\n  command: cbdiag {shown}\n  exit code: {self.rc} after {self.seconds:.1f} s"
            f"\n  --- stderr ---\n{cut(self.stderr)}\n  --- stdout ---\n{cut(self.stdout)}"
        )


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_CAP, FILE_SIZE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _env(cwd: Path) -> dict[str, str]:
    drop = {"CBDIAG_DEBUG", "FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE", "TTY_COMPATIBLE"}
    drop |= {"GITHUB_ACTIONS", "PYTHONWARNINGS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(NO_COLOR="1", COLUMNS="100", TERM="dumb", TMPDIR=str(cwd / "systmp"))
    return env


def run_capped(args: list[str | bytes], stdin: bytes | None = None, *, cwd: Path) -> Run:
    """``python -m cbdiag ARGS`` in ``cwd`` with 3 GiB of address space and 60 s.

    A run that does not end in time is killed (its whole process group: worker processes
    too) and the case fails as a hang."""
    argv = [os.fsencode(a) for a in args]
    (cwd / "systmp").mkdir(exist_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [os.fsencode(sys.executable), b"-m", b"cbdiag", *argv],
        cwd=cwd,
        env=_env(cwd),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limits,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        run = Run(argv, proc.returncode, out, err, time.monotonic() - t0)
        pytest.fail(run.explain(f"did not finish in {TIMEOUT} s (a hang)"))
    return Run(argv, proc.returncode, out, err, time.monotonic() - t0)


# ---------------------------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------------------------


@dataclass
class Spec:
    """A case: the arguments, and what the run must show.

    ``rc`` is the exit code (or the codes accepted). ``names`` must appear where the problem is
    reported, ``where``: ``"stderr"`` — stderr is exactly one line ``error: ...`` holding them;
    ``"report"`` — stdout (a batch's report) holds them; ``"any"`` — either. ``check`` runs
    case-specific assertions on the finished run."""

    args: list[str | bytes]
    rc: int | tuple[int, ...] = 2
    names: tuple[str, ...] = ()
    where: str = "stderr"
    stdin: bytes | None = None
    json: bool = False
    max_stdout: int = 5 * MiB
    check: Callable[[Run], None] | None = None


def _no_constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


def strict_json(run: Run) -> Any:
    try:
        return json.loads(run.out, parse_constant=_no_constant)
    except ValueError as exc:
        pytest.fail(run.explain(f"stdout is not strict JSON: {exc}"))


def error_line(run: Run) -> str:
    """The one ``error: ...`` line of stderr ("" when there is none)."""
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
    return lines[0] if len(lines) == 1 else ""


def check_contract(spec: Spec, run: Run) -> None:
    if run.rc < 0:
        pytest.fail(run.explain(f"killed by signal {signal.Signals(-run.rc).name}"))
    for bad in (b"Traceback", b"internal error", b"MemoryError"):
        assert bad not in run.err, run.explain(f"{bad.decode()!r} on stderr")
    warned = WARNING_RE.search(run.err)
    assert warned is None, run.explain(f"a warning on stderr: {warned.group().decode()}")
    allowed = spec.rc if isinstance(spec.rc, tuple) else (spec.rc,)
    assert run.rc in allowed, run.explain(f"exit code {run.rc}, expected {spec.rc}")
    for stream, data in (("stdout", run.out), ("stderr", run.err)):
        assert b"\x1b" not in data, run.explain(f"a raw escape character (\\x1b) on {stream}")
    assert len(run.out) <= spec.max_stdout, run.explain(
        f"stdout is {len(run.out):,} bytes, over {spec.max_stdout:,}"
    )
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) <= 1, run.explain(f"{len(errors)} 'error: ' lines on stderr, not one")
    if spec.where == "stderr" and run.rc == 2:
        lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), run.explain(
            "a refusal must be exactly one line 'error: ...' on stderr"
        )
    for name in spec.names:
        line = error_line(run)
        if spec.where == "stderr":
            found = name in line
        elif spec.where == "report":
            found = name in run.stdout
        else:
            found = name in line or name in run.stdout
        assert found, run.explain(f"the report does not name {name!r} ({spec.where})")
    if spec.json:
        strict_json(run)
    if spec.check is not None:
        spec.check(run)


Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root``: type, device number, size, mtime, and the bytes' hash for
    regular files (not for large sparse ones: size and mtime stand for them)."""
    seen: Snapshot = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(top, name)
            st = os.lstat(p)
            digest = None
            if stat.S_ISREG(st.st_mode) and st.st_size <= 64 * MiB:
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            mtime = st.st_mtime_ns if not stat.S_ISDIR(st.st_mode) else None
            seen[p] = (stat.S_IFMT(st.st_mode), st.st_rdev, st.st_size, mtime, digest)
    return seen


def check_files(before: Snapshot, after: Snapshot, run: Run) -> None:
    for p, was in before.items():
        shown = os.fsencode(p).decode("utf-8", "backslashreplace")
        assert p in after, run.explain(f"{shown} was removed")
        assert after[p][:2] == was[:2], run.explain(f"{shown} was replaced by another kind of file")
        assert after[p] == was, run.explain(f"{shown} was modified")
    for p, now in after.items():
        if p in before or now[0] != stat.S_IFREG:
            continue
        shown = os.fsencode(p).decode("utf-8", "backslashreplace")
        st = os.lstat(p)
        assert st.st_size <= GiB and st.st_blocks * 512 <= 64 * MiB, run.explain(
            f"left a huge file behind: {shown} ({st.st_size:,} bytes)"
        )
        if run.rc != 0:
            assert not os.path.basename(p).startswith(".cbdiag-"), run.explain(
                f"left a temporary file behind: {shown}"
            )
        if os.sep + "systmp" + os.sep in p:
            assert st.st_size <= MiB, run.explain(f"left a temporary file behind: {shown}")


# ---------------------------------------------------------------------------------------------
# building hostile inputs
# ---------------------------------------------------------------------------------------------

CASES: list[Any] = []


def case(case_id: str, *marks: Any) -> Callable[[Callable[[Path], Spec]], Callable[[Path], Spec]]:
    """Register a builder ``(tmp_path) -> Spec`` as one row of the table."""

    def register(build: Callable[[Path], Spec]) -> Callable[[Path], Spec]:
        CASES.append(pytest.param(build, id=case_id, marks=marks))
        return build

    return register


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def char_device(path: Path, minor: int) -> Path:
    """A character device of our own (1, minor): 3 is null (discards), 7 is full (ENOSPC)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD)")
    return path


def still_char_device(path: Path) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        st = os.lstat(path)
        assert stat.S_ISCHR(st.st_mode), run.explain(f"{path.name} is no longer a device node")

    return check


def noise_png(path: Path, size: int = 64, seed: int = 0) -> Path:
    """Uniform noise: readable and never flagged."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def flagged_png(path: Path) -> Path:
    """A strong period-2 pattern over noise: flagged at every default."""
    rng = np.random.default_rng(1)
    tile = np.array([[1.0, -1.0], [-1.0, 1.0]])
    img = rng.random((128, 128)) * 0.6 + 0.2 + 0.15 * np.tile(tile, (64, 64))
    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of ``width x height``: a few hundred KB on disk."""
    row = bytes(1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
    return write(path, png + png_chunk(b"IEND", b""))


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A version 1.0 ``.npy`` header claiming ``shape`` (whatever data follows)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


@dataclass
class Member:
    """A zip member as stored: ``payload`` is the (compressed) bytes written."""

    name: str
    payload: bytes
    usize: int
    crc: int
    method: int = 0  # 0 stored, 8 deflated
    flags: int = 0


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, len(data), zlib.crc32(data))


def deflated(name: str, data: bytes) -> Member:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(name, z.compress(data) + z.flush(), len(data), zlib.crc32(data), method=8)


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip archive written field by field, so headers can say what a test needs."""
    out, central = bytearray(), bytearray()
    for m in members:
        name = m.name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, m.flags, m.method, 0, 0x21, m.crc,
            len(m.payload), m.usize, len(name), 0,
        )  # fmt: skip
        out += name + m.payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, m.method, 0, 0x21, m.crc,
            len(m.payload), m.usize, len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    n = len(members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    return write(path, bytes(out + central + end))


def kernel(seed: int = 0, shape: tuple[int, ...] = (8, 4, 4, 4)) -> np.ndarray:
    """A random PyTorch ConvTranspose2d weight (C_in, C_out, k, k): imbalanced."""
    return np.random.default_rng(seed).normal(0, 0.02, shape).astype(np.float32)


def weights_npz(path: Path, **arrays: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


class _Marker:
    """Unpickling this runs ``os.system``: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def not_created(marker: Path) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert not marker.exists(), run.explain("the pickle was loaded: its code ran")

    return check


def stdout_has(*texts: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        for t in texts:
            assert t in run.stdout, run.explain(f"stdout does not show {t!r}")

    return check


# ---------------------------------------------------------------------------------------------
# lint: hostile sources
# ---------------------------------------------------------------------------------------------

HEAD = "import torch.nn as nn\n"
UNEVEN = "up = nn.ConvTranspose2d(4, 4, 3, 2)\n"  # CBD101


def parsed(*codes: str) -> Callable[[Run], None]:
    """A valid file: never reported as unparsable or unreadable; ``codes`` only if found."""

    def check(run: Run) -> None:
        assert "CBD90" not in run.stdout, run.explain("a valid file reported as CBD90x")
        if run.rc == 1:
            for code in codes:
                assert code in run.stdout, run.explain(f"exit 1 without a {code} finding")

    return check


def lint_one(
    tmp: Path, source: str | bytes, rc: int | tuple[int, ...], where: str = "any", **kw: Any
) -> Spec:
    write(tmp / "m.py", source)
    names = () if rc != 2 else ("m.py",)
    return Spec(["lint", "m.py", "--output-format", "concise"], rc, names, where, **kw)


@case("lint-pow-tower")
def _(tmp: Path) -> Spec:
    # 2 ** 10 ** 10 has three billion digits: never evaluated; even either way, so clean
    src = HEAD + "k = 2 ** 10 ** 10\nup = nn.ConvTranspose2d(4, 4, k, 2)\n"
    return lint_one(tmp, src, 0, check=parsed())


@case("lint-huge-product")
def _(tmp: Path) -> Spec:
    product = " * ".join(["10**9"] * 500)  # 4501 digits: over str()'s 4300-digit limit
    src = HEAD + f"k = {product}\nup = nn.ConvTranspose2d(4, 4, k, 2)\n"
    return lint_one(tmp, src, 0, check=parsed())


@case("lint-huge-product-odd")
def _(tmp: Path) -> Spec:
    # odd: a finding if the value is followed, unresolved if it is over budget; never a crash
    product = " * ".join(["10**9"] * 500)
    src = HEAD + f"k = {product} + 1\nup = nn.ConvTranspose2d(4, 4, k, 2)\n"
    return lint_one(tmp, src, (0, 1), check=parsed("CBD101"))


@case("lint-kernel-1e9")
def _(tmp: Path) -> Spec:
    src = HEAD + "up = nn.ConvTranspose2d(4, 4, kernel_size=10**9, stride=2)\n"
    return lint_one(tmp, src, 0, check=parsed())


@case("lint-kernel-1e9-stacked")
def _(tmp: Path) -> Spec:
    # two uneven layers of a billion taps: CBD101 (or unresolved as over a budget), never
    # their overlap map built
    layer = "nn.ConvTranspose2d(4, 4, kernel_size=1000000001, stride=2)"
    src = HEAD + f"net = nn.Sequential({layer}, nn.ReLU(), {layer})\n"
    return lint_one(tmp, src, (0, 1), check=parsed("CBD101"))


@case("lint-constant-chain-5000")
def _(tmp: Path) -> Spec:
    chain = "a0 = 1\n" + "".join(f"a{i} = a{i - 1} * 2\n" for i in range(1, 5000))
    src = HEAD + chain + "up = nn.ConvTranspose2d(4, 4, a4999, 3)\n"
    return lint_one(tmp, src, (0, 1), check=parsed("CBD101"))


@case("lint-constant-fanout")
def _(tmp: Path) -> Spec:
    # each constant uses the one before twice: 2**200 evaluations unless values are kept
    chain = "a0 = 1\n" + "".join(f"a{i} = a{i - 1} + a{i - 1}\n" for i in range(1, 200))
    src = HEAD + chain + "up = nn.ConvTranspose2d(4, 4, a199, 3)\n"
    return lint_one(tmp, src, (0, 1), check=parsed("CBD101"))


DEPTH = 10_000
DEEP_SOURCES = {
    "unary": "x = " + "- " * DEPTH + "1\n",
    "not": "x = " + "not " * DEPTH + "y\n",
    "ifexp": "x = " + "1 if y else " * DEPTH + "0\n",
    "lambda": "f = " + "lambda: " * DEPTH + "1\n",
    "binop-chain": "x = " + " + ".join(["1"] * 100_000) + "\n",
    "brackets": "x = " + "[" * DEPTH + "]" * DEPTH + "\n",
}


def _deep(kind: str) -> Callable[[Path], Spec]:
    def build(tmp: Path) -> Spec:
        # beyond what CPython itself compiles: reported on the file (CBD901 does not parse,
        # exit 1; CBD902 cannot be analysed, exit 2) in the normal output -- never a traceback
        src = HEAD + DEEP_SOURCES[kind] + UNEVEN
        return lint_one(tmp, src, (1, 2), check=stdout_has("m.py:", ": CBD90"))

    return build


for _kind in DEEP_SOURCES:
    case(f"lint-deep-{_kind}")(_deep(_kind))


def lint_pair(tmp: Path, source: str) -> Spec:
    """A directory of ``m.py`` (the hostile text, naming no layer) and a model with a finding:
    the files are grouped by their text before either is parsed."""
    write(tmp / "d" / "m.py", source)
    write(tmp / "d" / "o.py", HEAD + "up = nn.ConvTranspose2d(4, 4, 3, 2)\n")

    def check(run: Run) -> None:
        assert "o.py" in run.stdout and "CBD101" in run.stdout, run.explain("no finding")

    return Spec(["lint", "d", "--output-format", "concise"], 1, where="any", check=check)


@case("lint-group-unclosed-class-headers")
def _(tmp: Path) -> Spec:
    # each header's bases run to the end of the file: read once each, they were quadratic
    return lint_pair(tmp, "class A(\n" * 50_000)


@case("lint-group-imports-on-one-line")
def _(tmp: Path) -> Spec:
    # 200,000 imports on one 2 MB line, after a semicolon: the line is read once
    return lint_pair(tmp, "x = 1; " + "import a; " * 200_000 + "\n")


@case("lint-group-nested-class-bases")
def _(tmp: Path) -> Spec:
    return lint_pair(tmp, "class A(" * 100_000 + "B" + ")" * 100_000 + ":\n    pass\n")


@case("lint-wide-list")
def _(tmp: Path) -> Spec:
    # linted (the finding), or refused as over a parse budget: then exit 2 naming the file
    src = HEAD + "x = [" + "1, " * 1_000_000 + "1]\n" + UNEVEN
    spec = lint_one(tmp, src, (1, 2))
    spec.check = _linted_or_refused
    return spec


def _linted_or_refused(run: Run) -> None:
    if run.rc == 1:
        parsed("CBD101")(run)
    else:
        assert "m.py" in error_line(run) + run.stdout, run.explain("the refusal does not name m.py")


@case("lint-loop-over-wide-list")
def _(tmp: Path) -> Spec:
    # a loop over 100 000 literals builds the same layer: bounded time and output (a finding,
    # or unresolved as over a budget)
    src = HEAD + "ups = []\nfor k in [" + "3, " * 100_000 + "3]:\n"
    src += "    ups.append(nn.ConvTranspose2d(4, 4, k, 2))\n"
    return lint_one(tmp, src, (0, 1), max_stdout=1 * MiB, check=parsed("CBD101"))


@case("lint-50MB-file")
def _(tmp: Path) -> Spec:
    line = "# " + "x" * 98 + "\n"
    return lint_one(tmp, HEAD + UNEVEN + line * (50 * MiB // len(line)), 2)


@case("lint-10MB-line")
def _(tmp: Path) -> Spec:
    src = HEAD + "s = '" + "a" * (10 * MiB) + "'\n" + UNEVEN
    return lint_one(tmp, src, 1, check=parsed("CBD101"))


@case("lint-fifo-named")
def _(tmp: Path) -> Spec:
    fifo(tmp / "pipe.py")  # no writer: opening it blocking would hang
    return Spec(["lint", "pipe.py"], 2, ("pipe.py",), "any")


@case("lint-fifo-in-directory")
def _(tmp: Path) -> Spec:
    fifo(tmp / "src" / "pipe.py")
    write(tmp / "src" / "good.py", HEAD + UNEVEN)
    spec = Spec(["lint", "src", "--output-format", "concise"], 1)
    spec.check = stdout_has("src/good.py:2:6: CBD101")
    return spec


@case("lint-dev-zero")
def _(tmp: Path) -> Spec:
    return Spec(["lint", "/dev/zero"], 2, ("/dev/zero",), "any")


ODD_NAMES: dict[bytes, tuple[str, ...]] = {  # name on disk -> how a report may show it
    b"new\nline.py": ("new\\nline.py", "new\\x0aline.py"),
    b"[/].py": ("[/].py",),  # a folder "[" holding "].py"
    b"\x1b[31mred.py": ("\\x1b[31mred.py",),
    b"\xff.py": ("\\xff.py",),
    b"n" * 247 + b".py": ("n" * 247 + ".py",),
}


def _odd_names(tmp: Path) -> Path:
    d = tmp / "odd"
    for raw in ODD_NAMES:
        p = os.path.join(os.fsencode(d), raw)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write((HEAD + UNEVEN).encode())
    return d


def _shown_escaped(fmt: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        findings = [ln for ln in run.stdout.splitlines() if ": CBD101 " in ln]
        assert len(findings) == len(ODD_NAMES), run.explain(
            f"expected one CBD101 line per file ({len(ODD_NAMES)}): a name broke a line?"
        )
        for shown in ODD_NAMES.values():
            assert any(f"odd/{s}:" in ln for ln in findings for s in shown), run.explain(
                f"no finding shows the name as {' or '.join(shown)} ({fmt})"
            )

    return check


@case("lint-odd-names-concise")
def _(tmp: Path) -> Spec:
    _odd_names(tmp)
    args = ["lint", "odd", "--output-format", "concise"]
    return Spec(args, 1, check=_shown_escaped("concise"))


@case("lint-odd-names-full")
def _(tmp: Path) -> Spec:
    _odd_names(tmp)
    return Spec(["lint", "odd", "--output-format", "full"], 1, check=_shown_escaped("full"))


@case("lint-full-600KB-line")
def _(tmp: Path) -> Spec:
    # 2000 findings on one 600 KB line: the full format must not repeat the line per finding
    item = "nn.ConvTranspose2d(4, 4, 3, 2)," + " " * 269
    write(tmp / "m.py", HEAD + "ups = [" + item * 2000 + "]\n")
    return Spec(["lint", "m.py", "--output-format", "full"], 1, check=stdout_has("CBD101"))


# ---------------------------------------------------------------------------------------------
# lint: configuration and output file
# ---------------------------------------------------------------------------------------------


def lint_config(tmp: Path, pyproject: str | bytes | None) -> Spec:
    """``cbdiag lint m.py`` in a project whose pyproject.toml is ``pyproject``: refused,
    naming the file."""
    write(tmp / "m.py", HEAD + UNEVEN)
    if pyproject is not None:
        write(tmp / "pyproject.toml", pyproject)
    return Spec(["lint", "m.py"], 2, ("pyproject.toml",))


CONFIGS = {
    "tool-cbdiag-array": "[tool]\ncbdiag = [1]\n",
    "tool-cbdiag-string": '[tool]\ncbdiag = "CBD101"\n',
    "tool-cbdiag-int": "[tool]\ncbdiag = 1\n",
    "tool-cbdiag-lint-array": "[tool.cbdiag]\nlint = [1]\n",
    "tool-cbdiag-lint-string": '[tool.cbdiag]\nlint = "CBD101"\n',
    "tool-cbdiag-lint-int": "[tool.cbdiag]\nlint = 1\n",
    "tool-int": "tool = 1\n",
    "deep-array": "a = " + "[" * 5000 + "]" * 5000 + "\n[tool.cbdiag.lint]\n",
    "deep-inline-table": "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n[tool.cbdiag]\n",
}

for _name, _text in CONFIGS.items():
    case(f"lint-config-{_name}")(lambda tmp, text=_text: lint_config(tmp, text))


@case("lint-config-fifo")
def _(tmp: Path) -> Spec:
    spec = lint_config(tmp, None)
    fifo(tmp / "pyproject.toml")  # not read (a hang), refused or passed over
    spec.rc, spec.names = (1, 2), ()
    return spec


@case("lint-output-undecodable-name")
def _(tmp: Path) -> Spec:
    write(tmp / "m.py", HEAD + UNEVEN)
    target = os.path.join(os.fsencode(tmp), b"report-\xff.txt")

    def check(run: Run) -> None:
        assert os.path.exists(target), run.explain("the report file was not written")
        with open(target, "rb") as fh:
            assert b"CBD101" in fh.read(), run.explain("the report file lacks the finding")

    return Spec(["lint", "m.py", "-o", b"report-\xff.txt"], 1, check=check)


@case("lint-output-undecodable-missing-dir")
def _(tmp: Path) -> Spec:
    write(tmp / "m.py", HEAD + UNEVEN)
    return Spec(["lint", "m.py", "-o", b"no-\xff/r.txt"], 2, ("no-\\xff",))


@case("lint-output-fifo")
def _(tmp: Path) -> Spec:
    write(tmp / "m.py", HEAD + UNEVEN)
    fifo(tmp / "out.fifo")  # opening it for writing would wait for a reader forever
    return Spec(["lint", "m.py", "-o", "out.fifo", "--force"], 2, ("out.fifo",))


@case("lint-output-dev-full")
def _(tmp: Path) -> Spec:
    write(tmp / "m.py", HEAD + UNEVEN)
    dev = char_device(tmp / "full", 7)
    return Spec(
        ["lint", "m.py", "-o", "full", "--force"], 2, ("full",), check=still_char_device(dev)
    )


# ---------------------------------------------------------------------------------------------
# inspect
# ---------------------------------------------------------------------------------------------


def inspect_file(
    path: Path,
    *extra: str,
    rc: int | tuple[int, ...] = 2,
    names: tuple[str, ...] | None = None,
    **kw: Any,
) -> Spec:
    """``cbdiag inspect FILE EXTRA...``; a refusal names the file unless ``names`` says."""
    if names is None:
        names = (path.name,) if rc == 2 else ()
    return Spec(["inspect", path.name, *extra], rc, names, **kw)


def _claims(elements: int) -> Callable[[Path], Spec]:
    def build(tmp: Path) -> Spec:
        # the .npy header claims the shape; 1 MiB of (deflated) zeros follow
        member = deflated("up.convtranspose.weight.npy", npy_header((elements,)) + bytes(MiB))
        return inspect_file(write_zip(tmp / "claims.npz", [member]))

    return build


case("inspect-npz-header-claims-2GiB")(_claims(2**29))
case("inspect-npz-header-claims-80GiB")(_claims(20 * 2**30))


@case("inspect-npz-deflate-bomb-1GiB")
def _(tmp: Path) -> Spec:
    # a real deflate bomb: 1 KiB on disk per MiB of zeros, a (8192, 8192, 2, 2) float32 kernel
    header = npy_header((8192, 8192, 2, 2))
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = z.compress(header) + z.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(MiB)
    block = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)  # the same bytes after every flush
    payload = head + block * 1024 + z.flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    for _ in range(1024):
        crc = zlib.crc32(zeros, crc)
    member = Member("up.convtranspose.weight.npy", payload, len(header) + GiB, crc, method=8)
    return inspect_file(write_zip(tmp / "bomb.npz", [member]))


@case("inspect-npy-header-claims-32GiB")
def _(tmp: Path) -> Spec:
    return inspect_file(
        write(tmp / "up.convtranspose.weight.npy", npy_header((2**33,)) + bytes(KiB))
    )


def _safetensors(tmp: Path, nbytes: int, have: int) -> Path:
    shape = [nbytes // 4 // 64, 4, 4, 4]
    head = {
        "up.convtranspose.weight": {"dtype": "F32", "shape": shape, "data_offsets": [0, nbytes]}
    }
    raw = json.dumps(head).encode()
    raw += b" " * (-len(raw) % 8)
    p = write(tmp / "w.safetensors", struct.pack("<Q", len(raw)) + raw)
    with open(p, "r+b") as fh:
        fh.truncate(8 + len(raw) + have)  # sparse: no disk used
    return p


@case("inspect-safetensors-sparse-5GiB")
def _(tmp: Path) -> Spec:
    return inspect_file(_safetensors(tmp, 5 * GiB, 5 * GiB))


@case("inspect-safetensors-truncated-5GiB")
def _(tmp: Path) -> Spec:
    return inspect_file(_safetensors(tmp, 5 * GiB, KiB))


@case("inspect-safetensors-deep-json")
def _(tmp: Path) -> Spec:
    raw = b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return inspect_file(write(tmp / "w.safetensors", struct.pack("<Q", len(raw)) + raw))


def _valid_member() -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, kernel())
    return buf.getvalue()


@case("inspect-npz-bad-crc")
def _(tmp: Path) -> Spec:
    m = stored("up.convtranspose.weight.npy", _valid_member())
    m.crc ^= 0xDEADBEEF
    return inspect_file(write_zip(tmp / "crc.npz", [m]))


@case("inspect-npz-encrypted")
def _(tmp: Path) -> Spec:
    m = stored("up.convtranspose.weight.npy", _valid_member())
    m.flags |= 0x1
    return inspect_file(write_zip(tmp / "locked.npz", [m]))


@case("inspect-npz-compression-99")
def _(tmp: Path) -> Spec:
    m = stored("up.convtranspose.weight.npy", _valid_member())
    m.method = 99
    return inspect_file(write_zip(tmp / "aes.npz", [m]))


@case("inspect-npz-truncated")
def _(tmp: Path) -> Spec:
    p = weights_npz(tmp / "cut.npz", **{"up.convtranspose.weight": kernel()})
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return inspect_file(p)


@case("inspect-npy-garbage-header")
def _(tmp: Path) -> Spec:
    text = b"{'descr': '<f4', 'shape': (3,"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(64)
    return inspect_file(write(tmp / "up.convtranspose.weight.npy", data))


def _nonfinite(value: float) -> Callable[[Path], Spec]:
    def build(tmp: Path) -> Spec:
        # a good kernel beside a non-finite one: the good one analysed, valid JSON
        w = kernel()
        w[0, 0, 0, 0] = value
        arrays = {"up.0.convtranspose.weight": kernel(1), "up.1.convtranspose.weight": w}
        p = weights_npz(tmp / "w.npz", **arrays)
        return inspect_file(p, "--format", "json", rc=0, json=True)

    return build


case("inspect-nan-weights-json")(_nonfinite(float("nan")))
case("inspect-inf-weights-json")(_nonfinite(float("inf")))


@case("inspect-nan-weights-check")
def _(tmp: Path) -> Spec:
    w = kernel()
    w[:, :, 1, 1] = np.nan
    p = weights_npz(tmp / "w.npz", **{"up.convtranspose.weight": w})
    return inspect_file(p, "--check", rc=(1, 2), names=())  # the gate fails closed


@case("inspect-complex-weights")
def _(tmp: Path) -> Spec:
    w = kernel().astype(np.complex64) * (1 + 1j)
    arrays = {"up.0.convtranspose.weight": kernel(1), "up.1.convtranspose.weight": w}
    p = weights_npz(tmp / "w.npz", **arrays)

    def check(run: Run) -> None:  # refused, or handled and said so: never cast silently
        said = error_line(run) if run.rc == 2 else run.stdout
        assert "complex" in said, run.explain("complex weights neither refused nor reported")

    return inspect_file(p, "--format", "json", rc=(0, 2), names=(), check=check)


@case("inspect-markup-layer-names")
def _(tmp: Path) -> Spec:
    arrays = {"[/]deconv.weight": kernel(1), "[bold]x[/bold].deconv.weight": kernel(2)}
    p = weights_npz(tmp / "w.npz", **arrays)
    return inspect_file(p, rc=0, check=stdout_has("[/]deconv", "[bold]x[/bold]"))


@case("inspect-max-imbalance-nan")
def _(tmp: Path) -> Spec:
    p = weights_npz(tmp / "w.npz", **{"up.convtranspose.weight": kernel()})
    return inspect_file(p, "--check", "--max-imbalance", "nan", names=("--max-imbalance",))


@case("inspect-pt-without-opt-in")
def _(tmp: Path) -> Spec:
    marker = tmp / "UNPICKLED"
    p = write(tmp / "model.pt", pickle.dumps({"w": _Marker(marker)}, protocol=2))
    spec = inspect_file(p, check=not_created(marker))
    spec.names = ("model.pt", "--allow-pickle")
    return spec


@case("inspect-pt-allow-pickle-refuses-code")
def _(tmp: Path) -> Spec:
    marker = tmp / "UNPICKLED"
    p = write(tmp / "model.pt", pickle.dumps({"w": _Marker(marker)}, protocol=2))
    return inspect_file(p, "--allow-pickle", check=not_created(marker))


@case("inspect-npy-pickled-object")
def _(tmp: Path) -> Spec:
    marker = tmp / "UNPICKLED"
    arr = np.array([_Marker(marker)], dtype=object)
    p = tmp / "up.convtranspose.weight.npy"
    np.save(p, arr, allow_pickle=True)
    return inspect_file(p, check=not_created(marker))


@case("inspect-fifo")
def _(tmp: Path) -> Spec:
    return inspect_file(fifo(tmp / "w.npz"))


# ---------------------------------------------------------------------------------------------
# score
# ---------------------------------------------------------------------------------------------


def with_good(tmp: Path, *bad: str, rc: int = 2, **kw: Any) -> Spec:
    """``score good.png BAD...``: the good image scored, each bad one named in the report."""
    noise_png(tmp / "good.png")

    def check(run: Run) -> None:
        ok = [ln for ln in run.stdout.splitlines() if ln.startswith("good.png ")]
        assert ok and " error " not in ok[0], run.explain("good.png was not scored")

    return Spec(["score", "good.png", *bad], rc, bad, "report", check=check, **kw)


@case("score-markup-names")
def _(tmp: Path) -> Spec:
    noise_png(tmp / "[" / "]close.png", seed=1)
    noise_png(tmp / "[bold]x[" / "bold].png", seed=2)
    spec = with_good(tmp, "[/]close.png", "[bold]x[/bold].png", rc=0)
    spec.where = "report"
    return spec


@case("score-long-name-json")
def _(tmp: Path) -> Spec:
    name = "n" * 246 + ".png"
    noise_png(tmp / name)

    def check(run: Run) -> None:
        (res,) = strict_json(run)["results"]
        assert res["path"] == name and res["error"] is None, run.explain("not scored by name")

    return Spec(["score", name, "--format", "json"], 0, json=True, check=check)


@case("score-undecodable-name")
def _(tmp: Path) -> Spec:
    noise_png(tmp / "good.png")
    os.rename(tmp / "good.png", os.path.join(os.fsencode(tmp), b"\xff\xfe.png"))
    return Spec(["score", b"\xff\xfe.png"], 0, check=stdout_has("\\xff\\xfe.png"))


@case("score-stdin-list-with-nul")
def _(tmp: Path) -> Spec:
    spec = with_good(tmp)
    spec.args, spec.stdin = ["score", "-"], b"good.png\nba\x00d.png\n"
    spec.names = ("ba\\x00d.png",)
    return spec


@case("score-absolute-glob")
def _(tmp: Path) -> Spec:
    noise_png(tmp / "d" / "a.png")
    return Spec(["score", "d", "--glob", str(tmp / "d" / "*.png")], 2, ("--glob",))


@case("score-truncated-png")
def _(tmp: Path) -> Spec:
    p = noise_png(tmp / "cut.png", size=256)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return with_good(tmp, "cut.png")


@case("score-empty-png")
def _(tmp: Path) -> Spec:
    write(tmp / "empty.png", b"")
    return with_good(tmp, "empty.png")


@case("score-bomb-png-900M-pixels")
def _(tmp: Path) -> Spec:
    bomb_png(tmp / "bomb.png", 30_000, 30_000)
    return with_good(tmp, "bomb.png")


@case("score-bomb-png-100M-pixels")
def _(tmp: Path) -> Spec:
    bomb_png(tmp / "bomb.png", 10_000, 10_000)  # between Pillow's warning and error limits
    return with_good(tmp, "bomb.png")


def _gate(*option: str) -> Callable[[Path], Spec]:
    def build(tmp: Path) -> Spec:
        flagged_png(tmp / "flagged.png")  # exit 1 at the defaults; never 0 here
        return Spec(["score", "flagged.png", *option], 2, (option[0],))

    return build


case("score-threshold-nan")(_gate("--threshold", "nan"))
case("score-threshold-inf")(_gate("--threshold", "inf"))
case("score-fail-above-nan")(_gate("--fail-above", "nan"))


@case("score-jobs-10e12")
def _(tmp: Path) -> Spec:
    noise_png(tmp / "a.png", seed=1)
    noise_png(tmp / "b.png", seed=2)

    def check(run: Run) -> None:  # refused by name, or capped and run
        if run.rc == 2:
            assert "--jobs" in error_line(run), run.explain("the refusal does not name --jobs")
        else:
            assert "a.png" in run.stdout and "b.png" in run.stdout, run.explain("not scored")

    return Spec(["score", "a.png", "b.png", "--jobs", str(10**12)], (0, 2), check=check)


@case("score-jpeg-corrupt-exif")
def _(tmp: Path) -> Spec:
    rng = np.random.default_rng(0)
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 40
    img = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    img.save(tmp / "exif.jpg", quality=90, exif=exif)
    return Spec(["score", "exif.jpg"], (0, 1), check=stdout_has("exif.jpg"))


@case("score-tiff-corrupt-tag")
def _(tmp: Path) -> Spec:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8))
    img.save(tmp / "t.tif", description="x" * 64)
    raw = bytearray((tmp / "t.tif").read_bytes())
    ifd = struct.unpack_from("<I", raw, 4)[0]
    for i in range(struct.unpack_from("<H", raw, ifd)[0]):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", raw, at)[0] == 270:  # ImageDescription: offset past the end
            struct.pack_into("<I", raw, at + 8, 0x7FFFFF00)
    write(tmp / "t.tif", bytes(raw))
    return Spec(["score", "t.tif"], (0, 1, 2), ("t.tif",), "report")


# an unreadable subfolder and an unreadable file: tests/test_cli_score.py, run as "nobody"
# (root reads through chmod 000)


@case("score-fifo-named")
def _(tmp: Path) -> Spec:
    fifo(tmp / "pipe.png")
    return with_good(tmp, "pipe.png")


@case("score-fifo-in-directory")
def _(tmp: Path) -> Spec:
    fifo(tmp / "d" / "pipe.png")
    noise_png(tmp / "d" / "ok.png")
    return Spec(["score", "d"], 0, check=stdout_has("d/ok.png"))


@case("score-dev-zero")
def _(tmp: Path) -> Spec:
    return with_good(tmp, "/dev/zero")


@case("score-float-tiff-nan-json")
def _(tmp: Path) -> Spec:
    arr = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    arr[::7, ::5] = np.nan
    arr[3, 3] = np.inf
    Image.fromarray(arr, mode="F").save(tmp / "nan.tif")

    def check(run: Run) -> None:
        (res,) = strict_json(run)["results"]
        assert res["error"] and "nan.tif" in res["error"], run.explain("not refused by name")

    return Spec(["score", "nan.tif", "--format", "json"], 2, where="report", json=True, check=check)


@case("score-spectrum-onto-full-device")
def _(tmp: Path) -> Spec:
    noise_png(tmp / "good.png")
    dev = char_device(tmp / "full", 7)
    return Spec(
        ["score", "good.png", "--spectrum", "full", "--force"],
        2,
        ("full",),
        check=still_char_device(dev),
    )


# ---------------------------------------------------------------------------------------------
# overlap
# ---------------------------------------------------------------------------------------------

for _id, _args, _name in [
    ("overlap-kernel-5001-digits", ["--kernel", "1" + ZEROS, "--stride", "2"], "--kernel"),
    ("overlap-stride-5001-digits", ["--kernel", "3", "--stride", "1" + ZEROS], "--stride"),
    (
        "overlap-input-size-5001-digits",
        ["-k", "3", "-s", "2", "--input-size", "1" + ZEROS],
        "--input-size",
    ),
    ("overlap-layers-kernel-5001-digits", ["--layers", f"deconv k1{ZEROS} s2"], "layer"),
    ("overlap-layers-repeat-5001-digits", ["--layers", f"1{ZEROS}x deconv k3 s2"], "layer"),
    ("overlap-5000-layers", ["--layers", ", ".join(["deconv k3 s2"] * 5000)], "layer"),
    ("overlap-64-deconv-k1024", ["--layers", "64x deconv k1024 s2"], "layer"),
]:
    case(_id)(lambda tmp, a=_args, n=_name: Spec(["overlap", *a], 2, (n,)))


@case("overlap-64-conv-k1024")
def _(tmp: Path) -> Spec:
    # within every per-layer limit: refused quickly as too much work, or computed in time
    return Spec(["overlap", "--layers", "64x conv k1024 p512"], (0, 2))


@case("overlap-png-onto-full-device")
def _(tmp: Path) -> Spec:
    dev = char_device(tmp / "full", 7)
    args = ["overlap", "-k", "3", "-s", "2", "--png", "full", "--force"]
    return Spec(args, 2, ("full",), check=still_char_device(dev))


# ---------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------

WIDE = ["--width", "4096", "--max-width", "4096"]

for _id, _args, _name in [
    ("generate-size-2e40", ["--size", str(2**40)], "size"),
    ("generate-size-5001-digits", ["--size", "1" + ZEROS], "--size"),
    ("generate-width-1e6", ["--width", "1000000"], "width"),
    ("generate-latent-1e9", ["--latent", str(10**9)], "latent"),
    ("generate-count-1e12", ["--count", str(10**12)], "--count"),
    (
        "generate-stride-8-width-4096",
        ["--stride", "8", "--size", "2048", "--kernel", "16", *WIDE],
        "limit",
    ),
    ("generate-seed-negative", ["--seed", "-1"], "--seed"),
]:
    case(_id)(lambda tmp, a=_args, n=_name: Spec(["generate", *a, "--no-progress"], 2, (n,)))


@case("generate-out-onto-full-device")
def _(tmp: Path) -> Spec:
    dev = char_device(tmp / "full", 7)
    args = ["generate", "--size", "16", "-n", "1", "-o", "full", "--force", "--no-progress"]
    return Spec(args, 2, ("full",), check=still_char_device(dev))


@case("generate-out-onto-null-device")
def _(tmp: Path) -> Spec:
    dev = char_device(tmp / "null", 3)
    args = ["generate", "--size", "16", "-n", "1", "-o", "null", "--force", "--no-progress"]
    return Spec(args, (0, 2), check=still_char_device(dev))


@case("generate-npy-49GB-refused")
def _(tmp: Path) -> Spec:
    # a million 64x64 RGB samples as float32 is 49 GB: refused before a temp file is made
    (tmp / "out").mkdir()

    def check(run: Run) -> None:
        left = os.listdir(tmp / "out")
        assert not left, run.explain(f"files left in the output folder: {left}")

    args = ["generate", "-n", "1000000", "--npy", "out/all.npy", "-o", "out/g.png", "--no-progress"]
    return Spec(args, 2, ("npy",), check=check)


# ---------------------------------------------------------------------------------------------
# probe
# ---------------------------------------------------------------------------------------------


@case("probe-fifo")
def _(tmp: Path) -> Spec:
    return Spec(["probe", str(fifo(tmp / "m.onnx").name)], 2, ("m.onnx",))


@case("probe-garbage-model")
def _(tmp: Path) -> Spec:
    write(tmp / "m.onnx", b"\x0a\xff\xff\xff\xff\x0f" + os.urandom(256))
    return Spec(["probe", "m.onnx"], 2, ("m.onnx",))


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A case built, run, and the files around it before and after the run."""

    spec: Spec
    run: Run
    before: Snapshot
    after: Snapshot


def execute(build: Callable[[Path], Spec], tmp: Path) -> Outcome:
    (tmp / ".git").mkdir()  # the configuration search stops here
    spec = build(tmp)
    before = snapshot(tmp)
    run = run_capped(spec.args, spec.stdin, cwd=tmp)
    return Outcome(spec, run, before, snapshot(tmp))


#: Cases run ahead in parallel: each run spends over a second just starting up.
WORKERS = max(2, min(4, os.cpu_count() or 2))


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected case started at once, ``WORKERS`` at a time, in the order of the tests;
    each test waits for its own (a skip or a failure of the run is raised there)."""
    chosen = [
        item.callspec
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_hostile_input"
    ]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            cs.id: pool.submit(execute, cs.params["build"], tmp_path_factory.mktemp(cs.id))
            for cs in chosen
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("build", CASES)
def test_hostile_input(
    build: Callable[[Path], Spec],
    outcomes: dict[str, Future[Outcome]],
    request: pytest.FixtureRequest,
) -> None:
    done = outcomes[request.node.callspec.id].result()
    run = done.run
    first = run.stderr.strip().splitlines()[:1] or [""]
    print(f"observed: exit {run.rc} in {run.seconds:.1f} s; stderr: {first[0][:200]}")  # -rA
    check_contract(done.spec, run)
    check_files(done.before, done.after, run)
