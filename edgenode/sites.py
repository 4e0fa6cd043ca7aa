"""Site = one loaded deploy of one site: config, rules, header rules, handlers, static origin.

A Site never changes after it is loaded. A reload builds a new Site from the directory (a new
deploy generation) and swaps it in atomically, so every request is answered wholly by one deploy:
a request holds its Site from accept to respond.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from edgenode.config.errors import ConfigError, ConfigProblem
from edgenode.config.netlify_toml import SiteConfig, load_site_config
from edgenode.handlers.loader import load_handlers
from edgenode.origins.functions import load_functions
from edgenode.origins.static import StaticOrigin
from edgenode.routing.loader import load_header_rules, load_rules

log = logging.getLogger("edgenode")
_generations = itertools.count(1)


@dataclass(eq=False)
class Site:
    site_id: str  # stable across reloads: the cache and isolates are per site
    config: SiteConfig
    static: StaticOrigin
    generation: int
    problems: list[ConfigProblem] = field(default_factory=list)
    # Filled by later phases' loaders (rules, header rules, handlers, functions); plain data.
    rules: Any = None
    header_rules: Any = None
    handlers: Any = None
    functions: Any = None

    @property
    def root(self) -> str:
        return self.config.site_dir

    def summary(self) -> dict[str, int]:
        return {
            "rules": len(self.rules or ()),
            "header rules": len(self.header_rules or ()),
            "handlers": len(self.handlers or ()),
            "functions": len(self.functions or ()),
        }

    async def close(self) -> None:
        """Release what the deploy holds beyond memory (isolates, worker processes)."""
        for part in (self.handlers, self.functions):
            closer = getattr(part, "aclose", None)
            if closer is not None:
                await closer()


def load_site(site_dir: str, site_id: str, options: Any = None) -> Site:
    """Parse everything a deploy needs. Raises ConfigError only for a broken netlify.toml."""
    context = getattr(options, "context", "dev") if options is not None else "dev"
    config_path = getattr(options, "config", None) if options is not None else None
    cfg = load_site_config(site_dir, config_path, context=context)
    static = StaticOrigin(cfg.publish_dir, hidden_dirs=(cfg.functions_dir, cfg.edge_handlers_dir),
                          pretty_urls=cfg.pretty_urls)
    site = Site(site_id, cfg, static, next(_generations), problems=list(cfg.problems))
    # Each loader fills its slot on the Site and appends ConfigProblems; none may raise for bad input.
    load_rules(site, options)
    load_header_rules(site, options)
    load_handlers(site, options)
    load_functions(site, options)
    return site


class SiteHolder:
    """The current deploy of one site directory, reloaded when the directory changes."""

    def __init__(self, site_dir: str, site_id: str, options: Any, on_change: Any = None) -> None:
        self.site_dir = site_dir
        self.site_id = site_id
        self.options = options
        self.on_change = on_change
        self.site = load_site(site_dir, site_id, options)
        self._real = self.site.config.site_dir  # realpath at load time (see reload)
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self.reloads = 0

    async def start(self) -> None:
        await _start_site(self.site)
        if getattr(self.options, "watch", True):
            self._task = asyncio.create_task(self._watch(), name=f"watch {self.site_id}")

    async def reload(self, reason: str = "change") -> bool:
        loop = asyncio.get_running_loop()
        try:
            new = await loop.run_in_executor(None, load_site, self.site_dir, self.site_id, self.options)
        except ConfigError as e:
            log.error("reload of %s skipped, keeping the previous deploy: %s", self.site_id, e)
            return False
        except Exception:
            log.exception("reload of %s failed, keeping the previous deploy", self.site_id)
            return False
        await _start_site(new)
        old, self.site = self.site, new
        # The directory this deploy was read from, not where the symlink points now: if a deploy
        # was published while this one loaded, the watcher must still see a change and reload.
        self._real = new.config.site_dir
        self.reloads += 1
        for p in new.problems:
            log.warning("%s: %s", self.site_id, p)
        if self.on_change is not None:
            self.on_change(old, new)
        # In-flight requests keep their own reference to the old Site; give them time to finish.
        asyncio.get_running_loop().call_later(30, lambda: asyncio.ensure_future(old.close()))
        log.info("reloaded %s (%s): deploy %d", self.site_id, reason, new.generation)
        return True

    async def _watch(self) -> None:
        try:
            from watchfiles import awatch
        except ImportError:  # pragma: no cover - watchfiles is a dependency
            return
        while not self._stop.is_set():
            real = os.path.realpath(self.site_dir)
            if real != self._real:
                await self.reload("site directory replaced")
                continue
            stop = asyncio.Event()
            swap = asyncio.create_task(self._watch_symlink(real, stop))
            try:
                async for _changes in awatch(real, stop_event=stop, debounce=30, step=10,
                                             recursive=True, ignore_permission_denied=True):
                    await self.reload("files changed")
                    if os.path.realpath(self.site_dir) != real:
                        break
            except Exception as e:  # the directory vanished mid-swap, etc.
                log.debug("watch of %s restarted: %s", real, e)
                await asyncio.sleep(0.05)
            finally:
                stop.set()
                swap.cancel()
            if self._stop.is_set():
                return
            await asyncio.sleep(0.01)

    async def _watch_symlink(self, real: str, stop: asyncio.Event) -> None:
        """A deploy swaps the SITE_DIR symlink: notice it and restart the watch on the new target."""
        while not stop.is_set():
            await asyncio.sleep(0.05)
            if os.path.realpath(self.site_dir) != real:
                stop.set()
                return

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self.site.close()


async def _start_site(site: Site) -> None:
    """Async part of loading (isolate warm-up and the like), for slots that need the event loop."""
    for part in (site.handlers, site.functions):
        starter = getattr(part, "astart", None)
        if starter is not None:
            await starter()


class SiteRegistry:
    """Host header -> SiteHolder. The first site is the default for unknown hosts."""

    def __init__(self) -> None:
        self.by_host: dict[str, SiteHolder] = {}
        self.holders: list[SiteHolder] = []

    def add(self, holder: SiteHolder, hosts: tuple[str, ...] = ()) -> None:
        self.holders.append(holder)
        for h in hosts:
            self.by_host[h.lower()] = holder

    def for_host(self, host: str) -> Site:
        holder = self.by_host.get(host)
        return (holder or self.holders[0]).site

    async def start(self) -> None:
        for h in self.holders:
            await h.start()

    async def close(self) -> None:
        for h in self.holders:
            await h.close()
