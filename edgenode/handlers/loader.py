"""Find a site's edge handler files and declarations, turn them into module records, and keep the
site's isolate (created once per deploy, warmed before the deploy goes live, closed on retire).

Problems (a declared handler without a file, a syntax error with file:line:column, an import that
cannot be resolved, a handler without onRequest/onResponse) become ConfigProblems; the rest of
the site keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from edgenode.config.errors import ConfigProblem
from edgenode.handlers.esm import ModuleSyntaxError, transform
from edgenode.handlers.runtime import SEAL, Isolate

if TYPE_CHECKING:
    from edgenode.sites import Site

log = logging.getLogger("edgenode.handlers")

# Web API libraries (the jslib files), loaded in this order after edgenode's own core; a missing
# file is skipped. Then edgenode's fetch and event APIs.
LIB_FILES = ("url.js", "encoding.js", "streams.js", "structured_clone.js", "htmlrewriter.js")
CORE_FILES = ("core.js",)
API_FILES = ("fetch.js", "event.js")
EXPORTS = ("onRequest", "onResponse")
MATCH_CACHE = 4096  # paths whose matching handlers are remembered (cleared when full)
_PARSE_LINE = re.compile(r"^[^\n]*?:(\d+): (\w*Error): ([^\n]*)\n([^\n]*)\n( *)\^")


@dataclass(slots=True)
class Declaration:
    """An `[[edge_handlers]]` table: which handler runs for which paths."""

    handler: str
    path: str
    line: int
    pattern: re.Pattern[str]


@dataclass(slots=True)
class HandlerSet:
    """One deploy's handlers: declarations, module records, and the isolate that runs them."""

    site_label: str
    declarations: list[Declaration] = field(default_factory=list)
    exports: dict[str, set[str]] = field(default_factory=dict)  # handler name -> exported names
    module_sources: list[tuple[str, str]] = field(default_factory=list)
    options: Any = None
    _isolate: Isolate | None = None
    _starting: asyncio.Future | None = None
    _matches: dict[str, list[str]] = field(default_factory=dict)  # path -> handler names

    def __len__(self) -> int:
        return len(self.exports)

    def matching(self, path: str) -> list[str]:
        """The handlers declared for `path`, in file order (remembered for the last few thousand paths)."""
        names = self._matches.get(path)
        if names is None:
            names = [d.handler for d in self.declarations if d.pattern.match(path) and d.handler in self.exports]
            if len(self._matches) >= MATCH_CACHE:
                self._matches.clear()
            self._matches[path] = names
        return names

    def has(self, name: str, export: str) -> bool:
        return export in self.exports.get(name, ())

    # -- isolate lifecycle ------------------------------------------------------------------------

    def _new_isolate(self) -> Isolate:
        o = self.options
        return Isolate(self.site_label, setup_sources(self.module_sources),
                       memory_mb=int(getattr(o, "handler_memory_mb", 256)),
                       cpu_ms=float(getattr(o, "handler_cpu_ms", 50.0)),
                       timeout_ms=float(getattr(o, "handler_timeout_ms", 30000.0)),
                       quiet=bool(getattr(o, "quiet", False)))

    async def isolate(self) -> Isolate:
        """The live isolate; a closed (runaway, out of memory) one is rebuilt on demand."""
        iso = self._isolate
        if iso is not None and not iso.dead:
            return iso
        if self._starting is not None:
            return await asyncio.shield(self._starting)
        loop = asyncio.get_running_loop()
        self._starting = loop.create_future()
        try:
            iso = self._new_isolate()
            await iso.start()
            if self._isolate is not None and self._isolate.dead:
                log.warning("%s: edge handler isolate rebuilt", self.site_label)
            self._isolate = iso
            self._starting.set_result(iso)
            return iso
        except BaseException as e:
            self._starting.set_exception(e)
            self._starting.exception()  # retrieved: waiters re-raise it
            raise
        finally:
            self._starting = None

    async def astart(self) -> None:
        """Warm the isolate before the deploy takes traffic."""
        if not self.exports:
            return
        try:
            iso = await self.isolate()
            log.debug("%s: isolate ready in %.1f ms", self.site_label, iso.create_ms)
        except Exception as e:
            log.error("%s: edge handlers failed to start: %s", self.site_label, e)

    async def aclose(self) -> None:
        if self._isolate is not None:
            await self._isolate.close()
            self._isolate = None


# -- path patterns ------------------------------------------------------------------------------

