"""The HTTP server: aiohttp's low-level server, one handler that runs the pipeline and writes the result."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus

from aiohttp import web

from edgenode import pipeline
from edgenode.accesslog import log_request
from edgenode.errors import error_response
from edgenode.exchange import EdgeRequest, EdgeResponse, Exchange, FileBody, new_request_id
from edgenode.fastpath import FastIndex
from edgenode.leanconn import LeanGate, LeanPathProtocol, LeanServer, send_file
from edgenode.limits import BodyTimeout, GuardedProtocol, GuardedServer, Limits, body_chunks
from edgenode.node import EdgeNode
from edgenode.origins.static import checked_file
from edgenode.paths import BadPath, decode_path
from edgenode.request_checks import Rejection, check_request, split_target
from edgenode.respond import SERVER

log = logging.getLogger("edgenode")


def _split_host(authority: str) -> str:
    host = authority.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# (request target, Host) -> (authority, raw path, query, host, decoded path): pure functions of the
# two strings, worked out once for the targets a site is asked for again and again.
_routed: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
ROUTED_MAX = 4096
ROUTED_KEY_CHARS = 512  # longer targets are split and decoded every time (no huge keys kept)


def _remember_routed(key: tuple[str, str], routed: tuple[str, str, str, str, str]) -> None:
    if len(key[0]) + len(key[1]) > ROUTED_KEY_CHARS:
        return
    if len(_routed) >= ROUTED_MAX:
        _routed.clear()
    _routed[key] = routed


@dataclass(slots=True, eq=False)
class Answer:
    """What to send for one request, whichever connection code (aiohttp or the lean path) sends it."""

    resp: EdgeResponse
    request_id: str
    site_id: str
    log_path: str
    cache_status: str = ""
    notes: dict = field(default_factory=dict)  # the exchange's notes ("sent" is filled in by the writer)
    close: bool = False  # end the connection after this answer (refusals of broken framing)


async def answer(node: EdgeNode, fast: FastIndex | None, request, client_ip: str,
                 body: AsyncIterator[bytes] | None = None, upgrade: object = None) -> Answer:
    """Run one parsed request through the checks and the pipeline: the response and what to log.

    `request` is aiohttp's request or a leanpath.LeanRequest (method, version, raw_path, headers).
    """
    # Refusals before routing (limits.py / request_checks.py): bad versions, Host, framing.
    headers = request.headers
    refused = check_request(request.version, headers)
    if refused is not None:
        return _refusal(request, refused)
    key = (request.raw_path, headers.get("Host", ""))
    routed = _routed.get(key)
    if routed is None:
        target = split_target(*key)
        if isinstance(target, Rejection):
            return _refusal(request, target)
        host = _split_host(target.authority)
        try:
            path = decode_path(target.raw_path)
        except BadPath as e:
            site = node.sites.for_host(host)
            return _refusal(request, Rejection(400, str(e), close=False), site.site_id, target.raw_path)
        routed = (target.authority, target.raw_path, target.query, host, path)
        _remember_routed(key, routed)
    authority, raw_path, query, host, path = routed
    site = node.sites.for_host(host)
    ereq = EdgeRequest(request.method, "http", host, authority or "localhost", path, raw_path,
                       query, headers, client_ip, body, upgrade=upgrade)
    ex = Exchange(ereq, site)
    try:
        resp = await pipeline.handle(node, ex)
    except BodyTimeout as e:
        return _refusal(request, Rejection(408, str(e)), site.site_id)
    except Exception:
        log.exception("request %s %s failed", request.method, raw_path)
        resp = _stamped(error_response(500, "Internal Server Error", "the edge node failed to answer",
                                       headers.get("Accept")), ex.request_id)
    if _has_unsafe_header(resp):
        resp = _unsafe_header_response(request, ex, raw_path)
    if fast is not None and resp is ex.response:
        fast.remember(request, ex, resp)  # a repeat of this exact request may skip all of this
    return Answer(resp, ex.request_id, site.site_id, raw_path, ex.cache_status, ex.notes)


def make_handler(node: EdgeNode, fast: FastIndex | None = None):
    body_timeout = node.options.body_timeout

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        t0 = time.perf_counter()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        body = body_chunks(request.content, body_timeout) if request.body_exists else None
        a = await answer(node, fast, request, peer[0] if peer else "127.0.0.1", body,
                         request if "Upgrade" in request.headers else None)
        notes = a.notes
        upgraded = notes.get("upgraded")  # an origin took the connection over (WebSocket proxy)
        if upgraded is not None:
            out = upgraded
        else:
            out = await _write(request, a.resp, notes)
            if a.close:
                out.force_close()
        log_request(request.method, a.log_path, a.resp.status, notes.get("sent", 0), time.perf_counter() - t0,
                    a.cache_status, a.request_id, a.site_id)
        return out

    return handle


def _has_unsafe_header(resp: EdgeResponse) -> bool:
    # CR, LF or NUL in a header from a function, handler or upstream would be header injection;
    # aiohttp refuses to write it and drops the connection, so answer cleanly instead.
    # (Checked on the joined names and values: a few C-level scans instead of six per header.)
    headers = resp.headers
    values = "".join(headers.values())
    names = "".join(headers.keys())
    return ("\r" in values or "\n" in values or "\x00" in values
            or "\r" in names or "\n" in names or ":" in names or "\x00" in names)


def _unsafe_header_response(request, ex: Exchange, raw_path: str) -> EdgeResponse:
    log.error("request %s %s: the response has a header with a line break or NUL; answering 502",
              request.method, raw_path)
    resp = error_response(502, "Bad Gateway", "the origin sent an invalid header", request.headers.get("Accept"))
    return _stamped(resp, ex.request_id)


def _stamped(resp: EdgeResponse, request_id: str) -> EdgeResponse:
    """The node's own headers on an answer made outside the pipeline (which adds them itself)."""
    resp.headers["Server"] = SERVER
    resp.headers["X-Nf-Request-Id"] = request_id
    return resp


