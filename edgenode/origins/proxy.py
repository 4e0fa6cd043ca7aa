"""ProxyOrigin: 200 rules to absolute URLs (RR-21..RR-23, RR-32). A streaming proxy over one pooled client.

Plain requests go through upstream_client.UpstreamPool (keep-alive, httptools); WebSocket upgrades
through aiohttp's ClientSession, which speaks the WebSocket protocol.

Bodies stream both ways (aiohttp's flow control pauses the slower side), so a huge upload or
download never sits in memory. Every upstream failure becomes an answer: 504 when the upstream is
too slow (connect, first byte, idle), 502 when it refuses, resets or does not resolve.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
import jwt
from multidict import CIMultiDict
from yarl import URL

from edgenode.config.errors import ConfigProblem
from edgenode.errors import error_response
from edgenode.exchange import EdgeResponse
from edgenode.origins.upstream_client import (
    HOP_BY_HOP,
    UpstreamBroken,
    UpstreamConnectError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)

if TYPE_CHECKING:
    from edgenode.exchange import EdgeRequest, Exchange, OriginTarget
    from edgenode.node import EdgeNode
    from edgenode.options import ServeOptions
    from edgenode.sites import Site

log = logging.getLogger("edgenode.proxy")

BUFFER_LIMIT = 64 * 1024  # upstream bodies up to this Content-Length are read whole, larger ones stream
# Never forwarded from the client: the client computes Host; Expect is answered here (aiohttp).
_REQUEST_DROP = frozenset({"host", "expect"})
_NOT_NAMES = HOP_BY_HOP | {"close"}  # Connection tokens that name nothing still to drop
SIGNATURE_LIFETIME = 300  # seconds: exp = iat + 5 minutes (redirects.md 11)


def _named(values: Iterable[str]) -> set[str]:
    """The lower-case tokens of `Connection` header values."""
    return {t.strip().lower() for value in values for t in value.split(",") if t.strip()}


def _connection_tokens(headers: Any) -> set[str]:
    """The lower-case names listed in `Connection` headers (a multidict or a list of pairs)."""
    if hasattr(headers, "getall"):
        return _named(headers.getall("Connection", ()))
    return _named(v for k, v in headers if k.lower() == "connection")


def forward_pairs(headers: Any, drop_also: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str]]:
    """`headers` (a multidict or a list of pairs) without hop-by-hop ones (and those `Connection`
    names), `Proxy-*` and `drop_also` (lower-case names), as a list of pairs in their order."""
    pairs = headers.items() if hasattr(headers, "getall") else headers
    drop = HOP_BY_HOP | drop_also
    tokens = _connection_tokens(headers)
    if tokens:
        drop = drop | tokens
    return [(k, v) for k, v in pairs if (lk := k.lower()) not in drop and not lk.startswith("proxy-")]


def _relayed(upstream: UpstreamResponse) -> list[tuple[str, str]]:
    """The upstream's response headers a proxy passes on (sorted out by the client as they came)."""
    pairs = upstream.end_to_end
    named = _named(upstream.connection) - _NOT_NAMES if upstream.connection else None
    if named:
        return [(k, v) for k, v in pairs if k.lower() not in named]
    return pairs


def upstream_url(target: OriginTarget) -> str:
    """The URL to ask: the rule's target with the query the rules phase computed (RR-15).

    `target.query_string` (non-empty) replaces any query written in the target; an empty one keeps it.
    """
    url = target.path
    if target.query_string:
        url = url.split("?", 1)[0] + "?" + target.query_string
    return url


def rule_name(target: OriginTarget) -> str:
    """`_redirects:12` for the log line of a failed proxy; works before rules carry a place too."""
    rule = target.rule
    if rule is None:
        return "no rule"
    file = getattr(rule, "file", None) or "rule"
    line = getattr(rule, "line", 0)
    return f"{file}:{line}" if line else str(file)


def signed_proxy_secret(site: Site, env_name: str) -> str | None:
    """The shared secret of a signed proxy rule: the process environment, then netlify.toml's."""
    return os.environ.get(env_name) or site.config.environment.get(env_name) or None


def signed_proxy_problems(site: Site) -> list[ConfigProblem]:
    """RR-23: one problem per signed proxy rule whose environment variable is not set."""
    problems = []
    for rule in site.rules or ():
        env_name = getattr(rule, "signed", None)
        if env_name and signed_proxy_secret(site, env_name) is None:
            problems.append(ConfigProblem(
                getattr(rule, "file", None) or "netlify.toml", getattr(rule, "line", 0) or 0,
                f"signed proxy: environment variable {env_name} is not set; requests are proxied unsigned",
                severity="warning"))
    return problems


