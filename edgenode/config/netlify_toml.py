"""netlify.toml -> SiteConfig (CFG-1..CFG-7). Pure: reads the one file it is given."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from edgenode.config.errors import ConfigError, ConfigProblem

_LINE_RE = re.compile(r"at line (\d+)")


@dataclass(slots=True)
class SiteConfig:
    """The settings edgenode reads, resolved to absolute paths."""

    site_dir: str
    base_dir: str
    publish_dir: str
    functions_dir: str
    edge_handlers_dir: str
    dev: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    pretty_urls: bool = True
    # Raw tables for the rule parsers (config/redirects.py, config/headers.py, handlers/loader.py);
    # each item keeps the line its table starts on.
    redirects: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    headers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    edge_handlers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    has_toml: bool = False
    problems: list[ConfigProblem] = field(default_factory=list)


def _lower_keys(table: dict[str, Any]) -> dict[str, Any]:
    # Netlify accepts capitalized [build] keys (Publish, Base, ...) and drops empty strings.
    return {k.lower(): v for k, v in table.items() if v != ""}


def _table_lines(text: str, header: str) -> list[int]:
    """Line numbers of every `[[header]]` array-of-tables start, in file order."""
    pat = re.compile(r"^[ \t]*\[\[[ \t]*" + re.escape(header) + r"[ \t]*\]\]", re.M)
    return [text.count("\n", 0, m.start()) + 1 for m in pat.finditer(text)]


def _with_lines(text: str, header: str, items: Any, problems: list[ConfigProblem]) -> list[tuple[int, dict]]:
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(ConfigProblem("netlify.toml", 0, f"[[{header}]] must be an array of tables"))
        return []
    lines = _table_lines(text, header)
    out = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        if not isinstance(item, dict):
            problems.append(ConfigProblem("netlify.toml", line, f"[[{header}]] entry must be a table"))
            continue
        out.append((line, item))
    return out


def _inside(path: str, root: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def load_site_config(site_dir: str, config_path: str | None = None, context: str = "dev") -> SiteConfig:
    """Read `SITE_DIR/netlify.toml` (or `config_path`). Raises ConfigError on a TOML syntax error."""
    site_dir = os.path.realpath(site_dir)
    path = config_path or os.path.join(site_dir, "netlify.toml")
    data: dict[str, Any] = {}
    text = ""
    has_toml = os.path.isfile(path)
    if has_toml:
        with open(path, "rb") as f:
            raw_bytes = f.read()
        try:
            text = raw_bytes.decode("utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as e:
            raise ConfigError(ConfigProblem("netlify.toml", 1, f"not UTF-8: {e.reason}")) from None
        except tomllib.TOMLDecodeError as e:
            msg = str(e)
            m = _LINE_RE.search(msg)
            line = int(m.group(1)) if m else 1
            reason = _LINE_RE.sub("", msg).replace("()", "").strip(" (),")
            raise ConfigError(ConfigProblem("netlify.toml", line, reason)) from None
    return site_config_from_dict(site_dir, data, text, context=context, has_toml=has_toml)


def site_config_from_dict(
    site_dir: str, data: dict[str, Any], text: str = "", *, context: str = "dev", has_toml: bool = True
) -> SiteConfig:
    problems: list[ConfigProblem] = []
    build = data.get("build") or {}
    if not isinstance(build, dict):
        problems.append(ConfigProblem("netlify.toml", 0, "[build] must be a table"))
        build = {}
    build = _lower_keys(build)
    # CFG-6: [context.NAME] overrides [build] keys for that context.
    ctx_tables = data.get("context") or {}
    ctx = ctx_tables.get(context) if isinstance(ctx_tables, dict) else None
    environment = dict(build.get("environment") or {})
    if isinstance(ctx, dict):
        ctx = _lower_keys(ctx)
        environment.update(ctx.get("environment") or {})
        build.update({k: v for k, v in ctx.items() if k != "environment"})
    dev = data.get("dev") or {}
    if not isinstance(dev, dict):
        problems.append(ConfigProblem("netlify.toml", 0, "[dev] must be a table"))
        dev = {}
    functions = data.get("functions") or {}
    if not isinstance(functions, dict):
        functions = {}

    def resolve(base: str, rel: Any, key: str) -> str:
        if not isinstance(rel, str):
            problems.append(ConfigProblem("netlify.toml", 0, f"{key} must be a string"))
            rel = "."
        return os.path.normpath(os.path.join(base, rel))

    base_dir = resolve(site_dir, build.get("base", "."), "build.base")
    if not _inside(base_dir, site_dir):
        problems.append(ConfigProblem("netlify.toml", 0, "build.base must stay inside the site directory"))
        base_dir = site_dir
    publish = dev.get("publish") or build.get("publish") or "."
    publish_dir = resolve(base_dir, publish, "build.publish")
    if not _inside(publish_dir, site_dir):
        # A deploy serves its own files only: `publish = ".."` or "/" would expose the host's.
        problems.append(ConfigProblem("netlify.toml", 0, "build.publish must stay inside the site directory"))
        publish_dir = base_dir
    fn_dir = dev.get("functions") or functions.get("directory") or build.get("functions") or "netlify/functions"
    functions_dir = resolve(base_dir, fn_dir, "functions.directory")
    eh_dir = build.get("edge_handlers")
    if eh_dir is None:
        # edgenode's own `edge-handlers/` first, then Netlify's default location.
        eh_dir = "edge-handlers" if os.path.isdir(os.path.join(base_dir, "edge-handlers")) else "netlify/edge-handlers"
    edge_handlers_dir = resolve(base_dir, eh_dir, "build.edge_handlers")
    processing = build.get("processing") or {}
    html = processing.get("html") if isinstance(processing, dict) else None
    pretty = True
    if isinstance(html, dict) and "pretty_urls" in html:
        pretty = bool(html["pretty_urls"])
    cfg = SiteConfig(
        site_dir=site_dir,
        base_dir=base_dir,
        publish_dir=publish_dir,
        functions_dir=functions_dir,
        edge_handlers_dir=edge_handlers_dir,
        dev=dict(dev),
        environment={str(k): str(v) for k, v in environment.items()},
        pretty_urls=pretty,
        redirects=_with_lines(text, "redirects", data.get("redirects"), problems),
        headers=_with_lines(text, "headers", data.get("headers"), problems),
        edge_handlers=_with_lines(text, "edge_handlers", data.get("edge_handlers"), problems),
        raw=data,
        has_toml=has_toml,
        problems=problems,
    )
    return cfg
