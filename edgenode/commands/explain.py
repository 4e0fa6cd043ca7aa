"""`edgenode explain SITE_DIR URL`: why a request ends where it does, without starting a server.

It runs the same pure pieces as `serve` (identity, geo, Basic-Auth, the matcher, the header rules)
on a request built from the command line and prints, in order: what the edge knows about the
visitor, every candidate rule with the reason it was skipped, the rule that applies, the resulting
status and target, and the header rules that would be added.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import TextIO
from urllib.parse import unquote, urlsplit

from multidict import CIMultiDict

from edgenode import geo, identity
from edgenode.config.errors import ConfigError
from edgenode.config.headers import headers_for
from edgenode.exchange import EdgeRequest, Exchange
from edgenode.header_phase import paths_for
from edgenode.identity import Identity
from edgenode.options import ServeOptions
from edgenode.routing.conditions import DEFAULT_COUNTRY, DEFAULT_LANGUAGE, parse_cookies
from edgenode.routing.match import FUNCTIONS_PREFIX, Step
from edgenode.routing.phase import basic_auth_rule, decide, redirect_response, target_for
from edgenode.sites import Site, load_site

VERDICTS = {"path": "no", "query": "skip", "condition": "skip", "shadowed": "skip", "loop": "skip",
            "matched": "MATCH"}


def build_exchange(site: Site, options: ServeOptions, url: str, headers: list[str], cookies: list[str],
                   roles: list[str] | None, method: str = "GET") -> Exchange:
    if "://" not in url:
        url = "http://localhost" + (url if url.startswith("/") else "/" + url)
    u = urlsplit(url)
    hdrs: CIMultiDict[str] = CIMultiDict()
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"-H wants 'Name: value', got {h!r}")
        hdrs.add(name.strip(), value.strip())
    if cookies:
        jar = "; ".join(c.strip() for c in cookies)
        hdrs["Cookie"] = f"{hdrs['Cookie']}; {jar}" if "Cookie" in hdrs else jar
    raw_path = u.path or "/"
    req = EdgeRequest(method.upper(), u.scheme or "http", (u.hostname or "localhost").lower(),
                      u.netloc or "localhost", unquote(raw_path), raw_path, u.query, hdrs, "127.0.0.1")
    ex = Exchange(req, site)
    node = SimpleNamespace(options=options)
    identity.identify(node, ex)  # type: ignore[arg-type]
    geo.locate(node, ex)  # type: ignore[arg-type]
    if roles is not None:  # --role: pretend a verified token carries these roles
        ex.identity = Identity({"simulated": True}, list(roles), "")
    return ex


def _visitor(ex: Exchange) -> str:
    cookies = parse_cookies(ex.request.headers.get("Cookie"))
    g = ex.geo
    if cookies.get("nf_country"):
        country = f"{cookies['nf_country'].upper()} (nf_country cookie)"
    elif g.country:
        src = {"flag": "--country", "header": "trusted header", "geoip": "GeoIP"}.get(g.source, g.source)
        country = f"{g.country} ({src})"
    else:
        country = f"{DEFAULT_COUNTRY} (default)"
    lang = f"{cookies['nf_lang']} (nf_lang cookie)" if cookies.get("nf_lang") else (
        f"{g.language}" if ex.request.headers.get("Accept-Language") else f"{DEFAULT_LANGUAGE} (default)")
    ident = ex.identity
    if ident is None:
        roles = "no verified token" if identity.token_of(ex.request.headers) is None else "token did NOT verify"
    else:
        roles = ("roles " + ",".join(ident.roles)) if ident.roles else "verified token, no roles"
        if ident.claims.get("simulated"):
            roles += " (--role)"
    names = ", ".join(cookies) or "none"
    return f"  country {country}   language {lang}   {roles}   cookies: {names}"


def _step_lines(steps: list[Step], width: int) -> list[str]:
    out = []
    for s in steps:
        mark = VERDICTS[s.verdict]
        text = f"  {s.rule.where:<{width}}  {mark:<5}  {s.rule.describe()}"
        if s.detail:
            text += f"\n  {'':<{width}}         {s.verdict}: {s.detail}"
        out.append(text)
    return out


def explain(ex: Exchange, out: TextIO) -> None:
    site, req = ex.site, ex.request
    static = site.static

    def say(line: str = "") -> None:
        print(line, file=out)

    say(f"{req.method} {req.url}")
    say(_visitor(ex))
    say()
    if ex.path.startswith(FUNCTIONS_PREFIX):
        say(f"result  function {ex.path[len(FUNCTIONS_PREFIX):]} (the functions route answers before any rule)")
        return
    pretty = static.pretty_redirect(ex.path)
    if pretty is not None:
        say(f"result  301 -> {pretty.location}  (pretty URLs, before any rule)")
        return
    auth_rules = getattr(site.header_rules, "auth_rules", [])
    denied = basic_auth_rule(auth_rules, ex.path, req.headers.get("Authorization")) if auth_rules else None
    if denied is not None:
        say(f"result  401 Basic-Auth required by {denied.where} ({denied.pattern})")
        return
    rules = site.rules or []
    decision = decide(ex, trace=True) if rules else None
    if decision is None or not decision.steps:
        say(f"rules   none of the {len(rules)} rules can match {ex.path}")
    else:
        say(f"rules   {decision.candidates} of {len(rules)} rules are candidates for {ex.path} (by index); "
            "in order:")
        width = max(len(s.rule.where) for s in decision.steps)
        for line in _step_lines(decision.steps, width):
            say(line)
    say()
    m = decision.match if decision is not None else None
    if m is None:
        if decision is not None and decision.role_gate is not None:
            say(f"result  404 (role gate {decision.role_gate.where} failed and no later rule matched; "
                "the file is never served)")
            ex.response = static.not_found()
            return
        f = static.lookup(ex.path)
        say(f"result  200 static file {f.rel[1:]}" if f else "result  404 no rule and no file: 404 page")
        _headers(ex, out)
        return
    where = m.rule.where
    if m.kind == "redirect":
        loc = redirect_response(ex, m).headers["Location"]
        say(f"result  {m.status} redirect -> {loc}   ({where})")
        return
    t = target_for(m)
    ex.target = t
    qs = f"?{m.query_string}" if m.query_string else ""
    if m.kind == "proxy":
        say(f"result  proxy -> {m.path}{qs}   ({where}; upstream status is passed through)")
        if m.rule.headers:
            say("        request headers: " + ", ".join(f"{k}: {v}" for k, v in m.rule.headers.items()))
        if m.rule.signed:
            say(f"        signed with the secret in ${m.rule.signed} (X-Nf-Sign)")
    elif m.kind == "function":
        say(f"result  function {m.path[len(FUNCTIONS_PREFIX):]}{qs}   ({where})")
    else:
        if auth_rules and (denied := basic_auth_rule(auth_rules, m.path, req.headers.get("Authorization"))):
            say(f"result  401 Basic-Auth on the rewrite target, required by {denied.where}")
            return
        f = static.lookup(m.path)
        served = f"static file {f.rel[1:]}" if f else "404 page (target file missing)"
        status = m.status if f else 404
        say(f"result  {status} rewrite -> {m.path}{qs}: {served}   ({where})")
    if m.rule.edge_handler:
        say(f"        edge handler {m.rule.edge_handler!r} runs first and may change this")
    if m.kind == "static":
        _headers(ex, out)


def _headers(ex: Exchange, out: TextIO) -> None:
    rules = ex.site.header_rules or []
    found = [(path, r, k, v) for r, path, k, v in headers_for(rules, paths_for(ex))]
    print(file=out)
    if not found:
        print("headers none of the header rules apply", file=out)
        return
    print("headers (later lines override earlier ones with the same name)", file=out)
    final = {k.lower(): (r, path) for path, r, k, _v in found}
    width = max(len(r.where) for _p, r, _k, _v in found)
    for path, r, k, v in found:
        note = "" if final[k.lower()] == (r, path) else "   (overridden)"
        via = "" if path == ex.path else f"  [rewrite target {path}]"
        print(f"  {r.where:<{width}}  {r.pattern:<12} {k}: {v}{via}{note}", file=out)


def explain_command(site_dir: str, url: str, options: ServeOptions, headers: list[str], cookies: list[str],
                    roles: list[str] | None, method: str = "GET", out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        site = load_site(site_dir, "explain", options)
    except (ConfigError, FileNotFoundError) as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2
    errors = [p for p in site.problems if p.severity == "error"]
    try:
        ex = build_exchange(site, options, url, headers, cookies, roles, method)
    except ValueError as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2
    explain(ex, out)
    if errors:
        print(f"\nnote: {len(errors)} config problem(s) in this site; run `edgenode check`", file=out)
    return 0
