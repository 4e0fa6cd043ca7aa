"""Edge handler phases: onRequest before the rules, onResponse after the origin.

Pass-through until the edge handler runtime lands (handlers/runtime.py, bridge.py, js/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


async def on_request(node: EdgeNode, ex: Exchange) -> None:
    return None


async def on_response(node: EdgeNode, ex: Exchange) -> None:
    return None
