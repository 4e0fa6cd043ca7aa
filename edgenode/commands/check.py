"""`edgenode check SITE_DIR`: load the site as `serve` would and print every problem as FILE:LINE: reason."""

from __future__ import annotations

import sys

from edgenode.config.errors import ConfigError
from edgenode.options import ServeOptions
from edgenode.sites import load_site


def check_site(site_dir: str, config: str | None = None, context: str = "dev",
               options: ServeOptions | None = None) -> int:
    """`options` carries the identity/geo flags (a --jwt-secret silences the Role-rules warning)."""
    if options is None:
        options = ServeOptions()
    options.sites, options.config, options.context = [(site_dir, ())], config, context
    try:
        site = load_site(site_dir, "check", options)
    except ConfigError as e:
        print(e, file=sys.stdout)
        return 1
    except FileNotFoundError as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2
    errors = [p for p in site.problems if p.severity == "error"]
    for p in site.problems:
        print(p if p.severity == "error" else f"{p} (warning)")
    s = site.summary()
    print(f"{len(errors)} problem(s); {s['rules']} rules, {s['header rules']} header rules, "
          f"{s['handlers']} handlers, {s['functions']} functions", file=sys.stderr)
    return 1 if errors else 0
