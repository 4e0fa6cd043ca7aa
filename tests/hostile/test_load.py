"""Load: 2,000 keep-alive connections held open and used; 20,000 requests with 1,000 in flight, every
answer checked against the request that asked for it."""

from __future__ import annotations

import asyncio
import resource
import time

import aiohttp
import pytest

from tests.conftest import write_site
from tests.hostile.conftest import ServeProcess, assert_serving, host_port

N_FILES = 500


def content(i: int) -> bytes:
    return f"file {i} ".encode() + b"#" * (i % 97) + f" end {i}\n".encode()


@pytest.fixture(scope="module")
def load_site(tmp_path_factory):
    files: dict[str, str | bytes] = {f"f/{i}.txt": content(i) for i in range(N_FILES)}
    files["index.html"] = "<h1>home</h1>"
    files["about.html"] = "<h1>about</h1>"
    files["404.html"] = "<h1>custom 404</h1>"
    return write_site(tmp_path_factory.mktemp("load") / "site", files)


@pytest.fixture(autouse=True)
def enough_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 16384) if hard != resource.RLIM_INFINITY else 16384
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def test_2000_keepalive_connections_held_and_served(edgenode, load_site):
    srv = edgenode(load_site, header_timeout=60.0, keepalive_timeout=120.0)
    guard = srv.server.runner.server
    host, port = host_port(srv.url)
    n = 2000
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(host, port)

    for start in range(0, n, 250):  # batches: a 1024-deep listen backlog is not overrun
        conns += await asyncio.gather(*(open_one() for _ in range(start, min(n, start + 250))))

    async def ask(i: int, rnd: int) -> None:
        reader, writer = conns[i]
        k = (i * 7 + rnd) % N_FILES
        writer.write(f"GET /f/{k}.txt HTTP/1.1\r\nHost: a.example\r\n\r\n".encode())
        status, body = await read_response(reader)
        assert (status, body) == (200, content(k)), (i, rnd, status, body[:60])

    try:
        for rnd in range(3):
            await asyncio.gather(*(ask(i, rnd) for i in range(n)))
            # Every one of them is still open on the server side, between rounds.
            assert guard.open_connections >= n, guard.open_connections
        await asyncio.to_thread(assert_serving, srv.url)
    finally:
        for _, w in conns:
            w.close()
    end = time.monotonic() + 10
    while guard.open_connections > 0 and time.monotonic() < end:
        await asyncio.sleep(0.1)
    assert guard.open_connections == 0


async def test_burst_20000_requests_1000_in_flight(load_site):
    srv = ServeProcess([str(load_site), "--access-log", "/dev/null"])
    total, in_flight = 20_000, 1000
    answered: dict[int, tuple[int, bytes]] = {}
    errors: list[str] = []
    try:
        connector = aiohttp.TCPConnector(limit=in_flight, force_close=False)
        timeout = aiohttp.ClientTimeout(total=60)
        sem = asyncio.Semaphore(in_flight)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
            async def one(i: int) -> None:
                # Nine in ten ask for a file (distinct bodies), one in ten for a missing page.
                path = f"/f/{i % N_FILES}.txt?r={i}" if i % 10 else f"/missing/{i}"
                async with sem:
                    try:
                        async with s.get(srv.url + path, headers={"X-Req": str(i)}) as r:
                            answered[i] = (r.status, await r.read())
                    except Exception as e:  # counted, then asserted to be none
                        errors.append(f"{i}: {e!r}")

            t0 = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(total)))
            took = time.monotonic() - t0
        assert errors == [], errors[:5]
        assert len(answered) == total
        wrong = [i for i, (status, body) in answered.items()
                 if (status, body) != ((200, content(i % N_FILES)) if i % 10 else (404, b"<h1>custom 404</h1>"))]
        assert wrong == [], [(i, answered[i][0], answered[i][1][:40]) for i in wrong[:5]]
        print(f"\n20,000 requests, 1,000 in flight: {took:.1f}s, {total / took:.0f} req/s")
        assert srv.proc.poll() is None
    finally:
        srv.stop()
