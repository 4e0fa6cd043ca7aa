"""`run.py --memory`: resident memory of edgenode (issue 7, item 4).

1. A site with 10,000 rules and 20 edge handlers: RSS right after start, and after one request to
   each handler (isolates warm) and to a few rules.
2. A long mixed run (1,000,000 requests by default) over 4,000 pages, 404s, query strings, gzip
   and brotli, with a cache far smaller than the content: RSS is sampled after every wrk segment; it must
   level off (the cache is bounded by --cache-size, nothing else may grow per request).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import tools
from scenarios import HANDLERS, RULES, Scenario

HANDLER_JS = """\
// Handler {i}: tags the response of its own path.
export function onRequest(event) {{
  event.replaceResponse(async () => {{
    const res = await fetch(event.request);
    const headers = new Headers(res.headers);
    headers.set("x-handler", "h{i}");
    return new Response(await res.text(), {{ status: res.status, headers }});
  }});
}}
"""

MIXED_LUA = """\
-- Cycles over many pages; every 3rd request carries a query string, every 5th asks for gzip,
-- every 7th for brotli, every 11th a page that does not exist. (No HEAD: wrk waits for a body.)
counter = 0
request = function()
  counter = counter + 1
  local page = (counter * 7919) % PAGES
  local path = "/p/" .. page .. ".html"
  local headers = {}
  local method = "GET"
  if counter % 3 == 0 then path = path .. "?v=" .. (counter % 1000) end
  if counter % 5 == 0 then headers["Accept-Encoding"] = "gzip" end
  if counter % 7 == 0 then headers["Accept-Encoding"] = "br" end
  if counter % 11 == 0 then path = "/missing/" .. counter end
  return wrk.format(method, path, headers)
end
"""


def _available(module: str) -> bool:
    return Scenario("", "", "", module, "", lambda *a: None, lambda *a: "", lambda *a: None).available()


def write_big_config_site(site: Path) -> None:
    (site / "netlify" / "edge-handlers").mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text("<h1>rules and handlers</h1>")
    lines = []
    for i in range(10_000):
        kind = i % 4
        if kind == 0:
            lines.append(f"/r{i}/:slug  /dest/{i}/:slug  301")
        elif kind == 1:
            lines.append(f"/r{i}/*  /dest/{i}/:splat  302")
        elif kind == 2:
            lines.append(f"/r{i}  /index.html  200")
        else:
            lines.append(f"/r{i}/*  /index.html  200!  Country=us,de")
    (site / "_redirects").write_text("\n".join(lines) + "\n")
    toml = ['[build]\n  publish = "."\n']
    for i in range(20):
        (site / "netlify" / "edge-handlers" / f"h{i}.js").write_text(HANDLER_JS.format(i=i))
        (site / f"h{i}.html").write_text(f"<h1>handler {i}</h1>")
        toml.append(f'[[edge_handlers]]\n  handler = "h{i}"\n  path = "/h{i}.html"\n')
    (site / "netlify.toml").write_text("\n".join(toml))


def write_mixed_site(site: Path, pages: int) -> int:
    rng = random.Random(7)
    total = 0
    (site / "p").mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        body = ("<p>" + f"mixed run page {i} " * rng.randint(40, 800) + "</p>\n").encode()
        (site / "p" / f"{i}.html").write_bytes(body)
        total += len(body)
    (site / "404.html").write_text("<h1>not here</h1>")
    return total


def run_memory(args: argparse.Namespace) -> int:
    tools.ensure_tools(need_nginx=False)
    root = Path(args.out or tempfile.mkdtemp(prefix="edgenode-mem-"))
    print(f"load average before: {tools.load_average()}")

    # 1. 10,000 rules and 20 handlers.
    site = root / "config-site"
    site.mkdir(parents=True, exist_ok=True)
    write_big_config_site(site)
    port = tools.free_port()
    proc = tools.start_edgenode(site, port, args.server_cpus, "1")
    try:
        tools.wait_ready(port, proc)
        at_start = tools.rss_kb(proc.pid)
        answered = sum(tools.fetch(port, f"/h{i}.html").headers.get("x-handler") == f"h{i}" for i in range(20))
        for i in (0, 1, 2, 3, 4998, 9999):
            tools.fetch(port, f"/r{i}/x")
        warm = tools.rss_kb(proc.pid)
    finally:
        tools.stop(proc)
    rules = "10,000 rules" if _available(RULES) else "10,000 rules (ignored: rules not merged)"
    handlers = "20 handlers" if _available(HANDLERS) else "20 handlers (ignored: handlers not merged)"
    print(f"site with {rules} and {handlers}: RSS {at_start / 1024:.1f} MiB after start, "
          f"{warm / 1024:.1f} MiB after one request to every handler ({answered} of 20 handlers answered)")

    # 2. Long mixed run with a small cache.
    pages = 4000
    site = root / "mixed-site"
    content = write_mixed_site(site, pages)
    script = root / "mixed.lua"
    script.write_text(MIXED_LUA.replace("PAGES", str(pages)))
    target = args.requests or (100_000 if args.quick else 1_000_000)
    cache = "16MB"
    port = tools.free_port()
    proc = tools.start_edgenode(site, port, args.server_cpus, "1", ["--cache-size", cache])
    samples: list[tuple[int, int]] = []
    try:
        tools.wait_ready(port, proc)
        samples.append((0, tools.rss_kb(proc.pid)))
        done = 0
        while done < target:
            res = tools.run_wrk(port, "/", 32, 5, args.wrk_cpus, script=script)
            done += res.requests
            samples.append((done, tools.rss_kb(proc.pid)))
            print(f"  {done:>9,} requests  RSS {samples[-1][1] / 1024:6.1f} MiB  ({res.rps:,.0f} req/s)", flush=True)
        ok = tools.fetch(port, "/p/1.html").status == 200
    finally:
        tools.stop(proc)
    first_full = samples[min(2, len(samples) - 1)][1]
    print(f"mixed run: {done:,} requests over {pages} pages ({content / 1e6:.0f} MB of content), --cache-size {cache}: "
          f"RSS {samples[0][1] / 1024:.1f} MiB idle, {first_full / 1024:.1f} MiB once the cache is full, "
          f"{samples[-1][1] / 1024:.1f} MiB at the end (growth after the cache filled: "
          f"{(samples[-1][1] - first_full) / 1024:+.1f} MiB); still answering: {ok}")
    print(f"load average after: {tools.load_average()}")
    return 0
