"""`_headers` files and `[[headers]]` tables -> HeaderRule (HD-1..HD-4, HD-6). Pure: text in, rules out.

The parser and the path patterns follow Netlify's `headers-parser` package (line_parser.ts,
for_regexp.ts) literally; reserved headers are dropped with a warning (HD-6), and the `Basic-Auth`
pseudo-header becomes a list of credentials on the rule instead of a response header (HD-7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edgenode.config.errors import ConfigProblem

# Headers the edge controls itself; a rule cannot set them (headers.md 1).
RESERVED = frozenset(h.lower() for h in (
    "Accept-Ranges", "Age", "Allow", "Alt-Svc", "Connection", "Content-Encoding", "Content-Length",
    "Content-Range", "Date", "Location", "Server", "Set-Cookie", "Trailer", "Transfer-Encoding", "Upgrade",
))
BASIC_AUTH = "basic-auth"
_COMMA_LIST = re.compile(r"\s*,\s*")


@dataclass(slots=True, eq=False)
class HeaderRule:
    file: str
    line: int
    pattern: str  # the `for` path as written
    values: dict[str, str] = field(default_factory=dict)  # name as written -> value
    basic_auth: list[tuple[str, str]] = field(default_factory=list)  # (user, password) pairs
    regex: re.Pattern[str] | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def matches(self, path: str) -> bool:
        if self.regex is None:
            self.regex = compile_pattern(self.pattern)
        return self.regex.match(path) is not None


def compile_pattern(path: str) -> re.Pattern[str]:
    """Netlify's for_regexp: `:x` one segment, lone `*` optional rest, `*` in a segment crosses `/` (HD-3).

    One deliberate difference: Netlify turns a lone `*` into `/?(.*)`, so `/a/*` also matches `/ab`;
    here it is `(?:/(.*))?` and `/a/*` matches `/a`, `/a/` and `/a/...` only.
    """
    rx = "^"
    for seg in (s.rstrip() for s in path.split("/")):
        if not seg:
            continue
        if seg == "*":
            rx += "(?:/(.*))?"
        elif seg.startswith(":"):
            rx += "/([^/]+)"
        elif "*" in seg:
            rx += "/" + "(.*)".join(re.escape(p) for p in seg.split("*"))
        else:
            rx += "/" + re.escape(seg)
    if rx == "^":
        rx += "/"
    return re.compile(rx + "/?$", re.I)


def parse_basic_auth(value: str) -> list[tuple[str, str]]:
    pairs = []
    for cred in value.split():
        user, sep, password = cred.partition(":")
        if sep and user:
            pairs.append((user, password))
    return pairs


def _finish(rule: HeaderRule, items: list[tuple[str, str, int]], problems: list[ConfigProblem]) -> bool:
    """Move name/value pairs into the rule, dropping reserved ones. False when nothing is left."""
    for name, value, line in items:
        low = name.lower()
        if low == BASIC_AUTH:
            creds = parse_basic_auth(value)
            if not creds:
                problems.append(ConfigProblem(rule.file, line, "Basic-Auth needs user:password pairs"))
                continue
            rule.basic_auth += creds
        elif low in RESERVED:
            problems.append(ConfigProblem(rule.file, line, f"header {name!r} is set by the edge; ignored",
                                          "warning"))
        else:
            rule.values[name] = value
    return bool(rule.values or rule.basic_auth)


def parse_headers_file(text: str, file: str = "_headers") -> tuple[list[HeaderRule], list[ConfigProblem]]:
    """HD-1: path lines start with `/`; `Name: value` below; repeated names in a block join with `, `."""
    rules: list[HeaderRule] = []
    problems: list[ConfigProblem] = []
    block: HeaderRule | None = None
    items: list[tuple[str, str, int]] = []

    def close() -> None:
        if block is not None:
            if _finish(block, items, problems):
                rules.append(block)

    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            close()
            block, items = HeaderRule(file, n, line), []
            continue
        if ":" not in line:
            problems.append(ConfigProblem(file, n, f"ignored line {line[:40]!r} (not a path or Name: value)",
                                          "warning"))
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if block is None:
            problems.append(ConfigProblem(file, n, "Path should come before header"))
            continue
        if not name:
            problems.append(ConfigProblem(file, n, "Missing header name"))
            continue
        if not value:
            problems.append(ConfigProblem(file, n, "Missing header value"))
            continue
        for i, (prev, pval, pline) in enumerate(items):
            if prev == name:  # repeated inside one block: one value, comma-joined (exact name match)
                items[i] = (prev, f"{pval}, {value}", pline)
                break
        else:
            items.append((name, value, n))
    close()
    return rules, problems


def _toml_value(value: Any) -> str:
    """HD-2: strings are comma-normalised; arrays of strings are joined with `, `."""
    if isinstance(value, str):
        return ", ".join(p for p in _COMMA_LIST.split(value.strip()) if p)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(v.strip() for v in value if v.strip())
    raise ValueError(f"must be a string or an array of strings, not {type(value).__name__}")


def parse_header_tables(tables: Iterable[tuple[int, dict[str, Any]]], file: str = "netlify.toml"
                        ) -> tuple[list[HeaderRule], list[ConfigProblem]]:
    rules: list[HeaderRule] = []
    problems: list[ConfigProblem] = []
    for line, table in tables:
        path = table.get("for")
        if not isinstance(path, str) or not path.strip():
            problems.append(ConfigProblem(file, line, "[[headers]]: `for` must be a path string"))
            continue
        values = table.get("values")
        if not isinstance(values, dict) or not values:
            problems.append(ConfigProblem(file, line, "[[headers]]: `values` must be a non-empty table"))
            continue
        rule = HeaderRule(file, line, path.strip())
        items: list[tuple[str, str, int]] = []
        for name, value in values.items():
            name = str(name).strip()
            if not name or name == "undefined":
                problems.append(ConfigProblem(file, line, "[[headers]]: empty header name"))
                continue
            try:
                items.append((name, _toml_value(value), line))
            except ValueError as e:
                problems.append(ConfigProblem(file, line, f"[[headers]]: {name}: {e}"))
        if _finish(rule, items, problems):
            rules.append(rule)
    return rules, problems


def rule_hits(rules: Iterable[HeaderRule], paths: list[str]) -> list[tuple[HeaderRule, str]]:
    """(rule, path it matched) in application order: rules for the request path, then (HD-8) the rules
    of a rewrite target, so the served file's own rules win. A rule matching both is applied once, late."""
    rules = list(rules)
    last: dict[int, tuple[HeaderRule, str]] = {}
    order: list[int] = []
    for path in paths:
        for r in rules:
            if r.matches(path):
                if id(r) in last:
                    order.remove(id(r))
                last[id(r)] = (r, path)
                order.append(id(r))
    return [last[i] for i in order]


