"""The lean path (plain GET/HEAD served without aiohttp's request machinery) answers exactly what
aiohttp's path answers: the same requests go to a node with the lean path and to one without it
(`fast_path: False` turns both the fast and the lean path off), compared byte for byte on the wire."""

from __future__ import annotations

import re
import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgenode.leanpath import parse_head
from tests.conftest import raw_request, status_of
from tests.test_fastpath import masked, request

PAGE = ("<!doctype html><title>t</title>" + "<p>lean path</p>" * 300).encode()
STREAM_HANDLER = """export function onRequest(event) {
  const enc = new TextEncoder();
  event.replaceResponse(() => new Response(new ReadableStream({
    start(c) { c.enqueue(enc.encode("first,")); c.enqueue(enc.encode("second,")); c.enqueue(enc.encode("third")); c.close(); },
  }), { status: 201, headers: { "content-type": "text/plain", "x-made-by": "handler" } }));
}
"""
HEADERS_HANDLER = """export function onResponse(event) {
  event.response.headers.set("x-seen", "yes");
}
"""
SITE = {
    "index.html": PAGE,
    "about.html": "<h1>about</h1>",
    "blog/index.html": "<h1>blog</h1>",
    "404.html": "<h1>custom 404</h1>",
    "big.bin": bytes(range(256)) * 4096 * 3,  # 3 MiB: served as a file body, not from memory
    "empty.txt": "",
    "seen.html": "<h1>seen</h1>",
    "_redirects": "/old  /new  301\n/gone  /  410!\n",
    "_headers": "/about.html\n  X-Frame-Options: DENY\n",
    "edge-handlers/stream.js": STREAM_HANDLER,
    "edge-handlers/seen.js": HEADERS_HANDLER,
    "netlify.toml": ('[[edge_handlers]]\n  handler = "stream"\n  path = "/stream"\n'
                     '[[edge_handlers]]\n  handler = "seen"\n  path = "/seen.html"\n'),
}


