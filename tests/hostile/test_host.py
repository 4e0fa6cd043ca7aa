"""Host header and request-target forms: site selection is unambiguous, bad authorities are refused."""

from __future__ import annotations

import pytest

from edgenode.testing import RunningEdgenode
from tests.conftest import write_site
from tests.hostile.conftest import assert_serving, exchange, first_status


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("hosts")
    a = write_site(root / "a", {"index.html": "site A", "about.html": "<h1>about</h1>"})
    b = write_site(root / "b", {"index.html": "site B", "about.html": "<h1>about</h1>"})
    srv = RunningEdgenode([("a.example", a), ("b.example,www.b.example", b)], header_timeout=2.0)
    yield srv
    srv.stop()


def ask(url: str, head: bytes) -> tuple[int, bytes, bool]:
    raw, closed = exchange(url, head, timeout=4)
    return first_status(raw), raw.partition(b"\r\n\r\n")[2], closed


SITE_CASES = {
    "plain": (b"GET / HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n", b"site B"),
    "with port": (b"GET / HTTP/1.1\r\nHost: b.example:8443\r\nConnection: close\r\n\r\n", b"site B"),
    "upper case": (b"GET / HTTP/1.1\r\nHost: B.EXAMPLE\r\nConnection: close\r\n\r\n", b"site B"),
    "second name": (b"GET / HTTP/1.1\r\nHost: www.b.example\r\nConnection: close\r\n\r\n", b"site B"),
    "unknown host -> first site": (b"GET / HTTP/1.1\r\nHost: nope.example\r\nConnection: close\r\n\r\n", b"site A"),
    "IPv4 literal": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\nConnection: close\r\n\r\n", b"site A"),
    "IPv6 literal": (b"GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n", b"site A"),
    "IPv6 literal with port": (b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n", b"site A"),
    "HTTP/1.0 without Host": (b"GET / HTTP/1.0\r\n\r\n", b"site A"),
    # RFC 9112 3.2.2: an absolute-form target's authority wins over the Host header.
    "absolute-form overrides Host": (b"GET http://b.example/ HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n",
                                     b"site B"),
    "absolute-form https with port": (b"GET https://b.example:443/ HTTP/1.1\r\nHost: a.example\r\n"
                                      b"Connection: close\r\n\r\n", b"site B"),
    "absolute-form upper-case scheme": (b"GET HTTP://b.example/ HTTP/1.1\r\nHost: a.example\r\n"
                                        b"Connection: close\r\n\r\n", b"site B"),
}


@pytest.mark.parametrize("name", list(SITE_CASES))
def test_site_selection(two_sites, name):
    head, expected = SITE_CASES[name]
    status, body, _ = ask(two_sites.url, head)
    assert (status, body) == (200, expected), (name, status, body[:100])


REFUSED = {
    "HTTP/1.1 without Host": b"GET / HTTP/1.1\r\n\r\n",
    "two Host headers": b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "two Host headers, same value": b"GET / HTTP/1.1\r\nHost: b.example\r\nHost: b.example\r\n\r\n",
    "Host with space and slash": b"GET / HTTP/1.1\r\nHost: b.example/evil x\r\n\r\n",
    "Host with userinfo": b"GET / HTTP/1.1\r\nHost: user@b.example\r\n\r\n",
    "Host with bad port": b"GET / HTTP/1.1\r\nHost: b.example:http\r\n\r\n",
    "Host port out of range": b"GET / HTTP/1.1\r\nHost: b.example:99999\r\n\r\n",
    "Host IPv6 unterminated": b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "Host with comma list": b"GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n",
    "absolute-form with userinfo": b"GET http://user@b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "absolute-form without host": b"GET http:///about HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "absolute-form other scheme": b"GET ftp://b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "authority-form CONNECT": b"CONNECT b.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n",
    "relative target": b"GET about HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "asterisk-form GET": b"GET * HTTP/1.1\r\nHost: a.example\r\n\r\n",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_bad_authority_refused(two_sites, name):
    status, body, _ = ask(two_sites.url, REFUSED[name])
    assert 400 <= status < 500 or status == 0, (name, status, body[:100])
    assert b"site B" not in body and b"site A" not in body
    status, body, _ = ask(two_sites.url, b"GET / HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n")
    assert (status, body) == (200, b"site B")


def test_host_too_long(two_sites):
    status, _, closed = ask(two_sites.url, b"GET / HTTP/1.1\r\nHost: " + b"a" * 9000 + b".example\r\n\r\n")
    assert status == 431 and closed


def test_site_chosen_per_request_on_one_connection(two_sites):
    # Keep-alive across two hosts: each request goes to its own site (no connection-level stickiness).
    data = (b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: b.example\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
    raw, _ = exchange(two_sites.url, data)
    bodies = [part.split(b"HTTP/1.1")[0] for part in raw.split(b"\r\n\r\n")[1:]]
    assert bodies == [b"site A", b"site B", b"site A"]


def test_serving_after_host_abuse(two_sites):
    assert_serving(two_sites.url)
