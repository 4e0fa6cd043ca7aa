"""URL and URLSearchParams (edgenode/handlers/js/url.js) in a bare mini-racer isolate."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsenv import JSEnv, JSError, js_str

FIELDS = ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"]


@pytest.fixture(scope="module")
def js() -> Iterator[JSEnv]:
    env = JSEnv("url")
    env.eval(
        "globalThis.describeURL = (input, base) => { try { const u = base === null ? new URL(input) : new URL(input, base);"
        f" return {{{', '.join(f'{f}: u.{f}' for f in FIELDS)}}}; }} catch (e) {{"
        " if (!(e instanceof TypeError) || e.message !== 'Invalid URL') throw e; return null; } };"
    )
    yield env
    env.close()


# Generated once from Node 20's WHATWG URL (ada) and checked in: (input, base, expected fields or None).
URL_CASES: list[tuple[str, str | None, dict[str, str] | None]] = [
    ('http://example.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('HTTP://EXAMPLE.COM/A?B#C', None, {'href': 'http://example.com/A?B#C', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/A', 'search': '?B', 'hash': '#C'}),
    ('http://example.com:80/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('https://example.com:443/x', None, {'href': 'https://example.com/x', 'origin': 'https://example.com', 'protocol': 'https:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('http://example.com:8080/', None, {'href': 'http://example.com:8080/', 'origin': 'http://example.com:8080', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com:8080', 'hostname': 'example.com', 'port': '8080', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://example.com:65536/', None, None),
    ('http://example.com:0/', None, {'href': 'http://example.com:0/', 'origin': 'http://example.com:0', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com:0', 'hostname': 'example.com', 'port': '0', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://example.com:/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('ws://h:80/', None, {'href': 'ws://h/', 'origin': 'ws://h', 'protocol': 'ws:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('wss://h:443/', None, {'href': 'wss://h/', 'origin': 'wss://h', 'protocol': 'wss:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('ftp://h:21/', None, {'href': 'ftp://h/', 'origin': 'ftp://h', 'protocol': 'ftp:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://h:00080/', None, {'href': 'http://h/', 'origin': 'http://h', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('  http://example.com/  ', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://exa\tmple.com/\n', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://example.com/a b', None, {'href': 'http://example.com/a%20b', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/a%20b', 'search': '', 'hash': ''}),
    ('http://example.com/a/./b/../c', None, {'href': 'http://example.com/a/c', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/a/c', 'search': '', 'hash': ''}),
    ('http://example.com/a/%2e/b/%2E%2e/c', None, {'href': 'http://example.com/a/c', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/a/c', 'search': '', 'hash': ''}),
    ('http://example.com/..', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://example.com/a/..', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://example.com/a/.', None, {'href': 'http://example.com/a/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/a/', 'search': '', 'hash': ''}),
    ('http://example.com/a/..//b', None, {'href': 'http://example.com//b', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '//b', 'search': '', 'hash': ''}),
    ('http://example.com\\a\\b', None, {'href': 'http://example.com/a/b', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/a/b', 'search': '', 'hash': ''}),
    ("http://example.com/?q=a b&c='d'", None, {'href': 'http://example.com/?q=a%20b&c=%27d%27', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '?q=a%20b&c=%27d%27', 'hash': ''}),
    ("sc://example.com/?q='d'", None, {'href': "sc://example.com/?q='d'", 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': "?q='d'", 'hash': ''}),
    ('http://example.com/#frag ment`', None, {'href': 'http://example.com/#frag%20ment%60', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': '#frag%20ment%60'}),
    ('http://example.com/ä?ä#ä', None, {'href': 'http://example.com/%C3%A4?%C3%A4#%C3%A4', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/%C3%A4', 'search': '?%C3%A4', 'hash': '#%C3%A4'}),
    ('http://example.com/{}|^`<>"', None, {'href': 'http://example.com/%7B%7D|^%60%3C%3E%22', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/%7B%7D|^%60%3C%3E%22', 'search': '', 'hash': ''}),
    ('http://example.com/%zz%41', None, {'href': 'http://example.com/%zz%41', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/%zz%41', 'search': '', 'hash': ''}),
    ('http://user:pass@example.com/', None, {'href': 'http://user:pass@example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': 'user', 'password': 'pass', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://user@example.com/', None, {'href': 'http://user@example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': 'user', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://:pass@example.com/', None, {'href': 'http://:pass@example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': 'pass', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://@example.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://a@b@c/', None, {'href': 'http://a%40b@c/', 'origin': 'http://c', 'protocol': 'http:', 'username': 'a%40b', 'password': '', 'host': 'c', 'hostname': 'c', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://us er:p@ss@h/', None, {'href': 'http://us%20er:p%40ss@h/', 'origin': 'http://h', 'protocol': 'http:', 'username': 'us%20er', 'password': 'p%40ss', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://u:p@/', None, None),
    ('http://u:@h/', None, {'href': 'http://u@h/', 'origin': 'http://h', 'protocol': 'http:', 'username': 'u', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://0x7f.0.0.1/', None, {'href': 'http://127.0.0.1/', 'origin': 'http://127.0.0.1', 'protocol': 'http:', 'username': '', 'password': '', 'host': '127.0.0.1', 'hostname': '127.0.0.1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://0177.0.0.1/', None, {'href': 'http://127.0.0.1/', 'origin': 'http://127.0.0.1', 'protocol': 'http:', 'username': '', 'password': '', 'host': '127.0.0.1', 'hostname': '127.0.0.1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://2130706433/', None, {'href': 'http://127.0.0.1/', 'origin': 'http://127.0.0.1', 'protocol': 'http:', 'username': '', 'password': '', 'host': '127.0.0.1', 'hostname': '127.0.0.1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://127.1/', None, {'href': 'http://127.0.0.1/', 'origin': 'http://127.0.0.1', 'protocol': 'http:', 'username': '', 'password': '', 'host': '127.0.0.1', 'hostname': '127.0.0.1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://127.0.1/', None, {'href': 'http://127.0.0.1/', 'origin': 'http://127.0.0.1', 'protocol': 'http:', 'username': '', 'password': '', 'host': '127.0.0.1', 'hostname': '127.0.0.1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://256.0.0.1/', None, None),
    ('http://1.2.3.4.5/', None, None),
    ('http://1.2.3.4./', None, {'href': 'http://1.2.3.4/', 'origin': 'http://1.2.3.4', 'protocol': 'http:', 'username': '', 'password': '', 'host': '1.2.3.4', 'hostname': '1.2.3.4', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://0x100000000/', None, None),
    ('http://4294967295/', None, {'href': 'http://255.255.255.255/', 'origin': 'http://255.255.255.255', 'protocol': 'http:', 'username': '', 'password': '', 'host': '255.255.255.255', 'hostname': '255.255.255.255', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://1.2.3.09/', None, None),
    ('http://08/', None, None),
    ('http://0x/', None, {'href': 'http://0.0.0.0/', 'origin': 'http://0.0.0.0', 'protocol': 'http:', 'username': '', 'password': '', 'host': '0.0.0.0', 'hostname': '0.0.0.0', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://foo.0x4/', None, None),
    ('http://foo.09/', None, None),
    ('http://a.b.c.1e1/', None, {'href': 'http://a.b.c.1e1/', 'origin': 'http://a.b.c.1e1', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a.b.c.1e1', 'hostname': 'a.b.c.1e1', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[::1]/', None, {'href': 'http://[::1]/', 'origin': 'http://[::1]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[::1]', 'hostname': '[::1]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[::]/', None, {'href': 'http://[::]/', 'origin': 'http://[::]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[::]', 'hostname': '[::]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[1:0:0:0:0:0:0:1]/', None, {'href': 'http://[1::1]/', 'origin': 'http://[1::1]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[1::1]', 'hostname': '[1::1]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[1:0:0:2:0:0:0:1]/', None, {'href': 'http://[1:0:0:2::1]/', 'origin': 'http://[1:0:0:2::1]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[1:0:0:2::1]', 'hostname': '[1:0:0:2::1]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[0:0:1:0:0:0:0:0]/', None, {'href': 'http://[0:0:1::]/', 'origin': 'http://[0:0:1::]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[0:0:1::]', 'hostname': '[0:0:1::]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[::ffff:1.2.3.4]/', None, {'href': 'http://[::ffff:102:304]/', 'origin': 'http://[::ffff:102:304]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[::ffff:102:304]', 'hostname': '[::ffff:102:304]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[::1.2.3.4]/', None, {'href': 'http://[::102:304]/', 'origin': 'http://[::102:304]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[::102:304]', 'hostname': '[::102:304]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[1::2::3]/', None, None),
    ('http://[1:2:3:4:5:6:7:8:9]/', None, None),
    ('http://[::1.2.3]/', None, None),
    ('http://[::1.2.3.04]/', None, None),
    ('http://[fe80::1%25eth0]/', None, None),
    ('http://[ABCD::EF]:81/', None, {'href': 'http://[abcd::ef]:81/', 'origin': 'http://[abcd::ef]:81', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[abcd::ef]:81', 'hostname': '[abcd::ef]', 'port': '81', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://[::1/', None, None),
    ('http://[1:2:3:4:5:6:7::]/', None, {'href': 'http://[1:2:3:4:5:6:7:0]/', 'origin': 'http://[1:2:3:4:5:6:7:0]', 'protocol': 'http:', 'username': '', 'password': '', 'host': '[1:2:3:4:5:6:7:0]', 'hostname': '[1:2:3:4:5:6:7:0]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://bücher.example/', None, {'href': 'http://xn--bcher-kva.example/', 'origin': 'http://xn--bcher-kva.example', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'xn--bcher-kva.example', 'hostname': 'xn--bcher-kva.example', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://BÜCHER.example/', None, {'href': 'http://xn--bcher-kva.example/', 'origin': 'http://xn--bcher-kva.example', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'xn--bcher-kva.example', 'hostname': 'xn--bcher-kva.example', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://xn--bcher-kva.example/', None, {'href': 'http://xn--bcher-kva.example/', 'origin': 'http://xn--bcher-kva.example', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'xn--bcher-kva.example', 'hostname': 'xn--bcher-kva.example', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://日本語.jp/', None, {'href': 'http://xn--wgv71a119e.jp/', 'origin': 'http://xn--wgv71a119e.jp', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'xn--wgv71a119e.jp', 'hostname': 'xn--wgv71a119e.jp', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://straße.de/', None, {'href': 'http://xn--strae-oqa.de/', 'origin': 'http://xn--strae-oqa.de', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'xn--strae-oqa.de', 'hostname': 'xn--strae-oqa.de', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://ＥＸＡＭＰＬＥ．com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://ex%41mple.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://ex%2fmple.com/', None, None),
    ('http://a<b/', None, None),
    ('http://a^b/', None, None),
    ('http://a|b/', None, None),
    ('http://a%/', None, None),
    ('http://exa mple/', None, None),
    ('http:///example.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http:example.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http:/example.com/', None, {'href': 'http://example.com/', 'origin': 'http://example.com', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'example.com', 'hostname': 'example.com', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('http://', None, None),
    ('http:', None, None),
    ('http://example.com:abc/', None, None),
    ('http://example.com:8o/', None, None),
    ('sc:opaque', None, {'href': 'sc:opaque', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'opaque', 'search': '', 'hash': ''}),
    ('sc:opaque path?q#f', None, {'href': 'sc:opaque path?q#f', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'opaque path', 'search': '?q', 'hash': '#f'}),
    ('sc://host/path', None, {'href': 'sc://host/path', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'host', 'hostname': 'host', 'port': '', 'pathname': '/path', 'search': '', 'hash': ''}),
    ('sc://h%41st/', None, {'href': 'sc://h%41st/', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'h%41st', 'hostname': 'h%41st', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('sc://[::1]/', None, {'href': 'sc://[::1]/', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '[::1]', 'hostname': '[::1]', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('sc://a b/', None, None),
    ('sc://@/', None, None),
    ('sc://:1/', None, None),
    ('sc:/path/../x', None, {'href': 'sc:/x', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('sc:/.//p', None, {'href': 'sc:/.//p', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '//p', 'search': '', 'hash': ''}),
    ('sc://h/./../a', None, {'href': 'sc://h/a', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/a', 'search': '', 'hash': ''}),
    ('mailto:user@example.com', None, {'href': 'mailto:user@example.com', 'origin': 'null', 'protocol': 'mailto:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'user@example.com', 'search': '', 'hash': ''}),
    ('data:text/plain,hello world', None, {'href': 'data:text/plain,hello world', 'origin': 'null', 'protocol': 'data:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'text/plain,hello world', 'search': '', 'hash': ''}),
    ('javascript:alert(1)', None, {'href': 'javascript:alert(1)', 'origin': 'null', 'protocol': 'javascript:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'alert(1)', 'search': '', 'hash': ''}),
    ('urn:isbn:0451450523', None, {'href': 'urn:isbn:0451450523', 'origin': 'null', 'protocol': 'urn:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'isbn:0451450523', 'search': '', 'hash': ''}),
    ('blob:https://example.com/uuid', None, {'href': 'blob:https://example.com/uuid', 'origin': 'https://example.com', 'protocol': 'blob:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'https://example.com/uuid', 'search': '', 'hash': ''}),
    ('blob:sc:x', None, {'href': 'blob:sc:x', 'origin': 'null', 'protocol': 'blob:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'sc:x', 'search': '', 'hash': ''}),
    ('a:\t foo.com', None, {'href': 'a: foo.com', 'origin': 'null', 'protocol': 'a:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': ' foo.com', 'search': '', 'hash': ''}),
    ('file:///tmp/x', None, {'href': 'file:///tmp/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/tmp/x', 'search': '', 'hash': ''}),
    ('file://localhost/tmp/x', None, {'href': 'file:///tmp/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/tmp/x', 'search': '', 'hash': ''}),
    ('file://host/share/x', None, {'href': 'file://host/share/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': 'host', 'hostname': 'host', 'port': '', 'pathname': '/share/x', 'search': '', 'hash': ''}),
    ('file:/tmp/x', None, {'href': 'file:///tmp/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/tmp/x', 'search': '', 'hash': ''}),
    ('file:tmp/x', None, {'href': 'file:///tmp/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/tmp/x', 'search': '', 'hash': ''}),
    ('file:///C:/x/../..', None, {'href': 'file:///C:/', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/', 'search': '', 'hash': ''}),
    ('file:///C|/x', None, {'href': 'file:///C:/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/x', 'search': '', 'hash': ''}),
    ('file:C:/x', None, {'href': 'file:///C:/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/x', 'search': '', 'hash': ''}),
    ('file://C:/x', None, {'href': 'file:///C:/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/x', 'search': '', 'hash': ''}),
    ('file:///../../x', None, {'href': 'file:///x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('file://[::1]/x', None, {'href': 'file://[::1]/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '[::1]', 'hostname': '[::1]', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('file://HOST/', None, {'href': 'file://host/', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': 'host', 'hostname': 'host', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('file://loCALhost/', None, {'href': 'file:///', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('file:', None, {'href': 'file:///', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('file:?q#f', None, {'href': 'file:///?q#f', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/', 'search': '?q', 'hash': '#f'}),
    ('FILE:///X', None, {'href': 'file:///X', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/X', 'search': '', 'hash': ''}),
    ('x', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/x', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/x', 'search': '', 'hash': ''}),
    ('./x', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/x', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/x', 'search': '', 'hash': ''}),
    ('x/', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/x/', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/x/', 'search': '', 'hash': ''}),
    ('/x', 'http://a/b/c/d;p?q', {'href': 'http://a/x', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('//x', 'http://a/b/c/d;p?q', {'href': 'http://x/', 'origin': 'http://x', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'x', 'hostname': 'x', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('?y', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/d;p?y', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/d;p', 'search': '?y', 'hash': ''}),
    ('#s', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/d;p?q#s', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/d;p', 'search': '?q', 'hash': '#s'}),
    ('x?y#s', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/x?y#s', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/x', 'search': '?y', 'hash': '#s'}),
    ('', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/d;p?q', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/d;p', 'search': '?q', 'hash': ''}),
    ('.', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/', 'search': '', 'hash': ''}),
    ('..', 'http://a/b/c/d;p?q', {'href': 'http://a/b/', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/', 'search': '', 'hash': ''}),
    ('../..', 'http://a/b/c/d;p?q', {'href': 'http://a/', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('../../../g', 'http://a/b/c/d;p?q', {'href': 'http://a/g', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/g', 'search': '', 'hash': ''}),
    ('/./g', 'http://a/b/c/d;p?q', {'href': 'http://a/g', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/g', 'search': '', 'hash': ''}),
    ('g.', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/g.', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/g.', 'search': '', 'hash': ''}),
    ('g;x=1/../y', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/y', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/y', 'search': '', 'hash': ''}),
    ('http:g', 'http://a/b/c/d;p?q', {'href': 'http://a/b/c/g', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b/c/g', 'search': '', 'hash': ''}),
    ('https:g', 'http://a/b/c/d;p?q', {'href': 'https://g/', 'origin': 'https://g', 'protocol': 'https:', 'username': '', 'password': '', 'host': 'g', 'hostname': 'g', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('\\\\x\\y', 'http://a/b', {'href': 'http://x/y', 'origin': 'http://x', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'x', 'hostname': 'x', 'port': '', 'pathname': '/y', 'search': '', 'hash': ''}),
    ('\\x', 'http://a/b/c', {'href': 'http://a/x', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('//x:8080/y', 'https://a/', {'href': 'https://x:8080/y', 'origin': 'https://x:8080', 'protocol': 'https:', 'username': '', 'password': '', 'host': 'x:8080', 'hostname': 'x', 'port': '8080', 'pathname': '/y', 'search': '', 'hash': ''}),
    ('///x', 'https://a/', {'href': 'https://x/', 'origin': 'https://x', 'protocol': 'https:', 'username': '', 'password': '', 'host': 'x', 'hostname': 'x', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
    ('  ', 'http://a/b', {'href': 'http://a/b', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/b', 'search': '', 'hash': ''}),
    ('#f', 'sc:opaque', {'href': 'sc:opaque#f', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': 'opaque', 'search': '', 'hash': '#f'}),
    ('x', 'sc:opaque', None),
    ('x', 'sc://h/a/b', {'href': 'sc://h/a/x', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/a/x', 'search': '', 'hash': ''}),
    ('/x', 'sc://h/a/b', {'href': 'sc://h/x', 'origin': 'null', 'protocol': 'sc:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('x', 'file:///C:/a/b', {'href': 'file:///C:/a/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/a/x', 'search': '', 'hash': ''}),
    ('/x', 'file:///C:/a/b', {'href': 'file:///C:/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/x', 'search': '', 'hash': ''}),
    ('C|/x', 'file:///D:/a', {'href': 'file:///C:/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/x', 'search': '', 'hash': ''}),
    ('//host/x', 'file:///a', {'href': 'file://host/x', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': 'host', 'hostname': 'host', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('..', 'file:///C:/', {'href': 'file:///C:/', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/C:/', 'search': '', 'hash': ''}),
    ('?q', 'file:///a/b', {'href': 'file:///a/b?q', 'origin': 'null', 'protocol': 'file:', 'username': '', 'password': '', 'host': '', 'hostname': '', 'port': '', 'pathname': '/a/b', 'search': '?q', 'hash': ''}),
    ('x', 'about:blank', None),
    ('https://x/', 'not a url', None),
    ('x', 'http://h/?a#b', {'href': 'http://h/x', 'origin': 'http://h', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('http://h/a?b', 'https://z/', {'href': 'http://h/a?b', 'origin': 'http://h', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'h', 'hostname': 'h', 'port': '', 'pathname': '/a', 'search': '?b', 'hash': ''}),
    ('http:/x', 'http://a/b', {'href': 'http://a/x', 'origin': 'http://a', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'a', 'hostname': 'a', 'port': '', 'pathname': '/x', 'search': '', 'hash': ''}),
    ('http:x', 'https://a/b', {'href': 'http://x/', 'origin': 'http://x', 'protocol': 'http:', 'username': '', 'password': '', 'host': 'x', 'hostname': 'x', 'port': '', 'pathname': '/', 'search': '', 'hash': ''}),
]


@pytest.mark.parametrize(("url", "base", "expected"), URL_CASES, ids=[f"{i}" for i in range(len(URL_CASES))])
def test_parser_matches_whatwg(js: JSEnv, url: str, base: str | None, expected: dict[str, str] | None) -> None:
    got = js.value(f"describeURL({js_str(url)}, {js_str(base) if base is not None else 'null'})")
    assert got == expected


def test_invalid_url_is_a_type_error(js: JSEnv) -> None:
    with pytest.raises(JSError, match="TypeError: Invalid URL"):
        js.run("new URL('http://exa mple/')")
    with pytest.raises(JSError, match="TypeError: Invalid URL"):
        js.run("new URL('/path', 'not a base')")
    assert js.value("[URL.canParse('x', 'http://a/'), URL.canParse('x'), URL.parse('nope'), URL.parse('/p', 'http://h').href]") == [
        True, False, None, "http://h/p"]


def test_idna_to_ascii(js: JSEnv) -> None:
    assert js.value("new URL('https://bücher.example/').hostname") == "xn--bcher-kva.example"
    assert js.value("new URL('https://münchen.de/').host") == "xn--mnchen-3ya.de"
    assert js.value("new URL('http://例え.テスト/').hostname") == "xn--r8jz45g.xn--zckzah"
    assert js.value("new URL('http://ÄÖÜ.com/').hostname") == "xn--4ca0bs.com"
    assert js.value("new URL('http://a\u3002b.com/').hostname") == "a.b.com"
    # Checked against Node's URL: UTS #46 mapping (NFKC + case folding), deviation characters kept,
    # ignored characters dropped, zero-width joiners only where ContextJ allows them.
    hosts = ["faß.de", "ÖBB.at", "☕.us", "www.Ｇoogle.com", "ｅｘａｍｐｌｅ。ｃｏｍ", "ﬁ.com", "a\u00adb.com", "ΣΙΣΥΦΟΣ.gr",
             "İ.com", "мойдомен.рф", "①.com", "ς.com", "x\u200b.com", "a\u200db.com", "\u0915\u094d\u200d\u0937.com"]
    got = js.value(f"{json.dumps(hosts)}.map(h => {{ try {{ return new URL('http://' + h + '/').hostname; }} catch (e) {{ return null; }} }})")
    assert got == ["xn--fa-hia.de", "xn--bb-eka.at", "xn--53h.us", "www.google.com", "example.com", "fi.com", "ab.com",
                   "xn--uxamkbbkh.gr", "xn--i-9bb.com", "xn--d1acklchcc.xn--p1ai", "1.com", "xn--3xa.com", "x.com", None,
                   "xn--11b2ezcw70k.com"]
    # xn-- labels must be valid Punycode of non-ASCII text.
    assert js.value("[URL.canParse('http://xn--bcher-kva.example/'), URL.canParse('http://xn--/'), URL.canParse('http://xn--a/'), URL.canParse('http://a.xn--9/')]") == [
        True, False, False, False]


@pytest.mark.parametrize(
    ("start", "setter", "value", "href"),
    [
        ("http://h/p?q#f", "protocol", "https", "https://h/p?q#f"),
        ("http://h:443/", "protocol", "https:", "https://h/"),
        ("http://h/", "protocol", "sc", "http://h/"),
        ("sc://h/", "protocol", "http", "sc://h/"),
        ("http://h/", "protocol", "1x", "http://h/"),
        ("http://h/", "username", "us er@", "http://us%20er%40@h/"),
        ("http://h/", "password", "p:w", "http://:p%3Aw@h/"),
        ("file:///x", "username", "u", "file:///x"),
        ("http://h/p", "host", "example.com:8080", "http://example.com:8080/p"),
        ("http://h:1/p", "host", "example.com", "http://example.com:1/p"),
        ("http://h/p", "host", "", "http://h/p"),
        ("http://h/p", "hostname", "a.b:99", "http://h/p"),
        ("http://h/p", "hostname", "EXAMPLE.org", "http://example.org/p"),
        ("http://h/p", "port", "8080", "http://h:8080/p"),
        ("http://h/p", "port", "80", "http://h/p"),
        ("http://h:81/p", "port", "", "http://h/p"),
        ("http://h/p", "port", "12ab", "http://h:12/p"),
        ("http://h/p", "port", "99999", "http://h/p"),
        ("http://h/p", "pathname", "a b/../c", "http://h/c"),
        ("http://h/p", "pathname", "/x?y#z", "http://h/x%3Fy%23z"),
        ("sc:opaque", "pathname", "x", "sc:opaque"),
        ("http://h/p?q", "search", "a=1 2", "http://h/p?a=1%202"),
        ("http://h/p?q", "search", "", "http://h/p"),
        ("http://h/p?q", "search", "??x", "http://h/p??x"),
        ("http://h/p#f", "hash", "#g h", "http://h/p#g%20h"),
        ("http://h/p#f", "hash", "", "http://h/p"),
        ("http://h/p", "href", "https://other/", "https://other/"),
        ("file:///p", "host", "server", "file://server/p"),
        ("file://server/p", "host", "localhost", "file:///p"),
    ],
)
def test_setters(js: JSEnv, start: str, setter: str, value: str, href: str) -> None:
    assert js.value(f"(() => {{ const u = new URL({js_str(start)}); u[{js_str(setter)}] = {js_str(value)}; return u.href; }})()") == href


def test_href_setter_throws_on_invalid(js: JSEnv) -> None:
    with pytest.raises(JSError, match="TypeError: Invalid URL"):
        js.run("const u = new URL('http://h/'); u.href = 'nope';")


def test_search_params_live_link(js: JSEnv) -> None:
    got = js.run(
        """
        const u = new URL('https://h/p?a=1&b=2&a=3#f');
        const sp = u.searchParams;
        const out = [sp.get('a'), sp.getAll('a'), sp.size];
        sp.append('c', 'x y&z');
        out.push(u.href);
        sp.delete('a');
        out.push(u.search);
        u.search = '?k=v&k=w';
        out.push(sp.getAll('k'), sp === u.searchParams);
        sp.delete('k');
        out.push(u.href);
        u.href = 'http://x/?n=1';
        out.push(sp.get('n'));
        return out;
        """
    )
    assert got == ["1", ["1", "3"], 3, "https://h/p?a=1&b=2&a=3&c=x+y%26z#f", "?b=2&c=x+y%26z", ["v", "w"], True, "https://h/p#f", "1"]


def test_search_params_api(js: JSEnv) -> None:
    got = js.run(
        """
        const p = new URLSearchParams('?a=1&b=%20&c=+x&d&=e&&f=%zz&a=2');
        const out = [[...p], p.toString()];
        p.set('a', 'only');
        out.push(p.toString());
        out.push(p.has('b'), p.has('b', 'x'), p.has('b', ' '));
        p.delete('b', 'nope');
        out.push(p.has('b'));
        const s = new URLSearchParams([['z', '1'], ['a', '2'], ['é', '3'], ['a', '1']]);
        s.sort();
        out.push(s.toString());
        out.push(new URLSearchParams({x: 1, y: 'ü'}).toString());
        out.push(new URLSearchParams(new URLSearchParams('q=1')).get('q'));
        const seen = [];
        s.forEach((v, k, self) => seen.push(k + v + (self === s)));
        out.push(seen, [...s.keys()], [...s.values()], Object.prototype.toString.call(s));
        return out;
        """
    )
    assert got == [
        [["a", "1"], ["b", " "], ["c", " x"], ["d", ""], ["", "e"], ["f", "%zz"], ["a", "2"]],
        "a=1&b=+&c=+x&d=&=e&f=%25zz&a=2",
        "a=only&b=+&c=+x&d=&=e&f=%25zz",
        True, False, True, True,
        "a=2&a=1&z=1&%C3%A9=3",
        "x=1&y=%C3%BC",
        "1",
        ["a2true", "a1true", "z1true", "é3true"], ["a", "a", "z", "é"], ["2", "1", "1", "3"], "[object URLSearchParams]",
    ]
    with pytest.raises(JSError, match="TypeError"):
        js.run("new URLSearchParams([['a', 'b', 'c']])")


def test_to_json_and_string(js: JSEnv) -> None:
    assert js.value("JSON.stringify({u: new URL('http://h/a b')})") == '{"u":"http://h/a%20b"}'
    assert js.value("String(new URL('HTTP://H'))") == "http://h/"


pairs = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(pairs=pairs)
def test_search_params_round_trip(js: JSEnv, pairs: list[tuple[str, str]]) -> None:
    """Serialising and re-parsing gives back the pairs; Python's urlencode agrees on the wire form."""
    wellformed = [(k.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), v.encode("utf-16", "surrogatepass").decode("utf-16", "replace")) for k, v in pairs]
    got = js.value(f"(() => {{ const s = new URLSearchParams({json.dumps(wellformed)}).toString(); return [s, [...new URLSearchParams(s)]]; }})()")
    serialized, reparsed = got
    assert [tuple(p) for p in reparsed] == wellformed
    assert urllib.parse.parse_qsl(serialized, keep_blank_values=True) == wellformed


segments = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6), max_size=6)


@settings(max_examples=150, deadline=None)
@given(segments=segments, query=st.text(max_size=10))
def test_href_is_a_fixed_point(js: JSEnv, segments: list[str], query: str) -> None:
    """Parsing a serialized URL gives the same URL (the spec's idempotence property)."""
    raw = "http://example.com/" + "/".join(segments) + "?" + query
    got = js.value(f"(() => {{ const u = URL.parse({js_str(raw)}); return u && [u.href, new URL(u.href).href]; }})()")
    if got is not None:
        assert got[0] == got[1]
