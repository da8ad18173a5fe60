"""Scoring on a Dask cluster: ``cbdiag score --dask ADDRESS`` and ``score_many(client=...)``.

Batches of files are submitted as Dask tasks, a bounded number at a time, and taken back with
``distributed.as_completed`` as they finish. Each task reads its images where it runs (the
workers must see the same paths: shared storage) and sends back the rows and, with
``--pooled``, one sum of the batch's additive statistics.

Nothing is lost: a worker that dies has its tasks run again elsewhere by the scheduler (up to
its ``distributed.scheduler.allowed-failures``, 3 by default); a batch the scheduler gives up
on (``KilledWorker``) is submitted again file by file, and the one file that keeps killing
workers becomes an error row. Needs the optional extra: ``pip install 'cbdiag[dask]'``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .batch import Batch, Done, Group, Quarantine, Settings, error_row, finish, score_batch
from .errors import CbdiagError, MissingDependencyError, UsageError
from .files import display

INSTALL = "pip install 'cbdiag[dask]'"
#: Most workers of ``--dask local:N``.
MAX_LOCAL_WORKERS = 256
#: Dask settings of the cluster ``--dask local`` starts: no statistical profiler (a stack
#: sample of every thread every 10 ms) and the monitors at 1-2 s instead of 0.1-0.5 s. Idle,
#: Dask's defaults take about a fifth of a core here (client, scheduler and two workers); these
#: take under 4 %, which on a small machine is throughput the workers keep.
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "200ms",
}


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"--dask needs Dask's distributed scheduler, which is not installed "
            f"({exc.name or 'distributed'} is missing): {INSTALL}"
        ) from None
    return distributed


class Cluster:
    """A connection made from ``--dask``: ``local`` or ``local:N`` starts a ``LocalCluster`` of
    N single-threaded worker processes (default: one per core), anything else is the address
    of a running scheduler (``tcp://host:8786``). Closing it stops what it started."""

    def __init__(self, spec: str) -> None:
        distributed = _distributed()
        import logging

        # what goes wrong is said in one line by cbdiag; Dask's own log of it (tracebacks of a
        # lost scheduler, workers leaving) is not for the command's stderr
        for name in ["distributed", *logging.root.manager.loggerDict]:
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.CRITICAL)  # Dask sets each its own
        self.spec = spec
        self.cluster: Any = None
        self.waiting = False
        if spec == "local" or spec.startswith("local:"):
            n = _local_workers(spec)
            import warnings

            import dask

            dask.config.set(LOCAL_CONFIG)  # this process's: workers restarted later get it too

            with warnings.catch_warnings(), _no_sigint():
                warnings.simplefilter("ignore", UserWarning)  # "port 8787 is in use": another
                self.cluster = distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self.client = distributed.Client(self.cluster)
            return
        address = spec if "://" in spec else f"tcp://{spec}"
        try:
            # how long to try: Dask's own setting (distributed.comm.timeouts.connect, 30 s;
            # DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=10s in the environment)
            self.client = distributed.Client(address)
            if not self.client.nthreads():
                self.waiting = True  # said by the command: nothing is scored until one joins
        except (OSError, TimeoutError) as exc:
            raise CbdiagError(
                f"cannot reach the Dask scheduler at {address}: {' '.join(str(exc).split())}"
            ) from None
        except ValueError as exc:
            raise UsageError(f"--dask {spec!r} is not a scheduler address: {exc}") from None

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """Start the local workers with SIGINT ignored (they inherit it), so Ctrl-C in a terminal,
    which reaches the whole process group, stops the client cleanly (rows flushed, --resume
    told) and the client closes the workers, instead of each worker dying with a traceback."""
    import signal

    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _local_workers(spec: str) -> int:
    import os

    if spec == "local":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    text = spec.split(":", 1)[1]
    if not text.isdigit() or not 1 <= int(text) <= MAX_LOCAL_WORKERS:
        raise UsageError(
            f"--dask local:N needs N from 1 to {MAX_LOCAL_WORKERS} workers, got {text!r}"
        )
    return int(text)


