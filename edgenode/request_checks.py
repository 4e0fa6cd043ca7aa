"""Checks on a parsed request before any phase sees it. Pure code: no I/O, no aiohttp.

aiohttp's parser already refuses malformed framing (bad methods, bare LF, obs-fold, NUL, both
Content-Length and Transfer-Encoding, duplicate Content-Length or Host, bad chunk sizes). What it
lets through and an edge node must not: HTTP versions other than 1.0 and 1.1 (it would answer
"HTTP/2.0 200" or "HTTP/0.9 200" on an HTTP/1 connection), Transfer-Encoding on HTTP/1.0 (RFC 9112
6.1: the framing is unreliable, answer 400 and close), and Host values that are not a host[:port]
(`a b/c`, `user@evil`), which would otherwise reach site selection, logs and handlers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# RFC 3986 reg-name (unreserved, sub-delims, pct-encoded) or an IP-literal, then an optional port.
_AUTHORITY = re.compile(
    # RFC 3986 reg-name minus ',': a comma is how two Host headers look once joined.
    r"(?:[A-Za-z0-9._~!$&'()*+;=-]|%[0-9A-Fa-f]{2})*"
    r"|\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+)?\]"
)
_PORT = re.compile(r"\d{0,5}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request refused before routing: status, short reason, and whether to close the connection."""

    status: int
    reason: str
    close: bool = True


@dataclass(frozen=True, slots=True)
class Target:
    authority: str  # the authority that names the site: the absolute-form target's, else the Host header
    raw_path: str  # origin-form path, still percent-encoded, without the query
    query: str


@lru_cache(maxsize=1024)  # a client sends the same Host on every request of a connection
def valid_authority(authority: str) -> bool:
    """host, host:port, [v6], [v6]:port; nothing with spaces, '@', '/', or a non-numeric port."""
    if authority.startswith("["):
        host, sep, rest = authority.partition("]")
        host += "]"
        if not sep or rest and not rest.startswith(":"):
            return False
        port = rest[1:] if rest else ""
    else:
        host, sep, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
        if not sep:
            port = ""
    if not _AUTHORITY.fullmatch(host):
        return False
    return bool(_PORT.fullmatch(port)) and (not port or int(port) <= 65535)


def split_target(raw_target: str, host_header: str) -> Target | Rejection:
    """Origin-form `/p?q` or absolute-form `http://host/p?q` -> Target (RFC 9112 3.2, 3.2.2).

    For absolute-form the target's authority wins over the Host header, as the RFC requires; an
    edge node that routed by one and served by the other would let a request pick a second site.
    """
    raw_path, _, query = raw_target.partition("?")
    authority = host_header
    lower = raw_path[:8].lower()
    if lower.startswith(("http://", "https://")):
        rest = raw_path.split("://", 1)[1]
        authority, slash, path = rest.partition("/")
        raw_path = "/" + path if slash else "/"
        if not authority:
            return Rejection(400, "absolute-form target without a host")
    if not valid_authority(authority):
        return Rejection(400, "invalid Host")
    return Target(authority, raw_path, query)


def check_request(version: tuple[int, int], headers: Mapping[str, str]) -> Rejection | None:
    """What the parser accepted but this node refuses (see the module docstring)."""
    if version not in ((1, 1), (1, 0)):
        return Rejection(505, "HTTP version not supported")
    if version == (1, 0) and "Transfer-Encoding" in headers:
        return Rejection(400, "Transfer-Encoding in an HTTP/1.0 request")
    if version == (1, 1) and "Host" not in headers:
        return Rejection(400, "missing Host header")
    return None
