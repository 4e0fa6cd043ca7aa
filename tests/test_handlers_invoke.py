"""The per-invocation fast paths of the handler bridge keep the exact semantics of the slow ones.

Text bodies crossing as strings, batch JSON through orjson with the standard-library fallback,
requests on the request's own origin split without urlsplit, cached URL serialisation in
Request, and the lazily built event objects.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import aiohttp
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from edgenode.exchange import EdgeRequest
from edgenode.handlers.bridge import HandlerError, edge_request_from_js, text_form
from edgenode.handlers.runtime import _from_json, _to_json


def _base(authority: str = "127.0.0.1:8080") -> EdgeRequest:
    host = authority.rsplit(":", 1)[0].lower() if authority.count(":") == 1 else authority.lower()
    return EdgeRequest("GET", "http", host, authority, "/", "/", "", CIMultiDict(), "127.0.0.1")


def _by_urlsplit(base: EdgeRequest, url: str) -> tuple[str, str, str, str, str]:
    """What edge_request_from_js made before its fast path (urlsplit for every URL)."""
    parts = urlsplit(url)
    return (parts.scheme or base.scheme, (parts.hostname or base.host).lower(), parts.netloc or base.authority,
            parts.path or "/", parts.query)


_REST = st.text(st.sampled_from(list("/?#%&=.-_~ab\t\n é\x00\x7f")), max_size=24)


@given(rest=_REST, authority=st.sampled_from(["127.0.0.1:8080", "example.com", "Example.com:81", "[::1]:8080",
                                              "u@h:1", "127.0.0.1"]))
def test_request_split_matches_urlsplit(rest: str, authority: str) -> None:
    base = _base(authority)
    for url in (f"http://{authority}{rest}", f"http://127.0.0.1:8080{rest}", f"https://{authority}{rest}"):
        d = {"method": "GET", "url": url, "headers": [["x-a", "1"], ["X-A", "2"]]}
        try:
            req, path, query = edge_request_from_js(base, d)
        except HandlerError:
            continue  # a path decode_path refuses: refused on both paths alike
        want = _by_urlsplit(base, url)
        assert (req.scheme, req.host, req.authority, req.raw_path, req.query_string) == want
        assert query == want[4] and path == req.path
        assert req.headers.getall("x-a") == ["1", "2"]


def test_batch_json_falls_back_for_what_orjson_refuses() -> None:
    for value in (["lone \udcff surrogate"], [2**70], {"k": "é \u2028 \u2029 \x00 ' \\ \""}):
        text = _to_json(value)
        assert json.loads(text) == value
        assert _from_json(text) == value
    # JSON.stringify escapes a lone surrogate: the standard decoder keeps it, as before.
    assert _from_json('["\\ud800"]') == ["\ud800"]


def test_text_form_only_when_exact() -> None:
    html = CIMultiDict({"Content-Type": "text/html; charset=utf-8"})
    assert text_form("héllo".encode(), html) == "héllo"
    assert text_form(b"\xef\xbb\xbfbom", html) is None  # text() would drop the BOM
    assert text_form(b"\xff\xfe", html) is None  # not UTF-8
    assert text_form(b"{}", CIMultiDict({"Content-Type": "application/json"})) == "{}"
    assert text_form(b"PNG", CIMultiDict({"Content-Type": "image/png"})) is None


async def _get(url: str, path: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s:
        async with s.get(url + path) as r:
            return r.status, await r.read()


TEXT_PAGE = "<p>caf\u00e9 \u2028 line\u2029sep \U0001F600 ' \" \\ </p>\n"

PROBE = r"""
export async function onRequest(event) {
  const url = new URL(event.request.url);
  const origin = url.origin;
  if (url.pathname === "/text") {
    const a = await fetch(origin + "/page.html");
    const b = await fetch(origin + "/page.html");
    const text = await a.text();
    const bytes = new Uint8Array(await b.arrayBuffer());
    event.replaceResponse(Response.json({ len: text.length, bytes: bytes.length, last: text.charCodeAt(text.length - 2) }));
  } else if (url.pathname === "/bom") {
    const t = await (await fetch(origin + "/bom.html")).text();
    const u = new Uint8Array(await (await fetch(origin + "/bom.html")).arrayBuffer());
    event.replaceResponse(Response.json({ text: t, first: u[0], n: u.length }));
  } else if (url.pathname === "/echo") {
    const res = await fetch(origin + "/page.html");
    event.replaceResponse(new Response(await res.text(), { headers: res.headers }));
  } else if (url.pathname === "/passthrough") {
    event.replaceResponse(fetch(origin + "/page.html"));
  } else if (url.pathname === "/urls") {
    const out = [];
    for (let i = 0; i < 3; i++) {
      out.push(new Request("HTTP://Example.COM:80/a/./b/../c?q=1#f").url);
      try { new Request("http://exa mple.com/"); out.push("no error"); } catch (e) { out.push(e.name); }
    }
    // The per-request bookkeeping of Request/Headers is not reachable from handler code.
    out.push(Object.getOwnPropertyNames(Request).concat(Object.getOwnPropertyNames(Headers))
      .filter((n) => /origin|freeze|own/i.test(n)).length);
    event.replaceResponse(Response.json(out));
  }
}
"""


async def test_text_bodies_cross_exactly(edgenode, make_site) -> None:
    site = make_site({
        "page.html": TEXT_PAGE,
        "bom.html": "\ufeffhi",
        "edge-handlers/probe.js": PROBE,
        "netlify.toml": "".join(f'[[edge_handlers]]\npath = "/{p}"\nhandler = "probe"\n\n'
                                for p in ("text", "bom", "echo", "passthrough", "urls")),
    })
    url = edgenode(site).url
    for _ in range(2):  # the first fetch of a page may stream it from the file, later ones come cached
        status, body = await _get(url, "/text")
        assert status == 200
        assert json.loads(body) == {"len": len(TEXT_PAGE.encode("utf-16-le")) // 2,
                                    "bytes": len(TEXT_PAGE.encode()), "last": ord(">")}
        status, body = await _get(url, "/bom")
        assert json.loads(body) == {"text": "hi", "first": 0xEF, "n": 5}
        for path in ("/echo", "/passthrough"):
            status, body = await _get(url, path)
            assert (status, body) == (200, TEXT_PAGE.encode()), path
    status, body = await _get(url, "/urls")
    assert json.loads(body) == ["http://example.com/a/c?q=1#f", "TypeError"] * 3 + [0]


BRIDGE_PROBE = r"""
const atLoad = Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__edge")).sort();
export function onRequest(event) {
  const now = Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__edge")).sort();
  let forged = "no";
  try { globalThis.__edge.run('[["k", 1, 0, 16]]'); forged = "yes"; } catch (e) { forged = e.name; }
  event.replaceResponse(Response.json({ atLoad, now, forged }));
}
"""


async def test_handler_code_cannot_reach_the_bridge(edgenode, make_site) -> None:
    """core.js's run()/drain() and fetch.js's internals are taken by the host and their globals
    removed before any handler code is evaluated, at load time or per request."""
    site = make_site({
        "edge-handlers/probe.js": BRIDGE_PROBE,
        "netlify.toml": '[[edge_handlers]]\npath = "/*"\nhandler = "probe"\n',
    })
    url = edgenode(site).url
    for _ in range(2):
        status, body = await _get(url, "/x")
        assert status == 200
        want = ["__edge_handlers", "__edge_modules"]
        assert json.loads(body) == {"atLoad": want, "now": want, "forged": "TypeError"}
