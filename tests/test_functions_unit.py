"""Pure parts of the function invoker: names, the base64 rule, the v1 event and response contracts."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgenode.origins.function_event import (
    InvalidFunctionResponse,
    RequestFacts,
    client_context,
    function_name,
    is_textual,
    parse_v1_response,
    query_maps,
    v1_event,
)
from edgenode.origins.functions import discover


def test_function_name():
    assert function_name("/.netlify/functions/hello") == "hello"
    assert function_name("/.netlify/functions/hello/a/b") == "hello"
    assert function_name("/.netlify/builders/b") == "b"
    assert function_name("/.netlify/functions/") is None
    assert function_name("/api/hello") is None


@pytest.mark.parametrize("ctype,textual", [
    ("text/plain", True), ("TEXT/HTML; charset=utf-8", True), ("application/json", True),
    ("application/ld+json", True), ("image/svg+xml", True), ("application/x-www-form-urlencoded", True),
    ("application/graphql", True), ("application/csp-report", True), ("application/x-ndjson", True),
    ("application/octet-stream", False), ("image/png", False), ("multipart/form-data; boundary=x", False),
    (None, False), ("", False),
])
def test_base64_rule(ctype, textual):
    assert is_textual(ctype) is textual


def test_query_maps_join_repeats():
    assert query_maps("a=1&a=2&b=&c=%20x") == ({"a": "1, 2", "b": "", "c": " x"},
                                              {"a": ["1", "2"], "b": [""], "c": [" x"]})
    assert query_maps("") == ({}, {})


@given(st.lists(st.tuples(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
                          st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)), max_size=8))
def test_query_maps_round_trip(pairs):
    from urllib.parse import urlencode

    single, multi = query_maps(urlencode(pairs))
    for k, v in pairs:
        assert v in multi[k]
    assert set(single) == set(multi) == {k for k, _ in pairs}
    assert all(single[k] == ", ".join(vs) for k, vs in multi.items())


def test_v1_event_shape():
    facts = RequestFacts("POST", "/api/x", "https://h/api/x?q=1", "q=1",
                         [("Content-Type", "image/png"), ("X-A", "1"), ("x-a", "2")], True, "image/png")
    ev = v1_event(facts)
    assert ev["headers"]["x-a"] == "1, 2" and ev["multiValueHeaders"]["x-a"] == ["1", "2"]
    assert ev["isBase64Encoded"] is True and ev["rawQuery"] == "q=1" and ev["path"] == "/api/x"
    assert ev["queryStringParameters"] == {"q": "1"}
    facts.has_body = False
    assert v1_event(facts)["isBase64Encoded"] is False


def test_parse_v1_response():
    status, headers, body = parse_v1_response({
        "statusCode": 201, "headers": {"X-B": True, "X-N": 3.0},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True})
    assert status == 201 and body == b"\x00\x01"
    assert headers == [("X-B", "true"), ("X-N", "3"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert parse_v1_response({"statusCode": 204}) == (204, [], b"")
    for bad in ({"body": "x"}, {"statusCode": "abc"}, {"statusCode": 200, "body": 5}, [], None):
        with pytest.raises(InvalidFunctionResponse):
            parse_v1_response(bad)
    with pytest.raises(InvalidFunctionResponse, match="undefined"):
        parse_v1_response(None, undefined=True)


def test_client_context():
    assert client_context(None, "http://h", "t") == {}
    cc = client_context({"sub": "1"}, "http://h", "tok")
    assert cc["identity"] == {"url": "http://h/.netlify/identity", "token": "tok"}
    assert json.loads(base64.b64decode(cc["custom"]["netlify"])) == {"identity": cc["identity"], "user": {"sub": "1"}}


def test_discovery_layouts(tmp_path):
    d = tmp_path / "fns"
    for rel in ("a.js", "b.mjs", "c.cjs", "d.py", "e/e.js", "f/index.mjs", "g/index.py", "h.ts", "bad name.js",
                "a/index.js", "README.md", "_helper.js", "node_modules/x.js", "i/other.js"):
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    found, problems = discover(str(d), "fns")
    by = {f.name: f for f in found}
    assert sorted(by) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert by["d"].runtime == "python" and by["g"].runtime == "python" and by["e"].runtime == "node"
    assert by["h"].runtime == "unsupported"
    assert by["a"].file.endswith("a.js")  # a file wins over a directory of the same name
    reasons = " | ".join(str(p) for p in problems)
    assert "bad name" in reasons and "defined twice" in reasons and "TypeScript" in reasons
    assert discover(str(tmp_path / "missing"), "x") == ([], [])


def test_function_route_patterns():
    from edgenode.origins.function_routes import BadPattern, route_from_config

    r = route_from_config("t", {"path": ["/travel/:city", "/a/:b?", "/files/:rest*", "/blog/*", "{/:lang}?/home"],
                                "excludedPath": "/blog/private/*", "method": "get"})
    assert r is not None
    assert r.match("/travel/paris", "GET") == {"city": "paris"}
    assert r.match("/travel/", "GET") is None and r.match("/travel/paris", "POST") is None
    assert r.match("/a", "GET") == {} and r.match("/a/x", "GET") == {"b": "x"}
    assert r.match("/files/x/y", "GET") == {"rest": "x/y"}
    assert r.match("/blog/x/y", "GET") == {} and r.match("/blog/private/z", "GET") is None
    assert r.match("/home", "GET") == {} and r.match("/de/home", "GET") == {"lang": "de"}
    assert route_from_config("t", {"background": True}) is None
    with pytest.raises(BadPattern):
        route_from_config("t", {"path": "no-slash"})


@given(st.lists(st.text("abcxyz-._~", min_size=1, max_size=6), min_size=1, max_size=4),
       st.lists(st.text("abcxyz-._~", min_size=1, max_size=6), min_size=1, max_size=4))
def test_literal_function_paths_match_only_themselves(a, b):
    from edgenode.origins.function_routes import route_from_config

    pa, pb = "/" + "/".join(a), "/" + "/".join(b)
    r = route_from_config("t", {"path": pa})
    assert r is not None and r.match(pa, "GET") == {}
    assert (r.match(pb, "GET") is not None) == (pa == pb)
