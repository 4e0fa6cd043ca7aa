"""Per-request state carried through the phases of `pipeline.py`.

Plain data only: no aiohttp objects live here, so every phase can be tested without a server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from edgenode.cache import CacheEntry
    from edgenode.sites import Site


@dataclass(slots=True)
class FileBody:
    """A response body that is a byte range of a file on disk, streamed (or sendfile'd) by the server."""

    path: str
    offset: int
    length: int
    # (inode, size, mtime_ns) of the file the headers were made from; the server checks it when it
    # opens the file, so a file replaced in between is never sent under the old file's headers.
    stamp: tuple[int, int, int] | None = None


Body = bytes | FileBody | AsyncIterable[bytes]


_id_hex = ""  # random hex digits, 26 taken per id (one getrandom call per 256 ids, not per id)
_id_pos = 0


def _forget_ids() -> None:
    global _id_hex, _id_pos
    _id_hex, _id_pos = "", 0  # a forked worker must not hand out its parent's ids


os.register_at_fork(after_in_child=_forget_ids)


def new_request_id() -> str:
    """A 26-character id, the shape of Netlify's x-nf-request-id."""
    global _id_hex, _id_pos
    pos = _id_pos
    if pos + 26 > len(_id_hex):
        _id_hex, pos = os.urandom(13 * 256).hex().upper(), 0
    _id_pos = pos + 26
    return _id_hex[pos:pos + 26]


@dataclass(slots=True)
class EdgeRequest:
    method: str
    scheme: str
    host: str  # lower-cased host name, no port
    authority: str  # the Host header as sent (may carry a port)
    path: str  # percent-decoded path
    raw_path: str  # path as sent, still percent-encoded, without the query
    query_string: str  # raw query string, without '?'
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    client_ip: str
    body: AsyncIterator[bytes] | None = None  # request body stream (None: no body)
    # Opaque handle the server sets on `Upgrade:` requests (its request object), so an origin can
    # take the connection over (WebSocket proxying, RR-32) and put the result in notes["upgraded"].
    upgrade: Any = None

    @property
    def url(self) -> str:
        q = f"?{self.query_string}" if self.query_string else ""
        return f"{self.scheme}://{self.authority}{self.raw_path}{q}"

    @property
    def path_qs(self) -> str:
        return f"{self.raw_path}?{self.query_string}" if self.query_string else self.raw_path


@dataclass(slots=True)
class EdgeResponse:
    status: int
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: Body = b""
    # What produced it: static | function | proxy | handler | redirect | error.
    # Custom header rules apply to "static" only (HD-5); the cache policy differs by kind.
    kind: str = "static"
    # Precompressed siblings of a static file: encoding -> FileBody (name.br, name.gz).
    precompressed: dict[str, FileBody] | None = None


@dataclass(slots=True)
class OriginTarget:
    """Where the rules phase sends a request: which origin, which path or URL, with which status."""

    kind: str  # static | function | proxy
    path: str  # decoded site path (static, function) or absolute URL (proxy)
    query_string: str = ""
    status: int = 200  # a rewrite's own status (RR-20): 404, 401, ... serve the target with it
    rule: Any = None  # the rule that chose this target (None: the request path itself)
    proxy_headers: dict[str, str] | None = None  # [redirects.headers] for the upstream (RR-22)
    signed: str | None = None  # env var name of a signed proxy's secret (RR-23)


@dataclass(slots=True)
class Exchange:
    """Everything decided about one request, from accept to respond."""

    request: EdgeRequest
    site: Site
    request_id: str = field(default_factory=lambda: new_request_id())
    identity: Any = None  # verified JWT claims (identity.py), or None
    geo: Any = None  # geo.Geo, filled by the geo phase
    # The path the rules and origins work on; onRequest handlers and rewrites change it.
    path: str = ""
    query_string: str = ""
    matched_rule: Any = None  # routing decision, for logs and `explain`
    target: OriginTarget | None = None  # set by the rules phase; the origin phase fetches it
    response: EdgeResponse | None = None
    cache_entry: CacheEntry | None = None  # the entry the response came from (hit) or went into
    cache_status: str = ""  # RFC 9211 Cache-Status value
    notes: dict[str, Any] = field(default_factory=dict)  # phase-private scratch (handlers, timings)

    def __post_init__(self) -> None:
        if not self.path:
            self.path = self.request.path
            self.query_string = self.request.query_string
