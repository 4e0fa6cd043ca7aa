"""Upstream proxy through a live edgenode: headers, bodies both ways, redirects, failures, signing, WebSockets.

Until the rule engine lands, `proxy_route` stands in for the rules phase (it builds the same
OriginTarget a `/api/* http://upstream/:splat 200` rule does); `test_proxy_rules.py` drives the same
proxy through real `_redirects` lines.
"""

from __future__ import annotations

import hashlib
import logging
import os
from types import SimpleNamespace

import aiohttp
import jwt
import pytest

from edgenode.origins.proxy import forward_pairs, signed_proxy_problems, upstream_url
from edgenode.routing import phase
from tests.proxy_upstreams import (
    dead_url,
    proxy_route,
    start_resetting_upstream,
    start_upstream,
    upstream_app,
)

SECRET = "a-shared-secret-of-at-least-32-bytes!"


@pytest.fixture
async def upstream():
    app = upstream_app()
    runner, url = await start_upstream(app)
    yield SimpleNamespace(url=url, app=app)
    await runner.cleanup()


@pytest.fixture
def site(make_site):
    return make_site({"index.html": "home"})


def serve(edgenode, site, monkeypatch, upstream_base: str, options: dict | None = None, **target) -> str:
    monkeypatch.setattr(phase, "route", proxy_route("/api/", upstream_base, **target))
    return edgenode(site, **(options or {})).url


async def test_get_forwards_path_query_and_headers(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url, proxy_headers={"X-From-Rule": "r1"})
    async with aiohttp.ClientSession() as s:
        hdrs = {"Connection": "keep-alive, X-Hop-Secret", "X-Hop-Secret": "no", "TE": "trailers",
                "Proxy-Authorization": "Basic eA==", "X-Forwarded-For": "10.0.0.9", "X-Keep": "yes",
                "Accept-Language": "de-CH, en"}
        async with s.get(url + "/api/echo/a%20b?x=1&y=2", headers=hdrs) as r:
            assert r.status == 200
            data = await r.json()
            assert r.headers["X-Upstream"] == "yes"
            assert "X-Upstream-Hop" not in r.headers and "Keep-Alive" not in r.headers
            assert r.headers["Cache-Status"] == '"edgenode"; fwd=miss'
    assert data["path"] == "/echo/a%20b?x=1&y=2"
    h = {k.lower(): v for k, v in data["headers"].items()}
    assert h["host"] == upstream.url.removeprefix("http://")
    assert h["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == url.removeprefix("http://")
    assert h["x-from-rule"] == "r1" and h["x-keep"] == "yes" and h["x-language"] == "de-CH, en"
    assert "x-hop-secret" not in h and "te" not in h and "proxy-authorization" not in h
    assert len(h["x-nf-request-id"]) == 26 and "Netlify" in h["via"]


async def test_post_body_forwarded_and_response_streamed(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url)
    payload = os.urandom(300_000)
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "/api/echo", data=payload, headers={"Content-Type": "x/y"}) as r:
            data = await r.json()
    assert data["method"] == "POST" and data["len"] == len(payload)
    assert data["body_sha"] == hashlib.sha256(payload).hexdigest()


async def test_head_keeps_upstream_length(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url)
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.head(url + "/api/sized") as r:
            assert r.status == 200 and r.headers["Content-Length"] == "1234"


async def test_upstream_redirect_passed_through(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url)
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/redirect", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/elsewhere"


async def test_slow_upstream_gives_504_and_logs_rule(edgenode, site, monkeypatch, upstream, caplog):
    rule = SimpleNamespace(file="_redirects", line=7)
    url = serve(edgenode, site, monkeypatch, upstream.url, {"proxy_read_timeout": 0.4}, rule=rule)
    caplog.set_level(logging.WARNING, logger="edgenode.proxy")
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/slow?s=3", headers={"Accept": "text/html"}) as r:
            assert r.status == 504
            assert "Gateway Timeout" in await r.text()
        async with s.get(url + "/api/slow?s=0") as r:  # a fast answer still works afterwards
            assert r.status == 200 and await r.text() == "late"
    assert any("_redirects:7" in rec.getMessage() and "504" in rec.getMessage() for rec in caplog.records)


async def test_idle_upstream_mid_body(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url, {"proxy_read_timeout": 0.4})
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/stall?size=1000") as r:  # small bodies are read whole: still an answer
            assert r.status == 504
        with pytest.raises(aiohttp.ClientPayloadError):  # streamed ones: the status is gone, so abort
            async with s.get(url + "/api/stall?size=10000000") as r:
                assert r.status == 200
                await r.read()


async def test_dead_upstream_gives_502(edgenode, site, monkeypatch):
    url = serve(edgenode, site, monkeypatch, dead_url())
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/x") as r:
            assert r.status == 502
            assert (await r.text()).startswith("Bad Gateway: upstream")


