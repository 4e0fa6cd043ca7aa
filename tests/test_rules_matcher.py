"""The pure matcher on every worked example of redirects.md section 14 (plus the edges around them)."""

from __future__ import annotations

import pytest

from edgenode.config.redirects import merge_rules, parse_redirect_tables, parse_redirects_file
from edgenode.origins.static import StaticOrigin
from edgenode.routing.conditions import RequestFacts
from edgenode.routing.match import match
from edgenode.routing.table import RuleTable
from tests.conftest import write_site

# The reference's example site (publish dir).
FILES = ["index.html", "about.html", "blog/index.html", "partials/chat.html", "404.html", "store-closed.html",
         "app/index.html", "app/main.css", "old.html", "login.html", "admin/index.html", "en/404.html"]


@pytest.fixture(scope="module")
def static(tmp_path_factory):
    root = write_site(tmp_path_factory.mktemp("examples"), {f: f for f in FILES})
    return StaticOrigin(str(root))


def table(text: str, toml: list[dict] | None = None) -> RuleTable:
    rules, problems = parse_redirects_file(text)
    assert [p for p in problems if p.severity == "error"] == []
    trules, tproblems = parse_redirect_tables([(i + 1, t) for i, t in enumerate(toml or [])])
    assert tproblems == []
    merged, _ = merge_rules(rules, trules)
    return RuleTable(merged)


def run(static: StaticOrigin, rules: str, url: str, toml: list[dict] | None = None, **facts) -> str:
    """One request through the matcher, summarised as a short string."""
    path, _, qs = url.partition("?")
    scheme, host = facts.pop("scheme", "https"), facts.pop("host", "example.com")
    f = RequestFacts(path=path, query_string=qs, scheme=scheme, host=host, **facts)

    def shadow(p: str) -> str | None:
        hit = static.lookup(p)
        return hit.rel if hit else None

    d = match(table(rules, toml), f, shadow)
    if d.match is None:
        return "role-404" if d.role_gate else "none"
    m = d.match
    if m.kind == "redirect":
        return f"{m.status} {m.location}"
    q = f"?{m.query_string}" if m.query_string else ""
    return f"{m.kind} {m.status} {m.path}{q}"


