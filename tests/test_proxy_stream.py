"""Huge bodies stream through the proxy both ways: the node's memory stays flat."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest

from edgenode.routing import phase
from tests.proxy_upstreams import proxy_route, start_upstream, upstream_app

MB = 1024 * 1024
SIZE_MB = 256


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0  # pragma: no cover


@pytest.fixture
async def node_url(edgenode, make_site, monkeypatch):
    runner, base = await start_upstream(upstream_app())
    monkeypatch.setattr(phase, "route", proxy_route("/api/", base))
    yield edgenode(make_site({"index.html": "x"})).url
    await runner.cleanup()


async def test_huge_download_streams_with_flat_memory(node_url):
    # Client, node and upstream share this process, so its RSS bounds what the node holds.
    before = rss_mb()
    peak = before
    got = 0
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{node_url}/api/huge?mb={SIZE_MB}") as r:
            assert r.status == 200 and r.headers["Content-Length"] == str(SIZE_MB * MB)
            async for chunk in r.content.iter_chunked(256 * 1024):
                got += len(chunk)
                if got % (32 * MB) < 256 * 1024:
                    peak = max(peak, rss_mb())
    assert got == SIZE_MB * MB
    assert peak - before < 64, f"RSS grew {peak - before:.0f} MB while streaming {SIZE_MB} MB"


async def test_huge_upload_streams_with_flat_memory(node_url):
    before = rss_mb()
    peak = [before]
    chunk = b"\x5a" * (256 * 1024)
    expect = hashlib.sha256()

    async def body():
        for i in range(SIZE_MB * 4):
            expect.update(chunk)
            if i % 128 == 0:
                peak[0] = max(peak[0], rss_mb())
            yield chunk

    async with aiohttp.ClientSession() as s:
        async with s.post(f"{node_url}/api/upload", data=body()) as r:
            data = await r.json()
    assert data["len"] == SIZE_MB * MB and data["sha"] == expect.hexdigest()
    assert peak[0] - before < 64, f"RSS grew {peak[0] - before:.0f} MB while uploading {SIZE_MB} MB"
