"""Edge handler overhead, end to end: `edgenode serve` under wrk.

Compares, on one site:
  /plain.html      a cached static page, no handler (baseline)
  /trivial         the same page behind a trivial onRequest (does nothing)
  /pricing-a.html  the A/B-test target page, no handler (baseline for the A/B handler)
  /pricing         the A/B-test handler of handlers_examples (cookie bucket, rewrite, onResponse cookie)
  /s5              benchmarks/scenarios.py's S5 handler (same-site fetch of the variant, text(), new Response)

The server is pinned to CPU 1 and wrk to CPU 0 (taskset) when the machine has two CPUs or more.
Prints requests/s, p50/p99 latency and the server's CPU time per request (its event-loop thread,
and its other threads: the isolate's V8 thread) per route and concurrency, and the handler's
added latency and kept throughput. `bench_invoke.py` measures the handler side alone, without HTTP. Goal (issue 4): the A/B handler keeps >= 50% of the no-handler
throughput. The machine is shared: run it a few times and quote medians.

`--limits` instead measures the isolates: creation time and memory per isolate (the examples'
handlers loaded), and how long a runaway handler runs before its 500 (50 ms CPU budget).

Run: .venv/bin/python benchmarks/bench_handlers.py [--duration 5] [--connections 1,32] [--limits]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "handlers_examples"
PAGE = "<!doctype html><title>bench</title><h1>" + "benchmark page " * 40 + "</h1>\n"


def add_s5(site: Path) -> None:
    """The S5 scenario's handler (run.py) on /s5, with its two variant pages."""
    from scenarios import AB_HANDLER

    (site / "s5.html").write_text("<h1>default</h1>")
    for b in "ab":
        (site / b).mkdir(exist_ok=True)
        (site / b / "index.html").write_text(f"<!doctype html><body>variant-{b} " + "x" * 2000 + "</body>\n")
    (site / "edge-handlers" / "fetchab.js").write_text(AB_HANDLER)