@pytest.mark.parametrize("n, rules, url, facts, expected", [
    (1, "/home / 301", "/home", {}, "301 /"),
    (2, "/home / 301", "/home/", {}, "301 /"),
    (3, "/home / 301", "/homes", {}, "none"),
    (4, "/home /", "/home", {}, "301 /"),
    (5, "/news/* /blog/:splat", "/news/2004/01/10/my-story", {}, "301 /blog/2004/01/10/my-story"),
    (6, "/news/* /blog/:splat", "/news", {}, "301 /blog/"),
    (7, "/news/:y/:m/:d/:slug /blog/:y/:m/:d/:slug", "/news/2004/02/12/my-story", {},
     "301 /blog/2004/02/12/my-story"),
    (8, "/news/:y/:m/:d/:slug /blog/:y/:m/:d/:slug", "/news/2004/02/12", {}, "none"),
    (9, "/:locale/blog /:locale/blog/1", "/de/blog", {}, "301 /de/blog/1"),
    (10, "/* /index.html 200", "/partials/chat.html", {}, "none"),  # shadowed: the file is served
    (11, "/* /index.html 200", "/dashboard/settings", {}, "static 200 /index.html"),
    (12, "/app/* /app/index.html 200!", "/app/main.css", {}, "static 200 /app/index.html"),
    (13, "/old /new 301", "/old", {}, "none"),
    (14, "/old /new 301!", "/old", {}, "301 /new"),
    (15, "/ecommerce /store-closed 404", "/ecommerce", {}, "static 404 /store-closed"),
    (16, "/en/* /en/404.html 404", "/en/missing", {}, "static 404 /en/404.html"),
    (17, "", "/nope", {}, "none"),
    (18, "/api/* https://api.example.com/:splat 200", "/api/v1/users?x=1", {},
     "proxy 200 https://api.example.com/v1/users?x=1"),
    (19, "/search https://www.google.com/search 302", "/search?q=hi", {}, "302 https://www.google.com/search?q=hi"),
    (20, "/go https://example.com/?ref=nf 302", "/go?a=1", {}, "302 https://example.com/?ref=nf"),
    (21, "/store id=:id /blog/:id 301", "/store?id=my-post", {}, "301 /blog/my-post"),
    (22, "/store id=:id /blog/:id 301", "/store", {}, "none"),
    (23, "/articles id=:id tag=:tag /posts/:tag/:id 301", "/articles?tag=x&id=7", {}, "301 /posts/x/7"),
    (24, "/ page=news /news 301", "/?page=news", {}, "301 /news"),
    (24, "/ page=news /news 301", "/?page=blog", {}, "none"),
    (25, "/path foo /foo.html 200", "/path", {}, "static 200 /foo.html"),
    (26, "/ /anz 302 Country=au,nz", "/", {"country": "NZ"}, "302 /anz"),
    (27, "/ /anz 302 Country=au,nz", "/", {"country": "US"}, "none"),
    (28, "/ /anz 302 Country=au,nz", "/", {"country": "US", "cookies": {"nf_country": "au"}}, "302 /anz"),
    (29, "/israel/* /israel/he/:splat 302 Language=he", "/israel/about", {"language": "he-il"},
     "302 /israel/he/about"),
    (30, "/cn /cn/zh 302 Language=zh", "/cn", {"language": "zh-tw"}, "302 /cn/zh"),
    (31, "/cn /cn/zh 302 Language=zh-tw", "/cn", {"language": "zh"}, "none"),
    (32, "/* /legacy/:splat 200 Cookie=is_legacy", "/x", {"cookies": {"is_legacy": "1"}},
     "static 200 /legacy/x"),
    (41, "/blog/t /blog/new 301\n/blog/t /blog/newer 301", "/blog/t", {}, "301 /blog/new"),
    (43, "http://blog.example.com/* https://www.example.com/blog/:splat 301!", "/post",
     {"scheme": "http", "host": "blog.example.com"}, "301 https://www.example.com/blog/post"),
    (44, "http://blog.example.com/* https://www.example.com/blog/:splat 301!", "/post",
     {"scheme": "https", "host": "blog.example.com"}, "none"),
    (45, "/api/* /.netlify/functions/:splat 200", "/api/hello?x=1", {}, "function 200 /.netlify/functions/hello?x=1"),
    (46, "/api/* /.netlify/functions/hello?v=2 200", "/api/a?x=1", {}, "function 200 /.netlify/functions/hello?x=1"),
    (47, "/about/ /about 301!", "/about/", {}, "none"),
    (49, "/blog/my-post /blog/post#ads 301", "/blog/my-post", {}, "301 /blog/post#ads"),
])
def test_worked_example(static, n, rules, url, facts, expected):
    assert run(static, rules, url, **facts) == expected, f"worked example {n}"


ROLE_RULES = "/admin/* /admin/:splat 200! Role=admin\n/admin/* /login 401!"


@pytest.mark.parametrize("n, roles, expected", [
    (33, None, "static 401 /login"),  # no token
    (34, ["admin"], "static 200 /admin/users"),
    (35, ["editor"], "static 401 /login"),
    (36, None, "static 401 /login"),  # an expired token verifies to no identity at all
])
def test_role_examples(static, n, roles, expected):
    assert run(static, ROLE_RULES, "/admin/users", roles=roles) == expected, f"worked example {n}"


def test_example_37_role_gate_without_fallback_is_404_even_with_file(static):
    assert run(static, "/admin/* 200! Role=admin", "/admin/") == "role-404"
    assert run(static, "/admin/* 200! Role=admin", "/admin/", roles=["admin"]) == "static 200 /admin/"


def test_example_38_forward_rule(static):
    assert run(static, "/admin/* 200!", "/admin/x") == run(static, "/admin/* /admin/:splat 200!", "/admin/x")


def test_example_42_file_rules_before_toml(static):
    assert run(static, "/x /from-file 301", "/x", toml=[{"from": "/x", "to": "/from-toml"}]) == "301 /from-file"


