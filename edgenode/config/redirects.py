"""`_redirects` lines and `[[redirects]]` tables -> RedirectRule (RR-1..RR-8). Pure: text in, rules out.

The `_redirects` tokenizer is Netlify's own algorithm (netlify/build redirect-parser line_parser.js),
step for step, so a file that works on Netlify means the same thing here. Every rule keeps its file
and line; a bad line becomes a ConfigProblem and the rest of the file still loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from edgenode.config.errors import ConfigProblem

# Canonical spelling of each condition key, from any capitalisation (RR-26..RR-29).
CONDITION_KEYS = {"country": "Country", "language": "Language", "role": "Role", "cookie": "Cookie"}
SIGN_KEYS = frozenset({"sign", "signed", "signing"})
HANDLER_KEYS = frozenset({"edgehandler", "edge_handler"})
DEFAULT_STATUS = 301

_LEADING_INT = re.compile(r"^\s*[+-]?[0-9]+")
_WORD = re.compile(r"\w+")
_LIST_SPLIT = re.compile(r"\s*,\s*")


class RuleError(ValueError):
    """One rule is invalid; the message is the reason shown as FILE:LINE: reason."""


# Segment kinds of a compiled `from` path (routing/match.py walks them).
LITERAL, PLACEHOLDER, SPLAT, PARTIAL = 0, 1, 2, 3


@dataclass(slots=True, eq=False)
class RedirectRule:
    """One redirect / rewrite / proxy rule from either file format, normalised (redirects.md 3)."""

    file: str  # "_redirects", "public/_redirects" or "netlify.toml" (relative to the site dir)
    line: int
    origin: str  # the `from` text as written
    scheme: str | None  # "http" / "https" for a domain-level rule (RR-13)
    host: str | None
    path: str  # decoded path part of `from`, without a trailing slash (except "/")
    to: str
    status: int = DEFAULT_STATUS
    force: bool = False
    query: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    signed: str | None = None
    edge_handler: str | None = None
    # Filled by compile(): the path as segments (kind, value) and its leading literal part.
    segments: tuple[tuple[int, str], ...] = ()
    index: int = 0  # position in the merged rule list (first match wins)
    partial_re: Any = None  # compiled lazily for segments like ":slug.html"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def proxy(self) -> bool:
        return self.status == 200 and is_absolute(self.to)

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400

    @property
    def forced(self) -> bool:
        """Forced rules apply even where a static file exists; geo, language and role rules too (RR-17).

        Query-matching rules too: they only fire for requests carrying those parameters, and the
        reference's worked example 24 (`/ page=news /news 301` redirects although index.html exists)
        requires it."""
        return self.force or bool(self.query) or any(k in self.conditions for k in ("Country", "Language", "Role"))

    def dedupe_key(self) -> tuple:
        extra: tuple = ()
        if self.query or self.conditions or self.headers or self.signed or self.edge_handler:
            extra = (tuple(sorted(self.query.items())),
                     tuple(sorted((k, tuple(v)) for k, v in self.conditions.items())),
                     tuple(sorted(self.headers.items())), self.signed, self.edge_handler)
        return (self.scheme, self.host, self.path, self.to, self.status, self.force, extra)

    def describe(self) -> str:
        """The rule as one `_redirects`-style line, for logs and `explain`."""
        parts = [self.origin]
        parts += [f"{k}={v}" for k, v in self.query.items()]
        parts.append(self.to)
        parts.append(f"{self.status}{'!' if self.force else ''}")
        parts += [f"{k}={','.join(v)}" for k, v in self.conditions.items()]
        if self.signed:
            parts.append(f"Sign={self.signed}")
        if self.edge_handler:
            parts.append(f"EdgeHandler={self.edge_handler}")
        return " ".join(parts)


def is_absolute(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def compile_path(path: str) -> tuple[tuple[int, str], ...]:
    """`/news/:year/*` -> ((LITERAL, "news"), (PLACEHOLDER, "year"), (SPLAT, "splat"))."""
    if path in ("", "/"):
        return ()
    parts = path[1:].split("/")
    if ":" not in path and "*" not in path:
        return tuple([(LITERAL, seg) for seg in parts])
    out: list[tuple[int, str]] = []
    for i, seg in enumerate(parts):
        if seg == "*" and i == len(parts) - 1:
            out.append((SPLAT, "splat"))
        elif seg.startswith(":") and len(seg) > 1:
            name = seg[1:]
            out.append((PLACEHOLDER, name) if _WORD.fullmatch(name) else (PARTIAL, seg))
        else:
            out.append((LITERAL, seg))
    return tuple(out)


def _split_from(origin: str) -> tuple[str | None, str | None, str]:
    if is_absolute(origin):
        try:
            u = urlsplit(origin)
            u.port  # noqa: B018 - validates the port too
        except ValueError as e:
            raise RuleError(f"`from` is not a valid URL: {e}") from None
        host = (u.hostname or "").lower() or None
        return u.scheme.lower(), host, u.path or "/"
    return None, None, origin


def _normalise_path(path: str) -> str:
    if "%" in path:
        path = unquote(path)  # rule files percent-encode special characters; requests compare decoded (RR-12)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def _list_value(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in _LIST_SPLIT.split(value.strip()) if v]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise RuleError(f"condition value must be a string or a list, not {type(value).__name__}")


def build_rule(file: str, line: int, origin: str, to: str | None, status: int | None = None, force: bool = False,
               query: dict[str, str] | None = None, conditions: dict[str, list[str]] | None = None,
               headers: dict[str, str] | None = None, signed: str | None = None,
               edge_handler: str | None = None) -> tuple[RedirectRule, list[str]]:
    """Validate one rule (both formats; types are already checked). Returns the rule and warnings;
    raises RuleError if invalid. Hot path: `serve` runs it once per rule per deploy."""
    if origin[0] == "/":
        scheme = host = None
        raw_path = origin
    elif is_absolute(origin):
        scheme, host, raw_path = _split_from(origin)
        if not host:
            raise RuleError(f"`from` URL has no host: {origin!r}")
    else:
        raise RuleError(f"`from` must start with / or http(s):// (got {origin!r})")
    if raw_path.startswith("/.netlify"):
        raise RuleError("path field must not start with /.netlify")  # RR-8
    if status is None:
        status = DEFAULT_STATUS
    elif not 100 <= status <= 599:
        raise RuleError(f"Invalid status code {status} (must be 100-599)")
    if not to:
        # RR-3: a forward rule `/x/* 200` means `/x/* /x/:splat 200`; nothing else may omit `to`.
        if raw_path.endswith("/*") and 200 <= status < 300:
            to = raw_path[:-2] + "/:splat"
        else:
            raise RuleError("Missing to field (only `/path/* 2xx` forward rules may omit it)")
    elif to[0] != "/" and not is_absolute(to):
        raise RuleError(f"destination must start with /, http: or https: (got {to!r})")
    elif to[0] != "/":
        try:
            urlsplit(to)  # an unparseable target would fail every request
        except ValueError as e:
            raise RuleError(f"destination is not a valid URL: {e}") from None
    path = _normalise_path(raw_path)
    segs = compile_path(path)
    warnings: list[str] = []
    if "*" in path[:-1] and any(kind == LITERAL and "*" in seg for kind, seg in segs):
        warnings.append(f"`*` only works as the last segment of a path ({origin}): matched literally")
    if "?" in raw_path:
        warnings.append("a `?` in `from` never matches (paths carry no query): write `/path key=value /to`")
    if signed and not (status == 200 and is_absolute(to)):
        warnings.append(f"Sign={signed} only applies to proxy rules (200 to an http(s) URL)")
    rule = RedirectRule(file, line, origin, scheme, host, path, to, status, force,
                        query if query is not None else {}, conditions if conditions is not None else {},
                        headers if headers is not None else {}, signed, edge_handler, segs)
    return rule, warnings


# -- _redirects ------------------------------------------------------------------------------


def _leading_int(token: str) -> int | None:
    if token.isascii() and token.isdigit():
        return int(token)
    if token[:1] == "/":  # the common case: a destination path, not a status
        return None
    m = _LEADING_INT.match(token)
    return int(m.group(0)) if m else None


def _key_value(token: str) -> tuple[str, str | None]:
    # Only the text before the first `=` (key) and between the first and second `=` (value) count.
    parts = token.split("=")
    return parts[0], (parts[1] if len(parts) > 1 else None)


def parse_redirect_line(line_text: str, file: str = "_redirects", line: int = 0
                        ) -> tuple[RedirectRule | None, list[str]]:
    """One `_redirects` line -> (rule or None for blank/comment, warnings). Raises RuleError."""
    text = line_text.strip()
    if not text or text.startswith("#"):
        return None, []
    tokens = text.split()
    if "#" in text:
        for i, tok in enumerate(tokens):
            if tok[0] == "#":  # inline comment; a `#` inside a token (`/a#b`) is not one
                tokens = tokens[:i]
                break
    origin, rest = tokens[0], tokens[1:]
    if not rest:
        raise RuleError("Missing destination path/URL")
    to: str | None = None
    query_tokens: list[str] = []
    first = rest[0]
    if first[0] != "/" and _leading_int(first) is not None:
        after = rest  # forward rule: no TO, STATUS follows FROM directly (RR-3)
    else:
        for i, tok in enumerate(rest):
            if tok[0] == "/" or tok.startswith(("http://", "https://")):
                to, query_tokens, after = tok, rest[:i], rest[i + 1:]
                break
        else:
            hint = ""
            if any("=" in t for t in rest):
                hint = f" (conditions come after a destination and a status: {origin} /to 302 {rest[-1]})"
            raise RuleError("destination must start with /, http: or https:" + hint)
    status: int | None = None
    force = False
    if after:
        tok = after[0]
        status = int(tok) if tok.isascii() and tok.isdigit() else _leading_int(tok)
        if status is None:
            raise RuleError(f"Invalid status code {after[0]!r} (conditions need a status before them)")
        force = after[0].endswith("!")
    query: dict[str, str] = {}
    for tok in query_tokens:  # (usually none)
        k, v = _key_value(tok)
        if v is not None and k:  # a bare `foo` token is no query condition at all (worked example 25)
            query[unquote(k)] = unquote(v)
    conditions: dict[str, list[str]] = {}
    signed = handler = None
    warnings: list[str] = []
    for tok in after[1:] if len(after) > 1 else ():
        k, v = _key_value(tok)
        if v is None:
            warnings.append(f"ignored token {tok!r} (conditions are Key=value)")
            continue
        lk = k.lower()
        if lk in SIGN_KEYS:
            signed = v
        elif lk in HANDLER_KEYS:
            handler = v
        elif lk in CONDITION_KEYS:
            conditions[CONDITION_KEYS[lk]] = _list_value(v)
        else:
            warnings.append(f"unknown condition {k!r} ignored")
    rule, more = build_rule(file, line, origin, to, status, force, query, conditions, None, signed, handler)
    return rule, warnings + more


def parse_redirects_file(text: str, file: str = "_redirects") -> tuple[list[RedirectRule], list[ConfigProblem]]:
    rules: list[RedirectRule] = []
    problems: list[ConfigProblem] = []
    for n, raw in enumerate(text.split("\n"), 1):
        try:
            rule, warnings = parse_redirect_line(raw, file, n)
        except RuleError as e:
            problems.append(ConfigProblem(file, n, str(e)))
            continue
        if warnings:
            problems += [ConfigProblem(file, n, w, "warning") for w in warnings]
        if rule is not None:
            rules.append(rule)
    return rules, problems


# -- [[redirects]] ---------------------------------------------------------------------------


def _first(table: dict[str, Any], *names: str) -> Any:
    for n in names:
        if n in table:
            return table[n]
    return None


def _string_table(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleError(f"`{what}` must be a table")
    return {str(k): str(v) for k, v in value.items()}


def parse_redirect_table(table: dict[str, Any], file: str = "netlify.toml", line: int = 0
                         ) -> tuple[RedirectRule, list[str]]:
    """One `[[redirects]]` table (with Netlify's legacy aliases, RR-7). Raises RuleError."""
    origin = _first(table, "from", "origin")
    if not isinstance(origin, str) or not origin.strip():
        raise RuleError("missing `from` path")
    to = _first(table, "to", "destination")
    if to is not None and not isinstance(to, str):
        raise RuleError("`to` must be a string")
    status = table.get("status")
    force_text = False
    if isinstance(status, str):  # "301!" is not TOML-typed, but users write it
        st = status.strip()
        force_text = st.endswith("!")
        status = _leading_int(st)
        if status is None:
            raise RuleError(f"Invalid status code {table['status']!r}")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        raise RuleError(f"Invalid status code {status!r}")
    force = table.get("force", False)
    if not isinstance(force, bool):
        raise RuleError("`force` must be true or false")
    query = _string_table(_first(table, "query", "params", "parameters"), "query")
    headers = _string_table(table.get("headers"), "headers")
    conditions: dict[str, list[str]] = {}
    warnings: list[str] = []
    raw_conditions = table.get("conditions")
    if raw_conditions is not None:
        if not isinstance(raw_conditions, dict):
            raise RuleError("`conditions` must be a table")
        for k, v in raw_conditions.items():
            canon = CONDITION_KEYS.get(str(k).lower())
            if canon is None:
                warnings.append(f"unknown condition {k!r} ignored")
                continue
            conditions[canon] = _list_value(v)
    signed = _first(table, "signed", "sign", "signing")
    if signed is not None and not isinstance(signed, str):
        raise RuleError("`signed` must be the name of an environment variable")
    handler = table.get("edge_handler")
    if handler is not None and not isinstance(handler, str):
        raise RuleError("`edge_handler` must be a string")
    rule, more = build_rule(file, line, origin.strip(), to.strip() if to else None, status, force or force_text,
                            query, conditions, headers, signed, handler)
    return rule, warnings + more


def parse_redirect_tables(tables: Iterable[tuple[int, dict[str, Any]]], file: str = "netlify.toml"
                          ) -> tuple[list[RedirectRule], list[ConfigProblem]]:
    rules: list[RedirectRule] = []
    problems: list[ConfigProblem] = []
    for line, table in tables:
        try:
            rule, warnings = parse_redirect_table(table, file, line)
        except RuleError as e:
            problems.append(ConfigProblem(file, line, f"[[redirects]]: {e}"))
            continue
        problems += [ConfigProblem(file, line, f"[[redirects]]: {w}", "warning") for w in warnings]
        rules.append(rule)
    return rules, problems


def merge_rules(*sources: list[RedirectRule]) -> tuple[list[RedirectRule], list[ConfigProblem]]:
    """Concatenate in order; exact duplicates are removed keeping the last occurrence's position (RR-1)."""
    merged = [r for src in sources for r in src]
    # Only rules sharing a `from` can be duplicates: compare full keys within those groups alone.
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(merged):
        groups.setdefault((r.host, r.path), []).append(i)
    drop: dict[int, int] = {}  # index -> index of the copy that is kept
    for members in groups.values():
        if len(members) > 1:
            last: dict[tuple, int] = {}
            for i in members:
                last[merged[i].dedupe_key()] = i
            for i in members:
                keep = last[merged[i].dedupe_key()]
                if keep != i:
                    drop[i] = keep
    out: list[RedirectRule] = []
    problems: list[ConfigProblem] = []
    for i, r in enumerate(merged):
        if i in drop:
            problems.append(ConfigProblem(r.file, r.line, f"duplicate of {merged[drop[i]].where}, removed",
                                          "warning"))
            continue
        r.index = len(out)
        out.append(r)
    return out, problems
