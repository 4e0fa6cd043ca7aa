"""Connection limits and slow-client timeouts around aiohttp's low-level server.

aiohttp bounds one header field and the number of headers, and closes idle keep-alive connections,
but it has no header read timeout (a client may trickle headers one byte a second for as long as
the keep-alive timer allows), no bound on the whole header block, no 414/431 distinction, no body
read timeout and no cap on open connections. GuardedServer / GuardedProtocol add those:

- header timeout: from a connection's first moment (or a keep-alive request's first byte) until its
  headers are complete; then 408 and close (a silent close when nothing at all arrived);
- request line longer than max_request_line: 414; header block over max_header_bytes, one field
  over max_header_size or more than max_headers fields: 431;
- body timeout: a request body that stalls for body_timeout between chunks (see `body_chunks`) ends
  the request with 408; a body nobody reads is drained for at most body_timeout after the response;
- max_connections (default: from RLIMIT_NOFILE, keeping a reserve of descriptors for files, logs
  and upstream sockets): a connection beyond it gets 503 and is closed, instead of the node
  running out of descriptors.

A rejected connection gets a complete response, then a half-close; it is closed for good a moment
later so the client reads the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, _ErrInfo

log = logging.getLogger("edgenode")

REJECT_LINGER = 1.0  # seconds a rejected connection stays half-open so the client reads the answer


@dataclass(frozen=True, slots=True)
class Limits:
    """The connection limits of one server; the defaults are ServeOptions' (one place for them)."""

    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_request_line: int
    max_header_size: int
    max_header_bytes: int
    max_headers: int
    max_connections: int  # 0: derived from RLIMIT_NOFILE

    @classmethod
    def from_options(cls, options: Any = None) -> Limits:
        if options is None:
            from edgenode.options import ServeOptions

            options = ServeOptions()
        return cls(**{f.name: getattr(options, f.name) for f in fields(cls)})

    def connection_cap(self) -> int:
        """Open connections allowed: explicit, or the descriptor limit minus a reserve."""
        if self.max_connections > 0:
            return self.max_connections
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 1_000_000
        reserve = min(1024, max(32, soft // 4))
        return max(16, soft - reserve)


class UnsupportedVersion(BadHttpMessage):
    code = 505


class BodyTimeout(Exception):
    """The client stopped sending its request body."""


async def body_chunks(content: StreamReader, idle_timeout: float) -> AsyncIterator[bytes]:
    """A request body as chunks; raises BodyTimeout when no byte arrives for idle_timeout seconds."""
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await content.readany()
        except TimeoutError:
            raise BodyTimeout(f"no request body bytes for {idle_timeout:g}s") from None
        if not chunk:
            return
        yield chunk


def plain_response(status: int, reason: str = "") -> bytes:
    """A complete HTTP/1.1 response that closes the connection (written straight to the transport)."""
    phrase = HTTPStatus(status).phrase
    body = f"{phrase}: {reason}\n".encode() if reason else f"{phrase}\n".encode()
    head = (f"HTTP/1.1 {status} {phrase}\r\nServer: Netlify\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class GuardedServer(web.Server):
    """web.Server whose connections are GuardedProtocols; counts what it refused (for tests and metrics)."""

    def __init__(self, handler: Any, limits: Limits, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", limits.keepalive_timeout)
        kwargs.setdefault("lingering_time", limits.body_timeout)
        kwargs.setdefault("max_line_size", limits.max_request_line)
        kwargs.setdefault("max_field_size", limits.max_header_size)
        kwargs.setdefault("max_headers", limits.max_headers)
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.cap = limits.connection_cap()
        self.open_connections = 0
        self.lingering = 0  # refused or rejected connections still half-open (see _answer_and_close)
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        reserve = soft - self.cap if soft != resource.RLIM_INFINITY and soft > self.cap else 128
        self.linger_budget = max(4, min(32, reserve // 4))
        self.rejected: Counter[int] = Counter()  # status -> count (408, 414, 431, 503)

    def __call__(self) -> RequestHandler:
        return GuardedProtocol(self, loop=self._loop, **self._kwargs)


class GuardedProtocol(RequestHandler):
    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = manager
        self._limits = manager.limits
        self._refused = False
        self._counted = False
        self._hdr_timer: asyncio.TimerHandle | None = None
        self._hdr_since: float | None = None  # loop time the current header wait began; None: not waiting
        self._hdr_bytes = 0  # bytes of the header block being received
        self._hdr_tail = b""  # its last 3 bytes, to find a CRLFCRLF split across reads
        self._line_bytes = 0  # bytes of its request line so far
        self._line_done = False
        self._line_done_at_error = False  # whether a refused request got past its request line
        self._got_bytes = False
        self._last_payload: StreamReader | None = None

    # -- connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        g = self._guard
        if g.open_connections >= g.cap:
            self._refused = True
            g.rejected[503] += 1
            # Lingering refused sockets hold descriptors too: only a few at a time, so a flood of
            # connections cannot eat the reserve the cap exists to keep.
            linger = g.lingering < g.linger_budget
            if linger:
                g.lingering += 1
            _answer_and_close(transport, plain_response(503, "too many connections"), self._loop,  # type: ignore[arg-type]
                              g if linger else None)
            return
        g.open_connections += 1
        self._counted = True
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        if self._counted:
            self._counted = False
            self._guard.open_connections -= 1
        self._disarm(stop=True)
        super().connection_lost(exc)

    # -- header phase ------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused or self._force_close or self._close:
            return
        lp = self._last_payload
        # Only the header block of a request that nothing else is waiting on is guarded here;
        # pipelined requests behind a busy one are still bounded by aiohttp's per-field limits.
        guarded = (lp is None or lp.is_eof()) and not self._request_in_progress and not self._messages
        if guarded:
            if self._hdr_since is None:
                self._arm()
            self._got_bytes = True
            if not self._line_done:
                i = data.find(b"\n")
                self._line_bytes += len(data) if i < 0 else i
                if self._line_bytes > self._limits.max_request_line:
                    self._reject(414, "request line too long")
                    return
                self._line_done = i >= 0
            # The header block ends at the first CRLFCRLF (it may straddle two reads).
            end = (self._hdr_tail + data).find(b"\r\n\r\n")
            size = self._hdr_bytes + (len(data) if end < 0 else end - len(self._hdr_tail))
            if size > self._limits.max_header_bytes:
                self._reject(431, "request headers too large")
                return
            self._hdr_bytes = size
            self._hdr_tail = (self._hdr_tail + data)[-3:]
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # headers complete (or refused by the parser)
            self._check_versions()
            self._last_payload = self._messages[-1][1] if self._messages else None
            self._line_done_at_error = self._line_done
            self._disarm()
            self._hdr_bytes = self._line_bytes = 0
            self._hdr_tail = b""
            self._line_done = self._got_bytes = False

    def _check_versions(self) -> None:
        """llhttp accepts HTTP/0.9 and any d.d version; answering those would put "HTTP/2.0 200" on an
        HTTP/1 connection. Replace such messages with a parser error (505) before they are handled."""
        msgs = self._messages
        for i, (msg, _payload) in enumerate(msgs):
            version = getattr(msg, "version", None)
            if version is not None and tuple(version) not in ((1, 1), (1, 0)):
                exc = UnsupportedVersion(message=f"HTTP/{version[0]}.{version[1]} is not supported")
                msgs[i] = (_ErrInfo(status=505, exc=exc, message=exc.message), EMPTY_PAYLOAD)

    # The header timer is cancelled lazily: a request's headers usually arrive at once, and
    # scheduling and cancelling a timer for each request on a keep-alive connection cost more than
    # letting one timer run on and, when it fires, re-arm for whatever wait is in progress then.
    def _arm(self) -> None:
        if self._limits.header_timeout > 0:
            self._hdr_since = self._loop.time()
            if self._hdr_timer is None:
                self._hdr_timer = self._loop.call_later(self._limits.header_timeout, self._header_timeout)

    def _disarm(self, stop: bool = False) -> None:
        self._hdr_since = None
        if stop and self._hdr_timer is not None:
            self._hdr_timer.cancel()
            self._hdr_timer = None

    def _header_timeout(self) -> None:
        self._hdr_timer = None
        since = self._hdr_since
        if since is None:
            return  # no header wait in progress
        left = since + self._limits.header_timeout - self._loop.time()
        if left > 0:  # this wait began after the one the timer was set for
            self._hdr_timer = self._loop.call_later(left, self._header_timeout)
            return
        if self.transport is None or self._force_close or self._close:
            return
        lp = self._last_payload
        if self._request_in_progress or self._messages or (lp is not None and not lp.is_eof()):
            self._arm()  # a request is being served or its body read: its own timeouts apply
            return
        if self._got_bytes:
            self._reject(408, "request headers not received in time")
        else:
            self._guard.rejected[408] += 1
            self.force_close()  # nothing was sent at all: just close

    def _reject(self, status: int, reason: str) -> None:
        self._guard.rejected[status] += 1
        self._disarm(stop=True)
        transport = self.transport
        # Stop aiohttp's request loop without closing the socket: _answer_and_close does that.
        self.transport = None
        self.force_close()
        if transport is not None:
            g = self._guard
            linger = g.lingering < g.linger_budget
            if linger:
                g.lingering += 1
            _answer_and_close(transport, plain_response(status, reason), self._loop,  # type: ignore[arg-type]
                              g if linger else None)

    # -- errors from aiohttp's parser --------------------------------------------------------

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A clean answer to a request the parser refused: no traceback in the log, no echo of the input."""
        if exc is None or not isinstance(exc, BadHttpMessage):
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, LineTooLong):
            status = 431 if self._line_done_at_error else 414
        elif "Too many headers" in str(exc):
            status = 431
        self._guard.rejected[status] += 1
        log.debug("refused a malformed request from %s: %s", request.remote, exc)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        phrase = HTTPStatus(status).phrase
        resp = web.Response(status=status, text=f"{phrase}\n", content_type="text/plain",
                            headers={"Server": "Netlify", "Cache-Control": "no-store"})
        resp.force_close()
        return resp

    async def _handle_request(self, request: Any, start_time: Any, request_handler: Any) -> Any:
        result = await super()._handle_request(request, start_time, request_handler)
        # An Upgrade request answered with anything but a switch leaves the parser in "upgraded"
        # mode, where later bytes are never parsed: end the connection instead of stalling it.
        if self._upgraded and self._payload_parser is None:
            self._close = True
        return result


def _answer_and_close(transport: asyncio.Transport, response: bytes, loop: asyncio.AbstractEventLoop,
                      linger_for: GuardedServer | None) -> None:
    """Write a final response and end the connection.

    With linger_for: half-close, keep reading (and discarding) for REJECT_LINGER, then close, so the
    client reads the answer instead of a reset. Without: discard what already arrived, then close.
    """
    try:
        if linger_for is None:
            _discard_pending(transport)
            transport.write(response)
            transport.close()
            return
        transport.write(response)
        if transport.can_write_eof():
            transport.write_eof()

            def close() -> None:
                linger_for.lingering -= 1
                transport.close()

            loop.call_later(REJECT_LINGER, close)
        else:  # pragma: no cover - TLS transports cannot half-close
            linger_for.lingering -= 1
            transport.close()
    except (OSError, RuntimeError):
        transport.abort()


def _discard_pending(transport: asyncio.Transport) -> None:
    """Read what the client already sent, so closing does not turn into a reset that eats the answer."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        while sock.recv(65536, socket.MSG_DONTWAIT):
            pass
    except Exception:  # BlockingIOError when drained; uvloop's pseudo-socket may refuse recv
        pass
