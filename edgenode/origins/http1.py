"""A strict reader for the common upstream answer: one whole HTTP/1.1 response in one read.

Why: httptools calls back into Python once per header, and those callbacks were the proxy
client's largest cost for a small answer. A keep-alive upstream usually sends a small answer's
head and body in one segment; this reads such a response with one regular-expression check of the
whole head and a split. It declines (returns None) anything else: an incomplete read, 1xx, 204 and
304, chunked or close-delimited bodies, HTTP/1.0, a repeated Content-Length, obs-fold, bytes
outside the field syntax, more than the header limits, or bytes after the body. The caller then
feeds the bytes to httptools as before, so this never accepts what llhttp would refuse.

Pure code: no I/O, no asyncio.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# RFC 9110 7.6.1 hop-by-hop headers: never relayed by a proxy (nor Proxy-* ones).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "proxy-connection"})
_HOP_BY_HOP_BYTES = frozenset(h.encode() for h in HOP_BY_HOP)

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_FIELD_VALUE = rb"[\t\x20-\x7e\x80-\xff]*"
# Status line (2xx-5xx), then header lines, each with its CRLF in front; the CRLFCRLF is not included.
_HEAD = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9])(?: " + _FIELD_VALUE + rb")?((?:\r\n" + _TOKEN + rb":"
                   + _FIELD_VALUE + rb")*)")


class SimpleResponse(NamedTuple):
    status: int
    headers: list[tuple[str, str]]  # all of them, in order (values without leading whitespace)
    end_to_end: list[tuple[str, str]]  # the same without hop-by-hop and Proxy-* headers
    connection: list[str]  # values of the Connection headers
    keep_alive: bool
    body: bytes


def read_simple_response(data: bytes, max_headers: int, max_header_bytes: int) -> SimpleResponse | None:
    """`data` as one complete response with a Content-Length body, or None (see the module doc)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    m = _HEAD.fullmatch(data, 0, end)
    if m is None:
        return None
    status = int(m.group(1))
    block = m.group(2)
    if status == 204 or status == 304 or len(block) > max_header_bytes:
        return None
    lines = block.split(b"\r\n")
    if len(lines) - 1 > max_headers:
        return None
    headers: list[tuple[str, str]] = []
    end_to_end: list[tuple[str, str]] = []
    connection: list[str] = []
    length = None
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        value = value.lstrip(b" \t")  # as llhttp: leading whitespace goes, trailing stays
        low = name.lower()
        pair = (name.decode("latin-1"), value.decode("latin-1"))
        headers.append(pair)
        if low in _HOP_BY_HOP_BYTES or low.startswith(b"proxy-"):
            if low == b"transfer-encoding":
                return None
            if low == b"connection":
                connection.append(pair[1])
                if b"close" in [t.strip().lower() for t in value.split(b",")]:
                    keep_alive = False
            continue
        if low == b"content-length":
            value = value.rstrip(b" \t")
            if length is not None or not value.isdigit() or len(value) > 18:
                return None
            length = int(value)
        end_to_end.append(pair)
    if length is None or len(data) - end - 4 != length:
        return None
    return SimpleResponse(status, headers, end_to_end, connection, keep_alive, data[end + 4:])
