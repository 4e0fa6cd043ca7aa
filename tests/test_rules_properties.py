"""Hypothesis properties of the parsers and the matcher."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from edgenode.config.headers import parse_header_tables, parse_headers_file
from edgenode.config.redirects import RuleError, parse_redirect_table, parse_redirects_file
from edgenode.routing.conditions import RequestFacts
from edgenode.routing.match import match
from edgenode.routing.table import RuleTable

# Path segments as they appear decoded in a request: no "/", no whitespace (a rule file token), not
# starting with ":" (a placeholder) and not "*" (a splat).
segment = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters="/#%*:"),
                  min_size=1, max_size=12).filter(lambda s: not s.isspace() and s not in (".", ".."))
paths = st.lists(segment, min_size=1, max_size=6).map(lambda segs: "/" + "/".join(segs))
anything = st.text(max_size=400)


def one_rule(text: str) -> RuleTable:
    rules, problems = parse_redirects_file(text)
    assert not [p for p in problems if p.severity == "error"], problems
    return RuleTable(rules)


@settings(max_examples=200, deadline=None)
@given(paths, st.booleans())
def test_a_rules_own_literal_path_matches_it(path, trailing_slash):
    table = one_rule(f"{path} /elsewhere/target 301")
    request = path + "/" if trailing_slash else path
    d = match(table, RequestFacts(path=request))
    assert d.match is not None and d.match.location == "/elsewhere/target"


@settings(max_examples=200, deadline=None)
@given(paths, st.lists(segment, max_size=5), st.booleans())
def test_splat_capture_and_substitution_round_trip(prefix, rest_segs, redirect):
    rest = "/".join(rest_segs)
    status = "301" if redirect else "200"
    table = one_rule(f"{prefix}/* /dest/:splat {status}")
    request = f"{prefix}/{rest}" if rest else prefix
    d = match(table, RequestFacts(path=request))
    assert d.match is not None
    assert d.match.captures["splat"] == rest
    if redirect:
        assert unquote(d.match.location) == f"/dest/{rest}"  # re-encoded on the way out, nothing lost
    else:
        assert d.match.path == f"/dest/{rest}"


@settings(max_examples=100, deadline=None)
@given(segment, segment)
def test_placeholders_swap_round_trip(a, b):
    table = one_rule("/p/:first/:second /q/:second/:first 200")
    d = match(table, RequestFacts(path=f"/p/{a}/{b}"))
    assert d.match is not None and d.match.path == f"/q/{b}/{a}"


@settings(max_examples=300, deadline=None)
@given(anything)
def test_redirects_parser_never_raises(text):
    rules, problems = parse_redirects_file(text)
    for r in rules:
        match(RuleTable([r]), RequestFacts(path=r.path if r.path.startswith("/") else "/"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["/a/*", "/b /c 301", "200!", "Country=us", "id=:id", "#", "/:x", "*",
                                 "https://h.example/*", "/.netlify/x", "Role=admin", "\t", " ", "http://[", "https://h:99999/x",
                                 "/:a-:a", "http://", "/a?b=c", "Sign=X", "EdgeHandler=", "=", "301!"]),
                max_size=8))
def test_redirects_parser_never_raises_on_token_soup(tokens):
    rules, _ = parse_redirects_file(" ".join(tokens))
    for r in rules:
        match(RuleTable([r]), RequestFacts(path="/a/x-y", host="h.example", scheme="https"))


@settings(max_examples=300, deadline=None)
@given(anything)
def test_headers_parser_never_raises(text):
    rules, _ = parse_headers_file(text)
    for r in rules:
        r.matches("/anything/at/all")


toml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                         st.lists(st.text(max_size=5), max_size=3))
toml_tables = st.dictionaries(st.sampled_from(["from", "to", "status", "force", "query", "conditions", "headers",
                                               "signed", "origin", "destination", "edge_handler", "for",
                                               "values"]),
                              st.one_of(toml_scalars, st.dictionaries(st.text(max_size=8), toml_scalars,
                                                                      max_size=3)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(toml_tables)
def test_toml_tables_never_raise_anything_but_rule_errors(table):
    try:
        parse_redirect_table(table)
    except RuleError:
        pass
    parse_header_tables([(1, table)])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=30))
def test_matching_any_request_never_raises(path, query):
    table = one_rule("/a/:b/* /x/:b/:splat 302\n/* /spa 200\n/q id=:id /r/:id 301 Country=us Cookie=c")
    match(table, RequestFacts(path="/" + path, query_string=query, cookies={"c": "1"}))
