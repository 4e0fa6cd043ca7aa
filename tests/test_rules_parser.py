"""`_redirects` tokenizer and `[[redirects]]` tables (RR-1..RR-8), including redirects.md's parse examples."""

from __future__ import annotations

import pytest

from edgenode.config.netlify_toml import site_config_from_dict
from edgenode.config.redirects import (
    RuleError,
    merge_rules,
    parse_redirect_line,
    parse_redirect_table,
    parse_redirect_tables,
    parse_redirects_file,
)

EXAMPLE_FILE = """\
# comments start with #
/home              /                  301
/blog/my-post.php  /blog/my-post      # inline comment, status defaults to 301
/news/*            /blog/:splat
/store  id=:id     /blog/:id          301
/app/*             /app/index.html    200!
/api/*             https://api.example.com/:splat  200
/                  /anz               302   Country=au,nz
/admin/*           /admin/:splat      200!  Role=admin
/admin/*           /login             401!
http://blog.example.com/*  https://www.example.com/blog/:splat  301!
"""


def line(text: str):
    rule, _warnings = parse_redirect_line(text, "_redirects", 1)
    assert rule is not None
    return rule


def test_reference_example_file_parses_completely():
    rules, problems = parse_redirects_file(EXAMPLE_FILE)
    assert problems == []
    assert [r.line for r in rules] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    home, post, news, store, app, api, anz, admin, login, blog = rules
    assert (home.path, home.to, home.status, home.force) == ("/home", "/", 301, False)
    assert (post.to, post.status) == ("/blog/my-post", 301)  # inline comment dropped, default status
    assert news.status == 301 and news.to == "/blog/:splat"
    assert store.query == {"id": ":id"} and store.to == "/blog/:id"
    assert app.force and app.status == 200
    assert api.proxy and not app.proxy
    assert anz.conditions == {"Country": ["au", "nz"]} and anz.status == 302
    assert admin.conditions == {"Role": ["admin"]} and admin.force
    assert login.status == 401 and login.force
    assert (blog.scheme, blog.host, blog.path) == ("http", "blog.example.com", "/*")


def test_hash_inside_a_token_is_not_a_comment():
    r = line("/blog/my-post /blog/post#ads 301")
    assert r.to == "/blog/post#ads"
    r = line("/a /b 302 #Country=us")
    assert r.conditions == {} and r.status == 302


def test_forward_rule_gets_splat_target():  # worked example 38
    r = line("/admin/* 200!")
    assert (r.to, r.status, r.force) == ("/admin/:splat", 200, True)


@pytest.mark.parametrize("text, reason", [
    ("/admin/* 301", "Missing to field"),  # worked example 39
    ("/a /b Country=us", "Invalid status code"),  # example 40: conditions need a status
    ("/.netlify/functions/x /y 301", "/.netlify"),  # example 48
    ("/only", "Missing destination"),
    ("/a b c", "destination must start with"),
    ("/a /b abc", "Invalid status code"),
    ("https://x.com/.netlify/y /z 301", "/.netlify"),
])
def test_invalid_lines(text, reason):
    with pytest.raises(RuleError, match=reason):
        parse_redirect_line(text, "_redirects", 1)


def test_example_40_is_invalid_as_literally_specified():
    # `Country=us` is where the status should be: Netlify's own parser rejects the line.
    rules, problems = parse_redirects_file("/a /b Country=us\n/c /d 302 Country=us\n")
    assert [p.line for p in problems] == [1] and [r.line for r in rules] == [2]
    assert "Country=us" in problems[0].reason  # the hint shows how to write it


def test_bad_line_reported_and_rest_loads():
    rules, problems = parse_redirects_file("/a /b\n/bad\n\n/c /d 302\n", "public/_redirects")
    assert [r.to for r in rules] == ["/b", "/d"]
    assert [str(p) for p in problems] == ["public/_redirects:2: Missing destination path/URL"]


def test_bare_query_token_is_no_condition():  # worked example 25
    r = line("/path foo /foo.html 200")
    assert r.query == {} and r.to == "/foo.html"


def test_query_pairs_keep_first_value_only():
    r = line("/articles id=:id tag=:tag x=1=2 /posts/:tag/:id 301")
    assert r.query == {"id": ":id", "tag": ":tag", "x": "1"}


