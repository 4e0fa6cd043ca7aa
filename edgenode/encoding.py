"""Content-Encoding negotiation and compression (PL-3). Pure code."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator

import brotli

MIN_SIZE = 1024
_COMPRESSIBLE_PREFIX = ("text/",)
_COMPRESSIBLE = frozenset({
    "application/javascript", "application/json", "application/ld+json", "application/manifest+json",
    "application/xml", "application/xhtml+xml", "application/rss+xml", "application/atom+xml",
    "application/wasm", "image/svg+xml", "image/x-icon", "application/vnd.ms-fontobject",
    "font/ttf", "font/otf", "application/x-javascript", "application/geo+json",
})


def compressible(content_type: str | None) -> bool:
    if not content_type:
        return False
    known = _compressible_types.get(content_type)
    if known is None:
        base = content_type.split(";", 1)[0].strip().lower()
        known = base.startswith(_COMPRESSIBLE_PREFIX) or base in _COMPRESSIBLE or base.endswith(("+json", "+xml"))
        if len(_compressible_types) >= 512:  # Content-Type values from functions and upstreams: bounded
            _compressible_types.clear()
        _compressible_types[content_type] = known
    return known


_compressible_types: dict[str, bool] = {}  # every response asks; a site has a handful of types


def negotiate(accept_encoding: str | None, available: tuple[str, ...] = ("br", "gzip")) -> str | None:
    """Pick the best coding the client accepts (q > 0); br before gzip on ties."""
    if not accept_encoding:
        return None
    prefs: dict[str, float] = {}
    for part in accept_encoding.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if token:
            prefs[token] = q
    best: tuple[float, int, str] | None = None
    for rank, coding in enumerate(available):
        q = prefs.get(coding, prefs.get("*", 0.0))
        if q > 0 and (best is None or (q, -rank) > (best[0], best[1])):
            best = (q, -rank, coding)
    return best[2] if best else None


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(body, quality=5 if len(body) > 256 * 1024 else 7)
    if coding == "gzip":
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress(body) + c.flush()
    raise ValueError(coding)


async def compress_stream(chunks: AsyncIterable[bytes], coding: str) -> AsyncIterator[bytes]:
    """Compress a streamed body chunk by chunk; each chunk is flushed so bytes reach the client early."""
    if coding == "br":
        br = brotli.Compressor(quality=4)
        async for chunk in chunks:
            out = br.process(chunk) + br.flush()
            if out:
                yield out
        yield br.finish()
    else:
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        async for chunk in chunks:
            out = gz.compress(chunk) + gz.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
        yield gz.flush()
