"""Rules phase: _redirects and [[redirects]] decide where the request goes.

Until the rule engine lands, every request goes to the static file at its own path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenode.exchange import OriginTarget

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


async def route(node: EdgeNode, ex: Exchange) -> None:
    ex.target = OriginTarget("static", ex.path, ex.query_string)
