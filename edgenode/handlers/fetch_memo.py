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
import time
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

    def valid(self, key: tuple, remembered: RememberedFetch, t: float) -> bool:
        """Whether `remembered` still answers `key`: kept, its entry still the one in the cache, fresh."""
        if self.fetches.get(key) is not remembered:
            return False
        entry = remembered.entry()
        if entry is None or not self.node.cache.holds(*remembered.cache_key, entry) or not entry.fresh(t):
            self.fetches.pop(key, None)
            return False
        return True

    def answer(self, key: tuple, request_id: str, isolate: Isolate) -> dict | None:
        """The JS description of a remembered fetch for `isolate`, or None (never seen, or not valid
        any more). Its body is a text the isolate keeps (texts.py): after the first time, its id."""
        remembered = self.fetches.get(key)
        if remembered is None:
            return None
        t = now()
        if not self.valid(key, remembered, t):
            return None
        entry = remembered.entry()
        self.fetches.move_to_end(key)
        headers = list(remembered.headers)
        if remembered.rid_at >= 0:
            headers[remembered.rid_at] = ["x-nf-request-id", request_id]
        if remembered.age_at >= 0:
            headers[remembered.age_at] = ["age", str(entry.age(t))]
        self.hits += 1
        body = isolate.text_body(remembered.text_id, entry.body) if entry.body else None
        return {"status": remembered.status, "statusText": "", "url": remembered.url, "limit": None, "headers": headers,
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


LEASES_MAX = 64  # leases one isolate holds; the oldest granted is revoked first


def lease_key(d: dict) -> str:
    """What core.js leaseKey() makes of the same fetch description."""
    return d["url"] + "".join(f"\0{k}\0{v}" for k, v in d["headers"])


class FetchLeases:
    """The remembered fetches one isolate may answer itself, without a round trip (core.js localFetch).

    A fetch the memo answered is leased to the isolate that asked: the response with its
    per-request values (request id, Age) left for the isolate to fill in, the origin it belongs
    to and the host's limits (subrequests, nesting). Before every batch the isolate runs, each
    lease is checked as the memo checks an answer; those that no longer hold are revoked at the
    front of that batch. So a fetch answered in the isolate is what the memo would have answered
    at the start of the batch it ran in.
    """

    def __init__(self, memo: SameSiteFetchMemo, isolate: Isolate) -> None:
        self.memo = memo
        self.isolate = isolate
        self.held: OrderedDict[str, tuple[tuple, RememberedFetch]] = OrderedDict()

    def grant(self, key: tuple, d: dict, origin: str, max_subrequests: int, max_depth: int) -> None:
        remembered = self.memo.fetches.get(key)
        entry = remembered.entry() if remembered is not None else None
        lk = lease_key(d)
        if entry is None or lk in self.held:  # (held: the isolate could not use it for that request)
            return
        t = now()
        stored = (time.time() - (t - entry.stored_at)) * 1000  # epoch ms, the isolate's clock
        self.held[lk] = (key, remembered)
        revoke = []
        while len(self.held) > LEASES_MAX:
            revoke.append(self.held.popitem(last=False)[0])
        if revoke:
            self.isolate.send_event(["lease-", revoke])
        self.isolate.send_event(["lease", lk, {
            "status": remembered.status, "headers": remembered.headers, "url": remembered.url,
            "tk": remembered.text_id, "ridAt": remembered.rid_at, "ageAt": remembered.age_at, "stored": stored,
            "until": 0 if entry.ttl is None else stored + entry.ttl * 1000, "origin": origin,
            "maxSub": max_subrequests, "maxDepth": max_depth}])

    def check(self) -> list[str]:
        """Revoke (and return the keys of) the leases that no longer hold; run before each batch."""
        if not self.held:
            return []
        t = now()
        texts = self.isolate.texts
        stale = [lk for lk, (key, remembered) in self.held.items()
                 if not self.memo.valid(key, remembered, t) or not texts.holds(remembered.text_id)]
        for lk in stale:
            del self.held[lk]
        return stale


def leases_of(memo: SameSiteFetchMemo, isolate: Isolate) -> FetchLeases:
    leases = isolate.batch_check
    if leases is None:
        leases = FetchLeases(memo, isolate)
        isolate.batch_check = leases
    return leases  # type: ignore[return-value]
