"""Find a site's edge handler files and declarations. Not yet implemented: no handlers are loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgenode.sites import Site


def load_handlers(site: Site, options: Any) -> None:
    site.handlers = None
