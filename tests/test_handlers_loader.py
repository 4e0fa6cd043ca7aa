"""Handler discovery, declarations, module transform and load problems; reload without failures."""

from __future__ import annotations

import asyncio
import json
import os

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgenode.commands.check import check_site
from edgenode.handlers.esm import ModuleSyntaxError, transform
from edgenode.handlers.loader import compile_path
from edgenode.options import ServeOptions
from edgenode.sites import load_site
from tests.test_handlers_api import get, handler_site

# -- the ESM transform (pure) -------------------------------------------------------------------


def test_transform_rewrites_imports_and_exports_keeping_lines():
    src = ('import a, { b as c } from "./x.js";\nimport * as ns from "./y.js"\n'
           'const s = "export default 1"; // import z from "q"\n'
           'export default function handler() {}\nexport const k = 1, j = 2\n'
           'export { c as cc };\nexport * from "./z.js";\n')
    t = transform(src)
    assert [s for s, _ in t.imports] == ["./x.js", "./y.js", "./z.js"]
    assert t.exports == ["default", "k", "cc"] and t.star_from == ["./z.js"]
    assert t.code.count("\n") == src.count("\n") + 1
    assert '"export default 1"' in t.code and "// import z from" in t.code
    # line numbers survive: `export const k` stays on line 5 of the body
    assert t.code.split("\n")[4].startswith("const k = 1")


def test_transform_leaves_dynamic_import_and_strings_alone():
    t = transform("const m = import.meta; const p = import('./x.js');\nconst tpl = `export ${1}`;\n")
    assert t.imports == [] and t.exports == []


def test_transform_reports_unterminated_strings():
    with pytest.raises(ModuleSyntaxError) as e:
        transform('export const a = 1;\nconst b = "oops\n')
    assert e.value.line == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "export const a{n} = {n};", "const b{n} = '{n}';", "import x{n} from './m{n}.js';",
    "export function f{n}() {{ return `{n}`; }}", "// export nothing {n}", "/* import y */",
    "export {{ b{n} as c{n} }};", "let r{n} = /export{n}/g;", "if (a) {{ export_{n} = 1 }}",
]), max_size=12))
def test_transform_keeps_line_count(lines):
    src = "\n".join(line.format(n=i) for i, line in enumerate(lines)) + "\n"
    try:
        t = transform(src)
    except ModuleSyntaxError:
        return
    assert t.code.count("\n") == src.count("\n") + 1


def test_compile_path():
    assert compile_path("/*").match("/anything/at/all")
    assert compile_path("/blog/:slug").match("/blog/x") and compile_path("/blog/:slug").match("/blog/x/")
    assert not compile_path("/blog/:slug").match("/blog/x/y")
    assert compile_path("/pricing").match("/pricing/") and not compile_path("/pricing").match("/pricing-a")
    assert compile_path("/a.b").match("/a.b") and not compile_path("/a.b").match("/axb")


# -- load problems ------------------------------------------------------------------------------------

def _load(path):
    return load_site(str(path), "t", ServeOptions(sites=[(str(path), ())]))


def test_problems_are_reported_and_the_rest_loads(make_site):
    site_dir = handler_site(make_site, {
        "good": "export function onRequest() {}",
        "broken": "export function onRequest() {\n  const x = ;\n}\n",
        "noexport": "export const other = 1;\n",
        "badimport": "import x from './missing.js';\nimport y from 'npm-package';\nexport function onRequest() {}\n",
    }, [("/*", "good"), ("/*", "broken"), ("/*", "nofile")], {"edge-handlers/bad.json": "{oops"})
    (site_dir / "edge-handlers" / "usesjson.js").write_text("import d from './bad.json';\nexport function onRequest() {}\n")
    site = _load(site_dir)
    msgs = [str(p) for p in site.problems]
    assert any(m.startswith("edge-handlers/broken.js:2: SyntaxError: Unexpected token ';' (column 13)") for m in msgs), msgs
    assert any("edge handler 'nofile' has no file edge-handlers/nofile.js" in m and m.startswith("netlify.toml:")
               for m in msgs), msgs
    assert any(m.startswith("edge-handlers/noexport.js") and "neither onRequest nor onResponse" in m for m in msgs)
    assert any(m.startswith("edge-handlers/badimport.js:1: cannot import './missing.js'") for m in msgs), msgs
    assert any(m.startswith("edge-handlers/badimport.js:2:") and "bare module specifiers" in m for m in msgs)
    assert any(m.startswith("edge-handlers/bad.json") and "invalid JSON" in m for m in msgs), msgs
    assert sorted(site.handlers.exports) == ["good"]
    assert len(site.handlers) == 1


