"""Timing helper shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs after one warm-up run (seconds)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(
    fns: dict[str, Callable[[], object]],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
    alternate: bool = False,
) -> dict[str, list[float]]:
    """Wall times (seconds; ``clock=time.process_time`` for the process's CPU time, which a
    machine shared with other work disturbs less) of each function over ``rounds`` rounds,
    the functions taking turns within each round (after one warm-up round), so that a slow
    spell of the machine weighs on all of them alike. ``alternate``: every other round runs
    them in the reverse order (A B, B A, A B, ...), so that neither always runs right after
    the other (in the memory state the other leaves)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    items = list(fns.items())
    for r in range(rounds):
        for k, fn in reversed(items) if alternate and r % 2 else items:
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
    return times
