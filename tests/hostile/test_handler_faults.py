"""Edge handler faults: each is answered within its budget (a clean 500), the site recovers, and a
misbehaving site does not slow another site's requests beyond their budget."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
import pytest

from tests.conftest import write_site

pytest.importorskip("edgenode.handlers.runtime", reason="the edge handler runtime is not in this tree")

CPU_MS = 50
TIMEOUT_MS = 1500

HOSTILE = r"""
export async function onRequest(event) {
  const p = new URL(event.request.url).pathname;
  if (p === "/loop") { for (;;) {} }
  if (p === "/loop-after-await") { await null; for (;;) {} }
  if (p === "/memory") { const a = []; for (;;) a.push(new Array(1e5).fill(a.length)); }
  if (p === "/buffers") { globalThis.k = []; for (;;) globalThis.k.push(new Uint8Array(16 << 20).fill(1)); }
  if (p === "/recurse") { const f = (n) => f(n + 1) + 1; f(0); }
  if (p === "/throw") { throw new Error("handler boom"); }
  if (p === "/never") { await new Promise(() => {}); }
  if (p === "/sleep") { await new Promise((r) => setTimeout(r, 60000)); }
  if (p === "/huge") { event.replaceResponse(new Response("x".repeat(1 << 29) + "y".repeat(1 << 29))); }
  if (p === "/fetchloop") { for (;;) await fetch(new URL("/ok.html", event.request.url).href); }
  if (p === "/fetchself") { event.replaceResponse(await fetch(event.request.url)); }
}
"""
GOOD = 'export function onRequest(e) { e.replaceResponse(new Response("good site " + new URL(e.request.url).pathname)); }'


def handler_site(root, name: str, source: str):
    return write_site(root / name, {
        "index.html": "<h1>home</h1>", "ok.html": "<h1>ok</h1>",
        f"edge-handlers/{name}.js": source,
        "netlify.toml": f'[[edge_handlers]]\npath = "/*"\nhandler = "{name}"\n',
    })


@pytest.fixture
def sites(edgenode, tmp_path):
    bad = handler_site(tmp_path, "hostile", HOSTILE)
    good = handler_site(tmp_path, "good", GOOD)
    return edgenode([("bad.test", bad), ("good.test", good)], handler_cpu_ms=CPU_MS, handler_memory_mb=128,
                    handler_timeout_ms=TIMEOUT_MS).url


async def get(url: str, path: str, host: str) -> tuple[int, bytes, float]:
    t0 = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        async with s.get(url + path, headers={"Host": host, "Accept": "text/plain"}) as r:
            return r.status, await r.read(), time.monotonic() - t0


FAULTS = {  # path -> longest acceptable time to the 500, seconds (generous: 2 shared cores)
    "/loop": 2.0, "/loop-after-await": 2.0, "/memory": 5.0, "/buffers": 5.0, "/recurse": 2.0,
    "/throw": 2.0, "/never": 2.0, "/sleep": TIMEOUT_MS / 1000 + 2.0, "/huge": 5.0, "/fetchloop": 5.0,
    "/fetchself": 5.0,
}


@pytest.mark.parametrize("path", list(FAULTS))
async def test_handler_fault_answered_and_site_recovers(sites, path):
    status, body, took = await get(sites, path, "bad.test")
    assert status >= 500 and len(body) < 10_000, (path, status, body[:200])
    assert took < FAULTS[path], (path, took)
    # The same site answers its next request (its isolate survived or was rebuilt) ...
    status, body, _ = await get(sites, "/throw", "bad.test")
    assert status == 500 and b"handler boom" in body
    # ... and the other site never noticed.
    status, body, took = await get(sites, "/x", "good.test")
    assert (status, body) == (200, b"good site /x") and took < 2.0


async def test_misbehaving_site_does_not_slow_another(sites):
    """Four clients keep site A's isolate burning CPU and memory; site B stays within its budget."""
    stop = asyncio.Event()
    bad_answers: list[int] = []

    async def hammer(path: str) -> None:
        while not stop.is_set():
            status, _, _ = await get(sites, path, "bad.test")
            bad_answers.append(status)

    hammers = [asyncio.create_task(hammer(p)) for p in ("/loop", "/loop-after-await", "/memory", "/recurse")]
    await asyncio.sleep(0.3)
    latencies = []
    try:
        for i in range(40):
            status, body, took = await get(sites, f"/p{i}", "good.test")
            assert (status, body) == (200, f"good site /p{i}".encode())
            latencies.append(took)
    finally:
        stop.set()
        await asyncio.gather(*hammers)
    assert bad_answers and all(s >= 500 for s in bad_answers)
    # B's handler is trivial; its requests wait at most about one of A's CPU slices behind A.
    assert statistics.median(latencies) < 0.25, latencies
    assert max(latencies) < 2.0, max(latencies)
