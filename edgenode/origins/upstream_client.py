"""A lean HTTP/1.1 client for the proxy: pooled keep-alive connections, bodies streamed both ways.

Why not aiohttp's ClientSession: per request it does a lot the proxy never needs (cookie jar, auto
headers, tracing, redirect machinery), and that cost was most of a proxied request's CPU. This
client writes the request head itself and parses the response with httptools (llhttp), with
back-pressure both ways: the upload waits for the socket to drain, the download pauses reading
while the consumer lags. WebSocket upgrades still go through aiohttp (see proxy.py).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import httptools
from multidict import CIMultiDict
from yarl import URL

HIGH_WATER = 256 * 1024  # pause reading the upstream when this much body is unconsumed
LOW_WATER = 64 * 1024
# httptools bounds neither: an upstream sending thousands of headers or a 1 MB header line would
# have them relayed to the client. Same bounds as for client requests (limits.py).
MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
KEEPALIVE_SECONDS = 60.0
MAX_IDLE_PER_HOST = 256
# RFC 9110 7.6.1 hop-by-hop headers: never relayed by a proxy (nor Proxy-* ones).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "proxy-connection"})


class UpstreamConnectError(Exception):
    """Could not connect: refused, unreachable, unresolvable, TLS failure."""


class UpstreamTimeout(Exception):
    """Connect, first byte or an idle gap took longer than allowed."""


class UpstreamBroken(Exception):
    """The connection broke or the upstream sent something that is not HTTP."""


def _clean(value: str) -> str:
    # Header injection guard: a value never carries a line break onto the wire.
    return value.replace("\r", "").replace("\n", "") if ("\r" in value or "\n" in value) else value


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.last_used = time.monotonic()
        self._reset()
        self._drain: asyncio.Future[None] | None = None
        self._paused = False
        # The read timeout: one timer per connection, cancelled lazily (see within()).
        self._timer: asyncio.TimerHandle | None = None
        self._awaited: tuple[asyncio.Future[None], float, float, str] | None = None  # future, deadline, seconds, what

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        # Sorted as they arrive (the callback runs per header anyway): what a proxy may relay, and
        # the values of Connection headers, which may name more headers not to relay.
        self.end_to_end: list[tuple[str, str]] = []
        self.connection: list[str] = []
        self.header_bytes = 0
        self.framed = False  # a Content-Length or Transfer-Encoding header came
        self.head_done: asyncio.Future[None] = self.loop.create_future()
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.complete = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.head_only = False
        self.keep_alive = False
        self.close_delimited = False
        self._informational = False
        self._reading_paused = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # the proxy never asks for an upgrade on this path
        except httptools.HttpParserError as e:
            self._fail(UpstreamBroken(f"invalid HTTP from upstream: {e}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.close_delimited and exc is None and self.head_done.done():
            self.complete = True  # httptools cannot be told about EOF: the close ends the body
            self._wake()
        elif not self.complete:
            self._fail(UpstreamBroken(f"upstream closed the connection{f': {exc}' if exc else ''}"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(UpstreamBroken("upstream closed the connection"))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if len(self.headers) >= MAX_HEADERS or self.header_bytes > MAX_HEADER_BYTES:
            # Raised inside a parser callback: httptools stops and data_received reports it.
            raise UpstreamBroken("upstream response headers too large")
        pair = (key := name.decode("latin-1"), val := value.decode("latin-1"))
        self.headers.append(pair)
        lk = key.lower()
        if lk in HOP_BY_HOP or lk.startswith("proxy-"):
            if lk == "connection":
                self.connection.append(val)
            elif lk == "transfer-encoding":
                self.framed = True
        else:
            self.end_to_end.append(pair)
            if lk == "content-length":
                self.framed = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._informational = True  # 100 Continue, 103 Early Hints: wait for the real answer
            self.headers = []
            self.end_to_end = []
            self.connection = []
            self.framed = False
            return
        self.status = status
        # Asked now: once the message is complete the parser has reset and no longer knows.
        self.keep_alive = self.parser.should_keep_alive()
        # No length and not chunked: the body ends when the upstream closes (RFC 9112 6.3 rule 8).
        self.close_delimited = not self.framed and status not in (204, 304) and not self.head_only
        if not self.head_done.done():
            self.head_done.set_result(None)

    def on_body(self, data: bytes) -> None:
        self.body.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._wake()

    # -- helpers -------------------------------------------------------------------------------

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if not self.head_done.done():
            self.head_done.set_exception(exc)
            self.head_done.exception()  # retrieved: nobody may be waiting any more
        self._wake()

    async def drain(self) -> None:
        if self.closed:
            raise UpstreamBroken("upstream closed the connection")
        if self._paused:
            self._drain = self.loop.create_future()
            await self._drain

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise UpstreamBroken("upstream closed the connection")
        self.transport.write(data)

    def take(self) -> bytes | None:
        if not self.body:
            return None
        chunk = self.body.popleft()
        self.buffered -= len(chunk)
        if self._reading_paused and self.buffered < LOW_WATER and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return (self.complete and not self.closed and not self.head_only and self.error is None
                and self.keep_alive)

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()

    async def within(self, fut: asyncio.Future[None], seconds: float, what: str) -> None:
        """Await `fut`, failing it with UpstreamTimeout after `seconds`.

        A pooled connection waits once or twice per request: rather than scheduling and cancelling
        a timer each time, one timer runs on and, when it fires, re-arms for the wait in progress.
        """
        if fut.done():
            return fut.result()
        loop = self.loop
        self._awaited = (fut, loop.time() + seconds, seconds, what)
        if self._timer is None:
            self._timer = loop.call_later(seconds, self._expire)
        try:
            await fut
        finally:
            self._awaited = None

    def _expire(self) -> None:
        self._timer = None
        awaited = self._awaited
        if awaited is None or self.closed:
            return
        fut, deadline, seconds, what = awaited
        left = deadline - self.loop.time()
        if left > 0:
            self._timer = self.loop.call_later(left, self._expire)
        elif not fut.done():
            fut.set_exception(UpstreamTimeout(f"{what} within {seconds:g} s"))


class UpstreamResponse:
    """Status and headers are in; the body is read with `read()` or `chunks()` (never both)."""

    def __init__(self, pool: UpstreamPool, key: tuple, conn: _Connection, read_timeout: float,
                 writer: asyncio.Task[None] | None) -> None:
        self._pool = pool
        self._key = key
        self._conn: _Connection | None = conn
        self._read_timeout = read_timeout
        self._writer = writer
        self.status = conn.status
        self.raw_headers: list[tuple[str, str]] = conn.headers  # as they came, in order
        self.end_to_end = conn.end_to_end  # without hop-by-hop and Proxy-* ones
        self.connection = conn.connection  # values of the Connection headers
        self._headers: CIMultiDict[str] | None = None
        self.content_length: int | None = None
        if conn.framed:
            for k, v in conn.headers:
                if len(k) == 14 and k.lower() == "content-length":
                    self.content_length = int(v) if v.isdigit() else None
                    break

    @property
    def headers(self) -> CIMultiDict[str]:
        if self._headers is None:
            self._headers = CIMultiDict(self.raw_headers)
        return self._headers

    async def chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                chunk = conn.take()
                if chunk is not None:
                    yield chunk
                    continue
                if conn.complete or conn.head_only:
                    break
                if conn.error is not None:
                    raise conn.error
                conn.waiter = conn.loop.create_future()
                await conn.within(conn.waiter, self._read_timeout, "no body bytes")
        finally:
            self.release()

    async def read(self) -> bytes:
        conn = self._conn
        if conn is not None and conn.complete and conn.error is None:
            # The whole body is in already (the common case for small answers): no generator.
            parts = []
            while (chunk := conn.take()) is not None:
                parts.append(chunk)
            self.release()
            return b"".join(parts)
        return b"".join([c async for c in self.chunks()])

    def release(self) -> None:
        """Back to the pool when the exchange finished cleanly; closed otherwise."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        writer_done = self._writer is None or (self._writer.done() and not self._writer.cancelled()
                                               and self._writer.exception() is None)
        if conn.reusable() and writer_done:
            self._pool._put(self._key, conn)
        else:
            if self._writer is not None and not self._writer.done():
                self._writer.cancel()
            conn.close()


