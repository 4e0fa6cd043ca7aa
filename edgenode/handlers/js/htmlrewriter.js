/* edgenode Web API: HTMLRewriter (the Cloudflare Workers streaming HTML rewriter API), written for
 * edgenode in plain JavaScript.
 *
 * Plain script. Defines globalThis.HTMLRewriter. Needs TextEncoder/TextDecoder and TransformStream
 * at transform time (and Response/Headers for transform(response)); they are looked up lazily.
 *
 *   new HTMLRewriter().on(selector, {element, text, comments}).onDocument({doctype, comments, text, end})
 *     .transform(response) -> Response      (transformInto is an alias)
 *
 * The body is streamed: every input chunk is tokenized as it arrives (state is kept across chunk
 * boundaries, so a tag, attribute, comment or multi-byte character may be split anywhere), and
 * the output for it is enqueued as soon as it no longer depends on input still to come. Memory stays
 * flat except for one unfinished tag/comment, which is buffered until it completes.
 * Handlers may return promises; they are awaited in document order before the stream goes on.
 *
 * Selectors: `*`, `E`, `#id`, `.class`, `[attr]`, `[attr=v]`, `[attr~=v]`, `[attr|=v]`,
 * `[attr^=v]`, `[attr$=v]`, `[attr*=v]` (with ` i`/` s` flags), compounds of these, `E F`, `E > F`,
 * selector lists `A, B`, `:first-child`, `:nth-child(an+b|odd|even)`, `:first-of-type`,
 * `:nth-of-type(...)`, `:not(...)`. An invalid selector throws a TypeError from on().
 * Element: tagName (settable; also renames the end tag), attributes (iterator of [name, value]),
 * namespaceURI, removed, selfClosing, canHaveContent, getAttribute/hasAttribute/setAttribute/
 * removeAttribute, before/after/prepend/append/replace/setInnerContent(content, {html}),
 * remove, removeAndKeepContent, onEndTag(handler) (EndTag: name, before, after, remove).
 * Text: text, lastInTextNode, removed, before/after/replace/remove (text arrives in chunks, each
 * with lastInTextNode === false; the end of a text node is an extra empty chunk with
 * lastInTextNode === true, as in lol-html).
 * Comment: text (settable), removed, before/after/replace/remove. Doctype: name, publicId,
 * systemId, remove. DocumentEnd: append. Inserted content is HTML-escaped unless {html: true};
 * content mutations of void elements (prepend/append/setInnerContent on <img>) are ignored.
 * `text`/`comments` handlers of an element selector see all text/comments inside the element.
 *
 * Behaviour follows lol-html (Cloudflare's rewriter), checked differentially against it: void
 * elements never open; an end tag closes the nearest open element of its name and is also the end
 * tag of the elements still open inside it (their onEndTag handlers see it, the last one with
 * append/after content decides what surrounds it, removing any of them removes it); there is no
 * other implicit closing (an unclosed `<p>` runs to the end of the document, and elements never
 * closed get no append/after); `<x/>` is self-closing only inside svg/math. Raw-text elements
 * (script, style, xmp, iframe, noembed, noframes, textarea, title, plaintext) hold text up to the
 * matching end tag. Attribute values and text are raw (not entity-decoded); a changed start tag
 * keeps the source text of untouched attributes (duplicates included) and the tag name's case.
 * Known gaps (vs lol-html): no `:last-child`-style lookahead pseudo-classes, no `+`/`~`
 * combinators, no character encodings other than UTF-8 (invalid UTF-8 bytes come out as U+FFFD),
 * no memory limit setting, text chunk boundaries differ (lol-html also splits at a `<` that is text).

 * Speed: unchanged input is copied out as merged ranges of the chunk; synchronous handlers run
 * inline, and only a handler that returns a promise makes the core queue the following tokens.
 *
 * Core without Response (used by tests and by the runtime): HTMLRewriter.prototype._transformStream()
 * returns a TransformStream of Uint8Array (or string) chunks to Uint8Array chunks, and
 * HTMLRewriter.prototype._core() returns an object with write(string) and end(), each returning
 * the output string, or a promise of it when a handler was async.
 */
