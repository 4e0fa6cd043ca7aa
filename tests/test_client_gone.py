"""A client that hangs up in the middle of a body costs nothing but the connection: no error log."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from aiohttp import web

from edgenode import leanconn
from edgenode.origins.static import INLINE_LIMIT
from tests.test_large_files import _NoSendfile as NoSendfile


def hang_up_after_head(url: str, path: str) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        first = s.recv(4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    return first


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_streamed_proxy_body(edgenode, make_site, caplog, unused_tcp_port):
    pytest.importorskip("edgenode.config.redirects")
    closed = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            for _ in range(200):
                await resp.write(b"x" * 65536)
                await asyncio.sleep(0.01)
        except ConnectionError:  # edgenode let go of the upstream when its client left
            pass
        finally:
            closed.set()
        return resp

    app = web.Application()
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        site = make_site({"index.html": "x", "_redirects": f"/up/*  http://127.0.0.1:{unused_tcp_port}/:splat  200\n"})
        url = edgenode(site).url
        first = await asyncio.to_thread(hang_up_after_head, url, "/up/slow")
        assert first.startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(closed.wait(), 10)  # the upstream request ended too
        await asyncio.sleep(0.3)
        assert not errors(caplog)
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "chunked"])
async def test_large_file_body(edgenode, make_site, caplog, monkeypatch, sendfile):
    if not sendfile:
        monkeypatch.setattr(leanconn, "_NO_SENDFILE", NoSendfile())
    url = edgenode(make_site({"big.bin": b"y" * (INLINE_LIMIT * 4)})).url
    first = await asyncio.to_thread(hang_up_after_head, url, "/big.bin")
    assert first.startswith(b"HTTP/1.1 200 ")
    await asyncio.sleep(0.5)
    assert not errors(caplog)
