/* edgenode Web API: structuredClone (HTML "StructuredSerialize"/"StructuredDeserialize", in one pass).
 *
 * Plain script. Defines globalThis.structuredClone(value, {transfer}).
 * Supported: primitives (incl. BigInt), wrapper objects (Boolean/Number/String/BigInt), plain objects
 * (own enumerable string keys; getters are read, prototype becomes Object.prototype), arrays (holes
 * and extra properties kept), Date, RegExp (lastIndex reset), Map, Set, ArrayBuffer, all typed
 * arrays and DataView (views sharing one buffer still share the cloned buffer), Error types (name,
 * message, cause, stack), shared and cyclic references. `transfer` of ArrayBuffers detaches the
 * source (via ArrayBuffer.prototype.transfer).
 * Instances of ordinary JS classes are cloned as plain objects (own enumerable properties), as
 * browsers do. Throws DataCloneError (a DOMException when globalThis.DOMException exists, else an
 * Error with that name) for functions, symbols, WeakMap/WeakSet/WeakRef, Promise, generators and
 * DOMException objects.
 * Known gaps: Blob/File/ImageData and other platform objects; SharedArrayBuffer is shared, not copied.
 */
(function () {
  'use strict';
  const g = globalThis;

  function dataCloneError(what) {
    const msg = `Failed to execute 'structuredClone' on 'Window': ${what} could not be cloned.`;
    if (typeof g.DOMException === 'function') return new g.DOMException(msg, 'DataCloneError');
    const e = new Error(msg);
    e.name = 'DataCloneError';
    e.code = 25;
    return e;
  }

  const toStr = Object.prototype.toString;
  const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const TYPED = {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  };
  if (typeof Float16Array === 'function') TYPED.Float16Array = Float16Array;

  function describe(v) {
    if (typeof v === 'function') return `${v.toString().slice(0, 60)}`;
    if (typeof v === 'symbol') return v.toString();
    return `#<${toStr.call(v).slice(8, -1)}>`;
  }

  function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone' on 'Window': 1 argument required, but only 0 present.");
    const memory = new Map();
    const transfer = options && options.transfer ? Array.from(options.transfer) : [];
    for (const t of transfer) {
      if (!(t instanceof ArrayBuffer)) throw dataCloneError('Value in transfer list');
      if (memory.has(t)) throw dataCloneError('ArrayBuffer at index is a duplicate and it');
      memory.set(t, null);
    }
    for (const t of transfer) {
      memory.set(t, t.transfer());
    }
    return clone(value, memory);
  }

  function cloneBuffer(buf, memory) {
    if (memory.has(buf)) return memory.get(buf);
    if (buf.detached) throw dataCloneError('An ArrayBuffer is detached and');
    const copy = buf.resizable ? (() => {
      const b = new ArrayBuffer(buf.byteLength, { maxByteLength: buf.maxByteLength });
      new Uint8Array(b).set(new Uint8Array(buf));
      return b;
    })() : buf.slice(0);
    memory.set(buf, copy);
    return copy;
  }

  function clone(v, memory) {
    const t = typeof v;
    if (t !== 'object' && t !== 'function' && t !== 'symbol') return v;
    if (v === null) return v;
    if (t === 'function' || t === 'symbol') throw dataCloneError(describe(v));
    if (memory.has(v)) return memory.get(v);
    const tag = toStr.call(v).slice(8, -1);
    let out;
    if (Array.isArray(v)) {
      out = new Array(v.length);
      memory.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k], memory);
      return out;
    }
    if (v instanceof Date) { out = new Date(v.getTime()); memory.set(v, out); return out; }
    if (v instanceof RegExp) { out = new RegExp(v.source, v.flags); memory.set(v, out); return out; }
    if (v instanceof ArrayBuffer) return cloneBuffer(v, memory);
    if (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer) { memory.set(v, v); return v; }
    if (ArrayBuffer.isView(v)) {
      const buf = clone(v.buffer, memory);
      if (v instanceof DataView) out = new DataView(buf, v.byteOffset, v.byteLength);
      else {
        const Ctor = TYPED[tag];
        if (!Ctor) throw dataCloneError(describe(v));
        out = new Ctor(buf, v.byteOffset, v.length);
      }
      memory.set(v, out);
      return out;
    }
    if (v instanceof Map) {
      out = new Map();
      memory.set(v, out);
      const entries = Array.from(v);
      for (const [k, val] of entries) out.set(clone(k, memory), clone(val, memory));
      return out;
    }
    if (v instanceof Set) {
      out = new Set();
      memory.set(v, out);
      for (const k of Array.from(v)) out.add(clone(k, memory));
      return out;
    }
    if (v instanceof Error) {
      const name = ERRORS[v.name] ? v.name : 'Error';
      out = new ERRORS[name]();
      memory.set(v, out);
      const desc = Object.getOwnPropertyDescriptor(v, 'message');
      if (desc) Object.defineProperty(out, 'message', { value: String(v.message), writable: true, configurable: true });
      if (typeof v.stack === 'string') Object.defineProperty(out, 'stack', { value: v.stack, writable: true, configurable: true });
      if ('cause' in v) Object.defineProperty(out, 'cause', { value: clone(v.cause, memory), writable: true, configurable: true });
      return out;
    }
    switch (tag) {
      case 'Boolean': out = Object(Boolean.prototype.valueOf.call(v)); break;
      case 'Number': out = Object(Number.prototype.valueOf.call(v)); break;
      case 'String': out = Object(String.prototype.valueOf.call(v)); break;
      case 'BigInt': out = Object(BigInt.prototype.valueOf.call(v)); break;
      case 'WeakMap': case 'WeakSet': case 'WeakRef': case 'Promise': case 'FinalizationRegistry':
      case 'Generator': case 'AsyncGenerator': case 'Module':
        throw dataCloneError(describe(v));
      default:
        if (typeof g.DOMException === 'function' && v instanceof g.DOMException) {
          throw dataCloneError(describe(v));
        }
        out = {};
        memory.set(v, out);
        for (const k of Object.keys(v)) out[k] = clone(v[k], memory);
        return out;
    }
    memory.set(v, out);
    return out;
  }

  Object.defineProperty(g, 'structuredClone', { value: structuredClone, writable: true, configurable: true, enumerable: false });
})();