async def test_resetting_upstream_gives_502(edgenode, site, monkeypatch):
    server, base = await start_resetting_upstream()
    try:
        url = serve(edgenode, site, monkeypatch, base)
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/api/x") as r:
                assert r.status == 502
    finally:
        server.close()


async def test_unresolvable_upstream_gives_502(edgenode, site, monkeypatch):
    url = serve(edgenode, site, monkeypatch, "http://no-such-host.invalid")
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/x") as r:
            assert r.status == 502


async def test_signed_proxy_verified_by_upstream(edgenode, site, monkeypatch, upstream):
    monkeypatch.setenv("EDGENODE_TEST_SIGN", SECRET)
    url = serve(edgenode, site, monkeypatch, upstream.url, signed="EDGENODE_TEST_SIGN")
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/echo") as r:
            data = await r.json()
    token = {k.lower(): v for k, v in data["headers"].items()}["x-nf-sign"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="netlify")
    assert claims["deploy_context"] == "dev" and claims["site_url"] == url
    assert claims["exp"] - claims["iat"] == 300 and claims["netlify_id"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "wrong-secret-wrong-secret-wrong-secret", algorithms=["HS256"])


async def test_signed_proxy_without_secret_goes_unsigned(edgenode, site, monkeypatch, upstream):
    monkeypatch.delenv("EDGENODE_TEST_MISSING", raising=False)
    url = serve(edgenode, site, monkeypatch, upstream.url, signed="EDGENODE_TEST_MISSING")
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/api/echo") as r:
            assert r.status == 200
            assert "x-nf-sign" not in {k.lower() for k in (await r.json())["headers"]}


async def test_websocket_proxied_both_ways(edgenode, site, monkeypatch, upstream):
    url = serve(edgenode, site, monkeypatch, upstream.url)
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url + "/api/ws", protocols=("chat",)) as ws:
            assert ws.protocol == "chat"
            await ws.send_str("hi")
            assert (await ws.receive_str(timeout=5)) == "echo:hi"
            await ws.send_bytes(b"abc")
            assert (await ws.receive_bytes(timeout=5)) == b"cba"
            await ws.send_str("close")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4000
        async with s.get(url + "/api/echo") as r:  # the node still answers plain requests
            assert r.status == 200


async def test_idle_websocket_outlives_the_read_timeout(edgenode, site, monkeypatch, upstream):
    import asyncio

    url = serve(edgenode, site, monkeypatch, upstream.url, {"proxy_read_timeout": 0.3})
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url + "/api/ws") as ws:
            await asyncio.sleep(0.8)
            await ws.send_str("still there")
            assert (await ws.receive_str(timeout=5)) == "echo:still there"


async def test_websocket_to_dead_upstream_gives_502(edgenode, site, monkeypatch):
    url = serve(edgenode, site, monkeypatch, dead_url())
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(url + "/api/ws")
        assert e.value.status == 502


# -- pure parts ----------------------------------------------------------------------------------


def test_forward_pairs_drops_hop_by_hop():
    from multidict import CIMultiDict

    h = CIMultiDict([("Connection", "close, X-A"), ("Connection", "X-B"), ("X-A", "1"), ("X-B", "2"),
                     ("Keep-Alive", "t"), ("Proxy-Foo", "p"), ("Upgrade", "h2c"), ("X-C", "3"), ("X-C", "4")])
    assert forward_pairs(h) == [("X-C", "3"), ("X-C", "4")]


def test_upstream_url_query_rules():
    from edgenode.exchange import OriginTarget

    assert upstream_url(OriginTarget("proxy", "http://u/a", "x=1")) == "http://u/a?x=1"
    assert upstream_url(OriginTarget("proxy", "http://u/a?t=1", "")) == "http://u/a?t=1"
    assert upstream_url(OriginTarget("proxy", "http://u/a?t=1", "t=1&x=2")) == "http://u/a?t=1&x=2"


def test_signed_proxy_problems_name_the_rule(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGENODE_NOPE", raising=False)
    monkeypatch.setenv("EDGENODE_YES", "x")
    from edgenode.sites import load_site

    site = load_site(str(tmp_path), "t")
    site.rules = [SimpleNamespace(signed="EDGENODE_NOPE", file="netlify.toml", line=4),
                  SimpleNamespace(signed="EDGENODE_YES", file="netlify.toml", line=9),
                  SimpleNamespace(signed=None, file="_redirects", line=1)]
    problems = signed_proxy_problems(site)
    assert [str(p) for p in problems] == [
        "netlify.toml:4: signed proxy: environment variable EDGENODE_NOPE is not set; requests are proxied unsigned"]
