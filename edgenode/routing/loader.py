"""Load a site's rules (_redirects, [[redirects]]) and header rules (_headers, [[headers]]) onto the Site.

Sources and order (RR-1, headers.md 2): `_redirects` in the publish dir, then at the site root; then
`[[redirects]]`. `_headers` at the site root, then in the publish dir; then `[[headers]]`. A bad line
becomes a ConfigProblem (file relative to the site dir, line) and everything else still loads.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from edgenode import identity
from edgenode.config.errors import ConfigProblem
from edgenode.config.headers import HeaderRule, HeaderRuleSet, parse_header_tables, parse_headers_file
from edgenode.config.redirects import RedirectRule, merge_rules, parse_redirect_tables, parse_redirects_file
from edgenode.routing.table import RuleTable

if TYPE_CHECKING:
    from edgenode.sites import Site


def _read(site: Site, path: str) -> tuple[str | None, str]:
    rel = os.path.relpath(path, site.root)
    if not os.path.isfile(path):
        return None, rel
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8"), rel
    except UnicodeDecodeError as e:
        site.problems.append(ConfigProblem(rel, 0, f"not UTF-8: {e.reason}"))
    except OSError as e:
        site.problems.append(ConfigProblem(rel, 0, f"cannot read: {e.strerror}"))
    return None, rel


def _files(site: Site, name: str, publish_first: bool) -> list[str]:
    dirs = [site.config.publish_dir, site.root]
    if not publish_first:
        dirs.reverse()
    out: list[str] = []
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.realpath(p) not in [os.path.realpath(x) for x in out]:
            out.append(p)
    return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing allocates tens of thousands of small acyclic objects; cyclic GC passes over them are pure
    cost (about 40% of parsing 10,000 rules). Reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compile_rules(files: list[tuple[str, str]], tables: list[tuple[int, dict[str, Any]]]
                  ) -> tuple[RuleTable, list[ConfigProblem]]:
    """`_redirects` texts (text, file name) in order, then `[[redirects]]` tables -> RuleTable (RR-1)."""
    problems: list[ConfigProblem] = []
    with gc_paused():
        sources: list[list[RedirectRule]] = []
        for text, rel in files:
            rules, more = parse_redirects_file(text, rel)
            sources.append(rules)
            problems += more
        rules, more = parse_redirect_tables(tables)
        sources.append(rules)
        problems += more
        merged, more = merge_rules(*sources)
        problems += more
        return RuleTable(merged), problems


def load_rules(site: Site, options: Any) -> None:
    files = []
    for path in _files(site, "_redirects", publish_first=True):
        text, rel = _read(site, path)
        if text is not None:
            files.append((text, rel))
    table, problems = compile_rules(files, site.config.redirects)
    site.problems.extend(problems)
    site.rules = table
    verifier = identity.load_verifier(site, options)
    if table.has_role_rules and not verifier.configured:
        first = next(r for r in table if "Role" in r.conditions)
        site.problems.append(ConfigProblem(
            first.file, first.line,
            "Role rules need a JWT secret or key (--jwt-secret, --jwt-public-key or [dev] jwtSecret): "
            "without one no token verifies and every Role condition fails", "warning"))


def load_header_rules(site: Site, options: Any) -> None:
    collected: list[HeaderRule] = []
    for path in _files(site, "_headers", publish_first=False):
        text, rel = _read(site, path)
        if text is not None:
            rules, problems = parse_headers_file(text, rel)
            collected += rules
            site.problems.extend(problems)
    rules, problems = parse_header_tables(site.config.headers)
    collected += rules
    site.problems.extend(problems)
    site.header_rules = HeaderRuleSet(collected)
