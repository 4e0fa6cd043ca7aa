"""Faults of the node itself: a full cache, a full disk or a stuck pipe for logs, no file descriptors."""

from __future__ import annotations

import asyncio
import gzip
import resource
import socket
import time

import aiohttp
import brotli
import pytest

from edgenode.cache import _sizeof
from tests.hostile.conftest import ServeProcess, assert_serving, exchange, first_status, host_port

N_FILES = 120


def page(i: int) -> str:
    # Distinct, compressible, ~6 KB: gzip and br variants get cached next to the body.
    return f"<!doctype html><title>page {i}</title>" + f"<p>page {i} line {{}}</p>".format(i) * 260


@pytest.fixture(scope="module")
def many_pages(tmp_path_factory):
    from tests.conftest import write_site

    files = {f"p/{i}.html": page(i) for i in range(N_FILES)}
    files["index.html"] = "<h1>home</h1>"
    files["about.html"] = "<h1>about</h1>"
    files["big.html"] = "<p>big</p>" * 20_000  # 200 KB: over a quarter of the cache, never stored
    return write_site(tmp_path_factory.mktemp("pages") / "site", files)


def decode(body: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        return brotli.decompress(body)
    return body


async def test_full_cache_byte_cap_holds(edgenode, many_pages):
    cap = 200_000
    srv = edgenode(many_pages, cache_size=cap)
    cache = srv.node.cache
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        for rnd in range(2):
            for i in range(N_FILES):
                for enc in ("gzip", "br", "identity"):
                    async with s.get(f"{srv.url}/p/{i}.html", headers={"Accept-Encoding": enc}) as r:
                        body = await r.read()
                        assert r.status == 200
                        assert decode(body, r.headers.get("Content-Encoding")).decode() == page(i), (rnd, i, enc)
                # The cap holds at every step, and the accounting matches what is really stored.
                assert cache.current_bytes <= cap
                real = sum(_sizeof(v) for v in list(cache._lru.values()))
                assert real == cache.current_bytes <= cap
            async with s.get(f"{srv.url}/big.html", headers={"Accept-Encoding": "gzip"}) as r:
                assert r.status == 200
                assert decode(await r.read(), r.headers.get("Content-Encoding")) == b"<p>big</p>" * 20_000
        # Recently used pages are hits; the cache did evict (it holds fewer than all pages).
        async with s.get(f"{srv.url}/p/{N_FILES - 1}.html") as r:
            assert "hit" in r.headers.get("Cache-Status", "")
        assert 0 < len(cache) < N_FILES * 2
    assert cache.current_bytes <= cap


async def _hammer(url: str, n: int, concurrency: int = 50) -> list[int]:
    statuses: list[int] = []
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        async def one(i: int) -> None:
            async with sem, s.get(f"{url}/p/{i % N_FILES}.html") as r:
                body = await r.read()
                statuses.append(r.status if body.decode() == page(i % N_FILES) else -1)

        await asyncio.gather(*(one(i) for i in range(n)))
    return statuses


async def test_access_log_on_a_full_disk(many_pages):
    """--access-log /dev/full: every write fails with ENOSPC, as on a full disk. Nothing else does."""
    srv = ServeProcess([str(many_pages), "--access-log", "/dev/full"])
    try:
        t0 = time.monotonic()
        statuses = await _hammer(srv.url, 2000)
        assert statuses == [200] * 2000
        assert time.monotonic() - t0 < 30
        assert srv.proc.poll() is None
        assert_serving(srv.url)
    finally:
        srv.stop()


async def test_access_log_to_a_pipe_nobody_reads(many_pages):
    """stdout is a pipe nobody drains: after 64 KB a blocking write would freeze the event loop."""
    srv = ServeProcess([str(many_pages)])  # the test reads the banner and then never reads stdout again
    try:
        statuses = await _hammer(srv.url, 4000)  # ~4000 access lines, well over a pipe's 64 KB
        assert statuses == [200] * 4000
        t0 = time.monotonic()
        assert_serving(srv.url)
        assert time.monotonic() - t0 < 1.0
        assert srv.proc.poll() is None
    finally:
        srv.stop()


def test_unwritable_access_log_path_is_a_clear_startup_error(tmp_path, many_pages):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "edgenode", "serve", str(many_pages), "--port", "0",
                        "--access-log", str(tmp_path / "no" / "such" / "dir" / "access.log")],
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and b"cannot open access log" in r.stderr


def _limit_fds(n: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return apply


def _hold(url: str, n: int) -> list[socket.socket]:
    held = []
    for _ in range(n):
        try:
            s = socket.create_connection(host_port(url), timeout=2)
        except OSError:
            break
        held.append(s)
    return held


def test_out_of_fds_new_connections_refused_cleanly_then_recovery(many_pages):
    """RLIMIT_NOFILE=200: the connection cap keeps a descriptor reserve, so extra clients get 503."""
    srv = ServeProcess([str(many_pages), "--access-log", "/dev/null", "--header-timeout", "30"], preexec_fn=_limit_fds(200))
    try:
        _out_of_fds_cleanly(srv)
    finally:
        srv.stop()


def _out_of_fds_cleanly(srv: ServeProcess) -> None:
    held = []
    try:
        held = _hold(srv.url, 260)
        time.sleep(0.3)
        raw, closed = exchange(srv.url, b"GET /about HTTP/1.1\r\nHost: a\r\n\r\n", timeout=5)
        assert first_status(raw) == 503 and closed, raw[:100]
        # Connections already accepted still get their files: the reserve left descriptors for open().
        served = 0
        for s in held[:20]:
            s.sendall(b"GET /p/3.html HTTP/1.1\r\nHost: a\r\n\r\n")
            s.settimeout(5)
            data = s.recv(65536)
            served += data.startswith(b"HTTP/1.1 200")
        assert served == 20
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    for _ in range(3):
        assert_serving(srv.url)
    assert srv.proc.poll() is None


def test_really_out_of_fds_node_survives_and_recovers(many_pages):
    """With the cap lifted above the limit, accept() and open() hit EMFILE. The node must not crash
    or spin; once descriptors free up it serves again."""
    srv = ServeProcess([str(many_pages), "--access-log", "/dev/null", "--header-timeout", "30", "--max-connections", "100000"],
                       preexec_fn=_limit_fds(120))
    try:
        _really_out_of_fds(srv)
    finally:
        srv.stop()


def _really_out_of_fds(srv: ServeProcess) -> None:
    held = []
    try:
        held = _hold(srv.url, 200)
        time.sleep(0.5)
        # Out of descriptors: a new client is either refused, reset, or waits in the backlog; never a
        # wrong answer.
        try:
            raw, _ = exchange(srv.url, b"GET /about HTTP/1.1\r\nHost: a\r\n\r\n", timeout=2)
            assert first_status(raw) in (0, 500, 503), raw[:100]
        except OSError:
            pass
        # Requests on connections it holds: a file it cannot open is a 500, not a crash.
        for s in held[:5]:
            try:
                s.sendall(b"GET /p/7.html HTTP/1.1\r\nHost: a\r\n\r\n")
                s.settimeout(3)
                data = s.recv(65536)
                assert data == b"" or first_status(data) in (200, 500, 503)
            except OSError:
                pass
    finally:
        for s in held:
            s.close()
    end = time.monotonic() + 10
    while True:  # the backlog drains and descriptors come back
        try:
            assert_serving(srv.url)
            break
        except (AssertionError, OSError):
            if time.monotonic() > end:
                raise
            time.sleep(0.3)
    assert srv.proc.poll() is None
