"""Function invoker through a live edgenode: both JavaScript API versions and Python, the event and
response contracts, errors, timeouts, crashes, background functions, identity, caching."""

from __future__ import annotations

import base64
import json
import os
import shutil
from types import SimpleNamespace

import aiohttp
import jwt
import pytest

from edgenode import identity
from edgenode.exchange import OriginTarget
from edgenode.routing import phase
from edgenode.testing import RunningEdgenode
from tests.conftest import wait_for, write_site
from tests.function_sources import SOURCES

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
F = "/.netlify/functions/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    site = write_site(tmp_path_factory.mktemp("fn") / "site", SOURCES)
    srv = RunningEdgenode(site, country="NL", function_timeout=1.5)
    yield srv
    srv.stop()


async def call(url: str, method: str = "GET", **kw) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.read()


@needs_node
async def test_v1_event_contract(server):
    status, h, body = await call(server.url + F + "echo/sub/path?a=1&a=2&b=",
                                 headers={"X-Multi": "x", "Accept-Language": "fr"})
    assert status == 200 and h["x-bool"] == "true" and h["x-num"] == "7"
    data = json.loads(body)
    ev = data["event"]
    assert ev["path"] == "/.netlify/functions/echo/sub/path" and ev["httpMethod"] == "GET"
    assert ev["queryStringParameters"] == {"a": "1, 2", "b": ""}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert ev["rawQuery"] == "a=1&a=2&b=" and ev["rawUrl"] == server.url + F + "echo/sub/path?a=1&a=2&b="
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    assert ev["headers"]["x-multi"] == "x" and ev["multiValueHeaders"]["x-multi"] == ["x"]
    # FN-11: headers Netlify adds
    hd = ev["headers"]
    assert hd["client-ip"] == "127.0.0.1" and hd["x-nf-client-connection-ip"] == "127.0.0.1"
    assert hd["x-forwarded-for"] == "127.0.0.1" and hd["x-forwarded-proto"] == "http"
    assert hd["x-country"] == "NL" and hd["x-language"] == "fr" and len(hd["x-nf-request-id"]) == 26
    assert json.loads(base64.b64decode(hd["x-nf-geo"]))["country"]["code"] == "NL"
    assert data["clientContext"] == {} and data["name"] == "echo" and 0 < data["remaining"] <= 1500


@needs_node
async def test_v1_bodies_text_and_base64(server):
    _, _, body = await call(server.url + F + "echo", "POST", data=b'{"k": 1}',
                            headers={"Content-Type": "application/json; charset=utf-8"})
    ev = json.loads(body)["event"]
    assert ev["body"] == '{"k": 1}' and ev["isBase64Encoded"] is False and ev["httpMethod"] == "POST"
    raw = bytes(range(256))
    _, _, body = await call(server.url + F + "echo", "POST", data=raw, headers={"Content-Type": "image/png"})
    ev = json.loads(body)["event"]
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == raw
    _, _, body = await call(server.url + F + "echo", "PUT", data=b"plain", skip_auto_headers=("Content-Type",))
    ev = json.loads(body)["event"]
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"plain"


@needs_node
async def test_v1_binary_response_and_multi_value_headers(server):
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + F + "binary", data=b"\x01\x02\xff",
                          headers={"Content-Type": "application/octet-stream"}) as r:
            assert r.status == 200 and await r.read() == b"\xff\x02\x01"
            assert r.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    status, h, _ = await call(server.url + F + "binary?status=302&to=/x")
    assert status == 302 and h["Location"] == "/x"


@needs_node
async def test_v1_callback_style_and_invalid_responses(server):
    assert (await call(server.url + F + "callback"))[2] == b"called back"
    status, _, body = await call(server.url + F + "nostatus")
    assert status == 500 and b"numerical statusCode" in body
    status, h, body = await call(server.url + F + "throws", headers={"Accept": "text/html"})
    assert status == 500 and h["Content-Type"].startswith("text/html") and b"RangeError" in body
    status, _, body = await call(server.url + F + "throws")
    assert status == 500 and body == b"RangeError: js boom\n"
    assert (await call(server.url + F + "echo"))[0] == 200  # the worker survived


@needs_node
async def test_v2_request_context_and_response(server):
    status, h, body = await call(server.url + F + "modern?q=1", "POST", data="hello",
                                 headers={"Accept-Language": "de"})
    assert status == 203 and h["x-api"] == "v2"
    assert h["Set-Cookie"].startswith("seen=yes") and "HttpOnly" in h["Set-Cookie"]
    data = json.loads(body)
    assert data["url"] == server.url + F + "modern?q=1" and data["method"] == "POST" and data["text"] == "hello"
    assert data["country"] == "NL" and data["ip"] == "127.0.0.1" and data["env"] == "hallo"
    assert data["requestId"] == h["X-Nf-Request-Id"] and data["lang"] == "de"
    status, _, body = await call(server.url + F + "nothing")
    assert status == 500 and b"no Response" in body


