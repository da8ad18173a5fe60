"""Scoring many images: inputs read as a stream, each file once, results as they complete.

The inputs (files, directories searched recursively, lists of paths) are expanded lazily and
scored in bounded batches by one of three runners: in this process, in a pool of processes
(``jobs``), or on a Dask cluster (``client``, see :mod:`cbdiag.distributed`). At most a fixed
number of batches is outstanding at any time, so memory stays bounded however many files
there are; what grows with the input is only the once-only check, 8 bytes per file.

Each input ends as exactly one result row: a score, or an error (unreadable file, missing
file, a worker that kept dying on it). Rows come out in completion order or in input order;
input order holds back rows that finished early, still within the same bound.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import itertools
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Protocol

import numpy as np

from ._malloc import keep_freed_memory
from .errors import CbdiagError, UsageError
from .files import display, kind, reason
from .images import IMAGE_EXTENSIONS
from .periodic import PhaseStats, pool
from .spectrum import (
    DEFAULT_MIN_AMPLITUDE,
    DEFAULT_MIN_SIGNIFICANCE,
    DEFAULT_POOLED_MIN_AMPLITUDE,
    DEFAULT_THRESHOLD,
    PooledResult,
    pool_results,
    score_image,
)

#: Most worker processes of ``jobs``.
MAX_JOBS = 256
#: Files in one batch at most, and the seconds of work a batch is sized for once the time per
#: image is known (the first batches hold 1, 2, 4, ... files while it is measured).
MAX_BATCH = 256
BATCH_SECONDS = 0.5
#: Batches outstanding (submitted and not yet handed out) per worker.
BATCHES_PER_WORKER = 4
#: Orders of the results.
ORDERS = ("input", "completion")

Stats = dict[int, PhaseStats]


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One input: its path, the reason it cannot be scored (or ``None``), and the file's
    identity ``(st_dev, st_ino)`` where it was looked at on this machine."""

    path: str
    error: str | None = None
    inode: tuple[int, int] | None = None


def expand(
    paths: Iterable[str],
    glob: str | None = None,
    files_from: Sequence[str] = (),
    *,
    suffixes: tuple[str, ...] = IMAGE_EXTENSIONS,
) -> Iterator[Input]:
    """Every input, lazily: files as given, directories searched recursively (``glob`` filters
    their files), ``-`` a list of paths read from stdin (each expanded the same way), and each
    file of ``files_from`` a list of image files, one per line, taken as listed (not looked at
    here: the reader checks each, so a listing on shared storage costs the client no ``stat``).

    An input that cannot be scored carries its error: a path that does not exist, is not a
    regular file, or a directory (or a folder under it) that cannot be read or has no image.
    Named pipes, devices and sockets found in a directory are passed over; named on the
    command line they are refused. Without ``glob``, directories are searched for files
    ending in ``suffixes`` (the image formats; the audio ones for ``cbdiag score --audio``)."""
    if glob is not None and (os.path.isabs(glob) or not glob.strip()):
        raise UsageError(f"--glob must be a relative pattern such as '*.png', got {glob!r}")
    for raw in paths:
        if raw == "-":
            lines = _lines(sys.stdin)
            first = next(lines, None)
            if first is None:
                yield Input("-", "no paths on stdin")
                continue
            yield from expand(itertools.chain([first], lines), glob, suffixes=suffixes)
            continue
        yield from _one(raw, glob, suffixes)
    for listing in files_from:
        yield from _listed(listing)


def _lines(fh: Iterable[str]) -> Iterator[str]:
    for line in fh:
        name = line.rstrip("\r\n")
        if name.strip():
            yield name.strip()


