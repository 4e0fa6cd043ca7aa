"""Last phases before writing: node headers, conditional and range requests, content encoding."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from edgenode import conditional as cond
from edgenode import encoding
from edgenode.exchange import EdgeResponse, FileBody

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode

SERVER = "Netlify"  # ST-4: the header Netlify's edge sends; see the README's compatibility table


def finish_headers(node: EdgeNode, ex: Exchange) -> None:
    resp = ex.response
    assert resp is not None
    h = resp.headers
    h["Server"] = SERVER
    h["X-Nf-Request-Id"] = ex.request_id  # PL-2
    h["Cache-Status"] = ex.cache_status or '"edgenode"; fwd=miss'
    if "age" in ex.notes:
        h["Age"] = str(ex.notes["age"])
    elif resp.kind == "static":
        h["Age"] = "0"


def _body_len(body) -> int | None:
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, FileBody):
        return body.length
    return None


def conditional(node: EdgeNode, ex: Exchange) -> None:
    resp = ex.response
    assert resp is not None
    req = ex.request
    if req.method not in ("GET", "HEAD") or resp.status != 200:
        return
    rh = req.headers
    if "If-None-Match" not in rh and "If-Modified-Since" not in rh and "Range" not in rh:
        return  # most requests: no validator or range to look at
    etag = resp.headers.get("ETag")
    last_mod = resp.headers.get("Last-Modified")
    if (etag or last_mod) and cond.not_modified(req.headers, etag, last_mod):
        keep = {k: v for k, v in resp.headers.items()
                if k.lower() in ("etag", "last-modified", "cache-control", "vary", "x-nf-request-id",
                                 "server", "cache-status", "age", "content-location", "expires")}
        resp.headers.clear()
        resp.headers.extend(keep)
        resp.status = 304
        resp.body = b""
        resp.precompressed = None
        return
    rng = req.headers.get("Range")
    size = _body_len(resp.body)
    if rng is None or size is None or resp.headers.get("Accept-Ranges") != "bytes":
        return
    if not cond.if_range_ok(req.headers, etag, last_mod):
        return
    try:
        span = cond.parse_range(rng, size)
    except cond.RangeNotSatisfiable:
        resp.status = 416
        resp.headers["Content-Range"] = f"bytes */{size}"
        resp.headers["Content-Type"] = "text/plain; charset=utf-8"
        resp.body = b"Range Not Satisfiable\n"
        resp.precompressed = None
        return
    if span is None:
        return
    start, end = span
    resp.status = 206
    resp.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if isinstance(resp.body, bytes):
        resp.body = resp.body[start:end + 1]
    else:
        assert isinstance(resp.body, FileBody)
        resp.body = dataclasses.replace(resp.body, offset=resp.body.offset + start, length=end - start + 1)
    resp.precompressed = None


def encode(node: EdgeNode, ex: Exchange) -> None:
    """PL-3: compress the final body when the client accepts it; hits reuse the cached encoding."""
    resp = ex.response
    assert resp is not None
    if resp.status in (204, 206, 304) or resp.status < 200 or "Content-Encoding" in resp.headers:
        return
    ctype = resp.headers.get("Content-Type")
    pre = resp.precompressed
    if not (pre or encoding.compressible(ctype)):
        return
    if "no-transform" in resp.headers.get("Cache-Control", ""):
        return
    _add_vary(resp)
    coding = encoding.negotiate(ex.request.headers.get("Accept-Encoding"))
    if coding is None:
        return
    if pre and coding in pre:
        resp.body = pre[coding]
        _set_encoded(resp, coding)
        return
    if pre and not encoding.compressible(ctype):
        coding = next((c for c in pre if encoding.negotiate(ex.request.headers.get("Accept-Encoding"), (c,))), None)
        if coding:
            resp.body = pre[coding]
            _set_encoded(resp, coding)
        return
    body = resp.body
    if isinstance(body, bytes):
        if len(body) < encoding.MIN_SIZE:
            return
        entry = ex.cache_entry
        if entry is not None and entry.body is body:
            data = entry.encoded.get(coding)
            if data is None:
                data = encoding.compress(body, coding)
                entry.encoded[coding] = data
                key = ex.notes.get("cache_key")
                if key is not None:
                    node.cache.resize(key[0], key[1], entry)
        else:
            data = encoding.compress(body, coding)
        resp.body = data
        _set_encoded(resp, coding)
    elif isinstance(body, FileBody):
        return  # large files go out as they are (sendfile); precompressed siblings cover them
    else:
        length = resp.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) < encoding.MIN_SIZE:
            return
        resp.body = encoding.compress_stream(body, coding)
        _set_encoded(resp, coding)


def _add_vary(resp: EdgeResponse) -> None:
    vary = resp.headers.get("Vary", "")
    if "accept-encoding" not in vary.lower():
        resp.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


def _set_encoded(resp: EdgeResponse, coding: str) -> None:
    resp.headers["Content-Encoding"] = coding
    resp.headers.popall("Content-Length", None)
    etag = resp.headers.get("ETag")
    if etag and etag.endswith('"'):
        # A different representation needs a different validator; If-None-Match strips the suffix.
        resp.headers["ETag"] = etag[:-1] + "-" + coding + '"'
