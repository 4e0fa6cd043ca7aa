/* edgenode Web API: Encoding (https://encoding.spec.whatwg.org) and base64 (HTML atob/btoa).
 *
 * Plain script (no modules). Evaluated in a bare V8 context it defines on globalThis:
 *   TextEncoder  - encoding "utf-8"; encode(string) -> Uint8Array, encodeInto(string, Uint8Array)
 *                  -> {read, written} (never splits a code point; lone surrogates become U+FFFD).
 *   TextDecoder  - labels for utf-8, utf-16le, utf-16be, windows-1252 (what "latin1", "ascii" and
 *                  "iso-8859-1" mean per the spec), with {fatal, ignoreBOM} and
 *                  decode(bufferSource, {stream: true}) keeping incomplete sequences across calls.
 *   atob, btoa   - forgiving-base64; invalid input throws InvalidCharacterError (a DOMException when
 *                  globalThis.DOMException exists at call time, else an Error with that name).
 *   TextEncoderStream, TextDecoderStream - the streaming forms (need TransformStream, looked up when
 *                  constructed); a surrogate pair split across chunks is kept together.
 * Strings and byte runs of 64 characters to 1 Mi go through a WebAssembly codec
 * (edgenode/handlers/wasm_codec.py); the results are the same as the JavaScript paths'.
 * Known gaps: no other legacy encodings (RangeError for unknown labels, as browsers do for unknown
 * labels).
 */
