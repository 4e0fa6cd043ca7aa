"""One V8 isolate per site deploy, driven by the batched event + drain protocol of js/core.js.

Measured rules (JS-RUNTIME.md) this file follows:
- every MiniRacer is created inside the serving event loop and only ever called through its
  cancelable, callback-completed operations (v8.post_eval / v8.post_call): no sync evals, no
  wrap_py_function; the only JS object handles kept are core.js's run and drain functions;
- a pump task per isolate delivers every pending event in ONE call (the batch's JSON text as
  `this`) and collects every message in the drain call queued right behind it (the microtask
  checkpoint between them runs the handlers' continuations);
- a watchdog reads the isolate thread's CPU time from /proc while a batch runs: a runaway in the
  synchronous part of a batch is terminated (the isolate survives); a runaway in a microtask or
  timer cannot be terminated, so the isolate is closed and rebuilt;
- a hard heap limit always; ArrayBuffer memory (outside the heap) is guarded by process RSS.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from edgenode.handlers import v8
from edgenode.handlers.texts import TextMirror

log = logging.getLogger("edgenode.handlers")

_std_to_json = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _to_json(obj: Any) -> str:
    """Compact JSON for the batch source: orjson (a tenth of the time of json for a batch
    carrying page bodies), the standard encoder for what orjson refuses (lone surrogates in a
    string, integers beyond 64 bits), which then escapes to ASCII."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _std_to_json(obj)


def _from_json(text: str) -> Any:
    """Parse what the isolate drained: JSON.stringify output, which may escape a lone surrogate
    (orjson refuses those, the standard decoder keeps them)."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError
        return json.loads(text)


# Stream pulls per batch: their first chunks (up to 64 KB each) fill at most half of the channel's
# JS -> host half; core.js reads ahead only into the other half.
PULLS_PER_BATCH = 16
_NO_DRAIN = frozenset({"seed", "k", "tx-", "lease", "lease-", "f"})  # events that resume no promise chain
# In an isolate's setup list: where edgenode's own scripts end and the site's handler code begins.
# The host takes core.js's functions there and removes the globals that lead to them.
SEAL = "edgenode:seal"
NOT_NOW = object()  # Host.op_now: this host call has to wait (it runs as a task)
WATCH_INTERVAL = 0.004  # seconds between watchdog looks at a busy isolate
IDLE_DRAIN = 0.005  # seconds after a batch that needed no drain before an idle isolate is drained anyway
MIB = 1 << 20


class HandlerError(Exception):
    """A handler failed: `name: message` goes to the client, the stack only to the log."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.stack = stack


