"""HTTP caching rules for the ResponseCache (PL-4, PL-5). Pure code: headers in, decisions out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

CACHE_CONTROL_HEADERS = ("Netlify-CDN-Cache-Control", "CDN-Cache-Control", "Cache-Control")
_DIRECTIVE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?\s*(?:,|$)')


def parse_cache_control(value: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for m in _DIRECTIVE.finditer(value):
        if not m.group(1):
            continue
        v = m.group(2)
        if v is not None and v.startswith('"'):
            v = v[1:-1]
        out[m.group(1).lower()] = v
    return out


def _seconds(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Storability:
    store: bool
    ttl: float | None  # seconds; None = until the site changes (static)
    reason: str = ""


# Request headers that applications commonly use to build URLs or route (IIS's X-Original-URL,
# Symfony's X-Forwarded-Prefix, ...) and that are not part of the cache key. The edge sets its own
# X-Forwarded-Host/-Proto/-For; a client's other look-alikes reach the origin untouched, so an answer
# to a request carrying one is never stored for everybody (cache poisoning).
UNKEYED_OVERRIDES = ("X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Scheme", "X-Forwarded-Server",
                     "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Host", "X-Original-Host", "Forwarded",
                     "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")


def carries_unkeyed_override(headers: Mapping[str, str]) -> bool:
    return any(name in headers for name in UNKEYED_OVERRIDES)


def dynamic_storability(method: str, status: int, headers: Mapping[str, str], request_has_credentials: bool) -> Storability:
    """PL-4: a non-static response is cached only when its own headers opt in."""
    if method != "GET":
        return Storability(False, None, "method")
    if not 200 <= status < 300 or status == 206:
        return Storability(False, None, "status")
    if headers.get("Vary", "").strip() == "*":
        return Storability(False, None, "vary-star")
    if "Set-Cookie" in headers:
        return Storability(False, None, "set-cookie")
    chosen = None
    for name in CACHE_CONTROL_HEADERS:
        if name in headers:
            chosen = parse_cache_control(headers[name])
            break
    if chosen is None:
        return Storability(False, None, "no-cache-headers")
    if "no-store" in chosen or "private" in chosen or "no-cache" in chosen:
        return Storability(False, None, "private")
    # Netlify requires an explicit `public`; a response to a request with credentials is only
    # shared when the origin says so explicitly, which `public` is.
    if "public" not in chosen:
        return Storability(False, None, "not-public")
    ttl = _seconds(chosen.get("s-maxage"))
    if ttl is None:
        ttl = _seconds(chosen.get("max-age"))
    if ttl is None or ttl < 1:
        return Storability(False, None, "no-max-age")
    return Storability(True, float(ttl))


# -- cache keys ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VarySpec:
    """What, beyond the URL, a cached response depends on (standard Vary plus Netlify-Vary)."""

    headers: tuple[str, ...] = ()  # lower-cased request header names
    query: tuple[str, ...] | None = None  # None: the whole query string is part of the key
    cookies: tuple[str, ...] = ()
    country: bool = False
    language: bool = False

    @property
    def trivial(self) -> bool:
        return not (self.headers or self.query is not None or self.cookies or self.country or self.language)


EMPTY_VARY = VarySpec()


def vary_spec(headers: Mapping[str, str]) -> VarySpec:
    names: list[str] = []
    for part in headers.get("Vary", "").split(","):
        p = part.strip().lower()
        if p and p != "accept-encoding" and p not in names:  # encoding variants are kept per entry
            names.append(p)
    query: tuple[str, ...] | None = None
    cookies: list[str] = []
    country = language = False
    nv = headers.get("Netlify-Vary", "")
    for item in nv.split(","):
        key, _, val = item.strip().partition("=")
        key = key.strip().lower()
        vals = tuple(v.strip() for v in val.split("|") if v.strip())
        if key == "query":
            query = vals  # an empty list means: ignore the query entirely
        elif key == "header":
            names.extend(v.lower() for v in vals if v.lower() not in names)
        elif key == "cookie":
            cookies.extend(vals)
        elif key == "country":
            country = True
        elif key == "language":
            language = True
    return VarySpec(tuple(names), query, tuple(cookies), country, language)


def keyed_query(query_string: str, spec: VarySpec) -> str:
    if spec.query is None:
        return query_string
    if not spec.query or not query_string:
        return ""
    keep = set(spec.query)
    return urlencode([(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k in keep])


def secondary_key(spec: VarySpec, headers: Mapping[str, str], country: str, language: str) -> tuple:
    if spec.trivial:
        return ()
    parts: list = [headers.get(h, "") for h in spec.headers]
    if spec.cookies:
        jar = SimpleCookie()
        try:
            jar.load(headers.get("Cookie", ""))
        except Exception:  # a garbage cookie header varies like an absent one
            jar = SimpleCookie()
        parts.extend(jar[c].value if c in jar else "" for c in spec.cookies)
    if spec.country:
        parts.append(country)
    if spec.language:
        parts.append(language)
    return tuple(parts)
