"""Function faults: crash, hang, exit, throw, oversized answers. Each is answered within the function
timeout, the worker is replaced, and other requests are never held up."""

from __future__ import annotations

import asyncio
import shutil
import time

import aiohttp
import pytest

from tests.conftest import write_site

FN = "netlify/functions/"
TIMEOUT = 1.0
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

SOURCES = {
    FN + "ok.js": "exports.handler = async () => ({statusCode: 200, body: 'fine'});\n",
    FN + "crash.js": "exports.handler = async () => { process.exit(7); };\n",
    FN + "abort.js": "exports.handler = async () => { process.abort(); };\n",
    FN + "spin.js": "exports.handler = async () => { for (;;) {} };\n",
    FN + "never.js": "exports.handler = () => new Promise(() => {});\n",
    FN + "throws.js": "exports.handler = async () => { throw new Error('boom'); };\n",
    FN + "recurse.js": "const f = (n) => f(n + 1) + 1;\nexports.handler = async () => ({statusCode: 200, body: String(f(0))});\n",
    FN + "huge.js": "exports.handler = async () => ({statusCode: 200, body: 'x'.repeat(40 * 1024 * 1024)});\n",
    FN + "hugeheader.js": "exports.handler = async () => ({statusCode: 200, headers: {'x-big': 'h'.repeat(3 * 1024 * 1024)}, body: 'x'});\n",
    FN + "badstatus.js": "exports.handler = async () => ({statusCode: 'two hundred', body: 'x'});\n",
    FN + "crlf.js": "exports.handler = async () => ({statusCode: 200, headers: {'x-a': 'a\\r\\nSet-Cookie: evil=1'}, body: 'x'});\n",
    FN + "modern_never.mjs": "export default async () => new Promise(() => {});\n",
    FN + "pyok.py": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'py fine'}\n",
    FN + "pyexit.py": "import os\n\ndef handler(event, context):\n    os._exit(3)\n",
    FN + "pyhang.py": "import time\n\ndef handler(event, context):\n    time.sleep(60)\n",
    FN + "pyraise.py": "def handler(event, context):\n    raise ValueError('py boom')\n",
    FN + "pyhuge.py": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'y' * (40 * 1024 * 1024)}\n",
}


@pytest.fixture
def fn_server(edgenode, tmp_path):
    site = write_site(tmp_path / "site", {"index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>",
                                          **SOURCES})
    return edgenode(site, function_timeout=TIMEOUT)


async def call(url: str, name: str) -> tuple[int, bytes, float, aiohttp.typedefs.LooseHeaders]:
    t0 = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        async with s.get(f"{url}/.netlify/functions/{name}", headers={"Accept": "text/plain"}) as r:
            return r.status, await r.read(), time.monotonic() - t0, r.headers


async def still_fine(url: str) -> None:
    status, body, took, _ = await call(url, "ok")
    assert (status, body) == (200, b"fine") and took < 3
    async with aiohttp.ClientSession() as s, s.get(url + "/about") as r:
        assert r.status == 200 and await r.read() == b"<h1>about</h1>"


CASES = {
    "crash": ({500}, None),
    "abort": ({500}, None),
    "spin": ({502}, TIMEOUT),
    "never": ({502}, TIMEOUT),
    "modern_never": ({502}, TIMEOUT),
    "throws": ({500}, None),
    "recurse": ({500}, None),
    "huge": ({502}, None),
    "hugeheader": ({502}, None),
    "badstatus": ({500}, None),
    "pyexit": ({500}, None),
    "pyhang": ({502}, TIMEOUT),
    "pyraise": ({500}, None),
    "pyhuge": ({502}, None),
}


@needs_node
@pytest.mark.parametrize("name", list(CASES))
async def test_function_fault_answered_and_node_recovers(fn_server, name):
    statuses, timeout = CASES[name]
    status, body, took, _ = await call(fn_server.url, name)
    assert status in statuses, (name, status, body[:200])
    assert took < (timeout or 0) + 5, took
    if timeout:
        assert took >= timeout * 0.9
    assert len(body) < 10_000  # an error page, not the oversized body
    await still_fine(fn_server.url)


@needs_node
async def test_crlf_from_a_function_never_splits_headers(fn_server):
    status, _, _, headers = await call(fn_server.url, "crlf")
    assert "evil=1" not in headers.getall("Set-Cookie", [])
    assert status == 502


@needs_node
async def test_hanging_functions_do_not_hold_up_other_requests(fn_server):
    """Several hangs at once: static files and healthy functions still answer at once."""
    hangs = [asyncio.create_task(call(fn_server.url, n)) for n in ("spin", "never", "pyhang", "spin")]
    await asyncio.sleep(0.2)
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            async with s.get(fn_server.url + "/about") as r:
                assert r.status == 200
    assert time.monotonic() - t0 < 1.0
    results = await asyncio.gather(*hangs)
    assert all(r[0] == 502 for r in results), [r[0] for r in results]
    await still_fine(fn_server.url)


@needs_node
async def test_crash_loop_keeps_serving(fn_server):
    for _ in range(6):
        status, *_ = await call(fn_server.url, "crash")
        assert status == 500
    await still_fine(fn_server.url)
