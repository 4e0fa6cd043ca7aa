"""Same-site fetch() answered from a remembered cache hit (handlers/fetch_memo.py), through a live server.

Every test checks what a handler sees against what the whole pipeline gives, and whether the
memo answered (its `hits` counter), so a memo that answers when it must not fails here.
"""

from __future__ import annotations

import json
import time

import jwt

from tests.test_handlers_api import get, handler_site

# The handler on "/" fetches a page of its own site (the page named by ?p=, with the headers of
# ?h=) and reports what it got: body, status and the headers that are per request or per entry.
FETCHER = r"""
export async function onRequest(event) {
  const url = new URL(event.request.url);
  const page = url.searchParams.get("p") || "/page.html";
  const headers = JSON.parse(url.searchParams.get("h") || "{}");
  const res = await fetch(`${url.origin}${page}`, { headers });
  const out = new Headers({ "content-type": "text/plain" });
  for (const name of ["x-nf-request-id", "age", "cache-status", "etag", "x-count", "x-rule"]) {
    if (res.headers.has(name)) out.set("x-inner-" + name, res.headers.get(name));
  }
  event.replaceResponse(new Response(res.status + " " + (await res.text()), { headers: out }));
}
"""


def memo_hits(srv) -> int:
    """Fetches answered from memory: by the host's memo, or by an isolate from its lease."""
    memo = getattr(srv.node, "fetch_memo", None)
    return (memo.hits if memo is not None else 0) + local_fetches(srv)


def local_fetches(srv) -> int:
    total = 0
    for holder in srv.node.sites.holders:
        iso = getattr(holder.site.handlers, "_isolate", None)
        total += iso.local_fetches if iso is not None else 0
    return total


def site(make_site, files: dict[str, str] | None = None, decls: list[tuple[str, str]] | None = None,
         handlers: dict[str, str] | None = None):
    tree = {"page.html": "<p>the page</p>", **(files or {})}
    return handler_site(make_site, {"fetcher": FETCHER, **(handlers or {})}, [("/", "fetcher"), *(decls or [])], tree)


async def test_repeated_fetch_is_remembered_with_per_request_values(edgenode, make_site):
    srv = edgenode(site(make_site))
    seen = []
    for i in range(6):
        status, headers, body = await get(srv.url, "/")
        assert status == 200 and body == b"200 <p>the page</p>"
        # The fetched response carries this request's id, like the pipeline gives it.
        assert headers["x-inner-x-nf-request-id"] == headers["x-nf-request-id"]
        assert headers["x-inner-age"].isdigit()
        assert ("hit" in headers["x-inner-cache-status"]) == (i > 0)
        seen.append(headers["x-nf-request-id"])
    assert len(set(seen)) == 6
    assert memo_hits(srv) >= 4  # the first fetch fills the cache, the second is remembered, then hits
    assert local_fetches(srv) >= 2  # ... and after the first hit, the isolate answers from its lease


async def test_a_lease_answers_only_requests_on_its_origin(edgenode, make_site):
    # The handler always fetches http://127.0.0.1:PORT/page.html. Asked as 127.0.0.1 that is a
    # same-site fetch (remembered, then leased); asked as localhost it is a fetch to another
    # origin, which goes out over HTTP as a request of its own (with its own request id).
    fetch_127 = FETCHER.replace("`${url.origin}${page}`", "`http://127.0.0.1:${url.port}${page}`")
    srv = edgenode(handler_site(make_site, {"fetcher": fetch_127}, [("/", "fetcher")], {"page.html": "<p>the page</p>"}))
    port = srv.url.rsplit(":", 1)[1]
    for _ in range(4):
        _, headers, body = await get(srv.url, "/")
        assert body == b"200 <p>the page</p>"
        assert headers["x-inner-x-nf-request-id"] == headers["x-nf-request-id"]
    local = local_fetches(srv)
    assert local >= 1
    for _ in range(3):
        _, headers, body = await get(srv.url, "/", headers={"Host": f"localhost:{port}"})
        assert body == b"200 <p>the page</p>"
        assert headers["x-inner-x-nf-request-id"] != headers["x-nf-request-id"]
    assert local_fetches(srv) == local


