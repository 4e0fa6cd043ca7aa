"""edgenode serve | check | explain."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import fields

from edgenode import __version__
from edgenode.config.errors import ConfigError
from edgenode.options import ServeOptions, parse_size


def _site_arg(text: str) -> tuple[str, tuple[str, ...]]:
    """`DIR` or `host1,host2=DIR`."""
    if "=" in text:
        hosts, _, d = text.partition("=")
        return d, tuple(h.strip().lower() for h in hosts.split(",") if h.strip())
    return text, ()


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sites", nargs="*", default=["."], metavar="SITE_DIR",
                   help="site directory (default .); HOST[,HOST]=DIR serves several sites by Host header")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default [dev] port or 8888; 0 = any free port)")
    p.add_argument("--cache-size", default="256MB", help="response cache size in bytes (default 256MB)")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", action="store_true", help="no banner and no access log (errors still show)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds to finish in-flight requests on shutdown")
    p.add_argument("--config", default=None, help="netlify.toml to read (default SITE_DIR/netlify.toml)")
    p.add_argument("--context", default="dev", help="deploy context whose [context.NAME] settings apply")
    p.add_argument("--no-watch", action="store_true", help="do not reload when files change")
    p.add_argument("--workers", default="1", metavar="N",
                   help="worker processes sharing the port (SO_REUSEPORT); auto = one per core (default 1)")
    p.add_argument("--no-fast-path", action="store_true",
                   help="answer every request through the full pipeline (for comparisons and debugging)")
    add_site_arguments(p)
    g = p.add_argument_group("edge handlers")
    g.add_argument("--handler-cpu-ms", type=float, default=50.0, help="CPU budget per request (default 50)")
    g.add_argument("--handler-memory-mb", type=int, default=256, help="memory limit per isolate (default 256)")
    g.add_argument("--handler-timeout-ms", type=float, default=30000.0,
                   help="wall-clock budget of a handler invocation (default 30000)")
    g = p.add_argument_group("origins")
    g.add_argument("--function-timeout", type=float, default=30.0, help="function timeout in seconds (default 30)")
    g.add_argument("--proxy-connect-timeout", type=float, default=5.0, help="upstream connect timeout, s")
    g.add_argument("--proxy-read-timeout", type=float, default=26.0,
                   help="upstream time to first byte and idle timeout, s (default 26, as Netlify)")
    add_limit_arguments(p)


def add_limit_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection limits")
    g.add_argument("--header-timeout", type=float, default=15.0,
                   help="seconds a client has to send its request headers (default 15), then 408")
    g.add_argument("--body-timeout", type=float, default=30.0,
                   help="seconds a request body may stall between chunks (default 30), then 408")
    g.add_argument("--keepalive-timeout", type=float, default=75.0,
                   help="seconds an idle keep-alive connection stays open (default 75)")
    g.add_argument("--max-request-line", type=int, default=8190, help="longest request line, bytes (414)")
    g.add_argument("--max-header-size", type=int, default=8190, help="longest header field, bytes (431)")
    g.add_argument("--max-header-bytes", type=int, default=64 * 1024, help="whole header block, bytes (431)")
    g.add_argument("--max-headers", type=int, default=100, help="most header fields in a request (431)")
    g.add_argument("--max-connections", type=int, default=0,
                   help="open connections before new ones get 503 (default: open-file limit minus a reserve)")
    g.add_argument("--access-log", default=None, metavar="FILE",
                   help="write access lines to FILE instead of stdout (write errors never stop the node)")


def add_site_arguments(p: argparse.ArgumentParser) -> None:
    """Flags that change how a site's rules evaluate: shared by serve and explain."""
    g = p.add_argument_group("identity and geo")
    g.add_argument("--jwt-secret", default=None, help="HS256 secret for nf_jwt / Bearer tokens ([dev] jwtSecret)")
    g.add_argument("--jwt-public-key", default=None, help="PEM or JWKS file for RS256/ES256 tokens")
    g.add_argument("--jwt-role-path", default=None,
                   help="claim path of the roles (default app_metadata.authorization.roles)")
    g.add_argument("--country", default=None, help="fix the visitor country (ISO alpha-2) for local work")
    g.add_argument("--geoip-db", default=None, help="MaxMind database (.mmdb) for country, subdivision, city")
    g.add_argument("--trust-geo-header", default=None, metavar="NAME",
                   help="take the country from this request header (only behind a trusted proxy)")


