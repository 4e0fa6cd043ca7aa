"""The pure matcher: request facts + rule table -> which rule applies and where it sends the request.

Redirects.md section 13, with one refinement: a non-forced rule whose path is shadowed by a static
file is skipped (evaluation continues), so a later forced rule still applies; if nothing else
matches, the file is served. Every step can be recorded for `edgenode explain`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from edgenode.config.redirects import LITERAL, PARTIAL, PLACEHOLDER, SPLAT, RedirectRule, is_absolute
from edgenode.routing.conditions import RequestFacts, failed_condition
from edgenode.routing.table import RuleTable, request_segments

FUNCTIONS_PREFIX = "/.netlify/functions/"
# Characters kept as they are when a captured (decoded) value goes back into a URL.
_SAFE_IN_TARGET = "/:@!$'()*,;~"


@dataclass(slots=True)
class Match:
    """A rule that applies, and the request it turns into."""

    rule: RedirectRule
    kind: str  # redirect | static | function | proxy
    status: int
    location: str = ""  # redirect: the target as written after substitution (path or URL, query, #frag)
    path: str = ""  # static/function: decoded site path; proxy: absolute URL without the query
    query_string: str = ""
    captures: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """What one candidate rule did, for `explain`: verdict is path|query|condition|shadowed|loop|matched."""

    rule: RedirectRule
    verdict: str
    detail: str = ""


@dataclass(slots=True)
class Decision:
    match: Match | None = None
    role_gate: RedirectRule | None = None  # a Role rule failed and nothing later matched: 404 (RR-30)
    steps: list[Step] | None = None
    candidates: int = 0


def match_path(rule: RedirectRule, segs: list[str], path: str) -> dict[str, str] | None:
    """Captures if the rule's path matches the request (segments from `request_segments`), else None."""
    caps: dict[str, str] = {}
    rsegs = rule.segments
    n = len(rsegs)
    if n and rsegs[-1][0] == SPLAT:
        n -= 1
        if len(segs) < n:
            return None
        # The splat is the rest of the path as sent, trailing slash included (`/a/*` on `/a/b/` -> "b/").
        rest = path[1:].split("/")[n:]
        caps["splat"] = "/".join(rest)
    elif len(segs) != n:
        return None
    for i in range(n):
        kind, value = rsegs[i]
        seg = segs[i]
        if kind == LITERAL:
            if seg != value:
                return None
        elif kind == PLACEHOLDER:
            if not seg:
                return None
            caps[value] = seg
        elif kind == PARTIAL:
            got = _partial(rule, i, value).fullmatch(seg)
            if got is None:
                return None
            caps.update(got.groupdict())
    return caps


def path_mismatch(rule: RedirectRule, segs: list[str]) -> str:
    """Why a candidate's path did not match, in words (explain only, never on the request path)."""
    rsegs = rule.segments
    splat = bool(rsegs) and rsegs[-1][0] == SPLAT
    fixed = len(rsegs) - splat
    for i in range(min(fixed, len(segs))):
        kind, value = rsegs[i]
        if kind == LITERAL and segs[i] != value:
            return f"segment {i + 1} is {segs[i]!r}, rule wants {value!r}"
        if kind == PLACEHOLDER and not segs[i]:
            return f"segment {i + 1} is empty, :{value} needs a value"
        if kind == PARTIAL and _partial(rule, i, value).fullmatch(segs[i]) is None:
            return f"segment {i + 1} {segs[i]!r} does not fit {value!r}"
    if splat:
        return f"{len(segs)} segment(s), rule needs at least {fixed}"
    return f"{len(segs)} segment(s), rule has {fixed}"


def _partial(rule: RedirectRule, i: int, seg: str) -> re.Pattern[str]:
    """A segment like `:slug.html` or `:year-:month`: placeholders inside literal text, compiled once."""
    cache = rule.partial_re if rule.partial_re is not None else {}
    rule.partial_re = cache
    rx = cache.get(i)
    if rx is None:
        pattern, pos, names = "", 0, set()
        for m in re.finditer(r":([A-Za-z_]\w*)", seg):
            name = m.group(1)
            group = "[^/]+?" if name in names else f"(?P<{name}>[^/]+?)"  # a repeated name captures once
            names.add(name)
            pattern += re.escape(seg[pos:m.start()]) + group
            pos = m.end()
        rx = cache[i] = re.compile(pattern + re.escape(seg[pos:]))
    return rx


def parse_query(qs: str) -> dict[str, str | None]:
    """`a=1&b&c=` -> {"a": "1", "b": None, "c": ""}: a key without `=` has no value at all."""
    out: dict[str, str | None] = {}
    if not qs:
        return out
    for pair in qs.split("&"):
        if not pair:
            continue
        k, eq, v = pair.partition("=")
        k = unquote(k.replace("+", " "))
        if k not in out:
            out[k] = unquote(v.replace("+", " ")) if eq else None
    return out


