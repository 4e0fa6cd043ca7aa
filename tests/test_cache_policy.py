"""Unit tests for the pure cache policy (PL-4, PL-5) and the byte-bounded cache."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from edgenode.cache import CacheEntry, ResponseCache
from edgenode.cache_policy import (
    EMPTY_VARY,
    dynamic_storability,
    keyed_query,
    parse_cache_control,
    secondary_key,
    vary_spec,
)


def h(**kw: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in kw.items()})


def test_parse_cache_control():
    assert parse_cache_control('public, max-age=60, s-maxage="120", no-transform') == {
        "public": None, "max-age": "60", "s-maxage": "120", "no-transform": None}


def test_storability_rules():
    ok = dynamic_storability("GET", 200, h(Cache_Control="public, max-age=60"), False)
    assert ok.store and ok.ttl == 60
    assert dynamic_storability("GET", 200, h(Cache_Control="public, s-maxage=5, max-age=60"), False).ttl == 5
    assert not dynamic_storability("GET", 200, h(Cache_Control="max-age=60"), False).store
    assert not dynamic_storability("GET", 200, h(Cache_Control="public, max-age=0"), False).store
    assert not dynamic_storability("GET", 200, h(Cache_Control="public, no-store, max-age=9"), False).store
    assert not dynamic_storability("GET", 200, h(Cache_Control="private, max-age=9"), False).store
    assert not dynamic_storability("POST", 200, h(Cache_Control="public, max-age=9"), False).store
    assert not dynamic_storability("GET", 500, h(Cache_Control="public, max-age=9"), False).store
    assert not dynamic_storability("GET", 206, h(Cache_Control="public, max-age=9"), False).store
    assert not dynamic_storability("GET", 200, h(Cache_Control="public, max-age=9", Vary="*"), False).store
    assert not dynamic_storability("GET", 200, h(Cache_Control="public, max-age=9", Set_Cookie="a=b"), False).store
    assert not dynamic_storability("GET", 200, h(), False).store


def test_header_precedence():
    headers = h(Cache_Control="no-store", CDN_Cache_Control="public, max-age=30")
    assert dynamic_storability("GET", 200, headers, False).ttl == 30
    headers["Netlify-CDN-Cache-Control"] = "public, s-maxage=7"
    assert dynamic_storability("GET", 200, headers, False).ttl == 7
    headers["Netlify-CDN-Cache-Control"] = "private"
    assert not dynamic_storability("GET", 200, headers, False).store


def test_vary_and_netlify_vary():
    spec = vary_spec(h(Vary="Accept-Encoding, X-Theme", Netlify_Vary="query=a|b,cookie=ab_test,country"))
    assert spec.headers == ("x-theme",) and spec.query == ("a", "b") and spec.cookies == ("ab_test",)
    assert spec.country and not spec.language
    assert keyed_query("b=2&z=9&a=1", spec) == "b=2&a=1"
    k1 = secondary_key(spec, h(X_Theme="dark", Cookie="ab_test=1; other=2"), "DE", "en")
    k2 = secondary_key(spec, h(X_Theme="dark", Cookie="ab_test=2"), "DE", "en")
    assert k1 != k2
    assert secondary_key(EMPTY_VARY, h(X_Theme="x"), "DE", "en") == ()


@given(st.text(max_size=200))
def test_parsers_never_raise(text):
    parse_cache_control(text)
    vary_spec(h(Vary=text, Netlify_Vary=text))


def entry(n: int) -> CacheEntry:
    return CacheEntry(200, CIMultiDict(), b"x" * n, "static", 0.0, None)


@given(st.lists(st.integers(min_value=0, max_value=5000), max_size=60))
def test_cache_never_exceeds_its_byte_cap(sizes):
    cache = ResponseCache(20_000)
    for i, n in enumerate(sizes):
        cache.put(("s", 1, "static", f"/{i}", 200, ""), (), EMPTY_VARY, entry(n))
        assert cache.current_bytes <= 20_000


def test_purge_site():
    cache = ResponseCache(1_000_000)
    cache.put(("a", 1, "static", "/", 200, ""), (), EMPTY_VARY, entry(10))
    cache.put(("b", 1, "static", "/", 200, ""), (), EMPTY_VARY, entry(10))
    assert cache.purge_site("a") == 1
    assert cache.get(("b", 1, "static", "/", 200, ""), ()) is not None
