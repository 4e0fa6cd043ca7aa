"""Cost of edgenode's Web API scripts in mini-racer: evaluation time per file and HTMLRewriter throughput.

Run: .venv/bin/python benchmarks/bench_js_webapis.py
Prints medians (the machine is shared; single runs are noisy).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from py_mini_racer import MiniRacer

import edgenode

JS_DIR = Path(edgenode.__file__).parent / "handlers" / "js"
LIBS = ["url", "encoding", "streams", "structured_clone", "htmlrewriter"]
RUNS = 15


def eval_cost(sources: list[str]) -> tuple[float, float]:
    """Median ms to evaluate the sources in a fresh isolate, raw and net of one trivial eval."""
    raw, base = [], []
    for _ in range(RUNS):
        mr = MiniRacer()
        try:
            t0 = time.perf_counter()
            mr.eval("0")
            t1 = time.perf_counter()
            for src in sources:
                mr.eval(src)
            t2 = time.perf_counter()
        finally:
            mr.close()
        base.append((t1 - t0) * 1000 / 1)
        raw.append((t2 - t1) * 1000)
    per_eval_overhead = statistics.median(base)
    return statistics.median(raw), statistics.median(raw) - per_eval_overhead * len(sources)


THROUGHPUT_JS = """
globalThis.__bench = undefined;
(async () => {
  const block = '<div class="card"><h2 id="t%d">Title &amp; more</h2><p>Some <b>bold</b> text with a '
    + '<a href="https://example.com/page?x=1">link</a> and an <img src="/img.png" alt="x"> image.</p>'
    + '<!-- note --><ul><li>one</li><li>two</li></ul><script>var a = 1 < 2;</script></div>\\n';
  let html = '<!DOCTYPE html><html><head><title>bench</title></head><body>';
  while (html.length < (1 << 20)) html += block;
  html += '</body></html>';
  const bytes = new TextEncoder().encode(html);
  const CHUNK = 16 << 10;
  const results = {};
  const text = html;
  const measure = (name, fn) => async () => {
    const times = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = Date.now();
      await fn();
      times.push(Date.now() - t0);
    }
    times.sort((a, b) => a - b);
    results[name] = {ms: times[times.length >> 1], first: times.length ? Math.max(...times) : 0, mb: bytes.length / (1 << 20)};
  };
  const chunksOf = () => {
    let i = 0;
    return new ReadableStream({pull(c) { if (i >= bytes.length) c.close(); else { c.enqueue(bytes.subarray(i, i + CHUNK)); i += CHUNK; } }});
  };
  await measure('streams only (identity TransformStream)', async () => {
    for await (const chunk of chunksOf().pipeThrough(new TransformStream())) void chunk;
  })();
  await measure('TextDecoder + TextEncoder only', async () => {
    const d = new TextDecoder(), e = new TextEncoder();
    for (let i = 0; i < bytes.length; i += CHUNK) e.encode(d.decode(bytes.subarray(i, i + CHUNK), {stream: true}));
  })();
  for (const [name, make] of Object.entries(MAKERS)) {
    await measure('core only (strings): ' + name, async () => {
      const core = make()._core();
      for (let i = 0; i < text.length; i += CHUNK) { const r = core.write(text.slice(i, i + CHUNK)); if (typeof r !== 'string') await r; }
      const r = core.end(); if (typeof r !== 'string') await r;
    })();
    await measure('full pipeline: ' + name, async () => {
      for await (const chunk of chunksOf().pipeThrough(make()._transformStream())) void chunk;
    })();
  }
  __bench = JSON.stringify(results);
})().catch(e => { __bench = JSON.stringify({error: String(e)}); });
"""

MAKERS_JS = """
globalThis.RUNS = %d;
globalThis.MAKERS = {
  'no handlers': () => new HTMLRewriter(),
  'a[href] setAttribute + h2 setInnerContent + document text': () => new HTMLRewriter()
    .on('a[href]', {element(el) { el.setAttribute('rel', 'nofollow'); }})
    .on('div.card > h2', {element(el) { el.setInnerContent('New'); }})
    .onDocument({text(t) {}}),
  'async element handler on every li': () => new HTMLRewriter().on('li', {async element(el) { await null; el.append('!'); }}),
};
"""


def throughput() -> dict[str, dict[str, float]]:
    mr = MiniRacer()
    try:
        for lib in ["encoding", "streams", "htmlrewriter"]:
            mr.eval((JS_DIR / f"{lib}.js").read_text())
        mr.eval(MAKERS_JS % 5)
        mr.eval(THROUGHPUT_JS)
        deadline = time.time() + 300
        while time.time() < deadline:
            raw = mr.eval("__bench === undefined ? '' : __bench")
            if raw:
                return json.loads(raw)
            time.sleep(0.05)
        raise TimeoutError("benchmark did not finish")
    finally:
        mr.close()


FLAT_MEMORY_JS = """
globalThis.__flat = undefined;
(async () => {
  const block = new TextEncoder().encode('<div class="card"><h2>Title</h2><p>Some <b>bold</b> text <a href="/x">link</a></p><!-- c --></div>\\n'.repeat(160));
  let sent = 0;
  const src = new ReadableStream({pull(c) { if (sent >= (50 << 20)) c.close(); else { c.enqueue(block); sent += block.length; } }});
  const rw = new HTMLRewriter().on('a[href]', {element(el) { el.setAttribute('rel', 'nofollow'); }}).on('h2', {text(t) {}});
  const t0 = Date.now();
  let out = 0;
  for await (const chunk of src.pipeThrough(rw._transformStream())) out += chunk.length;
  __flat = JSON.stringify({ms: Date.now() - t0, out});
})().catch(e => { __flat = JSON.stringify({error: String(e)}); });
"""


def flat_memory(limit_mb: int = 24) -> str:
    """Streams 50 MiB through HTMLRewriter under a small V8 heap limit: it only passes if memory stays flat."""
    mr = MiniRacer()
    try:
        for lib in ["encoding", "streams", "htmlrewriter"]:
            mr.eval((JS_DIR / f"{lib}.js").read_text())
        mr.set_hard_memory_limit(limit_mb << 20)
        mr.eval(FLAT_MEMORY_JS)
        raw = mr.eval("__flat === undefined ? '' : __flat")
        if not raw:
            return "did not finish"
        r = json.loads(raw)
        if "error" in r:
            return r["error"]
        return f"50 MiB streamed under a {limit_mb} MB heap limit in {r['ms']} ms ({50 / (r['ms'] / 1000):.1f} MB/s), {r['out']} bytes out"
    except Exception as e:  # JSOOMException: the rewriter held on to too much
        return f"failed: {type(e).__name__}: {e}"
    finally:
        mr.close()


def main() -> None:
    print(f"evaluation in a fresh isolate, median of {RUNS} (ms; 'net' subtracts one trivial eval round trip)")
    sources = {lib: (JS_DIR / f"{lib}.js").read_text() for lib in LIBS}
    for lib, src in sources.items():
        raw, net = eval_cost([src])
        print(f"  {lib + '.js':22} {len(src.encode()) / 1024:6.1f} KB  {raw:6.2f} ms  net {net:6.2f} ms")
    raw, net = eval_cost([" ;\n".join(sources.values())])
    total = sum(len(s.encode()) for s in sources.values()) / 1024
    print(f"  {'all five (one eval)':22} {total:6.1f} KB  {raw:6.2f} ms  net {net:6.2f} ms")
    print("HTMLRewriter, 1 MiB document in 16 KiB chunks, median of 5 in one isolate (slowest run = cold)")
    for name, r in throughput().items():
        if "ms" in r:
            print(f"  {name:78} {r['ms']:5d} ms  {r['mb'] / (max(r['ms'], 1) / 1000):6.1f} MB/s  (slowest {r['first']} ms)")
        else:
            print(f"  {name}: {r}")
    print("memory:", flat_memory())


if __name__ == "__main__":
    main()
