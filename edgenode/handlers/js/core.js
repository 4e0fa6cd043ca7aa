// edgenode isolate core: the event + drain protocol with the host, modules, console, timers,
// queueMicrotask, DOMException, crypto, performance. Evaluated first in every isolate.
//
// The host (handlers/runtime.py) talks to this file only through two functions, which it takes
// from __edge once and then calls (the batch's JSON text goes in as data, never as source); it
// deletes globalThis.__edge before the site's own code is evaluated (edgenode's scripts captured it):
//   __edge.run(json list of events)  -- deliver events (start, op results, stream pulls)
//   __edge.drain()                    -- collect the outbox as one JSON string
// Everything a handler asks of the host (origin fetch, fetch, cache, timers, digests, body
// chunks, console lines) is an outbox message; answers come back as "r" (result) events.
(() => {
  "use strict";
  const outbox = [];
  const ops = new Map(); // opId -> [resolve, reject]
  const live = new Map(); // rid -> invocation record {dead}
  const queue = [];
  let queuePos = 0; // next event of `queue` to deliver (kept across a terminated run for recover())
  let opSeq = 0;
  let current = 0; // rid whose synchronous code is running (for CPU attribution after a terminate)
  const handlers = new Map(); // phase handlers registered by event.js: kind -> fn
  const outStreams = new Map(); // sid -> {rid, next(): Promise<Uint8Array|null>, cancel()}
  let streamSeq = 0;

  // ---- the byte channel: body bytes cross without base64 or JSON --------------------------
  // One SharedArrayBuffer per isolate, handed to the host once (channel()) and otherwise only
  // reachable from this closure. Its first half carries bytes host -> JS: the host writes them
  // before it posts a run() whose "k" events name them, and run() copies each into a fresh
  // Uint8Array before any handler code of the batch runs. Its second half carries bytes
  // JS -> host: a chunk message names [offset, length], and the host copies the bytes out when
  // the eval that returned the message comes back. Offsets there restart with a host run() (the
  // host posts one only after it has read everything of the previous batch). What does not fit
  // crosses as base64 instead.
  const CHAN_HALF = 2 << 20;
  const chanBuf = new SharedArrayBuffer(2 * CHAN_HALF);
  const chanIn = new Uint8Array(chanBuf, 0, CHAN_HALF);
  const chanOut = new Uint8Array(chanBuf, CHAN_HALF, CHAN_HALF);
  // Handler code must never get a reference to the channel: every call with a view of it as
  // receiver or argument goes through intrinsics captured now, before any handler code runs,
  // not through prototypes or globals a handler could have replaced since.
  const U8 = Uint8Array, apply = Reflect.apply, u8set = U8.prototype.set, u8fromBase64 = U8.fromBase64;
  const u8length = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(U8.prototype), "length").get;
  let chanGiven = false;
  let chanOutOn = true; // off when the host cannot read the channel: chunks then go as base64
  let outPos = 0;
  const incoming = new Map(); // byte id -> Uint8Array, taken by the body code it was sent for
  function channel() {
    if (chanGiven) throw new Error("edgenode: the byte channel was already taken");
    chanGiven = true;
    return chanBuf;
  }
  function channelOff() { chanOutOn = false; }
  function takeIn(ev) {
    let u;
    if (ev[2] >= 0) {
      u = new U8(ev[3]);
      apply(u8set, u, [new U8(chanBuf, ev[2], ev[3])]);
    } else {
      u = apply(u8fromBase64, U8, [ev[3]]);
    }
    incoming.set(ev[1], u);
  }
  // The bytes the host sent under `id`, once. They must be taken in the microtask checkpoint of
  // the batch that brought them (fetch.js does, in the first reaction to the host call's
  // result): what nobody took is dropped at the next run.
  function takeBytes(id) {
    const u = incoming.get(id);
    if (u === undefined) throw new TypeError("edgenode: body bytes are no longer available");
    incoming.delete(id);
    return u;
  }
  // takeBytes for fetch.js, given once (handler code, loaded later, cannot get at it).
  let bytesGiven = false;
  function bodyBytes() {
    if (bytesGiven) throw new Error("edgenode: body bytes access was already given");
    bytesGiven = true;
    return takeBytes;
  }
  // The `n` bytes of `u` for the host: [offset, length] in the channel, or base64 when the channel
  // is off or the chunk is larger than the whole half (emitChunk holds back what merely does not
  // fit now: see mustWait).
  function outBytes(u, n) {
    if (!chanOutOn || outPos + n > CHAN_HALF) return u.toBase64();
    apply(u8set, chanOut, [u, outPos]);
    const ref = [outPos, n];
    outPos += n;
    return ref;
  }
  // Stream messages (chunks, ends, errors) that came when the channel's JS -> host half was full
  // wait here, in order, for the next run(), which empties the channel; "spill" in the outbox
  // makes the host post that run at once. (Base64 in the batch JSON carried them before: at 256
  // streams that made batches of 15 MB, parsed with 180 MB of scratch memory, 21% of chunks.)
  // Once anything waits, every later stream message waits behind it, so each stream keeps its order.
  const spill = []; // [sid, Uint8Array copy | null (end) | error fields array]
  let spillTold = false;
  // n bytes would fit in the channel once it is empty, but not now.
  function mustWait(n) { return chanOutOn && n <= CHAN_HALF && outPos + n > CHAN_HALF; }
  function emitChunk(sid, u) { // true: sent now; false: waits in the spill
    if (u !== null) {
      const n = apply(u8length, u, []); // a genuine typed array (throws otherwise)
      if (spill.length || mustWait(n)) {
        const copy = new U8(n); // the producer may reuse its array once the read resolved
        apply(u8set, copy, [u]);
        spill.push([sid, copy]);
        return false;
      }
      push(["chunk", sid, outBytes(u, n)]);
      return true;
    }
    if (spill.length) { spill.push([sid, null]); return false; }
    push(["chunk", sid, null]);
    return true;
  }
  function emitStreamError(sid, e) {
    const fields = errorFields(e);
    if (spill.length) spill.push([sid, fields]);
    else push(["serr", sid, ...fields]);
  }
  function flushSpill() {
    let i = 0;
    for (; i < spill.length; i++) {
      const [sid, v] = spill[i];
      if (v === null) push(["chunk", sid, null]);
      else if (!(v instanceof U8)) push(["serr", sid, ...v]);
      else if (!mustWait(v.length)) push(["chunk", sid, outBytes(v, v.length)]);
      else break;
    }
    spill.splice(0, i);
  }

  function errorFields(e) {
    let name = "Error", message, stack = "";
    try {
      if (e !== null && typeof e === "object" && typeof e.message === "string") {
        name = String(e.name || "Error");
        message = e.message;
        stack = typeof e.stack === "string" ? e.stack : "";
      } else {
        message = String(e);
      }
    } catch (_) {
      message = "(an unprintable value was thrown)";
    }
    return [name, message, stack];
  }

  function push(msg) { outbox.push(msg); }

  // Which invocation a host call belongs to: the one running synchronously, else the only one.
  function opRid() {
    if (current) return current;
    if (live.size === 1) for (const k of live.keys()) return k;
    return 0;
  }

  function hostOp(op, arg, rid) {
    const id = ++opSeq;
    push(["op", rid === undefined ? opRid() : rid, id, op, arg]);
    return new Promise((res, rej) => ops.set(id, [res, rej]));
  }

  function settle(id, ok, value) {
    const p = ops.get(id);
    if (!p) return;
    ops.delete(id);
    if (ok) p[0](value);
    else {
      const [name, message] = value || ["Error", "host call failed"];
      p[1](makeError(name, message));
    }
  }

  function makeError(name, message) {
    const ctor = { TypeError, RangeError, SyntaxError }[name];
    if (ctor) return new ctor(message);
    if (name === "Error") return new Error(message);
    return new DOMException(message, name);
  }

  function start(rid, kind, args) {
    live.set(rid, { dead: false, d: args[1], subs: 0, local: 0 });
    let r;
    try {
      const fn = handlers.get(kind);
      if (!fn) throw new Error(`edgenode: no dispatcher for ${kind}`);
      r = fn(rid, ...args);
    } catch (e) {
      fail(rid, e);
      return;
    }
    // A handler that finished synchronously is answered by this very eval (no drain round trip).
    if (r !== null && typeof r === "object" && typeof r.then === "function") r.then((v) => done(rid, v), (e) => fail(rid, e));
    else done(rid, r);
  }

  function done(rid, value) {
    const rec = live.get(rid);
    if (!rec || rec.dead) return;
    live.delete(rid);
    push(["done", rid, value === undefined ? null : value, rec.local]);
  }

  function fail(rid, e) {
    const rec = live.get(rid);
    if (!rec || rec.dead) return;
    live.delete(rid);
    push(["fail", rid, ...errorFields(e), rec.local]);
  }

  function abort(rid) {
    const rec = live.get(rid);
    if (rec) rec.dead = true;
    live.delete(rid);
    for (const [sid, s] of outStreams) {
      if (s.rid === rid) {
        outStreams.delete(sid);
        try { s.cancel(); } catch (_) { /* already closed */ }
      }
    }
  }

  // A pull answers with the next chunk and then reads ahead: every further chunk that is ready
  // goes out in the same drain, up to AHEAD_BYTES / AHEAD_CHUNKS, so a body already in the
  // isolate needs one round trip, not one per chunk. The host buffers what it did not ask for
  // yet and pulls again only when it has used all of it.
  const AHEAD_BYTES = 256 * 1024, AHEAD_CHUNKS = 16;
  function pull(sid) {
    const s = outStreams.get(sid);
    if (!s) { emitChunk(sid, null); return; }
    s.ahead = 0;
    s.aheadChunks = 0;
    if (!s.reading) readNext(sid, s);
  }
  function readNext(sid, s) {
    s.reading = true;
    const prev = current;
    current = s.rid;
    let p;
    try {
      p = s.next();
    } catch (e) {
      s.reading = false;
      outStreams.delete(sid);
      emitStreamError(sid, e);
      return;
    } finally {
      current = prev;
    }
    Promise.resolve(p).then((chunk) => {
      s.reading = false;
      if (outStreams.get(sid) !== s) return; // cancelled or aborted meanwhile
      if (chunk == null) {
        outStreams.delete(sid);
        emitChunk(sid, null);
        return;
      }
      let sent;
      try { sent = emitChunk(sid, chunk); } catch (e) {
        outStreams.delete(sid);
        emitStreamError(sid, e);
        return;
      }
      s.ahead += chunk.length;
      // Read ahead only into the first half of the out channel: the rest is for the first chunks of
      // the other pulls of this batch (runtime.PULLS_PER_BATCH), which would otherwise wait a batch.
      if (sent && s.ahead < AHEAD_BYTES && ++s.aheadChunks < AHEAD_CHUNKS && outPos + chunk.length <= CHAN_HALF / 2) {
        readNext(sid, s);
      }
    }, (e) => {
      s.reading = false;
      if (outStreams.get(sid) !== s) return;
      outStreams.delete(sid);
      emitStreamError(sid, e);
    });
  }

  function cancelStream(sid) {
    const s = outStreams.get(sid);
    if (!s) return;
    outStreams.delete(sid);
    try { s.cancel(); } catch (_) { /* ignore */ }
  }

  // ---- texts the host sent before ------------------------------------------------------------
  // A page a handler fetches again and again (a remembered same-site fetch) crosses once as a
  // string with an id ({t, tk}); after that only the id crosses ({tk}), and a response whose
  // body is such a string goes back to the host as the id. The host keeps the mirror of this
  // table (runtime.Isolate.text_body) and says when to forget an id (a "tx-" event).
  const texts = new Map(); // id -> string
  const textIds = new Map(); // string -> id
  const textLengths = new Map(); // length -> how many remembered texts have it (a cheap first test)
  function hostText(b) {
    if (b.t === undefined) {
      b.t = texts.get(b.tk);
      if (b.t === undefined) throw new Error(`edgenode: the host named text ${b.tk}, which this isolate does not have`);
      return;
    }
    if (texts.has(b.tk)) return;
    texts.set(b.tk, b.t);
    textIds.set(b.t, b.tk);
    textLengths.set(b.t.length, (textLengths.get(b.t.length) || 0) + 1);
  }
  function forgetTexts(ids) {
    for (const id of ids) {
      const t = texts.get(id);
      if (t === undefined) continue;
      texts.delete(id);
      if (textIds.get(t) === id) textIds.delete(t);
      const n = textLengths.get(t.length) - 1;
      if (n > 0) textLengths.set(t.length, n); else textLengths.delete(t.length);
      for (const [key, l] of leases) if (l.tk === id) leases.delete(key);
    }
  }

  // ---- same-site fetches the host lets this isolate answer (fetch_memo.py FetchLeases) -------
  // A lease is a remembered fetch: its key (URL and request headers, exactly as fetch() sends
  // them), the response with the per-request values left to fill in, and the limits the host
  // applies. The host revokes leases ("lease-") at the start of any batch once they no longer
  // hold (the cache entry evicted, a new deploy, its text forgotten).
  const leases = new Map(); // key -> lease
  const dateNow = Date.now; // (handler code may replace Date.now; Age must not follow it)
  function leaseKey(d) {
    let key = d.url;
    for (const [k, v] of d.headers) key += "\0" + k + "\0" + v;
    return key;
  }
  // Counts a fetch() of invocation `rid` (the host applies its subrequest limit to this count).
  function subrequest(rid) {
    const rec = live.get(rid);
    return rec ? ++rec.subs : 0;
  }
  // The host's description of the response to fetch description `d`, if a lease answers it.
  function localFetch(rid, d) {
    if (leases.size === 0 || d.method !== "GET" || d.body !== null) return undefined;
    const rec = live.get(rid);
    if (!rec || rec.dead || !rec.d) return undefined;
    const l = leases.get(leaseKey(d));
    if (l === undefined || d.n > l.maxSub || (rec.d.fd || 0) >= l.maxDepth) return undefined;
    const now = dateNow();
    const url = rec.d.url;
    if ((l.until && now >= l.until) || url.slice(0, l.origin.length + 1) !== l.origin + "/") return undefined;
    const t = texts.get(l.tk);
    if (t === undefined) return undefined;
    const headers = l.headers.slice();
    if (l.ridAt >= 0) headers[l.ridAt] = ["x-nf-request-id", rec.d.meta.requestId];
    if (l.ageAt >= 0) headers[l.ageAt] = ["age", String(Math.max(0, Math.floor((now - l.stored) / 1000)))];
    rec.local++;
    return { status: l.status, statusText: "", url: l.url, limit: null, headers, body: { t, tk: l.tk } };
  }
  // The id of a string the host already has, or undefined.
  function textId(s) { return textLengths.has(s.length) ? textIds.get(s) : undefined; }

  let continues = false; // an event of this run resumes promise chains (op results, pulls, ...)
  function dispatch(ev) {
    switch (ev[0]) {
      case "s": current = ev[1]; start(ev[1], ev[2], ev[3]); break;
      case "r": {
        continues = true;
        current = ev[4] || 0;
        const v = ev[3];
        if (v !== null && typeof v === "object" && v.body && v.body.tk !== undefined) hostText(v.body);
        settle(ev[1], ev[2], v);
        break;
      }
      case "tx-": forgetTexts(ev[1]); break;
      case "lease": leases.set(ev[1], ev[2]); break;
      case "lease-": for (const key of ev[1]) leases.delete(key); break;
      case "p": continues = true; pull(ev[1]); break;
      case "c": continues = true; cancelStream(ev[1]); break;
      case "a": continues = true; abort(ev[1]); break;
      case "seed": reseed(ev[1]); break;
      case "f": break; // run() flushed the spill before delivering this batch
      case "k": takeIn(ev); break;
      default: throw new Error(`edgenode: unknown event ${ev[0]}`);
    }
  }

  // Deliver events; returns "1" or "0" followed by the outbox so far (what finished
  // synchronously). "1": something is still pending (an invocation not answered yet, or promise
  // chains these events resumed), so the host drains after the microtask checkpoint that follows
  // this eval; "0": every invocation was answered synchronously, no drain is needed.
  function run(json) {
    // The host has read every chunk message it was sent: the channel's second half is free again,
    // unless messages a late microtask left in the outbox still name parts of it.
    if (!outbox.length) outPos = 0;
    incoming.clear();
    spillTold = false;
    if (spill.length) flushSpill();
    return deliver(json);
  }
  function deliver(json) {
    for (const ev of JSON.parse(json)) queue.push(ev);
    continues = false;
    while (queuePos < queue.length) {
      const ev = queue[queuePos++];
      try { dispatch(ev); } catch (e) { push(["log", 0, "error", "edgenode event failed: " + errorFields(e).join(": ")]); }
      current = 0;
    }
    queue.length = 0;
    queuePos = 0;
    return (continues || live.size > 0 ? "1" : "0") + drain();
  }

  // After the host terminated a runaway synchronous slice: name the culprit, finish the queue.
  function recover() {
    const culprit = current;
    current = 0;
    if (culprit) abort(culprit);
    const rest = deliver("[]"); // not run(): the host has not read this batch's chunks yet
    return JSON.stringify([culprit, rest]);
  }

  function drain() {
    if (spill.length && !spillTold) { // once per run: the host answers with an "f" event
      spillTold = true;
      outbox.push(["spill"]);
    }
    if (!outbox.length) return "";
    const parts = [];
    for (const m of outbox) {
      try { parts.push(JSON.stringify(m)); } catch (e) {
        if (m[0] === "done") parts.push(JSON.stringify(["fail", m[1], "TypeError", "handler result is not serializable: " + errorFields(e)[1], ""]));
      }
    }
    outbox.length = 0;
    return "[" + parts.join(",") + "]";
  }

  function registerOutStream(rid, next, cancel) {
    const sid = "j" + (++streamSeq);
    outStreams.set(sid, { rid, next, cancel, reading: false, ahead: 0, aheadChunks: 0 });
    return sid;
  }

  globalThis.__edge = Object.freeze({
    run, drain, recover, hostOp, registerOutStream, errorFields, makeError, opRid, channel, channelOff, bodyBytes, textId, subrequest, localFetch,
    on(kind, fn) { handlers.set(kind, fn); },
    get current() { return current; },
  });

  // ---- modules (records made by handlers/esm.py) -------------------------------------------
  const defs = new Map(), cache = new Map();
  globalThis.__edge_modules = Object.freeze({
    define(id, deps, fn) { defs.set(id, [deps, fn]); },
    require(id) {
      if (cache.has(id)) return cache.get(id);
      const def = defs.get(id);
      if (!def) throw new Error(`module not found: ${id}`);
      const exports = Object.create(null);
      Object.defineProperty(exports, Symbol.toStringTag, { value: "Module" });
      cache.set(id, exports);
      const [deps, fn] = def;
      fn.call(undefined, exports, (spec) => globalThis.__edge_modules.require(deps[spec]));
      return exports;
    },
    get(obj, name, getter) { Object.defineProperty(obj, name, { enumerable: true, configurable: true, get: getter }); },
    star(target, src) {
      for (const k of Object.keys(src)) {
        if (k !== "default" && !(k in target)) Object.defineProperty(target, k, { enumerable: true, get: () => src[k] });
      }
    },
  });

  // ---- DOMException ---------------------------------------------------------------------
  const codes = { IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25 };
  class DOMException extends Error {
    #name; #code;
    constructor(message = "", name = "Error") {
      super(String(message));
      this.#name = String(name);
      this.#code = codes[this.#name] || 0;
    }
    get name() { return this.#name; }
    get code() { return this.#code; }
  }
  for (const [k, v] of Object.entries(codes)) {
    const constName = k.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() + "_ERR";
    Object.defineProperty(DOMException, constName, { value: v, enumerable: true });
  }
  globalThis.DOMException = DOMException;

  // ---- console: buffered into the outbox, written to the node's log -------------------------
  function show(v, depth = 0) {
    if (typeof v === "string") return depth ? JSON.stringify(v) : v;
    if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
    if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
    if (typeof v === "symbol" || typeof v === "bigint" || v === undefined) return String(v);
    if (v === null || typeof v !== "object") return String(v);
    if (depth > 2) return Array.isArray(v) ? "[Array]" : "[Object]";
    try {
      if (Array.isArray(v)) return "[ " + v.map((x) => show(x, depth + 1)).join(", ") + " ]";
      const tag = Object.prototype.toString.call(v).slice(8, -1);
      const body = Object.keys(v).map((k) => `${k}: ${show(v[k], depth + 1)}`).join(", ");
      return (tag !== "Object" ? tag + " " : "") + "{ " + body + " }";
    } catch (_) { return "[object]"; }
  }
  function format(args) {
    if (typeof args[0] === "string" && /%[sdifoOj%]/.test(args[0])) {
      const rest = args.slice(1);
      const head = args[0].replace(/%([sdifoOj%])/g, (m, c) => {
        if (c === "%") return "%";
        if (!rest.length) return m;
        const a = rest.shift();
        if (c === "d" || c === "i") return String(parseInt(a, 10));
        if (c === "f") return String(Number(a));
        return show(a, c === "s" ? 0 : 1);
      });
      return [head, ...rest.map((a) => show(a))].join(" ");
    }
    return args.map((a) => show(a)).join(" ");
  }
  const counts = new Map(), timersLog = new Map();
  const log = (level) => (...args) => push(["log", opRid(), level, format(args)]);
  globalThis.console = {
    log: log("info"), info: log("info"), debug: log("debug"), warn: log("warn"), error: log("error"),
    trace: log("debug"),
    assert(cond, ...args) { if (!cond) log("error")("Assertion failed:", ...args); },
    count(label = "default") { const n = (counts.get(label) || 0) + 1; counts.set(label, n); log("info")(`${label}: ${n}`); },
    countReset(label = "default") { counts.delete(label); },
    time(label = "default") { timersLog.set(label, Date.now()); },
    timeEnd(label = "default") { const t = timersLog.get(label); timersLog.delete(label); if (t !== undefined) log("info")(`${label}: ${Date.now() - t}ms`); },
    timeLog(label = "default", ...a) { const t = timersLog.get(label); if (t !== undefined) log("info")(`${label}: ${Date.now() - t}ms`, ...a); },
    table(v) { log("info")(v); },
    dir(v) { log("info")(v); },
    group() {}, groupEnd() {}, groupCollapsed() {},
  };

  // ---- timers: host-driven (mini-racer's own setTimeout is broken for 0 and no delay) --------
  const timers = new Map(); // timer id -> {op, cb, args, interval, ms}
  let timerSeq = 0;
  function arm(id) {
    const t = timers.get(id);
    hostOp("timer", t.ms).then(() => {
      if (!timers.has(id)) return;
      if (t.interval) arm(id); else timers.delete(id);
      t.cb(...t.args);
    });
    t.op = opSeq;
  }
  function addTimer(cb, ms, args, interval) {
    if (typeof cb !== "function") throw new TypeError("The callback provided as parameter 1 is not a function.");
    ms = Math.max(0, Number(ms) || 0);
    const id = ++timerSeq;
    timers.set(id, { cb, args, interval, ms });
    arm(id);
    return id;
  }
  function clearTimer(id) {
    const t = timers.get(id);
    if (!t) return;
    timers.delete(id);
    push(["clear", 0, t.op]);
  }
  globalThis.setTimeout = (cb, ms, ...args) => addTimer(cb, ms, args, false);
  globalThis.setInterval = (cb, ms, ...args) => addTimer(cb, ms, args, true);
  globalThis.clearTimeout = clearTimer;
  globalThis.clearInterval = clearTimer;
  globalThis.queueMicrotask = (cb) => {
    if (typeof cb !== "function") throw new TypeError("Failed to execute 'queueMicrotask': The callback provided as parameter 1 is not a function.");
    Promise.resolve().then(cb);
  };
  const t0 = Date.now();
  globalThis.performance = { now: () => Date.now() - t0, timeOrigin: t0 };
  globalThis.self = globalThis;
  globalThis.navigator = { userAgent: "edgenode" };

  // ---- crypto: a ChaCha20 DRBG seeded and reseeded by the host (no synchronous host calls) ----
  const key = new Uint32Array(8), nonce = new Uint32Array(3), block = new Uint32Array(16);
  let ctr = 0, avail = 0;
  const blockBytes = new Uint8Array(block.buffer);
  const rotl = (v, n) => (v << n) | (v >>> (32 - n));
  function qr(x, a, b, c, d) {
    x[a] = (x[a] + x[b]) | 0; x[d] = rotl(x[d] ^ x[a], 16);
    x[c] = (x[c] + x[d]) | 0; x[b] = rotl(x[b] ^ x[c], 12);
    x[a] = (x[a] + x[b]) | 0; x[d] = rotl(x[d] ^ x[a], 8);
    x[c] = (x[c] + x[d]) | 0; x[b] = rotl(x[b] ^ x[c], 7);
  }
  const st = new Uint32Array(16);
  function refill() {
    st[0] = 0x61707865; st[1] = 0x3320646e; st[2] = 0x79622d32; st[3] = 0x6b206574;
    st.set(key, 4); st[12] = ctr++; st.set(nonce, 13);
    block.set(st);
    for (let i = 0; i < 10; i++) {
      qr(block, 0, 4, 8, 12); qr(block, 1, 5, 9, 13); qr(block, 2, 6, 10, 14); qr(block, 3, 7, 11, 15);
      qr(block, 0, 5, 10, 15); qr(block, 1, 6, 11, 12); qr(block, 2, 7, 8, 13); qr(block, 3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) block[i] = (block[i] + st[i]) | 0;
    avail = 64;
    if (ctr === 0xffffffff) { ctr = 0; nonce[0]++; }
  }
  function reseed(hex) {
    const b = Uint8Array.fromHex(hex);
    const w = new Uint32Array(b.buffer, 0, Math.floor(b.length / 4));
    for (let i = 0; i < w.length; i++) key[i % 8] ^= w[i];
    refill(); // fast key erasure: the next key comes from the stream
    key.set(block.subarray(0, 8));
    avail = 0;
  }
  function randomBytes(out) {
    for (let i = 0; i < out.length; i++) {
      if (!avail) refill();
      out[i] = blockBytes[64 - avail--];
    }
  }
  const intArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    BigInt64Array, BigUint64Array];
  const subtle = {
    async digest(algorithm, data) {
      const name = String(typeof algorithm === "object" && algorithm ? algorithm.name : algorithm).toUpperCase();
      if (!["SHA-1", "SHA-256", "SHA-384", "SHA-512"].includes(name)) {
        throw new DOMException("Unrecognized algorithm name", "NotSupportedError");
      }
      let bytes;
      if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
      else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      else throw new TypeError("Failed to execute 'digest' on 'SubtleCrypto': parameter 2 is not of type 'BufferSource'.");
      const b64 = await hostOp("digest", [name, bytes.toBase64()]);
      return Uint8Array.fromBase64(b64).buffer;
    },
  };
  globalThis.crypto = {
    getRandomValues(arr) {
      if (!intArrays.some((C) => arr instanceof C)) {
        throw new DOMException("The provided ArrayBufferView is of type '" + (arr && arr.constructor && arr.constructor.name) + "', which is not an integer array type.", "TypeMismatchError");
      }
      if (arr.byteLength > 65536) {
        throw new DOMException(`The ArrayBufferView's byte length (${arr.byteLength}) exceeds the number of bytes of entropy available via this API (65536).`, "QuotaExceededError");
      }
      randomBytes(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      return arr;
    },
    randomUUID() {
      const b = new Uint8Array(16);
      randomBytes(b);
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = b.toHex();
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    subtle,
  };
})();
