// Stream scenarios whose event logs are compared with Node's (tests/data/streams_node_logs.json).
// setTimeout0 (defined by the runner) defers by a few microtasks, so no real timers are involved.
// Each scenario: async (log) => {...}; logs events; run in node (native streams) and mini-racer (ours).
globalThis.SCENARIOS = {
  pullOrder: async (log) => {
    let n = 0;
    const rs = new ReadableStream({ start(c) { log('start', c.desiredSize); }, pull(c) { n++; log('pull', n, c.desiredSize); if (n <= 3) c.enqueue(n); else c.close(); } }, { highWaterMark: 2 });
    await null; await null; await null;
    const r = rs.getReader();
    for (;;) { const x = await r.read(); log('read', x.value, x.done); if (x.done) break; }
    await r.closed; log('closed');
  },
  asyncPull: async (log) => {
    let n = 0;
    const rs = new ReadableStream({ async pull(c) { n++; log('pull', n); await null; c.enqueue(n); if (n === 3) c.close(); } });
    const r = rs.getReader();
    const ps = [r.read(), r.read(), r.read(), r.read()];
    for (const p of ps) { const x = await p; log('read', x.value, x.done); }
  },
  cancelDuringPull: async (log) => {
    const rs = new ReadableStream({ pull(c) { log('pull'); return new Promise(() => {}); }, cancel(r) { log('cancel', r); } });
    const r = rs.getReader();
    const p = r.read();
    await null;
    await r.cancel('why');
    const x = await p; log('pending read', x.done);
  },
  errorQueued: async (log) => {
    const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.error(new Error('E')); } });
    const r = rs.getReader();
    try { const x = await r.read(); log('read', x.value); } catch (e) { log('err', e.message); }
    try { await r.closed; } catch (e) { log('closed err', e.message); }
  },
  closeWithQueue: async (log) => {
    let ctl;
    const rs = new ReadableStream({ start(c) { ctl = c; } });
    ctl.enqueue('a'); ctl.close();
    log('desired after close', ctl.desiredSize);
    const r = rs.getReader();
    r.closed.then(() => log('closed resolved'));
    log('read', JSON.stringify(await r.read()));
    log('read', JSON.stringify(await r.read()));
  },
  writerBackpressure: async (log) => {
    const ws = new WritableStream({ write(c) { log('sink write', c); return new Promise(r => setTimeout0(r)); }, close() { log('sink close'); } }, { highWaterMark: 2 });
    const w = ws.getWriter();
    log('desired', w.desiredSize);
    w.ready.then(() => log('ready 0'));
    const a = w.write('a'); log('desired', w.desiredSize);
    const b = w.write('b'); log('desired', w.desiredSize);
    const c = w.write('c'); log('desired', w.desiredSize);
    w.ready.then(() => log('ready later'));
    await a; log('a done'); await b; log('b done'); await c; log('c done', w.desiredSize);
    await w.close(); log('closed', w.desiredSize);
  },
  writerErrors: async (log) => {
    const ws = new WritableStream({ write(c) { if (c === 2) throw new Error('bad'); log('w', c); } });
    const w = ws.getWriter();
    const ps = [w.write(1), w.write(2), w.write(3)];
    for (const p of ps) { try { await p; log('ok'); } catch (e) { log('fail', e.message); } }
    try { await w.closed; } catch (e) { log('closed', e.message); }
    try { await w.ready; } catch (e) { log('ready', e.message); }
    log('desired', w.desiredSize);
  },
  abortWriter: async (log) => {
    const ws = new WritableStream({ write(c) { log('w', c); return new Promise(r => setTimeout0(r)); }, abort(r) { log('abort', r); } });
    const w = ws.getWriter();
    const p1 = w.write(1); const p2 = w.write(2);
    const ab = w.abort('stop');
    for (const p of [p1, p2, ab]) { try { await p; log('ok'); } catch (e) { log('fail', String(e)); } }
    try { await w.closed; } catch (e) { log('closed', String(e)); }
  },
  transformFlow: async (log) => {
    const ts = new TransformStream({
      start() { log('t start'); },
      transform(chunk, c) { log('transform', chunk, c.desiredSize); c.enqueue(chunk * 2); c.enqueue(chunk * 2 + 1); },
      flush(c) { log('flush'); },
    });
    const w = ts.writable.getWriter();
    const r = ts.readable.getReader();
    log('w desired', w.desiredSize);
    w.write(1).then(() => log('write 1 done'));
    w.write(2).then(() => log('write 2 done'));
    w.close().then(() => log('close done'));
    for (;;) { const x = await r.read(); log('read', x.value, x.done); if (x.done) break; }
  },
  transformError: async (log) => {
    const ts = new TransformStream({ transform(chunk) { throw new Error('t'); } });
    const w = ts.writable.getWriter();
    const r = ts.readable.getReader();
    const rp = r.read();
    try { await w.write(1); } catch (e) { log('write', e.message); }
    try { await rp; } catch (e) { log('read', e.message); }
    try { await w.closed; } catch (e) { log('wclosed', e.message); }
  },
  readableCancelErrorsWritable: async (log) => {
    const ts = new TransformStream({ cancel(r) { log('t cancel', r); } });
    const w = ts.writable.getWriter();
    await ts.readable.cancel('nope');
    try { await w.write(1); } catch (e) { log('write', String(e && e.name || e)); }
  },
  pipeBasic: async (log) => {
    const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } });
    const ws = new WritableStream({ write(c) { log('w', c); }, close() { log('close'); } });
    await rs.pipeTo(ws); log('piped', rs.locked, ws.locked);
  },
  pipePreventCancel: async (log) => {
    const rs = new ReadableStream({ pull(c) { c.enqueue('x'); }, cancel() { log('cancelled'); } });
    const ws = new WritableStream({ write() { throw new Error('w'); } });
    try { await rs.pipeTo(ws, { preventCancel: true }); } catch (e) { log('err', e.message, rs.locked); }
  },
  teeBasic: async (log) => {
    const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } });
    const [x, y] = rs.tee();
    const rx = x.getReader(), ry = y.getReader();
    log('x', JSON.stringify(await rx.read())); log('y', JSON.stringify(await ry.read()));
    log('x', JSON.stringify(await rx.read())); log('x', JSON.stringify(await rx.read()));
    log('y', JSON.stringify(await ry.read())); log('y', JSON.stringify(await ry.read()));
  },
  teeError: async (log) => {
    let ctl;
    const rs = new ReadableStream({ start(c) { ctl = c; } });
    const [x, y] = rs.tee();
    const px = x.getReader().read(), py = y.getReader().read();
    ctl.error(new Error('boom'));
    for (const p of [px, py]) { try { await p; } catch (e) { log('err', e.message); } }
  },
  iterReturn: async (log) => {
    const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); }, cancel(r) { log('cancel', String(r)); } });
    for await (const v of rs) { log('v', v); break; }
    log('locked', rs.locked);
  },
  fromIterable: async (log) => {
    function* g() { log('gen start'); yield 1; log('gen mid'); yield 2; log('gen end'); }
    const rs = ReadableStream.from(g());
    log('created');
    for await (const v of rs) log('v', v);
  },
  releaseWithPending: async (log) => {
    const rs = new ReadableStream();
    const r = rs.getReader();
    const p = r.read();
    r.releaseLock();
    try { await p; } catch (e) { log('pending', e.name); }
    try { await r.closed; } catch (e) { log('closed', e.name); }
    log('locked', rs.locked);
    const r2 = rs.getReader(); log('relock ok');
  },
  strategySizes: async (log) => {
    let ctl;
    const rs = new ReadableStream({ start(c) { ctl = c; } }, { highWaterMark: 10, size(ch) { return ch.length; } });
    ctl.enqueue('abcd'); log(ctl.desiredSize);
    ctl.enqueue('abcdefgh'); log(ctl.desiredSize);
    try { ctl.enqueue({ length: -1 }); } catch (e) { log('size err', e.name); }
    try { await rs.getReader().read(); } catch (e) { log('read err', e.name); }
  },
};
Object.assign(globalThis.SCENARIOS, {
  pipeThroughOrder: async (log) => {
    let n = 0;
    const src = new ReadableStream({ pull(c) { n++; log('src pull', n); if (n > 3) c.close(); else c.enqueue(n); } });
    const ts = new TransformStream({ transform(ch, c) { log('transform', ch); c.enqueue(ch * 10); }, flush() { log('flush'); } });
    const out = src.pipeThrough(ts);
    await null; await null; await null; await null;
    log('reading');
    const r = out.getReader();
    for (;;) { const x = await r.read(); log('read', x.value, x.done); if (x.done) break; }
  },
  writerCloseWithPending: async (log) => {
    const ws = new WritableStream({ async write(c) { log('w start', c); await null; await null; log('w end', c); }, close() { log('close'); } });
    const w = ws.getWriter();
    w.write(1).then(() => log('p1'));
    w.write(2).then(() => log('p2'));
    const cl = w.close();
    try { await w.write(3); } catch (e) { log('write after close', e.name); }
    await cl; log('closed');
  },
  controllerErrorWritable: async (log) => {
    let ctl;
    const ws = new WritableStream({ start(c) { ctl = c; }, write(c) { log('w', c); return new Promise(r => setTimeout0(r)); }, abort(r) { log('abort called', String(r)); } });
    const w = ws.getWriter();
    const p1 = w.write(1);
    await null;
    ctl.error(new Error('ctl'));
    try { await p1; log('p1 ok'); } catch (e) { log('p1', e.message); }
    try { await w.write(2); } catch (e) { log('w2', e.message); }
    try { await w.closed; } catch (e) { log('closed', e.message); }
  },
  fromThrowing: async (log) => {
    const it = { [Symbol.iterator]() { return { next() { throw new Error('it'); } }; } };
    const rs = ReadableStream.from(it);
    try { await rs.getReader().read(); } catch (e) { log('err', e.message); }
  },
  // (transformReadableHWM differs from Node in when a write promise settles; not recorded.)
  transformReadableHWM: async (log) => {
    const ts = new TransformStream({ transform(ch, c) { log('t', ch, c.desiredSize); c.enqueue(ch); } }, undefined, { highWaterMark: 2 });
    const w = ts.writable.getWriter();
    for (const i of [1, 2, 3, 4]) w.write(i).then(() => log('wrote', i));
    for (let i = 0; i < 8; i++) await null;
    log('desired', w.desiredSize);
    const r = ts.readable.getReader();
    log('r', (await r.read()).value);
    for (let i = 0; i < 8; i++) await null;
    log('desired', w.desiredSize);
  },
  valuesPreventCancel: async (log) => {
    const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.enqueue(3); c.close(); }, cancel() { log('cancel'); } });
    for await (const v of rs.values({ preventCancel: true })) { log('v', v); break; }
    log('locked', rs.locked);
    for await (const v of rs) log('rest', v);
  },
  cancelAfterClose: async (log) => {
    const rs = new ReadableStream({ start(c) { c.close(); }, cancel() { log('cancel called'); } });
    await rs.cancel('x'); log('cancel resolved');
    const r = rs.getReader(); log(JSON.stringify(await r.read()));
  },
  pipeToErroredDest: async (log) => {
    const ws = new WritableStream({ start(c) { c.error(new Error('dest dead')); } });
    await null;
    const rs = new ReadableStream({ pull(c) { c.enqueue(1); }, cancel(r) { log('src cancel', r && r.message); } });
    try { await rs.pipeTo(ws); } catch (e) { log('pipe', e.message); }
  },
  pipeToSlowWriter: async (log) => {
    let n = 0;
    const rs = new ReadableStream({ pull(c) { n++; log('pull', n); if (n > 4) c.close(); else c.enqueue(n); } }, { highWaterMark: 0 });
    const ws = new WritableStream({ write(c) { log('write', c); return new Promise(r => setTimeout0(r)); }, close() { log('close'); } }, { highWaterMark: 1 });
    await rs.pipeTo(ws); log('done');
  },
});
