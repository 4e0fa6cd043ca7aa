// The classic Edge Handler API: onRequest(event) / onResponse(event), event.replaceResponse,
// respondWith, replaceRequest, requestMeta, cache. Registered with core.js as the "request" and
// "response" dispatchers; the host starts an invocation with the handler name and a description
// of the request (and, for onResponse, of the response).
(() => {
  "use strict";
  const E = globalThis.__edge;
  const F = globalThis.__edge_fetch;
  const DOC_LIMIT = 1 << 20;

  function makeCache(rid) {
    return Object.freeze({
      async getDocument(key) {
        const d = await E.hostOp("cache.get", String(key), rid);
        return F.responseFromHost({ status: 200, headers: [["content-type", "application/octet-stream"]], body: { b: d } }, true);
      },
      async setDocument(key) {
        const k = String(key);
        const parts = [];
        let total = 0, closed = false;
        const writer = {
          async write(data) {
            if (closed) throw new TypeError("The document writer is closed");
            const bytes = typeof data === "string" ? F.utf8Encode(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data instanceof ArrayBuffer ? new Uint8Array(data) : F.utf8Encode(String(data));
            total += bytes.length;
            if (total > DOC_LIMIT) { closed = true; throw new RangeError(`document ${JSON.stringify(k)} exceeds the 1 MiB document limit`); }
            parts.push(bytes.slice());
            const all = new Uint8Array(total);
            let o = 0;
            for (const p of parts) { all.set(p, o); o += p.length; }
            await E.hostOp("cache.set", [k, all.toBase64()], rid);
          },
          async close() { closed = true; },
        };
        return writer;
      },
    });
  }

  // event.requestMeta. `url` is an own, enumerable accessor (a URL made on first use), defined
  // with ONE getter shared by every meta object: a getter written in an object literal is a new
  // closure per request, and each distinct accessor gives the object its own hidden class, which
  // V8 keeps (with the closure) until the next full GC. Measured on the S5 benchmark: about 230
  // bytes per request survived every scavenge, the young generation grew to 32 MB and scavenges
  // paused the isolate 2-6 ms (0.15 ms without).
  class RequestMeta {
    #d; #url = null;
    constructor(d) {
      this.#d = d;
      Object.defineProperty(this, "url", META_URL);
      this.zone = d.meta.zone;
      this.origin = d.meta.origin || {};
      this.identity = d.meta.identity || null;
      this.requestId = d.meta.requestId;
      this.clientIp = d.meta.clientIp;
    }
    static url(m) {
      if (m.#url === null) m.#url = new URL(m.#d.url);
      return m.#url;
    }
  }
  const META_URL = { get() { return RequestMeta.url(this); }, enumerable: true, configurable: true };

  // The request, requestMeta and response objects are built when the handler first asks for
  // them: a handler that never looks at one (a trivial onRequest, an onResponse that only reads
  // the request) costs no Request/Headers/Response construction for it.
  class EdgeEvent {
    #rid; #d; #request = null; #meta = null; #cache; #responder = null; #requestReplacer = null; #phase;
    #response = null; #waits = [];
    constructor(rid, d, phase) {
      this.#rid = rid;
      this.#phase = phase;
      this.#d = d;
    }
    get type() { return this.#phase === "request" ? "request" : "response"; }
    get request() {
      if (this.#request === null) {
        this.#request = F.requestFromHost(this.#d, this.#rid);
        Object.defineProperty(this.#request, "origin", { value: this.requestMeta.origin, enumerable: false });
      }
      return this.#request;
    }
    getRequest() { return Promise.resolve(this.request); }
    get requestMeta() { return this.#meta || (this.#meta = new RequestMeta(this.#d)); }
    get cache() { return this.#cache || (this.#cache = makeCache(this.#rid)); }
    get response() {
      if (this.#phase !== "response") return undefined;
      if (this.#response === null) {
        this.#response = F.responseFromHost(this.#d.response, false);
        this.#response.dirty = false;
      }
      return this.#response;
    }
    getResponse() {
      if (this.#phase !== "response") return Promise.reject(new TypeError("getResponse() is only available in onResponse"));
      return Promise.resolve(this.response);
    }
    replaceResponse(x) {
      if (this.#responder !== null) throw new DOMException("replaceResponse()/respondWith() was already called for this event", "InvalidStateError");
      if (!(x instanceof Response) && typeof x !== "function" && !(x && typeof x.then === "function")) {
        throw new TypeError("replaceResponse() expects a Response, a Promise of one, or a function returning one");
      }
      this.#responder = x;
    }
    respondWith(x) { this.replaceResponse(x); }
    replaceRequest(x) {
      if (this.#phase !== "request") throw new DOMException("replaceRequest() is only available in onRequest", "InvalidStateError");
      if (this.#requestReplacer !== null) throw new DOMException("replaceRequest() was already called for this event", "InvalidStateError");
      this.#requestReplacer = x;
    }
    waitUntil(p) { this.#waits.push(Promise.resolve(p).catch(() => {})); }
    passThroughOnException() {}

    // Synchronous when nothing is a promise, so a sync handler is answered in one eval.
    _finish(returned) {
      if (returned instanceof Response && this.#responder === null) this.#responder = returned;
      else if (returned !== undefined && !(returned instanceof Response)) {
        throw new TypeError(`on${this.#phase === "request" ? "Request" : "Response"}() returned ${describe(returned)}; use event.replaceResponse() to answer`);
      }
      const out = {};
      const respond = () => {
        if (this.#responder !== null) {
          let r = this.#responder;
          if (typeof r === "function") r = r({ request: this.request });
          return when(r, (resp) => {
            if (!(resp instanceof Response)) throw new TypeError(`replaceResponse() needs a Response, got ${describe(resp)}`);
            out.response = F.describeResponse(resp, this.#rid);
            return out;
          });
        }
        if (this.#phase === "response" && this.#response !== null && this.#response.dirty) out.headers = F.Headers._pairs(this.#response.headers);
        return out;
      };
      if (this.#requestReplacer === null) return respond();
      let r = this.#requestReplacer;
      if (typeof r === "function") r = r(this.request);
      return when(r, (req) => {
        if (typeof req === "string" || (globalThis.URL && req instanceof URL)) req = new Request(new URL(String(req), this.request.url).href, this.request);
        if (!(req instanceof Request)) throw new TypeError(`replaceRequest() expects a Request or URL, got ${describe(req)}`);
        this.#request = req;
        out.request = F.describeRequest(req, this.#rid);
        return respond();
      });
    }
  }

  function when(x, f) {
    return x !== null && typeof x === "object" && typeof x.then === "function" ? x.then(f) : f(x);
  }

  function describe(v) {
    if (v === null) return "null";
    if (typeof v === "object") return Object.prototype.toString.call(v);
    return typeof v;
  }

  function dispatch(phase) {
    const exportName = phase === "request" ? "onRequest" : "onResponse";
    return (rid, handlerName, d) => {
      const mod = globalThis.__edge_handlers[handlerName];
      if (!mod) throw new Error(`edge handler ${handlerName} is not loaded`);
      const fn = mod[exportName];
      if (typeof fn !== "function") throw new TypeError(`edge handler ${handlerName} has no ${exportName} export`);
      const ev = new EdgeEvent(rid, d, phase);
      const r = fn(ev);
      if (r && typeof r.then === "function") return r.then((v) => ev._finish(v));
      return ev._finish(r);
    };
  }
  E.on("request", dispatch("request"));
  E.on("response", dispatch("response"));
  globalThis.__edge_handlers = Object.create(null);
})();
