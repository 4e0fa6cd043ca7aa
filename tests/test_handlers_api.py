"""Edge handler API through a live server: the classic event API and the Web APIs of the isolate."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import aiohttp
import pytest

JS_DIR = resources.files("edgenode.handlers").joinpath("js")


def has_lib(name: str) -> bool:
    return JS_DIR.joinpath(name).is_file()


needs_url = pytest.mark.skipif(not has_lib("url.js"), reason="url.js (jslib) not merged yet")
needs_encoding = pytest.mark.skipif(not has_lib("encoding.js"), reason="encoding.js (jslib) not merged yet")


def handler_site(make_site, handlers: dict[str, str], decls: list[tuple[str, str]],
                 files: dict[str, str] | None = None, name: str = "site"):
    toml = "".join(f'[[edge_handlers]]\npath = "{p}"\nhandler = "{h}"\n\n' for p, h in decls)
    tree = {"index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>", "netlify.toml": toml}
    for n, src in handlers.items():
        tree[f"edge-handlers/{n}.js"] = src
    tree.update(files or {})
    return make_site(tree, name=name)


async def get(url: str, path: str, method: str = "GET", **kw):
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url + path, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.read()


# One handler answers every API probe: the path names the probe, the body is its JSON result.
API = r"""
import { VERSION } from "./lib/version.js";
import data from "./data.json" with { type: "json" };
import * as helpers from "./lib/helpers.js";

