"""Static origin through a live server: lookup variants, pretty URLs, 404, types, HEAD, validators, ranges."""

from __future__ import annotations

import os

import aiohttp
import pytest

from tests.conftest import raw_request, status_of

SITE = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "blog/index.html": "<h1>blog</h1>",
    "docs/page.htm": "<h1>htm</h1>",
    "404.html": "<h1>custom 404</h1>",
    "css/site.css": "body{color:red}",
    "img/pixel.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
    "data.json": '{"a":1}',
    "_redirects": "/x /y 301",
    "_headers": "/*\n  X-A: b",
    "netlify.toml": "[build]\npublish='.'\n",
    ".env": "SECRET=1",
    ".git/config": "secret",
    "big.bin": b"0123456789" * 1000,
}


@pytest.fixture
def site(make_site):
    return make_site(SITE)


async def get(url: str, path: str, **kw):
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(url + path, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.read()


async def test_lookup_variants(edgenode, site):
    url = edgenode(site).url
    assert (await get(url, "/"))[2] == b"<h1>home</h1>"
    assert (await get(url, "/index.html"))[2] == b"<h1>home</h1>"
    assert (await get(url, "/about"))[2] == b"<h1>about</h1>"
    assert (await get(url, "/about.html"))[2] == b"<h1>about</h1>"
    assert (await get(url, "/blog/"))[2] == b"<h1>blog</h1>"
    assert (await get(url, "/docs/page"))[2] == b"<h1>htm</h1>"


async def test_pretty_url_redirects(edgenode, site):
    url = edgenode(site).url
    status, headers, _ = await get(url, "/about/")
    assert status == 301 and headers["Location"] == "/about"
    status, headers, _ = await get(url, "/blog?x=1")
    assert status == 301 and headers["Location"] == "/blog/?x=1"


async def test_custom_404(edgenode, site, make_site):
    url = edgenode(site).url
    status, headers, body = await get(url, "/missing")
    assert status == 404 and body == b"<h1>custom 404</h1>"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    bare = make_site({"index.html": "x"}, name="bare")
    status, _, body = await get(edgenode(bare).url, "/missing")
    assert status == 404 and body == b"Not Found"


async def test_content_types_and_default_headers(edgenode, site):
    url = edgenode(site).url
    _, h, _ = await get(url, "/css/site.css")
    assert h["Content-Type"] == "text/css; charset=utf-8"
    _, h, _ = await get(url, "/img/pixel.png")
    assert h["Content-Type"] == "image/png"
    _, h, _ = await get(url, "/data.json")
    assert h["Content-Type"].startswith("application/json")
    assert h["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert h["Server"] == "Netlify"
    assert h["ETag"].startswith('"') and "Last-Modified" in h
    assert len(h["X-Nf-Request-Id"]) == 26


async def test_request_id_unique_on_every_response(edgenode, site):
    url = edgenode(site).url
    ids = set()
    for path in ("/", "/", "/missing", "/about/"):
        _, h, _ = await get(url, path)
        ids.add(h["X-Nf-Request-Id"])
    assert len(ids) == 4


async def test_head(edgenode, site):
    url = edgenode(site).url
    async with aiohttp.ClientSession() as s, s.head(url + "/about") as r:
        assert r.status == 200
        assert r.headers["Content-Length"] == str(len("<h1>about</h1>"))
        assert await r.read() == b""


async def test_conditional_requests(edgenode, site):
    url = edgenode(site).url
    _, h, _ = await get(url, "/about")
    status, h2, body = await get(url, "/about", headers={"If-None-Match": h["ETag"]})
    assert status == 304 and body == b"" and h2["ETag"] == h["ETag"]
    status, _, _ = await get(url, "/about", headers={"If-None-Match": '"other"'})
    assert status == 200
    status, _, _ = await get(url, "/about", headers={"If-Modified-Since": h["Last-Modified"]})
    assert status == 304
    status, _, _ = await get(url, "/about", headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})
    assert status == 200


async def test_ranges(edgenode, site):
    url = edgenode(site).url
    status, h, body = await get(url, "/big.bin", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == b"0123456789" and h["Content-Range"] == "bytes 10-19/10000"
    status, h, body = await get(url, "/big.bin", headers={"Range": "bytes=-5"})
    assert status == 206 and body == b"56789"
    status, h, _ = await get(url, "/big.bin", headers={"Range": "bytes=20000-"})
    assert status == 416 and h["Content-Range"] == "bytes */10000"
    status, _, body = await get(url, "/big.bin", headers={"Range": "bytes=0-1,5-6"})
    assert status == 200 and len(body) == 10000


async def test_large_file_streams_with_range(edgenode, make_site):
    blob = os.urandom(3 * 1024 * 1024)
    site = make_site({"video.bin": blob})
    url = edgenode(site).url
    status, h, body = await get(url, "/video.bin")
    assert status == 200 and body == blob and h["Content-Length"] == str(len(blob))
    status, _, body = await get(url, "/video.bin", headers={"Range": "bytes=1000000-1000099"})
    assert status == 206 and body == blob[1000000:1000100]


@pytest.mark.parametrize("path", ["/_redirects", "/_headers", "/netlify.toml", "/.env", "/.git/config",
                                  "/.git/", "/blog/../_redirects"])
async def test_hidden_files_never_served(edgenode, site, path):
    url = edgenode(site).url
    raw = raw_request(url, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status_of(raw) in (400, 404)
    assert b"SECRET" not in raw and b"/x /y" not in raw and b"publish" not in raw


@pytest.mark.parametrize("path", [
    "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2Fetc%2Fpasswd", "/..%2f..%2fetc/passwd",
    "/..\\..\\etc\\passwd", "/%5c..%5cetc/passwd", "/index.html%00.png", "/a/%00", "/%c0%ae%c0%ae/etc/passwd",
    "/%ff", "/./index.html", "/%",
])
async def test_traversal_attempts(edgenode, site, path):
    url = edgenode(site).url
    raw = raw_request(url, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status_of(raw) in (400, 404)
    assert b"root:" not in raw


async def test_symlink_out_of_site_not_served(edgenode, make_site, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("TOPSECRET")
    site = make_site({"index.html": "x"})
    os.symlink(secret, site / "leak.txt")
    os.symlink(tmp_path, site / "leakdir")
    (tmp_path / "inside.txt").write_text("fine")
    os.symlink(site / "index.html", site / "alias.html")
    url = edgenode(site).url
    for path in ("/leak.txt", "/leakdir/outside.txt"):
        status, _, body = await get(url, path)
        assert status == 404 and b"TOPSECRET" not in body
    status, _, body = await get(url, "/alias.html")  # a link that stays inside the site is fine
    assert status == 200 and body == b"x"


async def test_functions_and_handler_sources_hidden(edgenode, make_site):
    site = make_site({"index.html": "x", "netlify/functions/secret.js": "const KEY='abc'",
                      "edge-handlers/ab.js": "export function onRequest(){}"})
    url = edgenode(site).url
    for path in ("/netlify/functions/secret.js", "/edge-handlers/ab.js"):
        status, _, _ = await get(url, path)
        assert status == 404


def test_lookup_memos_keep_only_short_paths(tmp_path):
    from edgenode.origins.static import MEMO_PATH_CHARS, PrettyRedirect, StaticOrigin

    (tmp_path / "about").mkdir()
    (tmp_path / "about" / "index.html").write_text("about")
    static = StaticOrigin(str(tmp_path))
    assert static.pretty_redirect("/about") == PrettyRedirect("/about/")
    assert static.pretty_redirect("/about") == PrettyRedirect("/about/")  # from the memo
    assert static.file("/about/index.html") is not None
    remembered = len(static._resolved), len(static._pretty)
    long_path = "/" + "x" * MEMO_PATH_CHARS
    for i in range(20):
        assert static.file(long_path + str(i)) is None
        assert static.pretty_redirect(long_path + str(i)) is None
    assert (len(static._resolved), len(static._pretty)) == remembered
