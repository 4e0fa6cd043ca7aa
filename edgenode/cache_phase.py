"""Cache phase: look the routed request up in the ResponseCache; store what the origin returned."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING

from multidict import CIMultiDict

from edgenode.cache import CacheEntry, ResponseCache, now
from edgenode.cache_policy import (
    carries_unkeyed_override,
    dynamic_storability,
    keyed_query,
    secondary_key,
    vary_spec,
)
from edgenode.exchange import EdgeResponse

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode

STATUS_HIT = '"edgenode"; hit'
STATUS_MISS = '"edgenode"; fwd=miss'
STATUS_STORED = '"edgenode"; fwd=miss; stored'
STATUS_STALE = '"edgenode"; fwd=stale'
STATUS_BYPASS = '"edgenode"; fwd=method'


def _primary(ex: Exchange, query: str) -> tuple:
    t = ex.target
    assert t is not None
    # Static content does not depend on the query string; everything else does (PL-5).
    q = "" if t.kind == "static" else query
    return (ex.site.site_id, ex.site.generation, t.kind, t.path, t.status, q)


def _secondary(ex: Exchange, cache: ResponseCache, primary_base: tuple) -> tuple[tuple, tuple]:
    spec = cache.vary_for(primary_base)
    t = ex.target
    assert t is not None
    primary = primary_base if spec.query is None else primary_base[:-1] + (keyed_query(t.query_string, spec),)
    geo = ex.geo
    sec = secondary_key(spec, ex.request.headers, getattr(geo, "country", "") or "", getattr(geo, "language", ""))
    return primary, sec


def lookup(node: EdgeNode, ex: Exchange) -> bool:
    """Serve from the cache when there is a fresh entry. Returns True on a hit."""
    if ex.request.method not in ("GET", "HEAD") or ex.target is None:
        ex.cache_status = STATUS_BYPASS
        return False
    cache = node.cache
    site = ex.site
    if ex.target.kind != "static" and not cache.may_hold_dynamic(site.site_id, site.generation):
        ex.cache_status = STATUS_MISS
        return False
    base = _primary(ex, ex.target.query_string)
    primary, sec = _secondary(ex, cache, base)
    entry = cache.get(primary, sec)
    if entry is None:
        ex.cache_status = STATUS_MISS
        return False
    t = now()
    if not entry.fresh(t):
        cache.delete(primary, sec)
        ex.cache_status = STATUS_STALE
        return False
    ex.cache_entry = entry
    ex.notes["cache_key"] = (primary, sec)
    ex.cache_status = STATUS_HIT
    ex.response = EdgeResponse(entry.status, CIMultiDict(entry.headers), entry.body, kind=entry.kind,
                               precompressed=entry.precompressed)
    ex.notes["age"] = entry.age(t)
    return True


def store(node: EdgeNode, ex: Exchange) -> None:
    resp = ex.response
    if resp is None or ex.request.method not in ("GET", "HEAD") or ex.target is None:
        return
    if resp.kind == "static":
        if not isinstance(resp.body, bytes):
            return  # large files stream from disk and stay out of memory
        ttl = None
    else:
        verdict = dynamic_storability("GET", resp.status, resp.headers,
                                      "Authorization" in ex.request.headers)
        if not verdict.store:
            return  # (checked first: most dynamic answers do not opt in, and this is cheaper)
        if carries_unkeyed_override(ex.request.headers):
            return  # the origin may have used it: never share that answer (cache poisoning)
        ttl = verdict.ttl
    spec = vary_spec(resp.headers)
    base = _primary(ex, ex.target.query_string)
    cache = node.cache
    if cache.vary_for(base).trivial and not spec.trivial:
        primary = base if spec.query is None else base[:-1] + (keyed_query(ex.target.query_string, spec),)
        geo = ex.geo
        sec = secondary_key(spec, ex.request.headers, getattr(geo, "country", "") or "",
                            getattr(geo, "language", ""))
    else:
        primary, sec = _secondary(ex, cache, base)
        spec = cache.vary_for(base) if not cache.vary_for(base).trivial else spec
    headers = CIMultiDict(resp.headers)
    headers.popall("Netlify-CDN-Cache-Control", None)  # stripped before the client (PL-4)
    resp.headers.popall("Netlify-CDN-Cache-Control", None)
    if isinstance(resp.body, bytes):
        entry = CacheEntry(resp.status, headers, resp.body, resp.kind, now(), ttl, resp.precompressed)
        if cache.put(primary, sec, spec, entry):
            ex.cache_entry = entry
            ex.notes["cache_key"] = (primary, sec)
            ex.cache_status = STATUS_STORED
    elif isinstance(resp.body, AsyncIterable):
        resp.body = _tee_into_cache(resp.body, cache, primary, sec, spec, resp.status, headers, resp.kind, ttl)


async def _tee_into_cache(body: AsyncIterable[bytes], cache: ResponseCache, primary: tuple, sec: tuple,
                          spec, status: int, headers: CIMultiDict[str], kind: str,
                          ttl: float | None) -> AsyncIterator[bytes]:
    """Stream to the client and keep a copy; store it only if the whole body arrived and fits."""
    parts: list[bytes] | None = []
    size = 0
    async for chunk in body:
        if parts is not None:
            size += len(chunk)
            if size > cache.max_entry:
                parts = None
            else:
                parts.append(chunk)
        yield chunk
    if parts is not None:
        cache.put(primary, sec, spec, CacheEntry(status, headers, b"".join(parts), kind, now(), ttl))