def _refusal(request, r: Rejection, site_id: str = "", log_path: str | None = None) -> Answer:
    """The answer to a request refused before the pipeline; logged like any other."""
    rid = new_request_id()
    resp = _stamped(error_response(r.status, HTTPStatus(r.status).phrase, r.reason, request.headers.get("Accept")),
                    rid)
    return Answer(resp, rid, site_id, log_path or request.raw_path, close=r.close)


async def _write(request: web.BaseRequest, resp: EdgeResponse, notes: dict) -> web.StreamResponse:
    """Write the response; notes["sent"] gets the body bytes sent (for the access log)."""
    body = resp.body
    headers = resp.headers
    if isinstance(body, bytes):
        headers.popall("Content-Length", None)
        if request.method == "HEAD":
            return _head(resp, len(body))
        notes["sent"] = len(body)
        return web.Response(status=resp.status, headers=headers, body=body)
    if isinstance(body, FileBody):
        fh = open(body.path, "rb")  # noqa: SIM115 - closed below, after the last write
        try:
            status, body = checked_file(fh, resp.status, headers, body)
            headers["Content-Length"] = str(body.length)
            sr = web.StreamResponse(status=status, headers=headers)
            await sr.prepare(request)
            if request.method != "HEAD":
                async def write(chunk: bytes) -> bool:
                    await sr.write(chunk)
                    return True

                try:
                    await send_file(request.transport, fh, body, write)
                except ConnectionError:
                    return sr  # the client went away mid-body: aiohttp closes the connection quietly
                notes["sent"] = body.length
        finally:
            fh.close()
        await sr.write_eof()
        return sr
    assert isinstance(body, AsyncIterable)
    if "Content-Length" in headers:
        # A body of known length: the head goes out with the first chunk, in one send.
        sr = _HeadWithFirstChunk(status=resp.status, headers=headers)
    else:
        sr = web.StreamResponse(status=resp.status, headers=headers)
        sr.enable_chunked_encoding()
    sent = 0
    try:
        try:
            await sr.prepare(request)
        except ConnectionError:
            return sr  # the client is gone already
        if request.method != "HEAD":
            # An error of the body itself (an upstream failing mid-body) propagates: aiohttp then
            # aborts the connection, so the client sees a truncated body, never a complete-looking one.
            async for chunk in body:
                if chunk:
                    sent += len(chunk)
                    try:
                        await sr.write(chunk)
                    except ConnectionError:
                        notes["sent"] = sent
                        return sr  # the client went away mid-body: aiohttp closes the connection quietly
    finally:
        # A client that went away (or HEAD) must release the source now (an upstream connection,
        # a function's stream), not whenever the garbage collector gets to the generator.
        closer = getattr(body, "aclose", None)
        if closer is not None:
            await closer()
    notes["sent"] = sent
    await sr.write_eof()
    return sr