def headers_for(rules: Iterable[HeaderRule], paths: list[str]) -> list[tuple[HeaderRule, str, str, str]]:
    """(rule, path, name, value) for every header the rules give, in application order (HD-4)."""
    return [(r, path, k, v) for r, path in rule_hits(rules, paths) for k, v in r.values.items()]


def merged_headers(rules: Iterable[HeaderRule], paths: list[str]) -> dict[str, tuple[str, str]]:
    """Lower-cased name -> (name, value): the last applied rule per header name wins (HD-4)."""
    return {name.lower(): (name, value) for _r, _p, name, value in headers_for(rules, paths)}


class HeaderRuleSet(list[HeaderRule]):
    """What `site.header_rules` holds: the rules in order, and those that carry Basic-Auth."""

    def __init__(self, rules: Iterable[HeaderRule] = ()) -> None:
        super().__init__(rules)
        self.auth_rules = [r for r in self if r.basic_auth]
        self._merged: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}

    def merged_for(self, paths: list[str]) -> dict[str, tuple[str, str]]:
        """merged_headers(), remembered per path (a deploy's rules never change; bounded memory)."""
        key = tuple(paths)
        got = self._merged.get(key)
        if got is None:
            got = merged_headers(self, paths)
            if len(self._merged) >= 10_000:
                self._merged.clear()
            self._merged[key] = got
        return got
