"""`_headers` / `[[headers]]` parsing, patterns and merging: every worked example of headers.md section 7."""

from __future__ import annotations

import pytest

from edgenode.config.headers import (
    compile_pattern,
    merged_headers,
    parse_header_tables,
    parse_headers_file,
)

REFERENCE_FILE = """\
# comment
/*
  X-Frame-Options: DENY
  X-XSS-Protection: 1; mode=block

/templates/index.html
  # headers for a single path
  Link: </style.css>; rel=preload; as=style
  Link: </app.js>; rel=preload; as=script

/secure/*
  Basic-Auth: someuser:somepassword anotheruser:anotherpassword
"""


def headers(text: str, path: str, toml: list[dict] | None = None, paths: list[str] | None = None) -> dict:
    rules, _ = parse_headers_file(text)
    trules, _ = parse_header_tables([(1, t) for t in toml or []])
    return {name: value for name, value in merged_headers(rules + trules, paths or [path]).values()}


def test_reference_file():
    rules, problems = parse_headers_file(REFERENCE_FILE)
    assert problems == []
    star, tmpl, secure = rules
    assert star.values == {"X-Frame-Options": "DENY", "X-XSS-Protection": "1; mode=block"} and star.line == 2
    assert tmpl.values == {"Link": "</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script"}
    assert secure.values == {} and secure.basic_auth == [("someuser", "somepassword"),
                                                         ("anotheruser", "anotherpassword")]


@pytest.mark.parametrize("n, rules, path, expected", [
    (1, "/*\n X-Frame-Options: DENY", "/", {"X-Frame-Options": "DENY"}),
    (2, "/*\n X-Frame-Options: DENY", "/a/b/c.css", {"X-Frame-Options": "DENY"}),
    (3, "/blog/*\n X-B: 1", "/blog", {"X-B": "1"}),
    (4, "/blog/:slug\n X-S: 1", "/blog/post", {"X-S": "1"}),
    (4, "/blog/:slug\n X-S: 1", "/blog/a/b", {}),
    (5, "/*.js\n Cache-Control: max-age=31536000", "/static/js/app.js", {"Cache-Control": "max-age=31536000"}),
    (6, "/About\n X-A: 1", "/about/", {"X-A": "1"}),
    (7, "/\n cache-control: max-age=0\n cache-control: no-cache", "/", {"cache-control": "max-age=0, no-cache"}),
    (9, "/*\n Cache-Control: public, max-age=0\n/assets/*\n Cache-Control: public, max-age=31536000, immutable",
     "/assets/a.png", {"Cache-Control": "public, max-age=31536000, immutable"}),
    (14, "/*\n Content-Length: 5", "/", {}),
])
def test_worked_example(n, rules, path, expected):
    assert headers(rules, path) == expected, f"worked example {n}"


def test_example_8_toml_wins_over_file():
    assert headers("/*\n X-T: file", "/", toml=[{"for": "/*", "values": {"X-T": "toml"}}]) == {"X-T": "toml"}


def test_example_13_header_before_path():
    rules, problems = parse_headers_file("X-A: 1\n/*\n X-B: 2")
    assert [str(p) for p in problems] == ["_headers:1: Path should come before header"]
    assert rules[0].values == {"X-B": "2"}


def test_example_14_reserved_headers_warn():
    rules, problems = parse_headers_file("/*\n Content-Length: 5\n Set-Cookie: a=1\n X-Ok: 1")
    assert rules[0].values == {"X-Ok": "1"}
    assert [(p.line, p.severity) for p in problems] == [(2, "warning"), (3, "warning")]


def test_missing_name_or_value_and_colons_in_values():
    rules, problems = parse_headers_file("/*\n : x\n X-Empty:\n Link: <https://a.b/c>; rel=x")
    assert [p.reason for p in problems] == ["Missing header name", "Missing header value"]
    assert rules[0].values == {"Link": "<https://a.b/c>; rel=x"}


def test_block_without_headers_is_dropped():
    rules, _ = parse_headers_file("/a\n/b\n X: 1")
    assert [r.pattern for r in rules] == ["/b"]


def test_toml_values_normalised():
    rules, problems = parse_header_tables([(4, {"for": "/*", "values": {
        "cache-control": "\n  max-age=0,\n  no-cache,\n  no-store,\n  must-revalidate",
        "X-List": ["a", " b "],
        "Basic-Auth": "u:p",
    }})])
    assert problems == []
    assert rules[0].values == {"cache-control": "max-age=0, no-cache, no-store, must-revalidate", "X-List": "a, b"}
    assert rules[0].basic_auth == [("u", "p")] and rules[0].line == 4


@pytest.mark.parametrize("table, reason", [
    ({"values": {"X": "1"}}, "`for`"),
    ({"for": "/*"}, "`values`"),
    ({"for": "/*", "values": {}}, "`values`"),
    ({"for": "/*", "values": {"X": 1}}, "string"),
])
def test_toml_invalid(table, reason):
    rules, problems = parse_header_tables([(2, table)])
    assert rules == [] and reason in problems[0].reason and problems[0].line == 2


@pytest.mark.parametrize("pattern, path, hit", [
    ("/", "/", True), ("/", "/a", False),
    ("/*", "/", True), ("/*", "/x/y", True),
    ("/a/*", "/a", True), ("/a/*", "/a/", True), ("/a/*", "/ab", False),
    ("/*.svg", "/images/icons/logo.svg", True),
    ("/_astro/*.:fingerprint.:ext", "/_astro/a.b.c", False),  # the placeholder stays literal, as Netlify
    ("/x/:y", "/X/1/", True),
])
def test_patterns(pattern, path, hit):
    assert (compile_pattern(pattern).match(path) is not None) == hit


def test_rewrite_target_rules_apply_last():
    text = "/*\n X-A: star\n/admin/*\n X-A: admin\n X-B: admin\n/login\n X-L: 1"
    got = headers(text, "", paths=["/admin/x", "/login"])
    assert got == {"X-A": "star", "X-B": "admin", "X-L": "1"}


def test_header_names_merge_case_insensitively():
    got = headers("/*\n cache-control: a\n/x\n Cache-Control: b", "/x")
    assert got == {"Cache-Control": "b"}