@dataclass(slots=True, eq=False)
class Invocation:
    """One onRequest / onResponse call, from start until its response body is fully streamed."""

    rid: int
    host: Any  # bridge.Host: answers this invocation's host calls
    budget_ms: float
    future: asyncio.Future
    cpu_ms: float = 0.0
    streamed: int = 0  # body bytes streamed out; each MiB grants the CPU budget again
    started: bool = False  # its start event reached the isolate
    finished: bool = False  # done/fail arrived
    closed: bool = False  # nothing of it is alive in the isolate any more
    out_streams: set[str] = field(default_factory=set)
    host_streams: set[str] = field(default_factory=set)
    error: HandlerError | None = None
    deadline: float = 0.0
    spent_before: float = 0.0  # CPU the same request already used in earlier handlers
    ops: int = 0  # its host ops still in the isolate's op table

    def budget(self) -> float:
        return self.budget_ms * (1 + self.streamed // MIB) - self.spent_before


@dataclass(slots=True, eq=False)
class _Watch:
    """The watchdog's state for one batch."""

    cpu0: int
    rss0: int
    limit_ms: float
    terminated_at: float | None = None
    done: bool = False
    handle: Any = None


class Isolate:
    """A MiniRacer with the edgenode prelude and one site's handler modules."""

    def __init__(self, label: str, setup_js: list[tuple[str, str]], memory_mb: int, cpu_ms: float,
                 timeout_ms: float, quiet: bool = False) -> None:
        self.label = label
        self.setup_js = setup_js  # (what, source) evaluated in order at start
        self.memory_mb = memory_mb
        self.cpu_ms = cpu_ms
        self.timeout_ms = timeout_ms
        self.quiet = quiet
        self.mr: Any = None
        self.tid: str | None = None
        self.dead = False
        self.dead_reason: HandlerError | None = None
        self._events: list[Any] = []
        self._kick = asyncio.Event()
        self._pump_task: asyncio.Task | None = None
        self._rids = itertools.count(1)
        self._invocations: dict[int, Invocation] = {}
        self._ops: dict[int, tuple[Invocation | None, asyncio.Task | asyncio.TimerHandle]] = {}
        self._pulls: dict[str, tuple[Invocation, asyncio.Future]] = {}
        # Out streams being pulled -> what JS sent ahead of the pulls (bytes, None = end, error).
        self._ahead: dict[str, collections.deque] = {}
        self._host_streams: dict[str, Any] = {}  # sid -> bridge.HostStream
        self._sids = itertools.count(1)
        self.create_ms = 0.0
        self._batch: tuple[asyncio.Future, ...] = ()
        self._batches = 0  # batches run so far
        self._async_kinds: set[tuple[str, str]] = set()  # (handler, kind) seen finishing asynchronously
        self._drain_now = False  # the pump runs a drain even without events
        self._owed_at: int | None = None  # batch count when a drain was skipped
        self._idle_timer: asyncio.TimerHandle | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None  # the earliest wall-clock deadline
        self._stat_fd: int | None = None  # /proc/self/task/<tid>/schedstat of the V8 thread
        # The byte channel of core.js: a writable view of the isolate's SharedArrayBuffer (first
        # half host -> JS, second half JS -> host). Dropped before the isolate is closed: the
        # memory behind it is freed with the isolate.
        self._chan: memoryview | None = None
        self._chan_half = 0
        self._byte_ids = itertools.count(1)
        self.texts = TextMirror()  # the page texts core.js keeps, by id (texts.py)
        self.batch_check: Any = None  # fetch_memo.FetchLeases once a fetch was leased to this isolate
        self.local_fetches = 0  # fetches the isolate answered itself from a lease
        self._unplaced: list[list] = []  # "k" events queued since the last batch, bytes not yet placed
        # core.js's run() and drain() as functions the host calls (v8.post_call), taken from
        # __edge when the isolate starts, and the empty argument list the calls pass.
        self._run_fn: Any = None
        self._drain_fn: Any = None
        self._recover_fn: Any = None
        self._no_args: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        t0 = time.perf_counter()
        self.mr, self.tid = await v8.new_isolate()
        self.mr.set_hard_memory_limit(self.memory_mb * MIB)
        try:
            for what, src in self.setup_js:
                if what == SEAL:
                    await self._take_bridge()
                    continue
                await asyncio.wait_for(self.mr.eval_cancelable(src), 5.0)
            if self._run_fn is None:  # a setup without handler code (no SEAL entry)
                await self._take_bridge()
            await v8.post_call(self.mr, self._run_fn, json.dumps([["seed", os.urandom(32).hex()]]), self._no_args)
            out = await v8.post_call(self.mr, self._drain_fn, None, self._no_args)
        except BaseException:
            self.mr.close()
            self.dead = True
            raise
        if out:
            self._dispatch(_from_json(out))
        self._pump_task = asyncio.create_task(self._pump(), name=f"isolate {self.label}")
        self.create_ms = (time.perf_counter() - t0) * 1000

    async def _take_bridge(self) -> None:
        """Take core.js's run/drain/recover and the byte channel, then remove the globals that
        lead to them (`__edge`, `__edge_fetch`) before any handler code is evaluated.

        edgenode's own scripts captured them when they loaded; handler code could otherwise call
        run() with forged events (read the channel, answer other requests' host calls) or drain()
        other requests' messages.
        """
        mr = self.mr
        self._chan = channel_view(await mr.eval_cancelable("__edge.channel()"))
        if self._chan is not None:
            self._chan_half = len(self._chan) // 2
        else:  # a mini-racer that does not map it: every byte crosses as base64 instead
            await mr.eval_cancelable("__edge.channelOff()")
        self._run_fn = await mr.eval_cancelable(
            '(() => { const run = __edge.run; return function () { "use strict"; return run(this); }; })()')
        self._drain_fn = await self._no_arg_fn("drain")
        self._recover_fn = await self._no_arg_fn("recover")
        # The empty argument list of every call, made by the same eval that removes the globals.
        self._no_args = await mr.eval_cancelable("delete globalThis.__edge; delete globalThis.__edge_fetch; []")

    async def _no_arg_fn(self, name: str) -> Any:
        """A function calling core.js's `__edge[name]()`, which it captured (the global goes next)."""
        return await self.mr.eval_cancelable(
            f"(() => {{ const f = __edge.{name}; return function () {{ return f(); }}; }})()")

    async def close(self, reason: HandlerError | None = None) -> None:
        if self.dead and self.mr is None:
            return
        self._die(reason or HandlerError("Error", "the edge handler runtime was shut down"))
        task = self._pump_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)  # let it (and its watchdog) finish cancelling
            await asyncio.sleep(0)

    def _die(self, reason: HandlerError) -> None:
        """Close the isolate now (stops even a microtask runaway) and fail everything in it."""
        self.dead = True
        self.dead_reason = reason
        mr, self.mr = self.mr, None
        self._chan = None  # never touched again: its memory goes with the isolate
        self._run_fn = self._drain_fn = self._recover_fn = self._no_args = None  # freed while the context lives
        self._unplaced.clear()
        for timer in (self._idle_timer, self._deadline_timer):
            if timer is not None:
                timer.cancel()
        self._idle_timer = self._deadline_timer = None
        if self._stat_fd is not None:
            os.close(self._stat_fd)
            self._stat_fd = None
        for fut in self._batch:
            fut.cancel()  # before close(): a callback into a freed context reads garbage
        self._batch = ()
        if self._pump_task is not None and self._pump_task is not asyncio.current_task():
            self._pump_task.cancel()
        if mr is not None:
            try:
                mr.close()
            except Exception:  # pragma: no cover - close of a broken isolate
                log.exception("closing isolate %s", self.label)
        for inv in list(self._invocations.values()):
            self._fail(inv, reason)
        for _inv, handle in self._ops.values():
            handle.cancel()
        self._ops.clear()
        for _inv, fut in self._pulls.values():
            if not fut.done():
                fut.set_exception(reason)
        self._pulls.clear()
        self._ahead.clear()
        for hs in self._host_streams.values():
            hs.close()
        self._host_streams.clear()
        self._kick.set()

    # -- invocations ------------------------------------------------------------------------

    async def invoke(self, kind: str, handler: str, host: Any, build: Any) -> Any:
        """Run one onRequest/onResponse; returns its result object, raises HandlerError.

        `build(invocation)` makes the JSON payload (it may register host streams for bodies).
        """
        if self.dead:
            raise self.dead_reason or HandlerError("Error", "isolate closed")
        loop = asyncio.get_running_loop()
        inv = Invocation(next(self._rids), host, self.cpu_ms, loop.create_future())
        notes = host.ex.notes
        inv.spent_before = notes.get("handler_cpu_ms", 0.0)
        inv.deadline = loop.time() + self.timeout_ms / 1000
        host.invocation = inv
        host.isolate = self
        self._invocations[inv.rid] = inv
        payload = build(inv)
        if inv.rid % 64 == 0:  # fresh entropy for crypto.getRandomValues now and then
            self._send(["seed", os.urandom(32).hex()])
        self._send(["s", inv.rid, kind, [handler, payload]])
        if self._deadline_timer is None:
            self._deadline_timer = loop.call_at(inv.deadline, self._wall_timeouts)
        try:
            return await inv.future
        finally:
            if inv.future.done() and inv.future.exception() is not None:
                self.release(inv)

    def _wall_timeouts(self) -> None:
        """Fail the invocations past their wall-clock deadline; one timer for all of them.

        Every invocation gets the same budget, so the oldest unanswered one (the first in the
        insertion-ordered table) has the earliest deadline: the timer is re-armed for it.
        """
        self._deadline_timer = None
        if self.dead:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for inv in list(self._invocations.values()):
            if not inv.future.done() and inv.deadline <= now:
                self._fail(inv, HandlerError("TimeoutError", f"handler did not answer within {self.timeout_ms:.0f} ms"))
        for inv in self._invocations.values():
            if not inv.future.done():
                self._deadline_timer = loop.call_at(inv.deadline, self._wall_timeouts)
                break

    def _fail(self, inv: Invocation, err: HandlerError) -> None:
        if inv.error is None:
            inv.error = err
        if not inv.future.done():
            inv.future.set_exception(err)
        for sid in list(inv.out_streams):
            self._ahead.pop(sid, None)
            entry = self._pulls.pop(sid, None)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(err)
        if not inv.closed and not self.dead:
            self._send(["a", inv.rid])
        self.release(inv)

    def release(self, inv: Invocation) -> None:
        """The invocation is over: forget it and close the host streams it opened."""
        if inv.closed:
            return
        if inv.out_streams and inv.error is None:
            return  # still streaming its response; released when the last stream ends
        inv.closed = True
        notes = inv.host.ex.notes
        notes["handler_cpu_ms"] = notes.get("handler_cpu_ms", 0.0) + inv.cpu_ms
        # Host <-> Invocation is a reference cycle: broken here, the request's objects are freed by
        # reference counting, not left to the cyclic GC (measured: GC passes over such garbage
        # cost about a fifth of a handler request's CPU time).
        if inv.host.invocation is inv:
            inv.host.invocation = None
        self._invocations.pop(inv.rid, None)
        for sid in inv.host_streams:
            hs = self._host_streams.pop(sid, None)
            if hs is not None:
                hs.close()
        for op_id, (owner, handle) in list(self._ops.items()) if inv.ops else ():
            if owner is inv:
                handle.cancel()
                del self._ops[op_id]
                inv.ops -= 1
                if not self.dead:  # reject it in JS too, or its resolvers stay in the op table
                    self._send(["r", op_id, False, ["AbortError", "the request has ended"], 0])

    # -- host streams (Python bodies read by JS) and out streams (JS bodies read by Python) -----

    def add_host_stream(self, inv: Invocation, stream: Any) -> str:
        sid = f"h{next(self._sids)}"
        self._host_streams[sid] = stream
        inv.host_streams.add(sid)
        return sid

    def adopt_host_stream(self, inv: Invocation, sid: str) -> Any:
        """An untouched host stream came back in a response: its Python body is used as is."""
        hs = self._host_streams.pop(sid, None)
        inv.host_streams.discard(sid)
        if hs is None:
            raise HandlerError("TypeError", "the response body was already used")
        return hs

    def host_stream(self, sid: str) -> Any:
        return self._host_streams.get(sid)

    async def pull(self, inv: Invocation, sid: str) -> bytes | None:
        if self.dead:
            raise self.dead_reason or HandlerError("Error", "isolate closed")
        if inv.error is not None:
            raise inv.error
        ahead = self._ahead.get(sid)
        if ahead is None:
            ahead = self._ahead[sid] = collections.deque()
        elif ahead:
            data = self._take_ahead(ahead)
            if data is not None:
                inv.streamed += len(data)
            return data
        fut = asyncio.get_running_loop().create_future()
        self._pulls[sid] = (inv, fut)
        self._send(["p", sid])
        data = await fut
        if data is not None:
            if ahead and isinstance(ahead[0], bytes):  # what came with it goes out in the same write
                data = self._take_ahead(ahead, data)
            inv.streamed += len(data)
        return data

    @staticmethod
    def _take_ahead(ahead: collections.deque, first: bytes | None = None) -> bytes | None:
        """The next item sent ahead: consecutive chunks joined (one write to the client instead of
        several; after `first` when given), the end (None), or the stream's error (raised)."""
        if first is None:
            first = ahead.popleft()
            if isinstance(first, HandlerError):
                raise first
            if first is None or not ahead or not isinstance(ahead[0], bytes):
                return first
        parts = [first]
        while ahead and isinstance(ahead[0], bytes) and len(parts) < 17:
            parts.append(ahead.popleft())
        return b"".join(parts)

    def send_bytes(self, data: bytes) -> int:
        """Queue body bytes for JS; returns the id JS takes them by (`takeBytes` in fetch.js).

        The bytes are written into the byte channel when the batch is sent (`_place_bytes`); the
        event must precede whatever names the id in the same batch, which queueing order ensures.
        """
        bid = next(self._byte_ids)
        ev = ["k", bid, data]
        self._unplaced.append(ev)
        self._send(ev)
        return bid

    def _cap_pulls(self, batch: list) -> None:
        """At most PULLS_PER_BATCH stream pulls in one batch; the rest go back to the front of the queue.

        Each pull may send a chunk back through the channel's JS -> host half, and what does not
        fit there waits in the isolate for another batch (core.js's spill): with this cap the first
        chunks of a batch's pulls fit (measured at 256 streams, before the spill existed: 618-720 ->
        776-846 req/s). The batch is only cut where no "k" event follows (those are placed in the
        channel with this batch).
        """
        pulls = 0
        for i, ev in enumerate(batch):
            if ev[0] == "p":
                pulls += 1
                if pulls > PULLS_PER_BATCH:
                    tail = batch[i:]
                    if any(e[0] == "k" for e in tail):
                        return
                    self._events[:0] = tail
                    del batch[i:]
                    self._kick.set()
                    return

    def _place_bytes(self, batch: list) -> None:
        """Write the batch's "k" bytes into the channel: ["k", id, offset, length].

        When the channel is full, the batch is cut before the first "k" event that does not fit:
        the rest goes back to the front of the queue, in order, for the next batch. Bytes that
        could never fit (or an isolate without a channel) cross as ["k", id, -1, base64].
        """
        events, self._unplaced = self._unplaced, []
        chan, half, pos = self._chan, self._chan_half, 0
        for i, ev in enumerate(events):
            data = ev[2]
            n = len(data)
            if chan is not None and pos + n <= half:
                chan[pos:pos + n] = data
                ev[2] = pos
                ev.append(n)
                pos += n
            elif chan is not None and n <= half and pos:
                cut = next(j for j, e in enumerate(batch) if e is ev)
                self._events[:0] = batch[cut:]
                del batch[cut:]
                self._unplaced[:0] = events[i:]
                self._kick.set()
                return
            else:
                ev[2] = -1
                ev.append(base64.b64encode(data).decode())

    def _chunk_item(self, m: list) -> bytes | HandlerError | None:
        if m[0] == "serr":
            return HandlerError(m[2], m[3], m[4])
        # Copied now: the channel region is reused by the next batch.
        return None if m[2] is None else self._chunk_bytes(m[2])

    def _chunk_bytes(self, ref: Any) -> bytes:
        """A chunk named by a chunk message: [offset, length] in the channel's second half, or base64."""
        if isinstance(ref, str):
            return base64.b64decode(ref)
        chan = self._chan
        if chan is None:
            raise HandlerError("Error", "the edge handler runtime was shut down")
        start = self._chan_half + ref[0]
        return bytes(chan[start:start + ref[1]])

    def stream_finished(self, inv: Invocation, sid: str, cancel: bool) -> None:
        inv.out_streams.discard(sid)
        self._pulls.pop(sid, None)
        self._ahead.pop(sid, None)
        if cancel and not self.dead:
            self._send(["c", sid])
        if not inv.out_streams:
            self.release(inv)

    def send_event(self, event: list) -> None:
        """Queue an event for the next batch (for the bridge's helpers: leases)."""
        self._send(event)

    def text_body(self, tid: int, data: bytes) -> dict:
        """Body description of a text the isolate may keep (see texts.py): the id alone once it has it."""
        body, forget = self.texts.body(tid, data)
        if forget:
            self._send(["tx-", forget])
        return body

    # -- host ops ------------------------------------------------------------------------------

    def settle(self, op_id: int, ok: bool, value: Any, rid: int = 0) -> None:
        if self.dead:
            return
        entry = self._ops.pop(op_id, None)
        if entry is None:
            return
        if entry[0] is not None:
            entry[0].ops -= 1
        self._send(["r", op_id, ok, value, rid])

    def _start_op(self, inv: Invocation | None, op_id: int, op: str, arg: Any) -> None:
        if op == "timer":
            loop = asyncio.get_running_loop()
            handle = loop.call_later(max(0.0, float(arg) / 1000), self.settle, op_id, True, None, 0)
            self._ops[op_id] = (inv, handle)
            if inv is not None:
                inv.ops += 1
            return
        if inv is None or inv.closed:
            host = None
        else:
            host = inv.host
            # A call the host can answer at once (a remembered same-site fetch) needs no task.
            value = host.op_now(op, arg)
            if value is not NOT_NOW:
                self._send(["r", op_id, True, value, inv.rid])
                return
        task = asyncio.ensure_future(self._run_op(host, op_id, op, arg))
        self._ops[op_id] = (inv, task)
        if inv is not None:
            inv.ops += 1

    async def _run_op(self, host: Any, op_id: int, op: str, arg: Any) -> None:
        rid = host.invocation.rid if host is not None else 0
        try:
            if host is None:
                from edgenode.handlers.bridge import orphan_op

                value = await orphan_op(self, op, arg)
            else:
                value = await host.op(op, arg)
        except HandlerError as e:
            self.settle(op_id, False, [e.name, e.message], rid)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a host bug must not hang the handler
            log.exception("%s: host call %s failed", self.label, op)
            self.settle(op_id, False, ["Error", f"host call {op} failed: {e}"], rid)
        else:
            self.settle(op_id, True, value, rid)

    # -- the pump -------------------------------------------------------------------------------

    def _send(self, event: Any) -> None:
        self._events.append(event)
        self._kick.set()

    def _cpu_ns(self) -> int:
        """CPU time of the isolate's V8 thread (one pread on a file kept open)."""
        try:
            if self._stat_fd is None:
                if self.tid is None or self.dead:
                    return 0
                self._stat_fd = os.open(f"/proc/self/task/{self.tid}/schedstat", os.O_RDONLY)
            return int(os.pread(self._stat_fd, 64, 0).split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    async def _pump(self) -> None:
        while not self.dead:
            await self._kick.wait()
            self._kick.clear()
            if self.dead:
                return
            if not self._events and not self._drain_now:
                continue
            batch, self._events = self._events, []
            self._drain_now = False
            if self.batch_check is not None:
                revoked = self.batch_check.check()  # leases that no longer hold (fetch_memo.py)
                if revoked:
                    batch.insert(0, ["lease-", revoked])
            self.texts.batch_started()
            try:
                await self._run_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # pragma: no cover - never let the pump die silently
                log.exception("%s: pump failed", self.label)
                self._die(HandlerError("Error", "the edge handler runtime failed"))
            finally:
                self.texts.batch_ended()

    def _batch_rids(self, batch: list) -> set[int]:
        rids: set[int] = set()
        for ev in batch:
            if ev[0] == "s":
                rids.add(ev[1])
            elif ev[0] == "r" and ev[4]:
                rids.add(ev[4])
            elif ev[0] == "p":
                entry = self._pulls.get(ev[1])
                if entry is not None:
                    rids.add(entry[0].rid)
        return rids

    def _wants_drain(self, batch: list) -> bool:
        """Whether to queue the drain right behind the batch (before its answer is back).

        Op results, stream pulls and handlers seen finishing asynchronously before all continue
        in the microtask checkpoint after the eval: their drain is queued at once. A batch of
        handlers that finish synchronously is answered by its eval alone; the eval reports
        whether anything was left pending, and only then is a drain sent after it.
        """
        if not batch:
            return True
        slow = self._async_kinds
        for ev in batch:
            tag = ev[0]
            if tag == "s":
                if (ev[3][0], ev[2]) in slow:
                    return True
            elif tag not in _NO_DRAIN:
                return True
        return False

    async def _settled(self, fut: asyncio.Future) -> None:
        """Wait until `fut` is done without raising its exception or cancellation here."""
        if fut.done():
            return
        waiter = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda _f: waiter.done() or waiter.set_result(None))
        await waiter

    async def _run_batch(self, batch: list) -> None:
        self._cap_pulls(batch)
        if self._unplaced:  # before any await: exactly the "k" events of this batch
            self._place_bytes(batch)
        mr = self.mr
        loop = asyncio.get_running_loop()
        rids = self._batch_rids(batch)
        for ev in batch:
            if ev[0] == "s":
                inv = self._invocations.get(ev[1])
                if inv is not None:
                    inv.started = True
        eager = self._wants_drain(batch)
        # JSON text inside a JS string literal, parsed with JSON.parse (never a JS object literal:
        # a "__proto__" key there would set the prototype).
        text = _to_json(batch) if batch else "[]"
        cpu0 = self._cpu_ns()
        limit_ms = min(10_000.0, sum(self._budget_left(r) for r in rids) or self.cpu_ms)
        run = v8.post_call(mr, self._run_fn, text, self._no_args)
        drain = v8.post_call(mr, self._drain_fn, None, self._no_args) if eager else None
        self._batch = (run, drain) if drain is not None else (run,)
        self._batches += 1
        watch = _Watch(cpu0, v8.rss_bytes(), limit_ms)
        watch.handle = loop.call_later(WATCH_INTERVAL, self._watch_tick, watch)
        pending = eager
        try:
            await self._settled(run)
            if not self.dead and not run.cancelled() and run.exception() is None:
                text = run.result()
                pending = eager or text[:1] == "1"
                if len(text) > 1:
                    # What finished synchronously is answered now, before any drain comes back
                    # (charged first: the invocation may be released as soon as it is answered).
                    cpu1 = self._cpu_ns()
                    self._charge(rids, (cpu1 - cpu0) / 1e6)
                    cpu0 = cpu1
                    self._dispatch(_from_json(text[1:]))
                if pending and not eager:
                    self._learn_async(batch)
                    if not self.dead:
                        drain = v8.post_call(self.mr, self._drain_fn, None, self._no_args)
                        self._batch = (run, drain)
            if drain is not None:
                await self._settled(drain)
        finally:
            watch.done = True
            watch.handle.cancel()
            self._batch = ()
        if self.dead:
            return
        culprit = 0
        extra = ""
        if run.cancelled():
            # The synchronous slice ran over its CPU budget and was terminated: find out whose.
            try:
                culprit, extra = json.loads(await asyncio.wait_for(
                    v8.post_call(mr, self._recover_fn, None, self._no_args), 1.0))
            except Exception as e:
                self._die(_limit_error(e, self))
                return
            extra = extra[1:]
            pending = True
        else:
            exc = run.exception()
            if exc is not None:
                self._die(_limit_error(exc, self))
                return
        out = ""
        if drain is not None:
            exc = drain.exception() if not drain.cancelled() else None
            if exc is not None:
                self._die(_limit_error(exc, self))
                return
            out = drain.result() if not drain.cancelled() else ""
        cpu_ms = (self._cpu_ns() - cpu0) / 1e6
        if culprit:
            inv = self._invocations.get(int(culprit))
            if inv is not None:
                self._fail(inv, cpu_error(self.cpu_ms))
        self._charge(rids, cpu_ms)
        for text in (out, extra):
            if text:
                self._dispatch(_from_json(text))
        if pending:
            self._check_stuck()
        else:
            self._owe_drain()

    def _learn_async(self, batch: list) -> None:
        """Handlers still running after their start eval get their drain queued at once next time."""
        for ev in batch:
            if ev[0] == "s":
                inv = self._invocations.get(ev[1])
                if inv is not None and not inv.finished:
                    self._async_kinds.add((ev[3][0], ev[2]))

    def _owe_drain(self) -> None:
        """A batch ended without a drain: if no other eval follows soon, drain anyway.

        Handler code may leave microtasks behind that nothing the host waits for depends on
        (a `waitUntil` chain, a log line in a `.then`); the next eval collects what they wrote.
        When the isolate goes idle instead, this late drain collects it, and lets the watchdog
        see a runaway in such a microtask.
        """
        self._owed_at = self._batches
        if self._idle_timer is None:
            self._idle_timer = asyncio.get_running_loop().call_later(IDLE_DRAIN, self._idle_drain)

    def _idle_drain(self) -> None:
        self._idle_timer = None
        if self.dead or self._owed_at is None:
            return
        if self._batch or self._batches != self._owed_at or self._events:
            # Another batch ran (or is running) since: it collected the leftovers; look again later.
            if self._owed_at is not None:
                self._idle_timer = asyncio.get_running_loop().call_later(IDLE_DRAIN, self._idle_drain)
            return
        self._owed_at = None
        self._drain_now = True
        self._kick.set()

    def _budget_left(self, rid: int) -> float:
        inv = self._invocations.get(rid)
        if inv is None:
            return 0.0
        return max(1.0, inv.budget() - inv.cpu_ms)

    def _charge(self, rids: set[int], cpu_ms: float) -> None:
        live = [self._invocations[r] for r in rids if r in self._invocations]
        if not live:
            return
        share = cpu_ms / len(live)
        for inv in live:
            inv.cpu_ms += share
            if inv.cpu_ms > inv.budget() and inv.error is None:
                self._fail(inv, cpu_error(self.cpu_ms))

    def _watch_tick(self, w: _Watch) -> None:
        """CPU and memory watchdog for one batch (eval + microtask checkpoint + drain).

        A timer, not a task: most batches end before its first tick, and then it costs nothing.
        """
        if w.done or self.dead or not self._batch:
            return
        used_ms = (self._cpu_ns() - w.cpu0) / 1e6
        if v8.rss_bytes() - w.rss0 > self.memory_mb * MIB:
            self._die(memory_error(self.memory_mb))
            return
        run = self._batch[0]
        if w.terminated_at is None and used_ms > w.limit_ms:
            if not run.done():
                run.cancel()  # TerminateExecution: stops synchronous JS, the isolate survives
                w.terminated_at = used_ms
            else:
                # A continuation (microtask) or timer callback: only closing the isolate stops it.
                self._die(cpu_error(self.cpu_ms))
                return
        elif w.terminated_at is not None and used_ms - w.terminated_at > max(20.0, self.cpu_ms):
            self._die(cpu_error(self.cpu_ms))
            return
        w.handle = asyncio.get_running_loop().call_later(WATCH_INTERVAL, self._watch_tick, w)

    def _dispatch(self, messages: list) -> None:
        for m in messages:
            tag = m[0]
            if tag == "done" or tag == "fail":
                inv = self._invocations.get(m[1])
                if inv is None or inv.future.done():
                    continue
                inv.finished = True
                at = 3 if tag == "done" else 5  # where done/fail carry the fetches answered from a lease
                if len(m) > at and m[at]:
                    self.local_fetches += m[at]
                if tag == "done":
                    inv.future.set_result(m[2])
                else:
                    self._fail(inv, HandlerError(m[2], m[3], m[4]))
            elif tag == "op":
                inv = self._invocations.get(m[1])
                self._start_op(inv, m[2], m[3], m[4])
            elif tag == "clear":
                entry = self._ops.pop(m[2], None)
                if entry is not None:
                    entry[1].cancel()
                    if entry[0] is not None:
                        entry[0].ops -= 1
            elif tag == "chunk" or tag == "serr":
                entry = self._pulls.pop(m[1], None)
                if entry is None or entry[1].done():
                    ahead = self._ahead.get(m[1])  # sent ahead of a pull: kept for the next one
                    if ahead is not None:
                        ahead.append(self._chunk_item(m))
                    continue
                item = self._chunk_item(m)
                if isinstance(item, HandlerError):
                    entry[1].set_exception(item)
                else:
                    entry[1].set_result(item)
            elif tag == "spill":
                # Stream chunks wait in the isolate for room in the channel: a run() empties it
                # and sends them (the "f" event itself does nothing).
                self._send(["f"])
            elif tag == "log":
                inv = self._invocations.get(m[1])
                name = inv.host.handler if inv is not None else "-"
                _console(self.label, name, m[2], m[3], self.quiet)

    def _check_stuck(self) -> None:
        """A promise that nothing pending can settle any more fails at once (no wall-clock wait)."""
        if self._ops or self._events or self.dead:
            return
        for inv in list(self._invocations.values()):
            if inv.started and not inv.finished and not inv.future.done():
                self._fail(inv, HandlerError(
                    "Error", "the handler's promise can never settle: it waits for nothing pending"))
        for sid, (_inv, fut) in list(self._pulls.items()):
            if not fut.done() and sid not in {e[1] for e in self._events if e[0] == "p"}:
                self._pulls.pop(sid, None)
                fut.set_exception(HandlerError("Error", "the response stream can never produce more data"))


