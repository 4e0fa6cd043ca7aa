"""ProxyOrigin: 200 rules to absolute URLs (RR-21). A streaming proxy over one pooled ClientSession."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from multidict import CIMultiDict

from edgenode.errors import error_response
from edgenode.exchange import EdgeResponse

if TYPE_CHECKING:
    from edgenode.exchange import Exchange, OriginTarget
    from edgenode.node import EdgeNode
    from edgenode.options import ServeOptions

log = logging.getLogger("edgenode.proxy")

HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "proxy-connection", "host",
                        "content-length"})


class ProxyOrigin:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, ttl_dns_cache=300,
                                             enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def fetch(self, node: EdgeNode, ex: Exchange, target: OriginTarget) -> EdgeResponse:
        req = ex.request
        headers: CIMultiDict[str] = CIMultiDict()
        drop = set(HOP_BY_HOP)
        drop.update(t.strip().lower() for t in req.headers.get("Connection", "").split(","))
        for k, v in req.headers.items():
            if k.lower() not in drop:
                headers.add(k, v)
        xff = req.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{xff}, {req.client_ip}" if xff else req.client_ip
        headers["X-Forwarded-Proto"] = req.scheme
        headers["X-Forwarded-Host"] = req.authority
        for k, v in (target.proxy_headers or {}).items():
            headers[k] = v
        url = target.path
        if target.query_string:
            url += ("&" if "?" in url else "?") + target.query_string
        timeout = aiohttp.ClientTimeout(total=None, connect=self.options.proxy_connect_timeout,
                                        sock_read=self.options.proxy_read_timeout)
        try:
            upstream = await self.session.request(
                req.method, url, headers=headers, data=req.body if req.body is not None else None,
                allow_redirects=False, timeout=timeout, skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        except (TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("proxy %s: upstream timed out", url)
            return error_response(504, "Gateway Timeout", f"upstream {url} did not answer in time",
                                  req.headers.get("Accept"), kind="proxy")
        except (aiohttp.ClientError, OSError) as e:
            log.warning("proxy %s: %s", url, e)
            return error_response(502, "Bad Gateway", f"upstream {url} is unreachable",
                                  req.headers.get("Accept"), kind="proxy")
        out: CIMultiDict[str] = CIMultiDict()
        for k, v in upstream.headers.items():
            if k.lower() not in HOP_BY_HOP or k.lower() == "content-length":
                out.add(k, v)
        return EdgeResponse(upstream.status, out, _stream(upstream), kind="proxy")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _stream(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.content.iter_chunked(64 * 1024):
            yield chunk
    finally:
        upstream.release()
