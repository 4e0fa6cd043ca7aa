"""ReadableStream, WritableStream, TransformStream (edgenode/handlers/js/streams.js) in a bare isolate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsenv import JSEnv, JSError


@pytest.fixture(scope="module")
def js() -> Iterator[JSEnv]:
    env = JSEnv("streams")
    env.eval(
        """
        globalThis.collect = async (stream) => { const out = []; for await (const c of stream) out.push(c); return out; };
        globalThis.ticks = async (n = 10) => { for (let i = 0; i < n; i++) await null; };
        """
    )
    yield env
    env.close()


def test_reader_loop_and_close(js: JSEnv) -> None:
    got = js.run(
        """
        const rs = new ReadableStream({start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); }});
        const reader = rs.getReader();
        const out = [rs.locked];
        for (;;) { const {value, done} = await reader.read(); if (done) break; out.push(value); }
        await reader.closed;
        out.push((await reader.read()).done);
        reader.releaseLock();
        out.push(rs.locked);
        try { await reader.read(); } catch (e) { out.push(e.name); }
        return out;
        """
    )
    assert got == [True, "a", "b", True, False, "TypeError"]


def test_pull_respects_high_water_mark(js: JSEnv) -> None:
    got = js.run(
        """
        let pulls = 0;
        const rs = new ReadableStream({pull(c) { pulls++; c.enqueue(pulls); }}, {highWaterMark: 3});
        await ticks();
        const before = pulls;
        const reader = rs.getReader();
        const first = (await reader.read()).value;
        await ticks();
        return [before, first, pulls];
        """
    )
    assert got == [3, 1, 4]


def test_lazy_pull_with_zero_high_water_mark(js: JSEnv) -> None:
    got = js.run(
        """
        let pulls = 0;
        const rs = new ReadableStream({pull(c) { pulls++; c.enqueue(pulls); }}, {highWaterMark: 0});
        await ticks();
        const before = pulls;
        const r = rs.getReader();
        await r.read(); await r.read();
        await ticks();
        return [before, pulls];
        """
    )
    assert got == [0, 2]


def test_cancel_and_error(js: JSEnv) -> None:
    got = js.run(
        """
        let reason;
        const rs = new ReadableStream({start(c) { c.enqueue(1); }, cancel(r) { reason = r; }});
        const reader = rs.getReader();
        await reader.cancel('stop');
        const afterCancel = await reader.read();
        await reader.closed;
        const erroring = new ReadableStream({start(c) { c.error(new RangeError('boom')); }});
        const r2 = erroring.getReader();
        const errs = [];
        try { await r2.read(); } catch (e) { errs.push(e.message); }
        try { await r2.closed; } catch (e) { errs.push(e.name); }
        let pullErr;
        try { await collect(new ReadableStream({pull() { throw new Error('pull failed'); }})); } catch (e) { pullErr = e.message; }
        return [reason, afterCancel.done, errs, pullErr];
        """
    )
    assert got == ["stop", True, ["boom", "RangeError"], "pull failed"]


def test_enqueue_after_close_throws(js: JSEnv) -> None:
    with pytest.raises(JSError, match="TypeError"):
        js.run("new ReadableStream({start(c) { c.close(); c.enqueue(1); }})")
    with pytest.raises(JSError, match="TypeError"):
        js.run("const rs = new ReadableStream(); rs.getReader(); rs.getReader();")
    with pytest.raises(JSError, match="TypeError"):
        js.run("new ReadableStream().getReader({mode: 'byob'})")


def test_tee(js: JSEnv) -> None:
    got = js.run(
        """
        let cancelReason;
        const src = new ReadableStream({
          start(c) { c.enqueue(1); c.enqueue(2); c.enqueue(3); c.close(); },
          cancel(r) { cancelReason = r; },
        });
        const [a, b] = src.tee();
        const [ra, rb] = await Promise.all([collect(a), collect(b)]);
        const [c1, c2] = new ReadableStream({pull(c) { c.enqueue('x'); }, cancel(r) { cancelReason = r; }}).tee();
        // As in the spec, a branch's cancel() settles once both branches are cancelled.
        const first = c1.cancel('one');
        await ticks();
        const before = cancelReason;
        await c2.cancel('two');
        await first;
        return [ra, rb, src.locked, before, cancelReason];
        """
    )
    assert got == [[1, 2, 3], [1, 2, 3], True, None, ["one", "two"]]


def test_pipe_through_transform(js: JSEnv) -> None:
    got = js.run(
        """
        const upper = new TransformStream({
          transform(chunk, c) { c.enqueue(chunk.toUpperCase()); },
          flush(c) { c.enqueue('<end>'); },
        });
        const slow = new TransformStream({
          async transform(chunk, c) { await ticks(3); c.enqueue('[' + chunk + ']'); },
        });
        const out = await collect(ReadableStream.from(['a', 'b', 'c']).pipeThrough(upper).pipeThrough(slow));
        const terminated = await collect(ReadableStream.from([1, 2, 3, 4]).pipeThrough(new TransformStream({
          transform(chunk, c) { c.enqueue(chunk); if (chunk === 2) c.terminate(); },
        })));
        return [out, terminated];
        """
    )
    assert got == [["[A]", "[B]", "[C]", "[<end>]"], [1, 2]]


def test_transform_error_propagates(js: JSEnv) -> None:
    with pytest.raises(JSError, match="Error: bad chunk"):
        js.run(
            """
            await collect(ReadableStream.from([1, 2]).pipeThrough(new TransformStream({
              transform(chunk) { if (chunk === 2) throw new Error('bad chunk'); },
            })));
            """
        )


def test_transform_stream_backpressure(js: JSEnv) -> None:
    got = js.run(
        """
        const seen = [];
        const ts = new TransformStream({transform(chunk, c) { seen.push(chunk); c.enqueue(chunk); }});
        const writer = ts.writable.getWriter();
        writer.write('a'); writer.write('b'); writer.write('c');
        await ticks();
        const before = seen.slice();
        const desired = writer.desiredSize;
        const reader = ts.readable.getReader();
        const first = await reader.read();
        await ticks();
        return [before, desired, first.value, seen.length < 3 ? 'lazy' : 'eager'];
        """
    )
    # Nothing is transformed until the readable side is read (readable highWaterMark 0).
    assert got[0] == [] and got[2] == "a" and got[1] <= 0


def test_writable_stream(js: JSEnv) -> None:
    got = js.run(
        """
        const log = [];
        let release;
        const ws = new WritableStream({
          write(chunk) { log.push('w' + chunk); return new Promise(r => { release = r; }); },
          close() { log.push('close'); },
        }, {highWaterMark: 2});
        const w = ws.getWriter();
        const d0 = w.desiredSize;
        const p1 = w.write(1); const p2 = w.write(2);
        const d2 = w.desiredSize;
        let readyResolved = false; w.ready.then(() => { readyResolved = true; });
        await ticks();
        const blocked = !readyResolved;
        release(); await p1; await ticks(); release(); await p2;
        await ticks();
        const closing = w.close();
        let writeAfterClose;
        try { await w.write(3); } catch (e) { writeAfterClose = e.name; }
        await closing; await w.closed;
        return [d0, d2, blocked, readyResolved, log, writeAfterClose];
        """
    )
    assert got == [2, 0, True, True, ["w1", "w2", "close"], "TypeError"]


def test_writable_abort_and_sink_error(js: JSEnv) -> None:
    got = js.run(
        """
        let aborted;
        const ws = new WritableStream({write() { return new Promise(() => {}); }, abort(r) { aborted = r; }});
        const w = ws.getWriter();
        w.write('stuck').catch(() => {});
        const queued = w.write('queued').catch(e => 'rejected:' + e);
        w.abort('why');
        const q = await queued;
        const failing = new WritableStream({write() { throw new TypeError('sink says no'); }}).getWriter();
        let err;
        try { await failing.write(1); } catch (e) { err = e.message; }
        let closedErr;
        try { await failing.closed; } catch (e) { closedErr = e.message; }
        return [q, err, closedErr];
        """
    )
    assert got == ["rejected:why", "sink says no", "sink says no"]


def test_pipe_to(js: JSEnv) -> None:
    got = js.run(
        """
        const sink = [];
        let closed = false, abortReason, cancelReason;
        await ReadableStream.from([1, 2, 3]).pipeTo(new WritableStream({write(c) { sink.push(c); }, close() { closed = true; }}));
        const keepOpen = new WritableStream({close() { throw new Error('should not close'); }});
        await ReadableStream.from([4]).pipeTo(keepOpen, {preventClose: true});
        let e1;
        try {
          await new ReadableStream({start(c) { c.enqueue(1); c.error('src failed'); }})
            .pipeTo(new WritableStream({abort(r) { abortReason = r; }}));
        } catch (e) { e1 = e; }
        let e2;
        try {
          await new ReadableStream({pull(c) { c.enqueue(1); }, cancel(r) { cancelReason = String(r); }})
            .pipeTo(new WritableStream({write() { throw new Error('dest failed'); }}));
        } catch (e) { e2 = e.message; }
        return [sink, closed, keepOpen.locked, e1, abortReason, e2, cancelReason];
        """
    )
    assert got == [[1, 2, 3], True, False, "src failed", "src failed", "dest failed", "Error: dest failed"]


def test_async_iteration_and_from(js: JSEnv) -> None:
    got = js.run(
        """
        let cancelled = false, returned = false;
        const rs = new ReadableStream({pull(c) { c.enqueue('x'); }, cancel() { cancelled = true; }});
        for await (const chunk of rs) { break; }
        const kept = new ReadableStream({start(c) { c.enqueue(1); c.enqueue(2); c.close(); }});
        for await (const chunk of kept.values({preventCancel: true})) { break; }
        const rest = await collect(kept);
        async function* gen() { try { yield 1; yield 2; yield 3; } finally { returned = true; } }
        const fromGen = ReadableStream.from(gen());
        const reader = fromGen.getReader();
        const first = (await reader.read()).value;
        await reader.cancel();
        return [cancelled, rest, first, returned, await collect(ReadableStream.from(new Set(['s'])))];
        """
    )
    assert got == [True, [2], 1, True, ["s"]]


def test_queuing_strategies(js: JSEnv) -> None:
    got = js.run(
        """
        let ctl;
        new ReadableStream({start(c) { ctl = c; }}, new ByteLengthQueuingStrategy({highWaterMark: 16}));
        ctl.enqueue(new Uint8Array(10));
        const bytes = ctl.desiredSize;
        let ctl2;
        new ReadableStream({start(c) { ctl2 = c; }}, new CountQueuingStrategy({highWaterMark: 4}));
        ctl2.enqueue('a'); ctl2.enqueue('b');
        return [bytes, ctl2.desiredSize, new CountQueuingStrategy({highWaterMark: 2}).highWaterMark];
        """
    )
    assert got == [6, 2, 2]


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.text(max_size=5), max_size=12),
    hwms=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    async_steps=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_pipelines_preserve_order(js: JSEnv, chunks: list[str], hwms: list[int], async_steps: list[bool]) -> None:
    """Any chain of identity transforms, sync or async, with any highWaterMarks, delivers every chunk in order.

    (A writable highWaterMark of 0 is left out: pipeTo then never starts, as in the spec, whatwg/streams#1158.)
    """
    got = js.run(
        f"""
        let s = ReadableStream.from({json.dumps(chunks)});
        const hwms = {json.dumps(hwms)}, asyncSteps = {json.dumps(async_steps)};
        hwms.forEach((h, i) => {{
          s = s.pipeThrough(new TransformStream({{
            transform: asyncSteps[i] ? async (c, ctl) => {{ await null; ctl.enqueue(c); }} : undefined,
          }}, {{highWaterMark: h}}, {{highWaterMark: h - 1}}));
        }});
        return await collect(s);
        """
    )
    assert got == chunks


def test_disturbed_flag_for_body_used(js: JSEnv) -> None:
    got = js.run(
        """
        const fresh = ReadableStream.from(['a']);
        const read = ReadableStream.from(['a']);
        await read.getReader().read();
        const piped = ReadableStream.from(['a']);
        await collect(piped.pipeThrough(new TransformStream()));
        const cancelled = ReadableStream.from(['a']);
        await cancelled.cancel();
        const marked = new ReadableStream();
        marked.__disturbed = true;
        return [fresh.__disturbed, read.__disturbed, piped.__disturbed, piped.locked, cancelled.__disturbed, marked.__disturbed,
                Object.keys(fresh).includes('__disturbed')];
        """
    )
    assert got == [False, True, True, False, True, True, False]


DATA = Path(__file__).parent / "data"
NODE_LOGS = json.loads((DATA / "streams_node_logs.json").read_text())["logs"]


@pytest.fixture(scope="module")
def scenario_logs() -> Iterator[dict[str, list[str]]]:
    env = JSEnv("streams")
    try:
        env.eval("globalThis.setTimeout0 = (f) => Promise.resolve().then(() => Promise.resolve()).then(f);")
        env.eval((DATA / "streams_scenarios.js").read_text())
        yield env.run(
            """
            const out = {};
            for (const [k, f] of Object.entries(SCENARIOS)) {
              const log = [];
              try { await f((...a) => log.push(a.map(String).join(' '))); } catch (e) { log.push('THROW ' + e); }
              out[k] = log;
            }
            return out;
            """
        )
    finally:
        env.close()


@pytest.mark.parametrize("name", sorted(NODE_LOGS))
def test_event_order_matches_node(scenario_logs: dict[str, list[str]], name: str) -> None:
    assert scenario_logs[name] == NODE_LOGS[name]