def channel_view(value: Any) -> memoryview | None:
    """The byte channel as mini-racer hands it over: a writable view of the SharedArrayBuffer."""
    if isinstance(value, memoryview) and not value.readonly and len(value) >= 2:
        return value
    return None


def cpu_error(cpu_ms: float) -> HandlerError:
    return HandlerError("TimeoutError", f"CPU budget of {cpu_ms:g} ms exceeded")


def memory_error(memory_mb: int) -> HandlerError:
    return HandlerError("RangeError", f"memory limit of {memory_mb} MB exceeded")


def _hard_limit_reached(iso: Isolate) -> bool:
    try:
        return iso.mr is not None and bool(iso.mr.was_hard_memory_limit_reached())
    except Exception:  # an older mini-racer, or a context already gone
        return False


def _limit_error(exc: BaseException, iso: Isolate) -> HandlerError:
    from py_mini_racer import JSOOMException

    if isinstance(exc, JSOOMException) or _hard_limit_reached(iso):
        return memory_error(iso.memory_mb)
    if isinstance(exc, asyncio.CancelledError | TimeoutError):
        return cpu_error(iso.cpu_ms)
    log.error("%s: isolate failed: %s (%s)", iso.label, exc, type(exc).__name__)
    return HandlerError("Error", "the edge handler runtime failed")


_console_log = logging.getLogger("edgenode.handlers.console")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _console(site: str, handler: str, level: str, text: str, quiet: bool) -> None:
    lvl = _LEVELS.get(level, logging.INFO)
    if quiet and lvl < logging.WARNING:
        return
    _console_log.log(lvl, "[%s %s] %s", site, handler, text)