const probes = {
  async headers() {
    const h = new Headers({ "Content-Type": "text/plain", "X-A": "1" });
    h.append("x-a", "2");
    h.append("Set-Cookie", "a=1");
    h.append("set-cookie", "b=2");
    let invalid = null;
    try { h.set("bad name", "x"); } catch (e) { invalid = e.name; }
    const immutable = await fetch(new Request(evt.request.url.replace(/\/api\/.*/, "/about"))).then((r) => {
      try { r.headers.set("x", "y"); return null; } catch (e) { return e.name; }
    });
    return { ct: h.get("content-type"), xa: h.get("X-A"), cookies: h.getSetCookie(), has: h.has("CONTENT-TYPE"),
      keys: [...h.keys()], invalid, immutable };
  },
  async response() {
    const r = new Response("hello", { status: 201, headers: { "x-y": "z" } });
    const t = await r.text();
    let twice = null;
    try { await r.text(); } catch (e) { twice = e.name + ": " + e.message; }
    const bytes = new Response(new Uint8Array([104, 105]));
    const buf = new Response(new Uint8Array([1, 2, 3]).buffer);
    const j = Response.json({ a: 1 }, { status: 202 });
    const red = Response.redirect("https://example.com/x", 301);
    let badStatus = null, nullBody = null, badRedirect = null;
    try { new Response("x", { status: 99 }); } catch (e) { badStatus = e.name; }
    try { new Response("x", { status: 204 }); } catch (e) { nullBody = e.name; }
    try { Response.redirect("https://example.com/", 200); } catch (e) { badRedirect = e.name; }
    const cloned = new Response("twice").clone();
    return { status: r.status, ok: r.ok, t, twice, used: r.bodyUsed, ct: r.headers.get("content-type"),
      bytes: await bytes.text(), buf: [...new Uint8Array(await buf.arrayBuffer())],
      json: [j.status, j.headers.get("content-type"), await j.json()],
      redirect: [red.status, red.headers.get("location")], badStatus, nullBody, badRedirect,
      cloned: await cloned.text() };
  },
  async request() {
    const r = new Request("https://example.com/p?q=1", { method: "post", body: "data", headers: { "X-K": "v" } });
    let getBody = null, badMethod = null, forbidden = null;
    try { new Request("https://example.com/", { method: "GET", body: "x" }); } catch (e) { getBody = e.name; }
    try { new Request("https://example.com/", { method: "bad method" }); } catch (e) { badMethod = e.name; }
    try { new Request("https://example.com/", { method: "CONNECT" }); } catch (e) { forbidden = e.name; }
    const copy = new Request(r, { headers: { "x-k": "w" } });
    return { method: r.method, url: r.url, ct: r.headers.get("content-type"), body: await copy.text(),
      copyHeader: copy.headers.get("x-k"), used: r.bodyUsed, getBody, badMethod, forbidden,
      event: [evt.request.method, evt.request.headers.get("x-probe")] };
  },
  async crypto() {
    const a = crypto.getRandomValues(new Uint8Array(16));
    const b = crypto.getRandomValues(new Uint32Array(4));
    let quota = null, type = null;
    try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
    try { crypto.getRandomValues(new Float32Array(2)); } catch (e) { type = e.name; }
    const digest = await crypto.subtle.digest("SHA-256", new Uint8Array([97, 98, 99]));
    return { a: a.length, distinct: new Set(a).size > 4, b: b.length, uuid: crypto.randomUUID(), uuid2: crypto.randomUUID(),
      quota, type, digest: new Uint8Array(digest).toHex() };
  },
  async timers() {
    const order = [];
    queueMicrotask(() => order.push("micro"));
    await new Promise((r) => setTimeout(r));
    order.push("timeout0");
    const t = setTimeout(() => order.push("cleared"), 5);
    clearTimeout(t);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 30));
    const waited = Date.now() - t0;
    let n = 0;
    await new Promise((r) => { const i = setInterval(() => { if (++n === 3) { clearInterval(i); r(); } }, 1); });
    await new Promise((r) => setTimeout(r, 10));
    return { order, waited: waited >= 25, n };
  },
  async console() {
    console.log("probe log %s %d", "str", 42, { o: 1 });
    console.error("probe error");
    return { ok: true };
  },
  async domexception() {
    const d = new DOMException("m", "InvalidStateError");
    return { name: d.name, code: d.code, message: d.message, isError: d instanceof Error };
  },
  async modules() { return { VERSION, data, sum: helpers.add(2, 3), star: helpers.twice(4) }; },
  async eval() {
    try { eval("1"); return { eval: "allowed" }; } catch (e) { return { eval: e.name }; }
  },
  async newfunction() {
    try { new Function("return 1")(); return { fn: "allowed" }; } catch (e) { return { fn: e.name }; }
  },
  async meta() {
    const m = evt.requestMeta;
    return { zone: m.zone, origin: m.origin, identity: m.identity, reqOrigin: evt.request.origin };
  },
  async body() { return { text: await evt.request.text(), method: evt.request.method }; },
  async getrequest() { const r = await evt.getRequest(); return { same: r === evt.request }; },
  async globals() {
    return { self: self === globalThis, process: typeof process, require: typeof require, Deno: typeof Deno };
  },
  async cache() {
    const w = await evt.cache.setDocument("greeting");
    await w.write("hello doc");
    const doc = await evt.cache.getDocument("greeting");
    let missing = null, big = null;
    try { await evt.cache.getDocument("nope"); } catch (e) { missing = e.name; }
    try { const w2 = await evt.cache.setDocument("big"); await w2.write("x".repeat((1 << 20) + 1)); } catch (e) { big = e.name; }
    return { doc: await doc.text(), missing, big };
  },
  async twice() {
    let second = null;
    evt.replaceResponse(() => Response.json({ second }));
    try { evt.respondWith(new Response("second")); } catch (e) { second = e.name; }
    return null;
  },
};

