"""The fast path answers exactly what the slow path answers: compared byte for byte on the wire.

Each case sends the same raw request three times on one keep-alive connection: a miss (stored),
a hit through the pipeline (remembered), and the repeat, answered from prepared bytes. Responses
2 and 3 must be identical except for the per-request values (Date, X-Nf-Request-Id, Age).
"""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.conftest import raw_request, status_of

PAGE = ("<!doctype html><title>t</title>" + "<p>fast path</p>" * 200).encode()
SITE = {
    "index.html": PAGE,
    "about.html": "<h1>about</h1>",
    "blog/index.html": "<h1>blog</h1>",
    "404.html": "<h1>custom 404</h1>",
    "img/pixel.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
    "other.html": "<h1>other</h1>" * 100,
}
_VOLATILE = re.compile(rb"^(Date|X-Nf-Request-Id|Age): .*$", re.M | re.I)


class Conn:
    """One keep-alive connection speaking raw HTTP/1.1; reads responses framed by Content-Length."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_response(self, method: str = "GET") -> bytes:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        end = self.buf.index(b"\r\n\r\n") + 4
        head = self.buf[:end]
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"\r\ncontent-length: (\d+)", head, re.I)
        length = int(m.group(1)) if m and method != "HEAD" and status not in (204, 304) else 0
        while len(self.buf) < end + length:
            self._more()
        out, self.buf = self.buf[:end + length], self.buf[end + length:]
        return out

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


def masked(raw: bytes) -> bytes:
    return _VOLATILE.sub(lambda m: m.group(1) + b": *", raw)


def request(path: str, method: str = "GET", headers: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: example.test\r\n{headers}\r\n".encode()


@pytest.fixture
def server(edgenode, make_site):
    return edgenode(make_site(SITE))


def served(srv) -> int:
    return srv.server.fast.served


CASES = [
    ("/", "GET", ""),
    ("/", "HEAD", ""),
    ("/", "GET", "Accept-Encoding: gzip\r\n"),
    ("/", "GET", "Accept-Encoding: br, gzip\r\n"),
    ("/", "HEAD", "Accept-Encoding: gzip\r\n"),
    ("/img/pixel.png", "GET", ""),
    ("/missing", "GET", "Accept: text/html\r\n"),
    ("/about/", "GET", ""),  # pretty-URL 301
    ("/blog?x=1", "GET", ""),  # 301 keeping the query
    ("/", "GET", "Range: bytes=0-\r\n"),
]


@pytest.mark.parametrize(("path", "method", "headers"), CASES)
def test_fast_answer_equals_slow_answer(server, path, method, headers):
    c = Conn(server.url)
    try:
        req = request(path, method, headers)
        answers = []
        for _ in range(3):
            before = served(server)
            c.send(req)
            answers.append(c.read_response(method))
        assert served(server) == before + 1, "the third request was not answered by the fast path"
        assert masked(answers[2]) == masked(answers[1])
        assert b"X-Nf-Request-Id: " in answers[2]
        ids = {re.search(rb"X-Nf-Request-Id: (\w+)", a).group(1) for a in answers}
        assert len(ids) == 3
    finally:
        c.close()


def test_conditional_request_304_from_fast_path(server):
    c = Conn(server.url)
    try:
        c.send(request("/"))
        etag = re.search(rb"ETag: (\S+)", c.read_response()).group(1).decode()
        req = request("/", headers=f"If-None-Match: {etag}\r\n")
        answers = []
        for _ in range(3):
            c.send(req)
            answers.append(c.read_response())
        assert answers[2].startswith(b"HTTP/1.1 304 ")
        assert masked(answers[2]) == masked(answers[1])
    finally:
        c.close()


def test_partial_range_is_not_remembered_but_correct(server):
    c = Conn(server.url)
    try:
        req = request("/", headers="Range: bytes=10-19\r\n")
        for _ in range(3):
            c.send(req)
            raw = c.read_response()
            assert raw.startswith(b"HTTP/1.1 206 ") and raw.endswith(PAGE[10:20])
        assert served(server) == 0
    finally:
        c.close()


def test_pipelined_mix_keeps_order(server):
    c = Conn(server.url)
    try:
        for p in ("/", "/about/", "/other.html"):  # fill the cache and the fast index
            for _ in range(2):
                c.send(request(p))
                c.read_response()
        fast_before = served(server)
        batch = (request("/") + request("/about/") + request("/about.html") + request("/")
                 + request("/other.html") + request("/missing-too"))
        c.send(batch)
        got = [c.read_response() for _ in range(6)]
        assert got[0].endswith(PAGE)
        assert got[1].startswith(b"HTTP/1.1 301 ") and b"Location: /about\r\n" in got[1]
        assert got[2].endswith(b"<h1>about</h1>")
        assert got[3].endswith(PAGE)
        assert got[4].endswith(b"<h1>other</h1>" * 100)
        assert got[5].startswith(b"HTTP/1.1 404 ")
        assert served(server) >= fast_before + 2  # the leading two at least
        # Back to idle: a remembered request is fast again on the same connection.
        before = served(server)
        c.send(request("/other.html"))
        assert c.read_response().endswith(b"<h1>other</h1>" * 100)
        assert served(server) == before + 1
    finally:
        c.close()


def test_request_split_across_packets(server):
    c = Conn(server.url)
    try:
        req = request("/")
        for _ in range(2):
            c.send(req)
            c.read_response()
        before = served(server)
        for piece in (req[:3], req[3:20], req[20:]):  # aiohttp answers it; the connection stays usable
            c.send(piece)
            time.sleep(0.05)
        assert c.read_response().endswith(PAGE)
        assert served(server) == before
        c.send(req)  # back at a request boundary: fast again
        assert c.read_response().endswith(PAGE)
        assert served(server) == before + 1
    finally:
        c.close()


def test_bare_lf_request_is_left_to_aiohttp(server):
    raw = raw_request(server.url, b"GET / HTTP/1.1\nHost: example.test\n\n", timeout=3)
    assert status_of(raw) == 400


def test_body_request_on_the_connection_goes_slow_and_stays_correct(server):
    c = Conn(server.url)
    try:
        for _ in range(2):
            c.send(request("/"))
            c.read_response()
        c.send(b"POST /other.html HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nGET /")
        c.read_response()
        before = served(server)
        c.send(request("/"))
        assert c.read_response().endswith(PAGE)
        assert served(server) == before  # this connection no longer trusts its own framing view
    finally:
        c.close()


def test_get_with_body_is_never_remembered(server):
    c = Conn(server.url)
    try:
        req = b"GET / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 4\r\n\r\nabcd"
        for _ in range(3):
            c.send(req)
            assert c.read_response().endswith(PAGE)
        assert served(server) == 0
    finally:
        c.close()


def test_deploy_change_is_never_served_stale(edgenode, make_site):
    site = make_site({"index.html": "<h1>one</h1>"})
    srv = edgenode(site)
    c = Conn(srv.url)
    try:
        for _ in range(3):
            c.send(request("/"))
            assert c.read_response().endswith(b"<h1>one</h1>")
        assert served(srv) == 1
        (site / "index.html").write_text("<h1>two</h1>")
        deadline = time.monotonic() + 10
        while True:
            c.send(request("/"))
            body = c.read_response()
            if body.endswith(b"<h1>two</h1>") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert body.endswith(b"<h1>two</h1>")
    finally:
        c.close()


def test_evicted_entry_is_not_served(edgenode, make_site):
    big = b"x" * 3000
    pages = {f"{n}.html": big for n in "abcde"}
    srv = edgenode(make_site(pages), cache_size=16000)  # room for four of the five pages
    c = Conn(srv.url)
    try:
        for _ in range(2):
            c.send(request("/a.html"))
            c.read_response()
        for p in ("/b.html", "/c.html", "/d.html", "/e.html"):  # push a.html out
            c.send(request(p))
            c.read_response()
        before = served(srv)
        c.send(request("/a.html"))
        raw = c.read_response()
        assert served(srv) == before
        assert b'Cache-Status: "edgenode"; fwd=miss; stored' in raw and raw.endswith(big)
    finally:
        c.close()


def test_fast_path_can_be_turned_off(edgenode, make_site):
    srv = edgenode(make_site(SITE), extra={"fast_path": False})
    c = Conn(srv.url)
    try:
        for _ in range(3):
            c.send(request("/"))
            assert c.read_response().endswith(PAGE)
        assert served(srv) == 0
    finally:
        c.close()


def test_connection_close_and_http10_are_left_to_aiohttp(server):
    for req in (request("/", headers="Connection: close\r\n"), b"GET / HTTP/1.0\r\nHost: example.test\r\n\r\n"):
        for _ in range(3):
            c = Conn(server.url)
            try:
                c.send(req)
                assert c.read_response().endswith(PAGE)
            finally:
                c.close()
    assert served(server) == 0



HANDLER = """export function onRequest(event) {
  event.replaceResponse(() => new Response("dynamic " + Math.random(), { headers: { "content-type": "text/plain" } }));
}
"""


def test_handler_paths_never_take_the_fast_path(edgenode, make_site):
    pytest.importorskip("edgenode.handlers.runtime")
    site = make_site({
        "index.html": PAGE,
        "b.html": "<h1>b</h1>",
        "netlify/edge-handlers/dyn.js": HANDLER,
        "netlify.toml": '[build]\n  publish = "."\n\n[[edge_handlers]]\n  handler = "dyn"\n  path = "/a"\n',
        "_redirects": "/r  /b.html  200  EdgeHandler=dyn\n",
    })
    srv = edgenode(site)
    c = Conn(srv.url)
    try:
        for path in ("/a", "/r"):
            bodies = set()
            for _ in range(4):
                c.send(request(path))
                bodies.add(c.read_response().rpartition(b"\r\n\r\n")[2])
            assert len(bodies) == 4 and all(b.startswith(b"dynamic ") for b in bodies), path
        assert served(srv) == 0
        for _ in range(3):  # a page no handler is declared on is fast as usual
            c.send(request("/"))
            assert c.read_response().endswith(PAGE)
        assert served(srv) == 1
    finally:
        c.close()


def _same_answers(srv, c: Conn, req: bytes) -> bytes:
    """Send `req` three times; the third must be a fast answer equal to the second. Returns it."""
    answers = []
    for _ in range(3):
        before = served(srv)
        c.send(req)
        answers.append(c.read_response())
    assert served(srv) == before + 1
    assert masked(answers[2]) == masked(answers[1])
    return answers[2]


def test_rule_outcomes_are_keyed_by_everything_they_read(edgenode, make_site):
    pytest.importorskip("edgenode.config.redirects")
    site = make_site({
        "index.html": PAGE,
        "us.html": "<h1>us</h1>",
        "fr.html": "<h1>fr</h1>",
        "_redirects": "/geo  /us.html  302  Country=us\n/lang  /fr.html  200!  Language=fr\n"
                      "/old/*  /new/:splat  301\n",
        "_headers": "/*\n  X-Rule-Header: from _headers\n",
    })
    srv = edgenode(site, trust_geo_header="X-Test-Country")
    c = Conn(srv.url)
    try:
        us = _same_answers(srv, c, request("/geo", headers="X-Test-Country: us\r\n"))
        assert us.startswith(b"HTTP/1.1 302 ")
        de = _same_answers(srv, c, request("/geo", headers="X-Test-Country: de\r\n"))
        assert de.startswith(b"HTTP/1.1 404 ")
        fr = _same_answers(srv, c, request("/lang", headers="Accept-Language: fr-FR\r\n"))
        assert fr.endswith(b"<h1>fr</h1>") and b"X-Rule-Header: from _headers\r\n" in fr
        en = _same_answers(srv, c, request("/lang", headers="Accept-Language: en\r\n"))
        assert en.startswith(b"HTTP/1.1 404 ")
        cookie = _same_answers(srv, c, request("/geo", headers="Cookie: nf_country=us\r\n"))
        assert cookie.startswith(b"HTTP/1.1 302 ")
        moved = _same_answers(srv, c, request("/old/a?b=c"))
        assert moved.startswith(b"HTTP/1.1 301 ") and b"/new/a?b=c\r\n" in moved
        page = _same_answers(srv, c, request("/"))
        assert b"X-Rule-Header: from _headers\r\n" in page and page.endswith(PAGE)
    finally:
        c.close()


def test_requests_with_credentials_are_never_remembered(edgenode, make_site):
    pytest.importorskip("edgenode.config.headers")
    site = make_site({"index.html": PAGE, "private/index.html": "<h1>secret</h1>",
                      "_headers": "/private/*\n  Basic-Auth: user:pass\n"})
    srv = edgenode(site)
    c = Conn(srv.url)
    try:
        ok = request("/private/", headers="Authorization: Basic dXNlcjpwYXNz\r\n")
        for _ in range(3):
            c.send(ok)
            assert c.read_response().endswith(b"<h1>secret</h1>")
        for _ in range(3):
            c.send(request("/private/"))
            assert c.read_response().startswith(b"HTTP/1.1 401 ")
        assert served(srv) == 0
    finally:
        c.close()


def test_fast_answers_are_logged_like_slow_ones(edgenode, make_site):
    import logging

    from edgenode import accesslog

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    srv = edgenode(make_site(SITE), quiet=False)
    handler = Collect()
    accesslog.access.addHandler(handler)
    c = Conn(srv.url)
    try:
        for _ in range(3):
            c.send(request("/"))
            c.read_response()
        assert served(srv) == 1
        deadline = time.monotonic() + 5
        while len(lines) < 3 and time.monotonic() < deadline:  # the server thread logs after it writes
            time.sleep(0.01)
        # time, method, path, status, bytes, duration, cache status: all but time and duration agree
        fields = [line.split(" ") for line in lines[1:3]]
        assert len(fields) == 2
        assert [f[1:5] + f[6:] for f in fields][0] == [f[1:5] + f[6:] for f in fields][1]
        assert fields[1][1:5] == ["GET", "/", "200", f"{len(PAGE)}B"]
    finally:
        accesslog.access.removeHandler(handler)
        c.close()


def test_index_is_bounded(edgenode, make_site, monkeypatch):
    from edgenode import fastpath

    monkeypatch.setattr(fastpath, "INDEX_MAX", 3)
    srv = edgenode(make_site({f"p{i}.html": f"<h1>{i}</h1>" for i in range(6)}))
    c = Conn(srv.url)
    try:
        for i in range(6):
            for _ in range(2):
                c.send(request(f"/p{i}.html"))
                c.read_response()
        index = srv.server.fast
        assert len(index.replies) == 3
        assert index.bytes == sum(r.size for r in index.replies.values())
        assert list(index.replies) == [request(f"/p{i}.html") for i in (3, 4, 5)]  # oldest forgotten first
    finally:
        c.close()


def test_absolute_form_target_is_left_to_the_slow_path(server):
    c = Conn(server.url)
    try:
        req = b"GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n"
        for _ in range(3):
            c.send(req)
            assert c.read_response().endswith(PAGE)
        assert served(server) == 0
    finally:
        c.close()
