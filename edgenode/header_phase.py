"""Custom header rules (_headers, [[headers]]) on static responses (HD-5).

Pass-through until the header rule parser and matcher land.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


def apply(node: EdgeNode, ex: Exchange) -> None:
    return None
