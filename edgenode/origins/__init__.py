"""Origin phase: fetch the response for `ex.target` from the static files, a function or an upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from multidict import CIMultiDict

from edgenode.errors import error_response
from edgenode.exchange import EdgeResponse, OriginTarget

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


def pretty_urls(node: EdgeNode, ex: Exchange) -> None:
    """ST-2: `/about/` -> 301 `/about` for about.html; `/about` -> 301 `/about/` for about/index.html."""
    redirect = ex.site.static.pretty_redirect(ex.path)
    if redirect is not None:
        from urllib.parse import quote

        location = quote(redirect.location, safe="/:@!$&'()*+,;=~")
        # `//evil.example/` in Location is another host to a browser: keep the redirect on this site.
        location = "/" + location.lstrip("/")
        if ex.query_string:
            location += "?" + ex.query_string
        ex.response = EdgeResponse(301, CIMultiDict({"Location": location, "Cache-Control": "no-cache"}),
                                   b"", kind="redirect")


async def fetch(node: EdgeNode, ex: Exchange) -> None:
    target = ex.target or OriginTarget("static", ex.path, ex.query_string)
    if target.kind == "static":
        ex.response = fetch_static(ex, target)
    elif target.kind == "function":
        origin = node.function_origin
        if origin is None:
            ex.response = error_response(501, "Error", "functions are not available in this node",
                                         ex.request.headers.get("Accept"))
        else:
            ex.response = await origin.fetch(node, ex, target)
    elif target.kind == "proxy":
        ex.response = await node.proxy_origin.fetch(node, ex, target)
    else:  # pragma: no cover - the rules phase only makes the kinds above
        raise ValueError(f"unknown origin kind {target.kind!r}")


def fetch_static(ex: Exchange, target: OriginTarget) -> EdgeResponse:
    static = ex.site.static
    f = static.lookup(target.path)
    if f is None:
        return static.not_found()
    try:
        return static.response_for(f, target.status)
    except FileNotFoundError:  # deleted since the lookup (an edit in place)
        return static.not_found()
