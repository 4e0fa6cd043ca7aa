"""EdgeNode: what lives as long as the server: options, sites, cache, origins, handler runtime."""

from __future__ import annotations

import logging
from typing import Any

from edgenode.cache import ResponseCache
from edgenode.options import ServeOptions
from edgenode.sites import Site, SiteHolder, SiteRegistry

log = logging.getLogger("edgenode")


class EdgeNode:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.cache = ResponseCache(options.cache_size)
        self.sites = SiteRegistry()
        # Origins other than static are attached by their modules at start (see server.py).
        self.proxy_origin: Any = None
        self.function_origin: Any = None
        for i, (site_dir, hosts) in enumerate(options.sites):
            site_id = hosts[0] if hosts else f"site{i}"
            self.sites.add(SiteHolder(site_dir, site_id, options, on_change=self._site_changed), hosts)

    def _site_changed(self, old: Site, new: Site) -> None:
        # A new deploy has a new generation, so old keys can never hit again; free their memory now.
        self.cache.purge_site(old.site_id)

    async def start(self) -> None:
        from edgenode.origins.functions import FunctionOrigin
        from edgenode.origins.proxy import ProxyOrigin

        self.proxy_origin = ProxyOrigin(self.options)
        self.function_origin = FunctionOrigin(self.options)
        await self.sites.start()

    async def close(self) -> None:
        await self.sites.close()
        if self.proxy_origin is not None:
            await self.proxy_origin.aclose()
        if self.function_origin is not None:
            await self.function_origin.aclose()
