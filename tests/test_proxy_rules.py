"""Proxying and function rewrites driven by real `_redirects` / `[[redirects]]` rules (RR-21..RR-24, RR-32).
"""

from __future__ import annotations

import json

import aiohttp
import jwt
import pytest

from tests.proxy_upstreams import start_upstream, upstream_app

SECRET = "rules-test-shared-secret-32-bytes-long!"


@pytest.fixture
async def upstream():
    runner, url = await start_upstream(upstream_app())
    yield url
    await runner.cleanup()


def site_files(upstream: str) -> dict[str, str]:
    return {
        "index.html": "home",
        "_redirects": f"/api/* {upstream}/:splat 200\n/fn/* /.netlify/functions/:splat 200\n",
        "netlify.toml": (
            '[[redirects]]\nfrom = "/signed/*"\nto = "' + upstream + '/:splat"\nstatus = 200\n'
            'signed = "EDGENODE_RULES_SECRET"\n[redirects.headers]\nX-From-Rule = "yes"\n'
            '[[redirects]]\nfrom = "/unsigned/*"\nto = "' + upstream + '/:splat"\nstatus = 200\n'
            'signed = "EDGENODE_RULES_MISSING"\n'
        ),
        "netlify/functions/where.py": (
            "import json\n\ndef handler(event, context):\n"
            "    return {'statusCode': 200, 'body': json.dumps([event['path'], event['rawQuery']])}\n"
        ),
    }


async def test_splat_proxy_rule(edgenode, make_site, upstream):
    url = edgenode(make_site(site_files(upstream))).url
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "/api/echo/x?q=1", data=b"body") as r:
            data = await r.json()
    assert data["path"] == "/echo/x?q=1" and data["method"] == "POST" and data["len"] == 4


async def test_signed_rule_with_headers(edgenode, make_site, upstream, monkeypatch):
    monkeypatch.setenv("EDGENODE_RULES_SECRET", SECRET)
    url = edgenode(make_site(site_files(upstream))).url
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/signed/echo") as r:
            headers = {k.lower(): v for k, v in (await r.json())["headers"].items()}
    assert headers["x-from-rule"] == "yes"
    assert jwt.decode(headers["x-nf-sign"], SECRET, algorithms=["HS256"])["iss"] == "netlify"


async def test_rewrite_to_function_sees_original_path(edgenode, make_site, upstream):
    url = edgenode(make_site(site_files(upstream))).url
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/fn/where?z=9") as r:
            assert json.loads(await r.read()) == ["/fn/where", "z=9"]


async def test_websocket_through_a_rule(edgenode, make_site, upstream):
    url = edgenode(make_site(site_files(upstream))).url
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url + "/api/ws") as ws:
            await ws.send_str("x")
            assert await ws.receive_str(timeout=5) == "echo:x"


def test_check_reports_missing_signing_secret(make_site, monkeypatch, capsys):
    from edgenode.commands.check import check_site

    monkeypatch.setenv("EDGENODE_RULES_SECRET", SECRET)
    monkeypatch.delenv("EDGENODE_RULES_MISSING", raising=False)
    check_site(str(make_site(site_files("http://127.0.0.1:9"))))
    out = capsys.readouterr().out
    assert "EDGENODE_RULES_MISSING is not set" in out and "EDGENODE_RULES_SECRET" not in out
