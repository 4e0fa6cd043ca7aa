"""Cache poisoning: nothing one client sends changes what the cache serves to the next one."""

from __future__ import annotations

import gzip

import aiohttp
import pytest

from tests.conftest import write_site
from tests.hostile.conftest import exchange, first_status

PAGE = "<!doctype html><h1>home</h1>" + "<p>filler text for compression</p>" * 100
SITE = {
    "index.html": PAGE,
    "about.html": "<h1>about</h1>",
    "secret/index.html": "<h1>secret area</h1>",
    "evil.example/index.html": "<h1>a directory named like a host</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "big.txt": "0123456789" * 500,
    "404.html": "<h1>custom 404</h1>",
}

UNKEYED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Server": "evil.example",
    "X-Host": "evil.example",
    "X-Original-URL": "/secret/",
    "X-Rewrite-URL": "/secret/",
    "X-Forwarded-Scheme": "http",
    "X-Forwarded-Proto": "nothttps",
    "X-Forwarded-Port": "1337",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": "host=evil.example;proto=http",
    "X-HTTP-Method-Override": "DELETE",
    "X-Original-Host": "evil.example",
}


@pytest.fixture
def srv(edgenode, tmp_path):
    return edgenode(write_site(tmp_path / "site", SITE))


async def get(url: str, path: str, **headers: str):
    headers.setdefault("Accept-Encoding", "identity")
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(url + path, headers=headers, allow_redirects=False) as r:
            return r.status, r.headers, await r.read()


def evil_anywhere(headers, body: bytes) -> bool:
    blob = body + "".join(f"{k}:{v}\n" for k, v in headers.items()).encode()
    return any(x in blob for x in (b"evil", b"secret area", b"1337", b"nothttps"))


@pytest.mark.parametrize("name", list(UNKEYED))
async def test_unkeyed_header_does_not_change_the_cached_page(srv, name):
    status, headers, body = await get(srv.url, "/", **{name: UNKEYED[name]})
    assert status == 200 and body == PAGE.encode() and not evil_anywhere(headers, body)
    for _ in range(2):  # the next, clean clients get the genuine page (from the cache)
        status, headers, body = await get(srv.url, "/")
        assert status == 200 and body == PAGE.encode() and not evil_anywhere(headers, body), (status, headers)
    reloads = srv.node.sites.holders[0].reloads
    assert "hit" in headers.get("Cache-Status", ""), (dict(headers), reloads)


async def test_all_unkeyed_headers_at_once_on_a_redirect(srv):
    # The pretty-URL redirect must stay relative: no host from any header ends up in Location.
    status, headers, body = await get(srv.url, "/docs", **UNKEYED)
    assert status == 301 and headers["Location"] == "/docs/"
    status, headers, _ = await get(srv.url, "/docs")
    assert status == 301 and headers["Location"] == "/docs/"


async def test_host_header_is_not_reflected(srv):
    raw, _ = exchange(srv.url, b"GET /docs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert first_status(raw) == 301 and b"evil" not in raw
    raw, _ = exchange(srv.url, b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert first_status(raw) == 200 and b"evil" not in raw


async def test_double_slash_path_never_redirects_off_site(srv):
    """`//evil.example` names a directory here; its pretty-URL redirect must not be `//evil.example/`,
    which a browser reads as another host."""
    status, headers, _ = await get(srv.url, "//evil.example")
    if status in (301, 302, 307, 308):
        loc = headers["Location"]
        assert loc.startswith("/") and not loc.startswith("//"), loc
    status, headers, _ = await get(srv.url, "///evil.example?x=1")
    if status in (301, 302, 307, 308):
        assert not headers["Location"].startswith("//"), headers["Location"]


async def test_encoded_response_never_served_to_a_client_without_that_encoding(srv):
    status, headers, body = await get(srv.url, "/", **{"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(body) == PAGE.encode()
    assert "Accept-Encoding" in headers.get("Vary", "")
    status, headers, body = await get(srv.url, "/", **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in headers and body == PAGE.encode()
    status, headers, body = await get(srv.url, "/", **{"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in headers and body == PAGE.encode()


async def test_partial_response_never_served_as_the_whole(srv):
    status, _, body = await get(srv.url, "/big.txt", Range="bytes=0-9")
    assert status == 206 and body == b"0123456789"
    status, headers, body = await get(srv.url, "/big.txt")
    assert status == 200 and body == b"0123456789" * 500 and "Content-Range" not in headers


async def test_not_modified_never_served_to_a_client_without_validators(srv):
    _, headers, _ = await get(srv.url, "/about")
    status, _, body = await get(srv.url, "/about", **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    status, _, body = await get(srv.url, "/about")
    assert status == 200 and body == b"<h1>about</h1>"


async def test_head_first_does_not_empty_the_get(srv):
    async with aiohttp.ClientSession() as s:
        async with s.head(srv.url + "/about") as r:
            assert r.status == 200
    status, _, body = await get(srv.url, "/about")
    assert status == 200 and body == b"<h1>about</h1>"


async def test_query_string_not_reflected_and_not_poisoning(srv):
    status, headers, body = await get(srv.url, "/about?<script>alert(1)</script>=x")
    assert status == 200 and b"script" not in body
    status, _, body = await get(srv.url, "/about")
    assert body == b"<h1>about</h1>"


async def test_fat_get_body_ignored(srv):
    raw, _ = exchange(srv.url, b"GET /about HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n"
                               b"Connection: close\r\n\r\nX-Original-URL: /sec")
    assert first_status(raw) == 200 and raw.endswith(b"<h1>about</h1>")
    status, _, body = await get(srv.url, "/about")
    assert body == b"<h1>about</h1>"


async def test_not_found_for_one_spelling_does_not_poison_another(srv):
    status, _, body = await get(srv.url, "/ABOUT")
    assert status == 404
    status, _, body = await get(srv.url, "/about")
    assert status == 200 and body == b"<h1>about</h1>"


async def test_credentials_do_not_change_a_shared_static_page(srv):
    status, headers, body = await get(srv.url, "/about", Authorization="Bearer abc", Cookie="session=1")
    assert status == 200 and body == b"<h1>about</h1>" and "Set-Cookie" not in headers
    status, headers, body = await get(srv.url, "/about")
    assert status == 200 and body == b"<h1>about</h1>"