def compile_path(path: str) -> re.Pattern[str]:
    """`/blog/*`, `/pets/:name`, `/*` -> a regex; like edge-function paths, a trailing slash is optional."""
    out = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == "*":
            out.append(".*")
        elif c == ":" and i + 1 < len(path) and (path[i + 1].isalpha() or path[i + 1] == "_"):
            j = i + 1
            while j < len(path) and (path[j].isalnum() or path[j] == "_"):
                j += 1
            out.append("[^/]+")
            i = j
            continue
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    if body.endswith("/") and len(body) > 1:
        body = body[:-1]
    return re.compile("^" + body + "/?$" if body not in ("", ".*") else "^/?" + body + "$", re.S)


# -- JS sources ------------------------------------------------------------------------------------

def _js(name: str) -> str | None:
    try:
        return resources.files("edgenode.handlers").joinpath("js", name).read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None


_SOURCES: dict[str, str | None] = {}


def js_source(name: str) -> str | None:
    if name not in _SOURCES:
        _SOURCES[name] = _js(name)
    return _SOURCES[name]


def setup_sources(modules: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for name in CORE_FILES + LIB_FILES + API_FILES:
        src = js_source(name)
        if src is not None:
            out.append((name, src + f"\n//# sourceURL=edgenode:{name}\n"))
    return out + [(SEAL, "")] + modules


# -- loading ---------------------------------------------------------------------------------------

def load_handlers(site: Site, options: Any) -> None:
    cfg = site.config
    hdir = cfg.edge_handlers_dir
    rel_dir = os.path.relpath(hdir, cfg.site_dir)
    hs = HandlerSet(site.site_id, options=options)
    site.handlers = hs
    files = {}
    if os.path.isdir(hdir):
        for entry in sorted(os.listdir(hdir)):
            full = os.path.join(hdir, entry)
            if entry.endswith(".js") and os.path.isfile(full):
                files[entry[:-3]] = full
    problems = site.problems
    for line, table in cfg.edge_handlers:
        name = table.get("handler")
        path = table.get("path")
        if not isinstance(name, str) or not name:
            problems.append(ConfigProblem("netlify.toml", line, "[[edge_handlers]] needs handler = \"name\""))
            continue
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(ConfigProblem("netlify.toml", line, "[[edge_handlers]] needs path = \"/pattern\""))
            continue
        if name not in files:
            problems.append(ConfigProblem("netlify.toml", line,
                                          f"edge handler {name!r} has no file {os.path.join(rel_dir, name + '.js')}"))
            continue
        hs.declarations.append(Declaration(name, path, line, compile_path(path)))
    for rule in _rule_handlers(site):
        if rule.edge_handler not in files:
            problems.append(ConfigProblem(getattr(rule, "file", "_redirects"), getattr(rule, "line", 0),
                                          f"edge handler {rule.edge_handler!r} has no file "
                                          f"{os.path.join(rel_dir, rule.edge_handler + '.js')}"))
    if not files:
        return
    bundle = ModuleBundle(hdir, rel_dir, problems)
    for name, full in files.items():
        mid = bundle.add(full)
        if mid is None:
            continue
        exported = bundle.exported_names(mid)
        if not any(e in exported for e in EXPORTS):
            problems.append(ConfigProblem(os.path.join(rel_dir, name + ".js"), 0,
                                          "edge handler exports neither onRequest nor onResponse"))
            continue
        bundle.handlers[name] = mid
        hs.exports[name] = exported
    bundle.check_syntax()
    for name in list(hs.exports):
        if bundle.broken(bundle.handlers[name]):
            del hs.exports[name]
            del bundle.handlers[name]
    hs.module_sources = bundle.scripts()


def _rule_handlers(site: Site) -> list[Any]:
    """The first rule naming each edge handler (EdgeHandler= / edge_handler)."""
    first: dict[str, Any] = {}
    for rule in site.rules or ():
        name = getattr(rule, "edge_handler", None)
        if name and name not in first:
            first[name] = rule
    return list(first.values())


class ModuleBundle:
    """The module records of one handlers directory, with their resolved imports."""

    def __init__(self, root: str, rel_dir: str, problems: list[ConfigProblem]) -> None:
        self.root = os.path.realpath(root)
        self.rel_dir = rel_dir
        self.problems = problems
        self.modules: dict[str, dict] = {}  # id -> {code, deps, exports, star, file, prefix, bad}
        self.handlers: dict[str, str] = {}

    def _rel(self, mid: str) -> str:
        return os.path.join(self.rel_dir, mid)

    def add(self, path: str) -> str | None:
        real = os.path.realpath(path)
        mid = os.path.relpath(real, self.root)
        if mid in self.modules:
            return None if self.modules[mid]["bad"] else mid
        rec: dict[str, Any] = {"code": "", "deps": {}, "exports": [], "star": [], "prefix": 0, "bad": False,
                               "json": real.endswith(".json")}
        self.modules[mid] = rec
        try:
            with open(real, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            rec["bad"] = True
            self.problems.append(ConfigProblem(self._rel(mid), 0, f"cannot read: {e}"))
            return None
        if rec["json"]:
            try:
                json.loads(text)
            except ValueError as e:
                rec["bad"] = True
                self.problems.append(ConfigProblem(self._rel(mid), getattr(e, "lineno", 0), f"invalid JSON: {e}"))
                return None
            rec["code"] = f"(function (__exports) {{ __exports.default = JSON.parse({json.dumps(text)}); }})"
            rec["exports"] = ["default"]
            return mid
        try:
            t = transform(text)
        except ModuleSyntaxError as e:
            rec["bad"] = True
            self.problems.append(ConfigProblem(self._rel(mid), e.line, f"SyntaxError: {e}"))
            return None
        rec.update(code=t.code, exports=t.exports, prefix=t.prefix_len, lines=text.count("\n") + 1)
        for spec, line in t.imports:
            target = self._resolve(os.path.dirname(real), spec)
            if target is None:
                rec["bad"] = True
                why = ("bare module specifiers are not supported (bundle npm packages into the handler)"
                       if not spec.startswith((".", "/")) else "no such file")
                self.problems.append(ConfigProblem(self._rel(mid), line, f"cannot import {spec!r}: {why}"))
                continue
            dep = self.add(target)
            if dep is None:
                rec["bad"] = True
                continue
            rec["deps"][spec] = dep
            if spec in t.star_from:
                rec["star"].append(dep)
        return None if rec["bad"] else mid

    def _resolve(self, base: str, spec: str) -> str | None:
        if not spec.startswith((".", "/")):
            return None
        cand = os.path.normpath(os.path.join(base if spec.startswith(".") else self.root, spec.lstrip("/")
                                             if spec.startswith("/") else spec))
        for c in (cand, cand + ".js", cand + ".mjs", cand + ".json", os.path.join(cand, "index.js")):
            real = os.path.realpath(c)
            if os.path.isfile(real) and (real + os.sep).startswith(self.root + os.sep):
                return real
        return None

    def exported_names(self, mid: str, seen: set[str] | None = None) -> set[str]:
        seen = seen or set()
        if mid in seen or mid not in self.modules:
            return set()
        seen.add(mid)
        rec = self.modules[mid]
        names = set(rec["exports"])
        for dep in rec["star"]:
            names |= self.exported_names(dep, seen) - {"default"}
        return names

    def broken(self, mid: str, seen: set[str] | None = None) -> bool:
        seen = seen or set()
        if mid in seen:
            return False
        seen.add(mid)
        rec = self.modules.get(mid)
        return rec is None or rec["bad"] or any(self.broken(d, seen) for d in rec["deps"].values())

    def check_syntax(self) -> None:
        """Compile every module once in a scratch isolate: syntax errors with file, line and column."""
        from edgenode.handlers import v8

        todo = [(mid, rec) for mid, rec in self.modules.items() if not rec["bad"] and not rec["json"]]
        if not todo:
            return
        for mid, rec in todo:
            try:
                # `;0`: the function expression is compiled, never run, and no JS handle comes back
                v8.compile_check(rec["code"] + "\n;0")
            except Exception as e:  # JSParseException carries "file:line: SyntaxError: ..."
                rec["bad"] = True
                line, col, msg = _parse_error(str(e), rec["prefix"])
                if line > rec["lines"]:  # the error is in edgenode's wrapper after the file: EOF
                    line, col, msg = rec["lines"], 0, "SyntaxError: unexpected end of file"
                where = f" (column {col})" if col else ""
                self.problems.append(ConfigProblem(self._rel(mid), line, f"{msg}{where}"))

    def scripts(self) -> list[tuple[str, str]]:
        """One script per module (so V8's line numbers and sourceURL stay per file), then the loads."""
        parts = []
        for mid, rec in self.modules.items():
            if rec["bad"]:
                continue
            parts.append((mid, f"__edge_modules.define({json.dumps(mid)}, {json.dumps(rec['deps'])}, {rec['code']}"
                               f"\n);\n//# sourceURL={self._rel(mid)}\n"))
        loads = "".join(
            f"try {{ __edge_handlers[{json.dumps(n)}] = __edge_modules.require({json.dumps(m)}); }} catch (e) {{ "
            f"console.error('edge handler {n} failed to load:', e); }}\n"
            for n, m in self.handlers.items())
        return parts + [("load handlers", loads)]


def _parse_error(text: str, prefix: int) -> tuple[int, int, str]:
    m = _PARSE_LINE.match(text)
    if not m:
        first = text.strip().splitlines()[0] if text.strip() else "SyntaxError"
        return 0, 0, first
    line = int(m.group(1))
    col = len(m.group(5)) + 1
    if line == 1:
        col = max(1, col - prefix)
    return line, col, f"{m.group(2)}: {m.group(3)}"
