"""Process-wide V8 set-up for mini-racer, and the few /proc reads the limits need."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from typing import Any

log = logging.getLogger("edgenode.handlers")

# V8 flags are process-wide and must be set before the first isolate exists. Code generation
# from strings (eval, new Function) is refused with an EvalError, as on Cloudflare Workers.
# --no-compilation-cache: every batch eval of the bridge has a distinct source; with the cache on,
# V8 kept them all (measured: 3000 evals of 180 KB sources -> 600 MB heap, then JSOOMException).
# --no-liftoff: WebAssembly is compiled by TurboFan at once; encoding.js's wasm codec runs 4-6x
# slower in the baseline tier, and --single-threaded leaves no background thread to tier it up.
V8_FLAGS = ("--single-threaded", "--disallow-code-generation-from-strings", "--no-compilation-cache",
            "--no-liftoff")

_init_lock = threading.Lock()
_initialized = False
_create_lock = threading.Lock()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def init() -> bool:
    """Initialise mini-racer with edgenode's flags; False if someone initialised it before us.

    Call it on the main thread before starting servers on other threads (the CLI and the test
    fixture do): when V8 was initialised on a non-main thread, creating an isolate on yet another
    thread later crashed the process in mr_init_context (reproduced with mini-racer 0.14.1).
    """
    global _initialized
    with _init_lock:
        if _initialized:
            return True
        from py_mini_racer import LibAlreadyInitializedError, init_mini_racer

        if threading.current_thread() is not threading.main_thread():
            log.warning("V8 initialised off the main thread; isolates on other threads may crash")
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


class _Checker:
    """One scratch isolate on its own thread and loop, for load-time syntax checks.

    Created once per process and never closed: short-lived sync MiniRacers (each with a private
    loop thread) made later isolate creation on other threads crash in mr_init_context.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="edgenode-v8-check")
        self.thread.start()
        self.mr = asyncio.run_coroutine_threadsafe(self._make(), self.loop).result(30)

    async def _make(self) -> Any:
        from py_mini_racer import MiniRacer

        return MiniRacer()

    def close(self) -> None:
        """Close the isolate on its own loop, then stop the loop (a MiniRacer left to the garbage
        collector at interpreter exit hangs the process)."""
        async def shut() -> None:
            self.mr.close()

        try:
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(2)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(2)

    def compile(self, src: str) -> None:
        """Raises JSParseException (or another JSEvalException) if `src` does not compile."""
        asyncio.run_coroutine_threadsafe(self.mr.eval_cancelable(src), self.loop).result(30)


_checker: _Checker | None = None


def compile_check(src: str) -> None:
    global _checker
    init()
    with _init_lock:
        if _checker is None:
            _checker = _Checker()
            atexit.register(_close_checker)
    _checker.compile(src)


def _close_checker() -> None:
    global _checker
    checker, _checker = _checker, None
    if checker is not None:
        checker.close()


_statm: tuple[int, int] | None = None  # (pid, fd of /proc/<pid>/statm): reopened after a fork


def rss_bytes() -> int:
    """This process's resident memory (one pread on a file kept open: read once per batch)."""
    global _statm
    try:
        pid = os.getpid()
        if _statm is None or _statm[0] != pid:
            _statm = (pid, os.open(f"/proc/{pid}/statm", os.O_RDONLY))
        return int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0



def post_eval(mr: Any, code: str) -> asyncio.Future:
    """Post one `eval` to the isolate's pump thread; a Future of its result, without a Task.

    The same operation as `await mr.eval_cancelable(code)`, but with the future completed
    straight from mini-racer's result callback: no coroutine frames, no Task, no context manager
    per eval (measured: that wrapping cost more Python time than the eval's JS under load).
    Cancelling the future cancels the eval (TerminateExecution if it is running), as cancelling
    an `eval_cancelable` task does. Falls back to that public API if mini-racer's internals change.
    """
    return _post(mr, "eval", code, None, None)


def post_call(mr: Any, fn: Any, this: str | None, argv: Any) -> asyncio.Future:
    """Post a call of the JS function `fn` with `this` (a string, or None for null) and the JS array
    `argv`; a Future of its result, like post_eval.

    Why: the bridge's batches are JSON text. Sent as `this` of a call, the text becomes a V8 string
    directly; inside an eval's source it had to be escaped as a string literal in Python, then
    scanned by V8's parser and the script compiled, for every batch (measured: the literal scan
    alone was about a tenth of the isolate thread's time with an A/B handler).
    """
    return _post(mr, "call", fn, this, argv)


def _post(mr: Any, kind: str, what: Any, this: str | None, argv: Any) -> asyncio.Future:
    ctx = getattr(mr, "_ctx", None)
    try:
        callbacks = ctx._active_cancelable_mr_task_callbacks
        ids = ctx._next_async_callback_id
        dll = ctx._dll
        raw_ctx = ctx._ctx
        to_handle = ctx._python_to_value_handle
        to_python = ctx._value_handle_to_python
    except AttributeError:
        if kind == "eval":
            return asyncio.ensure_future(mr.eval_cancelable(what))
        return asyncio.ensure_future(what.cancelable()(this=this))
    from py_mini_racer import JSEvalException

    fut: asyncio.Future = ctx.event_loop.create_future()
    cb_id = next(ids)

    def on_result(val_handle: Any) -> None:
        callbacks.pop(cb_id, None)
        if fut.done():
            return
        try:
            value = to_python(val_handle)
        except JSEvalException as e:
            fut.set_exception(e)
            return
        fut.set_result(value)

    callbacks[cb_id] = on_result
    if kind == "eval":
        keep: Any = to_handle(what)
        task_id = dll.mr_eval(raw_ctx, keep.raw, cb_id)
    else:
        # The handles must live until the call is done (the value handle of `this` in particular).
        keep = (to_handle(what), to_handle(this), to_handle(argv))
        task_id = dll.mr_call_function(raw_ctx, keep[0].raw, keep[1].raw, keep[2].raw, cb_id)

    def finished(f: asyncio.Future, keep: Any = keep) -> None:
        # Like mini-racer's own finally: cancel the task (a no-op once it completed), and keep
        # the source's value handle alive until then.
        callbacks.pop(cb_id, None)
        if getattr(mr, "_ctx", None) is ctx:  # not after close(): the context id is gone
            dll.mr_cancel_task(raw_ctx, task_id)

    fut.add_done_callback(finished)
    return fut