async def test_an_evicted_entry_or_a_new_deploy_is_never_answered_from_memory(edgenode, make_site):
    root = site(make_site)
    srv = edgenode(root)
    for _ in range(3):
        await get(srv.url, "/")
    hits = memo_hits(srv)
    assert hits >= 1
    srv.node.cache.clear()  # (the loop only reads the cache between requests)
    assert (await get(srv.url, "/"))[2] == b"200 <p>the page</p>"
    assert memo_hits(srv) == hits  # the entry it named is gone: the pipeline ran again
    (root / "page.html").write_text("<p>new deploy</p>")
    srv.call(srv.node.sites.holders[0].reload)
    assert (await get(srv.url, "/"))[2] == b"200 <p>new deploy</p>"
    assert (await get(srv.url, "/"))[2] == b"200 <p>new deploy</p>"


async def test_a_handler_on_the_fetched_path_runs_every_time(edgenode, make_site):
    counter = "let n = 0;\nexport function onResponse(event) { event.response.headers.set('x-count', String(++n)); }\n"
    srv = edgenode(site(make_site, decls=[("/page.html", "counter")], handlers={"counter": counter}))
    counts = [(await get(srv.url, "/"))[1]["x-inner-x-count"] for _ in range(4)]
    assert counts == ["1", "2", "3", "4"]
    assert memo_hits(srv) == 0


async def test_request_headers_are_part_of_the_key(edgenode, make_site):
    # A rule that depends on a request header (Language) must see each fetch's own headers.
    files = {"_redirects": "/lang.html  /de.html  200  Language=de\n", "lang.html": "<p>default</p>",
             "de.html": "<p>deutsch</p>"}
    srv = edgenode(site(make_site, files))
    de = '{"accept-language": "de"}'
    for _ in range(3):
        assert (await get(srv.url, "/", params={"p": "/lang.html"}))[2] == b"200 <p>default</p>"
        assert (await get(srv.url, "/", params={"p": "/lang.html", "h": de}))[2] == b"200 <p>deutsch</p>"
    assert memo_hits(srv) >= 2


async def test_conditional_range_and_compressed_fetches_are_not_remembered(edgenode, make_site):
    big = "<p>" + "compressible text " * 200 + "</p>"
    srv = edgenode(site(make_site, {"big.html": big}))
    _, headers, _ = await get(srv.url, "/")
    etag = headers["x-inner-etag"]
    cond = json.dumps({"if-none-match": etag})
    for _ in range(3):
        assert (await get(srv.url, "/", params={"h": cond}))[2] == b"304 "
    for _ in range(3):
        assert (await get(srv.url, "/", params={"h": '{"range": "bytes=0-6"}'}))[2] == b"206 <p>the "
    gz = '{"accept-encoding": "gzip"}'
    for _ in range(3):
        status, _, body = await get(srv.url, "/", params={"p": "/big.html", "h": gz})
        assert status == 200 and body.startswith(b"200 ")  # the handler read the compressed bytes as text
    assert memo_hits(srv) == 0


async def test_an_identity_makes_the_fetch_run_the_pipeline(edgenode, make_site):
    secret = "a-secret-of-at-least-32-bytes-for-hs256"
    files = {"_redirects": "/members.html  /members-in.html  200!  Role=member\n",
             "members.html": "<p>outside</p>", "members-in.html": "<p>inside</p>"}
    srv = edgenode(site(make_site, files), jwt_secret=secret)
    token = jwt.encode({"sub": "u1", "exp": int(time.time()) + 3600,
                        "app_metadata": {"authorization": {"roles": ["member"]}}}, secret, algorithm="HS256")
    with_jwt = json.dumps({"cookie": f"nf_jwt={token}"})
    for _ in range(3):
        assert (await get(srv.url, "/", params={"p": "/members.html", "h": with_jwt}))[2] == b"200 <p>inside</p>"
    assert memo_hits(srv) == 0
    assert (await get(srv.url, "/", params={"p": "/members.html"}))[2].startswith(b"404 ")  # no role
    for _ in range(3):  # the same server remembers a fetch without a token
        assert (await get(srv.url, "/"))[2] == b"200 <p>the page</p>"
    assert memo_hits(srv) >= 1


