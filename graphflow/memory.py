"""Process-wide memory set-up for processes that read big files (the CLI, the benchmarks).

A reader allocates its columns block after block, each of megabytes. glibc's malloc serves
such sizes with fresh pages (``mmap``) or hands the freed top of its heap back to the kernel
(``trim``), so the next block's columns are faulted in and zeroed again page by page: on the
packet formats, which allocate several times more per flow than the flow formats, that was a
tenth of the reading time. :func:`keep_freed_memory` has malloc keep what it freed for the next
allocation instead. Memory is still reused within the process: the peak resident size of a
read grows by a few percent at most (``bench/readers_bench.py`` with and without it: 0-6%);
what changes is that it does not shrink back after the read.

It is not done on import: a program that uses the library decides for its own process.
"""

from __future__ import annotations

import ctypes
import platform

__all__ = ["keep_freed_memory"]

# mallopt(3) parameters
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

#: allocations up to this size come from the heap, not fresh pages (glibc's own ceiling for
#: its adaptive threshold, which it reaches only after freeing such a block)
MMAP_THRESHOLD = 32 << 20
#: free memory at the top of the heap handed back to the kernel only above this
TRIM_THRESHOLD = 512 << 20
#: extra heap asked for at each growth
TOP_PAD = 64 << 20

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory for reuse (see the module doc); once per
    process. Returns whether the settings are in force: False where the C library is not
    glibc (nothing is changed there)."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD)))
    return _done