def make_site(root: Path) -> Path:
    site = root / "site"
    (site / "edge-handlers" / "lib").mkdir(parents=True)
    (site / "plain.html").write_text(PAGE)
    (site / "trivial.html").write_text(PAGE)
    for v in "abc":
        (site / f"pricing-{v}.html").write_text(PAGE.replace("benchmark", f"variant {v}"))
    (site / "edge-handlers" / "trivial.js").write_text("export function onRequest(event) {}\n")
    shutil.copy(EXAMPLES / "edge-handlers" / "ab-test.js", site / "edge-handlers" / "ab-test.js")
    shutil.copy(EXAMPLES / "edge-handlers" / "lib" / "cookies.js", site / "edge-handlers" / "lib" / "cookies.js")
    add_s5(site)
    (site / "netlify.toml").write_text(
        '[[edge_handlers]]\npath = "/trivial"\nhandler = "trivial"\n\n'
        '[[edge_handlers]]\npath = "/pricing"\nhandler = "ab-test"\n\n'
        '[[edge_handlers]]\npath = "/s5"\nhandler = "fetchab"\n')
    return site


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu: int, cmd: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread of a process (utime + stime from /proc)."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def wrk(url: str, connections: int, duration: float, pid: int) -> tuple[float, float, float, float, float]:
    """(req/s, p50 ms, p99 ms, main-thread us/request, other threads us/request)."""
    cpu0 = thread_cpu(pid)
    out = subprocess.run(pinned(0, ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", url]),
                         capture_output=True, text=True, check=True).stdout
    cpu1 = thread_cpu(pid)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    main_s = cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0)
    other_s = sum(v - cpu0.get(t, 0.0) for t, v in cpu1.items() if t != pid)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    dist = out.split("Latency Distribution", 1)[1]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", dist, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", dist, re.M).group(1))
    return rps, p50, p99, main_s * 1e6 / max(1, total), other_s * 1e6 / max(1, total)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def limits() -> int:
    import asyncio
    import statistics

    from edgenode.handlers import v8
    from edgenode.options import ServeOptions
    from edgenode.sites import load_site
    from edgenode.testing import RunningEdgenode

    v8.init()
    site = load_site(str(EXAMPLES), "examples", ServeOptions(sites=[(str(EXAMPLES), ())]))

    async def density(n: int) -> None:
        before = _rss_mb()
        times, isolates = [], []
        for _ in range(n):
            iso = site.handlers._new_isolate()
            t0 = time.perf_counter()
            await iso.start()
            times.append((time.perf_counter() - t0) * 1000)
            isolates.append(iso)
        after = _rss_mb()
        print(f"isolate start (prelude + {len(site.handlers)} example handlers): median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms; RSS {(after - before) / n:.2f} MB per isolate ({n} isolates)")
        t0 = time.perf_counter()
        for iso in isolates:
            await iso.close()
        print(f"close: {(time.perf_counter() - t0) * 1000 / n:.2f} ms per isolate")

    asyncio.run(density(40))
    tmp = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    (tmp / "edge-handlers").mkdir()
    (tmp / "index.html").write_text("ok")
    (tmp / "netlify.toml").write_text('[[edge_handlers]]\npath = "/*"\nhandler = "h"\n')
    (tmp / "edge-handlers" / "h.js").write_text(
        "export async function onRequest(e) { const u = e.request.url;\n"
        "  if (u.endsWith('/sync')) { while (true) {} }\n"
        "  if (u.endsWith('/micro')) { await null; while (true) {} }\n"
        "  if (u.endsWith('/ok')) e.replaceResponse(new Response('ok'));\n}\n")
    srv = RunningEdgenode(str(tmp), handler_cpu_ms=50)
    try:
        for path in ("/sync", "/micro"):
            took = []
            for _ in range(7):
                t0 = time.perf_counter()
                try:
                    urllib.request.urlopen(srv.url + path)
                except urllib.error.HTTPError as e:
                    assert e.code == 500
                took.append((time.perf_counter() - t0) * 1000)
                urllib.request.urlopen(srv.url + "/ok").read()
            print(f"runaway {path}: 500 after median {statistics.median(took):.0f} ms wall "
                  f"(max {max(took):.0f}) with a 50 ms CPU budget")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--connections", default="1,32")
    ap.add_argument("--rounds", type=int, default=3, help="runs per route; the median is reported")
    ap.add_argument("--limits", action="store_true", help="measure isolates and runaway stops instead")
    ap.add_argument("--routes", default="/plain.html,/trivial,/pricing-a.html,/pricing,/s5",
                    help="comma-separated routes to measure")
    a = ap.parse_args()
    if a.limits:
        return limits()
    if not shutil.which("wrk"):
        print("wrk is not installed", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-handlers-"))
    site = make_site(tmp)
    port = free_port()
    server = subprocess.Popen(pinned(1, [sys.executable, "-m", "edgenode", "serve", str(site), "--port", str(port),
                                         "--quiet", "--no-watch"]), stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/plain.html", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        for path in ("/trivial", "/pricing", "/pricing-a.html", "/s5"):  # warm the isolate and the cache
            for _ in range(50):
                urllib.request.urlopen(base + path).read()
        routes = a.routes.split(",")
        results: dict[tuple[str, int], tuple[float, float, float, float, float]] = {}
        for c in (int(x) for x in a.connections.split(",")):
            for route in routes:
                runs = sorted((wrk(base + route, c, a.duration, server.pid) for _ in range(a.rounds)),
                              key=lambda r: r[0])
                results[route, c] = runs[len(runs) // 2]
        print(f"{'route':<16} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'loop us/req':>11} "
              f"{'V8 us/req':>9}")
        for (route, c), (rps, p50, p99, main_us, other_us) in results.items():
            print(f"{route:<16} {c:>5} {rps:>9.0f} {p50:>8.3f} {p99:>8.3f} {main_us:>11.0f} {other_us:>9.0f}")
        print()
        for handler, baseline in (("/trivial", "/plain.html"), ("/pricing", "/pricing-a.html")):
            for c in (int(x) for x in a.connections.split(",")):
                if (handler, c) not in results or (baseline, c) not in results:
                    continue
                h, b = results[handler, c], results[baseline, c]
                print(f"{handler} vs {baseline} at c={c}: keeps {100 * h[0] / b[0]:.0f}% of the throughput, "
                      f"adds p50 {h[1] - b[1]:+.3f} ms, p99 {h[2] - b[2]:+.3f} ms, "
                      f"{1e6 / h[0] - 1e6 / b[0]:+.0f} us of server time per request")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
