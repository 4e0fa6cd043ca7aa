"""The life of one request, top to bottom. Each phase lives in its own module; this file only orders them.

    site, identity, geo -> onRequest handlers -> pretty URLs -> rules -> cache -> origin
      -> cache store -> onResponse handlers -> header rules -> conditional/range -> encoding
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenode import cache_phase, geo, header_phase, identity, origins, respond
from edgenode.exchange import EdgeResponse, Exchange
from edgenode.handlers import phase as handlers
from edgenode.routing import phase as rules

if TYPE_CHECKING:
    from edgenode.node import EdgeNode


async def handle(node: EdgeNode, ex: Exchange) -> EdgeResponse:
    """The whole chain for one request. A same-site `fetch()` from a handler runs this again."""
    identity.identify(node, ex)  # verified JWT claims and roles, or none
    geo.locate(node, ex)  # country, subdivision, city; language from Accept-Language

    await handlers.on_request(node, ex)  # [[edge_handlers]] chain: may respond, rewrite, proxy
    if ex.response is None:
        await downstream(node, ex)
    await handlers.on_response(node, ex)  # onResponse exports, streaming body transforms

    header_phase.apply(node, ex)  # _headers / [[headers]] on static responses (HD-5)
    respond.finish_headers(node, ex)  # x-nf-request-id, Server, Cache-Status, Age
    respond.conditional(node, ex)  # 304, 206, 416
    respond.encode(node, ex)  # br / gzip, cached per entry
    assert ex.response is not None
    return ex.response


async def downstream(node: EdgeNode, ex: Exchange) -> None:
    """Everything after the onRequest handlers, up to the origin's response in `ex.response`.

    `fetch(event.request)` inside a handler runs exactly this: the origin response without
    re-running the handler.
    """
    origins.pretty_urls(node, ex)  # ST-2: normalisation happens before rules
    if ex.response is None:
        await rules.route(node, ex)  # redirect | rewrite | proxy | function | 404 -> ex.target
    if ex.response is None and not cache_phase.lookup(node, ex):
        await origins.fetch(node, ex)  # static | function | proxy
        cache_phase.store(node, ex)
