"""`edgenode check` and `edgenode explain` (no server: they reuse the pure matcher)."""

from __future__ import annotations

import time

import jwt
import pytest

from edgenode.cli import main

SITE = {
    "index.html": "home", "old.html": "old", "login.html": "login", "404.html": "404",
    "admin/index.html": "admin",
    "_redirects": (
        "/old /new 301\n"
        "/admin/* /admin/:splat 200! Role=admin\n"
        "/admin/* /login 401!\n"
        "/ /anz 302 Country=au,nz\n"
        "/api/* https://api.example.com/:splat 200\n"
        "/a /b Country=us\n"
    ),
    "_headers": "X-Orphan: 1\n/*\n  X-Frame-Options: DENY\n  Content-Length: 3\n/login\n  X-Login: 1\n",
    "netlify.toml": '[[redirects]]\nfrom = "/t"\n\n[[headers]]\nfor = "/x"\n',
}


@pytest.fixture
def site(make_site):
    return str(make_site(SITE))


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out


def test_check_lists_every_problem_with_file_and_line(site, capsys):
    code, out = run(capsys, "check", site)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "_redirects:6: Invalid status code 'Country=us' (conditions need a status before them)"
    assert any(x.startswith("netlify.toml:1: [[redirects]]: Missing to field") for x in lines)
    assert any(x.startswith("netlify.toml:4: [[headers]]: `values`") for x in lines)
    assert "_headers:1: Path should come before header" in lines
    assert any(x.startswith("_headers:4: header 'Content-Length'") and x.endswith("(warning)") for x in lines)
    assert any(x.startswith("_redirects:2: Role rules need a JWT secret") for x in lines)


def test_check_clean_site_exits_zero(make_site, capsys):
    code, out = run(capsys, "check", str(make_site({"index.html": "x", "_redirects": "/a /b 301\n"}, name="ok")))
    assert code == 0 and out == ""


def test_explain_shadowed(site, capsys):
    code, out = run(capsys, "explain", site, "/old")
    assert code == 0
    assert "_redirects:1" in out and "shadowed: static file old.html exists" in out
    assert "result  200 static file old.html" in out
    assert "_headers:2" in out and "X-Frame-Options: DENY" in out


def test_explain_role_fallback_and_roles(site, capsys):
    _, out = run(capsys, "explain", site, "/admin/users")
    assert "condition: Role=admin: no verified token" in out
    assert "MATCH  /admin/* /login 401!" in out and "result  401 rewrite -> /login: static file login.html" in out
    assert "X-Login: 1" in out and "[rewrite target /login]" in out
    _, out = run(capsys, "explain", site, "/admin/", "--role", "admin")
    assert "result  200 rewrite -> /admin/: static file admin/index.html" in out and "(--role)" in out


def test_explain_real_token(site, capsys):
    secret = "x" * 40
    token = jwt.encode({"exp": int(time.time()) + 60, "app_metadata": {"authorization": {"roles": ["admin"]}}},
                       secret, algorithm="HS256")
    _, out = run(capsys, "explain", site, "/admin/", "--jwt-secret", secret, "--cookie", f"nf_jwt={token}")
    assert "roles admin" in out and "static file admin/index.html" in out
    _, out = run(capsys, "explain", site, "/admin/", "--jwt-secret", "y" * 40, "--cookie", f"nf_jwt={token}")
    assert "token did NOT verify" in out and "401" in out


def test_explain_country_and_cookie(site, capsys):
    _, out = run(capsys, "explain", site, "https://example.com/", "--country", "nz")
    assert "country NZ (--country)" in out and "result  302 redirect -> https://example.com/anz" in out
    _, out = run(capsys, "explain", site, "/", "--cookie", "nf_country=au")
    assert "nf_country cookie" in out and "302 redirect" in out
    _, out = run(capsys, "explain", site, "/")
    assert "Country=au,nz: visitor country is US" in out and "result  200 static file index.html" in out


def test_explain_proxy_and_headers_flag(site, capsys):
    _, out = run(capsys, "explain", site, "/api/v1?x=1", "-H", "Accept-Language: he")
    assert "result  proxy -> https://api.example.com/v1?x=1" in out and "language he" in out


def test_explain_no_rule(site, capsys):
    _, out = run(capsys, "explain", site, "/zzz")
    assert "none of the" in out and "404" in out and "note: " in out  # the site has config errors


def test_explain_bad_header_flag(site, capsys):
    code = main(["explain", site, "/", "-H", "nocolon"])
    assert code == 2


def test_check_with_a_jwt_secret_has_no_role_warning(site, capsys):
    _, out = run(capsys, "check", site, "--jwt-secret", "k" * 40)
    assert "Role rules need" not in out


def test_explain_says_why_a_path_did_not_match(make_site, capsys):
    site = make_site({"index.html": "x", "_redirects": "/news/:y/:m/:d/:s/* /b 301\n/:a/x/:b/:c /c 301\n/news/* /d 301\n"},
                     name="paths")
    _, out = run(capsys, "explain", str(site), "/news/2004/02/12")
    assert "path: 4 segment(s), rule needs at least 5" in out
    assert "path: segment 2 is '2004', rule wants 'x'" in out
    assert "MATCH  /news/* /d 301" in out
