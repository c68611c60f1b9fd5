"""Keep a long-running process's heap from holding freed memory (glibc malloc).

Found soaking the wall (issue 11): its resident memory grew in steps of 20-90 MB while neither
Python objects nor numpy buffers grew (tracemalloc flat) and ``malloc_trim(0)`` gave the steps
back. The memory was freed but kept: glibc raises its mmap threshold after a large block is
freed (up to 32 MiB), so later frame-sized buffers (renders, textures, per-tick arrays of a few
MB) come from the heap, where fragmentation pins them. :func:`tune_malloc` fixes the threshold
(big blocks are mapped and unmapped, returned on free) and caps the arenas threads create;
:func:`trim_heap` hands free heap pages back. Both do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

#: mallopt parameters (glibc malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Blocks from this size up are mapped on their own and unmapped on free.
MMAP_THRESHOLD_BYTES = 1 << 20
#: Free memory at the top of the heap beyond this goes back to the system at once.
TRIM_THRESHOLD_BYTES = 4 << 20
#: Arenas (glibc makes up to 8 per core for threads: the MQTT thread, loaders, the renderer).
ARENA_MAX = 4


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018  (glibc only)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def tune_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds and cap its arenas (once per process); returns
    False where that is not possible (not glibc)."""
    libc = _libc()
    if libc is None:
        return False
    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    ok &= bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    ok &= bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX))
    return ok


def trim_heap() -> bool:
    """Give free heap pages of every arena back to the system (``malloc_trim(0)``); True when
    some memory was released."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
