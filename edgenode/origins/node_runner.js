// edgenode function worker for Node.js: runs Netlify Functions (v1 Lambda style and v2 Web API)
// one invocation at a time, for as long as edgenode keeps it.
//
// Protocol (see workers.py): frames on two pipes whose fd numbers come in EDGENODE_WORKER_FDS.
// frame = u32be JSON length, u32be body length, JSON header, raw body.
"use strict";

const net = require("node:net");
const { pathToFileURL } = require("node:url");

const [IN_FD, OUT_FD] = (process.env.EDGENODE_WORKER_FDS || "3,4").split(",").map(Number);
delete process.env.EDGENODE_WORKER_FDS;

const out = new net.Socket({ fd: OUT_FD, readable: false, writable: true });
// A libuv pipe, not fs.createReadStream: a thread-pool read() pending on a pipe makes process.exit() hang.
const input = new net.Socket({ fd: IN_FD, readable: true, writable: false });

const EMPTY = Buffer.alloc(0);

function send(header, body) {
  const head = Buffer.from(JSON.stringify(header));
  const bodyBuf = body || EMPTY;
  const pre = Buffer.allocUnsafe(8);
  pre.writeUInt32BE(head.length, 0);
  pre.writeUInt32BE(bodyBuf.length, 4);
  out.write(bodyBuf.length ? Buffer.concat([pre, head, bodyBuf]) : Buffer.concat([pre, head]));
}

function errorOf(e) {
  if (e instanceof Error) {
    return { type: e.name || "Error", message: e.message, stack: e.stack ? String(e.stack).split("\n") : [] };
  }
  return { type: "Error", message: String(e), stack: [] };
}

// Netlify.env for v2 functions (functions.md 6).
globalThis.Netlify = {
  env: {
    get: (k) => process.env[k],
    has: (k) => k in process.env,
    set: (k, v) => { process.env[k] = String(v); },
    delete: (k) => { delete process.env[k]; },
    toObject: () => ({ ...process.env }),
  },
  context: null,
};

const modules = new Map();

async function load(file) {
  let entry = modules.get(file);
  if (entry) return entry;
  const mod = await import(pathToFileURL(file).href);
  const def = mod.default;
  // functions.md: a default export function (or {fetch}) is v2; else a `handler` export is v1.
  if (typeof def === "function") entry = { api: 2, fn: def };
  else if (def && typeof def === "object" && typeof def.fetch === "function") entry = { api: 2, fn: def.fetch.bind(def) };
  else {
    const handler = typeof mod.handler === "function" ? mod.handler
      : def && typeof def === "object" && typeof def.handler === "function" ? def.handler : null;
    if (!handler) throw new TypeError(`${file} exports neither a default function (v2) nor a handler (v1)`);
    entry = { api: 1, fn: handler };
  }
  modules.set(file, entry);
  return entry;
}

function lambdaContext(msg) {
  const c = msg.context;
  const deadline = Date.now() + c.timeoutMs;
  const ctx = {
    functionName: c.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:edgenode:0:function:${c.functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: c.requestId,
    logGroupName: `/aws/lambda/${c.functionName}`,
    logStreamName: "edgenode",
    callbackWaitsForEmptyEventLoop: true,
    identity: undefined,
    clientContext: c.clientContext,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  return ctx;
}

function runV1(fn, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, res) => {
      if (settled) return;
      settled = true;
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(res);
    };
    ctx.done = done;
    ctx.succeed = (res) => done(null, res);
    ctx.fail = (err) => done(err || new Error("fail"));
    try {
      const r = fn(event, ctx, done);
      if (r && typeof r.then === "function") r.then((v) => done(null, v), (e) => done(e));
      else if (fn.length < 3) done(null, r);
    } catch (e) {
      done(e);
    }
  });
}

