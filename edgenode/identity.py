"""Identity phase: the verified JWT of a request (nf_jwt cookie or Authorization: Bearer).

Pass-through for now: no token verifies until the rules issue wires PyJWT in here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


def identify(node: EdgeNode, ex: Exchange) -> None:
    ex.identity = None
