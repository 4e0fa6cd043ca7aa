"""ResponseCache: finished origin responses in memory, bounded by total bytes (cachetools LRU)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from multidict import CIMultiDict

from edgenode.cache_policy import EMPTY_VARY, VarySpec

ENTRY_OVERHEAD = 512  # bytes charged per entry for headers and bookkeeping


@dataclass(slots=True, eq=False, weakref_slot=True)
class CacheEntry:
    status: int
    headers: CIMultiDict[str]
    body: bytes
    kind: str
    stored_at: float
    ttl: float | None  # None: valid until the site's deploy changes
    precompressed: dict[str, Any] | None = None
    # Encoded variants made by the encoding phase, so a hit does no compression work.
    encoded: dict[str, bytes] = field(default_factory=dict)
    # Per-entry memo for later phases (e.g. prepared header blocks); dropped with the entry.
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + len(self.body) + sum(len(v) for v in self.encoded.values())

    def age(self, now: float) -> int:
        return int(now - self.stored_at)

    def fresh(self, now: float) -> bool:
        return self.ttl is None or now - self.stored_at < self.ttl


def _sizeof(value: Any) -> int:
    return value.size if isinstance(value, CacheEntry) else 64


class ResponseCache:
    """Keys: primary = (site id, deploy generation, path, keyed query); an entry lives at (primary, secondary).

    The VarySpec of the first response stored for a primary key decides how later requests to it
    are keyed (as Netlify: the first cached response's Netlify-Vary wins for a URL).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # One entry may take at most a quarter of the cache, so one file cannot flush everything.
        self.max_entry = max(max_bytes // 4, 1)
        self._lru: LRUCache = LRUCache(maxsize=max(max_bytes, 1), getsizeof=_sizeof)
        self.hits = 0
        self.misses = 0
        # The (site id, deploy generation) pairs that ever stored a non-static answer: for the
        # others a proxied or function request cannot hit, and skips building its keys.
        self._dynamic: set[tuple[str, int]] = set()

    @property
    def current_bytes(self) -> int:
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)

    def vary_for(self, primary: tuple) -> VarySpec:
        spec = self._lru.get(("vary", primary))
        return spec if spec is not None else EMPTY_VARY

    def may_hold_dynamic(self, site_id: str, generation: int) -> bool:
        """Whether a non-static answer of this deploy may be in the cache (False: a sure miss)."""
        if (site_id, generation) in self._dynamic:
            return True
        self.misses += 1
        return False

    def get(self, primary: tuple, secondary: tuple) -> CacheEntry | None:
        entry = self._lru.get((primary, secondary))
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def holds(self, primary: tuple, secondary: tuple, entry: CacheEntry) -> bool:
        """Whether `entry` is still the one stored at the key (kept recently used; not a hit or miss)."""
        return self._lru.get((primary, secondary)) is entry

    def put(self, primary: tuple, secondary: tuple, spec: VarySpec, entry: CacheEntry) -> bool:
        if entry.size > self.max_entry:
            return False
        if primary[2] != "static":
            if len(self._dynamic) >= 4096:  # deploys come and go: forget old ones (a few extra lookups)
                self._dynamic.clear()
            self._dynamic.add((primary[0], primary[1]))
        if not spec.trivial and ("vary", primary) not in self._lru:
            self._lru[("vary", primary)] = spec
        self._lru[(primary, secondary)] = entry
        return True

    def resize(self, primary: tuple, secondary: tuple, entry: CacheEntry) -> None:
        """Re-charge an entry whose size changed (an encoded variant was added)."""
        key = (primary, secondary)
        if self._lru.get(key) is entry:
            if entry.size > self.max_entry:
                entry.encoded.clear()
            self._lru[key] = entry

    def delete(self, primary: tuple, secondary: tuple) -> None:
        self._lru.pop((primary, secondary), None)

    def purge_site(self, site_id: str) -> int:
        """Drop every entry of one site (all deploys)."""
        doomed = [k for k in list(self._lru.keys()) if _site_of(k) == site_id]
        for k in doomed:
            self._lru.pop(k, None)
        return len(doomed)

    def clear(self) -> None:
        self._lru.clear()
        self._dynamic.clear()


def _site_of(key: tuple) -> str | None:
    primary = key[1] if key[0] == "vary" else key[0]
    return primary[0] if isinstance(primary, tuple) and primary else None


def now() -> float:
    return time.monotonic()