class Conn:
    """One keep-alive connection speaking raw HTTP/1.1; reads Content-Length and chunked bodies."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def _line(self, at: int) -> int:
        while self.buf.find(b"\r\n", at) < 0:
            self._need(len(self.buf) + 1)
        return self.buf.index(b"\r\n", at) + 2

    def read_response(self, method: str = "GET") -> bytes:
        while b"\r\n\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        end = self.buf.index(b"\r\n\r\n") + 4
        head = self.buf[:end]
        status = int(head.split(b" ", 2)[1])
        if method == "HEAD" or status in (204, 304):
            pos = end
        elif re.search(rb"\r\ntransfer-encoding: chunked", head, re.I):
            pos = end
            while True:
                line_end = self._line(pos)
                size = int(self.buf[pos:line_end - 2], 16)
                pos = line_end + size + 2
                self._need(pos)
                if size == 0:
                    break
        else:
            m = re.search(rb"\r\ncontent-length: (\d+)", head, re.I)
            pos = end + (int(m.group(1)) if m else 0)
            self._need(pos)
        out, self.buf = self.buf[:pos], self.buf[pos:]
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pair(edgenode, make_site):
    site = make_site(SITE)
    return edgenode(site), edgenode(site, extra={"fast_path": False})


def lean_served(srv) -> int:
    return srv.server.fast.lean_served


CASES = [
    ("/", "GET", ""),
    ("/", "HEAD", ""),
    ("/", "GET", "Accept-Encoding: gzip\r\n"),
    ("/", "GET", "Accept-Encoding: br\r\n"),
    ("/about.html", "GET", "X-Extra:  spaced value \r\n"),
    ("/missing", "GET", "Accept: text/html\r\n"),
    ("/missing", "HEAD", ""),
    ("/about/", "GET", ""),  # pretty-URL 301
    ("/old?x=1", "GET", ""),  # rule 301
    ("/gone", "GET", ""),  # forced 410
    ("/", "GET", "Range: bytes=10-99\r\n"),
    ("/", "GET", "Range: bytes=999999-\r\n"),  # 416
    ("/", "GET", 'If-None-Match: "nope", *\r\n'),  # 304
    ("/big.bin", "GET", ""),
    ("/big.bin", "HEAD", ""),
    ("/big.bin", "GET", "Range: bytes=100-199\r\n"),
    ("/empty.txt", "GET", ""),
    ("/stream", "GET", ""),  # a handler's stream: chunked
    ("/stream", "HEAD", ""),
    ("/seen.html", "GET", ""),  # onResponse changing headers
    ("/%2e%2e/etc/passwd", "GET", ""),  # refused before routing (400)
    ("/x", "GET", "Host: bad host\r\n"),  # invalid Host: a header line the lean path takes, a 400 answer
]


@pytest.mark.parametrize(("path", "method", "headers"), CASES)
def test_lean_answer_equals_aiohttp_answer(pair, path, method, headers):
    lean, plain = pair
    req = request(path, method, headers)
    if "Host: bad" in headers:
        req = f"{method} {path} HTTP/1.1\r\nHost: bad host\r\n\r\n".encode()
    answers = []
    for srv in (lean, plain):
        c = Conn(srv.url)
        try:
            c.send(req)
            first = c.read_response(method)
            try:  # the same request again on the same connection (a cache hit for cacheable pages)
                c.send(req)
                second = c.read_response(method)
            except ConnectionError:  # a refusal that ends the connection: both paths must end it
                second = b"closed"
            answers.append((masked(first), masked(second)))
        finally:
            c.close()
    assert answers[0] == answers[1]
    assert lean_served(plain) == 0
    assert lean_served(lean) >= 1


def test_pipelined_mix_keeps_order(pair):
    """Plain requests, one with a body (aiohttp's) and one with Connection: keep-alive, in one write."""
    lean, plain = pair
    reqs = (request("/about.html") + request("/stream")
            + b"POST /about.html HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc"
            + request("/") + request("/about.html", headers="Connection: keep-alive\r\n") + request("/missing"))
    methods = ["GET", "GET", "POST", "GET", "GET", "GET"]
    results = []
    for srv in (lean, plain):
        c = Conn(srv.url)
        try:
            c.send(reqs)
            results.append([masked(c.read_response(m)) for m in methods])
        finally:
            c.close()
    assert results[0] == results[1]
    statuses = [status_of(r) for r in results[0]]
    assert statuses[:2] == [200, 201] and statuses[3:] == [200, 200, 404]
    assert results[0][0].endswith(b"<h1>about</h1>")
    assert results[0][3].endswith(PAGE)


def test_request_split_across_packets_and_held_while_busy(pair):
    lean, _ = pair
    c = Conn(lean.url)
    try:
        req = request("/stream")
        c.send(req[:7])
        time.sleep(0.05)
        c.send(req[7:] + request("/about.html")[:20])  # the next head starts while the first is served
        time.sleep(0.05)
        c.send(request("/about.html")[20:])
        first = c.read_response()
        assert first.startswith(b"HTTP/1.1 201 ") and b"first," in first and b"third" in first
        assert c.read_response().endswith(b"<h1>about</h1>")
    finally:
        c.close()


def test_connection_close_is_answered_and_closed(pair):
    lean, _ = pair
    c = Conn(lean.url)
    try:
        c.send(request("/"))  # a plain request first: the lean path serves it
        assert c.read_response().endswith(PAGE)
        c.send(request("/about.html", headers="Connection: close\r\n"))  # then aiohttp's
        assert c.read_response().endswith(b"<h1>about</h1>")
        with pytest.raises(ConnectionError):
            c.read_response()
    finally:
        c.close()
    raw = raw_request(lean.url, request("/about.html", headers="Connection: close\r\n"))
    assert status_of(raw) == 200 and raw.endswith(b"<h1>about</h1>")


def test_client_gone_mid_body_leaves_the_node_serving(pair):
    lean, _ = pair
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", int(lean.url.rsplit(":", 1)[1])))
        s.sendall(request("/big.bin"))
        s.recv(1000)
        s.close()
    c = Conn(lean.url)
    try:
        c.send(request("/big.bin"))
        assert c.read_response().endswith(SITE["big.bin"])
    finally:
        c.close()


def test_slow_reader_gets_the_whole_body(pair):
    lean, _ = pair
    c = Conn(lean.url)
    try:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(request("/big.bin"))
        time.sleep(0.3)  # 3 MiB do not fit in the socket buffers: the server must wait for us
        assert c.read_response().endswith(SITE["big.bin"])
        c.send(request("/about.html"))
        assert c.read_response().endswith(b"<h1>about</h1>")
    finally:
        c.close()


# -- the head parser (pure) ---------------------------------------------------------------------------

def test_plain_head_is_parsed():
    req = parse_head(b"GET /a%20b?q=1 HTTP/1.1\r\nHost: x.test\r\nAccept:  text/html \r\nX-Empty:\r\n\r\n")
    assert req is not None
    assert (req.method, req.raw_path) == ("GET", "/a%20b?q=1")
    assert list(req.headers.items()) == [("Host", "x.test"), ("Accept", "text/html"), ("X-Empty", "")]


@pytest.mark.parametrize("head", [
    b"POST / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
    b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",  # obs-fold
    b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\x00y\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\x7fy\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n",
    b"GET / HTTP/1.1\r\nX(Y): 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
])
def test_anything_unusual_is_left_to_aiohttp(head):
    assert parse_head(head) is None


_TOKEN = st.text(alphabet="!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-",
                 min_size=1, max_size=12)
_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30)


@given(st.lists(st.tuples(_TOKEN, _VALUE), max_size=12), st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=40))
def test_parsed_headers_are_what_was_sent(fields, path):
    head = (f"GET /{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode()
    req = parse_head(head)
    names = [k.lower() for k, _ in fields]
    framing = {"connection", "expect", "upgrade", "content-length", "transfer-encoding", "keep-alive",
               "proxy-connection", "te", "http2-settings"}
    singletons = {"authorization", "content-location", "content-range", "content-type", "etag", "host",
                  "max-forwards", "server", "user-agent"}
    refused = framing & set(names) or any(names.count(s) > 1 for s in singletons)
    if refused:
        assert req is None
        return
    assert req is not None
    assert req.raw_path == f"/{path}"
    assert list(req.headers.items()) == [(k, v.strip(" \t")) for k, v in fields]