class UpstreamPool:
    """Keep-alive connections per (scheme, host, port); one request at a time per connection."""

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: dict[tuple, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    def _put(self, key: tuple, conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= MAX_IDLE_PER_HOST:
            conn.close()
            return
        conn.last_used = time.monotonic()
        conn._reset()
        idle.append(conn)

    def _get_idle(self, key: tuple) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.last_used < KEEPALIVE_SECONDS:
                return conn
            conn.close()
        return None

    async def _connect(self, scheme: str, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        ctx = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ctx = self._ssl
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop), host, port, ssl=ctx,
                                       server_hostname=host if ctx else None),
                self.connect_timeout)
        except TimeoutError:
            raise UpstreamTimeout(f"no connection within {self.connect_timeout:g} s") from None
        except (OSError, ssl.SSLError) as e:
            raise UpstreamConnectError(str(e) or e.__class__.__name__) from e
        return conn

    async def request(self, method: str, url: URL | str, headers: Any, body: AsyncIterator[bytes] | None,
                      ) -> UpstreamResponse:
        """`headers`: a multidict or a list of (name, value) pairs; Host and framing are computed here."""
        scheme, host, port, authority, path_qs = _endpoint(url) if isinstance(url, str) else _split(url)
        key = (scheme, host, port)
        lines = [f"{method} {path_qs} HTTP/1.1", f"Host: {authority}"]
        length = None
        for k, v in headers.items() if hasattr(headers, "items") else headers:
            lk = k.lower()
            if lk == "content-length":
                length = length or v
            elif lk != "host" and lk != "transfer-encoding":
                lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {length}" if length and length.isdigit() else "Transfer-Encoding: chunked")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        text = "\r\n".join(lines)
        if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
            # A header with a line break (checked on the whole head at once): clean each line.
            text = "\r\n".join([_clean(line) for line in lines])
        head = (text + "\r\n\r\n").encode("latin-1", "replace")
        chunked = body is not None and not (length and length.isdigit())

        # A pooled connection may have been closed by the upstream a moment ago: retry once on a
        # fresh one, but only when nothing of the request body could have been consumed.
        for attempt in (0, 1):
            conn = self._get_idle(key) if attempt == 0 else None
            fresh = conn is None
            if conn is None:
                conn = await self._connect(scheme, host, port)
            conn.head_only = method == "HEAD"
            writer: asyncio.Task[None] | None = None
            try:
                conn.write(head)
                if body is not None:
                    writer = asyncio.ensure_future(_send_body(conn, body, chunked))
                    await asyncio.wait({writer, conn.head_done}, return_when=asyncio.FIRST_COMPLETED)
                    if writer.done() and writer.exception() is not None and not conn.head_done.done():
                        raise writer.exception()  # type: ignore[misc]
                await conn.within(conn.head_done, self.read_timeout, "no response")
            except UpstreamBroken:
                if writer is not None and not writer.done():
                    writer.cancel()
                conn.close()
                if fresh or body is not None:
                    raise
                continue
            except BaseException:
                if writer is not None and not writer.done():
                    writer.cancel()
                conn.close()
                raise
            return UpstreamResponse(self, key, conn, self.read_timeout, writer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _split(url: URL) -> tuple[str, str, int, str, str]:
    """scheme, host, port, Host header value and request target of an absolute http(s) URL."""
    scheme = url.scheme
    if scheme not in ("http", "https") or not url.raw_host:
        raise UpstreamConnectError(f"not an http(s) URL: {url}")
    host = url.raw_host
    port = url.port or (443 if scheme == "https" else 80)
    authority = f"[{host}]" if ":" in host else host
    if url.explicit_port is not None:
        authority += f":{url.explicit_port}"
    return scheme, host, port, authority, url.raw_path_qs or "/"


@lru_cache(maxsize=1024)
def _endpoint(url: str) -> tuple[str, str, int, str, str]:
    # A proxy rule asks the same few URLs over and over: parse each once (yarl costs microseconds).
    return _split(URL(url))


async def _send_body(conn: _Connection, body: AsyncIterator[bytes], chunked: bool) -> None:
    async for chunk in body:
        if not chunk:
            continue
        if chunked:
            conn.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        else:
            conn.write(chunk)
        await conn.drain()
    if chunked:
        conn.write(b"0\r\n\r\n")
