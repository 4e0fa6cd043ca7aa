"""The proxy's HTTP/1.1 client against small raw upstreams: keep-alive reuse, stale connections,
informational responses, broken HTTP, chunked bodies, and the same under uvloop."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict
from yarl import URL

from edgenode.origins.upstream_client import UpstreamBroken, UpstreamPool, UpstreamTimeout


async def raw_upstream(answer):
    """A TCP server that reads one request head at a time and lets `answer(head, writer)` reply."""
    connections = []

    async def on_conn(reader, writer):
        connections.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not await answer(head, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections


def counting(pool: UpstreamPool) -> list[int]:
    n = [0]
    original = pool._connect

    async def connect(*a):
        n[0] += 1
        return await original(*a)

    pool._connect = connect  # type: ignore[method-assign]
    return n


async def ok(head, reader, writer):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\nok")
    await writer.drain()
    return True


async def test_keep_alive_reuses_one_connection():
    server, base, _ = await raw_upstream(ok)
    pool = UpstreamPool(2, 2)
    n = counting(pool)
    for _ in range(20):
        r = await pool.request("GET", URL(base + "/x"), CIMultiDict(), None)
        assert r.status == 200 and r.headers.getall("X-A") == ["1", "2"] and await r.read() == b"ok"
    assert n[0] == 1
    await pool.aclose()
    server.close()


async def test_stale_pooled_connection_is_retried_once():
    async def once(head, reader, writer):
        await ok(head, reader, writer)
        return False  # close after each answer, without saying so

    server, base, _ = await raw_upstream(once)
    pool = UpstreamPool(2, 2)
    n = counting(pool)
    for _ in range(3):
        r = await pool.request("GET", URL(base + "/"), CIMultiDict(), None)
        assert await r.read() == b"ok"
    assert n[0] == 3
    await pool.aclose()
    server.close()


async def test_informational_responses_are_skipped():
    async def hints(head, reader, writer):
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                     b"HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz")
        return True

    server, base, _ = await raw_upstream(hints)
    pool = UpstreamPool(2, 2)
    r = await pool.request("GET", URL(base + "/"), CIMultiDict(), None)
    assert r.status == 201 and "Link" not in r.headers and await r.read() == b"z"
    await pool.aclose()
    server.close()


async def test_garbage_and_silence():
    async def garbage(head, reader, writer):
        writer.write(b"SMTP ready\r\n\r\n")
        return True

    async def silent(head, reader, writer):
        await asyncio.sleep(2)
        return False

    for answer, exc in ((garbage, UpstreamBroken), (silent, UpstreamTimeout)):
        server, base, _ = await raw_upstream(answer)
        pool = UpstreamPool(1, 0.3)
        with pytest.raises(exc):
            await pool.request("GET", URL(base + "/"), CIMultiDict(), None)
        await pool.aclose()
        server.close()


async def test_chunked_upload_and_chunked_download():
    async def echo(head, reader, writer):
        assert b"Transfer-Encoding: chunked" in head
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 7):
            part = body[i:i + 7]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
        writer.write(b"0\r\n\r\n")
        return True

    async def gen():
        for i in range(10):
            yield b"part%d;" % i

    server, base, _ = await raw_upstream(echo)
    pool = UpstreamPool(2, 2)
    r = await pool.request("POST", URL(base + "/"), CIMultiDict(), gen())
    assert r.content_length is None
    assert await r.read() == b"".join(b"part%d;" % i for i in range(10))
    await pool.aclose()
    server.close()


def test_under_uvloop():
    uvloop = pytest.importorskip("uvloop")

    async def main():
        server, base, _ = await raw_upstream(ok)
        pool = UpstreamPool(2, 2)
        n = counting(pool)
        for _ in range(5):
            r = await pool.request("GET", URL(base + "/"), CIMultiDict(), None)
            assert await r.read() == b"ok"
        assert n[0] == 1
        await pool.aclose()
        server.close()

    uvloop.run(main())


async def test_body_delimited_by_close():
    async def old_style(head, reader, writer):
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 100_000)
        await writer.drain()
        return False

    server, base, _ = await raw_upstream(old_style)
    pool = UpstreamPool(2, 2)
    r = await pool.request("GET", URL(base + "/"), CIMultiDict(), None)
    assert r.status == 200 and r.content_length is None and await r.read() == b"y" * 100_000
    await pool.aclose()
    server.close()


async def test_line_breaks_in_header_values_never_reach_the_upstream_as_lines():
    heads = []

    async def record(head, reader, writer):
        heads.append(head)
        return await ok(head, reader, writer)

    server, base, _ = await raw_upstream(record)
    pool = UpstreamPool(2, 2)
    try:
        r = await pool.request("GET", base + "/x?q=1", [("X-A", "1\r\nX-Evil: 1"), ("X-B", "2\nX-Evil: 2"),
                                                         ("X-C", "3\r")], None)
        assert r.status == 200 and await r.read() == b"ok"
        r = await pool.request("GET", base + "/y", [("X-D", "4")], None)
        assert await r.read() == b"ok"
    finally:
        await pool.aclose()
        server.close()
    lines = heads[0].split(b"\r\n")
    assert lines[0] == b"GET /x?q=1 HTTP/1.1"
    assert b"X-A: 1X-Evil: 1" in lines and b"X-B: 2X-Evil: 2" in lines and b"X-C: 3" in lines
    assert not any(line.startswith(b"X-Evil") for line in lines)
    assert heads[1].split(b"\r\n")[:3] == [b"GET /y HTTP/1.1", b"Host: 127.0.0.1:" + base.rsplit(":", 1)[1].encode(),
                                           b"X-D: 4"]
