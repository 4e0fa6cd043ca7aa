"""Open redirects and header injection through rule captures: a splat or placeholder never sends a
browser to another host or scheme, and captured text never becomes a header of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import write_site
from tests.hostile.conftest import exchange, first_status

RULES = """
/go/*          /:splat            302
/to/:place     /:place            301
/deep/:a/:b    /:a/:b             302
/keep/*        /kept/:splat       302
/q             /landing           302
/abs/*         https://cdn.example.com/:splat   301
"""


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory):
    from edgenode.testing import RunningEdgenode

    site = write_site(tmp_path_factory.mktemp("redir") / "site", {
        "index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>", "_redirects": RULES,
    })
    srv = RunningEdgenode(site)
    yield srv
    srv.stop()


def ask(url: str, target: str, host: str = "site.example") -> tuple[int, dict[str, list[str]], bytes]:
    raw, _ = exchange(url, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    headers: dict[str, list[str]] = {}
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return first_status(raw), headers, raw


def assert_stays_on(location: str, host: str, allowed_hosts: tuple[str, ...] = ()) -> None:
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or location.startswith("//"):
        assert parts.scheme in ("http", "https"), location
        assert parts.hostname in (host, *allowed_hosts), location
    else:
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


OFF_SITE = [
    "/go//evil.example", "/go//evil.example/path", "/go///evil.example", "/go/%2F%2Fevil.example",
    "/go/%2fevil.example", "/go/\\evil.example", "/go/%5C%5Cevil.example", "/go/%5cevil.example",
    "/go/https://evil.example", "/go/https:/evil.example", "/go/https:evil.example",
    "/go/javascript:alert(1)", "/go/data:text/html,x", "/go//%09/evil.example", "/go/%09//evil.example",
    "/go/%E3%80%82evil.example", "/go/@evil.example", "/go/.evil.example",
    "/to/%2F%2Fevil.example", "/to/%2fevil.example", "/to/%5Cevil.example",
    "/deep/%2F/evil.example", "/deep//evil.example", "/keep/..%2F..%2F%2Fevil.example",
    "/abs/%2F%2Fevil.example", "/abs/@evil.example", "/abs/..%2F..%2Fevil",
    "/go//evil.example?x=1", "/go/evil.example#//evil",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_captures_never_redirect_off_site(rules_server, target):
    status, headers, raw = ask(rules_server.url, target)
    assert status in (301, 302, 400, 404), (target, raw[:200])
    for loc in headers.get("location", []):
        assert_stays_on(loc, "site.example", ("cdn.example.com",))


INJECTION = [
    "/go/%0D%0ASet-Cookie:%20evil=1", "/go/%0ASet-Cookie:%20evil=1", "/go/%0DSet-Cookie:%20evil=1",
    "/to/%0d%0aX-Injected:%201", "/go/a%0d%0a%0d%0a<script>alert(1)</script>",
    "/abs/%0D%0ASet-Cookie:%20evil=1", "/go/%E5%98%8D%E5%98%8ASet-Cookie:%20evil=1",
    "/go/%C4%8D%C4%8ASet-Cookie:evil", "/go/a%00b", "/go/%E2%80%A8X-Injected:%201",
    "/q?%0d%0aSet-Cookie:%20evil=1", "/keep/x?a=%0d%0aSet-Cookie:%20evil=1",
]


@pytest.mark.parametrize("target", INJECTION)
def test_captured_crlf_never_becomes_a_header(rules_server, target):
    status, headers, raw = ask(rules_server.url, target)
    assert status in (301, 302, 400, 404, 502), (target, raw[:300])
    assert "set-cookie" not in headers and "x-injected" not in headers, headers
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nset-cookie" not in head and b"\r\nx-injected" not in head and b"\r\n\r\n" not in head
    for loc in headers.get("location", []):
        assert "\r" not in loc and "\n" not in loc and "\x00" not in loc
        assert_stays_on(loc, "site.example", ("cdn.example.com",))


def test_host_header_controls_only_its_own_redirect(rules_server):
    status, headers, _ = ask(rules_server.url, "/q", host="evil.example")
    # An absolute Location names the host the client asked for; nothing else a client sends does.
    assert status == 302
    status, headers, _ = ask(rules_server.url, "/q")
    assert status == 302
    assert_stays_on(headers["location"][0], "site.example")


def test_normal_redirects_still_work(rules_server):
    status, headers, _ = ask(rules_server.url, "/go/about")
    assert status == 302 and urlsplit(headers["location"][0]).path == "/about"
    status, headers, _ = ask(rules_server.url, "/abs/img/logo.png")
    assert status == 301 and headers["location"][0] == "https://cdn.example.com/img/logo.png"