def test_check_command_reports_handler_problems(make_site, capsys):
    site_dir = handler_site(make_site, {"broken": "export function onRequest( {"}, [("/*", "broken")])
    assert check_site(str(site_dir)) == 1
    out = capsys.readouterr().out
    assert "edge-handlers/broken.js:1: SyntaxError: unexpected end of file" in out


def test_netlify_default_dir_and_build_setting(make_site):
    a = make_site({"netlify/edge-handlers/h.js": "export function onRequest() {}",
                   "netlify.toml": '[[edge_handlers]]\npath = "/*"\nhandler = "h"\n'}, name="a")
    assert list(_load(a).handlers.exports) == ["h"]
    b = make_site({"src/eh/h.js": "export function onRequest() {}",
                   "netlify.toml": '[build]\nedge_handlers = "src/eh"\n[[edge_handlers]]\npath = "/*"\nhandler = "h"\n'},
                  name="b")
    assert list(_load(b).handlers.exports) == ["h"]


async def test_broken_handler_does_not_stop_the_site(edgenode, make_site):
    site_dir = handler_site(make_site, {"broken": "export function onRequest( {",
                                        "good": "export function onRequest(e) { e.replaceResponse(new Response('good')); }"},
                            [("/x", "broken"), ("/y", "good")])
    url = edgenode(site_dir).url
    assert (await get(url, "/x"))[0] == 404  # the broken handler is not loaded; the path serves normally
    assert (await get(url, "/y"))[2] == b"good"
    assert (await get(url, "/about"))[2] == b"<h1>about</h1>"


async def test_module_top_level_error_fails_requests_cleanly(edgenode, make_site):
    site_dir = handler_site(make_site, {"h": "throw new Error('top');\nexport function onRequest() {}"}, [("/*", "h")])
    status, _, body = await get(edgenode(site_dir).url, "/")
    assert status == 500 and body == b"Error: edge handler h is not loaded\n"


# -- isolation and reload ---------------------------------------------------------------------------------

async def test_globals_persist_per_site_and_never_leak_across_sites(edgenode, make_site):
    h = ("let n = 0; export function onRequest(e) { globalThis.seen = (globalThis.seen || 0) + 1; "
         "e.replaceResponse(Response.json({ n: ++n, seen: globalThis.seen })); }")
    a = handler_site(make_site, {"h": h}, [("/*", "h")], name="a")
    b = handler_site(make_site, {"h": h}, [("/*", "h")], name="b")
    url = edgenode([("a.test", a), ("b.test", b)]).url
    assert json.loads((await get(url, "/", headers={"Host": "a.test"}))[2]) == {"n": 1, "seen": 1}
    assert json.loads((await get(url, "/", headers={"Host": "a.test"}))[2]) == {"n": 2, "seen": 2}
    assert json.loads((await get(url, "/", headers={"Host": "b.test"}))[2]) == {"n": 1, "seen": 1}


async def test_reload_swaps_handlers_without_failing_in_flight_requests(edgenode, make_site):
    slow = ("export async function onRequest(e) { await new Promise((r) => setTimeout(r, 300)); "
            "e.replaceResponse(new Response('v1')); }")
    site_dir = handler_site(make_site, {"h": slow}, [("/*", "h")])
    srv = edgenode(site_dir, watch=False)
    async with aiohttp.ClientSession() as s:
        async def fetch_text() -> tuple[int, str]:
            async with s.get(srv.url + "/") as r:
                return r.status, await r.text()

        in_flight = [asyncio.ensure_future(fetch_text()) for _ in range(5)]
        await asyncio.sleep(0.1)
        (site_dir / "edge-handlers" / "h.js").write_text(
            "export function onRequest(e) { e.replaceResponse(new Response('v2')); }")
        holder = srv.node.sites.holders[0]
        old_site = holder.site
        assert await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(holder.reload("test"), srv.loop))
        assert holder.site is not old_site
        assert await fetch_text() == (200, "v2")
        assert [await f for f in in_flight] == [(200, "v1")] * 5
    # the retired deploy's isolate is closed when sites.py retires it (30 s later); do it now
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(old_site.close(), srv.loop))
    assert old_site.handlers._isolate is None
    assert os.path.isdir(site_dir)