let evt;
export async function onRequest(event) {
  const name = event.request.url.split("/api/")[1].split("?")[0];
  const probe = probes[name];
  if (!probe) return;
  evt = event;
  const result = await probe();
  if (result) event.replaceResponse(Response.json(result));
}
"""

LIB = {
    "edge-handlers/lib/version.js": 'export const VERSION = "1.2.3";\n',
    "edge-handlers/lib/helpers.js": ('export function add(a, b) { return a + b; }\n'
                                     'export * from "./more.js";\n'),
    "edge-handlers/lib/more.js": "export const twice = (x) => x * 2;\n",
    "edge-handlers/data.json": '{"name": "edge", "__proto__": {"admin": true}}',
}


@pytest.fixture
def api_url(edgenode, make_site):
    site = handler_site(make_site, {"api": API}, [("/api/*", "api")], LIB)
    return edgenode(site, country="DE").url


async def probe(url: str, name: str, **kw) -> dict:
    status, _, body = await get(url, f"/api/{name}", **kw)
    assert status == 200, body
    return json.loads(body)


async def test_headers(api_url):
    r = await probe(api_url, "headers")
    assert r["ct"] == "text/plain" and r["xa"] == "1, 2" and r["has"] is True
    assert r["cookies"] == ["a=1", "b=2"]
    assert r["keys"] == ["content-type", "set-cookie", "set-cookie", "x-a"]
    assert r["invalid"] == "TypeError" and r["immutable"] == "TypeError"


async def test_response(api_url):
    r = await probe(api_url, "response")
    assert r["status"] == 201 and r["ok"] is True and r["t"] == "hello" and r["used"] is True
    assert r["twice"].startswith("TypeError:") and "already" in r["twice"]
    assert r["ct"] == "text/plain;charset=UTF-8"
    assert r["bytes"] == "hi" and r["buf"] == [1, 2, 3]
    assert r["json"] == [202, "application/json", {"a": 1}]
    assert r["redirect"] == [301, "https://example.com/x"]
    assert r["badStatus"] == "RangeError" and r["nullBody"] == "TypeError" and r["badRedirect"] == "RangeError"
    assert r["cloned"] == "twice"


async def test_request(api_url):
    r = await probe(api_url, "request", headers={"X-Probe": "p"})
    assert r["method"] == "POST" and r["url"] == "https://example.com/p?q=1"
    assert r["ct"] == "text/plain;charset=UTF-8" and r["body"] == "data" and r["copyHeader"] == "w"
    assert r["used"] is True
    assert r["getBody"] == "TypeError" and r["badMethod"] == "TypeError" and r["forbidden"] == "TypeError"
    assert r["event"] == ["GET", "p"]


async def test_request_body_reaches_handler(api_url):
    r = await probe(api_url, "body", method="POST", data=b"posted body")
    assert r == {"text": "posted body", "method": "POST"}


async def test_crypto(api_url):
    r = await probe(api_url, "crypto")
    assert r["a"] == 16 and r["distinct"] and r["b"] == 4
    assert r["uuid"] != r["uuid2"] and len(r["uuid"]) == 36 and r["uuid"][14] == "4"
    assert r["quota"] == "QuotaExceededError" and r["type"] == "TypeMismatchError"
    assert r["digest"] == hashlib.sha256(b"abc").hexdigest()


async def test_timers_and_microtasks(api_url):
    r = await probe(api_url, "timers")
    assert r["order"] == ["micro", "timeout0"] and r["waited"] is True and r["n"] == 3


async def test_console_goes_to_the_log_tagged(edgenode, make_site, caplog):
    caplog.set_level("INFO", logger="edgenode.handlers.console")
    site = handler_site(make_site, {"api": API}, [("/api/*", "api")], LIB)
    await probe(edgenode(site, quiet=False).url, "console")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "edgenode.handlers.console"]
    assert any(line.endswith("probe log str 42 { o: 1 }") and "api]" in line for line in lines), lines
    assert any("probe error" in line for line in lines)


async def test_domexception(api_url):
    assert await probe(api_url, "domexception") == {"name": "InvalidStateError", "code": 11, "message": "m",
                                                     "isError": True}


async def test_modules_imports_json_and_star(api_url):
    r = await probe(api_url, "modules")
    assert r["VERSION"] == "1.2.3" and r["sum"] == 5 and r["star"] == 8
    assert r["data"]["name"] == "edge" and r["data"]["__proto__"] == {"admin": True}


async def test_code_generation_from_strings_is_refused(api_url):
    assert await probe(api_url, "eval") == {"eval": "EvalError"}
    assert await probe(api_url, "newfunction") == {"fn": "EvalError"}


async def test_no_host_globals(api_url):
    assert await probe(api_url, "globals") == {"self": True, "process": "undefined", "require": "undefined",
                                               "Deno": "undefined"}


async def test_request_meta_geo(api_url):
    r = await probe(api_url, "meta")
    assert r["zone"] == "edgenode"
    assert r["origin"]["country"] == {"code": "DE", "name": "Germany"}
    assert r["reqOrigin"] == r["origin"] and r["identity"] is None


async def test_get_request(api_url):
    assert await probe(api_url, "getrequest") == {"same": True}


async def test_cache_documents(api_url):
    r = await probe(api_url, "cache")
    assert r == {"doc": "hello doc", "missing": "Error", "big": "RangeError"}


async def test_second_replace_response_throws_invalid_state(api_url):
    assert await probe(api_url, "twice") == {"second": "InvalidStateError"}


async def test_cache_documents_are_per_site(edgenode, make_site):
    writer = ("export async function onRequest(e) { const w = await e.cache.setDocument('k'); await w.write('A');"
              " e.replaceResponse(new Response('set')); }")
    reader = ("export async function onRequest(e) { let v; try { v = await (await e.cache.getDocument('k')).text(); }"
              " catch (err) { v = 'missing'; } e.replaceResponse(new Response(v)); }")
    a = handler_site(make_site, {"w": writer, "r": reader}, [("/w", "w"), ("/r", "r")], name="a")
    b = handler_site(make_site, {"r": reader}, [("/r", "r")], name="b")
    srv = edgenode([("a.test", a), ("b.test", b)])
    assert (await get(srv.url, "/w", headers={"Host": "a.test"}))[2] == b"set"
    assert (await get(srv.url, "/r", headers={"Host": "a.test"}))[2] == b"A"
    assert (await get(srv.url, "/r", headers={"Host": "b.test"}))[2] == b"missing"


# -- chain semantics ---------------------------------------------------------------------------------

CHAIN_A = """
export function onRequest(event) {
  if (event.request.url.endsWith("/secret")) {
    event.replaceResponse(() => new Response("<h1>Access denied</h1>", { status: 404, headers: { "content-type": "text/html" } }));
  }
  if (event.request.url.endsWith("/rewrite")) {
    event.replaceRequest((req) => new Request(req.url.replace("/rewrite", "/about"), { headers: { "x-from-a": "1" } }));
  }
}
export function onResponse(event) { event.response.headers.append("x-order", "a"); }
"""
CHAIN_B = """
export function onRequest(event) {
  if (event.request.url.endsWith("/about")) {
    event.replaceResponse(async () => {
      const origin = await fetch(event.request);
      const html = await origin.text();
      return new Response(html.replace("about", "about (" + event.request.headers.get("x-from-a") + ")"), origin);
    });
  }
}
export function onResponse(event) { event.response.headers.append("x-order", "b"); }
"""


async def test_chain_order_rewrite_origin_fetch_and_on_response(edgenode, make_site):
    site = handler_site(make_site, {"a": CHAIN_A, "b": CHAIN_B}, [("/*", "a"), ("/*", "b")])
    url = edgenode(site).url
    status, headers, body = await get(url, "/secret")
    assert status == 404 and body == b"<h1>Access denied</h1>"
    assert headers.getall("x-order") == ["a"]  # b never ran: a's response ended the chain
    status, headers, body = await get(url, "/rewrite")
    assert status == 200 and body == b"<h1>about (1)</h1>"
    assert headers.getall("x-order") == ["b", "a"]  # onResponse in reverse order
    status, headers, body = await get(url, "/")
    assert body == b"<h1>home</h1>" and headers.getall("x-order") == ["b", "a"]


async def test_replace_request_to_another_host_proxies(edgenode, make_site):
    upstream = handler_site(make_site, {"echo": "export function onRequest(e) { e.replaceResponse(new Response("
                                                "'upstream saw ' + e.request.url + ' ' + e.request.headers.get('x-img'))); }"},
                            [("/*", "echo")], name="upstream")
    up = edgenode(upstream)
    proxy = handler_site(make_site, {"p": "export function onRequest(e) { e.replaceRequest(new Request("
                                          f"'{up.url}/img/cat.jpg?w=100', {{ headers: {{ 'x-img': 'yes' }} }})); }}"},
                         [("/img/*", "p")], name="proxy")
    url = edgenode(proxy).url
    status, _, body = await get(url, "/img/cat.jpg")
    assert status == 200 and body.startswith(b"upstream saw http://") and body.endswith(b"/img/cat.jpg?w=100 yes")


async def test_same_site_fetch_runs_the_whole_chain(edgenode, make_site):
    h = ("export async function onRequest(e) {\n"
         "  if (e.request.url.endsWith('/inner')) { e.replaceResponse(new Response('inner via handler')); return; }\n"
         "  if (e.request.url.endsWith('/outer')) {\n"
         "    const r = await fetch(e.request.url.replace('/outer', '/inner'));\n"
         "    e.replaceResponse(new Response('outer got: ' + await r.text()));\n"
         "  }\n}\n")
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    assert (await get(edgenode(site).url, "/outer"))[2] == b"outer got: inner via handler"


async def test_handler_without_declaration_never_runs_and_paths_match(edgenode, make_site):
    h = "export function onRequest(e) { e.replaceResponse(new Response('handled')); }"
    site = handler_site(make_site, {"h": h, "unused": h}, [("/blog/:slug", "h")])
    url = edgenode(site).url
    assert (await get(url, "/blog/post"))[2] == b"handled"
    assert (await get(url, "/blog/post/"))[2] == b"handled"
    assert (await get(url, "/about"))[2] == b"<h1>about</h1>"
    assert (await get(url, "/blog/a/b"))[0] == 404


async def test_on_response_reading_body_must_replace(edgenode, make_site):
    h = "export async function onResponse(e) { const t = await e.response.text(); e.replaceResponse(new Response(t + '!')); }"
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    url = edgenode(site).url
    assert (await get(url, "/about"))[2] == b"<h1>about</h1>!"


async def test_error_page_is_html_for_browsers(edgenode, make_site):
    h = "export function onRequest() { throw new RangeError('<bad> thing'); }"
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    url = edgenode(site).url
    status, headers, body = await get(url, "/", headers={"Accept": "text/html"})
    assert status == 500 and headers["Content-Type"].startswith("text/html")
    assert b"RangeError: &lt;bad&gt; thing" in body and b"at onRequest" not in body
    status, headers, body = await get(url, "/")
    assert status == 500 and body == b"RangeError: <bad> thing\n"


async def test_invalid_return_value_is_a_500(edgenode, make_site):
    h = "export function onRequest() { return 42; }"
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    status, _, body = await get(edgenode(site).url, "/")
    assert status == 500 and body.startswith(b"TypeError: onRequest() returned number")


@needs_url
async def test_request_meta_url(edgenode, make_site):
    h = ("export function onRequest(e) { const u = e.requestMeta.url; "
         "e.replaceResponse(Response.json({ p: u.pathname, q: u.searchParams.get('q') })); }")
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    _, _, body = await get(edgenode(site).url, "/some/path?q=v")
    assert json.loads(body) == {"p": "/some/path", "q": "v"}


@needs_url
async def test_request_meta_shape_and_shared_url_getter(edgenode, make_site):
    # requestMeta's url is an own enumerable accessor, the URL made once per request; every
    # request's meta shares the same getter function. (A getter written in an object literal is a
    # new closure per request: V8 then gives each meta object its own hidden class and keeps it
    # until a full GC, so scavenges copied ~230 bytes per request and paused the isolate 2-6 ms.)
    h = ("let firstGetter = null;\n"
         "export function onRequest(e) {\n"
         "  const m = e.requestMeta;\n"
         "  const d = Object.getOwnPropertyDescriptor(m, 'url');\n"
         "  if (firstGetter === null) firstGetter = d.get;\n"
         "  e.replaceResponse(Response.json({ keys: Object.keys(m), enumerable: d.enumerable,\n"
         "    same: m.url === m.url, shared: d.get === firstGetter, path: m.url.pathname,\n"
         "    json: JSON.parse(JSON.stringify(m)).url, again: e.requestMeta === m }));\n"
         "}\n")
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    url = edgenode(site).url
    for path in ("/one?x=1", "/two"):
        _, _, body = await get(url, path)
        got = json.loads(body)
        assert got["keys"] == ["url", "zone", "origin", "identity", "requestId", "clientIp"]
        assert got["enumerable"] is True and got["same"] is True and got["again"] is True
        assert got["shared"] is True, "each request got its own url getter"
        assert got["path"] == path.split("?")[0]
        assert got["json"] == url + path


@needs_encoding
async def test_text_encoding_and_base64(edgenode, make_site):
    h = ("export function onRequest(e) { const b = new TextEncoder().encode('h\u00e9'); "
         "e.replaceResponse(Response.json({ n: b.length, back: new TextDecoder().decode(b), b64: btoa('hi'), "
         "raw: atob('aGk=') })); }")
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    _, _, body = await get(edgenode(site).url, "/")
    assert json.loads(body) == {"n": 3, "back": "h\u00e9", "b64": "aGk=", "raw": "hi"}


# -- handlers attached to rules (EdgeHandler= / edge_handler) ----------------------------------------

RULE_HANDLER = """
export function onRequest(event) {
  const url = event.request.url;
  if (url.includes("/deny")) event.replaceResponse(new Response("denied by rule handler", { status: 403 }));
  if (url.includes("/swap")) event.replaceRequest(new Request(url.replace(/\\/swap.*/, "/about"), event.request));
}
export function onResponse(event) { event.response.headers.set("x-rule-handler", "ran"); }
"""


async def test_rule_handlers_run_only_when_their_rule_applies(edgenode, make_site):
    site = make_site({
        "index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>", "blog.html": "<h1>blog</h1>",
        "_redirects": "/deny/*  /index.html  200  EdgeHandler=rh\n/swap/*  /index.html  200!  EdgeHandler=rh\n"
                      "/blog  /index.html  200  EdgeHandler=rh\n",
        "netlify.toml": '[[redirects]]\nfrom = "/old"\nto = "/about"\nstatus = 301\nedge_handler = "rh"\n',
        "edge-handlers/rh.js": RULE_HANDLER,
    })
    url = edgenode(site).url
    assert (await get(url, "/deny/x"))[:3:2] == (403, b"denied by rule handler")
    status, headers, body = await get(url, "/swap/x")  # replaceRequest replaces the rule's target
    assert (status, body, headers["x-rule-handler"]) == (200, b"<h1>about</h1>", "ran")
    status, headers, _ = await get(url, "/old")
    assert status == 301 and headers["Location"].endswith("/about") and headers["x-rule-handler"] == "ran"
    status, headers, body = await get(url, "/blog")  # a static file shadows the rule: no handler
    assert body == b"<h1>blog</h1>" and "x-rule-handler" not in headers


def test_rule_naming_a_missing_handler_is_reported(make_site):
    from edgenode.options import ServeOptions
    from edgenode.sites import load_site

    site_dir = make_site({"index.html": "x", "_redirects": "/a /b 200 EdgeHandler=ghost\n"})
    site = load_site(str(site_dir), "t", ServeOptions(sites=[(str(site_dir), ())]))
    assert "_redirects:1: edge handler 'ghost' has no file netlify/edge-handlers/ghost.js" in [str(p) for p in site.problems]


@pytest.mark.skipif(not has_lib("structured_clone.js"), reason="structured_clone.js (jslib) not merged yet")
async def test_structured_clone(edgenode, make_site):
    h = ("export function onRequest(e) { const a = { d: new Date(0), m: new Map([[1, 2]]) }; a.self = a; "
         "const b = structuredClone(a); e.replaceResponse(Response.json({ same: b === a, cyclic: b.self === b, "
         "date: b.d.getTime(), map: b.m.get(1) })); }")
    site = handler_site(make_site, {"h": h}, [("/*", "h")])
    _, _, body = await get(edgenode(site).url, "/")
    assert json.loads(body) == {"same": False, "cyclic": True, "date": 0, "map": 2}


async def test_on_response_may_read_the_body_and_keep_the_response(edgenode, make_site, caplog):
    h = "export async function onResponse(e) { console.error('length', (await e.response.text()).length); }"
    site = handler_site(make_site, {"h": h}, [("/*", "h")], {"big.html": "<p>" + "x" * 300_000 + "</p>"})
    url = edgenode(site).url
    assert (await get(url, "/about"))[2] == b"<h1>about</h1>"
    status, _, body = await get(url, "/big")
    assert status == 200 and len(body) == 300_007


async def test_awkward_characters_cross_the_bridge_both_ways(edgenode, make_site):
    """Quotes, backslashes, `__proto__` and non-ASCII survive the batch encoding in both directions."""
    echo = r"""
export function onRequest(event) {
  const h = event.request.headers;
  event.replaceRequest(new Request(event.request.url, { headers: { "x-seen": h.get("x-in") + "|'\\\"\u2028é" } }));
}
export function onResponse(event) {
  event.response.headers.set("x-out", event.request.headers.get("x-seen"));
  event.response.headers.set("__proto__", "p");
}
"""
    site = handler_site(make_site, {"echo": echo}, [("/about", "echo")])
    url = edgenode(site).url
    status, headers, _ = await get(url, "/about", headers={"x-in": "a'b\\c\"d"})
    assert status == 200
    assert headers["x-out"] == "a'b\\c\"d|'\\\"\u2028é"
    assert headers["__proto__"] == "p"
