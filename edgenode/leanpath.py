"""Lean path: plain GET/HEAD requests parsed and answered without aiohttp's request machinery.

Measured on one pinned core: aiohttp's per-request path (request and response objects, the stream
writer, the handler task) costs ~60 us of the ~90 us a non-cached request takes, more than the
pipeline itself. Every request that is not a remembered fast-path answer (fastpath.py) and is a
*plain* GET or HEAD takes this path instead: the connection protocol parses the head, runs the same
`server.answer` as the aiohttp handler, and writes the response itself.

"Plain" is decided conservatively, so that this parser never accepts what aiohttp's would refuse
or read differently: HTTP/1.1, an origin-form ASCII target, token header names, header values of
visible ASCII, no Connection/Expect/Upgrade/Content-Length/Transfer-Encoding header, no duplicate
singleton header (Host, Authorization, ...), no line over aiohttp's field limit. Anything else goes
to aiohttp untouched. The response bytes are the ones aiohttp writes for the same response (same
header order and defaults; tests compare the two paths byte for byte).

Pure code: no aiohttp imports here (the protocol glue lives in fastpath.py).
"""

from __future__ import annotations

import re
from http import HTTPStatus

from multidict import CIMultiDict, CIMultiDictProxy

HTTP11 = (1, 1)
MAX_FIELD = 8190  # aiohttp's max_field_size / max_line_size: longer lines go to aiohttp (431/414)
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/[\x21-\x7e]*) HTTP/1\.1")
# A header line as aiohttp parses it without complaint: token name, colon, OWS, visible ASCII value.
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*")
# Headers that change framing or connection handling: such requests are aiohttp's to handle.
_FRAMING = frozenset({b"connection", b"expect", b"upgrade", b"content-length", b"transfer-encoding",
                      b"keep-alive", b"proxy-connection", b"te", b"http2-settings"})
# aiohttp refuses a second one of these (400); leave such requests to it.
_SINGLETONS = frozenset({b"authorization", b"content-location", b"content-range", b"content-type", b"etag",
                         b"host", b"max-forwards", b"server", b"user-agent"})
_EMPTY_STATUS = frozenset({204, 304})
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}" for s in HTTPStatus}


class LeanRequest:
    """The parts of a request the server and the fast-path index read (duck-typed like aiohttp's)."""

    __slots__ = ("method", "raw_path", "headers", "raw_headers")
    version = HTTP11
    keep_alive = True
    secure = False
    body_exists = False
    scheme = "http"

    def __init__(self, method: str, raw_path: str, headers: CIMultiDictProxy[str],
                 raw_headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.method = method
        self.raw_path = raw_path
        self.headers = headers
        self.raw_headers = raw_headers


def parse_head(head: bytes, max_field: int = MAX_FIELD, max_headers: int = 128) -> LeanRequest | None:
    """`head` is a request head ending in CRLFCRLF; None unless it is plain (see the module doc).

    `max_field` and `max_headers` are the limits aiohttp's parser applies: a head over them goes to
    aiohttp, which refuses it the way it always has.
    """
    lines = head[:-4].split(b"\r\n")
    m = _REQUEST_LINE.fullmatch(lines[0])
    if m is None or len(lines[0]) > max_field or len(lines) > max_headers + 1:
        return None
    headers: CIMultiDict[str] = CIMultiDict()
    raw: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    for line in lines[1:]:
        h = _HEADER_LINE.fullmatch(line)
        if h is None or len(line) > max_field:
            return None
        name, value = h.group(1), h.group(2)
        low = name.lower()
        if low in _FRAMING:
            return None
        if low in _SINGLETONS:
            if low in seen:
                return None
            seen.add(low)
        raw.append((name, value))
        headers.add(name.decode("ascii"), value.decode("ascii"))
    return LeanRequest(m.group(1).decode("ascii"), m.group(2).decode("ascii"), CIMultiDictProxy(headers),
                       tuple(raw))


# -- response heads ---------------------------------------------------------------------------------

def response_head(method: str, status: int, headers: CIMultiDict[str], length: int | None,
                  date: str, server: str, serialize, keep_alive: bool = True) -> bytes:
    """The status line and headers aiohttp writes for this response to a keep-alive HTTP/1.1 request.

    `length` is the body length (None: a stream of unknown length, sent chunked); `keep_alive`
    False: the connection ends after this response (Connection: close). `headers` is
    changed in place (Content-Length, Transfer-Encoding, defaults), as aiohttp changes its own.
    Mirrors web.Response._start / StreamResponse._prepare_headers (aiohttp 3.x).
    """
    empty = status in _EMPTY_STATUS or status < 200 or method == "HEAD"
    if length is None:
        headers.popall("Content-Length", None)
        if not empty:
            headers["Transfer-Encoding"] = "chunked"
    elif status in _EMPTY_STATUS or status < 200:
        headers.popall("Content-Length", None)
    else:
        headers["Content-Length"] = str(length)
    if empty:
        headers.popall("Transfer-Encoding", None)
    elif length != 0:
        headers.setdefault("Content-Type", "application/octet-stream")
    if "Date" not in headers:
        headers["Date"] = date
    headers.setdefault("Server", server)
    if not keep_alive and "Connection" not in headers:
        headers["Connection"] = "close"
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} "
    return serialize(line, headers)


def chunk_frame(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
