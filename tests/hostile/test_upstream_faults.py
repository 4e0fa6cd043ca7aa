"""Upstream faults behind a proxy rule: every one is answered within its timeout, never a hang, and
the node keeps serving. Ambiguous requests never reach the upstream."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.conftest import write_site
from tests.hostile.conftest import exchange, first_status

READ_TIMEOUT = 1.0


class HostileUpstream:
    """A raw TCP upstream: the path of the request picks the misbehaviour."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.AbstractServer | None = None
        self.url = ""
        self.closed_early = asyncio.Event()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                path = head.split(b" ", 2)[1].decode()
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                keep = await self._answer(path, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, path: str, w: asyncio.StreamWriter) -> bool:
        ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        if path.startswith("/ok"):
            w.write(ok + b"Content-Length: 8\r\n\r\nupstream")
        elif path.startswith("/reset-mid-body"):
            w.write(ok + b"Content-Length: 100000\r\n\r\n" + b"x" * 1000)
            await w.drain()
            await asyncio.sleep(0.1)
            w.transport.abort()
            return False
        elif path.startswith("/short-body"):
            w.write(ok + b"Content-Length: 100\r\n\r\n" + b"y" * 50)
            await w.drain()
            return False
        elif path.startswith("/slow-headers"):
            await asyncio.sleep(READ_TIMEOUT * 4)
            w.write(ok + b"Content-Length: 4\r\n\r\nlate")
        elif path.startswith("/slow-body"):
            w.write(ok + b"Content-Length: 10\r\n\r\nab")
            await w.drain()
            await asyncio.sleep(READ_TIMEOUT * 4)
            w.write(b"cdefghij")
        elif path.startswith("/endless"):
            w.write(ok + b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (65536, b"e" * 65536)
            try:
                for _ in range(100_000):  # 6.5 GB if nobody stops it
                    w.write(chunk)
                    await w.drain()
            except ConnectionError:
                self.closed_early.set()
            return False
        elif path.startswith("/garbage"):
            w.write(b"\x00\xffthis is not http at all\r\n\r\n")
        elif path.startswith("/bad-status"):
            w.write(b"HTTP/1.1 2x0 Maybe\r\nContent-Length: 2\r\n\r\nhi")
        elif path.startswith("/nul-header"):
            w.write(b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nhi")
        elif path.startswith("/cl-and-te"):
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled")
        elif path.startswith("/two-cl"):
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nhi")
        elif path.startswith("/header-flood"):
            w.write(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(5000))
                    + b"Content-Length: 2\r\n\r\nhi")
        elif path.startswith("/huge-header"):
            w.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nhi")
        elif path.startswith("/http09"):
            w.write(b"<html>no status line</html>")
            await w.drain()
            return False
        elif path.startswith("/close-without-answer"):
            return False
        elif path.startswith("/crlf-in-header"):
            w.write(b"HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: evil=1\r\nContent-Length: 2\r\n\r\nhi")
        else:
            w.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await w.drain()
        return True


@pytest.fixture
async def upstream():
    up = HostileUpstream()
    await up.start()
    yield up
    await up.stop()


@pytest.fixture
def proxied(edgenode, tmp_path, upstream):
    site = write_site(tmp_path / "site", {
        "index.html": "<h1>home</h1>",
        "about.html": "<h1>about</h1>",
        "_redirects": f"/up/*  {upstream.url}/:splat  200\n/dead/*  http://127.0.0.1:9/:splat  200\n",
    })
    return edgenode(site, proxy_read_timeout=READ_TIMEOUT, proxy_connect_timeout=1.0)


async def fetch(url: str, path: str, read_limit: int | None = None) -> tuple[int, bytes, str, float]:
    """(status, body, error, seconds). status 0 when the connection broke before headers."""
    t0 = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url + path) as r:
            if read_limit is not None:
                body = await r.content.read(read_limit)
                return r.status, body, "", time.monotonic() - t0
            try:
                body = await r.read()
            except aiohttp.ClientPayloadError as e:
                return r.status, b"", f"payload: {e}", time.monotonic() - t0
            return r.status, body, "", time.monotonic() - t0
    except aiohttp.ClientError as e:
        return 0, b"", repr(e), time.monotonic() - t0


async def serving(url: str) -> None:
    status, body, _, took = await fetch(url, "/about")
    assert (status, body) == (200, b"<h1>about</h1>") and took < 2.0


