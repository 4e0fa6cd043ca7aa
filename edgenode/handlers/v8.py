"""Process-wide V8 set-up for mini-racer, and the few /proc reads the limits need."""

from __future__ import annotations

import os
import threading
from typing import Any

# V8 flags are process-wide and must be set before the first isolate exists. Code generation
# from strings (eval, new Function) is refused with an EvalError, as on Cloudflare Workers.
V8_FLAGS = ("--single-threaded", "--disallow-code-generation-from-strings")

_init_lock = threading.Lock()
_initialized = False
_create_lock = threading.Lock()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def init() -> bool:
    """Initialise mini-racer with edgenode's flags; False if someone initialised it before us."""
    global _initialized
    with _init_lock:
        if _initialized:
            return True
        from py_mini_racer import LibAlreadyInitializedError, init_mini_racer

        try:
            init_mini_racer(flags=V8_FLAGS)
        except LibAlreadyInitializedError:
            _initialized = True
            return False
        _initialized = True
        return True


def _tasks() -> set[str]:
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        return set()


async def new_isolate() -> tuple[Any, str | None]:
    """A MiniRacer bound to the running loop, and the id of its V8 pump thread (for CPU time)."""
    init()
    from py_mini_racer import MiniRacer

    with _create_lock:
        before = _tasks()
        mr = MiniRacer()
        new = _tasks() - before
    tid = max(new, key=int) if new else None
    return mr, tid


def sync_isolate() -> Any:
    """A MiniRacer for load-time checks (syntax), outside any event loop."""
    init()
    from py_mini_racer import MiniRacer

    return MiniRacer()


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0
