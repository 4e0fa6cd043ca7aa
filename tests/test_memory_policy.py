"""The serving process's memory settings (edgenode/memory_policy.py)."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys

import pytest

from edgenode.memory_policy import GEN0_THRESHOLD

# Allocates four 100 KB buffers and frees them, 300 times (as bodies streamed through a handler
# do), and prints the page faults that took on this thread.
FAULTS = """
import resource, sys
if sys.argv[1] == "tuned":
    from edgenode.memory_policy import tune_malloc
    assert tune_malloc()
keep = [bytearray(4096) for _ in range(8)]
def faults():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
for _ in range(3):
    b = [bytearray(100_000) for _ in range(4)]
    del b
before = faults()
for _ in range(300):
    b = [bytearray(100_000) for _ in range(4)]
    del b
print(faults() - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_buffers_are_reused_without_page_faults():
    assert _faults("default") > 3000  # glibc's defaults: about 25 per 100 KB buffer
    assert _faults("tuned") < 50


def test_young_collections_are_rarer_when_serving():
    from edgenode.memory_policy import tune_for_serving

    saved = gc.get_threshold()
    try:
        tune_for_serving()
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
    finally:
        gc.set_threshold(*saved)