(function () {
  'use strict';
  const g = globalThis;

  function invalidChar(msg) {
    if (typeof g.DOMException === 'function') return new g.DOMException(msg, 'InvalidCharacterError');
    const e = new Error(msg);
    e.name = 'InvalidCharacterError';
    e.code = 5;
    return e;
  }

  function toBytes(input) {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof Uint8Array) return input;
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer)) {
      return new Uint8Array(input);
    }
    throw new TypeError("Failed to execute 'decode' on 'TextDecoder': parameter 1 is not of type 'ArrayBuffer'.");
  }

  // ---- UTF-8 encoder ------------------------------------------------------------------------
  function utf8Length(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }

  // Writes s into out from position 0; returns [charsRead, bytesWritten]. Stops before a code point
  // that does not fit.
  function utf8Write(s, out) {
    const len = s.length, cap = out.length;
    let i = 0, j = 0;
    while (i < len) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        if (j >= cap) break;
        out[j++] = c; i++;
        continue;
      }
      let units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); units = 2; }
        else c = 0xfffd;
      }
      if (c < 0x800) {
        if (j + 2 > cap) break;
        out[j++] = 0xc0 | (c >> 6); out[j++] = 0x80 | (c & 63);
      } else if (c < 0x10000) {
        if (j + 3 > cap) break;
        out[j++] = 0xe0 | (c >> 12); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
      } else {
        if (j + 4 > cap) break;
        out[j++] = 0xf0 | (c >> 18); out[j++] = 0x80 | ((c >> 12) & 63);
        out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
      }
      i += units;
    }
    return [i, j];
  }

  // ---- the WebAssembly codec (edgenode/handlers/wasm_codec.py, where its listing is) -----------
  // JS String Builtins let it read and build strings at ~1 ns a character, where JS loops over
  // charCodeAt / String.fromCharCode cost 4-8 ns. Used for strings and byte runs of WASM_MIN..
  // WASM_MAX; anything else, or an isolate without WebAssembly, takes the JavaScript paths. It
  // keeps its memory (at most 3 * WASM_MAX + 4 bytes) and a scratch array (at most 2 MiB) for the
  // isolate's life.
  const WASM_CODEC = '0061736d01000000011f055e770160036f63007f017f60016f017f600363007f7f01646f60017f016f025f030e7761736d3a6a732d737472696e6711696e746f43686172436f6465417272617900010e7761736d3a6a732d737472696e67066c656e67746800020e7761736d3a6a732d737472696e671166726f6d43686172436f64654172726179000303030202040503010001060701630001d0000b071303036d656d020003656e6300030364656300040ac509028f0402057f01630020001001210123002206d1044020014180206afb0700220624000b2006fb0f200149044020014180206afb0700220624000b20002006410010001a02400340200220014f0d01200241046a20014d044020062002fb0d002006200241016afb0d00722006200241026afb0d00722006200241036afb0d0072418001490440200320062002fb0d002006200241016afb0d00410874722006200241026afb0d00411074722006200241036afb0d0041187472360000200241046a2102200341046a21030c020b0b20062002fb0d002104200241016a21022004418001490440200320043a0000200341016a21030c010b20044180104904402003200441067641c001723a000020032004413f71418001723a0001200341026a21030c010b20044180f803714180b0034604402002200149044020062002fb0d00210520054180f803714180b803460440200241016a210220044180b0036b410a7420054180b8036b6a418080046a21042003200441127641f001723a000020032004410c76413f71418001723a000120032004410676413f71418001723a000220032004413f71418001723a0003200341046a21030c030b0b41fdff0321040b20044180f803714180b80346044041fdff0321040b20032004410c7641e001723a000020032004410676413f71418001723a000120032004413f71418001723a0002200341036a21030c000b0b20030bb10503047f016300017f23002205d1044020004180206afb0700220524000b2005fb0f200049044020004180206afb0700220524000b02400340200120004f0d01200141046a20004d04402001280000210620064180818284787145044020052002200641ff0171fb0e002005200241016a200641087641ff0171fb0e002005200241026a200641107641ff0171fb0e002005200241036a2006411876fb0e00200141046a2101200241046a21020c020b0b20012d000021032003418001490440200520022003fb0e00200241016a2102200141016a21010c010b200341c201490440d06f0f0b200341e001490440200141016a20004f0440d06f0f0b20012d000141c00171418001470440d06f0f0b200520022003411f7141067420012d0001413f7172fb0e00200241016a2102200141026a21010c010b200341f001490440200141026a20004f0440d06f0f0b20012d000141c00171418001470440d06f0f0b20012d000241c00171418001470440d06f0f0b2003410f71410c7420012d0001413f714106747220012d0002413f717221042004418010490440d06f0f0b20044180f003714180b003460440d06f0f0b200520022004fb0e00200241016a2102200141036a21010c010b200341f501490440200141036a20004f0440d06f0f0b20012d000141c00171418001470440d06f0f0b20012d000241c00171418001470440d06f0f0b20012d000341c00171418001470440d06f0f0b200341077141127420012d0001413f71410c747220012d0002413f714106747220012d0003413f71722104200441808004490440d06f0f0b200441ffffc3004b0440d06f0f0b2004418080046b2104200520022004410a764180b0036afb0e00200241016a210220052002200441ff07714180b8036afb0e00200241016a2102200141046a21010c010bd06f0f0b0b20054100200210020b';
  const WASM_MIN = 64, WASM_MAX = 1 << 20;
  // The codec's memory holds other requests' text between calls: handler code must never get a
  // reference to it. So the codec is instantiated now (before any handler code runs), and every
  // call that has the memory or a view of it as receiver or argument goes through intrinsics
  // captured here, not through prototypes or globals a handler could have replaced since.
  const U8 = Uint8Array, apply = Reflect.apply, u8set = U8.prototype.set;
  const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  let wasm = null;
  try {
    const m = new WebAssembly.Module(U8.fromHex(WASM_CODEC), { builtins: ['js-string'] });
    const e = new WebAssembly.Instance(m, {}).exports;
    const proto = WebAssembly.Memory.prototype;
    wasm = {
      enc: e.enc, dec: e.dec, mem: e.mem, grow: proto.grow,
      buffer: Object.getOwnPropertyDescriptor(proto, 'buffer').get,
    };
  } catch (_) { /* no WebAssembly or no string builtins: the JS paths do the work */ }
  function codec() { return wasm; }
  // The codec's memory, grown to hold `bytes` (+4: the decoder may look past the end by 3).
  function room(c, bytes) {
    let buf = apply(c.buffer, c.mem, []);
    const have = apply(byteLength, buf, []);
    if (have < bytes + 4) {
      apply(c.grow, c.mem, [Math.ceil((bytes + 4 - have) / 65536)]);
      buf = apply(c.buffer, c.mem, []);
    }
    return buf;
  }

  const NON_ASCII = /[^\x00-\x7f]/;
  const HIGH_LATIN1 = /[\x80-\xff]/;

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      const s = String(input);
      if (s.length >= WASM_MIN && s.length <= WASM_MAX) {
        const c = codec();
        if (c !== null) {
          const buf = room(c, s.length * 3);
          const n = c.enc(s), out = new U8(n);
          apply(u8set, out, [new U8(buf, 0, n)]);
          return out;
        }
      }
      if (!NON_ASCII.test(s)) { // the common case, checked natively by the regexp engine
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
        return out;
      }
      const out = new Uint8Array(utf8Length(s));
      utf8Write(s, out);
      return out;
    }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) {
        throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
      }
      const r = utf8Write(String(source), destination);
      return { read: r[0], written: r[1] };
    }
    get [Symbol.toStringTag]() { return 'TextEncoder'; }
  }

  // ---- decoders ------------------------------------------------------------------------------
  // Each decoder is a function (bytes, flush) -> string using this.pending for carried state.
  const fromCodes = (codes) => {
    let s = '';
    for (let i = 0; i < codes.length; i += 8192) s += String.fromCharCode.apply(null, codes.slice(i, i + 8192));
    return s;
  };

  function Utf8State(fatal) { this.fatal = fatal; this.need = 0; this.cp = 0; this.seen = 0; this.lower = 0x80; this.upper = 0xbf; }
  // Fast path, used when no sequence is pending: bytes -> latin1 string natively; pure ASCII is done,
  // otherwise decodeURIComponent(escape(...)) decodes valid UTF-8 natively. Anything it rejects
  // (and an incomplete sequence at the end) goes through the exact decoder below.
  Utf8State.prototype.decode = function (bytes, flush) {
    const n = bytes.length;
    if (this.need !== 0 || n < 64) return this.decodeExact(bytes, flush);
    let end = n;
    let j = n - 1;
    while (j > 0 && j >= n - 3 && (bytes[j] & 0xc0) === 0x80) j--;
    if (bytes[j] >= 0xc0) {
      const seq = bytes[j] >= 0xf0 ? 4 : bytes[j] >= 0xe0 ? 3 : 2;
      if (j + seq > n) end = j;
    }
    let s = null;
    const c = end <= WASM_MAX ? codec() : null;
    if (c !== null) {
      apply(u8set, new U8(room(c, end), 0, end), [end === n ? bytes : bytes.subarray(0, end)]);
      s = c.dec(end); // null: not valid UTF-8, the exact decoder below replaces what it must
      if (s === null) return this.decodeExact(bytes, flush);
    } else {
      let latin1 = '';
      for (let i = 0; i < end; i += 8192) latin1 += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, end)));
      if (!HIGH_LATIN1.test(latin1)) s = latin1;
      else {
        try { s = decodeURIComponent(escape(latin1)); } catch (_) { return this.decodeExact(bytes, flush); }
      }
    }
    return end === n ? s : s + this.decodeExact(bytes.subarray(end), flush);
  };
  // WHATWG utf-8 decoder algorithm (maximal-subpart replacement).
  Utf8State.prototype.decodeExact = function (bytes, flush) {
    const out = [];
    let { need, cp, seen, lower, upper } = this;
    const fatal = this.fatal;
    const bad = () => { if (fatal) { this.need = 0; throw new TypeError('The encoded data was not valid for encoding utf-8'); } out.push(0xfffd); };
    const n = bytes.length;
    let i = 0;
    // Fast path for ASCII runs when no sequence is pending.
    let s = '';
    while (i < n) {
      const b = bytes[i];
      if (need === 0) {
        if (b < 0x80) {
          let k = i + 1;
          while (k < n && bytes[k] < 0x80 && k - i < 8192) k++;
          if (k - i > 16) {
            if (out.length) { s += fromCodes(out); out.length = 0; }
            s += String.fromCharCode.apply(null, bytes.subarray(i, k));
            i = k;
          } else { out.push(b); i++; }
          continue;
        }
        if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          if (b === 0xed) upper = 0x9f;
          need = 2; cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          if (b === 0xf4) upper = 0x8f;
          need = 3; cp = b & 0x7;
        } else bad();
        i++;
        continue;
      }
      if (b < lower || b > upper) {
        need = 0; cp = 0; seen = 0; lower = 0x80; upper = 0xbf;
        bad();
        continue; // reprocess this byte
      }
      lower = 0x80; upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      seen++;
      i++;
      if (seen === need) {
        if (cp > 0xffff) { cp -= 0x10000; out.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); }
        else out.push(cp);
        need = 0; cp = 0; seen = 0;
      }
      if (out.length > 8192) { s += fromCodes(out); out.length = 0; }
    }
    if (flush && need !== 0) {
      need = 0; cp = 0; seen = 0; lower = 0x80; upper = 0xbf;
      bad();
    }
    Object.assign(this, { need, cp, seen, lower, upper });
    return s + fromCodes(out);
  };

  function Utf16State(fatal, be) { this.fatal = fatal; this.be = be; this.lead = -1; this.hi = -1; }
  Utf16State.prototype.decode = function (bytes, flush) {
    const out = [];
    let k = 0;
    const bad = () => { if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-16'); out.push(0xfffd); };
    for (let i = 0; i < bytes.length; i++) {
      if (this.lead < 0) { this.lead = bytes[i]; continue; }
      const unit = this.be ? (this.lead << 8) | bytes[i] : (bytes[i] << 8) | this.lead;
      this.lead = -1;
      if (this.hi >= 0) {
        if (unit >= 0xdc00 && unit <= 0xdfff) { out.push(this.hi, unit); this.hi = -1; continue; }
        this.hi = -1; bad();
      }
      if (unit >= 0xd800 && unit <= 0xdbff) { this.hi = unit; continue; }
      if (unit >= 0xdc00 && unit <= 0xdfff) { bad(); continue; }
      out.push(unit);
      k++;
    }
    if (flush && (this.lead >= 0 || this.hi >= 0)) { this.lead = -1; this.hi = -1; bad(); }
    return fromCodes(out);
  };

  // windows-1252 bytes 0x80..0x9f; everything else maps to itself.
  const W1252 = [0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
    0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178];
  function SingleByteState() {}
  SingleByteState.prototype.decode = function (bytes) {
    const out = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) { const b = bytes[i]; out[i] = b >= 0x80 && b < 0xa0 ? W1252[b - 0x80] : b; }
    return fromCodes(out);
  };

  const LABELS = {};
  const label = (name, list) => { for (const l of list.split(' ')) LABELS[l] = name; };
  label('utf-8', 'unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8');
  label('utf-16le', 'csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le');
  label('utf-16be', 'unicodefffe utf-16be');
  label('windows-1252', 'ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252');

  const BOMS = { 'utf-8': [0xef, 0xbb, 0xbf], 'utf-16le': [0xff, 0xfe], 'utf-16be': [0xfe, 0xff] };

  class TextDecoder {
    #enc; #fatal; #ignoreBOM; #state = null; #bomSeen = false; #bomBuf = [];
    constructor(lbl = 'utf-8', options = {}) {
      const key = String(lbl).trim().toLowerCase();
      const enc = LABELS[key];
      if (!enc) throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${lbl}') is invalid.`);
      this.#enc = enc;
      const opts = options == null ? {} : options;
      this.#fatal = Boolean(opts.fatal);
      this.#ignoreBOM = Boolean(opts.ignoreBOM);
    }
    get encoding() { return this.#enc; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    #newState() {
      if (this.#enc === 'utf-8') return new Utf8State(this.#fatal);
      if (this.#enc === 'windows-1252') return new SingleByteState();
      return new Utf16State(this.#fatal, this.#enc === 'utf-16be');
    }
    decode(input, options) {
      let bytes = toBytes(input);
      const stream = Boolean(options && options.stream);
      if (this.#state === null) { this.#state = this.#newState(); this.#bomSeen = false; this.#bomBuf = []; }
      const bom = BOMS[this.#enc];
      // The BOM is sniffed from the first bytes of the stream, which may arrive split.
      if (bom && !this.#ignoreBOM && !this.#bomSeen) {
        const buf = this.#bomBuf.concat(Array.from(bytes.subarray(0, bom.length - this.#bomBuf.length)));
        let matches = true;
        for (let i = 0; i < buf.length; i++) if (buf[i] !== bom[i]) { matches = false; break; }
        if (matches && buf.length < bom.length && stream) {
          this.#bomBuf = buf;
          return '';
        }
        this.#bomSeen = true;
        const consumed = buf.length - this.#bomBuf.length;
        if (matches && buf.length === bom.length) bytes = bytes.subarray(consumed);
        else if (this.#bomBuf.length) {
          const joined = new Uint8Array(this.#bomBuf.length + bytes.length);
          joined.set(this.#bomBuf); joined.set(bytes, this.#bomBuf.length);
          bytes = joined;
        }
        this.#bomBuf = [];
      }
      let s;
      try {
        s = this.#state.decode(bytes, !stream);
      } catch (e) {
        this.#state = null;
        throw e;
      }
      if (!stream) this.#state = null;
      return s;
    }
    get [Symbol.toStringTag]() { return 'TextDecoder'; }
  }

  // ---- base64 ------------------------------------------------------------------------------
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_INDEX = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
    const s = String(data);
    let out = '';
    const parts = [];
    let i = 0;
    for (; i + 2 < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if ((a | b | c) > 255) throw invalidChar("Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.");
      const n = (a << 16) | (b << 8) | c;
      out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
      if (out.length > 8192) { parts.push(out); out = ''; }
    }
    const rest = s.length - i;
    if (rest) {
      const a = s.charCodeAt(i), b = rest === 2 ? s.charCodeAt(i + 1) : 0;
      if ((a | b) > 255) throw invalidChar("Failed to execute 'btoa': The string to be encoded contains characters outside of the Latin1 range.");
      const n = (a << 16) | (b << 8);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (rest === 2 ? B64[(n >> 6) & 63] : '=') + '=';
    }
    parts.push(out);
    return parts.join('');
  }

  function atob(data) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
    // forgiving-base64 decode: strip ASCII whitespace, allow missing padding.
    let s = String(data).replace(/[\t\n\f\r ]+/g, '');
    if (s.length % 4 === 0 && s.endsWith('=')) s = s.slice(0, s.endsWith('==') ? -2 : -1);
    if (s.length % 4 === 1) throw invalidChar("Failed to execute 'atob': The string to be decoded is not correctly encoded.");
    const parts = [];
    let out = '';
    let acc = 0, bits = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const v = c < 256 ? B64_INDEX[c] : -1;
      if (v < 0) throw invalidChar("Failed to execute 'atob': The string to be decoded is not correctly encoded.");
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((acc >> bits) & 255);
        acc &= (1 << bits) - 1;
        if (out.length > 8192) { parts.push(out); out = ''; }
      }
    }
    parts.push(out);
    return parts.join('');
  }

  // ---- streams (need TransformStream, looked up when constructed) -----------------------------
  const transformStream = (t) => {
    if (typeof g.TransformStream !== 'function') throw new TypeError('TransformStream is not available');
    return new g.TransformStream(t);
  };
  class TextEncoderStream {
    #ts;
    constructor() {
      const encoder = new TextEncoder();
      let pending = ''; // a high surrogate waiting for its pair from the next chunk
      this.#ts = transformStream({
        transform(chunk, controller) {
          let s = pending + String(chunk);
          pending = '';
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) { pending = s[s.length - 1]; s = s.slice(0, -1); }
          if (s !== '') controller.enqueue(encoder.encode(s));
        },
        flush(controller) { if (pending !== '') controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd])); },
      });
    }
    get encoding() { return 'utf-8'; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
    get [Symbol.toStringTag]() { return 'TextEncoderStream'; }
  }
  class TextDecoderStream {
    #decoder; #ts;
    constructor(label = 'utf-8', options = {}) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      this.#ts = transformStream({
        transform(chunk, controller) {
          const s = decoder.decode(chunk, { stream: true });
          if (s !== '') controller.enqueue(s);
        },
        flush(controller) {
          const s = decoder.decode();
          if (s !== '') controller.enqueue(s);
        },
      });
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
    get [Symbol.toStringTag]() { return 'TextDecoderStream'; }
  }

  const define = (name, value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  define('TextEncoder', TextEncoder);
  define('TextDecoder', TextDecoder);
  define('TextEncoderStream', TextEncoderStream);
  define('TextDecoderStream', TextDecoderStream);
  define('atob', atob);
  define('btoa', btoa);
})();