def match_query(wanted: dict[str, str], qs: str, caps: dict[str, str]) -> str | None:
    """None if every listed parameter is present and fits (RR-14); else why not. Fills captures."""
    if not wanted:
        return None
    have = parse_query(qs)
    for key, expect in wanted.items():
        if key not in have:
            return f"query parameter {key!r} missing"
        value = have[key]
        if expect.startswith(":") and len(expect) > 1:
            caps[expect[1:]] = value or ""
        elif expect == "":
            if value != "":  # `foo=""` means present with an empty value: `?foo=` yes, `?foo` no
                return f"query parameter {key!r} must be present and empty"
        elif value != expect:
            return f"query parameter {key}={value!r}, rule wants {expect!r}"
    return None


def substitute(template: str, caps: dict[str, str]) -> str:
    """Textual `:name` replacement, longer names first so `:id` never clobbers `:idx` (redirects.md 5)."""
    if ":" not in template or not caps:
        return template
    for name in sorted(caps, key=len, reverse=True):
        token = ":" + name
        if token in template:
            template = template.replace(token, quote(caps[name], safe=_SAFE_IN_TARGET))
    return template


def _same_path(a: str, b: str) -> bool:
    if len(a) > 1 and a.endswith("/"):
        a = a[:-1]
    if len(b) > 1 and b.endswith("/"):
        b = b[:-1]
    return a == b


def build_target(rule: RedirectRule, caps: dict[str, str], facts: RequestFacts) -> Match | None:
    """Substitute and apply the query pass-through rules (RR-15). None when the target is the request."""
    target = substitute(rule.to, caps)
    target, _, fragment = target.partition("#")
    base, has_q, target_query = target.partition("?")
    if has_q:
        query = target_query  # the target's own query replaces the request's
    elif rule.query:
        query = ""  # query-matching rules never pass the request's query through
    else:
        query = facts.query_string
    absolute = is_absolute(base)
    if absolute:
        try:
            u = urlsplit(base)
            same_site = (u.hostname or "").lower() == facts.host and u.scheme == facts.scheme
        except ValueError:  # a capture made the URL unparseable: not this site, let the proxy refuse it
            same_site = False
        site_path = unquote(u.path or "/") if same_site else None
    else:
        site_path = unquote(base)
    status = rule.status
    if rule.is_redirect:
        # RR-25: a redirect to the request itself would loop forever; Netlify ignores such rules.
        # (A rewrite to itself is no loop: rewrites are one hop. `/admin/* /admin/:splat 200! Role=admin`
        # is the documented way to serve a gated file.)
        if site_path is not None and _same_path(site_path, facts.path) and query == facts.query_string:
            return None
        location = base + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")
        return Match(rule, "redirect", status, location=location, query_string=query, captures=caps)
    if absolute:
        return Match(rule, "proxy", status, path=base, query_string=query, captures=caps)
    if site_path is not None and site_path.startswith(FUNCTIONS_PREFIX):
        # RR-15 case 4: a function gets the request's query; query text in the target is dropped.
        return Match(rule, "function", status, path=site_path, query_string=facts.query_string, captures=caps)
    return Match(rule, "static", status, path=site_path or "/", query_string=query, captures=caps)


def match(table: RuleTable, facts: RequestFacts, shadow: Callable[[str], str | None] | None = None,
          trace: bool = False) -> Decision:
    """First applicable rule for the request. `shadow(path)` names the static file at path, if any."""
    segs = request_segments(facts.path)
    cands = table.candidates(segs, facts.scheme, facts.host)
    decision = Decision(steps=[] if trace else None, candidates=len(cands))
    steps = decision.steps
    shadowed_by: str | None | bool = False  # False: not looked up yet
    for rule in cands:
        caps = match_path(rule, segs, facts.path)
        if caps is None:
            if steps is not None:
                steps.append(Step(rule, "path", path_mismatch(rule, segs)))
            continue
        why = match_query(rule.query, facts.query_string, caps)
        if why is not None:
            if steps is not None:
                steps.append(Step(rule, "query", why))
            continue
        why = failed_condition(rule.conditions, facts) if rule.conditions else None
        if why is not None:
            if "Role" in rule.conditions and decision.role_gate is None:
                decision.role_gate = rule
            if steps is not None:
                steps.append(Step(rule, "condition", why))
            continue
        if not rule.forced and shadow is not None:
            if shadowed_by is False:
                shadowed_by = shadow(facts.path)
            if shadowed_by:
                if steps is not None:
                    steps.append(Step(rule, "shadowed", f"static file {shadowed_by} exists (use ! to force)"))
                continue
        m = build_target(rule, caps, facts)
        if m is None:
            if steps is not None:
                steps.append(Step(rule, "loop", "target is the request itself"))
            continue
        if steps is not None:
            steps.append(Step(rule, "matched"))
        decision.match = m
        decision.role_gate = None
        return decision
    return decision
