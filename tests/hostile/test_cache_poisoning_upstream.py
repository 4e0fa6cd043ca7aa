"""Cache poisoning through a proxied upstream: what one client sends never reaches what the cache
serves to others, and answers to requests with credentials are shared only when marked public."""

from __future__ import annotations

import itertools

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import write_site

REFLECTED = ["X-Forwarded-Host", "X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Scheme", "X-Forwarded-Server",
             "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Host", "X-Original-Host", "Forwarded"]


@pytest.fixture
async def upstream():
    counter = itertools.count(1)

    async def reflect(request: web.Request) -> web.Response:
        # A careless application: it builds links from whatever forwarding headers it is given.
        seen = {h: request.headers.get(h, "") for h in REFLECTED}
        body = f"n={next(counter)} auth={request.headers.get('Authorization', '')} " + " ".join(
            f"{k}={v}" for k, v in seen.items() if v and "evil" in v)
        cc = request.query.get("cc", "public, max-age=60")
        headers = {"Cache-Control": cc} if cc != "none" else {}
        if request.query.get("cookie"):
            headers["Set-Cookie"] = "session=" + request.headers.get("Authorization", "anon")
        return web.Response(text=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", reflect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
def srv(edgenode, tmp_path, upstream):
    site = write_site(tmp_path / "site", {"index.html": "home", "_redirects": f"/api/*  {upstream}/:splat  200\n"})
    return edgenode(site)


async def get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status, await r.text(), r.headers.get("Cache-Status", "")


@pytest.mark.parametrize("header", REFLECTED)
async def test_forwarding_headers_cannot_poison_a_shared_answer(srv, header):
    value = "host=evil.example" if header == "Forwarded" else "evil.example"
    await get(srv.url + "/api/page", **{header: value})
    for _ in range(2):
        status, body, _ = await get(srv.url + "/api/page")
        assert status == 200 and "evil" not in body, body


async def test_credentialed_answer_not_shared_without_public(srv):
    for cc in ("none", "max-age=60", "s-maxage=60", "private, max-age=60", "no-store", "public, no-cache"):
        url = f"{srv.url}/api/auth-{cc.replace(' ', '')}?cc={cc}"
        _, first, _ = await get(url, Authorization="Bearer alice")
        _, second, _ = await get(url, Authorization="Bearer bob")
        _, anon, _ = await get(url)
        assert "alice" in first and "bob" in second and "alice" not in anon and "bob" not in anon, (cc, anon)


async def test_set_cookie_answer_never_shared(srv):
    url = f"{srv.url}/api/cookie?cookie=1"
    await get(url, Authorization="Bearer alice")
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert "alice" not in r.headers.get("Set-Cookie", "") and "alice" not in await r.text()


async def test_public_answer_is_shared_as_the_origin_asked(srv):
    url = f"{srv.url}/api/shared?cc=public,max-age=60"
    _, first, _ = await get(url)
    _, second, status = await get(url)
    assert first == second and "hit" in status