def _head(resp: EdgeResponse, length: int) -> web.Response:
    r = web.Response(status=resp.status, headers=resp.headers)
    if resp.status not in (204, 304) and resp.status >= 200:
        r.headers["Content-Length"] = str(length)
    return r


class _HeadWithFirstChunk(web.StreamResponse):
    _send_headers_immediately = False


class EdgeProtocol(LeanGate, GuardedProtocol, LeanPathProtocol):
    """One connection: the lean gate holds bytes back while a lean request is served, the limits
    see every byte first, then the fast path answers what it can, the lean path serves plain
    GET/HEAD requests, and aiohttp parses the rest for the pipeline (see fastpath.py, leanconn.py)."""


class EdgeWebServer(GuardedServer, LeanServer):
    def __call__(self) -> EdgeProtocol:
        return EdgeProtocol(self, loop=self._loop, **self._kwargs)


class EdgeServer:
    """Starts and stops the node and its listener; used by the CLI and the pytest fixture."""

    def __init__(self, options) -> None:
        self.options = options
        self.node = EdgeNode(options)
        self.runner: web.ServerRunner | None = None
        self._web_server: EdgeWebServer | None = None
        self.fast: FastIndex | None = None
        self.port: int = options.port

    async def start(self) -> None:
        await self.node.start()
        self.fast = FastIndex(self.node, enabled=self.options.extra.get("fast_path", True))
        # The lean path calls answer(node, fast, request, client_ip) directly (no wrapper coroutine).
        lean = functools.partial(answer, self.node, self.fast)
        server = EdgeWebServer(make_handler(self.node, self.fast), Limits.from_options(self.options),
                               fast=self.fast, lean=lean, access_log=None, handler_cancellation=False)
        self._web_server = server
        self.runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=self.options.grace)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.options.host, self.options.port, backlog=1024,
                           reuse_port=self.options.extra.get("reuse_port"))
        await site.start()
        sockets = self.runner.addresses
        if sockets:
            self.port = sockets[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
            await self._drain_closing_connections()
        await self.node.close()

    async def _drain_closing_connections(self) -> None:
        """aiohttp's shutdown returns once handlers finish and transports are *closing*; a slow
        reader may still have the end of its body in the transport's buffer. Exiting now would cut
        it off, so wait (within the grace period) until every connection is really gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.grace
        assert self._web_server is not None
        while self._web_server.open_connections > 0 and loop.time() < deadline:
            await asyncio.sleep(0.02)

    @property
    def url(self) -> str:
        host = self.options.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def banner(server: EdgeServer) -> str:
    lines = []
    for holder in server.node.sites.holders:
        site = holder.site
        s = site.summary()
        rel = os.path.relpath(site.config.publish_dir)
        lines.append(f"edgenode serving {server.url}  publish: {rel}  "
                     f"({s['rules']} rules, {s['header rules']} header rules, {s['handlers']} handlers, "
                     f"{s['functions']} functions)")
        for p in site.problems:
            lines.append(f"  {p}" + (" (warning)" if p.severity == "warning" else ""))
    return "\n".join(lines)


async def serve_forever(server: EdgeServer, on_ready=None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread
            pass
    await server.start()
    if on_ready is not None:
        on_ready(server)
    await stop.wait()
    log.info("shutting down: finishing in-flight requests (grace %.0fs)", server.options.grace)
    await server.stop()

