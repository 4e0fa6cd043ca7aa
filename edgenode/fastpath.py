"""Fast path: answer a repeated request from prepared bytes, without running aiohttp or the pipeline.

How it stays exactly the slow path's answer:
- The slow path (server.py) *remembers* a response only when it is a pure function of the request
  bytes and of data that the fast path re-checks on every use: a cache hit (the same CacheEntry, still
  in the cache, still fresh, same deploy) or a redirect (same deploy). Anything that could make two
  identical requests differ (an edge handler on the site, a JWT, GeoIP by client address, streamed
  or file bodies, HTTP/1.0, Connection: close, TLS) is never remembered.
- The key is the request head exactly as it came off the wire (request line and header lines,
  rebuilt from what aiohttp parsed), so a request takes the fast path only if it is byte-for-byte a
  request the slow path has already answered. Any other request goes to aiohttp untouched.
- The prepared bytes are what aiohttp would write for that response (same header order, same
  serializer), with the per-request headers (X-Nf-Request-Id, Age, Date) filled in per request.
- A connection answers from the fast path only while aiohttp's side of it is idle at a message
  boundary (nothing queued, nothing being handled, no partial request in its parser), so responses
  on a keep-alive or pipelined connection always leave in request order; flow control stays with
  aiohttp (a client that stops reading gets its next requests through aiohttp, which waits for it).
"""

from __future__ import annotations

import logging
import random
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict

from edgenode import accesslog
from edgenode.cache_phase import STATUS_HIT
from edgenode.handlers.phase import handlers_involved
from edgenode.leanpath import response_head

try:  # the serializer aiohttp itself uses, so the bytes are the same
    from aiohttp.http_writer import _serialize_headers
