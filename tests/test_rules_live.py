"""Every rule action and condition through a live `edgenode serve` (redirects.md worked examples)."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from edgenode.exchange import EdgeResponse

FILES = {
    "index.html": "home", "about.html": "about", "old.html": "old", "login.html": "login", "404.html": "page404",
    "store-closed.html": "closed", "admin/index.html": "admin-index", "admin/users.html": "admin-users",
    "members/index.html": "members", "app/index.html": "app-index", "app/main.css": "css",
    "legacy/x.html": "legacy-x", "blog/index.html": "blog", "en/404.html": "en404",
}
REDIRECTS = """\
/home / 301
/old /new 301
/news/* /blog/:splat
/store id=:id /blog/:id 301
/app/* /app/index.html 200!
/ecommerce /store-closed 404
/gone /store-closed 410
/en/* /en/404.html 404
/ /anz 302 Country=au,nz
/israel/* /israel/he/:splat 302 Language=he
/old-site/* /legacy/:splat 200 Cookie=is_legacy
/admin/* /admin/:splat 200! Role=admin
/admin/* /login 401!
/members/* 200! Role=member
/api/* /.netlify/functions/:splat 200
/search https://www.google.com/search 302
/blog/my-post /blog/post#ads 301
/loop /loop 301!
/t307 /x 307
/* /index.html 200
"""


class FakeFunctions:
    """Stands in for the function invoker: answers with what the rules phase handed it."""

    async def fetch(self, node, ex, target) -> EdgeResponse:
        body = json.dumps({"path": target.path, "query": target.query_string, "event_path": ex.request.path})
        return EdgeResponse(200, CIMultiDict({"Content-Type": "application/json"}), body.encode(), kind="function")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def site(make_site):
    return make_site({**FILES, "_redirects": REDIRECTS, "_headers": "/*\n  X-Frame-Options: DENY\n"})


async def get(url: str, **kw):
    async with aiohttp.ClientSession() as s:
        async with s.get(url, allow_redirects=False, **kw) as r:
            return r.status, r.headers, (await r.read()).decode()


@pytest.fixture
def server(edgenode, site):
    srv = edgenode(site)
    srv.node.function_origin = FakeFunctions()
    return srv


async def test_redirects(server):
    u = server.url
    status, h, body = await get(u + "/home")
    assert status == 301 and h["Location"] == u + "/" and h["Cache-Control"] == "no-cache"
    assert body == f"Redirecting to {u}/" and "X-Frame-Options" not in h  # no custom headers on redirects
    assert (await get(u + "/home/"))[1]["Location"] == u + "/"
    assert (await get(u + "/news/2004/01/10/my-story"))[1]["Location"] == u + "/blog/2004/01/10/my-story"
    assert (await get(u + "/news"))[1]["Location"] == u + "/blog/"
    assert (await get(u + "/store?id=my-post"))[1]["Location"] == u + "/blog/my-post"
    assert (await get(u + "/blog/my-post"))[1]["Location"] == u + "/blog/post#ads"
    status, h, _ = await get(u + "/search?q=hi")
    assert status == 302 and h["Location"] == "https://www.google.com/search?q=hi"
    status, h, _ = await get(u + "/t307")
    assert status == 307 and h["Location"] == u + "/x"


async def test_rewrites_shadowing_and_custom_status(server):
    u = server.url
    assert (await get(u + "/old"))[:3:2] == (200, "old")  # shadowed by old.html
    assert (await get(u + "/app/main.css"))[:3:2] == (200, "app-index")  # forced
    status, h, body = await get(u + "/ecommerce")
    assert (status, body) == (404, "closed") and h["X-Frame-Options"] == "DENY"
    assert (await get(u + "/gone"))[:3:2] == (410, "closed")
    assert (await get(u + "/en/missing"))[:3:2] == (404, "en404")
    assert (await get(u + "/dashboard/settings"))[:3:2] == (200, "home")  # SPA fallback
    assert (await get(u + "/about"))[:3:2] == (200, "about")
    assert (await get(u + "/loop"))[:3:2] == (200, "home")  # RR-25: the self-redirect is skipped


async def test_country_language_cookie(edgenode, site, server):
    u = server.url
    assert (await get(u + "/"))[:3:2] == (200, "home")  # US by default
    status, h, _ = await get(u + "/", cookies={"nf_country": "au"})
    assert status == 302 and h["Location"] == u + "/anz"
    nz = edgenode(site, country="nz").url
    assert (await get(nz + "/"))[0] == 302
    status, h, _ = await get(u + "/israel/about", headers={"Accept-Language": "he-IL,he;q=0.9"})
    assert status == 302 and h["Location"] == u + "/israel/he/about"
    assert (await get(u + "/israel/about", headers={"Accept-Language": "en-US,he"}))[:3:2] == (200, "home")
    assert (await get(u + "/israel/about", cookies={"nf_lang": "he"}))[0] == 302
    assert (await get(u + "/old-site/x", cookies={"is_legacy": "1"}))[:3:2] == (200, "legacy-x")
    assert (await get(u + "/old-site/x"))[:3:2] == (200, "home")


async def test_trusted_geo_header_only_when_configured(edgenode, site, server):
    assert (await get(server.url + "/", headers={"X-Country": "NZ"}))[0] == 200  # never trusted by default
    trusted = edgenode(site, trust_geo_header="X-Country").url
    assert (await get(trusted + "/", headers={"X-Country": "nz"}))[0] == 302
    assert (await get(trusted + "/"))[0] == 200


async def test_role_gate_without_token(server):
    u = server.url
    assert (await get(u + "/admin/users"))[:3:2] == (401, "login")
    assert (await get(u + "/members/"))[:3:2] == (404, "page404")  # RR-30: the file is never served


async def test_functions(server):
    u = server.url
    status, _, body = await get(u + "/api/hello?x=1")
    assert status == 200 and json.loads(body) == {"path": "/.netlify/functions/hello", "query": "x=1",
                                                  "event_path": "/api/hello"}
    status, h, body = await get(u + "/.netlify/functions/hello")  # before any rule, even `/*` (example 52)
    assert json.loads(body)["path"] == "/.netlify/functions/hello" and "X-Frame-Options" not in h


async def test_proxy(edgenode, make_site, aiohttp_server):
    seen = {}

    async def upstream(request: web.Request) -> web.Response:
        seen.update(path=request.path, query=request.query_string, x_from=request.headers.get("X-From"),
                    method=request.method, body=await request.text())
        return web.Response(status=418, text="from upstream", headers={"X-Up": "1"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream)
    up = await aiohttp_server(app)
    base = f"http://127.0.0.1:{up.port}"
    site = make_site({
        "index.html": "home", "_headers": "/*\n  X-Frame-Options: DENY\n",
        "_redirects": f"/api/* {base}/:splat 200\n/fixed {base}/f?v=2 200\n",
        "netlify.toml": f'[[redirects]]\nfrom = "/search"\nto = "{base}/s"\nstatus = 200\n'
                        '[redirects.headers]\nX-From = "Netlify"\n',
    }, name="proxysite")
    u = edgenode(site).url
    status, h, body = await get(u + "/api/v1/users?x=1")
    assert (status, body, h["X-Up"]) == (418, "from upstream", "1") and "X-Frame-Options" not in h
    assert seen["path"] == "/v1/users" and seen["query"] == "x=1" and seen["x_from"] is None
    await get(u + "/search?q=a")
    assert seen["path"] == "/s" and seen["query"] == "q=a" and seen["x_from"] == "Netlify"
    await get(u + "/fixed?a=1")
    assert seen["query"] == "v=2"  # the target's own query replaces the request's
    async with aiohttp.ClientSession() as s:
        async with s.post(u + "/api/echo", data=b"payload") as r:
            assert r.status == 418
    assert seen["method"] == "POST" and seen["body"] == "payload"


async def test_bad_lines_do_not_stop_the_rest(edgenode, make_site):
    site = make_site({"index.html": "home", "_redirects": "/a /b 301\n/broken\n/c /d 302\n"}, name="bad")
    srv = edgenode(site)
    assert (await get(srv.url + "/c"))[0] == 302 and (await get(srv.url + "/a"))[0] == 301
    problems = [str(p) for p in srv.node.sites.holders[0].site.problems]
    assert problems == ["_redirects:2: Missing destination path/URL"]


async def test_rules_from_publish_dir_then_root(edgenode, make_site):
    site = make_site({
        "netlify.toml": '[build]\npublish = "public"\n[[redirects]]\nfrom = "/x"\nto = "/from-toml"\n',
        "public/index.html": "home", "public/_redirects": "/x /from-publish 301\n",
        "_redirects": "/x /from-root 301\n/y /from-root 301\n",
    }, name="pub")
    u = edgenode(site).url
    assert (await get(u + "/x"))[1]["Location"] == u + "/from-publish"
    assert (await get(u + "/y"))[1]["Location"] == u + "/from-root"


async def test_domain_level_rules(edgenode, make_site):
    site = make_site({"index.html": "home",
                      "_redirects": "http://blog.example.com/* https://www.example.com/blog/:splat 301!\n"},
                     name="domain")
    u = edgenode(site).url
    status, h, _ = await get(u + "/post", headers={"Host": "blog.example.com"})
    assert status == 301 and h["Location"] == "https://www.example.com/blog/post"
    assert (await get(u + "/post"))[0] == 404  # another host: no match


async def test_reload_picks_up_new_rules(edgenode, make_site):
    from tests.conftest import wait_for

    site = make_site({"index.html": "home", "_redirects": "/a /b 301\n"}, name="reload")
    u = edgenode(site).url
    assert (await get(u + "/a"))[0] == 301
    (site / "_redirects").write_text("/a /c 302\n")

    async def changed():
        return (await get(u + "/a"))[0] == 302

    assert await wait_for(changed, timeout=10)


async def test_rule_edge_handler_hook(edgenode, make_site, monkeypatch):
    from edgenode.exchange import OriginTarget
    from edgenode.handlers import phase as handlers

    calls = []

    async def on_rule_handler(node, ex, name):
        calls.append((name, ex.matched_rule.where, ex.target.path if ex.target else None))
        if name == "answer":
            ex.response = EdgeResponse(203, CIMultiDict({"Content-Type": "text/plain"}), b"from handler",
                                       kind="handler")
        elif name == "reroute":
            ex.target = OriginTarget("static", "/other", "", 200, ex.matched_rule)

    monkeypatch.setattr(handlers, "on_rule_handler", on_rule_handler)
    site = make_site({
        "index.html": "home", "other.html": "other", "page.html": "page", "shadow.html": "shadow",
        "_redirects": "/a /page 200 EdgeHandler=answer\n/b /page 200 EdgeHandler=reroute\n"
                      "/c /page 200 EdgeHandler=keep\n/shadow /page 200 EdgeHandler=never\n",
        "netlify.toml": '[[redirects]]\nfrom = "/d"\nto = "/page"\nstatus = 200\nedge_handler = "keep"\n',
    }, name="eh")
    srv = edgenode(site)
    u = srv.url
    assert (await get(u + "/a"))[:3:2] == (203, "from handler")
    assert (await get(u + "/b"))[:3:2] == (200, "other")
    assert (await get(u + "/c"))[:3:2] == (200, "page")
    assert (await get(u + "/d"))[:3:2] == (200, "page")
    assert (await get(u + "/shadow"))[:3:2] == (200, "shadow")  # a shadowed rule runs no handler
    assert [c[0] for c in calls] == ["answer", "reroute", "keep", "keep"]
    assert calls[0][1:] == ("_redirects:1", "/page") and calls[3][1] == "netlify.toml:1"
    assert srv.node.sites.holders[0].site.rules.edge_handler_names() == ["answer", "reroute", "keep", "never"]


async def test_unconditional_decisions_are_memoised_and_bounded(edgenode, make_site, monkeypatch):
    from edgenode.routing import phase as routing_phase

    monkeypatch.setattr(routing_phase, "DECISIONS_MAX", 50)
    srv = edgenode(make_site({"index.html": "home", "_redirects": "/old/*  /new/:splat  301\n/page  /index.html  200\n"}))
    async with aiohttp.ClientSession() as s:
        for i in range(80):
            async with s.get(f"{srv.url}/old/{i}?q={i}", allow_redirects=False) as r:
                assert r.status == 301
                assert r.headers["Location"].endswith(f"/new/{i}?q={i}")
        async with s.get(f"{srv.url}/page") as r:
            assert r.status == 200 and await r.text() == "home"
    table = next(iter(srv.node.sites.holders)).site.rules
    assert table.unconditional
    assert 0 < len(table.decisions) <= 50


async def test_conditional_rules_are_never_memoised(edgenode, make_site):
    srv = edgenode(make_site({"index.html": "home", "a.html": "A", "b.html": "B",
                              "_redirects": "/x  /a.html  200  Cookie=ab\n/x  /b.html  200\n"}))
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{srv.url}/x", headers={"Cookie": "ab=1"}) as r:
            assert await r.text() == "A"
        async with s.get(f"{srv.url}/x") as r:
            assert await r.text() == "B"
    table = next(iter(srv.node.sites.holders)).site.rules
    assert not table.unconditional and not table.decisions