def check_listing(listing: str) -> None:
    """Refuse, before anything is scored, a list of files that cannot be read: a typo in its
    name is a usage error, not a result row."""
    if listing == "-":
        return
    try:
        mode = os.stat(listing).st_mode
    except (OSError, ValueError) as exc:
        why = reason(exc) if isinstance(exc, OSError) else "not a valid path"
        raise UsageError(f"--files-from {display(listing)}: {why}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise UsageError(f"--files-from {display(listing)}: {kind(mode)}, not a list of files")
    if not os.access(listing, os.R_OK):
        raise UsageError(f"--files-from {display(listing)}: permission denied")


def _listed(listing: str) -> Iterator[Input]:
    """The files of a list (``-`` for stdin), one per line; a list that cannot be read is one
    error row."""
    if listing == "-":
        yield from (Input(name) for name in _lines(sys.stdin))
        return
    try:
        fh = open(listing, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
    except (OSError, ValueError) as exc:
        why = reason(exc) if isinstance(exc, OSError) else "not a valid path"
        yield Input(listing, f"{display(listing)}: cannot read the list of files ({why})")
        return
    with fh:
        try:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                mode = os.fstat(fh.fileno()).st_mode
                if not stat.S_ISFIFO(mode):  # a pipe (<(ls ...)) is a fine list
                    why = f"{kind(mode)}, not a list of files"
                    yield Input(listing, f"{display(listing)}: {why}")
                    return
            yield from (Input(name) for name in _lines(fh))
        except OSError as exc:
            yield Input(listing, f"{display(listing)}: cannot read the list ({reason(exc)})")


def _one(
    raw: str, glob: str | None, suffixes: tuple[str, ...] = IMAGE_EXTENSIONS
) -> Iterator[Input]:
    try:
        st = os.stat(raw)
    except ValueError:
        yield Input(raw, f"{display(raw)}: not a valid path (it holds a NUL character)")
        return
    except OSError as exc:
        why = "dangling symbolic link" if os.path.islink(raw) else reason(exc)
        yield Input(raw, f"{display(raw)}: {why}")
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _search(raw, glob, suffixes)
    elif stat.S_ISREG(st.st_mode):
        yield Input(raw, None, (st.st_dev, st.st_ino))
    else:
        yield Input(raw, f"{display(raw)}: {kind(st.st_mode)}, not a regular file")


def _search(
    top: str, glob: str | None, suffixes: tuple[str, ...] = IMAGE_EXTENSIONS
) -> Iterator[Input]:
    """The images under directory ``top``, folder by folder (each folder's files sorted, then
    its sub-folders in sorted order), and an error for each folder not read. Streamed: a
    folder of millions of files is never held whole."""
    found = 0
    unread: list[Input] = []
    unreadable = False

    def onerror(exc: OSError) -> None:
        nonlocal unreadable
        unreadable = True
        where = exc.filename if exc.filename is not None else top
        unread.append(
            Input(str(where), f"{display(where)}: cannot search the folder ({reason(exc)})")
        )

    for root, dirs, files in os.walk(top, onerror=onerror):
        dirs.sort()
        for f in sorted(files):
            q = os.path.join(root, f)
            if glob is not None:
                rel = os.path.relpath(q, top)
                if not (fnmatch.fnmatch(f, glob) or PurePath(rel).match(glob)):
                    continue
            elif not f.lower().endswith(suffixes):
                continue
            try:
                st = os.stat(q)
            except OSError as exc:
                why = "dangling symbolic link" if os.path.islink(q) else reason(exc)
                found += 1
                yield Input(q, f"{display(q)}: {why}")
                continue
            if stat.S_ISREG(st.st_mode):
                found += 1
                yield Input(q, None, (st.st_dev, st.st_ino))
        yield from unread
        unread.clear()
    yield from unread  # a folder found unreadable last
    if not found and not unreadable:
        what = glob or ", ".join(suffixes)
        kind_of = "audio files" if suffixes != IMAGE_EXTENSIONS else "images"
        yield Input(top, f"{display(top)}: no {kind_of} found (looked for {what})")


def path_key(path: str) -> int:
    """The 64-bit key of a path for the once-only check: its absolute, normalised form hashed
    (two different paths share a key with odds of about n^2 / 2^65: 3e-6 for ten million)."""
    norm = os.path.abspath(path)
    digest = hashlib.blake2b(norm.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _inode_key(inode: tuple[int, int]) -> int:
    digest = hashlib.blake2b(f"inode:{inode[0]}:{inode[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class Seen:
    """A set of 64-bit keys in 8 bytes each: a sorted array, and a small set of recent keys
    merged into it when full (``add`` is amortised O(log n); ten million keys take 80 MB)."""

    RECENT = 1 << 16

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, key: int) -> bool:
        if key in self._recent:
            return True
        i = int(np.searchsorted(self._sorted, np.uint64(key)))
        return i < len(self._sorted) and int(self._sorted[i]) == key

    def add(self, key: int) -> None:
        if key in self:
            return
        self._recent.add(key)
        if len(self._recent) >= self.RECENT:
            new = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            self._sorted = np.union1d(self._sorted, new)
            self._recent.clear()

    @property
    def nbytes(self) -> int:
        """Memory held by the keys (the array; the recent set is bounded)."""
        return int(self._sorted.nbytes)


class Once:
    """Passes each file once: by path (absolute, normalised) and, where the input was looked
    at, by ``(st_dev, st_ino)`` too, so a folder and a file in it, a symbolic link and its
    target, or a line listed twice are scored (and pooled) once."""

    def __init__(self, done: Seen | None = None) -> None:
        self.seen = Seen()
        self.done = done  # paths already scored (--resume)
        self.repeats = 0
        self.resumed = 0

    def admit(self, item: Input) -> bool:
        key = path_key(item.path)
        if self.done is not None and key in self.done:
            self.resumed += 1
            return False
        keys = [key] if item.inode is None else [key, _inode_key(item.inode)]
        if any(k in self.seen for k in keys):
            self.repeats += 1
            return False
        for k in keys:
            self.seen.add(k)
        return True


# ---------------------------------------------------------------------------------------------
# scoring one batch (in this process, a pool worker, or a Dask worker)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What each image is scored with."""

    stride: int | None = None
    threshold: float = DEFAULT_THRESHOLD
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE
    keep_stats: bool = False


def error_row(path: str, message: str) -> dict[str, Any]:
    """The result row of an input that could not be scored."""
    return {
        "path": path,
        "score": None,
        "flagged": False,
        "period": None,
        "amplitude": None,
        "significance": None,
        "per_period": {},
        "peaks": [],
        "diagnostics": {},
        "error": " ".join(message.split()),
    }


def score_one(path: str, settings: Settings) -> tuple[dict[str, Any], Stats | None]:
    """One image's result row (an error row when it cannot be read), and its statistics."""
    try:
        res = score_image(
            path,
            stride=settings.stride,
            threshold=settings.threshold,
            min_amplitude=settings.min_amplitude,
            min_significance=settings.min_significance,
        )
        return res.as_dict(), (res.stats if settings.keep_stats else None)
    except CbdiagError as exc:
        msg = str(exc)
        if not msg.startswith(display(path)):  # every error row names its file first
            msg = f"{display(path)}: {msg}"
        return error_row(path, msg), None
    except MemoryError:
        return error_row(path, f"{display(path)}: out of memory while scoring it"), None
    except Exception as exc:  # one bad file must not stop a batch
        return error_row(path, f"{path}: internal error: {type(exc).__name__}: {exc}"), None


@dataclass
class Done:
    """What a batch gives back: its rows by input index, the sum of their statistics (with
    ``keep_stats``), and the seconds it took."""

    rows: list[tuple[int, dict[str, Any]]]
    stats: Stats | None
    seconds: float


def score_batch(batch: Sequence[tuple[int, str]], settings: Settings) -> Done:
    """Score a batch of ``(index, path)``; the statistics are summed here, where the images
    are, so a worker sends one sum per batch (the first level of the reduction).

    glibc is told to keep freed memory for reuse (:mod:`cbdiag._malloc`): a Dask worker is
    started with ``MALLOC_TRIM_THRESHOLD_=65536``, which returns every large temporary to the
    kernel and costs about 1.8 times the scoring time of a 1024^2 image in page faults."""
    keep_freed_memory()  # once per process: Dask's workers trim the heap at 64 KiB otherwise
    t0 = time.perf_counter()
    rows = []
    total: Stats = {}
    for i, path in batch:
        row, st = score_one(path, settings)
        rows.append((i, row))
        if st:
            total = pool([total, st])
    return Done(rows, total if settings.keep_stats else None, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# runners
# ---------------------------------------------------------------------------------------------

Batch = list[tuple[int, str]]


class Runner(Protocol):
    """Where batches are scored: ``submit`` a batch, ``next`` blocks for one finished one."""

    workers: int

    def submit(self, batch: Batch) -> None: ...

    def next(self) -> tuple[Batch, Done]: ...

    def close(self) -> None: ...


class InlineRunner:
    """Scores each batch in this process, when it is asked for."""

    workers = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue: list[Batch] = []

    def submit(self, batch: Batch) -> None:
        self.queue.append(batch)

    def next(self) -> tuple[Batch, Done]:
        batch = self.queue.pop(0)
        return batch, score_batch(batch, self.settings)

    def close(self) -> None:
        self.queue.clear()


class Group:
    """A batch split into one task per file after a worker died on it: the parts' rows are put
    back together, so the stream gets exactly one answer for each batch it submitted."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.left = len(batch)
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.stats: Stats | None = None
        self.seconds = 0.0

    def add(self, done: Done) -> tuple[Batch, Done] | None:
        """Take one part's answer; the whole batch's once every part is back."""
        self.rows += done.rows
        self.left -= 1
        self.seconds += done.seconds
        if done.stats is not None:
            self.stats = pool([self.stats or {}, done.stats])
        if self.left:
            return None
        return self.batch, Done(sorted(self.rows, key=lambda r: r[0]), self.stats, self.seconds)


def finish(batch: Batch, group: Group | None, done: Done) -> tuple[Batch, Done] | None:
    """The answer to hand the stream for a finished task (``None``: a part of a split batch
    whose other parts are still out)."""
    return (batch, done) if group is None else group.add(done)


class Quarantine:
    """After a worker died, the files of the batches it may have held are *suspects*: tried
    one at a time with nothing else in flight (new batches wait), so the file whose task
    dies while it runs alone is known to be the one that kills workers, and no other file is
    blamed for sharing a worker with it."""

    def __init__(self) -> None:
        self.suspects: list[tuple[Batch, Group | None]] = []
        self.waiting: list[Batch] = []
        self.trying = False  # a suspect is in flight, alone

    @property
    def active(self) -> bool:
        return bool(self.suspects) or self.trying

    def offer(self, batch: Batch, submit: Callable[[Batch, Group | None], None]) -> None:
        """A new batch: submitted, or held while suspects are tried."""
        if self.active:
            self.waiting.append(batch)
        else:
            submit(batch, None)

    def release(self, inflight: bool, submit: Callable[[Batch, Group | None], None]) -> None:
        """Before waiting for a task: the next suspect, once nothing else is in flight; the
        batches that waited, once no suspect is left."""
        if self.suspects and not inflight:
            submit(*self.suspects.pop(0))
            self.trying = True
        elif not self.active and self.waiting:
            for b in self.waiting:
                submit(b, None)
            self.waiting.clear()

    def took(self) -> bool:
        """A task came back: whether it was a suspect that ran alone."""
        alone, self.trying = self.trying, False
        return alone

    def suspect(self, batch: Batch, group: Group | None) -> None:
        """A batch lost with a worker: its files, one task each."""
        if len(batch) == 1:
            self.suspects.append((batch, group))
            return
        part = Group(batch)
        self.suspects += [([one], part) for one in batch]


class PoolRunner:
    """Scores batches in ``jobs`` worker processes. A worker that dies (killed, out of memory)
    breaks the pool: it is started again, and the files of the batches it held are tried one
    at a time (:class:`Quarantine`); the file that breaks the pool alone becomes an error row
    and every other file is scored."""

    def __init__(
        self,
        settings: Settings,
        jobs: int,
        task: Callable[[Batch, Settings], Done] = score_batch,
    ) -> None:
        self.settings = settings
        self.task = task
        self.workers = jobs
        self._pool = self._start()
        self.pending: dict[Any, tuple[Batch, Group | None]] = {}
        self.q = Quarantine()

    def _start(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.workers, initializer=_pool_worker)

    def _kill(self) -> None:
        """End the processes of a broken pool: a survivor blocked on its result pipe would
        otherwise hold the command open at exit."""
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                proc.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, batch: Batch) -> None:
        self.q.offer(batch, self._submit)

    def _submit(self, batch: Batch, group: Group | None) -> None:
        with _signals_held():  # a worker forked here starts with them held (_pool_worker)
            fut = self._pool.submit(self.task, batch, self.settings)
        self.pending[fut] = (batch, group)

    def next(self) -> tuple[Batch, Done]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        while True:
            self.q.release(bool(self.pending), self._submit)
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            fut = next(iter(done))
            batch, group = self.pending.pop(fut)
            alone = self.q.took()
            try:
                answer = finish(batch, group, fut.result())
            except BrokenProcessPool:
                lost = [(batch, group), *self.pending.values()]
                self.pending.clear()
                self._kill()
                self._pool = self._start()
                if alone:  # it ran with nothing else: the file that kills workers
                    i, path = batch[0]
                    error = Done([(i, error_row(path, worker_died(path)))], None, 0.0)
                    answer = finish(batch, group, error)
                else:
                    for b, g in lost:
                        self.q.suspect(b, g)
                    continue
            if answer is not None:
                return answer

    def close(self) -> None:
        """Cancel what has not started, let the running images finish (one each), and join
        the workers, so nothing is left writing when the command exits."""
        self._pool.shutdown(wait=True, cancel_futures=True)


_HELD = ("SIGINT", "SIGTERM")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held (blocked, not lost) while the pool may fork a worker, so one
    arriving in that moment is handled by this process afterwards, and a new worker cannot
    take it before :func:`_pool_worker` has set its own handling."""
    import signal

    held = {getattr(signal, name) for name in _HELD}
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # no POSIX signal masks here
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _pool_worker() -> None:
    """A pool worker leaves signals to the command: Ctrl-C (which reaches the whole process
    group) and SIGTERM stop the parent, which then shuts the pool down. A signal that came
    while the worker was forked, held till now, is dropped with the handlers set first."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def worker_died(path: str) -> str:
    return (
        f"{display(path)}: the worker process died while scoring it, alone (killed, or out "
        "of memory?)"
    )


# ---------------------------------------------------------------------------------------------
# the stream
# ---------------------------------------------------------------------------------------------


@dataclass
class Scored:
    """One result row as it is handed out: its position in the input order, its path, the row
    (the JSON result object) and, on the last row of each batch when statistics are kept, the
    batch's summed statistics (so a running sum over the rows handed out is always exact)."""

    index: int
    path: str
    row: dict[str, Any]
    stats: Stats | None = None
    #: the last row of its batch (or a row of its own): with every row handed out up to it,
    #: the running statistics are exactly those of the rows handed out
    closes: bool = True

    @property
    def error(self) -> str | None:
        return self.row.get("error")


@dataclass
class ScoreMany:
    """The stream of :func:`score_many`: iterate for :class:`Scored` rows. ``stats`` is the
    running sum of the statistics of the rows handed out so far, ``repeats`` how many inputs
    named a file already given, ``resumed`` how many were skipped as already done."""

    _rows: Iterator[Scored]
    _once: Once
    stats: Stats = field(default_factory=dict)
    #: the Dask client to score on (``None``: here); read when the first batch is submitted
    client: Any = None

    def __iter__(self) -> Iterator[Scored]:
        for s in self._rows:
            if s.stats:
                self.stats = pool([self.stats, s.stats])
            yield s

    def close(self) -> None:
        """Stop: what is still being scored is cancelled (a Dask cluster's tasks, a pool's
        queue) and the runner shut down."""
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()

    @property
    def repeats(self) -> int:
        return self._once.repeats

    @property
    def resumed(self) -> int:
        return self._once.resumed

    def pooled(
        self,
        min_amplitude: float = DEFAULT_POOLED_MIN_AMPLITUDE,
        min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
    ) -> PooledResult | None:
        """The pooled pattern of the rows handed out so far (``None`` before any image)."""
        if not self.stats:
            return None
        return pool_results(
            [self.stats], min_amplitude=min_amplitude, min_significance=min_significance
        )


def score_many(
    paths: Iterable[str],
    *,
    client: Any = None,
    jobs: int = 1,
    glob: str | None = None,
    files_from: Sequence[str] = (),
    stride: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE,
    min_significance: float = DEFAULT_MIN_SIGNIFICANCE,
    pooled: bool = False,
    order: str = "completion",
    done: Seen | None = None,
    retries: int = 2,
) -> ScoreMany:
    """Score many images, yielding each result as it completes.

    Parameters
    ----------
    paths : iterable of str
        Image files, directories (searched recursively; ``glob`` filters them), or ``-`` for a
        list of paths on stdin. Read lazily: a generator of ten million paths is fine.
    client : dask.distributed.Client, optional
        Score on this Dask cluster (``pip install 'cbdiag[dask]'``); otherwise here, in
        ``jobs`` processes.
    files_from : sequence of str
        Lists of image files, one path per line (``-`` for stdin), taken as listed.
    pooled : bool
        Keep each image's additive statistics: summed per batch where it is scored, then
        across batches as they arrive (:attr:`ScoreMany.stats`, :meth:`ScoreMany.pooled`).
    order : {"completion", "input"}
        Hand rows out as they finish, or in the order of the inputs (rows that finish early
        wait, within the same bound on what is outstanding).
    done : Seen, optional
        Keys (:func:`path_key`) of paths already scored: skipped (``--resume``).
    retries : int
        Dask only: times a batch is submitted again after it raised (a worker that dies is
        handled by Dask itself; a batch whose worker died too often is scored file by file,
        and a file that keeps killing workers becomes an error row).

    Returns
    -------
    ScoreMany
        An iterator of :class:`Scored`; every input ends as exactly one row.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     Image.fromarray(np.full((64, 64), 100 + i, np.uint8)).save(f"{d}/{i}.png")
    >>> rows = list(score_many([d], order="input"))
    >>> [os.path.basename(s.path) for s in rows], [s.row["flagged"] for s in rows]
    (['0.png', '1.png', '2.png'], [False, False, False])
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not its characters
        paths = [os.fspath(paths)]
    if isinstance(files_from, (str, os.PathLike)):
        files_from = [os.fspath(files_from)]
    if order not in ORDERS:
        raise UsageError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"jobs must be from 1 to {MAX_JOBS}, got {jobs}")
    if client is not None and jobs > 1:
        raise UsageError("give a Dask client or jobs, not both: they both say where to score")
    if stride is not None and not 2 <= stride <= 32:
        raise UsageError(f"stride must be from 2 to 32, got {stride}")
    for name, v in (
        ("threshold", threshold),
        ("min_amplitude", min_amplitude),
        ("min_significance", min_significance),
    ):
        if not v >= 0 or v == float("inf"):  # nan would open the gate: refused
            raise UsageError(f"{name} must be a finite number >= 0, got {v}")
    for listing in files_from:
        check_listing(listing)
    settings = Settings(stride, threshold, min_amplitude, min_significance, pooled)
    once = Once(done)
    items = (it for it in expand(paths, glob, files_from) if once.admit(it))

    def runner() -> Runner:
        if result.client is not None:
            from .distributed import DaskRunner

            return DaskRunner(result.client, settings, retries=retries)
        if jobs > 1:
            return PoolRunner(settings, jobs)
        return InlineRunner(settings)

    result = ScoreMany(_stream(items, runner, order), once, client=client)
    return result


def _stream(items: Iterator[Input], make: Callable[[], Runner], order: str) -> Iterator[Scored]:
    """Batches submitted while fewer than the bound are open; rows handed out in the order
    asked for. A batch is open until its last row is handed out, and in input order at most
    ``HELD`` rows wait for an earlier one, so what is held stays bounded either way."""
    run: Runner | None = None
    try:
        index = 0
        held: dict[int, tuple[Scored, bool]] = {}  # input order: rows finished before earlier ones
        next_out = 0
        open_batches = 0
        inflight = 0  # submitted and not yet back from the runner
        per_image: float | None = None
        size = 1
        pending: Batch = []
        exhausted = False

        def out(s: Scored, closes: bool) -> Iterator[Scored]:
            nonlocal next_out, open_batches
            if order == "completion":
                open_batches -= closes
                yield s
                return
            held[s.index] = (s, closes)
            while next_out in held:
                s, closes = held.pop(next_out)
                open_batches -= closes
                next_out += 1
                yield s

        def submit(batch: Batch) -> None:
            nonlocal run, open_batches, inflight
            if run is None:
                run = make()
            run.submit(batch)
            open_batches += 1
            inflight += 1

        while True:
            workers = run.workers if run is not None else 1
            limit = BATCHES_PER_WORKER * workers
            # fill: take inputs until the bound on open batches (or on held rows) is reached
            while not exhausted and open_batches < limit and len(held) < limit * MAX_BATCH:
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                i = index
                index += 1
                if item.error is not None:
                    yield from out(Scored(i, item.path, error_row(item.path, item.error)), False)
                    continue
                pending.append((i, item.path))
                if len(pending) >= size:
                    submit(pending)
                    pending = []
                    if per_image is None:
                        size = min(size * 2, MAX_BATCH)
                    workers = run.workers if run is not None else 1
                    limit = BATCHES_PER_WORKER * workers
            if pending and (exhausted or inflight == 0):
                submit(pending)
                pending = []
            if inflight == 0:
                if exhausted:
                    break
                # nothing in flight means nothing held back: the fill can go on
                assert not held and open_batches < limit
                continue
            assert run is not None
            batch, done = run.next()
            inflight -= 1
            if done.seconds > 0 and done.rows:
                t = done.seconds / len(done.rows)
                per_image = t if per_image is None else 0.8 * per_image + 0.2 * t
                size = int(min(MAX_BATCH, max(1, BATCH_SECONDS / max(per_image, 1e-6))))
            paths = dict(batch)
            rows = sorted(done.rows, key=lambda r: r[0])
            for k, (i, row) in enumerate(rows):
                last = k == len(rows) - 1
                s = Scored(i, paths[i], row, done.stats if last else None, last)
                yield from out(s, last)
        assert not held, "every input ends as one row"
    finally:
        if run is not None:
            run.close()
