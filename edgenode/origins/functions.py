"""Function invoker: /.netlify/functions/NAME. Not yet implemented: no functions are discovered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgenode.sites import Site


def load_functions(site: Site, options: Any) -> None:
    site.functions = None
