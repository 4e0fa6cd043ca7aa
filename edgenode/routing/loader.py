"""Load a site's rules (_redirects, [[redirects]]) and header rules (_headers, [[headers]]) onto the Site.

Not yet implemented: the site has no rules until the rule engine lands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgenode.sites import Site


def load_rules(site: Site, options: Any) -> None:
    site.rules = []


def load_header_rules(site: Site, options: Any) -> None:
    site.header_rules = []