def test_condition_spellings_and_lists():
    r = line("/ /x 302 country=AU,nz language=en role=admin,editor Cookie=a,b")
    assert r.conditions == {"Country": ["AU", "nz"], "Language": ["en"], "Role": ["admin", "editor"],
                            "Cookie": ["a", "b"]}


def test_sign_and_edge_handler_keys():
    r = line("/api/* https://x.com/:splat 200 Sign=API_SECRET EdgeHandler=auth")
    assert r.signed == "API_SECRET" and r.edge_handler == "auth"
    r = line("/api/* https://x.com/:splat 200 signed=S")
    assert r.signed == "S"


def test_percent_encoded_rule_paths_are_decoded():
    r = line("/authors/c%C3%A9line /authors/celine 301")
    assert r.path == "/authors/céline"


def test_leading_integer_status():
    assert line("/a /b 302foo").status == 302
    assert line("/a /b 200!").force


def test_domain_rule():
    r = line("https://Blog.Example.com/* https://www.example.com/blog/:splat 301!")
    assert (r.scheme, r.host, r.path) == ("https", "blog.example.com", "/*")


# -- netlify.toml ------------------------------------------------------------------------------


def test_toml_fields_and_aliases():
    r, warnings = parse_redirect_table({
        "origin": "/old", "destination": "https://api.s.com", "status": 200, "force": True,
        "params": {"path": ":path"}, "conditions": {"language": ["en"], "Country": "US, CA", "Role": ["admin"]},
        "sign": "SIG", "headers": {"X-From": "Netlify"}, "edge_handler": "h", "rate_limit": {"x": 1},
    }, "netlify.toml", 7)
    assert warnings == []
    assert (r.path, r.to, r.status, r.force, r.line) == ("/old", "https://api.s.com", 200, True, 7)
    assert r.query == {"path": ":path"} and r.signed == "SIG" and r.headers == {"X-From": "Netlify"}
    assert r.conditions == {"Language": ["en"], "Country": ["US", "CA"], "Role": ["admin"]}
    assert r.edge_handler == "h" and r.proxy
    r2, _ = parse_redirect_table({"from": "/a", "to": "/b", "parameters": {"x": "1"}, "signing": "Z"})
    assert r2.query == {"x": "1"} and r2.signed == "Z" and r2.status == 301


@pytest.mark.parametrize("table, reason", [
    ({"to": "/b"}, "missing `from`"),
    ({"from": "/a"}, "Missing to field"),
    ({"from": "/a", "to": "/b", "headers": "X-A: 1"}, "`headers` must be a table"),
    ({"from": "/a", "to": "/b", "status": "abc"}, "Invalid status code"),
    ({"from": "/a", "to": "/b", "force": "yes"}, "force"),
    ({"from": "/.netlify/x", "to": "/b"}, "/.netlify"),
])
def test_toml_invalid(table, reason):
    with pytest.raises(RuleError, match=reason):
        parse_redirect_table(table)


def test_toml_forward_rule():
    r, _ = parse_redirect_table({"from": "/app/*", "status": 200, "force": True})
    assert r.to == "/app/:splat"


def test_toml_problems_carry_the_table_line():
    text = '[[redirects]]\nfrom = "/a"\nto = "/b"\n\n[[redirects]]\nto = "/c"\n'
    import tomllib

    cfg = site_config_from_dict("/tmp", tomllib.loads(text), text)
    rules, problems = parse_redirect_tables(cfg.redirects)
    assert [r.line for r in rules] == [1]
    assert [(p.file, p.line) for p in problems] == [("netlify.toml", 5)]


def test_merge_keeps_file_rules_first_and_drops_exact_duplicates_keeping_last():
    a, _ = parse_redirects_file("/x /from-file 301\n/y /z 301\n/x /from-file 301\n")
    t, _ = parse_redirect_tables([(3, {"from": "/x", "to": "/from-toml"})])
    merged, problems = merge_rules(a, t)
    assert [(r.path, r.to, r.line) for r in merged] == [("/y", "/z", 2), ("/x", "/from-file", 3),
                                                       ("/x", "/from-toml", 3)]
    assert [r.index for r in merged] == [0, 1, 2]
    assert problems[0].severity == "warning" and "duplicate of _redirects:3" in problems[0].reason