async def test_remembered_fetches_count_against_the_subrequest_limit(edgenode, make_site):
    loop = ("export async function onRequest(event) {\n"
            "  const origin = new URL(event.request.url).origin;\n"
            "  for (;;) await fetch(origin + '/page.html');\n}\n")
    srv = edgenode(site(make_site, decls=[("/loop", "loop")], handlers={"loop": loop}))
    status, _, body = await get(srv.url, "/loop")
    assert status == 500 and b"too many subrequests (more than 50)" in body
    assert memo_hits(srv) >= 45  # all but the first few came from the memo, and still counted


# Answers with the fetched page itself: its text goes back to the host as the id of a text it sent.
PASS_THROUGH = r"""
export async function onRequest(event) {
  const url = new URL(event.request.url);
  const res = await fetch(`${url.origin}${url.searchParams.get("p")}`);
  const headers = new Headers(res.headers);
  headers.set("x-passed", "1");
  event.replaceResponse(new Response(await res.text(), { status: res.status, headers }));
}
"""


async def test_page_texts_cross_once_and_come_back_by_id(edgenode, make_site, monkeypatch):
    from edgenode.handlers import texts

    monkeypatch.setattr(texts, "TEXTS_MAX", 3)  # the isolate keeps three pages: the others are forgotten
    came_back = []
    bytes_of = texts.TextMirror.bytes_of

    def counted(self, tid):
        came_back.append(tid)
        return bytes_of(self, tid)

    monkeypatch.setattr(texts.TextMirror, "bytes_of", counted)
    pages = {f"p{i}.html": f"<p>page {i} \u00e9\u20ac</p>" + "x" * i for i in range(8)}
    srv = edgenode(handler_site(make_site, {"pass": PASS_THROUGH}, [("/", "pass")], pages))
    for _ in range(4):
        for name, text in pages.items():
            status, headers, body = await get(srv.url, "/", params={"p": "/" + name})
            assert status == 200 and headers["x-passed"] == "1"
            assert body == text.encode(), name
    assert memo_hits(srv) >= 16  # passes 3 and 4 (1 fills the cache, 2 remembers the fetch)
    assert len(came_back) >= 16  # ... and their answers came back as text ids


def test_text_mirror_forgets_in_lru_order_and_keeps_bytes_until_the_batch_ran(monkeypatch):
    from edgenode.handlers import texts

    monkeypatch.setattr(texts, "TEXTS_MAX", 2)
    m = texts.TextMirror()
    assert m.body(1, b"one") == ({"t": "one", "tk": 1}, [])
    assert m.body(2, "zwei \u00df".encode()) == ({"t": "zwei \u00df", "tk": 2}, [])
    assert m.body(1, b"one") == ({"tk": 1}, [])  # now 2 is the least recently sent
    assert m.body(3, b"three") == ({"t": "three", "tk": 3}, [2])
    assert m.bytes_of(2) == "zwei \u00df".encode()  # its "tx-" event has not run yet
    m.batch_started()  # the batch carrying that event
    assert m.bytes_of(2) is not None
    m.batch_ended()
    assert m.bytes_of(2) is None and m.bytes_of(1) == b"one" and m.bytes_of(3) == b"three"
    assert m.body(2, "zwei \u00df".encode())[0] == {"t": "zwei \u00df", "tk": 2}  # sent whole again
