"""The example handlers of handlers_examples/, one per seed use case, through a live server."""

from __future__ import annotations

import inspect
import json
import shutil
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import edgenode.identity
from tests.test_handlers_api import get, has_lib

EXAMPLES = Path(__file__).resolve().parent.parent / "handlers_examples"
needs_rewriter = pytest.mark.skipif(not has_lib("htmlrewriter.js"), reason="htmlrewriter.js (jslib) not merged yet")
needs_url = pytest.mark.skipif(not has_lib("url.js"), reason="url.js (jslib) not merged yet")
needs_identity = pytest.mark.skipif("jwt.decode" not in inspect.getsource(edgenode.identity),
                                    reason="JWT identity phase not merged yet")
SECRET = "an-example-secret-of-at-least-32-bytes"
MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"


@pytest.fixture
def examples(tmp_path):
    return Path(shutil.copytree(EXAMPLES, tmp_path / "examples"))


@pytest.fixture
def url(edgenode, examples):
    return edgenode(examples, country="DE").url


def test_examples_load_without_problems(examples):
    from edgenode.options import ServeOptions
    from edgenode.sites import load_site

    site = load_site(str(examples), "ex", ServeOptions(sites=[(str(examples), ())]))
    assert [str(p) for p in site.problems] == []
    assert sorted(site.handlers.exports) == ["ab-test", "auth", "device-bundles", "image-resize", "log-only",
                                             "multivariate", "security-headers", "store-locator"]


async def test_ab_test_buckets_by_cookie(url):
    seen = set()
    for _ in range(24):
        status, headers, body = await get(url, "/pricing")
        assert status == 200
        cookie = headers["Set-Cookie"]
        assert cookie.startswith("ab_pricing=") and "Max-Age=2592000" in cookie
        bucket = cookie.split("=", 1)[1][0]
        assert f"Variant {bucket.upper()}".encode() in body
        seen.add(bucket)
    assert len(seen) >= 2  # random buckets (24 draws of 3: all-equal has probability 3e-11)
    for bucket in "abc":
        status, headers, body = await get(url, "/pricing", headers={"Cookie": f"x=1; ab_pricing={bucket}"})
        assert f"Variant {bucket.upper()}".encode() in body and "Set-Cookie" not in headers
        assert headers["Cache-Control"] == "private, no-store"


@needs_rewriter
async def test_store_locator_inserts_the_nearest_store(url, edgenode, examples):
    status, _, body = await get(url, "/stores")
    assert status == 200 and b'<strong id="nearest-store">Berlin, Alexanderplatz</strong>' in body
    us = edgenode(examples, country="US").url
    assert b">New York, SoHo</strong>" in (await get(us, "/stores"))[2]
    nowhere = edgenode(examples).url
    assert b">see the full list</strong>" in (await get(nowhere, "/stores"))[2]


async def test_auth_without_identity_is_401(url):
    status, headers, body = await get(url, "/members/")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert body == b"Please log in to see the members area.\n"


@needs_identity
async def test_auth_by_jwt_roles(edgenode, examples):
    import jwt

    base = edgenode(examples, jwt_secret=SECRET).url

    def token(roles):
        return jwt.encode({"sub": "u1", "exp": int(time.time()) + 600, "app_metadata": {"roles": roles}},
                          SECRET, algorithm="HS256")

    status, _, body = await get(base, "/members/", headers={"Cookie": f"nf_jwt={token(['member'])}"})
    assert status == 200 and b"Welcome back" in body
    status, _, body = await get(base, "/members/admin", headers={"Cookie": f"nf_jwt={token(['member'])}"})
    assert status == 403 and body == b"Forbidden: the admin role is required.\n"
    status, _, _ = await get(base, "/members/admin", headers={"Cookie": f"nf_jwt={token(['admin'])}"})
    assert status == 200


@needs_url
async def test_image_resize_proxies_to_the_cdn(edgenode, examples):
    seen = []

    async def cdn(request: web.Request) -> web.Response:
        seen.append((request.path, dict(request.query)))
        return web.Response(body=b"\x89PNG fake", content_type="image/png")

    app = web.Application()
    app.router.add_get("/{name:.*}", cdn)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        cfg = examples / "edge-handlers" / "image-cdn.json"
        data = json.loads(cfg.read_text())
        data["base"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        cfg.write_text(json.dumps(data))
        base = edgenode(examples).url
        status, headers, body = await get(base, "/images/cat.jpg?w=300&h=150&fit=cover")
        assert (status, body, headers["Content-Type"]) == (200, b"\x89PNG fake", "image/png")
        assert seen == [("/cat.jpg", {"width": "400", "height": "200", "fit": "cover", "format": "auto"})]
    finally:
        await runner.cleanup()


async def test_device_specific_bundles(url):
    status, headers, body = await get(url, "/app.js", headers={"User-Agent": MOBILE_UA})
    assert status == 200 and body == b'console.log("mobile bundle");\n'
    assert "User-Agent" in headers["Vary"]
    status, headers, body = await get(url, "/app.js", headers={"User-Agent": DESKTOP_UA})
    assert body == b'console.log("desktop bundle");\n'


@needs_rewriter
async def test_multivariate_keeps_only_the_visitors_variant(url):
    status, headers, body = await get(url, "/offer", headers={"Cookie": "mv_offer=urgency"})
    assert status == 200 and b"Only 3 days left" in body
    assert b"Save 10% this spring" not in body and b"happy customers" not in body
    assert b"Terms apply." in body and "Set-Cookie" not in headers
    status, headers, body = await get(url, "/offer")
    variant = headers["Set-Cookie"].split("=", 1)[1].split(";")[0]
    assert variant in ("control", "urgency", "social")
    assert body.count(b"data-variant=") == 1 and f'data-variant="{variant}"'.encode() in body


async def test_security_headers_on_every_response(url):
    for path in ("/", "/about", "/nowhere", "/css/site.css"):
        _, headers, _ = await get(url, path)
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


async def test_log_only_logs_and_changes_nothing(edgenode, examples, caplog):
    caplog.set_level("INFO", logger="edgenode.handlers.console")
    base = edgenode(examples, country="DE", quiet=False).url
    status, _, body = await get(base, "/about", headers={"User-Agent": "probe-agent"})
    assert status == 200 and b"About" in body
    lines = [r.getMessage() for r in caplog.records if r.name == "edgenode.handlers.console"]
    assert any("log-only]" in line and "/about country=DE ua=probe-agent" in line for line in lines), lines


async def test_examples_under_concurrency(url):
    async with aiohttp.ClientSession() as s:
        async def one(i: int) -> int:
            async with s.get(url + ("/pricing" if i % 2 else "/app.js")) as r:
                await r.read()
                return r.status

        import asyncio

        assert set(await asyncio.gather(*(one(i) for i in range(64)))) == {200}
