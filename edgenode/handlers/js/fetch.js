// Headers, Request, Response and fetch() for edgenode isolates.
//
// A body is kept in its cheapest form until someone looks at it: a string, bytes, a host stream
// (an origin or fetch() body still in Python, read chunk by chunk through "read" host ops) or a
// ReadableStream. An untouched host stream handed back to the host never crosses into V8.
(() => {
  "use strict";
  const E = globalThis.__edge;
  const CHUNK = 64 * 1024;
  const takeBytes = E.bodyBytes();

  // ---- UTF-8 without depending on TextEncoder (encoding.js may load later) -------------------
  function utf8Encode(s) {
    s = String(s);
    if (globalThis.TextEncoder) return new TextEncoder().encode(s);
    const bin = unescape(encodeURIComponent(s.toWellFormed()));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function utf8Decode(bytes) {
    if (globalThis.TextDecoder) return new TextDecoder().decode(bytes);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    try { return decodeURIComponent(escape(bin)); } catch (_) { return bin; }
  }
  function concat(parts, total) {
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function toBytes(chunk) {
    if (chunk instanceof Uint8Array) return chunk;
    if (typeof chunk === "string") return utf8Encode(chunk);
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
    if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw new TypeError("Received non-Uint8Array chunk");
  }

  // ---- Headers ----------------------------------------------------------------------------
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  function normValue(v) {
    v = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (/[\0\r\n]/.test(v)) throw new TypeError(`Headers: Invalid value`);
    return v;
  }
  function normName(n, op) {
    n = String(n);
    if (!TOKEN.test(n)) throw new TypeError(`Failed to execute '${op}' on 'Headers': Invalid name`);
    return n.toLowerCase();
  }
  let freezeHeaders, ownHeaders;
  class Headers {
    #list = []; // [lowercase name, value]
    #immutable = false;
    #owner = null; // the Response whose `dirty` flag a change sets (onResponse: send the new headers)
    constructor(init) {
      if (init == null) return;
      if (trusted && Array.isArray(init)) { this.#list = init; return; } // [[lowercase name, value]] from the host
      if (init instanceof Headers) { for (const [k, v] of init.#list) this.#list.push([k, v]); return; }
      if (typeof init !== "object") throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError("Failed to construct 'Headers': Invalid value");
          this.append(p[0], p[1]);
        }
      } else {
        for (const k of Object.keys(init)) this.append(k, init[k]);
      }
    }
    #check() {
      if (this.#immutable) throw new TypeError("Headers are immutable");
      if (this.#owner !== null) this.#owner.dirty = true;
    }
    append(name, value) { const n = normName(name, "append"); const v = normValue(value); this.#check(); this.#list.push([n, v]); }
    set(name, value) {
      const n = normName(name, "set"); const v = normValue(value); this.#check();
      const list = this.#list;
      const i = list.findIndex((e) => e[0] === n);
      if (i < 0) { list.push([n, v]); return; }
      list[i] = [n, v]; // a new pair: a list shared with the host (trusted init) is never written through
      let dup = false;
      for (let j = i + 1; j < list.length; j++) if (list[j][0] === n) { dup = true; break; }
      if (dup) this.#list = list.filter((e, j) => j <= i || e[0] !== n);
    }
    delete(name) { const n = normName(name, "delete"); this.#check(); this.#list = this.#list.filter((e) => e[0] !== n); }
    get(name) {
      const n = normName(name, "get");
      let out = null;
      for (const e of this.#list) if (e[0] === n) out = out === null ? e[1] : out + ", " + e[1];
      return out;
    }
    has(name) {
      const n = normName(name, "has");
      for (const e of this.#list) if (e[0] === n) return true;
      return false;
    }
    getSetCookie() { return this.#list.filter((e) => e[0] === "set-cookie").map((e) => e[1]); }
    getAll(name) { const n = normName(name, "getAll"); return this.#list.filter((e) => e[0] === n).map((e) => e[1]); }
    *entries() {
      const names = [...new Set(this.#list.map((e) => e[0]))].sort();
      for (const n of names) {
        if (n === "set-cookie") { for (const v of this.getSetCookie()) yield [n, v]; } else yield [n, this.get(n)];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    forEach(cb, thisArg) { for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this); }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return "Headers"; }
    static _pairs(h) { return h.#list.map((e) => [e[0], e[1]]); }
    // Guards and owners as fields, not WeakMaps (a WeakMap entry per Response costs GC work),
    // set through accessors only this file holds.
    static {
      freezeHeaders = (h) => { h.#immutable = true; };
      ownHeaders = (h, owner) => { h.#owner = owner; };
    }
  }
  globalThis.Headers = Headers;

  // ---- bodies -----------------------------------------------------------------------------
  // src: {t: string} | {u: Uint8Array} | {h: host stream id} | {r: ReadableStream} | null
  function extractBody(init) {
    if (init == null) return [null, null];
    if (typeof init === "string") return [{ t: init }, "text/plain;charset=UTF-8"];
    if (init instanceof ArrayBuffer) return [{ u: new Uint8Array(init.slice(0)) }, null];
    if (ArrayBuffer.isView(init)) return [{ u: new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength)) }, null];
    if (globalThis.URLSearchParams && init instanceof URLSearchParams) return [{ t: init.toString() }, "application/x-www-form-urlencoded;charset=UTF-8"];
    if (globalThis.ReadableStream && init instanceof ReadableStream) {
      if (init.locked) throw new TypeError("Response body object should not be disturbed or locked");
      return [{ r: init }, null];
    }
    if (init && init.__edgeHostStream) return [{ h: init.__edgeHostStream }, null];
    return [{ t: String(init) }, "text/plain;charset=UTF-8"];
  }

  // A chunk of a host stream: the id of bytes sent through the byte channel (null at the end).
  function hostRead(sid) { return E.hostOp("read", sid).then((id) => (id == null ? null : takeBytes(id))); }
  // A body from a host description: {k: id of bytes sent with it, h: the same bytes as a host
  // stream} | {b: base64} | {h: host stream id}. With both, the bytes are read here, and a body
  // handed back untouched is named by its host stream: the host sends its own copy.
  function hostBody(b) {
    if (b.k !== undefined) return b.h !== undefined ? { u: takeBytes(b.k), h: b.h } : { u: takeBytes(b.k) };
    return b.b !== undefined ? { u: Uint8Array.fromBase64(b.b) } : b;
  }

  // An async chunk source over any body form; used by streams, text() and the drain to the host.
  function chunkSource(src) {
    if (src.t !== undefined || src.u !== undefined) {
      let bytes = src.u !== undefined ? src.u : utf8Encode(src.t);
      return { next: async () => { if (!bytes || !bytes.length) { bytes = null; return null; } const c = bytes.subarray(0, CHUNK); bytes = bytes.subarray(CHUNK); return c; }, cancel() { bytes = null; } };
    }
    if (src.h !== undefined) {
      let finished = false;
      return {
        next: async () => { if (finished) return null; const c = await hostRead(src.h); if (c == null) finished = true; return c; },
        cancel() { if (!finished) { finished = true; E.hostOp("cancel", src.h); } },
      };
    }
    const reader = src.r.getReader();
    return {
      next: async () => { const { done, value } = await reader.read(); return done ? null : toBytes(value); },
      cancel() { reader.cancel().catch(() => {}); },
    };
  }

  class Body {
    #src = null;
    #used = false;
    #stream = null;
    _initBody(src) { this.#src = src; }
    _src() { return this.#src; }
    get body() {
      if (this.#src === null) return null;
      if (this.#stream) return this.#stream;
      if (this.#src.r) { this.#stream = this.#src.r; return this.#stream; }
      if (!globalThis.ReadableStream) throw new TypeError("ReadableStream is not available in this isolate");
      const source = chunkSource(this.#src);
      this.#stream = new ReadableStream({
        async pull(c) { const chunk = await source.next(); if (chunk == null) c.close(); else c.enqueue(chunk); },
        cancel() { source.cancel(); },
      });
      this.#src = { r: this.#stream };
      return this.#stream;
    }
    get bodyUsed() {
      if (this.#used) return true;
      return !!(this.#src && this.#src.r && (this.#src.r.locked || this.#src.r.__disturbed));
    }
    _take(method) {
      if (this.bodyUsed) throw new TypeError(`Failed to execute '${method}' on '${this.constructor.name}': body stream already read`);
      this.#used = true;
      return this.#src;
    }
    // Hand the body over (to the host or a new Request/Response) without reading it.
    _transfer() {
      if (this.bodyUsed) throw new TypeError("Cannot construct a Request or Response with a body that was already used");
      const s = this.#src;
      if (s) this.#used = true;
      return s;
    }
    async _bytes(method) {
      const src = this._take(method);
      if (src === null) return new Uint8Array(0);
      if (src.u !== undefined) return src.u.slice();
      if (src.t !== undefined) return utf8Encode(src.t);
      const source = chunkSource(src);
      const parts = [];
      let total = 0;
      for (;;) {
        const c = await source.next();
        if (c == null) break;
        parts.push(c);
        total += c.length;
        if (this._limit && total > this._limit) {
          source.cancel();
          throw new TypeError(`${method}(): the response body exceeds ${this._limit >> 20} MiB; stream it instead`);
        }
      }
      return concat(parts, total);
    }
    async text() {
      const src = this.#src;
      if (src && src.t !== undefined && !this.bodyUsed) { this._take("text"); return src.t; }
      return utf8Decode(await this._bytes("text"));
    }
    async json() { return JSON.parse(await this.text()); }
    async arrayBuffer() { return (await this._bytes("arrayBuffer")).buffer; }
    async bytes() { return this._bytes("bytes"); }
    async formData() { throw new TypeError("formData() is not supported by edgenode"); }
    async blob() { throw new TypeError("blob() is not supported by edgenode"); }
    _cloneSrc() {
      if (this.bodyUsed) throw new TypeError(`Failed to execute 'clone' on '${this.constructor.name}': body stream already read`);
      const s = this.#src;
      if (s === null || s.t !== undefined) return s;
      if (s.u !== undefined) return s.h !== undefined ? { u: s.u } : s; // one of them may name the host copy
      const [a, b] = this.body.tee();
      this.#src = { r: a };
      this.#stream = a;
      return { r: b };
    }
  }

  // What crosses to the host: {t} | {tk: text id} | {b: base64} | {h: sid} | {s: out-stream sid} | null
  function describeBody(src, rid) {
    if (src === null) return null;
    if (src.t !== undefined) {
      const tk = E.textId(src.t); // a page the host sent: only its id goes back
      return tk !== undefined ? { tk } : { t: src.t };
    }
    if (src.u !== undefined && src.h !== undefined) return { h: src.h }; // untouched bytes from the host
    if (src.u !== undefined && src.u.length <= 1 << 20) return { b: src.u.toBase64() };
    if (src.h !== undefined) return { h: src.h };
    const source = chunkSource(src);
    return { s: E.registerOutStream(rid, source.next, source.cancel) };
  }

  // ---- Request ----------------------------------------------------------------------------
  const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
  let trusted = false; // set while building a Request/Response from what the host already validated
  // Serialised URLs by input string: parsing is a pure function of the string, and handlers
  // build the same few URLs over and over (a rewrite target, a variant page to fetch).
  const hrefs = new Map();
  function parseURL(input, what) {
    const s = String(input);
    if (trusted) return s;
    if (globalThis.URL) {
      let href = hrefs.get(s);
      if (href !== undefined) return href;
      try { href = new URL(s).href; } catch (_) { throw new TypeError(`Failed to ${what}: Invalid URL "${s}"`); }
      if (hrefs.size >= 512) hrefs.clear();
      hrefs.set(s, href);
      return href;
    }
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) throw new TypeError(`Failed to ${what}: Invalid URL "${s}"`);
    return s;
  }
  let originOf, setOrigin; // not reachable from handler code: the rid decides whose origin is fetched
  class Request extends Body {
    #method = "GET"; #url = ""; #headers; #redirect = "follow"; #signal = null;
    #origin = 0; // rid whose origin this request fetches (fetch(event.request) and copies of it)
    constructor(input, init = {}) {
      super();
      if (init === null || init === undefined) init = {};
      let src = null, fromReq = null;
      if (input instanceof Request) {
        fromReq = input;
        this.#url = input.url;
        this.#method = input.method;
        this.#redirect = input.redirect;
      } else {
        this.#url = parseURL(input, "construct 'Request'");
      }
      if (init.method !== undefined) {
        const m = String(init.method);
        if (!TOKEN.test(m)) throw new TypeError(`Failed to construct 'Request': '${m}' is not a valid HTTP method.`);
        const up = m.toUpperCase();
        if (["CONNECT", "TRACE", "TRACK"].includes(up)) throw new TypeError(`Failed to construct 'Request': '${m}' HTTP method is unsupported.`);
        this.#method = METHODS.includes(up) ? up : m;
      }
      if (init.redirect !== undefined) this.#redirect = String(init.redirect);
      if (init.signal !== undefined) this.#signal = init.signal;
      this.#headers = new Headers(init.headers !== undefined ? init.headers : fromReq ? fromReq.headers : undefined);
      if (init instanceof Request) {
        // new Request(url, otherRequest): take its body over as is (a host stream stays one).
        if (init._src() !== null) {
          if (this.#method === "GET" || this.#method === "HEAD") throw new TypeError("Failed to construct 'Request': Request with GET/HEAD method cannot have body.");
          src = init._transfer();
        }
      } else if (init.body !== undefined && init.body !== null) {
        if (this.#method === "GET" || this.#method === "HEAD") throw new TypeError("Failed to construct 'Request': Request with GET/HEAD method cannot have body.");
        const [s, ctype] = extractBody(init.body);
        src = s;
        if (ctype && !this.#headers.has("content-type")) this.#headers.set("content-type", ctype);
      } else if (fromReq) {
        src = fromReq._src() === null ? null : fromReq._transfer();
      }
      this._initBody(src);
      if (fromReq) this.#origin = fromReq.#origin;
    }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return this.#signal; }
    get cache() { return "default"; }
    get credentials() { return "same-origin"; }
    get mode() { return "cors"; }
    get destination() { return ""; }
    get referrer() { return "about:client"; }
    get integrity() { return ""; }
    get keepalive() { return false; }
    clone() {
      const r = new Request(this.#url, { method: this.#method, headers: this.#headers, redirect: this.#redirect });
      r._initBody(this._cloneSrc());
      r.#origin = this.#origin;
      return r;
    }
    get [Symbol.toStringTag]() { return "Request"; }
    static {
      originOf = (r) => r.#origin;
      setOrigin = (r, rid) => { r.#origin = rid; };
    }
  }
  globalThis.Request = Request;

  // ---- Response ---------------------------------------------------------------------------
  const NULL_BODY = [101, 103, 204, 205, 304];
  class Response extends Body {
    #status = 200; #statusText = ""; #headers; #type = "default"; #url = ""; #redirected = false;
    constructor(body = null, init = {}) {
      super();
      if (init === null || init === undefined) init = {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`Failed to construct 'Response': The status provided (${init.status}) is outside the range [200, 599].`);
      }
      const statusText = init.statusText === undefined ? "" : String(init.statusText);
      if (/[\r\n]/.test(statusText)) throw new TypeError("Failed to construct 'Response': Invalid statusText");
      this.#status = status;
      this.#statusText = statusText;
      this.#headers = new Headers(init.headers);
      ownHeaders(this.#headers, this);
      if (body !== null && body !== undefined) {
        if (NULL_BODY.includes(status)) throw new TypeError("Failed to construct 'Response': Response with null body status cannot have body");
        const [src, ctype] = extractBody(body);
        if (ctype && !this.#headers.has("content-type")) this.#headers.set("content-type", ctype);
        this._initBody(src);
      }
      this.dirty = false;
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get headers() { return this.#headers; }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    clone() {
      const r = new Response(null, { status: this.#status, statusText: this.#statusText, headers: this.#headers });
      r._initBody(this._cloneSrc());
      r.#url = this.#url;
      return r;
    }
    static redirect(url, status = 302) {
      const href = parseURL(url, "execute 'redirect' on 'Response'");
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Failed to execute 'redirect' on 'Response': Invalid status code`);
      const r = new Response(null, { status, headers: { location: href } });
      freezeHeaders(r.headers);
      return r;
    }
    static json(data, init = {}) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("Failed to execute 'json' on 'Response': The data provided cannot be serialized to JSON");
      const headers = new Headers(init && init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { ...init, headers });
    }
    static error() {
      const r = new Response(null, { status: 200 });
      r.#status = 0;
      r.#type = "error";
      freezeHeaders(r.headers);
      return r;
    }
    // From a host description {status, statusText, headers, body, url}.
    static _fromHost(d, immutable) {
      trusted = true;
      let r;
      try {
        r = new Response(null, { status: d.status < 200 || d.status > 599 ? 200 : d.status, statusText: d.statusText || "", headers: d.headers });
      } finally { trusted = false; }
      r.#status = d.status;
      r.#url = d.url || "";
      r._limit = d.limit || 0;
      if (d.body) r._initBody(hostBody(d.body));
      if (immutable) freezeHeaders(r.headers);
      r.dirty = false;
      return r;
    }
    get [Symbol.toStringTag]() { return "Response"; }
  }
  globalThis.Response = Response;

  function describeResponse(resp, rid) {
    if (!(resp instanceof Response)) throw new TypeError(`expected a Response, got ${Object.prototype.toString.call(resp)}`);
    if (resp.type === "error") throw new TypeError("a network error Response cannot be sent");
    return { status: resp.status, statusText: resp.statusText, headers: Headers._pairs(resp.headers), body: describeBody(resp._transfer(), rid) };
  }
  function describeRequest(req, rid) {
    return { method: req.method, url: req.url, headers: Headers._pairs(req.headers), body: req._src() === null ? null : describeBody(req._transfer(), rid) };
  }

  // ---- fetch ------------------------------------------------------------------------------
  async function fetch(input, init) {
    const req = new Request(input, init);
    const origin = originOf(req);
    const rid = origin || E.opRid();
    if (req.body !== null && req._src().r && !origin) {
      // A JS stream body is read here (bounded by the isolate's memory), then sent inline.
      const bytes = await req._bytes("fetch");
      req._initBody({ u: bytes });
    }
    const d = describeRequest(req, rid);
    d.n = E.subrequest(rid);
    if (!origin) {
      const local = E.localFetch(rid, d); // a page the host lets this isolate answer (a lease)
      if (local !== undefined) return Response._fromHost(local, true);
    }
    const res = await E.hostOp(origin ? "origin" : "fetch", d, rid);
    return Response._fromHost(res, true);
  }
  globalThis.fetch = fetch;

  globalThis.__edge_fetch = Object.freeze({
    Headers, describeResponse, describeRequest, utf8Encode, utf8Decode,
    requestFromHost(d, rid) {
      const init = { method: d.method, headers: d.headers };
      trusted = true;
      let r;
      try { r = new Request(d.url, init); } finally { trusted = false; }
      if (d.body) r._initBody(hostBody(d.body));
      setOrigin(r, rid);
      return r;
    },
    responseFromHost: (d, immutable) => Response._fromHost(d, immutable),
  });
})();
