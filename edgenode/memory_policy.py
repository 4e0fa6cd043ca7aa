"""Memory-management settings for a serving process: Python's garbage collector and glibc's malloc."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("edgenode")

# Python's default starts a young-generation collection every 700 net container allocations.
# A request through edge handlers allocates hundreds (decoded batch JSON, headers, exchanges),
# so that default ran a collection every couple of requests and a full one every few thousand:
# measured with benchmarks/bench_invoke.py, 10-14 us of CPU per A/B-handler request (about an
# eighth of it). Cyclic garbage is rare on the request path (runtime.release breaks the one
# cycle it has), so collecting 14 times less often costs little memory.
GEN0_THRESHOLD = 10_000

# glibc returns the free memory at the top of its heap to the kernel once there is more than
# 128 KB of it, and the next allocation takes fresh pages again: a page fault and a zeroed page
# for every 4 KB. A body streamed through a handler allocates and frees chunks of 64-100 KB per
# request; measured on S6 (a 100 KB page rewritten by a handler), that was 26 page faults and
# about 60-80 us of the main thread's ~320 us per request. Keeping up to 64 MB of free memory
# per arena (and serving allocations up to 1 MB from the heap rather than a fresh mapping each)
# removes them; the cost is that much resident memory kept after a burst. (16 MB was enough at
# 32 connections; at 256, S6's 256 bodies in flight passed it and the main thread took 108-115
# faults per request again, against 23-33 with 64 MB: 632-679 -> 709-745 req/s.)
MALLOC_TRIM_THRESHOLD = 64 * 1024 * 1024
MALLOC_MMAP_THRESHOLD = 1024 * 1024
_M_TRIM_THRESHOLD = -1  # mallopt parameters, <malloc.h>
_M_MMAP_THRESHOLD = -3


def tune_for_serving() -> None:
    """Make young-generation collections rarer (older generations keep their ratios), and keep
    glibc from handing memory back to the kernel after every request that used a large buffer."""
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(_gen0, GEN0_THRESHOLD), gen1, gen2)
    tune_malloc()


def tune_malloc() -> bool:
    """Set glibc's trim and mmap thresholds; False where there is no glibc (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD) == 1 and mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD) == 1
    if not ok:  # pragma: no cover - a libc whose mallopt refuses these
        log.debug("mallopt refused the malloc thresholds")
    return ok
