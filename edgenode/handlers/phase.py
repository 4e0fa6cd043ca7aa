"""Edge handler phases: onRequest before the rules, onResponse after the origin.

Semantics (issue 4): `[[edge_handlers]]` run in file order as a chain, each seeing the request as
replaced by the earlier ones; the first replaced response ends the chain. The onResponse exports
of the handlers that ran are called in reverse order, with `event.request` as it went to the
origin. A handler error answers 500 (`Name: message`; the JS stack goes to the log only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from edgenode.errors import error_response
from edgenode.exchange import OriginTarget
from edgenode.handlers.bridge import (
    Host,
    body_from_js,
    edge_request_from_js,
    meta_for,
    remember_header_pairs,
    request_to_js,
    response_from_js,
    response_to_js,
    same_site,
)
from edgenode.handlers.runtime import HandlerError

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.handlers.loader import HandlerSet
    from edgenode.node import EdgeNode

log = logging.getLogger("edgenode.handlers")
FUNCTIONS_PREFIX = "/.netlify/functions/"


def _handlers(ex: Exchange) -> HandlerSet | None:
    hs = ex.site.handlers
    return hs if hs else None


async def on_request(node: EdgeNode, ex: Exchange) -> None:
    """Run the [[edge_handlers]] chain declared for ex.path; may set ex.response or change ex.path."""
    hs = _handlers(ex)
    if hs is None:
        return
    names = hs.matching(ex.path)
    if not names:
        return
    ran: list[str] = ex.notes.setdefault("handlers_ran", [])
    for name in names:
        ran.append(name)
        if hs.has(name, "onRequest"):
            await _run_on_request(node, ex, hs, name, None)
            if ex.response is not None:
                return


async def on_rule_handler(node: EdgeNode, ex: Exchange, handler_name: str) -> None:
    """Run the handler attached to the rule that matched (EdgeHandler= / edge_handler).

    Called by the rules phase after it set ex.matched_rule and ex.target, before the rule's action:
    the handler may answer (ex.response) or replace the request (ex.target).
    """
    hs = _handlers(ex)
    if hs is None or handler_name not in hs.exports:
        return  # reported at load as a ConfigProblem; the rule itself still applies
    ex.notes.setdefault("handlers_ran", []).append(handler_name)
    if hs.has(handler_name, "onRequest"):
        target = ex.target or OriginTarget("static", ex.path, ex.query_string)
        await _run_on_request(node, ex, hs, handler_name, target)


async def on_response(node: EdgeNode, ex: Exchange) -> None:
    """Run the onResponse exports of the handlers that ran, in reverse order."""
    ran = ex.notes.get("handlers_ran")
    hs = _handlers(ex)
    if not ran or hs is None or ex.response is None or ex.notes.get("handler_failed"):
        return
    for name in reversed(ran):
        if hs.has(name, "onResponse"):
            await _run_on_response(node, ex, hs, name)
            if ex.notes.get("handler_failed"):
                return


def handlers_involved(ex: Exchange) -> bool:
    """Whether an edge handler ran, or could run, for this request: then it must run every time."""
    hs = ex.site.handlers
    if not hs:
        return False
    if ex.notes.get("handlers_ran"):  # set by handlers/phase.py for declared and rule-attached handlers
        return True
    matching = getattr(hs, "matching", None)
    if matching is None:
        return True  # a handler set we cannot ask: assume it applies
    return bool(matching(ex.request.path)) or bool(matching(ex.path))


# -- one invocation -----------------------------------------------------------------------------

async def _run_on_request(node: EdgeNode, ex: Exchange, hs: HandlerSet, name: str,
                          rule_target: OriginTarget | None) -> None:
    host = Host(node, ex, name, rule_target)
    meta = meta_for(node, ex)
    try:
        iso = await hs.isolate()
        result = await iso.invoke("request", name, host, lambda inv: _payload(iso, inv, ex, meta))
        inv = host.invocation
        assert inv is not None
        try:
            if result.get("request"):
                await _apply_request(node, ex, iso, inv, result["request"], rule_target)
            if result.get("response"):
                ex.response = response_from_js(iso, inv, result["response"])
        finally:
            _restore_request_body(ex)
            iso.release(inv)
    except HandlerError as e:
        _restore_request_body(ex)
        _fail(ex, name, e)
    except Exception as e:  # a bug on the host side: still a clean 500
        log.exception("%s: edge handler %s: host failure", ex.site.site_id, name)
        _fail(ex, name, HandlerError("Error", f"edge handler failed: {e.__class__.__name__}"))


async def _run_on_response(node: EdgeNode, ex: Exchange, hs: HandlerSet, name: str) -> None:
    host = Host(node, ex, name, ex.target)
    meta = meta_for(node, ex)
    resp = ex.response
    assert resp is not None
    sent: dict[str, Any] = {}

    def build(inv: Any) -> dict:
        d = _payload(iso, inv, ex, meta)
        d["response"] = sent["response"] = response_to_js(iso, inv, resp, inline=False)
        return d

    try:
        iso = await hs.isolate()
        result = await iso.invoke("response", name, host, build)
        inv = host.invocation
        assert inv is not None
        try:
            if result.get("response"):
                ex.response = response_from_js(iso, inv, result["response"])
                return
            body = sent["response"]["body"]
            if result.get("headers") is not None:
                _replace_headers(resp, result["headers"])
            if body is not None and "h" in body:
                hs_body = iso.adopt_host_stream(inv, body["h"])
                if hs_body.touched:  # the handler read the body but kept the response: send it all
                    resp.body = hs_body.remaining()
                    resp.precompressed = None
                    if hs_body.decoded:
                        resp.headers.popall("Content-Encoding", None)
                        resp.headers.popall("Content-Length", None)
        finally:
            iso.release(inv)
    except HandlerError as e:
        _fail(ex, name, e)
    except Exception as e:
        log.exception("%s: edge handler %s: host failure", ex.site.site_id, name)
        _fail(ex, name, HandlerError("Error", f"edge handler failed: {e.__class__.__name__}"))


def _payload(iso: Any, inv: Any, ex: Exchange, meta: dict) -> dict:
    d = request_to_js(iso, inv, ex)
    d["meta"] = meta
    depth = ex.notes.get("fetch_depth")
    if depth:
        d["fd"] = depth  # how deep in same-site fetches this request is (core.js localFetch)
    return d


def _replace_headers(resp: Any, pairs: list) -> None:
    keep = {k: resp.headers.getall(k) for k in ("Content-Encoding", "Content-Length") if k in resp.headers}
    resp.headers.clear()
    for k, v in pairs:
        resp.headers.add(k, v)
    for k, vs in keep.items():  # the body is still the original (possibly encoded) one
        resp.headers.popall(k, None)
        for v in vs:
            resp.headers.add(k, v)


async def _apply_request(node: EdgeNode, ex: Exchange, iso: Any, inv: Any, d: dict,
                         rule_target: OriginTarget | None) -> None:
    """replaceRequest: a same-site URL rewrites (path, headers, method); another host is proxied."""
    req, path, query = edge_request_from_js(ex.request, d)
    if d.get("body") is not None:
        body = body_from_js(iso, inv, d["body"])
        req.body = _one(body) if isinstance(body, bytes) else body  # type: ignore[assignment]
    elif ex.request.body is not None and req.method not in ("GET", "HEAD"):
        req.body = ex.request.body
    ex.notes.pop("handler_request_body", None)
    if same_site(ex, d["url"]):
        req.host, req.authority = ex.request.host, ex.request.authority
        ex.request = req
        remember_header_pairs(ex, d["headers"])
        ex.path, ex.query_string = path, query
        if rule_target is not None:
            kind = "function" if path.startswith(FUNCTIONS_PREFIX) else "static"
            ex.target = OriginTarget(kind, path, query, status=rule_target.status, rule=rule_target.rule)
        return
    url = d["url"].split("?", 1)[0]
    target = OriginTarget("proxy", url, query, rule=rule_target.rule if rule_target else None)
    req.host, req.authority = ex.request.host, ex.request.authority
    ex.request = req
    ex.target = target
    if rule_target is None:
        ex.response = await node.proxy_origin.fetch(node, ex, target)


async def _one(data: bytes):
    yield data


def _restore_request_body(ex: Exchange) -> None:
    """A request body the handler read (part of) still goes downstream in full."""
    hs = ex.notes.pop("handler_request_body", None)
    if hs is not None and hs.touched:
        ex.request.body = hs.remaining()


def _fail(ex: Exchange, name: str, err: HandlerError) -> None:
    stack = f"\n{err.stack}" if err.stack else ""
    log.error("%s: edge handler %s failed on %s %s: %s: %s%s", ex.site.site_id, name, ex.request.method,
              ex.request.raw_path, err.name, err.message, stack)
    ex.response = error_response(500, err.name, err.message, ex.request.headers.get("Accept"))
    ex.notes["handler_failed"] = True
