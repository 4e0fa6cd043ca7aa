/* edgenode Web API: Streams (https://streams.spec.whatwg.org), a compact implementation.
 *
 * Plain script. Defines on globalThis: ReadableStream, ReadableStreamDefaultReader,
 * ReadableStreamDefaultController, WritableStream, WritableStreamDefaultWriter,
 * WritableStreamDefaultController, TransformStream, TransformStreamDefaultController,
 * ByteLengthQueuingStrategy, CountQueuingStrategy.
 *
 * Supported: underlying sources/sinks/transformers with start/pull/cancel, write/close/abort,
 * transform/flush/cancel (sync or returning promises, all serialised as the spec orders them);
 * highWaterMark + size() backpressure (controller.desiredSize, writer.ready, pull only while
 * desiredSize > 0 or a read is waiting); getReader() read/releaseLock/cancel/closed; tee();
 * pipeTo() with preventClose/preventAbort/preventCancel/signal; pipeThrough(); async iteration
 * (values({preventCancel})); ReadableStream.from(iterable | async iterable).
 * Everything is driven by promise microtasks only (no timers).
 * Runtime hook (not standard): `stream.__disturbed` is true once the stream was read from,
 * piped or cancelled (the spec's [[disturbed]]), for Request/Response `bodyUsed`.
 * Known gaps: {type: 'bytes'} streams are accepted but behave as default streams (no BYOB reader,
 * getReader({mode: 'byob'}) throws TypeError); no transferable streams; error messages differ
 * from browsers' wording. Event order was checked against Node's WHATWG streams on a set of
 * scenarios (pull timing, cancel, errors, writer backpressure, abort, transform, pipe, tee).
 */
