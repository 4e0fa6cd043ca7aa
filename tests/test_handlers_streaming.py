"""Streaming bodies through the isolate: chunk by chunk, first bytes early, flat memory for 50 MB."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest
from aiohttp import web

from tests.test_handlers_api import get, handler_site, has_lib

pytestmark = pytest.mark.skipif(not has_lib("streams.js"), reason="streams.js (jslib) not merged yet")

UPPER = r"""
const upper = () => new TransformStream({
  transform(chunk, c) {
    const out = new Uint8Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) { const b = chunk[i]; out[i] = b >= 97 && b <= 122 ? b - 32 : b; }
    c.enqueue(out);
  },
});
export async function onRequest(event) {
  const url = event.request.url;
  if (url.includes("/up/")) {
    const upstream = await fetch(UPSTREAM + url.slice(url.indexOf("/up/") + 3));
    event.replaceResponse(new Response(upstream.body.pipeThrough(upper()), upstream));
  }
  if (url.endsWith("/page")) {
    event.replaceResponse(async () => {
      const origin = await fetch(event.request);
      return new Response(origin.body.pipeThrough(upper()), origin);
    });
  }
  if (url.endsWith("/generated")) {
    let n = 0;
    event.replaceResponse(new Response(new ReadableStream({
      pull(c) { if (n++ < 3) c.enqueue(new Uint8Array([97 + n])); else c.close(); },
    })));
  }
  if (url.endsWith("/passthrough")) {
    event.replaceResponse(fetch(event.request));
  }
}
export async function onResponse(event) {
  if (event.request.url.endsWith("/about")) {
    event.replaceResponse(new Response(event.response.body.pipeThrough(upper()), event.response));
  }
}
"""


@pytest.fixture
async def upstream():
    gate = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain", "X-Up": "1"})
        await resp.prepare(request)
        await resp.write(b"first chunk;")
        await asyncio.wait_for(gate.wait(), 10)
        await resp.write(b"second chunk")
        await resp.write_eof()
        return resp

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        block = b"abcdefgh" * 8192  # 64 KiB
        for _ in range(50 * 16):  # 50 MiB
            await resp.write(block)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", gate
    gate.set()
    await runner.cleanup()


@pytest.fixture
def stream_url(edgenode, make_site, upstream):
    up_url, _ = upstream
    src = f"const UPSTREAM = {up_url!r};\n" + UPPER
    site = handler_site(make_site, {"s": src}, [("/*", "s")], {"page.html": "<p>static page</p>"})
    return edgenode(site, handler_timeout_ms=20000).url


async def test_first_bytes_arrive_before_the_origin_finishes(stream_url, upstream):
    _, gate = upstream
    async with aiohttp.ClientSession() as s:
        async with s.get(stream_url + "/up/slow") as r:
            assert r.status == 200 and r.headers["X-Up"] == "1" and "Content-Length" not in r.headers
            first = await asyncio.wait_for(r.content.readany(), 5)
            assert first == b"FIRST CHUNK;"  # the origin is still waiting on the gate
            gate.set()
            rest = await r.read()
    assert first + rest == b"FIRST CHUNK;SECOND CHUNK"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_50_mb_streams_with_flat_memory(stream_url):
    before = _rss()
    peak = before
    total = 0
    async with aiohttp.ClientSession() as s:
        async with s.get(stream_url + "/up/big") as r:
            assert r.status == 200
            async for chunk in r.content.iter_any():
                if total == 0:
                    assert chunk[:8] == b"ABCDEFGH"
                total += len(chunk)
                if total % (4 << 20) < len(chunk):
                    peak = max(peak, _rss())
    assert total == 50 << 20
    # V8 lets garbage chunks pile up to its GC threshold (~+70 MiB, the same for 200 MiB bodies);
    # buffering the body would cost several times its size (base64 + copies).
    assert peak - before < 96 << 20, f"memory grew by {(peak - before) >> 20} MiB"


async def test_origin_body_transform_and_generated_stream(stream_url):
    status, _, body = await get(stream_url, "/page")
    assert (status, body) == (200, b"<P>STATIC PAGE</P>")
    assert (await get(stream_url, "/generated"))[2] == b"bcd"
    status, headers, body = await get(stream_url, "/passthrough")
    assert status == 404  # /passthrough has no file: the origin's 404 page, untouched


async def test_on_response_streaming_transform(stream_url):
    status, headers, body = await get(stream_url, "/about")
    assert (status, body) == (200, b"<H1>ABOUT</H1>")
    assert "Content-Length" not in headers or headers["Content-Length"] == str(len(body))
