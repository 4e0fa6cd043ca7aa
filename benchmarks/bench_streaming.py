"""What streaming a body through an edge handler costs (issue 7, scenario S6), in two parts.

1. In one isolate (edgenode's V8 flags and Web API scripts, no server): TextEncoder.encode and
   TextDecoder.decode of 64 KB of HTML (the wasm codec, and the JavaScript path it replaced), and
   the S6 transform (decode, split/join, encode through a TransformStream) replayed on 100 KB.
2. Through `edgenode serve` pinned to one CPU, wrk on the other, 32 connections: the S6 site
   (benchmarks/scenarios.py REWRITE_HANDLER on a 100 KB page) plus the same page through an
   identity TransformStream and untouched (`return fetch(event.request)`). For each: requests/s,
   p50/p99, and CPU microseconds per request of the main Python thread and of the V8 isolate
   thread (from /proc/<pid>/task/*/stat during the run: less noisy than requests/s on a shared
   machine).

Run: .venv/bin/python benchmarks/bench_streaming.py [--seconds 5] [--connections 32] [--no-server]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tools  # noqa: E402
from scenarios import MARKER, REPLACEMENT, REWRITE_STREAM, s6_site  # noqa: E402

IDENTITY_HANDLER = """\
export function onRequest(event) {
  event.replaceResponse(async () => {
    const res = await fetch(event.request);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(res.body.pipeThrough(new TransformStream()), { status: res.status, headers });
  });
}
"""
UNTOUCHED_HANDLER = "export function onRequest(event) { event.replaceResponse(() => fetch(event.request)); }\n"

CODEC_JS = r"""
(() => {
  const page = PAGE;
  const T = (fn, n) => { for (let i = 0; i < 20; i++) fn(); const t0 = Date.now(); for (let i = 0; i < n; i++) fn(); return (Date.now() - t0) * 1000 / n; };
  const text = page.slice(0, 65536), bytes = new TextEncoder().encode(text);
  const jsDecode = (b) => { let s = ''; for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192)); return s; };
  const jsEncode = (s) => { const o = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) o[i] = s.charCodeAt(i); return o; };
  return JSON.stringify({
    "TextEncoder.encode, 64 KB (wasm codec)": T(() => new TextEncoder().encode(text), 300),
    "TextDecoder.decode, 64 KB (wasm codec)": T(() => new TextDecoder().decode(bytes), 300),
    "JS loop encode (ASCII only), 64 KB": T(() => jsEncode(text), 100),
    "JS String.fromCharCode.apply, 64 KB": T(() => jsDecode(bytes), 100),
  });
})()
"""

REPLAY_JS = REWRITE_STREAM + r"""
globalThis.__replay = async (runs) => {
  const page = new TextEncoder().encode(PAGE);
  const once = async () => {
    let i = 0;
    const src = new ReadableStream({ pull(c) { if (i >= page.length) c.close(); else { c.enqueue(page.subarray(i, i + 65536)); i += 65536; } } });
    const reader = src.pipeThrough(rewriteStream()).getReader();
    for (;;) { const { done } = await reader.read(); if (done) break; }
  };
  for (let k = 0; k < 20; k++) await once();
  const t0 = Date.now();
  for (let k = 0; k < runs; k++) await once();
  globalThis.__replayResult = (Date.now() - t0) * 1000 / runs;
};
"""


async def isolate_part(page: str) -> dict[str, float]:
    from edgenode.handlers import loader, v8

    v8.init()
    mr, _tid = await v8.new_isolate()
    try:
        for name in ("core.js", "encoding.js", "streams.js"):
            await mr.eval_cancelable(loader.js_source(name))
        import json

        lit = json.dumps(page)
        out = json.loads(await mr.eval_cancelable(CODEC_JS.replace("PAGE", lit)))
        await mr.eval_cancelable(REPLAY_JS.replace("PAGE", lit))
        await mr.eval_cancelable("__replay(200), 0")
        while (await mr.eval_cancelable("globalThis.__replayResult ?? -1")) == -1:
            await asyncio.sleep(0.05)
        out["S6 transform replay, 100 KB (no server)"] = await mr.eval_cancelable("__replayResult")
        return out
    finally:
        mr.close()


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return out


def measure_route(port: int, pid: int, path: str, seconds: float, conns: int) -> tuple[tools.WrkResult, float, float]:
    """wrk on CPU 0; CPU us/request of the main thread and of the busiest other thread (the isolate)."""
    tools.run_wrk(port, path, conns, 2, "0")  # warm up
    result: list[tools.WrkResult] = []
    runner = threading.Thread(target=lambda: result.append(tools.run_wrk(port, path, conns, seconds, "0")))
    runner.start()
    time.sleep(1.0)
    a = thread_cpu(pid)
    window = max(1.0, seconds - 2.0)
    time.sleep(window)
    b = thread_cpu(pid)
    runner.join()
    rps = result[0].rps
    used = {t: b[t] - a.get(t, 0.0) for t in b}
    main = used.pop(pid, 0.0)
    isolate = max(used.values(), default=0.0)
    per = 1e6 / (rps * window) if rps else float("nan")
    return result[0], main * per, isolate * per


def server_part(seconds: float, conns: int) -> list[tuple[str, tools.WrkResult, float, float]]:
    tools.ensure_tools(need_nginx=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        s6_site(site, 0)
        handlers = site / "netlify" / "edge-handlers"
        (handlers / "identity.js").write_text(IDENTITY_HANDLER)
        (handlers / "untouched.js").write_text(UNTOUCHED_HANDLER)
        page = (site / "page.html").read_bytes()
        (site / "identity.html").write_bytes(page)
        (site / "untouched.html").write_bytes(page)
        with open(site / "netlify.toml", "a") as fh:
            for name in ("identity", "untouched"):
                fh.write(f'\n[[edge_handlers]]\n  handler = "{name}"\n  path = "/{name}.html"\n')
        port = tools.free_port()
        proc = tools.start_edgenode(site, port, "1", "1")
        try:
            tools.wait_ready(port, proc)
            want = page.replace(MARKER.encode(), REPLACEMENT.encode())
            for path, body in (("/page.html", want), ("/identity.html", page), ("/untouched.html", page)):
                got = tools.fetch(port, path)
                if got.status != 200 or got.body != body:
                    raise SystemExit(f"{path}: wrong answer ({got.status}, {len(got.body)} bytes)")
            for label, path in (("S6 rewrite (decode, split/join, encode)", "/page.html"),
                                ("identity TransformStream", "/identity.html"),
                                ("untouched body (fetch(event.request))", "/untouched.html")):
                rows.append((label, *measure_route(port, proc.pid, path, seconds, conns)))
            if tools.fetch(port, "/page.html").body != want:
                raise SystemExit("S6: wrong answer after the load")
        finally:
            tools.stop(proc)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-server", action="store_true", help="only the in-isolate part")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s6_site(Path(tmp), 0)
        page = (Path(tmp) / "page.html").read_text()
    costs = asyncio.run(isolate_part(page))
    print("In one isolate (us per call, mean of a timed loop):")
    for name, us in costs.items():
        print(f"  {name:<44} {us:8.1f}")
    if args.no_server:
        return 0
    rows = server_part(args.seconds, args.connections)
    print(f"\nedgenode serve on CPU 1, wrk -c{args.connections} on CPU 0, 100 KB page through a handler:")
    print(f"  {'route':<42} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'main us/req':>12} {'V8 us/req':>10}")
    for label, r, main_us, v8_us in rows:
        print(f"  {label:<42} {r.rps:8.0f} {r.p50_ms:7.1f} {r.p99_ms:7.1f} {main_us:12.0f} {v8_us:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
