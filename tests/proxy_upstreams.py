"""Real upstream servers for the proxy tests: normal, slow, resetting, huge-body and WebSocket."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from edgenode.exchange import OriginTarget


def upstream_app() -> web.Application:
    app = web.Application(client_max_size=1024**4)

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"path": request.path_qs, "method": request.method,
                                  "headers": {k: v for k, v in request.headers.items()},
                                  "body_sha": hashlib.sha256(body).hexdigest(), "len": len(body)},
                                 headers={"Connection": "keep-alive, X-Upstream-Hop", "X-Upstream-Hop": "1",
                                          "X-Upstream": "yes", "Keep-Alive": "timeout=5"})

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async def slow_headers(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "3")))
        return web.Response(text="late")

    async def stall_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = int(request.query.get("size", "1000"))
        await resp.prepare(request)
        await resp.write(b"x" * 100)
        await asyncio.sleep(5)
        return resp

    async def huge(request: web.Request) -> web.StreamResponse:
        size = int(request.query["mb"]) * 1024 * 1024
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.content_length = size
        await resp.prepare(request)
        chunk = b"\xab" * (256 * 1024)
        sent = 0
        while sent < size:
            await resp.write(chunk)
            sent += len(chunk)
        await resp.write_eof()
        return resp

    async def count_upload(request: web.Request) -> web.Response:
        n = 0
        h = hashlib.sha256()
        async for chunk in request.content.iter_any():
            n += len(chunk)
            h.update(chunk)
        return web.json_response({"len": n, "sha": h.hexdigest(),
                                  "te": request.headers.get("Transfer-Encoding", "")})

    async def ws_echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                if msg.data == "close":
                    await ws.close(code=4000)
                    break
                await ws.send_str("echo:" + msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws

    async def head_len(request: web.Request) -> web.Response:
        return web.Response(body=b"z" * 1234)

    app.router.add_route("*", "/echo{tail:.*}", echo)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/slow", slow_headers)
    app.router.add_get("/stall", stall_body)
    app.router.add_get("/huge", huge)
    app.router.add_post("/upload", count_upload)
    app.router.add_get("/ws", ws_echo)
    app.router.add_get("/sized", head_len)
    return app


async def start_upstream(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def start_resetting_upstream() -> tuple[asyncio.AbstractServer, str]:
    """Accepts, reads the request, then resets the connection (SO_LINGER 0)."""

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def dead_url() -> str:
    """A localhost URL nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def proxy_route(prefix: str, upstream: str, **target: Any) -> Callable[..., Any]:
    """A stand-in rules phase: `PREFIX/rest` proxies to `UPSTREAM/rest` as a 200 proxy rule would."""
    from edgenode.routing import phase

    original = phase.route

    async def route(node: Any, ex: Any) -> None:
        if ex.path.startswith(prefix):
            rest = ex.request.raw_path[len(prefix):]
            ex.target = OriginTarget("proxy", upstream + "/" + rest.lstrip("/"), ex.query_string, **target)
            return
        await original(node, ex)

    return route
