"""edgenode benchmarks (issue 7): six scenarios under wrk, edgenode pinned to one core, nginx alongside.

    python benchmarks/run.py                      # S1..S6 at 32 and 256 connections, 10 s each
    python benchmarks/run.py --baseline nginx     # the same content through nginx, ratio column
    python benchmarks/run.py --baseline nginx --repeat 3   # alternate the servers, medians of 3
    python benchmarks/run.py --quick --scenarios S1,S4
    python benchmarks/run.py --workers 2 --server-cpus 0,1
    python benchmarks/run.py --memory             # RSS: 10,000 rules + 20 handlers; long mixed run

The server runs under `taskset -c 1` (one worker process unless --workers), wrk runs `-t1` under
`taskset -c 0`. With a baseline both servers run side by side (idle while the other is loaded) and
wrk alternates between them, so both see the same noise. Before the measured runs each server gets
`--warmup` seconds of the same load, unmeasured. Every scenario's response is checked
before and after the load; a wrong answer is reported in the table instead of a number. Needs wrk,
taskset and (for --baseline nginx and the S3 upstream) nginx; missing ones are installed with
apt-get when running as root.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tools  # noqa: E402
from scenarios import SCENARIOS, Scenario, site_dir, write_all  # noqa: E402


@dataclass
class Row:
    scenario: Scenario
    conns: int
    edge: tools.WrkResult | None = None
    nginx: tools.WrkResult | None = None
    note: str = ""


def check(port: int, sc: Scenario, site: Path, when: str) -> str | None:
    headers = dict(h.split(": ", 1) for h in sc.wrk_headers)
    try:
        problem = sc.check(tools.fetch(port, sc.path, headers), site)
    except OSError as e:
        problem = f"no answer: {e}"
    return f"wrong answer {when} load: {problem}" if problem else None


def warm_and_check(port: int, sc: Scenario, site: Path) -> str | None:
    # The first request fills the cache; later ones are hits (and warm isolates and pools).
    for _ in range(5):
        try:
            tools.fetch(port, sc.path, dict(h.split(": ", 1) for h in sc.wrk_headers))
        except OSError:
            pass
    return check(port, sc, site, "before")


def median_result(results: list[tools.WrkResult]) -> tools.WrkResult:
    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    return tools.WrkResult(med([r.rps for r in results]), med([r.p50_ms for r in results]),
                           med([r.p99_ms for r in results]), sum(r.requests for r in results),
                           sum(r.errors for r in results), sum(r.bad_status for r in results))


def measure(servers: dict[str, int], sc: Scenario, site: Path, args: argparse.Namespace,
            rows: dict[tuple[str, int], Row]) -> None:
    """Load every running server in turn (edgenode, nginx, edgenode, nginx, ...): both see the same noise."""
    live = {}
    for name, port in servers.items():
        problem = warm_and_check(port, sc, site)
        if problem:
            for conns in args.connections:
                rows[(sc.name, conns)].note += f"{name}: {problem}; "
        else:
            live[name] = port
    for conns in args.connections:
        row = rows[(sc.name, conns)]
        results: dict[str, list[tools.WrkResult]] = {name: [] for name in live}
        if args.warmup > 0:
            # Unmeasured load at this concurrency first, for every server alike: a JIT, a heap, a
            # cache or a connection pool sized by the load is then not part of the measured run.
            for port in live.values():
                tools.run_wrk(port, sc.path, conns, args.warmup, args.wrk_cpus, sc.wrk_headers)
        for _ in range(args.repeat):
            for name, port in live.items():
                results[name].append(tools.run_wrk(port, sc.path, conns, args.seconds, args.wrk_cpus,
                                                   sc.wrk_headers))
        for name, port in live.items():
            res = median_result(results[name])
            if res.errors or res.bad_status:
                row.note += f"{name}: {res.errors} socket errors, {res.bad_status} bad statuses; "
            setattr(row, "edge" if name == "edgenode" else "nginx", res)
            after = check(port, sc, site, "after")
            if after:
                row.note += f"{name}: {after}; "


def run_scenario(sc: Scenario, root: Path, upstream_port: int, args: argparse.Namespace,
                 rows: dict[tuple[str, int], Row], rss: dict[str, int]) -> None:
    site = site_dir(root, sc.name)
    for conns in args.connections:
        rows[(sc.name, conns)] = Row(sc, conns)
    procs: dict[str, subprocess.Popen] = {}
    servers: dict[str, int] = {}
    try:
        if sc.available():
            port = tools.free_port()
            procs["edgenode"] = tools.start_edgenode(site, port, args.server_cpus, args.workers, args.edgenode_arg)
            servers["edgenode"] = port
        else:  # nginx still runs, so the reference number is there when the feature lands
            for conns in args.connections:
                rows[(sc.name, conns)].note += f"edgenode: n/a ({sc.needs_label}); "
        if args.baseline == "nginx":
            port = tools.free_port()
            workers = (os.cpu_count() or 1) if args.workers == "auto" else int(args.workers)
            conf = tools.nginx_conf(root, sc.name.lower(), port, sc.nginx_server(site, upstream_port),
                                    upstream_port, workers)
            procs["nginx"] = tools.start_nginx(conf, args.server_cpus)
            servers["nginx"] = port
        for name, port in list(servers.items()):
            try:
                tools.wait_ready(port, procs[name])
            except RuntimeError as e:
                del servers[name]
                for conns in args.connections:
                    rows[(sc.name, conns)].note += f"{name}: {e}; "
        if args.workers != "1":
            time.sleep(1.0)  # let every worker bind
        measure(servers, sc, site, args, rows)
        if "edgenode" in servers:
            rss[sc.name] = tools.rss_kb(procs["edgenode"].pid)
    finally:
        for proc in procs.values():
            tools.stop(proc)


def require_edgenode() -> None:
    try:
        import edgenode  # noqa: F401
    except ImportError:
        sys.exit(f"edgenode is not installed for {sys.executable}: run `pip install -e .` in the repository first")


def run_scenarios(args: argparse.Namespace) -> None:
    names = [n.strip().upper() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    tools.ensure_tools(need_nginx=args.baseline == "nginx" or "S3" in names)
    root = Path(args.out or tempfile.mkdtemp(prefix="edgenode-bench-"))
    upstream_port = tools.free_port()
    write_all(root, upstream_port, names)
    upstream = None
    rows: dict[tuple[str, int], Row] = {}
    rss: dict[str, int] = {}
    load_before = tools.load_average()
    try:
        if "S3" in names:
            upstream = tools.start_upstream(root, upstream_port, args.wrk_cpus)
            tools.wait_ready(upstream_port, upstream)
        for name in names:
            print(f"{name}: {SCENARIOS[name].title} ...", flush=True)
            run_scenario(SCENARIOS[name], root, upstream_port, args, rows, rss)
    finally:
        tools.stop(upstream)
    print_table(args, rows, rss, load_before, root)


def _num(r: tools.WrkResult | None) -> tuple[str, str, str]:
    if r is None:
        return "", "", ""
    return f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}"


def print_table(args: argparse.Namespace, rows: dict[tuple[str, int], Row], rss: dict[str, int],
                load_before: str, root: Path) -> None:
    nginx = args.baseline == "nginx"
    head = "| scenario | conns | edgenode req/s | p50 ms | p99 ms |"
    sep = "|---|---:|---:|---:|---:|"
    if nginx:
        head += " nginx req/s | p50 ms | p99 ms | edgenode/nginx |"
        sep += "---:|---:|---:|---:|"
    head += " notes |"
    sep += "---|"
    print()
    extra = f" ({' '.join(args.edgenode_arg)})" if args.edgenode_arg else ""
    print(f"edgenode{extra} {args.workers} worker(s) on cpu {args.server_cpus}, wrk -t1 on cpu {args.wrk_cpus}, "
          f"{args.seconds:g} s per run after {args.warmup:g} s of warm-up, median of {args.repeat}; "
          f"load average before {load_before}, after {tools.load_average()}")
    print(head)
    print(sep)
    for (name, conns), row in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        line = f"| {name} {row.scenario.title} | {conns} | " + " | ".join(_num(row.edge)) + " |"
        if nginx:
            ratio = f"{row.edge.rps / row.nginx.rps:.2f}" if row.edge and row.nginx and row.nginx.rps else ""
            line += " " + " | ".join(_num(row.nginx)) + f" | {ratio} |"
        line += f" {row.note.strip().rstrip(';')} |"
        print(line)
    if rss:
        print()
        print("edgenode RSS after each scenario's runs: "
              + ", ".join(f"{k} {v / 1024:.0f} MiB" for k, v in rss.items()))
    print(f"(sites and configs in {root})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, e.g. S1,S4 (default all)")
    p.add_argument("--baseline", choices=("none", "nginx"), default="none", help="also run nginx on the same content")
    p.add_argument("--quick", action="store_true", help="3 s runs instead of 10 s")
    p.add_argument("--seconds", type=float, default=None, help="seconds per wrk run (default 10, --quick 3)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds of unmeasured load per server and connection count before the runs "
                        "(default 2, --quick 1; 0: none)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per server and connection count, alternating servers; the table shows medians")
    p.add_argument("--connections", default="32,256", help="wrk connection counts (default 32,256)")
    p.add_argument("--workers", default="1", help="edgenode (and nginx) worker processes, or auto")
    p.add_argument("--server-cpus", default="1", help="taskset cpu list of the server (default 1)")
    p.add_argument("--wrk-cpus", default="0", help="taskset cpu list of wrk and the S3 upstream (default 0)")
    p.add_argument("--edgenode-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for edgenode serve (repeatable), e.g. --edgenode-arg=--no-fast-path")
    p.add_argument("--out", default=None, help="directory for the generated sites (default a temp dir)")
    p.add_argument("--memory", action="store_true", help="report RSS with 10,000 rules + 20 handlers, "
                                                          "and across a long mixed run")
    p.add_argument("--requests", type=int, default=None,
                   help="requests in the --memory mixed run (default 1,000,000; --quick 100,000)")
    args = p.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    args.connections = [int(c) for c in args.connections.split(",")]
    require_edgenode()
    if args.memory:
        from memory import run_memory

        return run_memory(args)
    run_scenarios(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
