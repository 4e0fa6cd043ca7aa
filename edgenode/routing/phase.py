"""Rules phase: decide where the request goes and put it in `ex.target` (or answer it directly).

Order (edge-handlers.md section 1): the functions' default route; Basic-Auth (HD-7, before any
content); then _redirects and [[redirects]] with shadowing (routing/match.py); then the static file
at the request path. A rewrite is one hop: its target is fetched from an origin, never re-matched.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

from multidict import CIMultiDict

from edgenode.config.headers import HeaderRule
from edgenode.exchange import EdgeResponse, OriginTarget
from edgenode.routing.conditions import RequestFacts, parse_cookies
from edgenode.routing.match import FUNCTIONS_PREFIX, Decision, Match, match

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode

_LOCATION_SAFE = "/:@!$&'()*+,;=~?#%[]"
AUTH_REALM = "Restricted"
DECISIONS_MAX = 4096  # memoised rule decisions per deploy (see decide)


def facts_for(ex: Exchange) -> RequestFacts:
    req = ex.request
    cookie = req.headers.get("Cookie")
    geo = ex.geo
    ident = ex.identity
    return RequestFacts(
        path=ex.path, query_string=ex.query_string, scheme=req.scheme, host=req.host,
        country=getattr(geo, "country", None), language=getattr(geo, "language", None),
        cookies=parse_cookies(cookie) if cookie else {},
        roles=list(ident.roles) if ident is not None else None,
    )


def decide(ex: Exchange, trace: bool = False) -> Decision:
    static = ex.site.static

    def shadow(path: str) -> str | None:
        f = static.lookup(path)
        return f.rel[1:] if f is not None else None

    table = ex.site.rules
    if trace or not getattr(table, "unconditional", False):
        return match(table, facts_for(ex), shadow, trace)
    # No rule reads cookies, geo or roles: the decision is a function of these four, per deploy.
    req = ex.request
    key = (ex.path, ex.query_string, req.scheme, req.host)
    memo = table.decisions
    decision = memo.get(key)
    if decision is None:
        decision = match(table, facts_for(ex), shadow, False)
        if len(memo) >= DECISIONS_MAX:
            del memo[next(iter(memo))]  # the oldest first: bounded whatever clients send
        memo[key] = decision
    return decision  # type: ignore[return-value]


def basic_auth_rule(rules: list[HeaderRule], path: str, authorization: str | None) -> HeaderRule | None:
    """The Basic-Auth rule that denies this request (HD-7), or None when it may pass."""
    for rule in rules:
        if rule.matches(path) and not credentials_ok(rule, authorization):
            return rule
    return None


def credentials_ok(rule: HeaderRule, authorization: str | None) -> bool:
    if not authorization or authorization[:6].lower() != "basic ":
        return False
    try:
        user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    ok = False
    for u, p in rule.basic_auth:  # compare every pair in constant time
        ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
    return ok


def _deny(ex: Exchange) -> None:
    headers = CIMultiDict({"WWW-Authenticate": f'Basic realm="{AUTH_REALM}"', "Cache-Control": "no-store",
                           "Content-Type": "text/plain; charset=utf-8"})
    ex.response = EdgeResponse(401, headers, b"Unauthorized", kind="error")


def _auth_denies(ex: Exchange, path: str) -> bool:
    rules = getattr(ex.site.header_rules, "auth_rules", None)
    if rules and basic_auth_rule(rules, path, ex.request.headers.get("Authorization")) is not None:
        _deny(ex)
        return True
    return False


def redirect_response(ex: Exchange, m: Match) -> EdgeResponse:
    location = quote(m.location, safe=_LOCATION_SAFE)
    if location.startswith("/"):  # relative targets resolve against the request's scheme and host
        location = f"{ex.request.scheme}://{ex.request.authority}{location}"
    headers = CIMultiDict({"Location": location, "Cache-Control": "no-cache",
                           "Content-Type": "text/plain; charset=utf-8"})
    return EdgeResponse(m.status, headers, f"Redirecting to {location}".encode(), kind="redirect")


def target_for(m: Match) -> OriginTarget | None:
    rule = m.rule
    if m.kind == "proxy":
        return OriginTarget("proxy", m.path, m.query_string, m.status, rule, dict(rule.headers) or None,
                            rule.signed)
    if m.kind in ("static", "function"):
        return OriginTarget(m.kind, m.path, m.query_string, m.status, rule)
    return None  # redirect: answered directly


async def route(node: EdgeNode, ex: Exchange) -> None:
    functions = ex.site.functions
    custom = functions.route(ex.path, ex.request.method, ex.site.static.exists) if functions else None
    if custom is not None:  # FN-7: a v2 function's own config.path beats rules and static files
        fn, ex.notes["function_params"] = custom
        ex.target = OriginTarget("function", FUNCTIONS_PREFIX + fn.name, ex.query_string)
        return
    if ex.path.startswith(FUNCTIONS_PREFIX):  # FN-1: the default route answers before any rule
        ex.target = OriginTarget("function", ex.path, ex.query_string)
        return
    if _auth_denies(ex, ex.path):
        return
    rules = ex.site.rules
    decision = decide(ex) if rules else Decision()
    m = decision.match
    if m is None:
        if decision.role_gate is not None:  # RR-30: a failed role gate never falls back to the file
            ex.matched_rule = decision.role_gate
            ex.response = ex.site.static.not_found()
            return
        ex.target = OriginTarget("static", ex.path, ex.query_string)
        return
    ex.matched_rule = m.rule
    planned = target_for(m)
    ex.target = planned
    if m.rule.edge_handler:
        from edgenode.handlers import phase as handlers

        await handlers.on_rule_handler(node, ex, m.rule.edge_handler)
        if ex.response is not None:
            return
    if ex.target is not planned and ex.target is not None:
        target = ex.target  # the handler replaced the request
    elif m.kind == "redirect":
        ex.response = redirect_response(ex, m)
        return
    else:
        target = planned
    if target is not None and target.kind == "static" and target.path != ex.path and _auth_denies(ex, target.path):
        return
    ex.target = target