class DaskRunner:
    """Batches scored as Dask tasks (see the module docstring)."""

    REFRESH = 5.0  # seconds between looks at how many worker threads the cluster has

    def __init__(
        self,
        client: Any,
        settings: Settings,
        *,
        retries: int = 2,
        task: Callable[[Batch, Settings], Done] = score_batch,
    ) -> None:
        distributed = _distributed()
        self._killed = distributed.KilledWorker
        self.client = client
        self.settings = settings
        self.retries = retries
        self.task = task
        self.ac = distributed.as_completed()
        self.batches: dict[str, tuple[Batch, Group | None]] = {}
        self.futures: dict[str, Any] = {}
        self.q = Quarantine()
        self._seen = 0.0
        self.workers = 1
        self._refresh()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._seen >= self.REFRESH:
            self._seen = now
            with contextlib.suppress(Exception):  # the count only sizes the window
                self.workers = max(1, sum(self.client.nthreads().values()))

    def submit(self, batch: Batch) -> None:
        self.q.offer(batch, self._submit)

    def _submit(self, batch: Batch, group: Group | None) -> None:
        key = f"cbdiag-score-{uuid.uuid4().hex}"
        # absolute paths: a worker runs in a folder of its own (rows keep the names as given)
        there = [(i, os.path.abspath(p)) for i, p in batch]
        fut = self.client.submit(
            self.task, there, self.settings, key=key, pure=False, retries=self.retries
        )
        self.batches[key] = (batch, group)
        self.futures[key] = fut
        self.ac.add(fut)

    def next(self) -> tuple[Batch, Done]:
        while True:
            self.q.release(bool(self.futures), self._submit)
            fut = next(self.ac)
            key = fut.key
            batch, group = self.batches.pop(key)
            self.futures.pop(key, None)
            alone = self.q.took()
            try:
                done = fut.result()
            except self._killed:
                if not alone:  # its files are tried one at a time, each with nothing else
                    self.q.suspect(batch, group)
                    continue
                i, path = batch[0]
                msg = (
                    f"{display(path)}: the Dask workers kept dying while scoring it, alone "
                    "(killed, or out of memory?), and the scheduler gave up on it"
                )
                done = Done([(i, error_row(path, msg))], None, 0.0)
            except ModuleNotFoundError as exc:
                raise CbdiagError(
                    f"the Dask workers cannot import {exc.name or 'cbdiag'}: install cbdiag "
                    "(the same version) on every worker"
                ) from None
            except Exception as exc:
                if _lost(exc):
                    raise SchedulerLost(
                        f"lost the Dask scheduler ({type(exc).__name__}): the rows so far are "
                        "written"
                    ) from None
                why = " ".join(f"{type(exc).__name__}: {exc}".split())
                rows = [
                    (i, error_row(p, f"{display(p)}: failed on the cluster: {why}"))
                    for i, p in batch
                ]
                done = Done(rows, None, 0.0)
            finally:
                fut.release()
            self._refresh()
            given = dict(batch)
            for i, row in done.rows:
                row["path"] = given.get(i, row["path"])
            answer = finish(batch, group, done)
            if answer is not None:
                return answer

    def close(self) -> None:
        if self.futures:
            with contextlib.suppress(Exception):  # closing after the scheduler went away
                self.client.cancel(list(self.futures.values()))
        self.futures.clear()
        self.batches.clear()


class SchedulerLost(CbdiagError):
    """The connection to the Dask scheduler is gone mid-run."""


def _lost(exc: BaseException) -> bool:
    """Whether an exception means the connection to the scheduler is gone."""
    from asyncio import CancelledError

    name = type(exc).__name__
    return isinstance(exc, (CancelledError, OSError, TimeoutError)) or name in (
        "CommClosedError",
        "FutureCancelledError",
    )
