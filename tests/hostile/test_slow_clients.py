"""Slow and idle clients: header, body and keep-alive timeouts, and the connection cap."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from aiohttp.streams import StreamReader

from edgenode.limits import BodyTimeout, body_chunks
from tests.hostile.conftest import SITE, assert_serving, first_status, host_port

H = b"Host: a.example\r\n"
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEPALIVE_TIMEOUT = 1.5


@pytest.fixture
def slow_server(edgenode, make_site):
    return edgenode(make_site(SITE), header_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT,
                    keepalive_timeout=KEEPALIVE_TIMEOUT)


def guard(srv):
    return srv.server.runner.server  # the GuardedServer: counters of what it refused


def read_until_closed(s: socket.socket, limit: float) -> tuple[bytes, float]:
    """Read until the server closes; returns (bytes, seconds waited)."""
    t0 = time.monotonic()
    s.settimeout(limit)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (ConnectionResetError, TimeoutError):
        pass
    return b"".join(chunks), time.monotonic() - t0


def trickle(url: str, data: bytes, interval: float, stop_after: float) -> tuple[bytes, float, bool]:
    """Send data one byte per interval; return (answer, seconds until closed, whether it closed)."""
    s = socket.create_connection(host_port(url))
    t0 = time.monotonic()
    s.setblocking(True)
    try:
        for b in data:
            if time.monotonic() - t0 > stop_after:
                break
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(interval)
            try:
                got = s.recv(65536)
                rest, _ = read_until_closed(s, 2)
                return got + rest, time.monotonic() - t0, True
            except TimeoutError:
                continue
        rest, _ = read_until_closed(s, 3)
        return rest, time.monotonic() - t0, True
    finally:
        s.close()


def test_slowloris_headers_cut_off_with_408(slow_server):
    request = b"GET /about HTTP/1.1\r\n" + H + b"X-Slow: " + b"a" * 100 + b"\r\n\r\n"
    answer, took, _ = trickle(slow_server.url, request, interval=0.25, stop_after=6)
    assert first_status(answer) == 408, answer[:200]
    assert HEADER_TIMEOUT - 0.1 <= took < HEADER_TIMEOUT + 1.0, took
    assert guard(slow_server).rejected[408] >= 1
    assert_serving(slow_server.url)


def test_slowloris_one_byte_a_second(slow_server):
    answer, took, _ = trickle(slow_server.url, b"GET / HTTP/1.1\r\n" + H + b"\r\n", interval=1.0, stop_after=6)
    assert first_status(answer) == 408 and took < HEADER_TIMEOUT + 1.5, (answer[:100], took)


def test_slowloris_on_a_keepalive_connection(slow_server):
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        s.sendall(b"GET /about HTTP/1.1\r\n" + H + b"\r\n")
        s.settimeout(2)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"<h1>about</h1>")
        t0 = time.monotonic()
        for b in b"GET / HTTP/1.1\r\nHo":
            s.sendall(bytes([b]))
            time.sleep(0.1)
        rest, _ = read_until_closed(s, 5)
        took = time.monotonic() - t0
    assert first_status(rest) == 408 and took < HEADER_TIMEOUT + 1.0, (rest[:100], took)


def test_headers_sent_slowly_but_in_time_are_served(slow_server):
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        for part in (b"GET /abo", b"ut HTTP/1.1\r\n", b"Host: a.exa", b"mple\r\nConnection: close\r\n", b"\r\n"):
            s.sendall(part)
            time.sleep(0.12)
        answer, _ = read_until_closed(s, 3)
    assert first_status(answer) == 200 and answer.endswith(b"<h1>about</h1>")


def test_silent_connection_closed_after_header_timeout(slow_server):
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        answer, took = read_until_closed(s, 5)
    assert answer == b"" and took < HEADER_TIMEOUT + 1.0


def test_idle_keepalive_connection_closed(slow_server):
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        s.sendall(b"GET /about HTTP/1.1\r\n" + H + b"\r\n")
        s.settimeout(2)
        assert s.recv(65536).endswith(b"<h1>about</h1>")
        answer, took = read_until_closed(s, 6)
    assert answer == b"" and KEEPALIVE_TIMEOUT - 0.2 <= took < KEEPALIVE_TIMEOUT + 1.5, took


def test_keepalive_connection_in_use_stays_open(slow_server):
    # Requests spaced below the keep-alive timeout reuse one connection for longer than the timeout.
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        s.settimeout(2)
        for _ in range(4):
            s.sendall(b"GET /about HTTP/1.1\r\n" + H + b"\r\n")
            assert s.recv(65536).endswith(b"<h1>about</h1>")
            time.sleep(KEEPALIVE_TIMEOUT * 0.6)


def test_stalled_body_cut_off(slow_server):
    # The static origin does not read request bodies; the unread rest is drained for at most
    # body_timeout after the answer, then the connection is closed.
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        s.sendall(b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 1000\r\n\r\n" + b"x" * 10)
        answer, took = read_until_closed(s, 6)
    assert first_status(answer) in (200, 405), answer[:100]
    assert took < BODY_TIMEOUT + 1.5, took
    assert_serving(slow_server.url)


def test_trickled_body_cut_off(slow_server):
    s = socket.create_connection(host_port(slow_server.url))
    with s:
        s.sendall(b"POST /about HTTP/1.1\r\n" + H + b"Content-Length: 100000\r\n\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                s.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            s.settimeout(0.01)
            try:
                if s.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        took = time.monotonic() - t0
    assert closed and took < BODY_TIMEOUT + 2.0, took


async def test_body_chunks_idle_timeout():
    """The reader handed to origins: a stalled body raises BodyTimeout after the idle timeout."""
    loop = asyncio.get_running_loop()

    class Proto:
        _reading_paused = False
        connected = True

        def pause_reading(self, **kw):
            pass

        def resume_reading(self, **kw):
            pass

    reader = StreamReader(Proto(), 2**16, loop=loop)
    reader.feed_data(b"abc")
    got = []
    t0 = loop.time()
    with pytest.raises(BodyTimeout):
        async for chunk in body_chunks(reader, 0.3):
            got.append(chunk)
    assert got == [b"abc"] and 0.25 < loop.time() - t0 < 1.0
    reader2 = StreamReader(Proto(), 2**16, loop=loop)
    reader2.feed_data(b"x")
    reader2.feed_eof()
    assert [c async for c in body_chunks(reader2, 0.3)] == [b"x"]


def test_many_slowloris_connections_do_not_starve_others(slow_server):
    socks = []
    for _ in range(200):
        s = socket.create_connection(host_port(slow_server.url))
        s.sendall(b"GET / HTTP/1.1\r\nX: ")
        socks.append(s)
    try:
        for _ in range(5):
            assert_serving(slow_server.url)
        time.sleep(HEADER_TIMEOUT + 1.0)
        closed = 0
        for s in socks:
            s.settimeout(2)
            try:
                data = s.recv(65536)
                closed += data.startswith(b"HTTP/1.1 408") or data == b""
            except (ConnectionResetError, TimeoutError):
                closed += 1
        assert closed == len(socks)
    finally:
        for s in socks:
            s.close()
    assert_serving(slow_server.url)
    end = time.monotonic() + 3
    while guard(slow_server).open_connections > 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert guard(slow_server).open_connections == 0


def test_connection_cap_answers_503_then_recovers(edgenode, make_site):
    srv = edgenode(make_site(SITE), max_connections=20, header_timeout=5.0)
    held = [socket.create_connection(host_port(srv.url)) for _ in range(20)]
    try:
        time.sleep(0.2)
        raw = b""
        with socket.create_connection(host_port(srv.url)) as s:
            s.sendall(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            raw, _ = read_until_closed(s, 3)
        assert first_status(raw) == 503 and b"Connection: close" in raw
        assert guard(srv).rejected[503] >= 1
    finally:
        for s in held:
            s.close()
    end = time.monotonic() + 3
    while guard(srv).open_connections > 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert_serving(srv.url)


def test_serving_continues_while_slow_clients_wait(slow_server):
    """A request during an ongoing trickle is answered at once."""
    result = {}

    def slow():
        result["slow"] = trickle(slow_server.url, b"GET / HTTP/1.1\r\n" + H + b"\r\n", 0.3, 5)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    assert_serving(slow_server.url)
    assert time.monotonic() - t0 < 0.5
    t.join()
    assert first_status(result["slow"][0]) == 408