def sign_request(site: Site, req: EdgeRequest, env_name: str, context: str) -> str | None:
    """The `X-Nf-Sign` value (HS256 JWS, claims as netlify dev sends them), or None without a secret."""
    secret = signed_proxy_secret(site, env_name)
    if secret is None:
        return None
    now = int(time.time())
    claims = {"netlify_id": site.site_id, "site_url": f"{req.scheme}://{req.authority}",
              "deploy_context": context, "iss": "netlify", "iat": now, "exp": now + SIGNATURE_LIFETIME}
    return jwt.encode(claims, secret, algorithm="HS256")


def is_websocket_upgrade(req: EdgeRequest) -> bool:
    return (req.method == "GET" and "websocket" in req.headers.get("Upgrade", "").lower()
            and "upgrade" in _connection_tokens(req.headers))


class ProxyOrigin:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._session: aiohttp.ClientSession | None = None  # WebSocket upgrades only
        self.pool = UpstreamPool(options.proxy_connect_timeout, options.proxy_read_timeout)
        self._unsigned_warned: set[str] = set()

    @property
    def session(self) -> aiohttp.ClientSession:
        # For WebSocket upgrades; created lazily so it binds to the running loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, ttl_dns_cache=300,
                                             keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  cookie_jar=aiohttp.DummyCookieJar(), timeout=self.timeout())
        return self._session

    def timeout(self) -> aiohttp.ClientTimeout:
        # sock_read bounds the wait for the first byte and every idle gap while the body streams.
        return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=self.options.proxy_connect_timeout,
                                     sock_read=self.options.proxy_read_timeout)

    def request_headers(self, node: EdgeNode, ex: Exchange, target: OriginTarget) -> list[tuple[str, str]]:
        """The headers to send upstream, as pairs: the client's without hop-by-hop ones, then the edge's."""
        req = ex.request
        rh = req.headers
        client_ip = req.client_ip
        xff = ", ".join(rh.getall("X-Forwarded-For", ()))
        via = rh.get("Via")
        # What Netlify's edge adds to proxied requests (redirects.md 8); they replace the client's.
        ours = [("X-Forwarded-For", f"{xff}, {client_ip}" if xff else client_ip),
                ("X-Forwarded-Proto", req.scheme),
                ("X-Forwarded-Host", req.authority),
                ("X-Nf-Client-Connection-Ip", client_ip),
                ("Client-Ip", client_ip),
                ("X-Nf-Request-Id", ex.request_id),
                ("Via", f"{via}, 1.1 Netlify (edgenode)" if via else "1.1 Netlify (edgenode)")]
        country = getattr(ex.geo, "country", None)
        if country:
            ours.append(("X-Country", country))
        language = rh.get("Accept-Language")
        if language is not None:
            ours.append(("X-Language", language))
        for k, v in (target.proxy_headers or {}).items():
            ours.append((k, str(v)))
        if target.signed:
            token = sign_request(ex.site, req, target.signed, self.options.context)
            if token is not None:
                ours.append(("X-Nf-Sign", token))
            elif target.signed not in self._unsigned_warned:
                self._unsigned_warned.add(target.signed)
                log.warning("signed proxy (%s): environment variable %s is not set; proxying unsigned",
                            rule_name(target), target.signed)
        drop = {k.lower() for k, _ in ours}
        drop |= _REQUEST_DROP
        if req.body is None:
            drop.add("content-length")
        return forward_pairs(rh, drop) + ours

    async def fetch(self, node: EdgeNode, ex: Exchange, target: OriginTarget) -> EdgeResponse:
        req = ex.request
        url = upstream_url(target)
        accept = req.headers.get("Accept")
        headers = self.request_headers(node, ex, target)
        if req.upgrade is not None and is_websocket_upgrade(req):
            return await self._websocket(ex, target, url, headers)
        try:
            upstream = await self.pool.request(req.method, url, headers, req.body)
        except UpstreamTimeout as e:
            return self._failure(504, "Gateway Timeout", "did not answer in time", url, target, accept, e)
        except ValueError as e:
            return self._failure(502, "Bad Gateway", "is not a valid URL", url, target, accept, e)
        except (UpstreamConnectError, UpstreamBroken, aiohttp.ClientError, OSError) as e:
            return self._failure(502, "Bad Gateway", "is unreachable", url, target, accept, e)
        out = CIMultiDict(_relayed(upstream))
        body: bytes | AsyncIterator[bytes]
        if upstream.status in (204, 304) or req.method == "HEAD":
            upstream.release()
            # HEAD: an empty stream, so the server keeps the upstream's Content-Length.
            body = b"" if upstream.status in (204, 304) else _empty()
        elif upstream.content_length is not None and upstream.content_length <= BUFFER_LIMIT:
            # Small bodies are read whole: one write to the client, and a failure is still an answer.
            try:
                body = await upstream.read()
            except UpstreamTimeout as e:
                return self._failure(504, "Gateway Timeout", "stalled mid-body", url, target, accept, e)
            except UpstreamBroken as e:
                return self._failure(502, "Bad Gateway", "broke off mid-body", url, target, accept, e)
        else:
            body = _stream(upstream, url, target)
        return EdgeResponse(upstream.status, out, body, kind="proxy")

    def _failure(self, status: int, name: str, what: str, url: str, target: OriginTarget,
                 accept: str | None, exc: BaseException) -> EdgeResponse:
        log.warning("proxy %s -> %s: %s %s (%s)", rule_name(target), url, status, what,
                    exc.__class__.__name__ + (f": {exc}" if str(exc) else ""))
        return error_response(status, name, f"upstream {URL(url).origin()} {what}", accept, kind="proxy")

    async def _websocket(self, ex: Exchange, target: OriginTarget, url: str,
                         pairs: list[tuple[str, str]]) -> EdgeResponse:
        """RR-32: open the upstream WebSocket first, then accept the client's and pump both ways."""
        from aiohttp import web

        request: web.BaseRequest = ex.request.upgrade
        headers = CIMultiDict(pairs)
        ws_url = URL(url)
        ws_url = ws_url.with_scheme("wss" if ws_url.scheme == "https" else "ws")
        protocols = tuple(p.strip() for p in ex.request.headers.get("Sec-WebSocket-Protocol", "").split(",")
                          if p.strip())
        for h in ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
                  "Sec-WebSocket-Protocol", "Content-Length"):
            headers.popall(h, None)
        accept = ex.request.headers.get("Accept")
        try:
            upstream = await self.session.ws_connect(
                ws_url, headers=headers, protocols=protocols, autoping=False, compress=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0), max_msg_size=0,
                # ws_connect's own timeout covers connect + handshake.
                receive_timeout=None, heartbeat=None,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as e:
            return self._failure(504, "Gateway Timeout", "did not answer in time", url, target, accept, e)
        except aiohttp.WSServerHandshakeError as e:
            log.warning("proxy %s -> %s: websocket handshake refused (%s)", rule_name(target), url, e.status)
            return error_response(502, "Bad Gateway", f"upstream {ws_url.origin()} refused the WebSocket",
                                  accept, kind="proxy")
        except (aiohttp.ClientError, OSError) as e:
            return self._failure(502, "Bad Gateway", "is unreachable", url, target, accept, e)
        client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (),
                                       autoping=False, max_msg_size=0, compress=False)
        await client.prepare(request)
        ex.notes["upgraded"] = client
        await _pump_websockets(client, upstream)
        return EdgeResponse(101, CIMultiDict(), b"", kind="proxy")

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._session is not None:
            await self._session.close()


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _stream(upstream: UpstreamResponse, url: str, target: OriginTarget) -> AsyncIterator[bytes]:
    """The upstream body, chunk by chunk. An idle upstream mid-body ends the response (headers are gone)."""
    try:
        async for chunk in upstream.chunks():
            yield chunk
    except (UpstreamTimeout, UpstreamBroken) as e:
        log.warning("proxy %s -> %s: body aborted (%s)", rule_name(target), url, e)
        raise ConnectionResetError("upstream body aborted") from e
    finally:
        upstream.release()


async def _pump_websockets(client: Any, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Copy messages both ways until one side closes; then close the other with the same code."""

    async def copy(src: Any, dst: Any) -> None:
        async for msg in src:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await dst.send_str(msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.PING:
                await dst.ping(msg.data)
            elif msg.type == aiohttp.WSMsgType.PONG:
                await dst.pong(msg.data)
            else:
                break
        if not dst.closed:
            await dst.close(code=src.close_code or aiohttp.WSCloseCode.OK)

    tasks = [asyncio.ensure_future(copy(client, upstream)), asyncio.ensure_future(copy(upstream, client))]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            await asyncio.wait_for(asyncio.shield(t), 5.0)
    except (TimeoutError, ConnectionError, aiohttp.ClientError):
        pass
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not upstream.closed:
            await upstream.close()
        if not client.closed:
            await client.close()
