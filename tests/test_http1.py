"""The strict one-read response reader (edgenode/origins/http1.py) against httptools (llhttp)."""

from __future__ import annotations

import httptools
from hypothesis import given, settings
from hypothesis import strategies as st

from edgenode.origins.http1 import read_simple_response

NGINX = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 18:00:00 GMT\r\n"
         b"Content-Type: application/json\r\nContent-Length: 5\r\nLast-Modified: Thu, 26 Nov 2026 17:00:00 GMT\r\n"
         b"Connection: keep-alive\r\nETag: \"x\"\r\nAccept-Ranges: bytes\r\n\r\nhello")


def read(data: bytes):
    return read_simple_response(data, 100, 64 * 1024)


def llhttp(data: bytes) -> tuple[int, list[tuple[str, str]], bool, bytes] | None:
    """What httptools makes of `data` as one response: None if it refuses it or it is not complete."""

    class Sink:
        def __init__(self) -> None:
            self.headers: list[tuple[str, str]] = []
            self.body = b""
            self.done = False
            self.keep_alive = False

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

        def on_headers_complete(self) -> None:
            self.keep_alive = parser.should_keep_alive()

        def on_body(self, data: bytes) -> None:
            self.body += data

        def on_message_complete(self) -> None:
            self.done = True

    sink = Sink()
    parser = httptools.HttpResponseParser(sink)
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        return None
    if not sink.done:
        return None
    return parser.get_status_code(), sink.headers, sink.keep_alive, sink.body


def test_a_typical_answer_is_read_whole():
    r = read(NGINX)
    assert r is not None
    assert (r.status, r.body, r.keep_alive) == (200, b"hello", True)
    assert [k for k, _ in r.headers] == ["Server", "Date", "Content-Type", "Content-Length", "Last-Modified",
                                         "Connection", "ETag", "Accept-Ranges"]
    assert "Connection" not in [k for k, _ in r.end_to_end] and len(r.end_to_end) == 7
    assert r.connection == ["keep-alive"]
    assert llhttp(NGINX) == (r.status, r.headers, r.keep_alive, r.body)


def test_connection_close_and_hop_by_hop():
    r = read(b"HTTP/1.1 404 Not Found\r\nConnection: x-a, close\r\nX-A: 1\r\nKeep-Alive: t=5\r\n"
             b"Proxy-Foo: p\r\nContent-Length: 0\r\n\r\n")
    assert r is not None and r.status == 404 and not r.keep_alive and r.body == b""
    assert r.end_to_end == [("X-A", "1"), ("Content-Length", "0")]  # Connection-named ones: the proxy's job
    assert r.connection == ["x-a, close"]


def test_everything_else_is_declined():
    declined = [
        NGINX[:-1],  # body still in flight
        NGINX + b"x",  # bytes after the body
        NGINX.replace(b"\r\n\r\n", b"\r\n"),  # head incomplete
        NGINX.replace(b"HTTP/1.1", b"HTTP/1.0"),
        NGINX.replace(b"200 OK", b"204 No Content"),
        NGINX.replace(b"200 OK", b"304 Not Modified"),
        NGINX.replace(b"200 OK", b"100 Continue"),
        NGINX.replace(b"Content-Length: 5", b"Transfer-Encoding: chunked"),
        NGINX.replace(b"Content-Length: 5\r\n", b""),  # close-delimited
        NGINX.replace(b"Content-Length: 5", b"Content-Length: 5\r\nContent-Length: 5"),
        NGINX.replace(b"Content-Length: 5", b"Content-Length: +5"),
        NGINX.replace(b"Content-Length: 5", b"Content-Length: 1" + b"0" * 40),
        NGINX.replace(b"Server: nginx", b"Server: nginx\r\n folded"),  # obs-fold
        NGINX.replace(b"Server: nginx", b"Ser ver: nginx"),
        NGINX.replace(b"Server: nginx", b"Server: ngi\x00nx"),
        NGINX.replace(b"Server: nginx", b"Server: ngi\rnx"),
        NGINX.replace(b"Server: nginx", b"Server: ngi\nnx"),
    ]
    for data in declined:
        assert read(data) is None, data
    many = b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 101 + b"Content-Length: 0\r\n\r\n"
    assert read(many) is None
    big = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 70_000 + b"\r\nContent-Length: 0\r\n\r\n"
    assert read(big) is None


_NAMES = st.sampled_from([b"Server", b"Content-Type", b"Content-Length", b"content-length", b"Connection",
                          b"Transfer-Encoding", b"Keep-Alive", b"Proxy-X", b"X-A", b"Set-Cookie", b"X y", b"",
                          b"X-\xe9", b"Upgrade"])
_VALUES = st.one_of(
    st.sampled_from([b"close", b"keep-alive", b"chunked", b"0", b"5", b" 5 ", b"5 ", b"-1", b"x, close", b"a\tb",
                     b"\xe9t\xe9", b"", b"  ", b"\x7f", b"v\r\n w"]),
    st.binary(max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(status=st.sampled_from([b"200 OK", b"201 Created", b"301 X", b"404 ", b"500", b"503 Unavailable",
                               b"204 No Content", b"099 X", b"2000 X", b"200\tOK"]),
       version=st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.1", b"HTTP/2.0"]),
       headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=6),
       body=st.binary(max_size=8), extra=st.sampled_from([b"", b"", b"x"]), framed=st.booleans(),
       at=st.integers(0, 6))
def test_accepted_responses_read_as_llhttp_reads_them(status, version, headers, body, extra, framed, at):
    if framed:  # most accepted answers need a Content-Length that matches
        headers.insert(min(at, len(headers)), (b"Content-Length", str(len(body)).encode()))
    data = version + b" " + status + b"\r\n" + b"".join(k + b":" + v + b"\r\n" for k, v in headers) + b"\r\n"
    data += body + extra
    r = read(data)
    if r is None:
        return
    assert llhttp(data) == (r.status, r.headers, r.keep_alive, r.body)


_TOKENS = st.text(alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  min_size=1, max_size=12)
_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                max_size=12).map(lambda s: s.encode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(code=st.integers(200, 599), reason=_TEXT, headers=st.lists(st.tuples(_TOKENS, _TEXT), max_size=8),
       body=st.binary(max_size=64), at=st.integers(0, 8), close=st.booleans())
def test_well_formed_answers_are_read_and_match_llhttp(code, reason, headers, body, at, close):
    pairs = [(k.encode(), v) for k, v in headers
             if k.lower() not in ("content-length", "transfer-encoding", "connection")]
    pairs.insert(min(at, len(pairs)), (b"Content-Length", b" %d" % len(body)))
    if close:
        pairs.append((b"Connection", b"close"))
    data = b"HTTP/1.1 %d %s\r\n" % (code, reason) + b"".join(k + b": " + v + b"\r\n" for k, v in pairs)
    data += b"\r\n" + body
    r = read(data)
    if code in (204, 304):
        assert r is None
        return
    assert r is not None, data
    assert r.keep_alive is not close
    assert llhttp(data) == (r.status, r.headers, r.keep_alive, r.body)
