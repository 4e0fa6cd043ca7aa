"""Response cache and compression through a live server."""

from __future__ import annotations

import gzip
import time

import aiohttp
import brotli
import pytest

from tests.conftest import wait_for

PAGE = "<html><body>" + "<p>edge node cache test paragraph</p>\n" * 300 + "</body></html>"  # ~11 KB


async def fetch(url: str, path: str = "/", **headers: str):
    headers.setdefault("Accept-Encoding", "identity")  # aiohttp asks for gzip/br by default
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(url + path, headers=headers, allow_redirects=False) as r:
            return r.status, r.headers, await r.read()


@pytest.fixture
def site(make_site):
    return make_site({"index.html": PAGE, "small.txt": "tiny", "app.js": "console.log(1);" * 200,
                      "app.js.br": b"precompressed-br", "logo.png": b"\x89PNG" + b"\0" * 5000})


async def test_static_hit_after_miss(edgenode, site):
    url = edgenode(site).url
    _, h1, b1 = await fetch(url)
    assert h1["Cache-Status"] == '"edgenode"; fwd=miss; stored'
    _, h2, b2 = await fetch(url)
    assert h2["Cache-Status"] == '"edgenode"; hit'
    assert b1 == b2 == PAGE.encode()
    assert h2["Age"].isdigit()
    assert h1["ETag"] == h2["ETag"]


async def test_non_get_bypasses_cache(edgenode, site):
    url = edgenode(site).url
    async with aiohttp.ClientSession() as s, s.post(url + "/", data=b"x") as r:
        assert r.headers["Cache-Status"] == '"edgenode"; fwd=method'


async def test_edit_is_served_fresh(edgenode, site):
    url = edgenode(site).url
    await fetch(url)
    _, h, _ = await fetch(url)
    assert h["Cache-Status"] == '"edgenode"; hit'
    (site / "index.html").write_text("<h1>edited</h1>")

    async def fresh():
        _, _, body = await fetch(url)
        return body == b"<h1>edited</h1>"

    assert await wait_for(fresh, timeout=5)
    # a new file appears at a path that was a cached 404
    _, h, _ = await fetch(url, "/new.html")
    assert _ is not None
    (site / "new.html").write_text("new")

    async def appeared():
        status, _, body = await fetch(url, "/new.html")
        return status == 200 and body == b"new"

    assert await wait_for(appeared, timeout=5)


async def test_cache_byte_cap_holds(edgenode, make_site):
    files = {f"p{i}.html": f"<p>{i}</p>" + "x" * 20_000 for i in range(40)}
    site = make_site(files)
    srv = edgenode(site, cache_size=100_000)
    for i in range(40):
        await fetch(srv.url, f"/p{i}.html")
    assert srv.node.cache.current_bytes <= 100_000
    assert len(srv.node.cache) >= 3


async def test_gzip_and_brotli_negotiated(edgenode, site):
    url = edgenode(site).url
    _, h, body = await fetch(url, "/", **{"Accept-Encoding": "gzip"})
    assert h["Content-Encoding"] == "gzip" and gzip.decompress(body) == PAGE.encode()
    assert "Accept-Encoding" in h["Vary"]
    _, h, body = await fetch(url, "/", **{"Accept-Encoding": "gzip, deflate, br"})
    assert h["Content-Encoding"] == "br" and brotli.decompress(body) == PAGE.encode()
    _, h, body = await fetch(url, "/", **{"Accept-Encoding": "br;q=0, gzip;q=0.5"})
    assert h["Content-Encoding"] == "gzip"
    _, h, body = await fetch(url, "/", **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in h and body == PAGE.encode()


async def test_small_and_binary_not_compressed(edgenode, site):
    url = edgenode(site).url
    _, h, _ = await fetch(url, "/small.txt", **{"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in h
    _, h, _ = await fetch(url, "/logo.png", **{"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in h


async def test_encoded_variant_cached(edgenode, site):
    srv = edgenode(site)
    await fetch(srv.url, "/", **{"Accept-Encoding": "br"})
    _, h, body = await fetch(srv.url, "/", **{"Accept-Encoding": "br"})
    assert h["Cache-Status"] == '"edgenode"; hit' and h["Content-Encoding"] == "br"
    entries = [v for v in srv.node.cache._lru.values() if getattr(v, "encoded", None)]
    assert entries and "br" in entries[0].encoded
    # a hit is served from the stored encoding: timing is irrelevant, identity is what matters
    assert brotli.decompress(body) == PAGE.encode()


async def test_precompressed_sibling(edgenode, site):
    url = edgenode(site).url
    _, h, body = await fetch(url, "/app.js", **{"Accept-Encoding": "br"})
    assert h["Content-Encoding"] == "br" and body == b"precompressed-br"
    _, h, body = await fetch(url, "/app.js", **{"Accept-Encoding": "gzip"})
    assert h["Content-Encoding"] == "gzip" and gzip.decompress(body) == b"console.log(1);" * 200
    status, _, _ = await fetch(url, "/app.js.br")
    assert status == 200  # the sibling itself is a normal file


async def test_conditional_on_encoded_variant(edgenode, site):
    url = edgenode(site).url
    _, h, _ = await fetch(url, "/", **{"Accept-Encoding": "gzip"})
    assert h["ETag"].endswith('-gzip"')
    status, _, body = await fetch(url, "/", **{"Accept-Encoding": "gzip", "If-None-Match": h["ETag"]})
    assert status == 304 and body == b""


def test_age_grows(edgenode, site):
    import urllib.request

    url = edgenode(site).url
    urllib.request.urlopen(url + "/small.txt").read()
    time.sleep(1.1)
    with urllib.request.urlopen(url + "/small.txt") as r:
        assert int(r.headers["Age"]) >= 1