function cookiesFor(request, setCookies) {
  const jar = new Map();
  for (const part of (request.headers.get("cookie") || "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) jar.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return {
    get: (name) => jar.get(name),
    set: (a, b) => {
      const c = typeof a === "string" ? { name: a, value: b } : a;
      let s = `${c.name}=${encodeURIComponent(c.value)}`;
      if (c.expires) s += `; Expires=${new Date(c.expires).toUTCString()}`;
      if (c.maxAge !== undefined) s += `; Max-Age=${c.maxAge}`;
      if (c.domain) s += `; Domain=${c.domain}`;
      s += `; Path=${c.path || "/"}`;
      if (c.secure) s += "; Secure";
      if (c.httpOnly) s += "; HttpOnly";
      if (c.sameSite) s += `; SameSite=${c.sameSite}`;
      jar.set(c.name, c.value);
      setCookies.push(s);
    },
    delete: (a) => {
      const c = typeof a === "string" ? { name: a } : a;
      let s = `${c.name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=${c.path || "/"}`;
      if (c.domain) s += `; Domain=${c.domain}`;
      jar.delete(c.name);
      setCookies.push(s);
    },
  };
}

async function runV2(fn, msg, body) {
  const ev = msg.event;
  const headers = new Headers();
  for (const [k, vs] of Object.entries(ev.multiValueHeaders)) for (const v of vs) headers.append(k, v);
  const hasBody = body.length > 0 && ev.httpMethod !== "GET" && ev.httpMethod !== "HEAD";
  const request = new Request(ev.rawUrl, { method: ev.httpMethod, headers, body: hasBody ? body : undefined, duplex: "half" });
  const c = msg.context;
  const setCookies = [];
  const context = {
    account: { id: c.accountId },
    cookies: cookiesFor(request, setCookies),
    deploy: c.deploy,
    geo: c.geo,
    ip: c.ip,
    params: c.params || {},
    requestId: c.requestId,
    server: { region: c.region },
    site: c.site,
    url: new URL(ev.rawUrl),
    waitUntil: (p) => { Promise.resolve(p).catch((e) => console.error(`waitUntil in ${c.functionName}:`, e)); },
    json: (x) => Response.json(x),
    log: (...a) => console.log(...a),
  };
  Netlify.context = context;
  let res;
  try {
    res = await fn(request, context);
  } finally {
    Netlify.context = null;
  }
  if (res === undefined || res === null) {
    // functions.md 6: returning nothing is an error, except for background functions.
    if (msg.background) return { header: { status: 202, headers: [] }, body: null };
    throw new TypeError("the function returned no Response");
  }
  if (!(res instanceof Response)) throw new TypeError("the function must return a Response");
  const outHeaders = [];
  res.headers.forEach((v, k) => { if (k !== "set-cookie") outHeaders.push([k, v]); });
  for (const sc of res.headers.getSetCookie()) outHeaders.push(["set-cookie", sc]);
  for (const sc of setCookies) outHeaders.push(["set-cookie", sc]);
  const buf = Buffer.from(await res.arrayBuffer());
  return { header: { status: res.status, headers: outHeaders }, body: buf };
}

let current = null; // the invocation in flight, so a stray uncaught error can fail it

async function invoke(msg, body) {
  const entry = await load(msg.file);
  if (msg.op === "describe") {
    // FN-7: edgenode reads a v2 function's `config` (path, method, preferStatic, background) at start.
    const mod = await import(pathToFileURL(msg.file).href);
    const config = mod.config || (mod.default && typeof mod.default === "object" && mod.default.config) || {};
    return { header: { api: entry.api, config: JSON.parse(JSON.stringify(config)) }, body: null };
  }
  if (entry.api === 2) {
    const r = await runV2(entry.fn, msg, body);
    return { header: { api: 2, ...r.header }, body: r.body };
  }
  const event = msg.event;
  if (body.length) event.body = event.isBase64Encoded ? body.toString("base64") : body.toString("utf8");
  const result = await runV1(entry.fn, event, lambdaContext(msg));
  return { header: { api: 1, undefined: result === undefined, result: result === undefined ? null : result }, body: null };
}

async function handle(msg, body) {
  const failed = new Promise((_, reject) => { current = reject; });
  try {
    const r = await Promise.race([invoke(msg, body), failed]);
    send({ id: msg.id, ok: true, ...r.header }, r.body);
  } catch (e) {
    send({ id: msg.id, ok: false, error: errorOf(e) });
  } finally {
    current = null;
  }
}

process.on("uncaughtException", (e) => {
  console.error("uncaught exception in a function:", e);
  if (current) current(e);
});
process.on("unhandledRejection", (e) => {
  console.error("unhandled rejection in a function:", e);
  if (current) current(e);
});

// Frame reader: one invocation at a time, in order.
let pending = Buffer.alloc(0);
let queue = Promise.resolve();
input.on("data", (chunk) => {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 8) {
    const headLen = pending.readUInt32BE(0);
    const bodyLen = pending.readUInt32BE(4);
    if (pending.length < 8 + headLen + bodyLen) break;
    const msg = JSON.parse(pending.subarray(8, 8 + headLen).toString("utf8"));
    const body = Buffer.from(pending.subarray(8 + headLen, 8 + headLen + bodyLen));
    pending = pending.subarray(8 + headLen + bodyLen);
    queue = queue.then(() => handle(msg, body));
  }
});
input.on("end", () => { queue.then(() => process.exit(0)); });
