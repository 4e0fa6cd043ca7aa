#!/usr/bin/env python3
"""Origins benchmark: proxied requests/s as a ratio of hitting the upstream directly, and warm function
invocation latency (p50/p99) for a JavaScript and a Python function.

    python benchmarks/bench_origins.py [--seconds 5] [--connections 32]

Needs `wrk` and `taskset`. Throughput is "one core running X": the upstream alone on core 0
(direct), then edgenode alone on core 0 proxying to the upstream on core 1 (proxied); wrk runs on
core 1. Latency is measured over HTTP with one keep-alive connection (wrk --latency -c1), so it
includes the node's whole request path, not only the worker round trip; the pool's own round trip
is measured in-process as well. Numbers are noisy on a shared machine: take the median of a few runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UPSTREAM_APP = r"""
import sys
from aiohttp import web
body = b"x" * 1024
async def hello(request):
    return web.Response(body=body, content_type="text/plain")
app = web.Application()
app.router.add_get("/{tail:.*}", hello)
try:
    import uvloop; uvloop.install()
except ImportError:
    pass
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

# Without the rule engine, a stand-in for `/api/* UPSTREAM/:splat 200` (same OriginTarget).
EDGENODE_WITH_ROUTE = r"""
import sys
from edgenode.exchange import OriginTarget
from edgenode.routing import phase
upstream = sys.argv.pop(1)
original = phase.route
async def route(node, ex):
    if ex.path.startswith("/api/"):
        ex.target = OriginTarget("proxy", upstream + ex.request.raw_path[4:], ex.query_string)
        return
    await original(node, ex)
phase.route = route
from edgenode.cli import main
sys.exit(main())
"""

JS_FN = "exports.handler = async (event) => ({statusCode: 200, headers: {'content-type': 'text/plain'}, body: 'js ' + event.path});\n"
PY_FN = "def handler(event, context):\n    return {'statusCode': 200, 'headers': {'content-type': 'text/plain'}, 'body': 'py ' + event['path']}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start(cmd: list[str], core: int, **kw) -> subprocess.Popen:
    return subprocess.Popen(["taskset", "-c", str(core), *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def wrk(url: str, seconds: int, connections: int, latency: bool = False) -> str:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if latency:
        cmd.insert(-1, "--latency")
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def rps(out: str) -> float:
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m or "Non-2xx" in out or "Socket errors" in out and "timeout" in out:
        raise RuntimeError("wrk failed:\n" + out)
    return float(m.group(1))


def percentiles(out: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))


def edgenode_cmd(site: Path, port: int, upstream: str) -> list[str]:
    base = ["serve", str(site), "--port", str(port), "--quiet", "--no-watch"]
    if importlib.util.find_spec("edgenode.config.redirects") is not None:
        (site / "_redirects").write_text(f"/api/* {upstream}/:splat 200\n")
        return [sys.executable, "-m", "edgenode", *base]
    return [sys.executable, "-c", EDGENODE_WITH_ROUTE, upstream, *base]


async def pool_round_trips(site: Path, n: int = 2000) -> dict[str, tuple[float, float]]:
    """The worker round trip alone (frame out, function, frame back), without HTTP."""
    from edgenode.origins.functions import node_binary
    from edgenode.origins.workers import WorkerPool

    out = {}
    runtimes = [("python", [sys.executable, "-P", str(Path(__file__).parents[1] / "edgenode/origins/py_runner.py")],
                 site / "netlify/functions/pyhello.py")]
    node = node_binary()
    if node:
        runtimes.append(("node", [node, str(Path(__file__).parents[1] / "edgenode/origins/node_runner.js")],
                         site / "netlify/functions/jshello.js"))
    event = {"path": "/x", "httpMethod": "GET", "headers": {}, "multiValueHeaders": {}, "queryStringParameters": {},
             "multiValueQueryStringParameters": {}, "body": None, "isBase64Encoded": False, "rawUrl": "http://h/x",
             "rawQuery": ""}
    for name, argv, file in runtimes:
        pool = WorkerPool(name, argv, dict(os.environ), str(site), 1)
        await pool.start()
        msg = {"id": 0, "file": str(file), "background": False, "event": event,
               "context": {"functionName": "f", "requestId": "r", "timeoutMs": 30000, "clientContext": {}}}
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            await pool.invoke(msg, b"", 30)
            if i >= 100:
                times.append(time.perf_counter() - t0)
        await pool.close()
        times.sort()
        out[name] = (times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="alternating direct/proxied rounds (default 3)")
    a = ap.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed for this benchmark", file=sys.stderr)
            return 2
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        (site / "netlify/functions").mkdir(parents=True)
        (site / "index.html").write_text("home")
        (site / "netlify/functions/jshello.js").write_text(JS_FN)
        (site / "netlify/functions/pyhello.py").write_text(PY_FN)
        try:
            # Two upstreams: one on core 0 (measured directly), one on core 1 (behind edgenode on core 0).
            # Rounds alternate so that the machine's background load hits both alike; medians are printed.
            direct_port, behind_port, en_port = free_port(), free_port(), free_port()
            procs.append(start([sys.executable, "-c", UPSTREAM_APP, str(direct_port)], 0))
            procs.append(start([sys.executable, "-c", UPSTREAM_APP, str(behind_port)], 1))
            procs.append(start(edgenode_cmd(site, en_port, f"http://127.0.0.1:{behind_port}"), 0))
            for port in (direct_port, behind_port, en_port):
                wait_port(port)
            direct_url = f"http://127.0.0.1:{direct_port}/hello"
            base = f"http://127.0.0.1:{en_port}"
            wrk(direct_url, 1, a.connections)
            wrk(base + "/api/warm", 1, a.connections)
            directs, proxieds = [], []
            for _ in range(a.rounds):
                directs.append(rps(wrk(direct_url, a.seconds, a.connections)))
                proxieds.append(rps(wrk(base + "/api/hello", a.seconds, a.connections)))
            direct, proxied = statistics.median(directs), statistics.median(proxieds)
            # For scale: the same node answering a cached static page, with no upstream at all.
            static = rps(wrk(base + "/", a.seconds, a.connections))
            ratios = sorted(p / d for p, d in zip(proxieds, directs, strict=True))
            print(f"upstream direct (1 core):   {direct:10.0f} req/s   (median of {a.rounds})")
            print(f"through edgenode (1 core):  {proxied:10.0f} req/s")
            print(f"edgenode static hit (1 core): {static:8.0f} req/s   (the node's own ceiling, for scale)")
            print(f"ratio proxied/direct:       {proxied / direct:10.2f}   (target >= 0.5; per round "
                  f"{', '.join(f'{r:.2f}' for r in ratios)})")
            # 3. warm function invocations over HTTP, one connection
            for name in ("jshello", "pyhello"):
                url = f"{base}/.netlify/functions/{name}"
                wrk(url, 1, 1)
                out = wrk(url, a.seconds, 1, latency=True)
                p = percentiles(out)
                print(f"function {name:8s} over HTTP: p50 {p.get('50', '?'):>8s}  p99 {p.get('99', '?'):>8s}  "
                      f"({rps(out):.0f} req/s on one connection)")
        finally:
            for p in procs:
                if p.poll() is None:
                    stop(p)
        for name, (p50, p99) in asyncio.run(pool_round_trips(site)).items():
            print(f"worker round trip {name:6s}:  p50 {p50:6.3f} ms  p99 {p99:6.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
