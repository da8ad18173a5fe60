"""Keep freed memory for reuse (glibc): large temporaries then cost no page faults.

Convolutions over a batch allocate and free arrays of many megabytes in a loop. glibc returns
such blocks to the kernel when they are freed, so every new one is faulted in page by page
again. Raising the trim and mmap thresholds keeps them in the heap; PyTorch gets the same
effect from its caching allocator. Anywhere else than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's malloc once per process; returns whether it applied."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # the largest glibc accepts
    ok &= mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    ok &= mallopt(_M_TOP_PAD, 64 * 1024 * 1024)
    _done = bool(ok)
    return _done
