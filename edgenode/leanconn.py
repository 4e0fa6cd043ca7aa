"""The connection side of the lean path (leanpath.py): plain GET/HEAD requests served without aiohttp.

A plain request is taken over only while aiohttp's side of the connection is idle at a message
boundary (the same condition the fast path answers under), so responses on a keep-alive or
pipelined connection leave in request order. While a lean request is being served, bytes that
arrive (pipelined requests) are held back and handled, by this path or by aiohttp, when its
response is written; more than HOLD_MAX of them pause reading from the socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE

from edgenode.accesslog import log_request
from edgenode.exchange import FileBody
from edgenode.fastpath import FastPathProtocol, FastServer, _serialize_headers
from edgenode.leanpath import LAST_CHUNK, LeanRequest, chunk_frame, parse_head, response_head
from edgenode.origins.static import checked_file, file_chunks

if TYPE_CHECKING:
    from edgenode.server import Answer

log = logging.getLogger("edgenode")
HOLD_MAX = 256 * 1024  # bytes of pipelined requests held while a lean request is served
FILE_CHUNK = 256 * 1024
PARSED_MAX = 1024  # remembered request heads (LeanServer.parsed_heads)
PARSED_HEAD_MAX = 2048  # longer heads are parsed every time
SETTLE_TRIES = 8  # loop iterations to wait for aiohttp to come back to idle before feeding it instead
_EMPTY_STATUS = frozenset({204, 304})
_NO_SENDFILE: dict[tuple[type, type], bool] = {}  # (loop, transport) classes without a native sendfile

AnswerFn = Callable[[LeanRequest, str], Awaitable["Answer"]]


class LeanServer(FastServer):
    """FastServer whose connections also take plain requests off aiohttp (`lean` runs one)."""

    def __init__(self, handler: Any, *, lean: AnswerFn | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.lean = lean
        # Request head bytes -> its LeanRequest (immutable: method, target, a read-only header view),
        # shared by the server's connections: a client repeats the same heads over and over.
        self.parsed_heads: dict[bytes, LeanRequest] = {}


class LeanGate:
    """First in the connection protocol's MRO (before the limits): holds incoming bytes back

    - while a lean request is being served (pipelined requests wait for its response), and
    - while aiohttp is between requests: its request loop has finished a response but not yet
      come back to wait for the next one (or has not started yet on a new connection). Bytes fed to
      aiohttp then would make it parse and serve the request; a moment later it is idle and the lean
      path can take the request. A keep-alive client that sends its next request at once would
      otherwise keep every request on aiohttp's path.
    Held bytes go through the whole protocol chain (limits first) once released, so every byte is
    seen by the limits exactly once.
    """

    def data_received(self, data: bytes) -> None:
        lean: LeanPathProtocol = self  # type: ignore[assignment]
        if lean._lean_busy or lean._lean_retry is not None:
            lean._hold(data)
            return
        if lean._aiohttp_settling():
            lean._hold(data)
            lean._lean_retry = lean._loop.call_soon(lean._release_when_settled, 0)
            return
        super().data_received(data)  # type: ignore[misc]


class LeanPathProtocol(FastPathProtocol):
    """FastPathProtocol that serves plain GET/HEAD requests itself (see the module docstring)."""

    __slots__ = ("_lean", "_lean_busy", "_lean_hold", "_lean_task", "_lean_stopping", "_lean_held_reading",
                 "_lean_limits", "_lean_retry", "_lean_peer", "_lean_parsed")

    def __init__(self, manager: LeanServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._lean = manager.lean if manager.fast.enabled else None
        self._lean_busy = False
        self._lean_hold = b""
        self._lean_task: asyncio.Task | None = None
        self._lean_stopping = False
        self._lean_held_reading = False
        self._lean_retry: asyncio.Handle | None = None
        self._lean_peer: str | None = None  # the client's address, looked up once per connection
        self._lean_parsed = manager.parsed_heads
        limits = getattr(manager, "limits", None)
        self._lean_limits = (min(limits.max_request_line, limits.max_header_size), limits.max_headers) if limits \
            else (8190, 128)

    # -- taking requests -------------------------------------------------------------------------

    def _hold(self, data: bytes) -> None:
        self._lean_hold += data
        if len(self._lean_hold) > HOLD_MAX and not self._lean_held_reading and self.transport is not None:
            self._lean_held_reading = True
            self.transport.pause_reading()

    def _aiohttp_settling(self) -> bool:
        """aiohttp's request loop is between two requests, with its parser at a message boundary."""
        return (self._waiter is None and self._lean is not None and not self._request_in_progress
                and not self._messages and self._fast_clean and not self._fast_carry
                and self._payload_parser is None and not self._upgraded and not self._close
                and not self._force_close and not self._lean_stopping and self.transport is not None)

    def _release_when_settled(self, tries: int) -> None:
        self._lean_retry = None
        if self.transport is None or self._force_close:
            self._lean_hold = b""
            return
        if self._aiohttp_settling():
            if tries < SETTLE_TRIES:
                self._lean_retry = self._loop.call_soon(self._release_when_settled, tries + 1)
                return
            self._release(past_gate=True)  # aiohttp is busy with something else: it gets the bytes
            return
        self._release()

    def _release(self, past_gate: bool = False) -> None:
        """Feed the held bytes through the protocol chain (limits first), as if they arrived now."""
        if self._lean_held_reading and self.transport is not None:
            self._lean_held_reading = False
            self.transport.resume_reading()
        held, self._lean_hold = self._lean_hold, b""
        if not held:
            return
        if past_gate and isinstance(self, LeanGate):
            super(LeanGate, self).data_received(held)  # type: ignore[misc]
        else:
            self.data_received(held)

    def _take_head(self, head: bytes, rest: bytes) -> bool:
        """Called by FastPathProtocol for a complete head it has no answer for, aiohttp being idle."""
        if self._lean is None or self._lean_stopping or self._paused:
            return False
        parsed = self._lean_parsed
        req = parsed.get(head)
        if req is None:
            req = parse_head(head, *self._lean_limits)
            if req is None:
                return False
            if len(head) <= PARSED_HEAD_MAX:
                if len(parsed) >= PARSED_MAX:
                    parsed.clear()
                parsed[head] = req
        self._lean_busy = True
        self._fast.lean_served += 1
        self._lean_hold = rest
        self._request_count += 1
        self._lean_task = self._loop.create_task(self._serve(req))
        return True

    async def _serve(self, req: LeanRequest) -> None:
        t0 = time.perf_counter()
        client_ip = self._lean_peer
        if client_ip is None:
            transport = self.transport
            peer = transport.get_extra_info("peername") if transport is not None else None
            client_ip = self._lean_peer = peer[0] if peer else "127.0.0.1"
        a: Answer | None = None
        try:
            assert self._lean is not None
            a = await self._lean(req, client_ip)
            await self._write(req.method, a)
        except Exception:
            log.exception("request %s %s failed", req.method, req.raw_path)
            self._abort()
        finally:
            self._lean_done(close=a is not None and a.close)
        if a is not None:
            log_request(req.method, a.log_path, a.resp.status, a.notes.get("sent", 0), time.perf_counter() - t0,
                        a.cache_status, a.request_id, a.site_id)

    def _lean_done(self, close: bool) -> None:
        self._lean_busy = False
        self._lean_task = None
        if self.transport is None or self._force_close or self._close:
            return
        if close:
            self._abort()
            return
        if self._keepalive_timeout > 0:
            self._next_keepalive_close_time = self._loop.time() + self._keepalive_timeout
            if self._keepalive_handle is None:
                self._keepalive_handle = self._loop.call_at(self._next_keepalive_close_time,
                                                            self._process_keepalive)
        self._release()

    def _abort(self) -> None:
        """End the connection (a refusal that closes it, or a failure mid-response)."""
        transport = self.transport
        self.force_close()
        if transport is not None:
            transport.close()

    def _process_keepalive(self) -> None:
        if self._lean_busy:  # aiohttp sees an idle connection; a lean request is being served
            self._keepalive_handle = self._loop.call_later(max(self._keepalive_timeout, 1.0), self._process_keepalive)
            return
        super()._process_keepalive()

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        self._lean_stopping = True
        task = self._lean_task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except (TimeoutError, asyncio.CancelledError):
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        await super().shutdown(timeout)

    # -- writing ----------------------------------------------------------------------------------

    def _send(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return True

    async def _drain(self) -> bool:
        """Wait while the client is not reading; False once it is gone."""
        if self._paused:
            try:
                await self._drain_helper()
            except ConnectionError:
                return False
        return self.transport is not None and not self.transport.is_closing()

    async def _write(self, method: str, a: Answer) -> None:
        resp, notes = a.resp, a.notes
        body, headers, status = resp.body, resp.headers, resp.status
        date = rfc822_formatted_time()
        empty = method == "HEAD" or status in _EMPTY_STATUS or status < 200
        if isinstance(body, bytes):
            headers.popall("Content-Length", None)  # as server._write: the length goes last, computed
            head = response_head(method, status, headers, len(body), date, SERVER_SOFTWARE, _serialize_headers,
                                 keep_alive=not a.close)
            if method != "HEAD":
                notes["sent"] = len(body)
            if empty or not body:
                self._send(head)
            elif len(body) < 65536:
                self._send(head + body)
            elif self._send(head):
                self.transport.write(body)  # type: ignore[union-attr]
            return
        if isinstance(body, FileBody):
            await self._write_file(method, status, headers, body, date, notes)
            return
        assert isinstance(body, AsyncIterable)
        try:
            cl = headers.get("Content-Length")
            length = int(cl) if cl is not None and cl.isdigit() else None
            if cl is not None and length is None:
                headers.popall("Content-Length", None)
            head = response_head(method, status, headers, length, date, SERVER_SOFTWARE, _serialize_headers)
            if empty:
                self._send(head)
                return
            chunked = length is None
            if chunked and not self._send(head):  # a stream of unknown length: the head goes out at once
                return
            pending = b"" if chunked else head  # a known length: the head goes out with the first chunk
            sent = 0
            async for chunk in body:
                if not chunk:
                    continue
                sent += len(chunk)
                data = chunk_frame(chunk) if chunked else chunk
                if pending:
                    data, pending = pending + data, b""
                if not self._send(data) or not await self._drain():
                    notes["sent"] = sent
                    return  # the client went away mid-body
            notes["sent"] = sent
            tail = pending + LAST_CHUNK if chunked else pending  # pending: the head of an empty body
            if tail:
                self._send(tail)
        finally:
            # A client that went away (or HEAD) must release the source now (an upstream connection,
            # a function's stream), not whenever the garbage collector gets to the generator.
            closer = getattr(body, "aclose", None)
            if closer is not None:
                await closer()

    async def _write_file(self, method: str, status: int, headers: Any, body: FileBody, date: str,
                          notes: dict) -> None:
        fh = open(body.path, "rb")  # noqa: SIM115 - closed below, after the last write
        try:
            status, body = checked_file(fh, status, headers, body)
            headers["Content-Length"] = str(body.length)
            head = response_head(method, status, headers, body.length, date, SERVER_SOFTWARE, _serialize_headers)
            if not self._send(head) or method == "HEAD":
                return
            try:
                if await send_file(self.transport, fh, body, self._write_chunk):
                    notes["sent"] = body.length
            except ConnectionError:
                return
        finally:
            fh.close()

    async def _write_chunk(self, data: bytes) -> bool:
        return self._send(data) and await self._drain()


async def send_file(transport: Any, fh: Any, body: FileBody, write: Callable[[bytes], Awaitable[bool]]) -> bool:
    """Send `body` of the open file: native sendfile where the loop and transport have it, else
    chunks read off the loop and passed to `write` (False: the client is gone). Both the aiohttp
    writer (server.py) and the lean path send files through this."""
    loop = asyncio.get_running_loop()
    if body.length and transport is not None and not _NO_SENDFILE.get((type(loop), type(transport))):
        try:
            await loop.sendfile(transport, fh, body.offset, body.length, fallback=False)
            return True
        except (NotImplementedError, RuntimeError, AttributeError):
            # This loop (uvloop) or transport (TLS) has no native sendfile: read and write chunks.
            _NO_SENDFILE[(type(loop), type(transport))] = True
    async with aclosing(file_chunks(fh, body.offset, body.length, FILE_CHUNK)) as chunks:
        async for chunk in chunks:
            if not await write(chunk):
                return False
    return True