(function () {
  'use strict';
  const g = globalThis;
  const noop = () => {};
  const resolved = Promise.resolve();

  function deferred() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(noop); // internal promises never count as unhandled
    return { promise, resolve, reject };
  }
  // Calls method on obj (if present) and returns a promise of its result.
  function invoke(obj, name, args) {
    try {
      const fn = obj == null ? undefined : obj[name];
      if (fn === undefined) return resolved;
      if (typeof fn !== 'function') throw new TypeError(`${name} is not a function`);
      return Promise.resolve(fn.apply(obj, args));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  function strategyOf(strategy, defaultHWM) {
    const s = strategy == null ? {} : strategy;
    let hwm = s.highWaterMark === undefined ? defaultHWM : Number(s.highWaterMark);
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError('Invalid highWaterMark');
    const size = s.size === undefined ? () => 1 : s.size;
    if (typeof size !== 'function') throw new TypeError('size must be a function');
    return { hwm, size };
  }
  function chunkSize(size, chunk) {
    const n = Number(size(chunk));
    if (!(n >= 0) || n === Infinity) throw new RangeError('The return value of size() must be a finite, non-negative number');
    return n;
  }

  // ==== ReadableStream ==========================================================================
  const RS = Symbol('readable state');

  class ReadableStreamDefaultController {
    constructor(key) { if (key !== RS) throw new TypeError('Illegal constructor'); }
    get desiredSize() {
      const st = this[RS];
      if (st.state === 'errored') return null;
      if (st.state === 'closed') return 0;
      return st.hwm - st.queueSize;
    }
    enqueue(chunk) {
      const st = this[RS];
      if (st.closeRequested || st.state !== 'readable') throw new TypeError('Cannot enqueue a chunk into a readable stream that is closed or has been requested to be closed');
      const reader = st.reader;
      if (reader && reader.requests.length) {
        reader.requests.shift().resolve({ value: chunk, done: false });
      } else {
        let n;
        try { n = chunkSize(st.size, chunk); } catch (e) { rsError(st, e); throw e; }
        st.queue.push(chunk, n);
        st.queueSize += n;
      }
      rsPullIfNeeded(st);
    }
    close() {
      const st = this[RS];
      if (st.closeRequested || st.state !== 'readable') throw new TypeError('Cannot close a readable stream that is closed or has been requested to be closed');
      st.closeRequested = true;
      if (st.queue.length === 0) rsClose(st);
    }
    error(e) { rsError(this[RS], e); }
  }

  function rsPullIfNeeded(st) {
    if (!st.started || st.closeRequested || st.state !== 'readable') return;
    const waiting = st.reader && st.reader.requests.length > 0;
    if (!waiting && st.hwm - st.queueSize <= 0) return;
    if (st.pulling) { st.pullAgain = true; return; }
    st.pulling = true;
    invoke(st.source, 'pull', [st.controller]).then(() => {
      st.pulling = false;
      if (st.pullAgain) { st.pullAgain = false; rsPullIfNeeded(st); }
    }, (e) => rsError(st, e));
  }

  function rsClose(st) {
    if (st.state !== 'readable') return;
    st.state = 'closed';
    const reader = st.reader;
    if (reader) {
      for (const r of reader.requests.splice(0)) r.resolve({ value: undefined, done: true });
      reader._closed.resolve();
    }
  }

  function rsError(st, e) {
    if (st.state !== 'readable') return;
    st.state = 'errored';
    st.storedError = e;
    st.queue.length = 0;
    st.queueSize = 0;
    const reader = st.reader;
    if (reader) {
      for (const r of reader.requests.splice(0)) r.reject(e);
      reader._closed.reject(e);
    }
  }

  function rsCancel(st, reason) {
    st.disturbed = true;
    if (st.state === 'closed') return resolved;
    if (st.state === 'errored') return Promise.reject(st.storedError);
    st.queue.length = 0;
    st.queueSize = 0;
    rsClose(st);
    return invoke(st.source, 'cancel', [reason]).then(noop);
  }

  class ReadableStream {
    constructor(underlyingSource, strategy) {
      const source = underlyingSource == null ? {} : underlyingSource;
      if (source.type !== undefined && String(source.type) !== 'bytes') throw new TypeError(`Invalid type: ${source.type}`);
      const { hwm, size } = strategyOf(strategy, source.type === 'bytes' ? 0 : 1);
      const controller = new ReadableStreamDefaultController(RS);
      const st = {
        state: 'readable', reader: null, storedError: undefined, disturbed: false, source, controller,
        queue: [], queueSize: 0, hwm, size, started: false, pulling: false, pullAgain: false, closeRequested: false,
      };
      controller[RS] = st;
      this[RS] = st;
      const startResult = source.start === undefined ? undefined : source.start(controller);
      Promise.resolve(startResult).then(() => { st.started = true; rsPullIfNeeded(st); }, (e) => rsError(st, e));
    }
    get locked() { return this[RS].reader !== null; }
    cancel(reason) {
      if (this.locked) return Promise.reject(new TypeError('Cannot cancel a stream that already has a reader'));
      return rsCancel(this[RS], reason);
    }
    getReader(options) {
      if (options && options.mode !== undefined) {
        throw new TypeError(String(options.mode) === 'byob' ? 'BYOB readers are not supported by edgenode' : `Invalid mode: ${options.mode}`);
      }
      return new ReadableStreamDefaultReader(this);
    }
    tee() { return teeStream(this); }
    pipeTo(destination, options) {
      if (!(destination instanceof WritableStream)) return Promise.reject(new TypeError('pipeTo: destination is not a WritableStream'));
      if (this.locked) return Promise.reject(new TypeError('Cannot pipe a locked stream'));
      if (destination.locked) return Promise.reject(new TypeError('Cannot pipe to a locked stream'));
      return pipe(this, destination, options == null ? {} : options);
    }
    pipeThrough(transform, options) {
      if (transform == null || !(transform.readable instanceof ReadableStream) || !(transform.writable instanceof WritableStream)) {
        throw new TypeError('pipeThrough: argument must be a {writable, readable} pair');
      }
      if (this.locked) throw new TypeError('Cannot pipe a locked stream');
      if (transform.writable.locked) throw new TypeError('Cannot pipe to a locked stream');
      pipe(this, transform.writable, options == null ? {} : options).catch(noop);
      return transform.readable;
    }
    values(options) {
      const reader = this.getReader();
      const preventCancel = Boolean(options && options.preventCancel);
      let finished = false;
      const it = Object.create(AsyncIteratorProto);
      it.next = () => {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return reader.read().then((r) => {
          if (r.done) { finished = true; reader.releaseLock(); }
          return r;
        }, (e) => { finished = true; reader.releaseLock(); throw e; });
      };
      it.return = (value) => {
        if (finished) return Promise.resolve({ value, done: true });
        finished = true;
        const p = preventCancel ? resolved : reader.cancel(value);
        return p.then(() => { reader.releaseLock(); return { value, done: true }; });
      };
      return it;
    }
    [Symbol.asyncIterator](options) { return this.values(options); }
    static from(asyncIterable) {
      if (asyncIterable instanceof ReadableStream) return asyncIterable;
      let method = asyncIterable == null ? undefined : asyncIterable[Symbol.asyncIterator];
      let iterator;
      if (method == null) {
        const syncMethod = asyncIterable == null ? undefined : asyncIterable[Symbol.iterator];
        if (typeof syncMethod !== 'function') throw new TypeError('ReadableStream.from: argument is not iterable');
        const syncIt = syncMethod.call(asyncIterable);
        iterator = {
          next: () => { const r = syncIt.next(); return Promise.resolve(r.value).then((value) => ({ value, done: r.done })); },
          return: (v) => Promise.resolve(typeof syncIt.return === 'function' ? syncIt.return(v) : { done: true }),
        };
      } else {
        iterator = method.call(asyncIterable);
      }
      return new ReadableStream({
        pull(c) {
          return Promise.resolve(iterator.next()).then((r) => {
            if (typeof r !== 'object' || r === null) throw new TypeError('iterator result is not an object');
            if (r.done) c.close(); else c.enqueue(r.value);
          });
        },
        cancel(reason) {
          if (typeof iterator.return !== 'function') return undefined;
          return Promise.resolve(iterator.return(reason)).then((r) => {
            if (typeof r !== 'object' || r === null) throw new TypeError('iterator.return() result is not an object');
          });
        },
      }, { highWaterMark: 0 });
    }
    // Not standard: the spec's [[disturbed]] flag (read from or cancelled), for Request/Response
    // bodyUsed in the handler runtime. Assigning a truthy value marks the stream disturbed.
    get __disturbed() { return this[RS].disturbed; }
    set __disturbed(v) { if (v) this[RS].disturbed = true; }
    get [Symbol.toStringTag]() { return 'ReadableStream'; }
  }
  Object.defineProperty(ReadableStream.prototype, '__disturbed', { enumerable: false });
  const AsyncIteratorProto = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);

  class ReadableStreamDefaultReader {
    constructor(stream) {
      if (!(stream instanceof ReadableStream)) throw new TypeError('ReadableStreamDefaultReader needs a ReadableStream');
      const st = stream[RS];
      if (st.reader) throw new TypeError('ReadableStream is locked to a reader');
      Object.defineProperty(this, RS, { value: st, writable: true });
      Object.defineProperty(this, 'requests', { value: [], writable: true });
      Object.defineProperty(this, '_closed', { value: deferred(), writable: true });
      st.reader = this;
      if (st.state === 'closed') this._closed.resolve();
      else if (st.state === 'errored') this._closed.reject(st.storedError);
    }
    get closed() { return this._closed.promise; }
    read() {
      const st = this[RS];
      if (!st) return Promise.reject(new TypeError('This reader has been released'));
      st.disturbed = true;
      if (st.queue.length) {
        const chunk = st.queue.shift();
        st.queueSize -= st.queue.shift();
        if (st.queue.length === 0) st.queueSize = 0;
        if (st.closeRequested && st.queue.length === 0) rsClose(st);
        else rsPullIfNeeded(st);
        return Promise.resolve({ value: chunk, done: false });
      }
      if (st.state === 'closed') return Promise.resolve({ value: undefined, done: true });
      if (st.state === 'errored') return Promise.reject(st.storedError);
      const d = deferred();
      this.requests.push(d);
      rsPullIfNeeded(st);
      return d.promise;
    }
    cancel(reason) {
      const st = this[RS];
      if (!st) return Promise.reject(new TypeError('This reader has been released'));
      return rsCancel(st, reason);
    }
    releaseLock() {
      const st = this[RS];
      if (!st) return;
      const err = new TypeError('Reader was released');
      for (const r of this.requests.splice(0)) r.reject(err);
      if (st.state !== 'readable') this._closed = deferred();
      this._closed.reject(err);
      st.reader = null;
      this[RS] = null;
    }
    get [Symbol.toStringTag]() { return 'ReadableStreamDefaultReader'; }
  }

  function teeStream(stream) {
    const reader = stream.getReader();
    let reading = false, readAgain = false;
    let canceled1 = false, canceled2 = false, reason1, reason2;
    let c1, c2;
    const cancelDone = deferred();
    function pullAlgorithm() {
      if (reading) { readAgain = true; return resolved; }
      reading = true;
      reader.read().then((r) => {
        reading = false;
        if (r.done) {
          if (!canceled1) c1.close();
          if (!canceled2) c2.close();
          cancelDone.resolve();
          return;
        }
        // Both branches get the same chunk, as the spec's default tee does (no cloning).
        if (!canceled1) c1.enqueue(r.value);
        if (!canceled2) c2.enqueue(r.value);
        if (readAgain) { readAgain = false; pullAlgorithm(); }
      }, (e) => {
        reading = false;
        c1.error(e); c2.error(e);
        cancelDone.resolve();
      });
      return resolved;
    }
    function cancelBoth() {
      reader.cancel([reason1, reason2]).then(cancelDone.resolve, cancelDone.reject);
    }
    const b1 = new ReadableStream({
      start(c) { c1 = c; }, pull: pullAlgorithm,
      cancel(r) { canceled1 = true; reason1 = r; if (canceled2) cancelBoth(); return cancelDone.promise; },
    });
    const b2 = new ReadableStream({
      start(c) { c2 = c; }, pull: pullAlgorithm,
      cancel(r) { canceled2 = true; reason2 = r; if (canceled1) cancelBoth(); return cancelDone.promise; },
    });
    reader.closed.catch((e) => { c1.error(e); c2.error(e); cancelDone.resolve(); });
    return [b1, b2];
  }

  function pipe(source, dest, opts) {
    const preventClose = Boolean(opts.preventClose), preventAbort = Boolean(opts.preventAbort);
    const preventCancel = Boolean(opts.preventCancel), signal = opts.signal;
    const reader = source.getReader();
    const writer = dest.getWriter();
    source[RS].disturbed = true;
    const done = deferred();
    let shuttingDown = false;
    let lastWrite = resolved;

    function finish(error, isError) {
      writer.releaseLock();
      reader.releaseLock();
      if (signal && abortListener) signal.removeEventListener('abort', abortListener);
      if (isError) done.reject(error); else done.resolve();
    }
    // Waits for the writes already started, then runs action, then finishes.
    function shutdown(action, error, isError) {
      if (shuttingDown) return;
      shuttingDown = true;
      lastWrite.catch(noop).then(() => (action ? action() : undefined)).then(
        () => finish(error, isError), (newError) => finish(newError, true));
    }
    const destErrored = writer.closed.then(() => { throw new TypeError('destination closed'); });
    destErrored.catch(noop);
    destErrored.catch((e) => {
      shutdown(preventCancel ? null : () => reader.cancel(e), e, true);
    });
    // A clean end of the source is seen by the read loop (so chunks read before it are written).
    reader.closed.then(noop, (e) => {
      shutdown(preventAbort ? null : () => writer.abort(e), e, true);
    });
    let abortListener = null;
    if (signal) {
      const onAbort = () => {
        const reason = signal.reason === undefined ? abortError() : signal.reason;
        const actions = [];
        if (!preventAbort) actions.push(() => (dest[WS].state === 'writable' ? writer.abort(reason) : resolved));
        if (!preventCancel) actions.push(() => (source[RS].state === 'readable' ? reader.cancel(reason) : resolved));
        shutdown(() => Promise.all(actions.map((a) => a())), reason, true);
      };
      if (signal.aborted) { onAbort(); return done.promise; }
      abortListener = onAbort;
      signal.addEventListener('abort', onAbort);
    }
    (function loop() {
      if (shuttingDown) return;
      Promise.race([writer.ready, destErrored]).then(() => {
        if (shuttingDown) return undefined;
        return reader.read().then((r) => {
          if (shuttingDown) return;
          if (r.done) { shutdown(preventClose ? null : () => writer.close(), undefined, false); return; }
          lastWrite = writer.write(r.value);
          lastWrite.catch(noop);
          loop();
        });
      }).catch(noop);
    })();
    return done.promise;
  }
  function abortError() {
    if (typeof g.DOMException === 'function') return new g.DOMException('This operation was aborted', 'AbortError');
    const e = new Error('This operation was aborted');
    e.name = 'AbortError';
    return e;
  }

  // ==== WritableStream ==========================================================================
  const WS = Symbol('writable state');

  class WritableStreamDefaultController {
    constructor(key) { if (key !== WS) throw new TypeError('Illegal constructor'); }
    get signal() { return this[WS].abortController ? this[WS].abortController.signal : undefined; }
    error(e) { wsError(this[WS], e); }
  }

  function wsDesiredSize(st) {
    if (st.state === 'errored' || st.state === 'erroring') return null;
    if (st.state === 'closed') return 0;
    return st.hwm - st.queueSize;
  }
  function wsUpdateBackpressure(st) {
    const w = st.writer;
    const bp = st.state === 'writable' && !st.closeRequest && st.hwm - st.queueSize <= 0;
    if (bp === st.backpressure) return;
    st.backpressure = bp;
    if (w) {
      if (bp) w._ready = deferred();
      else w._ready.resolve();
    }
  }
  // Erroring as the spec does it: "erroring" until the write or close in flight settles, then
  // "errored" (queued writes rejected, sink.abort called for a pending abort request).
  function wsStartErroring(st, reason) {
    st.state = 'erroring';
    st.storedError = reason;
    const writer = st.writer;
    if (writer) {
      if (!st.backpressure) writer._ready = deferred();
      writer._ready.reject(reason);
    }
    if (!st.inFlight && st.started) wsFinishErroring(st);
  }
  function wsRejectCloseAndClosed(st) {
    if (st.closeRequest && !st.inFlight) { st.closeRequest.reject(st.storedError); st.closeRequest = null; }
    if (st.writer) st.writer._closed.reject(st.storedError);
  }
  function wsFinishErroring(st) {
    st.state = 'errored';
    for (const w of st.queue.splice(0)) w.reject(st.storedError);
    st.queueSize = 0;
    const req = st.abortRequest;
    st.abortRequest = null;
    if (!req) { wsRejectCloseAndClosed(st); return; }
    if (req.wasAlreadyErroring) { req.d.reject(st.storedError); wsRejectCloseAndClosed(st); return; }
    invoke(st.sink, 'abort', [req.reason]).then(
      () => { req.d.resolve(); wsRejectCloseAndClosed(st); },
      (e) => { req.d.reject(e); wsRejectCloseAndClosed(st); });
  }
  function wsDealWithRejection(st, e) {
    if (st.state === 'writable') wsStartErroring(st, e);
    else if (st.state === 'erroring') wsFinishErroring(st);
  }
  function wsError(st, e) {
    if (st.state === 'writable') wsStartErroring(st, e);
  }
  function wsAdvance(st) {
    if (!st.started || st.inFlight) return;
    if (st.state === 'erroring') { wsFinishErroring(st); return; }
    if (st.state !== 'writable') return;
    if (st.queue.length === 0) {
      if (!st.closeRequest) return;
      st.inFlight = true;
      invoke(st.sink, 'close', []).then(() => {
        st.inFlight = false;
        const req = st.closeRequest;
        st.closeRequest = null;
        if (st.state === 'erroring') {
          st.storedError = undefined;
          if (st.abortRequest) { st.abortRequest.d.resolve(); st.abortRequest = null; }
        }
        st.state = 'closed';
        req.resolve();
        if (st.writer) st.writer._closed.resolve();
      }, (e) => {
        st.inFlight = false;
        st.closeRequest.reject(e);
        st.closeRequest = null;
        if (st.abortRequest) { st.abortRequest.d.reject(e); st.abortRequest = null; }
        wsDealWithRejection(st, e);
      });
      return;
    }
    const w = st.queue[0];
    st.inFlight = true;
    invoke(st.sink, 'write', [w.chunk, st.controller]).then(() => {
      st.inFlight = false;
      st.queue.shift();
      st.queueSize -= w.size;
      if (st.queue.length === 0) st.queueSize = 0;
      w.resolve();
      if (st.state === 'writable') wsUpdateBackpressure(st);
      wsAdvance(st);
    }, (e) => {
      st.inFlight = false;
      st.queue.shift();
      w.reject(e);
      wsDealWithRejection(st, e);
    });
  }
  function wsWrite(st, chunk) {
    if (st.state === 'errored' || st.state === 'erroring') return Promise.reject(st.storedError);
    if (st.closeRequest || st.state === 'closed') return Promise.reject(new TypeError('Cannot write to a closing or closed stream'));
    let size;
    try { size = chunkSize(st.size, chunk); } catch (e) { wsError(st, e); return Promise.reject(e); }
    const d = deferred();
    d.chunk = chunk;
    d.size = size;
    st.queue.push(d);
    st.queueSize += size;
    wsUpdateBackpressure(st);
    wsAdvance(st);
    return d.promise;
  }
  function wsClose(st) {
    if (st.state === 'closed' || st.state === 'errored') return Promise.reject(new TypeError('Cannot close a stream that is closed or errored'));
    if (st.closeRequest) return Promise.reject(new TypeError('Cannot close a stream that is already closing'));
    const d = deferred();
    st.closeRequest = d;
    if (st.backpressure && st.writer && st.state === 'writable') st.writer._ready.resolve();
    st.backpressure = false;
    wsAdvance(st);
    return d.promise;
  }
  function wsAbort(st, reason) {
    if (st.state === 'closed' || st.state === 'errored') return resolved;
    if (st.abortController) { try { st.abortController.abort(reason); } catch (_) { /* listener errors are not ours */ } }
    if (st.state === 'closed' || st.state === 'errored') return resolved;
    if (st.abortRequest) return st.abortRequest.d.promise;
    const wasAlreadyErroring = st.state === 'erroring';
    const d = deferred();
    st.abortRequest = { d, reason: wasAlreadyErroring ? undefined : reason, wasAlreadyErroring };
    if (!wasAlreadyErroring) wsStartErroring(st, reason);
    return d.promise;
  }

  class WritableStream {
    constructor(underlyingSink, strategy) {
      const sink = underlyingSink == null ? {} : underlyingSink;
      if (sink.type !== undefined) throw new RangeError('Invalid type is specified');
      const { hwm, size } = strategyOf(strategy, 1);
      const controller = new WritableStreamDefaultController(WS);
      const st = {
        state: 'writable', writer: null, storedError: undefined, sink, controller, queue: [], queueSize: 0,
        hwm, size, started: false, inFlight: false, closeRequest: null, backpressure: false, abortRequest: null,
        abortController: typeof g.AbortController === 'function' ? new g.AbortController() : null,
      };
      controller[WS] = st;
      this[WS] = st;
      wsUpdateBackpressure(st);
      const startResult = sink.start === undefined ? undefined : sink.start(controller);
      Promise.resolve(startResult).then(() => { st.started = true; wsAdvance(st); }, (e) => { st.started = true; wsDealWithRejection(st, e); });
    }
    get locked() { return this[WS].writer !== null; }
    abort(reason) {
      if (this.locked) return Promise.reject(new TypeError('Cannot abort a stream that already has a writer'));
      return wsAbort(this[WS], reason);
    }
    close() {
      if (this.locked) return Promise.reject(new TypeError('Cannot close a stream that already has a writer'));
      return wsClose(this[WS]);
    }
    getWriter() { return new WritableStreamDefaultWriter(this); }
    get [Symbol.toStringTag]() { return 'WritableStream'; }
  }

  class WritableStreamDefaultWriter {
    constructor(stream) {
      if (!(stream instanceof WritableStream)) throw new TypeError('WritableStreamDefaultWriter needs a WritableStream');
      const st = stream[WS];
      if (st.writer) throw new TypeError('WritableStream is locked to a writer');
      Object.defineProperty(this, WS, { value: st, writable: true });
      Object.defineProperty(this, '_ready', { value: deferred(), writable: true });
      Object.defineProperty(this, '_closed', { value: deferred(), writable: true });
      st.writer = this;
      if (st.state === 'writable') { if (!st.backpressure || st.closeRequest) this._ready.resolve(); }
      else if (st.state === 'closed') { this._ready.resolve(); this._closed.resolve(); }
      else if (st.state === 'erroring') this._ready.reject(st.storedError);
      else { this._ready.reject(st.storedError); this._closed.reject(st.storedError); }
    }
    get closed() { return this._closed.promise; }
    get ready() { return this._ready.promise; }
    get desiredSize() {
      if (!this[WS]) throw new TypeError('This writer has been released');
      return wsDesiredSize(this[WS]);
    }
    write(chunk) {
      if (!this[WS]) return Promise.reject(new TypeError('This writer has been released'));
      return wsWrite(this[WS], chunk);
    }
    close() {
      if (!this[WS]) return Promise.reject(new TypeError('This writer has been released'));
      return wsClose(this[WS]);
    }
    abort(reason) {
      if (!this[WS]) return Promise.reject(new TypeError('This writer has been released'));
      return wsAbort(this[WS], reason);
    }
    releaseLock() {
      const st = this[WS];
      if (!st) return;
      const err = new TypeError('Writer was released');
      this._ready = deferred(); this._ready.reject(err);
      this._closed = deferred(); this._closed.reject(err);
      st.writer = null;
      this[WS] = null;
    }
    get [Symbol.toStringTag]() { return 'WritableStreamDefaultWriter'; }
  }

  // ==== TransformStream =========================================================================
  const TS = Symbol('transform state');

  class TransformStreamDefaultController {
    constructor(key) { if (key !== TS) throw new TypeError('Illegal constructor'); }
    get desiredSize() { return this[TS].readableController.desiredSize; }
    enqueue(chunk) {
      const ts = this[TS];
      ts.readableController.enqueue(chunk);
      const desired = ts.readableController.desiredSize;
      if (desired !== null && desired <= 0) tsSetBackpressure(ts, true);
    }
    error(e) { tsError(this[TS], e); }
    terminate() {
      const ts = this[TS];
      const rst = ts.readable[RS];
      if (rst.state === 'readable' && !rst.closeRequested) ts.readableController.close();
      tsErrorWritable(ts, new TypeError('TransformStream terminated'));
    }
  }
  function tsSetBackpressure(ts, bp) {
    if (ts.backpressure === bp) return;
    if (ts.backpressureChange) ts.backpressureChange.resolve();
    ts.backpressureChange = deferred();
    ts.backpressure = bp;
  }
  function tsErrorWritable(ts, e) {
    wsError(ts.writable[WS], e);
    if (ts.backpressure) tsSetBackpressure(ts, false);
  }
  function tsError(ts, e) {
    rsError(ts.readable[RS], e);
    tsErrorWritable(ts, e);
  }

  class TransformStream {
    constructor(transformer, writableStrategy, readableStrategy) {
      const t = transformer == null ? {} : transformer;
      if (t.readableType !== undefined) throw new RangeError('Invalid readableType specified');
      if (t.writableType !== undefined) throw new RangeError('Invalid writableType specified');
      const controller = new TransformStreamDefaultController(TS);
      const startDone = deferred();
      const ts = { backpressure: undefined, backpressureChange: null, readableController: null, controller, readable: null, writable: null, transformer: t };
      controller[TS] = ts;
      this[TS] = ts;
      const transform = typeof t.transform === 'function'
        ? (chunk) => invoke(t, 'transform', [chunk, controller])
        : (chunk) => { try { controller.enqueue(chunk); return resolved; } catch (e) { return Promise.reject(e); } };
      const performTransform = (chunk) => transform(chunk).catch((e) => { tsError(ts, e); throw e; });
      ts.writable = new WritableStream({
        start: () => startDone.promise,
        write: (chunk) => {
          if (ts.backpressure) {
            return ts.backpressureChange.promise.then(() => {
              const wst = ts.writable[WS];
              if (wst.state === 'erroring' || wst.state === 'errored') throw wst.storedError;
              return performTransform(chunk);
            });
          }
          return performTransform(chunk);
        },
        close: () => invoke(t, 'flush', [controller]).then(() => {
          const rst = ts.readable[RS];
          if (rst.state === 'errored') throw rst.storedError;
          if (rst.state === 'readable' && !rst.closeRequested) ts.readableController.close();
        }, (e) => { tsError(ts, e); throw e; }),
        abort: (reason) => {
          const p = invoke(t, 'cancel', [reason]);
          return p.then(() => rsError(ts.readable[RS], reason), (e) => { rsError(ts.readable[RS], e); throw e; });
        },
      }, writableStrategy);
      ts.readable = new ReadableStream({
        start: (c) => { ts.readableController = c; return startDone.promise; },
        pull: () => { tsSetBackpressure(ts, false); return ts.backpressureChange.promise; },
        cancel: (reason) => {
          const p = invoke(t, 'cancel', [reason]);
          return p.then(() => tsErrorWritable(ts, reason), (e) => { tsErrorWritable(ts, e); throw e; });
        },
      }, readableStrategy === undefined ? { highWaterMark: 0 } : readableStrategy);
      tsSetBackpressure(ts, true);
      let startResult;
      try {
        startResult = t.start === undefined ? undefined : t.start(controller);
      } catch (e) { startDone.reject(e); throw e; }
      Promise.resolve(startResult).then(startDone.resolve, startDone.reject);
    }
    get readable() { return this[TS].readable; }
    get writable() { return this[TS].writable; }
    get [Symbol.toStringTag]() { return 'TransformStream'; }
  }

  // ==== Queuing strategies ======================================================================
  class ByteLengthQueuingStrategy {
    constructor(init) {
      if (init == null || init.highWaterMark === undefined) throw new TypeError('highWaterMark is required');
      Object.defineProperty(this, 'highWaterMark', { value: Number(init.highWaterMark), enumerable: true });
    }
    get size() { return byteLengthSize; }
  }
  const byteLengthSize = function size(chunk) { return chunk.byteLength; };
  class CountQueuingStrategy {
    constructor(init) {
      if (init == null || init.highWaterMark === undefined) throw new TypeError('highWaterMark is required');
      Object.defineProperty(this, 'highWaterMark', { value: Number(init.highWaterMark), enumerable: true });
    }
    get size() { return countSize; }
  }
  const countSize = function size() { return 1; };

  const exported = {
    ReadableStream, ReadableStreamDefaultReader, ReadableStreamDefaultController, WritableStream,
    WritableStreamDefaultWriter, WritableStreamDefaultController, TransformStream,
    TransformStreamDefaultController, ByteLengthQueuingStrategy, CountQueuingStrategy,
  };
  for (const name of Object.keys(exported)) {
    Object.defineProperty(g, name, { value: exported[name], writable: true, configurable: true, enumerable: false });
  }
})();
