"""FN-7: v2 functions' own routes (`export const config = {path, excludedPath, method, preferStatic}`).

Pure: compiles the URLPattern pathname syntax functions use (`/travel/:city`, `/blog/*`,
`/items/:id?`, `/files/:rest*`, `{/:lang}?`) to regular expressions and matches request paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"\{(?P<group>[^{}]*)\}(?P<gmod>[?*+]?)|:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<mod>[?*+]?)|(?P<star>\*)")


class BadPattern(ValueError):
    pass


def _compile_part(text: str) -> str:
    out = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out.append(re.escape(text[pos:m.start()]))
        pos = m.end()
        if m.group("star"):
            out.append("(?:.*)")
        elif m.group("name"):
            name, mod = m.group("name"), m.group("mod")
            if mod in ("*", "+"):
                out.append(f"(?P<{name}>.{'*' if mod == '*' else '+'})")
            else:
                out.append(f"(?P<{name}>[^/]+){'?' if mod == '?' else ''}")
        else:
            inner = _compile_part(m.group("group"))
            out.append(f"(?:{inner}){m.group('gmod')}")
    out.append(re.escape(text[pos:]))
    return "".join(out)


def compile_path(pattern: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern.startswith(("/", "{/")):
        raise BadPattern(f"a function path must be a string starting with '/': {pattern!r}")
    source = _compile_part(pattern)
    # `/a/:b?` should match `/a` too: an optional last segment takes its slash with it.
    source = re.sub(r"\\?/\(\?P<(\w+)>\[\^/\]\+\)\?$", r"(?:/(?P<\1>[^/]+))?", source)
    try:
        return re.compile(source + r"\Z")
    except re.error as e:
        raise BadPattern(f"cannot compile function path {pattern!r}: {e}") from None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(slots=True)
class FunctionRoute:
    name: str
    paths: list[re.Pattern[str]]
    excluded: list[re.Pattern[str]] = field(default_factory=list)
    methods: frozenset[str] = frozenset()  # empty: every method
    prefer_static: bool = False

    def match(self, path: str, method: str) -> dict[str, str] | None:
        if self.methods and method.upper() not in self.methods:
            return None
        for p in self.paths:
            m = p.match(path)
            if m is not None:
                if any(x.match(path) for x in self.excluded):
                    return None
                return {k: v for k, v in m.groupdict().items() if v is not None}
        return None


def route_from_config(name: str, config: dict[str, Any]) -> FunctionRoute | None:
    """The route a v2 `config` declares, or None when it has no `path`. Raises BadPattern."""
    paths = _list(config.get("path"))
    if not paths:
        return None
    methods = frozenset(str(m).upper() for m in _list(config.get("method")))
    return FunctionRoute(name, [compile_path(p) for p in paths],
                         [compile_path(p) for p in _list(config.get("excludedPath"))], methods,
                         bool(config.get("preferStatic")))