def options_from_args(a: argparse.Namespace) -> ServeOptions:
    o = ServeOptions()
    copy_matching_arguments(a, o)  # flags whose dest is a ServeOptions field, as they are
    o.sites = [_site_arg(s) for s in a.sites]
    o.port = a.port if a.port is not None else 8888
    o.cache_size = parse_size(a.cache_size)
    o.watch = not a.no_watch
    if a.no_fast_path:
        o.extra["fast_path"] = False
    return o


_CONVERTED = frozenset({"sites", "port", "cache_size"})  # need parsing: set by options_from_args


def copy_matching_arguments(a: argparse.Namespace, o: ServeOptions) -> None:
    """Copy every parsed flag named like a ServeOptions field (argparse dests equal field names)."""
    for f in fields(o):
        if f.name not in _CONVERTED and hasattr(a, f.name):
            setattr(o, f.name, getattr(a, f.name))


def apply_site_arguments(a: argparse.Namespace, o: ServeOptions) -> None:
    """The identity and geo flags, for commands that evaluate rules without serving (check, explain)."""
    copy_matching_arguments(a, o)


def run_serve(a: argparse.Namespace) -> int:
    from edgenode.accesslog import setup_logging
    from edgenode.server import EdgeServer, banner, serve_forever

    try:
        options = options_from_args(a)
    except ValueError as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2
    if a.port is None:
        # CFG-7: [dev] port of the first site, when set.
        try:
            from edgenode.config.netlify_toml import load_site_config

            dev_port = load_site_config(options.sites[0][0], options.config, options.context).dev.get("port")
            if isinstance(dev_port, int):
                options.port = dev_port
        except ConfigError:
            pass
    from edgenode.workers import supervise, worker_count

    try:
        workers = worker_count(a.workers)
    except ValueError as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2
    try:
        setup_logging(options.log_format, options.quiet, options.access_log)
    except OSError as e:
        print(f"edgenode: cannot open access log {options.access_log}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        server = EdgeServer(options)  # with --workers, this load only validates the config
    except (ConfigError, FileNotFoundError) as e:
        print(f"edgenode: {e}", file=sys.stderr)
        return 2

    if workers > 1:
        del server
        return supervise(options, workers)

    def ready(s: EdgeServer) -> None:
        if not options.quiet:
            try:
                print(banner(s), flush=True)
            except OSError:  # stdout on a full disk or a closed pipe: keep serving
                pass

    from edgenode.memory_policy import tune_for_serving

    tune_for_serving()
    try:
        import uvloop  # type: ignore[import-not-found]

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        runner(serve_forever(server, ready))
    except OSError as e:
        print(f"edgenode: cannot listen on {options.host}:{options.port}: {e.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgenode", description="A Netlify-compatible edge node.")
    parser.add_argument("--version", action="version", version=f"edgenode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a site directory")
    add_serve_arguments(serve)
    check = sub.add_parser("check", help="report every config problem as FILE:LINE: reason")
    check.add_argument("site", nargs="?", default=".", metavar="SITE_DIR")
    check.add_argument("--config", default=None)
    check.add_argument("--context", default="dev")
    add_site_arguments(check)
    explain = sub.add_parser("explain", help="show which rule a URL matches, why others did not, and the result")
    explain.add_argument("site", metavar="SITE_DIR")
    explain.add_argument("url", metavar="URL", help="full URL or a path (/about?x=1)")
    explain.add_argument("-X", "--method", default="GET")
    explain.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'",
                         help="request header (repeatable)")
    explain.add_argument("--cookie", action="append", default=[], metavar="k=v", help="cookie (repeatable)")
    explain.add_argument("--role", action="append", default=None, metavar="R",
                         help="pretend a verified token carries this role (repeatable)")
    explain.add_argument("--config", default=None)
    explain.add_argument("--context", default="dev")
    add_site_arguments(explain)
    return parser


def run_explain(a: argparse.Namespace) -> int:
    from edgenode.commands.explain import explain_command

    options = ServeOptions(sites=[(a.site, ())], config=a.config, context=a.context)
    apply_site_arguments(a, options)
    return explain_command(a.site, a.url, options, a.header, a.cookie, a.role, a.method)


def run_check(a: argparse.Namespace) -> int:
    from edgenode.commands.check import check_site

    options = ServeOptions()
    apply_site_arguments(a, options)
    return check_site(a.site, a.config, a.context, options)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return run_serve(args)
    if args.command == "check":
        return run_check(args)
    if args.command == "explain":
        return run_explain(args)
    return 2  # pragma: no cover - argparse rejects unknown commands
