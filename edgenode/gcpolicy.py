"""Garbage-collector settings for a serving process."""

from __future__ import annotations

import gc

# Python's default starts a young-generation collection every 700 net container allocations.
# A request through edge handlers allocates hundreds (decoded batch JSON, headers, exchanges),
# so that default ran a collection every couple of requests and a full one every few thousand:
# measured with benchmarks/bench_invoke.py, 10-14 us of CPU per A/B-handler request (about an
# eighth of it). Cyclic garbage is rare on the request path (runtime.release breaks the one
# cycle it has), so collecting 14 times less often costs little memory.
GEN0_THRESHOLD = 10_000


def tune_for_serving() -> None:
    """Make young-generation collections rarer; older generations keep their ratios."""
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(_gen0, GEN0_THRESHOLD), gen1, gen2)