except ImportError:  # pragma: no cover - older aiohttp
    def _serialize_headers(status_line: str, headers: CIMultiDict[str]) -> bytes:
        return (status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()

if TYPE_CHECKING:
    from edgenode.exchange import EdgeResponse, Exchange
    from edgenode.node import EdgeNode
    from edgenode.sites import SiteHolder

log = logging.getLogger("edgenode")
KEY_MAX = 2048  # longer request heads are never remembered
INDEX_MAX = 4096  # remembered request heads; the oldest is forgotten first ...
INDEX_MAX_BYTES = 8 * 1024 * 1024  # ... also when their keys, heads and redirect bodies pass this
REDIRECT_BODY_MAX = 1024
_SCAN_MAX = 64 * 1024  # a partial head longer than this stops the boundary tracking of a connection
# Per-request headers: their values are filled in for every answer.
_RID, _AGE, _DATE = "@@edgenode-rid@@", "@@edgenode-age@@", "@@edgenode-date@@"
_SLOTS = {_RID.encode(): 0, _AGE.encode(): 1, _DATE.encode(): 2}
_ALL_SLOTS = (0, 1, 2)
_getrandbits = random.getrandbits


@dataclass(slots=True, eq=False)
class FastReply:
    holder: SiteHolder
    site: Any  # weakref to the deploy it was made from (a reload makes the reply stale)
    template: bytes  # status line + headers, `%b` where a per-request value goes
    order: tuple[int, ...]  # which value each `%b` takes: 0 request id, 1 Age, 2 Date
    cache_key: tuple | None  # (primary, secondary) of the cache entry; None: a redirect
    entry: Any  # weakref to the CacheEntry (so this index never keeps an evicted entry alive)
    body_of: str  # where the body comes from: "body", a coding in entry.encoded, "none", "own"
    body: bytes  # the body itself when body_of == "own" (small redirect bodies)
    method: str
    path: str  # for the access log
    status: int
    cache_status: str
    size: int  # bytes this reply holds (key, head, own body), for INDEX_MAX_BYTES


class FastIndex:
    """Request head bytes -> FastReply, bounded by INDEX_MAX."""

    def __init__(self, node: EdgeNode, enabled: bool = True) -> None:
        self.node = node
        self.enabled = enabled
        self.replies: dict[bytes, FastReply] = {}
        self.bytes = 0
        self.served = 0  # answers from remembered bytes
        self.lean_served = 0  # requests served by the lean path (leanconn.py)
        # Whether access lines are written, fixed at start like the logging setup (no formatting otherwise).
        self.log_access = not accesslog.access.disabled and bool(accesslog.access.handlers)

    # -- remembering (slow path) ---------------------------------------------------------------------

    def remember(self, request: web.BaseRequest, ex: Exchange, resp: EdgeResponse) -> None:
        """Called by the slow path with the final response, before it is written. Never raises."""
        try:
            self._remember(request, ex, resp)
        except Exception:  # the fast path is an optimisation: a failure here must not cost the answer
            log.exception("fast path: could not remember %s %s", request.method, request.raw_path)

    def _remember(self, request: web.BaseRequest, ex: Exchange, resp: EdgeResponse) -> None:
        # Cheapest refusals first: most answers that are not hits or redirects stop here.
        if (not self.enabled or (ex.cache_status != STATUS_HIT and resp.kind != "redirect")
                or type(resp.body) is not bytes or request.method not in ("GET", "HEAD")):
            return
        if request.version != HttpVersion11 or not request.keep_alive or request.secure:
            return
        if handlers_involved(ex) or ex.identity is not None or self.node.options.geoip_db:
            return
        headers = request.headers
        if "Authorization" in headers or "nf_jwt" in headers.get("Cookie", ""):
            return
        entry = ex.cache_entry
        body = resp.body
        if ex.cache_status == STATUS_HIT and entry is not None and "cache_key" in ex.notes:
            body_of = _body_source(entry, body, request.method)
            if body_of is None:
                return  # a slice (range) or a transformed body: not kept
            cache_key, ref, own = ex.notes["cache_key"], weakref.ref(entry), b""
        elif resp.kind == "redirect" and entry is None and len(body) <= REDIRECT_BODY_MAX:
            body_of = "none" if request.method == "HEAD" else "own"
            cache_key, ref, own = None, None, body if request.method != "HEAD" else b""
        else:
            return
        head = _request_head(request)
        if head is None or not _bodyless_get(head[:-2]) or request.body_exists:
            return
        holder = next((h for h in self.node.sites.holders if h.site is ex.site), None)
        if holder is None:
            return
        template, order = _response_template(request.method, resp, len(body))
        raw_path = request.raw_path.partition("?")[0]
        reply = FastReply(holder, weakref.ref(ex.site), template, order, cache_key, ref, body_of, own,
                          request.method, raw_path, resp.status, ex.cache_status,
                          2 * len(head) + len(template) + len(own) + 200)
        self._forget(head)
        replies = self.replies
        while replies and (len(replies) >= INDEX_MAX or self.bytes + reply.size > INDEX_MAX_BYTES):
            self._forget(next(iter(replies)))
        replies[head] = reply
        self.bytes += reply.size

    def _forget(self, head: bytes) -> None:
        old = self.replies.pop(head, None)
        if old is not None:
            self.bytes -= old.size

    # -- answering (fast path) -----------------------------------------------------------------------

    def answer(self, proto: FastPathProtocol, head: bytes, reply: FastReply) -> bool:
        """Write the answer for one remembered request; False: not valid any more, take the slow path."""
        t0 = time.perf_counter() if self.log_access else 0.0
        site = reply.holder.site
        if site is not reply.site():
            self._forget(head)
            return False
        age = b""
        if reply.cache_key is not None:
            entry = reply.entry()
            if entry is None or self.node.cache.get(*reply.cache_key) is not entry:
                self._forget(head)
                return False
            now = time.monotonic()
            if not entry.fresh(now):
                return False
            body_of = reply.body_of
            if body_of == "body":
                body = entry.body
            elif body_of == "none":
                body = b""
            else:
                body = entry.encoded.get(body_of)
                if body is None:
                    return False
            age = str(int(now - entry.stored_at)).encode()
        else:
            body = reply.body
        rid = b"%026X" % _getrandbits(104)  # same shape as Exchange.request_id, without a syscall
        date = rfc822_formatted_time().encode()
        order = reply.order
        if order is _ALL_SLOTS:
            out = reply.template % (rid, age, date)
        else:
            values = (rid, age, date)
            out = reply.template % tuple(values[i] for i in order)
        transport = proto.transport
        assert transport is not None
        self.served += 1
        if len(body) < 65536:
            transport.write(out + body)
        else:
            transport.writelines((out, body))
        if self.log_access:
            accesslog.log_request(reply.method, reply.path, reply.status, len(body), time.perf_counter() - t0,
                                  reply.cache_status, rid.decode(), site.site_id)
        return True


def _body_source(entry: Any, body: bytes, method: str) -> str | None:
    if method == "HEAD" or not body:
        return "none"
    if body is entry.body:
        return "body"
    return next((c for c, v in entry.encoded.items() if v is body), None)


def _request_head(request: web.BaseRequest) -> bytes | None:
    """The request line and headers as the client sent them (aiohttp keeps names and values as received)."""
    target = request.raw_path
    if not target.startswith("/") or not target.isascii():
        return None  # absolute-form and non-ASCII targets are rare: left to the slow path
    parts = [f"{request.method} {target} HTTP/1.1\r\n".encode()]
    for name, value in request.raw_headers:
        parts.append(name + b": " + value + b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    return head if len(head) <= KEY_MAX else None


def _response_template(method: str, resp: EdgeResponse, body_len: int) -> tuple[bytes, tuple[int, ...]]:
    """The head aiohttp writes for this response from server._write (web.Response), with placeholders
    for the per-request values (leanpath.response_head mirrors aiohttp's header preparation)."""
    h: CIMultiDict[str] = CIMultiDict(resp.headers)
    h.popall("Content-Length", None)
    if "X-Nf-Request-Id" in h:
        h["X-Nf-Request-Id"] = _RID
    if "Age" in h:
        h["Age"] = _AGE
    raw = response_head(method, resp.status, h, body_len, _DATE, SERVER_SOFTWARE, _serialize_headers)
    raw = raw.replace(b"%", b"%%")
    # `%b` placeholders, and which per-request value each takes, in the order they appear.
    found = sorted((raw.index(token), slot) for token, slot in _SLOTS.items() if token in raw)
    for token in _SLOTS:
        raw = raw.replace(token, b"%b")
    order = tuple(slot for _, slot in found)
    return raw, _ALL_SLOTS if order == _ALL_SLOTS else order


# -- the connection side -------------------------------------------------------------------------------------


def _bodyless_get(head: bytes) -> bool:
    """A GET/HEAD head that aiohttp's parser frames exactly like us: no body, no upgrade, CRLF only."""
    if not head.startswith((b"GET ", b"HEAD ")) or head.count(b"\n") != head.count(b"\r\n"):
        return False
    low = head.lower()
    return b"\ncontent-length:" not in low and b"\ntransfer-encoding:" not in low and b"\nupgrade:" not in low


class FastPathProtocol(RequestHandler):
    """aiohttp's connection protocol, answering remembered requests itself while aiohttp is idle.

    Written to sit *under* other protocol subclasses that watch the bytes (header timeouts, size
    limits): `class P(GuardedProtocol, FastPathProtocol)` lets the outer class see every byte first,
    then this one answers what it can and passes the rest on to aiohttp. Each fast answer counts in
    `_request_count` exactly like a request aiohttp parsed, so an outer class that treats a change
    of that counter as "a request head completed" (and disarms its header timer) keeps working.
    The server class must then hand out the combined protocol from `__call__` and pass `fast=`
    through to FastServer (`class S(GuardedServer, FastServer)`).
    """

    __slots__ = ("_fast", "_fast_clean", "_fast_carry")

    def __init__(self, manager: FastServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._fast = manager.fast
        self._fast_clean = True  # aiohttp's parser is at a message boundary (as far as we fed it)
        self._fast_carry = b""  # tail of a partial head fed to aiohttp, for boundary tracking

    def data_received(self, data: bytes) -> None:
        if (self._fast_clean and not self._fast_carry and self._waiter is not None and not self._messages
                and self._payload_parser is None and not self._upgraded and not self._close
                and not self._force_close and not self._paused and self.transport is not None):
            replies = self._fast.replies
            pos, n = 0, len(data)
            while pos < n:
                # A partial head (split across reads) goes to aiohttp like anything else unknown.
                end = data.find(b"\r\n\r\n", pos, pos + KEY_MAX + 4)
                if end < 0:
                    break
                end += 4
                head = data[pos:end]
                reply = replies.get(head)
                if reply is None or not self._fast.answer(self, head, reply):
                    if self._take_head(head, data[end:]):
                        return  # a subclass serves it (and holds the rest of the bytes until then)
                    break
                pos = end
                self._request_count += 1
                self._next_keepalive_close_time = self._loop.time() + self._keepalive_timeout
                if self._paused:  # the client is not reading: aiohttp's flow control takes over
                    break
            else:
                return
            if pos:
                data = data[pos:]
        if self._fast_clean:
            self._track(data)
        super().data_received(data)

    def _take_head(self, head: bytes, rest: bytes) -> bool:
        """A complete head with no remembered answer, aiohttp idle: True if a subclass serves it."""
        return False

    def _track(self, data: bytes) -> None:
        """Follow the request framing of what aiohttp gets, to know when its parser is between requests."""
        buf = self._fast_carry + data if self._fast_carry else data
        pos = 0
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            if not _bodyless_get(buf[pos:end + 2]):
                self._fast_clean = False
                self._fast_carry = b""
                return
            pos = end + 4
        rest = buf[pos:]
        if len(rest) > _SCAN_MAX:
            self._fast_clean = False
            rest = b""
        self._fast_carry = rest


class FastServer(web.Server):
    """web.Server whose connections use FastPathProtocol."""

    def __init__(self, handler: Any, *, fast: FastIndex, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.fast = fast

    def __call__(self) -> FastPathProtocol:
        return FastPathProtocol(self, loop=self._loop, **self._kwargs)