async def test_python_functions(server):
    status, h, body = await call(server.url + F + "pyecho/x?k=v", "POST", data=b"\x00\xff",
                                 headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and h.getall("x-multi") == ["1", "2"]
    data = json.loads(body)
    ev = data["event"]
    assert ev["path"] == "/.netlify/functions/pyecho/x" and ev["queryStringParameters"] == {"k": "v"}
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"\x00\xff"
    assert data["name"] == "pyecho" and data["clientContext"] == {}
    status, _, body = await call(server.url + F + "pyasync")
    assert status == 200 and body == b"\x00\x01bytes"
    status, _, body = await call(server.url + F + "pyerror")
    assert status == 500 and body == b"ValueError: py boom\n"
    assert (await call(server.url + F + "pyasync"))[0] == 200


async def test_blocking_function_stalls_neither_the_node_nor_other_calls(server):
    import asyncio

    slow = asyncio.ensure_future(call(server.url + F + "pysleep?s=1.0"))  # time.sleep: blocks its worker
    await asyncio.sleep(0.1)
    status, _, body = await call(server.url + "/")  # static answers while the function blocks
    assert status == 200 and body == b"<h1>home</h1>"
    assert (await call(server.url + F + "pyasync"))[0] == 200  # another worker takes the next call
    assert not slow.done()
    assert (await slow)[2] == b"woke"


async def test_python_timeout_and_crash_recycle_the_worker(server):
    status, _, body = await call(server.url + F + "pysleep?s=5")
    assert status == 502 and body.startswith(b"TimeoutError: function pysleep did not finish within 1.5 s")
    assert (await call(server.url + F + "pysleep?s=0"))[2] == b"woke"
    status, _, body = await call(server.url + F + "pycrash")
    assert status == 500 and b"exit code 4" in body
    assert (await call(server.url + F + "pysleep?s=0"))[2] == b"woke"


@needs_node
async def test_js_timeout_and_crash_recycle_the_worker(server):
    status, _, body = await call(server.url + F + "spin")
    assert status == 502 and b"TimeoutError" in body
    assert (await call(server.url + F + "echo"))[0] == 200
    status, _, body = await call(server.url + F + "crash")
    assert status == 500 and b"exit code 3" in body
    assert (await call(server.url + F + "echo"))[0] == 200


@needs_node
async def test_background_functions(server, tmp_path):
    for name, expect in (("work-background", "done:payload"), ("py-background", "py done:payload"),
                         ("later", "v2 background")):
        out = tmp_path / f"{name}.txt"
        status, h, body = await call(server.url + F + f"{name}?out={out}", "POST", data="payload",
                                     headers={"Content-Type": "text/plain"})
        assert status == 202 and body == b""
        assert not out.exists()  # answered before the work finished

        async def written(out=out):
            return out.exists() and out.read_text()

        assert await wait_for(written, timeout=10) == expect


async def test_names_and_unsupported(server):
    status, _, body = await call(server.url + F + "nope")
    assert status == 404 and b"Function not found" in body
    status, _, body = await call(server.url + F + "bad.name")
    assert status == 400 and b"alphanumeric" in body
    status, _, body = await call(server.url + F + "typed")
    assert status == 501 and b"TypeScript" in body
    problems = [str(p) for p in server.node.sites.holders[0].site.problems]
    assert any("typed.ts" in p and "TypeScript" in p for p in problems)
    assert any("bad.name.js" in p for p in problems)


@needs_node
async def test_function_responses_cached_only_when_their_headers_allow(server):
    url = server.url + F + "cached"
    first = (await call(url))[2]
    assert (await call(url))[2] != first  # no-store: every call runs the function
    cc = "cc=public,%20max-age=60"
    a = await call(url + "?" + cc)
    b = await call(url + "?" + cc)
    assert a[2] == b[2] and b[1]["Cache-Status"] == '"edgenode"; hit'


@needs_node
async def test_body_limit(server):
    status, _, _ = await call(server.url + F + "echo", "POST", data=b"x" * (6 * 1024 * 1024 + 1))
    assert status == 413


@needs_node
async def test_client_context_from_bearer_token(server):
    token = jwt.encode({"sub": "u1", "email": "a@b.c", "app_metadata": {"roles": ["admin"]}},
                       "some-secret-some-secret-some-secret!", algorithm="HS256")
    _, _, body = await call(server.url + F + "echo", headers={"Authorization": f"Bearer {token}"})
    cc = json.loads(body)["clientContext"]
    assert cc["user"]["email"] == "a@b.c" and cc["identity"]["url"] == server.url + "/.netlify/identity"
    assert json.loads(base64.b64decode(cc["custom"]["netlify"]))["user"]["sub"] == "u1"


@needs_node
async def test_client_context_from_verified_identity(edgenode, make_site, monkeypatch):
    def identify(node, ex):
        ex.identity = SimpleNamespace(claims={"sub": "verified", "app_metadata": {"roles": ["r"]}}, token="t")

    monkeypatch.setattr(identity, "identify", identify)
    url = edgenode(make_site(SOURCES), jwt_secret="configured").url
    _, _, body = await call(url + F + "echo")
    assert json.loads(body)["clientContext"]["user"]["sub"] == "verified"
    _, _, body = await call(url + F + "pyecho")
    assert json.loads(body)["clientContext"]["user"]["sub"] == "verified"


async def test_rewrite_keeps_original_path_in_event(edgenode, make_site, monkeypatch):
    """RR-24: what the rules phase builds for `/api/* /.netlify/functions/:splat 200`."""
    original = phase.route

    async def route(node, ex):
        if ex.path.startswith("/api/"):
            ex.target = OriginTarget("function", F + ex.path[5:], ex.query_string)
            return
        await original(node, ex)

    monkeypatch.setattr(phase, "route", route)
    url = edgenode(make_site(SOURCES)).url
    _, _, body = await call(url + "/api/pyecho?x=1", "POST", json={"a": 1})
    ev = json.loads(body)["event"]
    assert ev["path"] == "/api/pyecho" and ev["rawUrl"] == url + "/api/pyecho?x=1"
    assert ev["httpMethod"] == "POST" and ev["body"] == '{"a": 1}' and ev["isBase64Encoded"] is False


async def test_missing_node_answers_501_and_says_so(edgenode, make_site, monkeypatch):
    monkeypatch.setenv("EDGENODE_NODE", "/nonexistent/node")
    srv = edgenode(make_site(SOURCES))
    status, _, body = await call(srv.url + F + "echo")
    assert status == 501 and b"Node.js" in body
    assert (await call(srv.url + F + "pyasync"))[0] == 200  # Python functions still run
    assert any("need Node.js" in str(p) for p in srv.node.sites.holders[0].site.problems)


async def test_reload_serves_the_new_code(edgenode, make_site):
    site = make_site({"netlify/functions/v.py": "def handler(e, c):\n    return {'statusCode': 200, 'body': 'one'}\n",
                      "index.html": "x"})
    srv = edgenode(site)
    assert (await call(srv.url + F + "v"))[2] == b"one"
    (site / "netlify/functions/v.py").write_text("def handler(e, c):\n    return {'statusCode': 200, 'body': 'two'}\n")
    srv.call(srv.node.sites.holders[0].reload)

    async def changed():
        return (await call(srv.url + F + "v"))[2] == b"two"

    assert await wait_for(changed)


def test_workers_do_not_outlive_the_node(make_site):
    srv = RunningEdgenode(make_site({"netlify/functions/p.py": "def handler(e, c):\n    return {'statusCode': 204}\n"}))
    pools = srv.node.sites.holders[0].site.functions.pools
    pids = [w.proc.pid for p in pools.values() for w in p._idle]
    assert pids
    srv.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@needs_node
async def test_demo_site_functions(edgenode):
    root = os.path.join(os.path.dirname(__file__), "..", "handlers_examples")
    url = edgenode(root, country="FR").url
    status, _, body = await call(url + F + "hello?name=Ada")
    assert status == 200 and json.loads(body)["greeting"] == "Hello, Ada!"
    status, _, body = await call(url + F + "wordcount", "POST", data="a b a", headers={"Content-Type": "text/plain"})
    assert status == 200 and json.loads(body)["top"][0] == ["a", 2]
    status, _, body = await call(url + "/functions")
    assert status == 200 and b"/.netlify/functions/wordcount" in body


@needs_node
async def test_v2_custom_paths(server):
    assert (await call(server.url + "/travel/paris"))[2] == b"to paris by GET"
    assert (await call(server.url + "/go/rome", "POST"))[2] == b"to rome by POST"
    assert (await call(server.url + "/travel/nowhere"))[0] == 404  # excludedPath
    assert (await call(server.url + "/travel/paris", "DELETE"))[0] == 404  # method not listed
    assert (await call(server.url + F + "travel"))[0] == 404  # no longer at the default route
    assert (await call(server.url + "/"))[2] == b"<h1>home</h1>"  # preferStatic: the file wins


async def test_more_concurrent_calls_than_workers(server):
    import asyncio

    results = await asyncio.gather(*(call(server.url + F + f"pyecho?i={i}") for i in range(12)))
    assert [json.loads(b)["event"]["queryStringParameters"]["i"] for _, _, b in results] == [str(i) for i in range(12)]


@needs_node
async def test_syntax_error_is_a_500_and_the_fix_works(edgenode, make_site):
    site = make_site({"netlify/functions/broken.js": "exports.handler = async () => {{ oops",
                      "index.html": "x"})
    srv = edgenode(site, watch=False)
    status, _, body = await call(srv.url + F + "broken")
    assert status == 500 and body.startswith(b"SyntaxError")