def test_example_50_signed_proxy_keeps_request_query(static):
    toml = [{"from": "/search", "to": "https://api.s.com", "status": 200, "force": True, "signed": "SIG"}]
    assert run(static, "", "/search?q=a", toml=toml) == "proxy 200 https://api.s.com?q=a"


def test_role_star_means_any_verified_token(static):
    rules = "/p/* /p/:splat 200! Role=*"
    assert run(static, rules, "/p/x", roles=[]) == "static 200 /p/x"
    assert run(static, rules, "/p/x") == "role-404"


def test_conditions_and_across_keys_or_within(static):
    rules = "/ /x 302 Country=us,ca Language=fr"
    assert run(static, rules, "/", country="CA", language="fr-ca") == "302 /x"
    assert run(static, rules, "/", country="CA", language="en") == "none"
    assert run(static, rules, "/", country="DE", language="fr") == "none"
    assert run(static, rules, "/", country="de", language="en", cookies={"nf_lang": "fr", "nf_country": "us"}) \
        == "302 /x"


def test_country_defaults_to_us(static):
    assert run(static, "/ /us 302 Country=us", "/") == "302 /us"


def test_forced_later_rule_applies_when_earlier_one_is_shadowed(static):
    rules = "/old /new 301\n/old /newer 302!"
    assert run(static, rules, "/old") == "302 /newer"


def test_geo_rules_are_forced_over_files(static):
    assert run(static, "/about /about-nz 302 Country=nz", "/about", country="NZ") == "302 /about-nz"


def test_query_details(static):
    assert run(static, "/q foo= /empty 301", "/q?foo=") == "301 /empty"
    assert run(static, "/q foo= /empty 301", "/q?foo") == "none"
    assert run(static, "/q a=1 /one 301", "/q?a=1&b=2") == "301 /one"  # extra params do not prevent a match
    assert run(static, "/donate source=:source /donate/usa?source=:source 302", "/donate?source=x%2Fy") \
        == "302 /donate/usa?source=x/y"
    assert run(static, "/r /s 200", "/r?keep=1") == "static 200 /s?keep=1"  # pass-through on rewrites too


def test_paths_are_case_sensitive_and_decoded(static):
    assert run(static, "/Home / 301", "/home") == "none"
    assert run(static, "/authors/c%C3%A9line /a 301", "/authors/céline") == "301 /a"


def test_captures_are_reencoded_in_locations(static):
    assert run(static, "/u/:name /users/:name 301", "/u/a b") == "301 /users/a%20b"


def test_placeholder_inside_a_segment(static):
    assert run(static, "/posts/:slug.html /p/:slug 301", "/posts/hello.html") == "301 /p/hello"


def test_splat_keeps_trailing_slash(static):
    assert run(static, "/news/* /blog/:splat", "/news/a/") == "301 /blog/a/"


def test_index_only_offers_possible_rules():
    t = table("\n".join(f"/s{i}/* /t{i}/:splat" for i in range(200)) + "\n/:any/x /y\n/* /z 200")
    cands = t.candidates(["s7", "page"])
    assert [r.to for r in cands] == ["/t7/:splat", "/y", "/z"]


def test_edge_handler_names():
    t = table("/a /b 200 EdgeHandler=one\n/c /d 200 EdgeHandler=two\n/e /f 200 EdgeHandler=one")
    assert t.edge_handler_names() == ["one", "two"]


def test_proxy_target_carries_headers_and_signature_env_name(static):
    from edgenode.routing.phase import target_for

    t = table("", toml=[{"from": "/s", "to": "https://api.s.com/x", "status": 200, "signed": "SIG",
                         "headers": {"X-From": "Netlify"}}])
    d = match(t, RequestFacts(path="/s", query_string="q=1"))
    target = target_for(d.match)
    assert (target.kind, target.path, target.query_string, target.signed, target.proxy_headers) == \
        ("proxy", "https://api.s.com/x", "q=1", "SIG", {"X-From": "Netlify"})
