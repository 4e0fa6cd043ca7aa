"""The six benchmark scenarios of issue 7: the site each one serves, its nginx twin, and its check.

Each scenario writes its own site directory (so a scenario's handlers or rules never slow another
one down), an nginx `server {}` block serving the same content the nginx way, and a check that
looks at one response and says what is wrong with it (None: correct).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MARKER = "<!--EDGE-MARKER-->"
REPLACEMENT = "<p class=edge>rewritten at the edge</p>"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


@dataclass
class Scenario:
    name: str
    title: str
    path: str  # what wrk requests
    needs: str | None  # module that must exist in edgenode (the branch that implements it)
    needs_label: str
    write_site: Callable[[Path, int], None]  # (site dir, upstream port)
    nginx_server: Callable[[Path, int], str]  # (site dir, upstream port) -> location blocks
    check: Callable[[Reply, Path], str | None]
    # Headers wrk sends (e.g. a cookie); empty: wrk's bare GET.
    wrk_headers: tuple[str, ...] = ()

    def available(self) -> bool:
        if self.needs is None:
            return True
        try:
            return importlib.util.find_spec(self.needs) is not None
        except ModuleNotFoundError:
            return False


def _page(size: int, title: str, marker_at: float | None = None) -> bytes:
    """An HTML page of exactly `size` bytes (filler paragraphs), optionally with the marker inside."""
    rng = random.Random(size)
    head = f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>\n"
    tail = "</body></html>\n"
    parts: list[str] = []
    n = len(head) + len(tail)
    words = ["edge", "node", "cache", "deploy", "rule", "handler", "origin", "static", "proxy", "byte"]
    while n < size:
        p = "<p>" + " ".join(rng.choice(words) for _ in range(12)) + "</p>\n"
        parts.append(p)
        n += len(p)
    text = head + "".join(parts) + tail
    if marker_at is not None:
        cut = int(len(text) * marker_at)
        cut = text.rfind("\n", 0, cut) + 1
        text = text[:cut] + MARKER + "\n" + text[cut:]
    data = text.encode()
    return data[: size - len(tail)] + tail.encode() if len(data) > size else data


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


# -- S1: cached static hit, 10 KB page -------------------------------------------------------------

def s1_site(site: Path, upstream_port: int) -> None:
    _write(site / "index.html", _page(10 * 1024, "S1"))


def s1_nginx(site: Path, upstream_port: int) -> str:
    return f"root {site};\nlocation / {{ }}\n"


def s1_check(r: Reply, site: Path) -> str | None:
    want = (site / "index.html").read_bytes()
    if r.status != 200:
        return f"status {r.status}, want 200"
    return None if r.body == want else f"body of {len(r.body)} bytes differs from index.html"


# -- S2: static 1 MB file ---------------------------------------------------------------------------

def s2_site(site: Path, upstream_port: int) -> None:
    _write(site / "big.bin", random.Random(2).randbytes(1024 * 1024))


def s2_nginx(site: Path, upstream_port: int) -> str:
    return f"root {site};\nlocation / {{ }}\n"


def s2_check(r: Reply, site: Path) -> str | None:
    if r.status != 200:
        return f"status {r.status}, want 200"
    want = hashlib.sha256((site / "big.bin").read_bytes()).hexdigest()
    return None if hashlib.sha256(r.body).hexdigest() == want else f"body of {len(r.body)} bytes differs"


# -- S3: proxy to a local upstream (a `_redirects` 200 rule to an absolute URL) -------------------------

UPSTREAM_BODY = ('{"items": [' + ", ".join(f'{{"id": {i}, "name": "item {i}"}}' for i in range(40)) + "]}\n").encode()


def write_upstream(root: Path) -> None:
    _write(root / "data.json", UPSTREAM_BODY)


def s3_site(site: Path, upstream_port: int) -> None:
    _write(site / "index.html", "<h1>S3</h1>")
    _write(site / "_redirects", f"/api/*  http://127.0.0.1:{upstream_port}/:splat  200\n")


def s3_nginx(site: Path, upstream_port: int) -> str:
    return (f"root {site};\nlocation /api/ {{ proxy_pass http://benchup/; proxy_http_version 1.1; "
            f'proxy_set_header Connection ""; }}\n')


def s3_check(r: Reply, site: Path) -> str | None:
    if r.status != 200:
        return f"status {r.status}, want 200"
    return None if r.body == UPSTREAM_BODY else "body differs from the upstream's data.json"


# -- S4: 301 from rule 1,000 of 1,000 --------------------------------------------------------------------

def s4_site(site: Path, upstream_port: int) -> None:
    _write(site / "index.html", "<h1>S4</h1>")
    lines = [f"/blog/{i}/:slug  /posts/{i}/:slug  301" for i in range(1, 1000)]
    lines.append("/old/*  /new/:splat  301")
    _write(site / "_redirects", "\n".join(lines) + "\n")


def s4_nginx(site: Path, upstream_port: int) -> str:
    out = [f"root {site};"]
    for i in range(1, 1000):
        out.append(f"location ^~ /blog/{i}/ {{ rewrite ^/blog/{i}/(.*)$ /posts/{i}/$1 permanent; }}")
    out.append("location ^~ /old/ { rewrite ^/old/(.*)$ /new/$1 permanent; }")
    return "\n".join(out) + "\n"


def s4_check(r: Reply, site: Path) -> str | None:
    if r.status != 301:
        return f"status {r.status}, want 301"
    loc = r.headers.get("location", "")
    return None if loc.endswith("/new/page") else f"Location {loc!r}, want /new/page"


# -- S5: A/B test edge handler (cookie, rewrite, Set-Cookie) ---------------------------------------------

AB_HANDLER = """\
// A/B test: keep the visitor's bucket from the `ab` cookie, or pick one and remember it.
export function onRequest(event) {
  const cookie = event.request.headers.get("cookie") || "";
  const m = cookie.match(/(?:^|;\\s*)ab=(a|b)(?:;|$)/);
  const bucket = m ? m[1] : (Math.random() < 0.5 ? "a" : "b");
  const url = event.request.url;
  const origin = url.slice(0, url.indexOf("/", url.indexOf("//") + 2));
  event.replaceResponse(async () => {
    const res = await fetch(`${origin}/${bucket}/`);
    const headers = new Headers(res.headers);
    if (!m) headers.append("set-cookie", `ab=${bucket}; Path=/; Max-Age=86400`);
    return new Response(await res.text(), { status: res.status, headers });
  });
}
"""


def s5_site(site: Path, upstream_port: int) -> None:
    for b in ("a", "b"):
        _write(site / b / "index.html", _page(2048, f"variant {b}").replace(b"<body>", f"<body>variant-{b}".encode()))
    _write(site / "index.html", "<h1>default</h1>")
    _write(site / "netlify" / "edge-handlers" / "abtest.js", AB_HANDLER)
    _write(site / "netlify.toml", '[build]\n  publish = "."\n\n[[edge_handlers]]\n  handler = "abtest"\n  path = "/"\n')


def s5_nginx(site: Path, upstream_port: int) -> str:
    return (f"root {site};\n"
            "location = / {\n"
            "  set $bucket $ab_cookie;\n"
            '  if ($bucket = "") { set $bucket $ab_random; add_header Set-Cookie "ab=$bucket; Path=/; Max-Age=86400"; }\n'
            "  rewrite ^ /$bucket/index.html break;\n"
            "}\n"
            "location / { }\n")


NGINX_HTTP_EXTRA = """\
map $cookie_ab $ab_cookie { a a; b b; default ""; }
split_clients "${remote_port}${msec}${connection_requests}" $ab_random { 50% a; * b; }
upstream benchup { server 127.0.0.1:UPSTREAM_PORT; keepalive 64; }
"""


def s5_check(r: Reply, site: Path) -> str | None:
    if r.status != 200:
        return f"status {r.status}, want 200"
    bucket = "a" if b"variant-a" in r.body else "b" if b"variant-b" in r.body else None
    if bucket is None:
        return "body is neither variant"
    cookie = r.headers.get("set-cookie", "")
    return None if f"ab={bucket}" in cookie else f"Set-Cookie {cookie!r} does not name bucket {bucket}"


# -- S6: streaming rewrite of a marker in a 100 KB page -----------------------------------------------------

# The S6 transform, shared by the handler below and bench_streaming.py's in-isolate replay of it.
REWRITE_STREAM = """\
// Replaces MARKER in a stream of UTF-8 bytes, keeping a short tail in case a marker spans two chunks.
const MARKER = MARKER_TEXT;
const REPLACEMENT = REPLACEMENT_TEXT;
function rewriteStream() {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let carry = "";
  return new TransformStream({
    transform(chunk, controller) {
      const text = (carry + dec.decode(chunk, { stream: true })).split(MARKER).join(REPLACEMENT);
      const keep = Math.min(MARKER.length - 1, text.length);
      carry = text.slice(text.length - keep);
      controller.enqueue(enc.encode(text.slice(0, text.length - keep)));
    },
    flush(controller) {
      controller.enqueue(enc.encode((carry + dec.decode()).split(MARKER).join(REPLACEMENT)));
    },
  });
}
""".replace("MARKER_TEXT", json.dumps(MARKER)).replace("REPLACEMENT_TEXT", json.dumps(REPLACEMENT))

REWRITE_HANDLER = REWRITE_STREAM + """
// Streams the page through the rewrite.
export function onRequest(event) {
  event.replaceResponse(async () => {
    const res = await fetch(event.request);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(res.body.pipeThrough(rewriteStream()), { status: res.status, headers });
  });
}
"""


def s6_site(site: Path, upstream_port: int) -> None:
    _write(site / "page.html", _page(100 * 1024, "S6", marker_at=0.6))
    _write(site / "netlify" / "edge-handlers" / "rewrite.js", REWRITE_HANDLER)
    _write(site / "netlify.toml", '[build]\n  publish = "."\n\n[[edge_handlers]]\n  handler = "rewrite"\n  path = "/page.html"\n')


def s6_nginx(site: Path, upstream_port: int) -> str:
    return (f"root {site};\n"
            f"location = /page.html {{ sub_filter '{MARKER}' '{REPLACEMENT}'; sub_filter_once on; }}\n"
            "location / { }\n")


def s6_check(r: Reply, site: Path) -> str | None:
    if r.status != 200:
        return f"status {r.status}, want 200"
    want = (site / "page.html").read_bytes().replace(MARKER.encode(), REPLACEMENT.encode())
    return None if r.body == want else f"body of {len(r.body)} bytes is not the page with the marker replaced"


RULES = "edgenode.config.redirects"
HANDLERS = "edgenode.handlers.runtime"

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("S1", "cached static hit, 10 KB page", "/", None, "", s1_site, s1_nginx, s1_check),
    Scenario("S2", "static 1 MB file", "/big.bin", None, "", s2_site, s2_nginx, s2_check),
    Scenario("S3", "proxy to a local upstream", "/api/data.json", RULES, "rules not merged", s3_site, s3_nginx,
             s3_check),
    Scenario("S4", "301 from rule 1,000 of 1,000", "/old/page", RULES, "rules not merged", s4_site, s4_nginx,
             s4_check),
    Scenario("S5", "A/B-test edge handler", "/", HANDLERS, "handlers not merged", s5_site, s5_nginx, s5_check),
    Scenario("S6", "streaming rewrite, 100 KB page", "/page.html", HANDLERS, "handlers not merged", s6_site,
             s6_nginx, s6_check),
)}


def site_dir(root: Path, name: str) -> Path:
    return root / "sites" / name.lower()


def write_all(root: Path, upstream_port: int, names: list[str]) -> None:
    for name in names:
        d = site_dir(root, name)
        d.mkdir(parents=True, exist_ok=True)
        SCENARIOS[name].write_site(d, upstream_port)
    write_upstream(root / "upstream")
    os.makedirs(root / "nginx", exist_ok=True)
