"""Hostile handlers: each gets a 5xx within its budget; the same site and another site keep serving."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.test_handlers_api import get, handler_site

HOSTILE = r"""
export async function onRequest(event) {
  const p = event.request.url.split("?")[0].replace(/^https?:\/\/[^/]+/, "");
  if (p === "/loop") { while (true) {} }
  if (p === "/microloop") { await null; while (true) {} }
  if (p === "/timerloop") { await new Promise((r) => setTimeout(r, 5)); while (true) {} }
  if (p === "/microflood") { const f = () => Promise.resolve().then(f); f(); await new Promise(() => {}); }
  if (p === "/heap") { const a = []; while (true) a.push({ x: Math.random(), y: "abc" + a.length }); }
  if (p === "/arraybuffers") { globalThis.keep = []; while (true) globalThis.keep.push(new Uint8Array(8 << 20).fill(1)); }
  if (p === "/recurse") { const f = (n) => f(n + 1) + 1; f(0); }
  if (p === "/throw") { throw new TypeError("nope"); }
  if (p === "/throwvalue") { throw 42; }
  if (p === "/reject") { await Promise.reject(new RangeError("rejected")); }
  if (p === "/never") { await new Promise(() => {}); }
  if (p === "/slow") { await new Promise((r) => setTimeout(r, 60000)); }
  if (p === "/huge") { event.replaceResponse(new Response("x".repeat(1 << 29) + "y".repeat(1 << 29))); }
  if (p === "/fetchloop") { for (;;) await fetch(event.request.url.replace("/fetchloop", "/")); }
  if (p === "/notresponse") { event.replaceResponse(async () => ({ body: "not a response" })); }
}
"""
OK = 'export function onRequest(e) { e.replaceResponse(new Response("ok from " + e.request.headers.get("host"))); }'


@pytest.fixture
def two_sites(edgenode, make_site):
    a = handler_site(make_site, {"hostile": HOSTILE}, [("/*", "hostile")], name="a")
    b = handler_site(make_site, {"ok": OK}, [("/*", "ok")], name="b")
    return edgenode([("a.test", a), ("b.test", b)], handler_cpu_ms=50, handler_memory_mb=128,
                    handler_timeout_ms=1500).url


CASES = [
    ("/loop", "TimeoutError: CPU budget of 50 ms exceeded"),
    ("/microloop", "TimeoutError: CPU budget of 50 ms exceeded"),
    ("/timerloop", "TimeoutError: CPU budget of 50 ms exceeded"),
    ("/microflood", "TimeoutError: CPU budget of 50 ms exceeded"),
    ("/heap", None),  # CPU or heap limit, whichever comes first
    ("/arraybuffers", None),
    ("/recurse", "RangeError: Maximum call stack size exceeded"),
    ("/throw", "TypeError: nope"),
    ("/throwvalue", "Error: 42"),
    ("/reject", "RangeError: rejected"),
    ("/never", "Error: the handler's promise can never settle: it waits for nothing pending"),
    ("/slow", "TimeoutError: handler did not answer within 1500 ms"),
    ("/huge", "RangeError: Invalid string length"),
    ("/fetchloop", "TypeError: too many subrequests (more than 50)"),
    ("/notresponse", "TypeError: replaceResponse() needs a Response, got [object Object]"),
]


@pytest.mark.parametrize(("path", "message"), CASES)
async def test_hostile_handler_fails_alone(two_sites, path, message):
    t0 = time.perf_counter()
    status, headers, body = await get(two_sites, path, headers={"Host": "a.test"})
    took = time.perf_counter() - t0
    assert status == 500, body
    line = body.decode().strip()
    if message is None:
        assert line in ("TimeoutError: CPU budget of 50 ms exceeded", "RangeError: memory limit of 128 MB exceeded")
    else:
        assert line == message
    assert "at onRequest" not in body.decode()  # the stack goes to the log only
    assert took < 5.0
    # the same site's static pages and the other site's handler are unaffected
    assert (await get(two_sites, "/", headers={"Host": "a.test"}))[0] in (200, 304)
    assert (await get(two_sites, "/", headers={"Host": "b.test"}))[2] == b"ok from b.test"


async def test_runaway_is_stopped_fast_and_others_keep_their_speed(two_sites):
    async with aiohttp.ClientSession() as s:
        async def timed(host: str, path: str) -> tuple[int, float]:
            t0 = time.perf_counter()
            async with s.get(two_sites + path, headers={"Host": host}) as r:
                await r.read()
                return r.status, time.perf_counter() - t0

        results = await asyncio.gather(timed("a.test", "/loop"), *(timed("b.test", "/") for _ in range(10)))
    status, loop_took = results[0]
    assert status == 500 and loop_took < 2.0
    assert all(st == 200 for st, _ in results[1:])


async def test_memory_limit_message(edgenode, make_site):
    a = handler_site(make_site, {"hostile": HOSTILE}, [("/*", "hostile")], name="a")
    url = edgenode(a, handler_cpu_ms=5000, handler_memory_mb=64).url
    for path in ("/heap", "/arraybuffers"):
        status, _, body = await get(url, path)
        assert (status, body) == (500, b"RangeError: memory limit of 64 MB exceeded\n")
        assert (await get(url, "/"))[0] == 200


def test_a_termination_by_the_hard_memory_limit_is_reported_as_memory():
    """mini-racer does not always report the termination its hard memory limit caused as
    JSOOMException: with a smaller V8 young generation it came back as a JSEvalException "null",
    and the client got "the edge handler runtime failed". The limit's own flag decides."""
    from types import SimpleNamespace

    from py_mini_racer import JSEvalException

    from edgenode.handlers.runtime import _limit_error

    class Racer:
        reached = True

        def was_hard_memory_limit_reached(self) -> bool:
            return self.reached

    iso = SimpleNamespace(mr=Racer(), memory_mb=64, cpu_ms=50.0, label="site0")
    err = _limit_error(JSEvalException("null"), iso)
    assert (err.name, err.message) == ("RangeError", "memory limit of 64 MB exceeded")
    iso.mr.reached = False
    err = _limit_error(JSEvalException("null"), iso)
    assert (err.name, err.message) == ("Error", "the edge handler runtime failed")
