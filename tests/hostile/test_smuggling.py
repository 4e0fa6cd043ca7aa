"""Request smuggling shapes: ambiguous framing is refused and the connection closed; nothing hidden in
a body or behind a bad message is ever answered as a request of its own."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import assert_serving, exchange, first_status, statuses

H = b"Host: a.example\r\n"
SMUGGLED = b"GET /blog/ HTTP/1.1\r\n" + H + b"\r\n"

AMBIGUOUS: dict[str, bytes] = {
    "CL then TE": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\n" + SMUGGLED,
    "TE then CL": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
                  b"0\r\n\r\n" + SMUGGLED,
    "two different CL": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 0\r\nContent-Length: 38\r\n\r\n" + SMUGGLED,
    "two equal CL": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + SMUGGLED,
    "CL list": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc" + SMUGGLED,
    "CL with plus": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc" + SMUGGLED,
    "CL negative": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n" + SMUGGLED,
    "CL hex": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nabc" + SMUGGLED,
    "CL overflow": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n" + SMUGGLED,
    "CL with junk": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 3x\r\n\r\nabc" + SMUGGLED,
    "TE xchunked": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "TE chunked, identity": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, identity\r\n\r\n"
                            b"0\r\n\r\n" + SMUGGLED,
    "TE identity": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n" + SMUGGLED,
    "TE twice": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\n" + SMUGGLED,
    "TE space before colon": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
                             + SMUGGLED,
    "TE vertical tab": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "TE on HTTP/1.0": b"POST /about HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "chunk size not hex": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
                          + SMUGGLED,
    "chunk size 0x prefix": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n"
                            b"0\r\n\r\n" + SMUGGLED,
    "chunk size negative": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n"
                           b"0\r\n\r\n" + SMUGGLED,
    "chunk size overflow": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
    "chunk data longer than size": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                                   b"3\r\nabcdef\r\n0\r\n\r\n" + SMUGGLED,
    "chunk line bare LF": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n"
                          + SMUGGLED,
    "chunk size with space": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n"
                             b"0\r\n\r\n" + SMUGGLED,
}


@pytest.mark.parametrize("name", list(AMBIGUOUS))
def test_ambiguous_framing_refused(hostile_server, name):
    raw, closed = exchange(hostile_server.url, AMBIGUOUS[name], timeout=4)
    assert first_status(raw) in (400, 501), (name, raw[:200])
    assert closed, f"{name}: connection left open after ambiguous framing"
    assert b"<h1>blog</h1>" not in raw, f"{name}: the smuggled request was answered"
    assert_serving(hostile_server.url)


# Valid framing that a naive parser gets wrong: the body is never read as a request.
VALID: dict[str, bytes] = {
    "GET with a body holding a request": b"GET /about HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
                                         + SMUGGLED,
    "POST body holding a request": b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
                                   + SMUGGLED,
    "chunked body holding a request": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                                      + b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n",
    "chunk extension": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3;name=val\r\nabc\r\n"
                       b"0\r\n\r\n",
    "chunked with trailer": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
                            b"0\r\nX-Trailer: 1\r\n\r\n",
    "TE in upper case": b"POST /about HTTP/1.1\r\n" + H + b"Transfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", list(VALID))
def test_valid_framing_body_is_not_a_request(hostile_server, name):
    data = VALID[name] + b"GET /css/site.css HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
    raw, _ = exchange(hostile_server.url, data, timeout=4)
    assert statuses(raw) == [200, 200], (name, raw[:300])
    assert b"<h1>blog</h1>" not in raw
    assert raw.endswith(b"body{color:red}")