(function () {
  'use strict';
  const g = globalThis;

  // ---- selectors -------------------------------------------------------------------------------
  const IDENT = /-?(?:[_a-zA-Z\u00a0-\uffff]|\\.)(?:[-_a-zA-Z0-9\u00a0-\uffff]|\\.)*/y;
  const unescapeIdent = (s) => s.replace(/\\(.)/g, '$1');

  function parseSelector(text) {
    const src = String(text);
    let pos = 0;
    const fail = () => { throw new TypeError(`Unsupported or invalid selector: ${src}`); };
    const ws = () => { while (pos < src.length && /\s/.test(src[pos])) pos++; };
    const ident = () => {
      IDENT.lastIndex = pos;
      const m = IDENT.exec(src);
      if (!m) return null;
      pos = IDENT.lastIndex;
      return unescapeIdent(m[0]);
    };
    const value = () => {
      const q = src[pos];
      if (q === '"' || q === "'") {
        const end = src.indexOf(q, pos + 1);
        if (end < 0) fail();
        const v = src.slice(pos + 1, end);
        pos = end + 1;
        return unescapeIdent(v);
      }
      const v = ident();
      if (v === null) fail();
      return v;
    };
    function nth(arg) {
      const a = arg.replace(/\s+/g, '').toLowerCase();
      if (a === 'odd') return [2, 1];
      if (a === 'even') return [2, 0];
      const m = /^([+-]?\d*)n([+-]\d+)?$/.exec(a);
      if (m) return [m[1] === '' || m[1] === '+' ? 1 : m[1] === '-' ? -1 : parseInt(m[1], 10), m[2] ? parseInt(m[2], 10) : 0];
      if (/^[+-]?\d+$/.test(a)) return [0, parseInt(a, 10)];
      return fail();
    }
    function compound() {
      const c = { tag: null, id: null, classes: [], attrs: [], pseudos: [] };
      const start = pos;
      if (src[pos] === '*') { pos++; c.tag = '*'; } else {
        const t = ident();
        if (t !== null) c.tag = t.toLowerCase();
      }
      for (;;) {
        const ch = src[pos];
        if (ch === '#') { pos++; c.id = ident(); if (c.id === null) fail(); }
        else if (ch === '.') { pos++; const k = ident(); if (k === null) fail(); c.classes.push(k); }
        else if (ch === '[') {
          pos++; ws();
          const name = ident();
          if (name === null) fail();
          ws();
          const attr = { name: name.toLowerCase(), op: null, value: null, ci: false };
          const m = /^([~|^$*]?=)/.exec(src.slice(pos, pos + 2));
          if (m) {
            attr.op = m[1];
            pos += m[1].length;
            ws();
            attr.value = value();
            ws();
            if (/[is]/i.test(src[pos] || '') && /[\s\]]/.test(src[pos + 1] || '')) { attr.ci = src[pos].toLowerCase() === 'i'; pos++; ws(); }
          }
          if (src[pos] !== ']') fail();
          pos++;
          c.attrs.push(attr);
        } else if (ch === ':') {
          pos++;
          const name = (ident() || fail()).toLowerCase();
          if (name === 'first-child') c.pseudos.push({ kind: 'nth', ofType: false, ab: [0, 1] });
          else if (name === 'first-of-type') c.pseudos.push({ kind: 'nth', ofType: true, ab: [0, 1] });
          else if (name === 'nth-child' || name === 'nth-of-type' || name === 'not') {
            if (src[pos] !== '(') fail();
            let depth = 1, end = pos + 1;
            for (; end < src.length && depth; end++) { if (src[end] === '(') depth++; else if (src[end] === ')') depth--; }
            if (depth) fail();
            const arg = src.slice(pos + 1, end - 1);
            pos = end;
            if (name === 'not') c.pseudos.push({ kind: 'not', list: parseSelector(arg) });
            else c.pseudos.push({ kind: 'nth', ofType: name === 'nth-of-type', ab: nth(arg) });
          } else fail();
        } else break;
      }
      if (pos === start) fail();
      return c;
    }
    const list = [];
    for (;;) {
      ws();
      const parts = [compound()];
      const combs = [null];
      for (;;) {
        const before = pos;
        ws();
        if (pos >= src.length || src[pos] === ',') break;
        if (src[pos] === '>') { pos++; ws(); combs.push('>'); }
        else if (pos > before) combs.push(' ');
        else fail();
        parts.push(compound());
      }
      list.push({ parts, combs });
      if (pos >= src.length) break;
      pos++; // ','
    }
    return list;
  }

  function attrMatches(a, entry) {
    const v = entry.el.getAttribute(a.name);
    if (v === null) return false;
    if (a.op === null) return true;
    let have = v, want = a.value;
    if (a.ci) { have = have.toLowerCase(); want = want.toLowerCase(); }
    switch (a.op) {
      case '=': return have === want;
      case '~=': return want !== '' && !/\s/.test(want) && have.split(/[\t\n\f\r ]+/).includes(want);
      case '|=': return have === want || have.startsWith(want + '-');
      case '^=': return want !== '' && have.startsWith(want);
      case '$=': return want !== '' && have.endsWith(want);
      case '*=': return want !== '' && have.includes(want);
    }
    return false;
  }
  const nthMatches = ([a, b], index) => (a === 0 ? index === b : (index - b) / a >= 0 && (index - b) % a === 0);
  function compoundMatches(c, entry) {
    if (c.tag !== null && c.tag !== '*' && c.tag !== entry.name) return false;
    if (c.id !== null && entry.el.getAttribute('id') !== c.id) return false;
    if (c.classes.length) {
      const cls = entry.el.getAttribute('class');
      if (cls === null) return false;
      const have = cls.split(/[\t\n\f\r ]+/);
      for (const k of c.classes) if (!have.includes(k)) return false;
    }
    for (const a of c.attrs) if (!attrMatches(a, entry)) return false;
    for (const p of c.pseudos) {
      if (p.kind === 'nth') { if (!nthMatches(p.ab, p.ofType ? entry.typeIndex : entry.index)) return false; }
      else if (listMatches(p.list, entry)) return false;
    }
    return true;
  }
  // parts[i] must match `entry`; then walk up according to the combinator before it.
  function complexMatches(sel, i, entry) {
    if (!compoundMatches(sel.parts[i], entry)) return false;
    if (i === 0) return true;
    if (sel.combs[i] === '>') return entry.parent !== null && entry.parent.el !== null && complexMatches(sel, i - 1, entry.parent);
    for (let p = entry.parent; p !== null && p.el !== null; p = p.parent) if (complexMatches(sel, i - 1, p)) return true;
    return false;
  }
  function listMatches(list, entry) {
    for (const sel of list) if (complexMatches(sel, sel.parts.length - 1, entry)) return true;
    return false;
  }

  // ---- content helpers ---------------------------------------------------------------------------
  const escapeContent = (s) => String(s).replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
  const content = (c, opts) => (opts && opts.html ? String(c) : escapeContent(c));
  const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
  const RAW_TEXT = new Set(['script', 'style', 'xmp', 'iframe', 'noembed', 'noframes', 'textarea', 'title', 'plaintext']);
  const NS_HTML = 'http://www.w3.org/1999/xhtml', NS_SVG = 'http://www.w3.org/2000/svg', NS_MATH = 'http://www.w3.org/1998/Math/MathML';
  const isWS = (c) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
  const isLetter = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

  // Scans a tag starting at `<` (buf[start]); returns the index after `>`, or -1 if incomplete.
  function scanTag(buf, start) {
    const len = buf.length;
    let i = start + 1;
    while (i < len) {
      const c = buf.charCodeAt(i);
      if (c === 62) return i + 1; // >
      if (c === 61) { // = : skip whitespace, then a quoted or unquoted value
        i++;
        while (i < len && isWS(buf.charCodeAt(i))) i++;
        if (i >= len) return -1;
        const q = buf.charCodeAt(i);
        if (q === 34 || q === 39) {
          const end = buf.indexOf(q === 34 ? '"' : "'", i + 1);
          if (end < 0) return -1;
          i = end + 1;
        }
        continue;
      }
      i++;
    }
    return -1;
  }
  // Parses the attributes of a raw start tag into [[name, value, hasValue, sourceText]]; duplicates
  // are kept, as lol-html keeps them.
  function parseAttrs(raw, from) {
    const out = [];
    const len = raw.length - 1; // stop before '>'
    let i = from;
    while (i < len) {
      let c = raw.charCodeAt(i);
      if (isWS(c) || c === 47) { i++; continue; }
      let j = i + 1;
      while (j < len) { c = raw.charCodeAt(j); if (isWS(c) || c === 47 || c === 61) break; j++; }
      const begin = i;
      const name = raw.slice(i, j).toLowerCase();
      i = j;
      while (i < len && isWS(raw.charCodeAt(i))) i++;
      let value = '', has = false;
      if (raw.charCodeAt(i) === 61) {
        has = true;
        i++;
        while (i < len && isWS(raw.charCodeAt(i))) i++;
        const q = raw.charCodeAt(i);
        if (q === 34 || q === 39) {
          const end = raw.indexOf(q === 34 ? '"' : "'", i + 1);
          value = raw.slice(i + 1, end);
          i = end + 1;
        } else {
          j = i;
          while (j < len && !isWS(raw.charCodeAt(j))) j++;
          value = raw.slice(i, j);
          i = j;
        }
      }
      if (!has) i = j;
      out.push([name, value, has, raw.slice(begin, i)]);
    }
    return out;
  }

  // ---- the objects handlers see -----------------------------------------------------------------
  class Mutations {
    constructor() { this._before = ''; this._after = ''; this._replace = null; this._removed = false; }
    before(c, o) { this._before += content(c, o); return this; }
    after(c, o) { this._after = content(c, o) + this._after; return this; }
    replace(c, o) { this._replace = content(c, o); this._removed = true; return this; }
    remove() { this._removed = true; return this; }
    get removed() { return this._removed; }
  }

  class Element {
    constructor(name, raw, nameEnd, ns, selfClosingSyntax) {
      this._name = name; this._outName = raw.slice(1, nameEnd); this._renamed = false; this._raw = raw; this._nameEnd = nameEnd; this._ns = ns;
      this._attrs = null; this._modified = false; this._selfClosing = selfClosingSyntax;
      this._before = ''; this._after = ''; this._prepend = ''; this._append = '';
      this._inner = null; this._replace = null; this._removed = false; this._keepContent = false;
      this._endHandlers = null; this._plain = false; this._canHaveContent = !(ns === NS_HTML && VOID.has(name)) && !(ns !== NS_HTML && selfClosingSyntax);
    }
    _list() { if (this._attrs === null) this._attrs = parseAttrs(this._raw, this._nameEnd); return this._attrs; }
    get tagName() { return this._name; }
    set tagName(v) { this._outName = String(v); this._name = this._outName.toLowerCase(); this._renamed = true; this._modified = true; }
    get namespaceURI() { return this._ns; }
    get attributes() { return this._list().map((a) => [a[0], a[1]])[Symbol.iterator](); }
    get removed() { return this._removed; }
    get selfClosing() { return this._selfClosing; }
    get canHaveContent() { return this._canHaveContent; }
    getAttribute(name) {
      const n = String(name).toLowerCase();
      for (const a of this._list()) if (a[0] === n) return a[1];
      return null;
    }
    hasAttribute(name) { return this.getAttribute(name) !== null; }
    setAttribute(name, value) {
      const n = String(name).toLowerCase();
      if (!/^[^\s"'>/=\0]+$/.test(n)) throw new TypeError(`Invalid attribute name: ${name}`);
      const v = String(value);
      const list = this._list();
      const a = list.find((x) => x[0] === n);
      if (a) { a[1] = v; a[2] = true; a[3] = null; } else list.push([n, v, true, null]);
      this._modified = true;
      return this;
    }
    removeAttribute(name) {
      const n = String(name).toLowerCase();
      const list = this._list();
      const kept = list.filter((x) => x[0] !== n);
      if (kept.length !== list.length) { this._attrs = kept; this._modified = true; }
      return this;
    }
    before(c, o) { this._before += content(c, o); return this; }
    after(c, o) { this._after = content(c, o) + this._after; return this; }
    prepend(c, o) { this._prepend = content(c, o) + this._prepend; return this; }
    append(c, o) { this._append += content(c, o); return this; }
    setInnerContent(c, o) { this._inner = content(c, o); this._prepend = ''; this._append = ''; return this; }
    replace(c, o) { this._replace = content(c, o); this._removed = true; this._keepContent = false; return this; }
    remove() { this._replace = ''; this._removed = true; this._keepContent = false; return this; }
    removeAndKeepContent() { this._keepContent = true; this._removed = true; return this; }
    onEndTag(handler) {
      if (!this._canHaveContent) throw new TypeError('Parser error: No end tag.');
      if (typeof handler !== 'function') throw new TypeError('onEndTag handler must be a function');
      (this._endHandlers || (this._endHandlers = [])).push(handler);
    }
    _startTag() {
      if (!this._modified) return this._raw;
      let s = '<' + this._outName;
      // Untouched attributes keep their source text; values are raw (entities as written), so a
      // changed value only needs its quotes escaped, as lol-html does.
      for (const [n, v, has, src] of this._list()) {
        s += src !== null ? ' ' + src : has ? ` ${n}="${v.replace(/"/g, '&quot;')}"` : ' ' + n;
      }
      return s + (this._selfClosing ? ' />' : '>');
    }
  }

  class EndTag extends Mutations {
    constructor(name) { super(); this.name = name; }
    replace() { throw new TypeError('EndTag cannot be replaced'); }
  }
  class TextChunk extends Mutations {
    constructor(text, last) { super(); this.text = text; this.lastInTextNode = last; }
  }
  class Comment extends Mutations {
    constructor(text, raw) { super(); this._text = text; this._raw = raw; this._changed = false; }
    get text() { return this._text; }
    // Any assignment re-serializes the comment (so `<!-->` and `<?x?>` become `<!---->` and
    // `<!--?x?-->`), as lol-html does.
    set text(v) { this._text = String(v); this._changed = true; }
  }
  class Doctype {
    constructor(raw) {
      this._raw = raw;
      const m = /^<!doctype\s*([^\s>]*)\s*(?:public\s*(["'])(.*?)\2)?\s*(?:(?:system)?\s*(["'])(.*?)\4)?/i.exec(raw);
      this.name = m && m[1] ? m[1].toLowerCase() : null;
      this.publicId = m && m[3] !== undefined ? m[3] : null;
      this.systemId = m && m[5] !== undefined ? m[5] : null;
      this._removed = false;
    }
    remove() { this._removed = true; return this; }
    get removed() { return this._removed; }
  }
  class DocumentEnd {
    constructor() { this._append = ''; }
    append(c, o) { this._append += content(c, o); return this; }
  }

  const RAW_END = new Map();
  function rawEndPattern(tag) {
    let re = RAW_END.get(tag);
    if (!re) { re = new RegExp('</' + tag + '(?=[\\t\\n\\f\\r />]|$)', 'gi'); RAW_END.set(tag, re); }
    return re;
  }
  const noop = () => {};
  const isThenable = (r) => r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function';

  // ---- the streaming core ------------------------------------------------------------------------
  // Tokens are processed one at a time, in order. A token with handlers becomes a job: its handler
  // calls run one after another and, if one returns a promise, the core suspends (keeping its
  // position) until it settles, then finishes the job (emits its output) and goes on tokenizing.
  // Plain functions and explicit state instead of generators keep a cold isolate fast.
  const NO_FNS = [];
  class Job {
    constructor(fns, arg, finish) { this.fns = fns; this.arg = arg; this.finish = finish; this.next = 0; this.wait = null; }
  }

  class RewriterCore {
    constructor(elementHandlers, documentHandlers) {
      this.eh = elementHandlers; // [{selector: parsed list, handlers}]
      const pick = (name) => documentHandlers.filter((h) => typeof h[name] === 'function').map((h) => h[name].bind(h));
      this.docText = pick('text');
      this.docComments = pick('comments');
      this.docDoctype = pick('doctype');
      this.docEnd = pick('end');
      this.buf = '';
      this.pos = 0;
      this.out = [];
      this.suppress = 0;
      this.root = { el: null, name: '#document', parent: null, childCount: 0, typeCounts: null, contentText: null, contentComments: null, ns: NS_HTML, suppressed: false };
      this.top = this.root;
      this.contentDepth = 0; // open elements that carry text/comments handlers
      this.rawTag = null;
      this.textStart = -1; // pending text is buf[textStart, textEnd)
      this.textEnd = -1;
      this.runStart = -1; // output not yet copied: buf[runStart, runEnd)
      this.runEnd = -1;
      this.ts = 0; // the current token is buf[ts, te)
      this.te = 0;
      this.inText = false;
      this.busy = false;
      this.eof = false;
      this.job = null; // a suspended job
      this.jobs = []; // jobs queued by one token (e.g. text flush then tag)
      this._outFn = (s) => this._out(s);
      // Output of a text chunk or comment once its handlers ran.
      this._finishMutable = (t) => {
        this._out(t._before);
        if (t._replace !== null) this._out(t._replace);
        else if (!t._removed) this._out(t._raw === undefined ? t.text : t._changed ? '<!--' + t._text + '-->' : t._raw);
        this._out(t._after);
      };
    }
    write(text) { return this._start(String(text), false); }
    end() { return this._start('', true); }
    _start(chunk, eof) {
      if (this.busy) throw new TypeError('HTMLRewriter: write() while a previous write is still pending');
      this.busy = true;
      this.buf = this.buf.slice(this.pos) + chunk;
      this.pos = 0;
      this.eof = eof;
      return this._continue();
    }
    _fail(e) { this.busy = false; throw e; }
    // Runs queued jobs and the tokenizer until the input is used up or a handler is pending.
    _continue() {
      try {
        for (;;) {
          while (this.jobs.length) {
            const job = this.jobs[0];
            const fns = job.fns;
            let r = job.wait;
            job.wait = null;
            while (r === null && job.next < fns.length) {
              r = fns[job.next++](job.arg);
              if (r === null || (typeof r !== 'object' && typeof r !== 'function') || typeof r.then !== 'function') r = null;
            }
            if (r !== null) {
              if (this.runStart >= 0) this._flushRun();
              return Promise.resolve(r).then(() => this._continue(), (e) => this._fail(e));
            }
            this.jobs.shift();
            job.finish(job.arg);
          }
          if (!this._step()) break;
        }
      } catch (e) {
        this._fail(e);
      }
      this.busy = false;
      if (this.runStart >= 0) this._flushRun();
      const s = this.out.length === 1 ? this.out[0] : this.out.join('');
      this.out = [];
      return s;
    }
    // _out writes now (finishers run in order); _emit and _later wait for jobs queued before them.
    _out(s) {
      if (this.suppress !== 0 || s === '') return;
      if (this.runStart >= 0) this._flushRun();
      this.out.push(s);
    }
    // Unchanged input goes out as ranges of buf, merged while contiguous, sliced once.
    _copy(start, end) {
      if (start === end) return;
      if (this.jobs.length) { this.jobs.push(new Job(NO_FNS, this.buf.slice(start, end), this._outFn)); return; }
      if (this.suppress !== 0) return;
      if (this.runEnd === start) { this.runEnd = end; return; }
      if (this.runStart >= 0) this._flushRun();
      this.runStart = start;
      this.runEnd = end;
    }
    _flushRun() {
      this.out.push(this.buf.slice(this.runStart, this.runEnd));
      this.runStart = this.runEnd = -1;
    }
    _addText(start, end) {
      if (start === end) return;
      if (this.textStart < 0) this.textStart = start;
      this.textEnd = end;
    }
    _emit(s) { if (this.jobs.length) this.jobs.push(new Job(NO_FNS, s, this._outFn)); else this._out(s); }
    _later(fn, arg) { if (this.jobs.length) this.jobs.push(new Job(NO_FNS, arg, fn)); else fn(arg); }
    // Runs a token's handlers now when nothing is queued (the common, synchronous case); a handler
    // returning a promise turns the rest into a queued job that waits for it.
    _job(fns, arg, finish) {
      if (this.jobs.length === 0) {
        for (let k = 0; k < fns.length; k++) {
          const r = fns[k](arg);
          if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function') {
            const job = new Job(fns, arg, finish);
            job.next = k + 1;
            job.wait = r;
            this.jobs.push(job);
            return;
          }
        }
        finish(arg);
        return;
      }
      this.jobs.push(new Job(fns, arg, finish));
    }

    // Consumes input until at least one job is queued; returns false when nothing more can be done.
    _step() {
      const buf = this.buf, len = buf.length;
      let i = this.pos;
      while (i < len && this.jobs.length === 0) {
        if (this.rawTag !== null) { i = this._rawText(buf, i); if (i < 0) { i = this.pos; break; } continue; }
        const lt = buf.indexOf('<', i);
        if (lt < 0) { this._addText(i, len); i = len; break; }
        if (lt > i) this._addText(i, lt);
        i = lt;
        if (i + 1 >= len) break; // need the next character
        const c = buf.charCodeAt(i + 1);
        let end;
        if (isLetter(c)) {
          end = scanTag(buf, i);
          if (end < 0) break;
          this.ts = i; this.te = end;
          this._flushText(true);
          this._startTag(buf.slice(i, end));
        } else if (c === 47) { // '/'
          if (i + 2 >= len) break;
          const gt = buf.indexOf('>', i + 2);
          if (gt < 0) break;
          end = gt + 1;
          this.ts = i; this.te = end;
          this._flushText(true);
          const c2 = buf.charCodeAt(i + 2);
          if (isLetter(c2)) this._endTag(buf.slice(i, end));
          else if (c2 === 62) this._copy(this.ts, this.te);
          else this._comment(buf.slice(i, end), buf.slice(i + 2, gt));
        } else if (c === 33) { // '!'
          if (len - i < 4 && !this.eof) break;
          if (buf.startsWith('<!--', i)) {
            let close;
            let textEnd = buf.indexOf('-->', i + 4);
            if (buf.startsWith('>', i + 4)) { textEnd = i + 4; close = i + 5; }
            else if (buf.startsWith('->', i + 4)) { textEnd = i + 4; close = i + 6; }
            else if (textEnd < 0) break;
            else close = textEnd + 3;
            end = close;
            this.ts = i; this.te = end;
            this._flushText(true);
            this._comment(buf.slice(i, end), buf.slice(i + 4, textEnd));
          } else {
            if (len - i < 9 && !this.eof) break;
            const gt = buf.indexOf('>', i);
            if (gt < 0) break;
            end = gt + 1;
            this.ts = i; this.te = end;
            this._flushText(true);
            if (/^<!doctype/i.test(buf.slice(i, i + 9))) this._doctype(buf.slice(i, end));
            else this._comment(buf.slice(i, end), buf.slice(i + 2, gt));
          }
        } else if (c === 63) { // '?'
          const gt = buf.indexOf('>', i);
          if (gt < 0) break;
          end = gt + 1;
          this.ts = i; this.te = end;
          this._flushText(true);
          this._comment(buf.slice(i, end), buf.slice(i + 1, gt));
        } else {
          this._addText(i, i + 1);
          end = i + 1;
        }
        i = end;
      }
      this.pos = i;
      if (this.jobs.length) return true;
      // The rest of the buffer is an unfinished token (or nothing): hand out the text so far.
      if (this.eof) {
        if (this.pos < len) { this._addText(this.pos, len); this.pos = len; }
        this._flushText(true);
        // Elements never closed get no end: their append/after/onEndTag do not apply (as lol-html).
        this.top = this.root;
        this.contentDepth = 0;
        this.eof = false; // the end handlers run once
        const end = new DocumentEnd();
        this._job(this.docEnd, end, (e) => this._out(e._append));
        return true;
      }
      this._flushText(false);
      return this.jobs.length > 0;
    }
    // Inside script/style/...: returns the new position, or -1 to wait for more input.
    _rawText(buf, i) {
      const len = buf.length, tag = this.rawTag;
      let k = -1, ambiguous = false;
      if (tag !== 'plaintext') {
        const re = rawEndPattern(tag);
        re.lastIndex = i;
        const m = re.exec(buf);
        if (m) {
          k = m.index;
          // `</script` at the very end: the next chunk decides whether it is the end tag.
          if (k + m[0].length === len && !this.eof) { ambiguous = true; k = -1; }
        }
      }
      if (k >= 0) {
        this._addText(i, k);
        this.rawTag = null;
        this._flushText(true);
        return k;
      }
      // Keep back what could be the start of the closing tag.
      let safe = len;
      if (tag !== 'plaintext' && !this.eof) {
        const lt = buf.lastIndexOf('<');
        if (ambiguous || (lt >= i && len - lt <= tag.length + 2)) safe = Math.max(i, lt);
      }
      this._addText(i, safe);
      this.pos = safe;
      return -1;
    }

    _contentHandlers(key, doc) {
      if (this.contentDepth === 0) return doc;
      let list = null;
      for (let e = this.top; e !== this.root; e = e.parent) {
        if (e[key]) list = list ? e[key].concat(list) : e[key];
      }
      if (list === null) return doc;
      // A selector matching several open ancestors still calls its handler once per chunk.
      return doc.concat(list.length > 1 ? [...new Set(list)] : list);
    }
    _flushText(last) {
      const start = this.textStart, end = this.textEnd;
      this.textStart = this.textEnd = -1;
      if (start === end && !(last && this.inText)) return;
      const handlers = this._contentHandlers('contentText', this.docText);
      if (handlers.length === 0) { this._copy(start, end); this.inText = !last; return; }
      // As lol-html does: text goes out in chunks with lastInTextNode false, and the end of the
      // text node is reported by an extra empty chunk with lastInTextNode true.
      if (start !== end) {
        this._job(handlers, new TextChunk(this.buf.slice(start, end), false), this._finishMutable);
        this.inText = true;
      }
      if (last && this.inText) {
        this.inText = false;
        this._job(handlers, new TextChunk('', true), this._finishMutable);
      }
    }
    _comment(raw, text) {
      const handlers = this._contentHandlers('contentComments', this.docComments);
      if (handlers.length === 0) { this._copy(this.ts, this.te); return; }
      this._job(handlers, new Comment(text, raw), this._finishMutable);
    }
    _doctype(raw) {
      if (this.docDoctype.length === 0) { this._copy(this.ts, this.te); return; }
      this._job(this.docDoctype, new Doctype(raw), (d) => { if (!d._removed) this._out(raw); });
    }

    _startTag(raw) {
      let n = 1;
      while (n < raw.length) { const c = raw.charCodeAt(n); if (isWS(c) || c === 47 || c === 62) break; n++; }
      const name = raw.slice(1, n).toLowerCase();
      const parent = this.top;
      const ns = name === 'svg' ? NS_SVG : name === 'math' ? NS_MATH : parent.ns;
      // `/>` closes the tag unless the slash belongs to an unquoted attribute value (`href=/a/>`).
      const selfClosing = raw.charCodeAt(raw.length - 2) === 47 && !/=[\t\n\f\r ]*[^"'\t\n\f\r >][^\t\n\f\r >]*>$/.test(raw);
      const el = new Element(name, raw, n, ns, selfClosing);
      parent.childCount++;
      let typeIndex = 0;
      if (this.eh.length) {
        const tc = parent.typeCounts || (parent.typeCounts = new Map());
        typeIndex = (tc.get(name) || 0) + 1;
        tc.set(name, typeIndex);
      }
      const entry = {
        el, name, parent, childCount: 0, typeCounts: null, index: parent.childCount, typeIndex,
        contentText: null, contentComments: null, ns: name === 'foreignobject' ? NS_HTML : ns, suppressed: false,
      };
      let fns = null;
      for (const h of this.eh) {
        if (!listMatches(h.selector, entry)) continue;
        const hs = h.handlers;
        if (hs.element !== undefined) (fns || (fns = [])).push(hs.element);
        if (hs.text !== undefined) (entry.contentText || (entry.contentText = [])).push(hs.text);
        if (hs.comments !== undefined) (entry.contentComments || (entry.contentComments = [])).push(hs.comments);
      }
      if (el._canHaveContent) {
        this.top = entry;
        if (entry.contentText || entry.contentComments) { entry.counted = true; this.contentDepth++; }
        if (ns === NS_HTML && RAW_TEXT.has(name)) this.rawTag = name;
      }
      if (fns === null) { el._plain = true; this._copy(this.ts, this.te); } else this._job(fns, el, () => this._finishStart(entry));
    }
    _finishStart(entry) {
      const el = entry.el;
      this._out(el._before);
      if (el._replace !== null) this._out(el._replace);
      else if (!el._removed) this._out(el._startTag());
      if (!el._canHaveContent) { this._out(el._after); return; }
      // setInnerContent() dropped earlier prepend/append calls; later ones wrap the new content.
      if (!el._removed || el._keepContent) { this._out(el._prepend); if (el._inner !== null) this._out(el._inner); }
      if (el._inner !== null || (el._removed && !el._keepContent)) { this.suppress++; entry.suppressed = true; }
    }

    // An end tag closes the nearest open element of its name and, as in lol-html, is also the end
    // tag of the elements still open inside it; removing any of them removes the tag.
    _endTag(raw) {
      let n = 2;
      while (n < raw.length) { const c = raw.charCodeAt(n); if (isWS(c) || c === 47 || c === 62) break; n++; }
      const name = raw.slice(2, n).toLowerCase();
      let e = this.top;
      while (e !== this.root && e.name !== name) e = e.parent;
      if (e === this.root) { this._copy(this.ts, this.te); return; }
      const closed = [];
      let plain = true;
      for (let x = this.top; ; x = x.parent) {
        closed.push(x);
        if (x.counted) this.contentDepth--;
        if (!x.el._plain) plain = false;
        if (x === e) break;
      }
      this.top = e.parent;
      if (plain) { this._copy(this.ts, this.te); return; }
      // One EndTag token. Going inward-out, each element that has append/after content sets the
      // token's before/after to it (replacing what an inner element set, as lol-html does), a
      // renamed element renames it, and then the element's onEndTag handlers see it.
      const end = new EndTag(name);
      let dropTag = false;
      for (const x of closed) {
        const el = x.el;
        if (el._plain) continue;
        if (el._removed) dropTag = true;
        this._later(() => {
          if (el._renamed) end.name = el._outName;
          if (el._append !== '' || el._after !== '') {
            end._before = el._append;
            end._after = el._after;
          }
          // What comes before the end tag of a removed element is removed with it.
          if (el._removed && !el._keepContent) end._before = '';
        }, null);
        if (el._endHandlers) this._job(el._endHandlers, end, noop);
      }
      this._later(() => {
        for (const x of closed) if (x.suppressed) { this.suppress--; x.suppressed = false; }
        this._out(end._before);
        if (!dropTag && !end._removed) this._out(end.name === name ? raw : '</' + end.name + '>');
        this._out(end._after);
      }, null);
    }
  }

  // ---- HTMLRewriter ------------------------------------------------------------------------------
  class HTMLRewriter {
    constructor() {
      this._element = [];
      this._document = [];
    }
    on(selector, handlers) {
      if (handlers == null || typeof handlers !== 'object') throw new TypeError('HTMLRewriter.on: handlers must be an object');
      const bound = {};
      for (const k of ['element', 'text', 'comments']) if (typeof handlers[k] === 'function') bound[k] = handlers[k].bind(handlers);
      this._element.push({ selector: parseSelector(selector), handlers: bound });
      return this;
    }
    onDocument(handlers) {
      if (handlers == null || typeof handlers !== 'object') throw new TypeError('HTMLRewriter.onDocument: handlers must be an object');
      this._document.push(handlers);
      return this;
    }
    _core() { return new RewriterCore(this._element.slice(), this._document.slice()); }
    _transformStream() {
      const core = this._core();
      const decoder = new g.TextDecoder('utf-8', { ignoreBOM: true }); // a BOM passes through unchanged
      const encoder = new g.TextEncoder();
      const push = (controller, out) => { if (out !== '') controller.enqueue(encoder.encode(out)); };
      const after = (controller, r) => (isThenable(r) ? r.then((out) => push(controller, out)) : push(controller, r));
      return new g.TransformStream({
        transform(chunk, controller) {
          const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
          return after(controller, core.write(text));
        },
        flush(controller) {
          const tail = decoder.decode();
          const r = tail === '' ? '' : core.write(tail);
          if (isThenable(r)) return r.then((out) => { push(controller, out); return after(controller, core.end()); });
          push(controller, r);
          return after(controller, core.end());
        },
      });
    }
    transform(response) {
      if (typeof g.Response !== 'function') throw new TypeError('HTMLRewriter.transform needs Response');
      const Headers = g.Headers;
      const headers = Headers ? new Headers(response.headers) : response.headers;
      if (headers && typeof headers.delete === 'function') headers.delete('content-length');
      const init = { status: response.status, statusText: response.statusText, headers };
      if (response.body == null) return new g.Response(null, init);
      return new g.Response(response.body.pipeThrough(this._transformStream()), init);
    }
    transformInto(response) { return this.transform(response); }
  }

  Object.defineProperty(g, 'HTMLRewriter', { value: HTMLRewriter, writable: true, configurable: true, enumerable: false });
})();
