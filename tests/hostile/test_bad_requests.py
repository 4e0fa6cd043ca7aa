"""Malformed requests: each gets a clean 4xx/5xx and a closed connection; the next request is served."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import assert_serving, exchange, first_status

H = b"Host: a.example\r\n"

# name -> (request bytes, acceptable statuses). Every one must also close the connection.
CASES: dict[str, tuple[bytes, set[int]]] = {
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", {414}),
    "query too long": (b"GET /?q=" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", {414}),
    "one header too long": (b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n", {431}),
    "header name too long": (b"GET / HTTP/1.1\r\n" + H + b"X" * 9000 + b": 1\r\n\r\n", {431}),
    "too many headers": (b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
                         {431}),
    "header block too large": (b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 4000)
                                                                   for i in range(20)) + b"\r\n", {431}),
    "invalid method chars": (b"G@T / HTTP/1.1\r\n" + H + b"\r\n", {400, 405, 501}),
    "method with space": (b"GE T / HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "lowercase unknown method": (b"get / HTTP/1.1\r\n" + H + b"\r\n", {400, 405, 501}),
    "HTTP/9.9": (b"GET / HTTP/9.9\r\n" + H + b"\r\n", {400, 505}),
    "HTTP/2.0 on HTTP/1 wire": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", {505}),
    "HTTP/0.9 (no version)": (b"GET /\r\n\r\n", {400, 505}),
    "garbage version": (b"GET / HTTX/1.1\r\n" + H + b"\r\n", {400}),
    "missing target": (b"GET HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "bare LF line endings": (b"GET / HTTP/1.1\nHost: a.example\n\n", {400}),
    "bare CR in header": (b"GET / HTTP/1.1\r\nHost: a.example\r\nX-A: b\rc\r\n\r\n", {400}),
    "obs-fold continuation": (b"GET / HTTP/1.1\r\n" + H + b"X-A: b\r\n c\r\n\r\n", {400}),
    "space before colon": (b"GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", {400}),
    "header without colon": (b"GET / HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n", {400}),
    "NUL in header value": (b"GET / HTTP/1.1\r\n" + H + b"X-A: b\x00c\r\n\r\n", {400}),
    "NUL in raw path": (b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "control char in path": (b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "raw non-ASCII bytes in path": (b"GET /\xff\xfe HTTP/1.1\r\n" + H + b"\r\n", {400}),
    "TLS handshake on plain port": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, {400}),
    "binary noise": (bytes(range(256)) * 4, {400}),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
}

# Paths the parser accepts but the node must refuse itself: 400, and the connection stays usable.
PATH_CASES = {
    "percent-encoded NUL": "/a%00b",
    "invalid UTF-8": "/%ff%fe",
    "truncated UTF-8": "/caf%c3",
    "overlong dot": "/%c0%ae%c0%ae/etc/passwd",
    "overlong slash": "/a%c0%afb",
    "3-byte overlong": "/%e0%80%ae",
    "surrogate half": "/%ed%a0%80",
    "malformed percent": "/a%zzb",
    "dangling percent": "/a%",
    "encoded slash": "/a%2fb",
    "encoded backslash": "/a%5cb",
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_and_closed(hostile_server, name):
    data, expected = CASES[name]
    raw, closed = exchange(hostile_server.url, data, timeout=5)
    status = first_status(raw)
    assert status in expected or (status == 0 and closed), (name, raw[:120])
    assert closed, f"{name}: the connection must be closed after a framing error"
    # A clean refusal: no echo of the offending input, no traceback.
    assert b"Traceback" not in raw and b"aaaaaaaaaa" not in raw
    if status:
        assert raw.startswith((b"HTTP/1.1 ", b"HTTP/1.0 "))
    assert_serving(hostile_server.url)


@pytest.mark.parametrize("name", list(PATH_CASES))
def test_bad_paths_get_400_and_connection_survives(hostile_server, name):
    path = PATH_CASES[name].encode()
    data = b"GET " + path + b" HTTP/1.1\r\n" + H + b"\r\nGET /about HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
    raw, _ = exchange(hostile_server.url, data)
    assert first_status(raw) == 400, (name, raw[:200])
    # The request after it on the same connection is answered normally (framing was intact).
    assert raw.count(b"HTTP/1.1 ") == 2 and raw.endswith(b"<h1>about</h1>"), raw[-200:]
    assert_serving(hostile_server.url)


def test_unknown_but_valid_method_is_answered(hostile_server):
    # A syntactically valid token method is not a parser error: it must get some HTTP answer, not a hang.
    raw, _ = exchange(hostile_server.url, b"BREW / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    assert 200 <= first_status(raw) < 600
    assert_serving(hostile_server.url)


def test_pipelined_good_requests_after_bad_are_not_processed(hostile_server):
    # After a framing error the connection closes: a request smuggled behind it is never answered.
    data = (b"GET / HTTP/1.1\r\nHost : a.example\r\n\r\n"
            b"GET /about HTTP/1.1\r\n" + H + b"\r\n")
    raw, closed = exchange(hostile_server.url, data)
    assert first_status(raw) == 400 and closed
    assert raw.count(b"HTTP/1.") == 1


def test_upgrade_not_switched_closes_connection(hostile_server):
    # An Upgrade the node does not take leaves aiohttp's parser "upgraded": later bytes on the same
    # connection would never be parsed. The node answers normally and then closes.
    data = (b"GET /about HTTP/1.1\r\n" + H + b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
            b"GET /blog/ HTTP/1.1\r\n" + H + b"\r\n")
    raw, closed = exchange(hostile_server.url, data, timeout=4)
    assert first_status(raw) == 200 and b"<h1>about</h1>" in raw
    assert closed and b"<h1>blog</h1>" not in raw
    assert_serving(hostile_server.url)