# case -> (acceptable statuses, must the body be cut off rather than complete)
FAULTS = {
    "/dead/x": {502, 504},
    "/up/garbage": {502},
    "/up/bad-status": {502},
    "/up/nul-header": {502},
    "/up/cl-and-te": {502},
    "/up/two-cl": {502},
    "/up/header-flood": {502},
    "/up/huge-header": {502},
    "/up/http09": {502},
    "/up/close-without-answer": {502},
    "/up/crlf-in-header": {502},
    "/up/slow-headers": {504},
}


@pytest.mark.parametrize("path", list(FAULTS))
async def test_upstream_fault_answered(proxied, upstream, path):
    status, body, err, took = await fetch(proxied.url, path)
    assert status in FAULTS[path], (path, status, body[:200], err)
    assert b"smuggled" not in body and b"evil=1" not in body
    assert took < READ_TIMEOUT + 3, took
    await serving(proxied.url)


async def test_crlf_in_upstream_header_never_becomes_a_header(proxied, upstream):
    async with aiohttp.ClientSession() as s, s.get(proxied.url + "/up/crlf-in-header") as r:
        assert "evil=1" not in r.headers.getall("Set-Cookie", [])


@pytest.mark.parametrize("path", ["/up/reset-mid-body", "/up/short-body", "/up/slow-body"])
async def test_broken_body_is_cut_not_completed(proxied, upstream, path):
    """The status line is gone already: the client must see a broken body, never a complete-looking one."""
    status, body, err, took = await fetch(proxied.url, path)
    assert (status == 200 and err) or status in (502, 504), (path, status, len(body), err)
    assert took < READ_TIMEOUT + 3
    await serving(proxied.url)


async def test_endless_body_stops_when_the_client_goes(proxied, upstream):
    status, body, _, _ = await fetch(proxied.url, "/up/endless", read_limit=4 * 1024 * 1024)
    assert status == 200 and body
    # The client left: the node stops pulling from the upstream (no unbounded buffering).
    await asyncio.wait_for(upstream.closed_early.wait(), 10)
    await serving(proxied.url)


async def test_endless_body_does_not_grow_memory(proxied, upstream):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with aiohttp.ClientSession() as s, s.get(proxied.url + "/up/endless") as r:
        got = 0
        async for chunk in r.content.iter_chunked(1 << 20):
            got += len(chunk)
            if got > 200 * 1024 * 1024:
                break
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mb < 100, f"max RSS grew by {grew_mb:.0f} MB while streaming 200 MB"


SMUGGLE = {
    "CL+TE": b"POST /up/ok HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two CL": b"POST /up/ok HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 6\r\n\r\nabcdef",
    "bad chunk": b"POST /up/ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "TE on 1.0": b"POST /up/ok HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "obs-fold": b"GET /up/ok HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
}


@pytest.mark.parametrize("name", list(SMUGGLE))
async def test_ambiguous_request_never_forwarded(proxied, upstream, name):
    raw, closed = await asyncio.to_thread(exchange, proxied.url, SMUGGLE[name])
    assert first_status(raw) == 400 and closed
    await asyncio.sleep(0.2)
    assert upstream.requests == [], upstream.requests


async def test_good_request_still_forwarded(proxied, upstream):
    status, body, _, _ = await fetch(proxied.url, "/up/ok")
    assert (status, body) == (200, b"upstream") and len(upstream.requests) == 1


async def test_stalled_upload_to_upstream_gets_408(edgenode, tmp_path, upstream):
    """A client that stops sending its body mid-upload is cut off after --body-timeout."""
    site = write_site(tmp_path / "s2", {"index.html": "x", "about.html": "<h1>about</h1>",
                                       "_redirects": f"/up/*  {upstream.url}/:splat  200\n"})
    srv = edgenode(site, body_timeout=1.0, proxy_read_timeout=10.0)

    def stalled() -> tuple[bytes, float]:
        import socket

        from tests.hostile.conftest import host_port

        with socket.create_connection(host_port(srv.url)) as s:
            s.sendall(b"POST /up/ok HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
            t0 = time.monotonic()
            s.settimeout(8)
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except (TimeoutError, ConnectionResetError):
                pass
            return data, time.monotonic() - t0

    data, took = await asyncio.to_thread(stalled)
    assert first_status(data) in (408, 502, 504), data[:200]
    assert took < 4, took
    await serving(srv.url)
