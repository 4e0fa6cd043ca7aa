"""Custom header rules (_headers, [[headers]]) on static responses (HD-1..HD-8).

Scope (HD-5): responses of kind "static" only: files, static rewrite targets and the 404 page; never
functions, proxies, handlers or redirects. Matching (HD-8): the request path first, then, for a
rewrite to a static file, the target path, so the target's rules win. Per header name the last
matching rule wins (HD-4). Basic-Auth is enforced earlier, in the rules phase, before any content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgenode.config.headers import HeaderRuleSet, merged_headers

if TYPE_CHECKING:
    from edgenode.exchange import Exchange
    from edgenode.node import EdgeNode


def paths_for(ex: Exchange) -> list[str]:
    paths = [ex.path]
    t = ex.target
    if t is not None and t.kind == "static" and t.rule is not None and t.path != ex.path:
        paths.append(t.path)
    return paths


def apply(node: EdgeNode, ex: Exchange) -> None:
    resp = ex.response
    rules = ex.site.header_rules
    if resp is None or resp.kind != "static" or not rules:
        return
    paths = paths_for(ex)
    merged = rules.merged_for(paths) if isinstance(rules, HeaderRuleSet) else merged_headers(rules, paths)
    for name, value in merged.values():
        resp.headers[name] = value
