"""Same-site fetch() from a handler, answered from a remembered cache hit.

An A/B or personalisation handler fetches the same few pages of its own site over and over
(`fetch(origin + "/a/")`). Each such fetch ran the whole pipeline again (identity, geo, the
handler chain, rules, cache lookup, header rules, node headers, conditional, encoding) only to
arrive at the same cache entry, and then described the response for JS (measured on the S5
benchmark: about a fifth of the main thread's time per request).

A fetch is remembered under the same conditions as the fast path (fastpath.py) remembers a client
request: its answer is a pure function of the request and of data re-checked on every use.
- Remembered: a GET without a body whose answer was a cache hit, served with the entry's own body
  (not a range, a 304 or a compressed copy), no edge handler involved, no identity (no JWT), no
  GeoIP database (which would make the client address matter), a body that crosses as text.
- The key is the site's deploy (id and generation), the URL and every request header, exactly as
  the handler sent them; anything else in a fetch (a body, another method) is never remembered.
- On use, the entry must still be the one in the cache under the same key, and fresh; the
  per-request values (the request id, Age) are filled in for every answer.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgenode.cache import now
from edgenode.cache_phase import STATUS_HIT

if TYPE_CHECKING:
    from edgenode.exchange import EdgeResponse, Exchange
    from edgenode.handlers.runtime import Isolate
    from edgenode.node import EdgeNode

_text_ids = itertools.count(1)
MEMO_MAX = 1024  # remembered fetches per node; the least recently used is forgotten first
KEY_MAX_CHARS = 8192  # URL plus headers: longer fetches are never remembered


@dataclass(slots=True, eq=False)
class RememberedFetch:
    cache_key: tuple  # (primary, secondary) of the cache entry
    entry: Any  # weakref to the CacheEntry (an evicted entry is never kept alive here)
    status: int
    headers: list[list[str]]  # as response_to_js makes them; the request id and Age slots refilled
    rid_at: int  # index of x-nf-request-id in headers (-1: none)
    age_at: int  # index of age (-1: none)
    url: str
    text_id: int  # the body's id among the texts isolates keep (texts.py)


class SameSiteFetchMemo:
    """Fetch key -> RememberedFetch, bounded by MEMO_MAX (LRU)."""

    def __init__(self, node: EdgeNode) -> None:
        self.node = node
        self.fetches: OrderedDict[tuple, RememberedFetch] = OrderedDict()
        self.hits = 0

    def key(self, ex: Exchange, d: dict) -> tuple | None:
        """The memo key of fetch description `d` made by a handler of `ex`; None: never remembered."""
        if d.get("method") != "GET" or d.get("body") is not None or self.node.options.geoip_db:
            return None
        url = d["url"]
        pairs = d["headers"]
        headers = tuple(map(tuple, pairs)) if pairs else ()
        if len(url) > KEY_MAX_CHARS or (pairs and len(url) + sum(map(len, map("".join, pairs))) > KEY_MAX_CHARS):
            return None
        site = ex.site
        return (site.site_id, site.generation, url, headers)

    def answer(self, key: tuple, request_id: str, isolate: Isolate) -> dict | None:
        """The JS description of a remembered fetch for `isolate`, or None (never seen, or not valid
        any more). Its body is a text the isolate keeps (texts.py): after the first time, its id."""
        memo = self.fetches.get(key)
        if memo is None:
            return None
        entry = memo.entry()
        if entry is None or self.node.cache.get(*memo.cache_key) is not entry:
            del self.fetches[key]
            return None
        t = now()
        if not entry.fresh(t):
            del self.fetches[key]
            return None
        self.fetches.move_to_end(key)
        headers = list(memo.headers)
        if memo.rid_at >= 0:
            headers[memo.rid_at] = ["x-nf-request-id", request_id]
        if memo.age_at >= 0:
            headers[memo.age_at] = ["age", str(entry.age(t))]
        self.hits += 1
        body = isolate.text_body(memo.text_id, entry.body) if entry.body else None
        return {"status": memo.status, "statusText": "", "url": memo.url, "limit": None, "headers": headers,
                "body": body}

    def remember(self, key: tuple, sub: Exchange, resp: EdgeResponse, described: dict) -> None:
        """After a fetch ran the pipeline: keep its answer if it is a pure function of the key."""
        # Imported here: the handler phase imports the bridge, which imports this module.
        from edgenode.handlers.phase import handlers_involved

        entry = sub.cache_entry
        body = described.get("body")
        if (sub.cache_status != STATUS_HIT or entry is None or "cache_key" not in sub.notes
                or resp.body is not entry.body or resp.status != entry.status or sub.identity is not None
                or handlers_involved(sub)
                or not (body is None and not entry.body or body is not None and set(body) == {"t"})
                or described.get("limit") is not None):
            return
        headers = described["headers"]
        names = [k for k, _ in headers]
        rid_at = names.index("x-nf-request-id") if "x-nf-request-id" in names else -1
        age_at = names.index("age") if "age" in names else -1
        fetches = self.fetches
        fetches[key] = RememberedFetch(sub.notes["cache_key"], weakref.ref(entry), resp.status,
                                       [list(p) for p in headers], rid_at, age_at, described["url"],
                                       next(_text_ids))
        fetches.move_to_end(key)
        while len(fetches) > MEMO_MAX:
            fetches.popitem(last=False)


def fetch_memo(node: EdgeNode) -> SameSiteFetchMemo:
    memo = getattr(node, "fetch_memo", None)
    if memo is None:
        memo = node.fetch_memo = SameSiteFetchMemo(node)
    return memo
