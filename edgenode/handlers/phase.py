"""Edge handler phases: onRequest before the rules, onResponse after the origin.

Pass-through until the edge handler runtime lands (handlers/runtime.py, bridge.py, js/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


async def on_request(node: EdgeNode, ex: Exchange) -> None:
    """Run the [[edge_handlers]] chain declared for ex.path; may set ex.response or change ex.path."""
    return None


async def on_rule_handler(node: EdgeNode, ex: Exchange, handler_name: str) -> None:
    """Run the handler attached to the rule that matched (EdgeHandler= / edge_handler).

    Called by the rules phase after it set ex.matched_rule and ex.target, before the rule's action:
    the handler may answer (ex.response) or replace the request (ex.target).
    """
    return None


async def on_response(node: EdgeNode, ex: Exchange) -> None:
    """Run the onResponse exports of the handlers that ran, in reverse order."""
    return None
