"""Rules phase: decide where the request goes and put it in `ex.target` (or answer it directly).

Order (edge-handlers.md section 1): the functions' default route, then _redirects and [[redirects]]
with shadowing, then the static file at the request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenode.exchange import OriginTarget

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode

FUNCTIONS_PREFIX = "/.netlify/functions/"


async def route(node: EdgeNode, ex: Exchange) -> None:
    functions = ex.site.functions
    custom = functions.route(ex.path, ex.request.method, ex.site.static.exists) if functions else None
    if custom is not None:  # FN-7: a v2 function's own config.path beats rules and static files
        fn, ex.notes["function_params"] = custom
        ex.target = OriginTarget("function", FUNCTIONS_PREFIX + fn.name, ex.query_string)
        return
    if ex.path.startswith(FUNCTIONS_PREFIX):  # FN-1: the default route answers before any rule
        ex.target = OriginTarget("function", ex.path, ex.query_string)
        return
    ex.target = OriginTarget("static", ex.path, ex.query_string)
