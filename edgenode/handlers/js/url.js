/* edgenode Web API: URL and URLSearchParams (https://url.spec.whatwg.org), written for edgenode.
 *
 * Plain script. Defines globalThis.URL and globalThis.URLSearchParams.
 * Supported: the full basic URL parser state machine (special schemes http/https/ws/wss/ftp/file,
 * opaque "scheme:path" URLs, relative resolution against a base, dot-segment removal incl. %2e
 * forms, Windows drive letters in file URLs, backslashes in special URLs), the spec's
 * percent-encode sets, host parsing (IPv4 in decimal/octal/hex and shortened forms, IPv6 with
 * compression and embedded IPv4, opaque hosts for non-special schemes, forbidden code points),
 * IDNA ToASCII with Punycode for non-ASCII hosts, every setter with its state override,
 * origin, toJSON, URL.canParse, URL.parse; URLSearchParams from a string, a record, an iterable of
 * pairs or another URLSearchParams, live-linked to url.search, with append/delete/get/getAll/has
 * (incl. the value argument)/set/sort/forEach/keys/values/entries/size/toString.
 * Invalid input throws `TypeError: Invalid URL`.
 * Known gaps: IDNA mapping uses NFKC + lower-casing (ICU's) rather than the full UTS #46 tables,
 * so a few exotic code points map differently, Bidi rules are not checked and ContextJ is
 * approximated; only the
 * UTF-8 encoding is used for queries; no URLPattern; blob: origins are derived from the inner URL.
 */
(function () {
  'use strict';
  const g = globalThis;

  const SPECIAL = { 'ftp': 21, 'file': null, 'http': 80, 'https': 443, 'ws': 80, 'wss': 443 };
  const isSpecialScheme = (s) => Object.prototype.hasOwnProperty.call(SPECIAL, s);

  // ---- percent-encoding ----------------------------------------------------------------------
  // Each set is a 128-entry table for ASCII; every non-ASCII code point is always encoded.
  function makeSet(base, extra) {
    const t = base ? base.slice() : new Uint8Array(128);
    if (!base) { for (let i = 0; i < 0x20; i++) t[i] = 1; t[0x7f] = 1; }
    for (const ch of extra) t[ch.charCodeAt(0)] = 1;
    return t;
  }
  const C0_SET = makeSet(null, '');
  const FRAGMENT_SET = makeSet(C0_SET, ' "<>`');
  const QUERY_SET = makeSet(C0_SET, ' "#<>');
  const SPECIAL_QUERY_SET = makeSet(QUERY_SET, "'");
  const PATH_SET = makeSet(QUERY_SET, '?`{}');
  const USERINFO_SET = makeSet(PATH_SET, '/:;=@[\\]^|');
  const HEX = '0123456789ABCDEF';
  const pctByte = (b) => '%' + HEX[b >> 4] + HEX[b & 15];

  function utf8Bytes(cp) {
    if (cp < 0x80) return [cp];
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
    if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
    return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  }
  // c is one code point as a string.
  function encodeCP(c, set) {
    const cp = c.codePointAt(0);
    if (cp < 0x80 && !set[cp]) return c;
    let out = '';
    for (const b of utf8Bytes(cp)) out += pctByte(b);
    return out;
  }
  function encodeString(s, set) {
    let simple = true;
    for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); if (c >= 0x80 || set[c]) { simple = false; break; } }
    if (simple) return s;
    let out = '';
    for (const c of s) out += encodeCP(c, set);
    return out;
  }
  function stringToUtf8(s) {
    const out = [];
    for (const c of s) { const cp = c.codePointAt(0); if (cp < 0x80) out.push(cp); else out.push(...utf8Bytes(cp)); }
    return out;
  }
  const isHex = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  function percentDecodeBytes(s) {
    const bytes = stringToUtf8(s);
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 37 && i + 2 < bytes.length && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
        out.push(parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16));
        i += 2;
      } else out.push(b);
    }
    return out;
  }
  // UTF-8 decode without BOM, invalid sequences become U+FFFD (WHATWG maximal subparts).
  function utf8Decode(bytes) {
    let s = '';
    let need = 0, cp = 0, lower = 0x80, upper = 0xbf;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (need === 0) {
        if (b < 0x80) s += String.fromCharCode(b);
        else if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) { if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; need = 2; cp = b & 0xf; }
        else if (b >= 0xf0 && b <= 0xf4) { if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; need = 3; cp = b & 7; }
        else s += '\ufffd';
        continue;
      }
      if (b < lower || b > upper) { need = 0; lower = 0x80; upper = 0xbf; s += '\ufffd'; i--; continue; }
      lower = 0x80; upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      if (--need === 0) s += String.fromCodePoint(cp);
    }
    if (need) s += '\ufffd';
    return s;
  }
  const percentDecodeString = (s) => (s.indexOf('%') < 0 ? s : utf8Decode(percentDecodeBytes(s)));

  // ---- hosts ---------------------------------------------------------------------------------
  const FORBIDDEN_HOST = /[\0\t\n\r #/:<>?@[\\\]^|]/;
  const FORBIDDEN_DOMAIN = /[\0-\x1f #%/:<>?@[\\\]^|\x7f]/;

  function punycodeEncode(input) {
    const cps = Array.from(input, (c) => c.codePointAt(0));
    const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
    let n = 128, delta = 0, bias = 72;
    let out = '';
    for (const cp of cps) if (cp < 0x80) out += String.fromCharCode(cp);
    const basicLen = out.length;
    let h = basicLen;
    if (basicLen) out += '-';
    const digit = (d) => String.fromCharCode(d < 26 ? d + 97 : d + 22);
    const adapt = (d, numPoints, first) => {
      d = first ? Math.floor(d / damp) : d >> 1;
      d += Math.floor(d / numPoints);
      let k = 0;
      while (d > ((base - tMin) * tMax) >> 1) { d = Math.floor(d / (base - tMin)); k += base; }
      return k + Math.floor(((base - tMin + 1) * d) / (d + skew));
    };
    while (h < cps.length) {
      let m = Infinity;
      for (const cp of cps) if (cp >= n && cp < m) m = cp;
      delta += (m - n) * (h + 1);
      n = m;
      for (const cp of cps) {
        if (cp < n) delta++;
        if (cp === n) {
          let q = delta;
          for (let k = base; ; k += base) {
            const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
            if (q < t) break;
            out += digit(t + ((q - t) % (base - t)));
            q = Math.floor((q - t) / (base - t));
          }
          out += digit(q);
          bias = adapt(delta, h + 1, h === basicLen);
          delta = 0;
          h++;
        }
      }
      delta++;
      n++;
    }
    return out;
  }

  // RFC 3492 decoding, only to validate `xn--` labels: returns false for malformed input.
  function punycodeValid(input) {
    const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
    if (input === '' || /[^\x00-\x7f]/.test(input)) return false;
    const dash = input.lastIndexOf('-');
    let out = dash > 0 ? dash : 0;
    let n = 128, i = 0, bias = 72;
    for (let pos = dash > 0 ? dash + 1 : 0; pos < input.length;) {
      const oldi = i;
      for (let w = 1, k = base; ; k += base) {
        if (pos >= input.length) return false;
        const c = input.charCodeAt(pos++);
        const digit = c >= 48 && c <= 57 ? c - 22 : c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 97 : base;
        if (digit >= base) return false;
        i += digit * w;
        if (i > 0x7fffffff) return false;
        const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
        if (digit < t) break;
        w *= base - t;
      }
      out++;
      let delta = oldi === 0 ? Math.floor((i - oldi) / damp) : (i - oldi) >> 1;
      delta += Math.floor(delta / out);
      let k = 0;
      while (delta > ((base - tMin) * tMax) >> 1) { delta = Math.floor(delta / (base - tMin)); k += base; }
      bias = k + Math.floor(((base - tMin + 1) * delta) / (delta + skew));
      n += Math.floor(i / out);
      i %= out;
      // Inserted code points must be non-ASCII and not controls or surrogates.
      if (n > 0x10ffff || n < 0xa0 || (n >= 0xd800 && n <= 0xdfff)) return false;
      i++;
    }
    return true;
  }

  // UTS #46 ToASCII, approximated with Unicode normalisation (see the header).
  const IDNA_IGNORED = /[\u00ad\u034f\u180b-\u180d\u200b\u2060\ufe00-\ufe0f\ufeff]/g;
  // CheckJoiners (RFC 5892 ContextJ), approximated: a zero-width joiner/non-joiner must follow a
  // virama; a non-joiner may also sit between Arabic-script letters.
  const VIRAMA = '[\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d4d\u0dca\u0f84\u1039\u103a\u1714\u1734\u17d2\u1a60\u1b44\u1baa\u1bab\u1bf2\u1bf3\u2d7f\ua806\ua8c4\ua953\ua9c0\uaaf6\uabed]';
  const BAD_JOINER = new RegExp('(?<!' + VIRAMA + ')\u200d|(?<!' + VIRAMA + '|[\u0620-\u06ff\u0750-\u077f])\u200c|\u200c(?![\u0620-\u06ff\u0750-\u077f])(?<!' + VIRAMA + '\u200c)');
  function domainToASCII(domain) {
    let d = domain;
    if (/[^\x00-\x7f]/.test(d)) {
      d = d.replace(IDNA_IGNORED, '').normalize('NFKC').toLowerCase().normalize('NFC').replace(/[\u3002\uff0e\uff61]/g, '.');
      if (d.indexOf('\ufffd') >= 0) return null;
      if (/[\u200c\u200d]/.test(d) && BAD_JOINER.test(d)) return null;
      d = d.split('.').map((label) => (/[^\x00-\x7f]/.test(label) ? 'xn--' + punycodeEncode(label) : label)).join('.');
    } else d = d.toLowerCase();
    if (d.indexOf('xn--') >= 0) {
      for (const label of d.split('.')) if (label.startsWith('xn--') && !punycodeValid(label.slice(4))) return null;
    }
    return d === '' ? null : d;
  }

  function parseIPv4Number(s) {
    if (s === '') return NaN;
    let radix = 10;
    if (s.length >= 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X')) { s = s.slice(2); radix = 16; }
    else if (s.length >= 2 && s[0] === '0') { s = s.slice(1); radix = 8; }
    if (s === '') return 0;
    const re = radix === 10 ? /^[0-9]+$/ : radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
    if (!re.test(s)) return NaN;
    return parseInt(s, radix);
  }
  function endsInANumber(s) {
    const parts = s.split('.');
    if (parts[parts.length - 1] === '') {
      if (parts.length === 1) return false;
      parts.pop();
    }
    const last = parts[parts.length - 1];
    if (last !== '' && /^[0-9]+$/.test(last)) return true;
    return !Number.isNaN(parseIPv4Number(last));
  }
  function parseIPv4(s) {
    const parts = s.split('.');
    if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
    if (parts.length > 4) return null;
    const nums = [];
    for (const p of parts) {
      const n = parseIPv4Number(p);
      if (Number.isNaN(n)) return null;
      nums.push(n);
    }
    for (let i = 0; i < nums.length - 1; i++) if (nums[i] > 255) return null;
    const last = nums[nums.length - 1];
    if (last >= 256 ** (5 - nums.length)) return null;
    let ipv4 = last;
    for (let i = 0; i < nums.length - 1; i++) ipv4 += nums[i] * 256 ** (3 - i);
    const out = [];
    for (let i = 0; i < 4; i++) { out.unshift(String(ipv4 % 256)); ipv4 = Math.floor(ipv4 / 256); }
    return out.join('.');
  }

  function parseIPv6(input) {
    const addr = [0, 0, 0, 0, 0, 0, 0, 0];
    let piece = 0, compress = null, p = 0;
    const c = (i) => input.charCodeAt(i);
    const len = input.length;
    const hexVal = (ch) => parseInt(String.fromCharCode(ch), 16);
    if (c(p) === 58) {
      if (c(p + 1) !== 58) return null;
      p += 2;
      compress = ++piece;
    }
    while (p < len) {
      if (piece === 8) return null;
      if (c(p) === 58) {
        if (compress !== null) return null;
        p++;
        compress = ++piece;
        continue;
      }
      let value = 0, length = 0;
      while (length < 4 && p < len && isHex(c(p))) { value = value * 16 + hexVal(c(p)); p++; length++; }
      if (p < len && c(p) === 46) {
        if (length === 0) return null;
        p -= length;
        if (piece > 6) return null;
        let numbersSeen = 0;
        while (p < len) {
          let ipv4Piece = null;
          if (numbersSeen > 0) {
            if (c(p) === 46 && numbersSeen < 4) p++;
            else return null;
          }
          if (!(c(p) >= 48 && c(p) <= 57)) return null;
          while (c(p) >= 48 && c(p) <= 57) {
            const n = c(p) - 48;
            if (ipv4Piece === null) ipv4Piece = n;
            else if (ipv4Piece === 0) return null;
            else ipv4Piece = ipv4Piece * 10 + n;
            if (ipv4Piece > 255) return null;
            p++;
          }
          addr[piece] = addr[piece] * 256 + ipv4Piece;
          numbersSeen++;
          if (numbersSeen === 2 || numbersSeen === 4) piece++;
        }
        if (numbersSeen !== 4) return null;
        break;
      } else if (p < len && c(p) === 58) {
        p++;
        if (p >= len) return null;
      } else if (p < len) return null;
      addr[piece++] = value;
    }
    if (compress !== null) {
      let swaps = piece - compress;
      piece = 7;
      while (piece !== 0 && swaps > 0) {
        const t = addr[compress + swaps - 1];
        addr[compress + swaps - 1] = addr[piece];
        addr[piece] = t;
        piece--; swaps--;
      }
    } else if (piece !== 8) return null;
    return addr;
  }
  function serializeIPv6(addr) {
    let best = -1, bestLen = 1;
    for (let i = 0; i < 8; i++) {
      if (addr[i] !== 0) continue;
      let j = i;
      while (j < 8 && addr[j] === 0) j++;
      if (j - i > bestLen) { best = i; bestLen = j - i; }
      i = j;
    }
    let out = '';
    let ignore0 = false;
    for (let i = 0; i < 8; i++) {
      if (ignore0 && addr[i] === 0) continue;
      ignore0 = false;
      if (best === i) { out += i === 0 ? '::' : ':'; ignore0 = true; continue; }
      out += addr[i].toString(16);
      if (i !== 7) out += ':';
    }
    return '[' + out + ']';
  }

  // Returns the serialized host, or null on failure.
  function parseHost(input, isOpaque) {
    if (input[0] === '[') {
      if (input[input.length - 1] !== ']') return null;
      const addr = parseIPv6(input.slice(1, -1));
      return addr ? serializeIPv6(addr) : null;
    }
    if (isOpaque) {
      if (FORBIDDEN_HOST.test(input)) return null;
      return encodeString(input, C0_SET);
    }
    const ascii = domainToASCII(percentDecodeString(input));
    if (ascii === null || FORBIDDEN_DOMAIN.test(ascii)) return null;
    if (endsInANumber(ascii)) return parseIPv4(ascii);
    return ascii;
  }

  // ---- the basic URL parser ------------------------------------------------------------------
  const SCHEME_START = 1, SCHEME = 2, NO_SCHEME = 3, SPECIAL_RELATIVE_OR_AUTHORITY = 4, PATH_OR_AUTHORITY = 5,
    RELATIVE = 6, RELATIVE_SLASH = 7, SPECIAL_AUTHORITY_SLASHES = 8, SPECIAL_AUTHORITY_IGNORE_SLASHES = 9,
    AUTHORITY = 10, HOST = 11, HOSTNAME = 12, PORT = 13, FILE = 14, FILE_SLASH = 15, FILE_HOST = 16,
    PATH_START = 17, PATH = 18, OPAQUE_PATH = 19, QUERY = 20, FRAGMENT = 21;
  const FAILURE = null;

  const newRecord = () => ({ scheme: '', username: '', password: '', host: null, port: null, path: [], query: null, fragment: null });
  const hasOpaquePath = (u) => typeof u.path === 'string';
  const isAlpha = (c) => c !== undefined && /^[A-Za-z]$/.test(c);
  const isWinLetter = (s) => s.length === 2 && isAlpha(s[0]) && (s[1] === ':' || s[1] === '|');
  const isNormWinLetter = (s) => s.length === 2 && isAlpha(s[0]) && s[1] === ':';
  function startsWithWinLetter(cps, p) {
    if (cps.length - p < 2 || !isAlpha(cps[p]) || (cps[p + 1] !== ':' && cps[p + 1] !== '|')) return false;
    if (cps.length - p === 2) return true;
    const c = cps[p + 2];
    return c === '/' || c === '\\' || c === '?' || c === '#';
  }
  function shortenPath(u) {
    if (u.scheme === 'file' && u.path.length === 1 && isNormWinLetter(u.path[0])) return;
    u.path.pop();
  }
  const isSingleDot = (s) => s === '.' || s.toLowerCase() === '%2e';
  const isDoubleDot = (s) => {
    if (s.length < 2 || s.length > 6) return false;
    const l = s.toLowerCase();
    return l === '..' || l === '.%2e' || l === '%2e.' || l === '%2e%2e';
  };
  const includesCredentials = (u) => u.username !== '' || u.password !== '';

  function basicParse(input, base, url, stateOverride) {
    if (!url) {
      url = newRecord();
      input = input.replace(/^[\0-\x20]+|[\0-\x20]+$/g, '');
    }
    input = input.replace(/[\t\n\r]/g, '');
    let state = stateOverride || SCHEME_START;
    let buffer = '', atSignSeen = false, insideBrackets = false, passwordTokenSeen = false;
    const cps = Array.from(input);
    const len = cps.length;
    for (let p = 0; p <= len; p++) {
      const c = cps[p]; // undefined is EOF
      const special = isSpecialScheme(url.scheme);
      switch (state) {
        case SCHEME_START:
          if (isAlpha(c)) { buffer += c.toLowerCase(); state = SCHEME; }
          else if (!stateOverride) { state = NO_SCHEME; p--; }
          else return FAILURE;
          break;
        case SCHEME:
          if (c !== undefined && /^[A-Za-z0-9+\-.]$/.test(c)) buffer += c.toLowerCase();
          else if (c === ':') {
            if (stateOverride) {
              if (isSpecialScheme(url.scheme) !== isSpecialScheme(buffer)) return url;
              if ((includesCredentials(url) || url.port !== null) && buffer === 'file') return url;
              if (url.scheme === 'file' && url.host === '') return url;
            }
            url.scheme = buffer;
            if (stateOverride) {
              if (url.port === SPECIAL[url.scheme]) url.port = null;
              return url;
            }
            buffer = '';
            if (url.scheme === 'file') state = FILE;
            else if (isSpecialScheme(url.scheme) && base && base.scheme === url.scheme) state = SPECIAL_RELATIVE_OR_AUTHORITY;
            else if (isSpecialScheme(url.scheme)) state = SPECIAL_AUTHORITY_SLASHES;
            else if (cps[p + 1] === '/') { state = PATH_OR_AUTHORITY; p++; }
            else { url.path = ''; state = OPAQUE_PATH; }
          } else if (!stateOverride) { buffer = ''; state = NO_SCHEME; p = -1; }
          else return FAILURE;
          break;
        case NO_SCHEME:
          if (!base || (hasOpaquePath(base) && c !== '#')) return FAILURE;
          if (hasOpaquePath(base) && c === '#') {
            url.scheme = base.scheme; url.path = base.path; url.query = base.query; url.fragment = '';
            state = FRAGMENT;
          } else if (base.scheme !== 'file') { state = RELATIVE; p--; }
          else { state = FILE; p--; }
          break;
        case SPECIAL_RELATIVE_OR_AUTHORITY:
          if (c === '/' && cps[p + 1] === '/') { state = SPECIAL_AUTHORITY_IGNORE_SLASHES; p++; }
          else { state = RELATIVE; p--; }
          break;
        case PATH_OR_AUTHORITY:
          if (c === '/') state = AUTHORITY;
          else { state = PATH; p--; }
          break;
        case RELATIVE:
          url.scheme = base.scheme;
          if (c === '/' || (isSpecialScheme(url.scheme) && c === '\\')) state = RELATIVE_SLASH;
          else {
            url.username = base.username; url.password = base.password; url.host = base.host;
            url.port = base.port; url.path = base.path.slice(); url.query = base.query;
            if (c === '?') { url.query = ''; state = QUERY; }
            else if (c === '#') { url.fragment = ''; state = FRAGMENT; }
            else if (c !== undefined) { url.query = null; shortenPath(url); state = PATH; p--; }
          }
          break;
        case RELATIVE_SLASH:
          if (special && (c === '/' || c === '\\')) state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
          else if (c === '/') state = AUTHORITY;
          else {
            url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
            state = PATH; p--;
          }
          break;
        case SPECIAL_AUTHORITY_SLASHES:
          if (c === '/' && cps[p + 1] === '/') { state = SPECIAL_AUTHORITY_IGNORE_SLASHES; p++; }
          else { state = SPECIAL_AUTHORITY_IGNORE_SLASHES; p--; }
          break;
        case SPECIAL_AUTHORITY_IGNORE_SLASHES:
          if (c !== '/' && c !== '\\') { state = AUTHORITY; p--; }
          break;
        case AUTHORITY:
          if (c === '@') {
            if (atSignSeen) buffer = '%40' + buffer;
            atSignSeen = true;
            for (const b of buffer) {
              if (b === ':' && !passwordTokenSeen) { passwordTokenSeen = true; continue; }
              const enc = encodeCP(b, USERINFO_SET);
              if (passwordTokenSeen) url.password += enc; else url.username += enc;
            }
            buffer = '';
          } else if (c === undefined || c === '/' || c === '?' || c === '#' || (special && c === '\\')) {
            if (atSignSeen && buffer === '') return FAILURE;
            p -= Array.from(buffer).length + 1;
            buffer = '';
            state = HOST;
          } else buffer += c;
          break;
        case HOST:
        case HOSTNAME:
          if (stateOverride && url.scheme === 'file') { p--; state = FILE_HOST; }
          else if (c === ':' && !insideBrackets) {
            if (buffer === '') return FAILURE;
            if (stateOverride === HOSTNAME) return FAILURE;
            const host = parseHost(buffer, !special);
            if (host === null) return FAILURE;
            url.host = host; buffer = ''; state = PORT;
          } else if (c === undefined || c === '/' || c === '?' || c === '#' || (special && c === '\\')) {
            p--;
            if (special && buffer === '') return FAILURE;
            if (stateOverride && buffer === '' && (includesCredentials(url) || url.port !== null)) return FAILURE;
            const host = parseHost(buffer, !special);
            if (host === null) return FAILURE;
            url.host = host; buffer = ''; state = PATH_START;
            if (stateOverride) return url;
          } else {
            if (c === '[') insideBrackets = true;
            if (c === ']') insideBrackets = false;
            buffer += c;
          }
          break;
        case PORT:
          if (c !== undefined && c >= '0' && c <= '9') buffer += c;
          else if (c === undefined || c === '/' || c === '?' || c === '#' || (special && c === '\\') || stateOverride) {
            if (buffer !== '') {
              const port = parseInt(buffer, 10);
              if (port > 65535) return FAILURE;
              url.port = port === SPECIAL[url.scheme] ? null : port;
              buffer = '';
              if (stateOverride) return url;
            }
            if (stateOverride) return FAILURE;
            state = PATH_START; p--;
          } else return FAILURE;
          break;
        case FILE:
          url.scheme = 'file';
          url.host = '';
          if (c === '/' || c === '\\') state = FILE_SLASH;
          else if (base && base.scheme === 'file') {
            url.host = base.host; url.path = base.path.slice(); url.query = base.query;
            if (c === '?') { url.query = ''; state = QUERY; }
            else if (c === '#') { url.fragment = ''; state = FRAGMENT; }
            else if (c !== undefined) {
              url.query = null;
              if (!startsWithWinLetter(cps, p)) shortenPath(url);
              else url.path = [];
              state = PATH; p--;
            }
          } else { state = PATH; p--; }
          break;
        case FILE_SLASH:
          if (c === '/' || c === '\\') state = FILE_HOST;
          else {
            if (base && base.scheme === 'file') {
              url.host = base.host;
              if (!startsWithWinLetter(cps, p) && base.path.length && isNormWinLetter(base.path[0])) url.path.push(base.path[0]);
            }
            state = PATH; p--;
          }
          break;
        case FILE_HOST:
          if (c === undefined || c === '/' || c === '\\' || c === '?' || c === '#') {
            p--;
            if (!stateOverride && isWinLetter(buffer)) state = PATH;
            else if (buffer === '') {
              url.host = '';
              if (stateOverride) return url;
              state = PATH_START;
            } else {
              let host = parseHost(buffer, false);
              if (host === null) return FAILURE;
              if (host === 'localhost') host = '';
              url.host = host;
              if (stateOverride) return url;
              buffer = '';
              state = PATH_START;
            }
          } else buffer += c;
          break;
        case PATH_START:
          if (special) {
            state = PATH;
            if (c !== '/' && c !== '\\') p--;
          } else if (!stateOverride && c === '?') { url.query = ''; state = QUERY; }
          else if (!stateOverride && c === '#') { url.fragment = ''; state = FRAGMENT; }
          else if (c !== undefined) { state = PATH; if (c !== '/') p--; }
          else if (stateOverride && url.host === null) url.path.push('');
          break;
        case PATH:
          if (c === undefined || c === '/' || (special && c === '\\') || (!stateOverride && (c === '?' || c === '#'))) {
            const slash = c === '/' || (special && c === '\\');
            if (isDoubleDot(buffer)) {
              shortenPath(url);
              if (!slash) url.path.push('');
            } else if (isSingleDot(buffer) && !slash) url.path.push('');
            else if (!isSingleDot(buffer)) {
              if (url.scheme === 'file' && url.path.length === 0 && isWinLetter(buffer)) buffer = buffer[0] + ':';
              url.path.push(buffer);
            }
            buffer = '';
            if (c === '?') { url.query = ''; state = QUERY; }
            if (c === '#') { url.fragment = ''; state = FRAGMENT; }
          } else buffer += encodeCP(c, PATH_SET);
          break;
        case OPAQUE_PATH:
          if (c === '?') { url.query = ''; state = QUERY; }
          else if (c === '#') { url.fragment = ''; state = FRAGMENT; }
          else if (c !== undefined) url.path += encodeCP(c, C0_SET);
          break;
        case QUERY:
          if ((!stateOverride && c === '#') || c === undefined) {
            url.query += encodeString(buffer, special ? SPECIAL_QUERY_SET : QUERY_SET);
            buffer = '';
            if (c === '#') { url.fragment = ''; state = FRAGMENT; }
          } else buffer += c;
          break;
        case FRAGMENT:
          if (c !== undefined) url.fragment += encodeCP(c, FRAGMENT_SET);
          break;
      }
    }
    return url;
  }

  function serialize(u, excludeFragment) {
    let out = u.scheme + ':';
    if (u.host !== null) {
      out += '//';
      if (includesCredentials(u)) {
        out += u.username;
        if (u.password !== '') out += ':' + u.password;
        out += '@';
      }
      out += u.host;
      if (u.port !== null) out += ':' + u.port;
    }
    if (u.host === null && !hasOpaquePath(u) && u.path.length > 1 && u.path[0] === '') out += '/.';
    out += serializePath(u);
    if (u.query !== null) out += '?' + u.query;
    if (!excludeFragment && u.fragment !== null) out += '#' + u.fragment;
    return out;
  }
  const serializePath = (u) => (hasOpaquePath(u) ? u.path : u.path.length ? '/' + u.path.join('/') : '');

  function origin(u) {
    if (u.scheme === 'blob') {
      const inner = basicParse(serializePath(u), null);
      if (inner && (inner.scheme === 'http' || inner.scheme === 'https')) return origin(inner);
      return 'null';
    }
    if (isSpecialScheme(u.scheme) && u.scheme !== 'file') {
      return u.scheme + '://' + u.host + (u.port !== null ? ':' + u.port : '');
    }
    return 'null';
  }
  function stripTrailingSpaces(u) {
    if (!hasOpaquePath(u) || u.fragment !== null) return;
    if (u.query !== null) return;
    u.path = u.path.replace(/ +$/, '');
  }

  // ---- URL ------------------------------------------------------------------------------------
  const REC = Symbol('url record');
  const PARAMS = Symbol('search params');
  const LINK = Symbol('linked url');
  const LIST = Symbol('list');

  function parseOrNull(url, base) {
    let baseRec = null;
    if (base !== undefined) {
      baseRec = basicParse(String(base), null);
      if (baseRec === null) return null;
    }
    return basicParse(String(url), baseRec);
  }
  const invalid = () => new TypeError('Invalid URL');

  class URL {
    constructor(url, base) {
      if (arguments.length === 0) throw new TypeError("Failed to construct 'URL': 1 argument required, but only 0 present.");
      const rec = parseOrNull(url, base);
      if (rec === null) throw invalid();
      this[REC] = rec;
      const params = new URLSearchParams(rec.query || '');
      params[LINK] = this;
      this[PARAMS] = params;
    }
    static canParse(url, base) { return parseOrNull(url, base) !== null; }
    static parse(url, base) {
      try { return new URL(url, base); } catch (_) { return null; }
    }
    get href() { return serialize(this[REC], false); }
    set href(v) {
      const rec = basicParse(String(v), null);
      if (rec === null) throw invalid();
      this[REC] = rec;
      this[PARAMS][LIST] = parseForm(rec.query || '');
    }
    get origin() { return origin(this[REC]); }
    get protocol() { return this[REC].scheme + ':'; }
    set protocol(v) { basicParse(String(v) + ':', null, this[REC], SCHEME_START); }
    get username() { return this[REC].username; }
    set username(v) {
      const u = this[REC];
      if (u.host === null || u.host === '' || u.scheme === 'file') return;
      u.username = encodeString(String(v), USERINFO_SET);
    }
    get password() { return this[REC].password; }
    set password(v) {
      const u = this[REC];
      if (u.host === null || u.host === '' || u.scheme === 'file') return;
      u.password = encodeString(String(v), USERINFO_SET);
    }
    get host() {
      const u = this[REC];
      if (u.host === null) return '';
      return u.port === null ? u.host : u.host + ':' + u.port;
    }
    set host(v) {
      const u = this[REC];
      if (hasOpaquePath(u)) return;
      basicParse(String(v), null, u, HOST);
    }
    get hostname() { return this[REC].host === null ? '' : this[REC].host; }
    set hostname(v) {
      const u = this[REC];
      if (hasOpaquePath(u)) return;
      basicParse(String(v), null, u, HOSTNAME);
    }
    get port() { return this[REC].port === null ? '' : String(this[REC].port); }
    set port(v) {
      const u = this[REC];
      if (u.host === null || u.host === '' || u.scheme === 'file') return;
      const s = String(v);
      if (s === '') u.port = null;
      else basicParse(s, null, u, PORT);
    }
    get pathname() { return serializePath(this[REC]); }
    set pathname(v) {
      const u = this[REC];
      if (hasOpaquePath(u)) return;
      u.path = [];
      basicParse(String(v), null, u, PATH_START);
    }
    get search() {
      const q = this[REC].query;
      return q === null || q === '' ? '' : '?' + q;
    }
    set search(v) {
      const u = this[REC];
      let s = String(v);
      if (s === '') {
        u.query = null;
        this[PARAMS][LIST] = [];
        stripTrailingSpaces(u);
        return;
      }
      if (s[0] === '?') s = s.slice(1);
      u.query = '';
      basicParse(s, null, u, QUERY);
      // The list comes from the input as the parser saw it (tabs and newlines removed), as browsers do.
      this[PARAMS][LIST] = parseForm(s.replace(/[\t\n\r]/g, ''));
    }
    get searchParams() { return this[PARAMS]; }
    get hash() {
      const f = this[REC].fragment;
      return f === null || f === '' ? '' : '#' + f;
    }
    set hash(v) {
      const u = this[REC];
      let s = String(v);
      if (s === '') { u.fragment = null; stripTrailingSpaces(u); return; }
      if (s[0] === '#') s = s.slice(1);
      u.fragment = '';
      basicParse(s, null, u, FRAGMENT);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    get [Symbol.toStringTag]() { return 'URL'; }
  }

  // ---- URLSearchParams ------------------------------------------------------------------------
  const FORM_SAFE = /^[*\-._0-9A-Za-z]*$/;
  function formEncode(s) {
    if (FORM_SAFE.test(s)) return s;
    let out = '';
    for (const c of s) {
      const cp = c.codePointAt(0);
      if (cp === 0x20) out += '+';
      else if (cp < 0x80 && /[*\-._0-9A-Za-z]/.test(c)) out += c;
      else for (const b of utf8Bytes(cp)) out += pctByte(b);
    }
    return out;
  }
  const formDecode = (s) => percentDecodeString(s.indexOf('+') >= 0 ? s.replace(/\+/g, ' ') : s);
  function parseForm(input) {
    const list = [];
    if (input === '') return list;
    for (const seq of input.split('&')) {
      if (seq === '') continue;
      const eq = seq.indexOf('=');
      const name = eq < 0 ? seq : seq.slice(0, eq);
      const value = eq < 0 ? '' : seq.slice(eq + 1);
      list.push([formDecode(name), formDecode(value)]);
    }
    return list;
  }
  // USVString conversion: lone surrogates become U+FFFD.
  const usv = (v) => {
    const s = String(v);
    return typeof s.toWellFormed === 'function' ? s.toWellFormed() : s;
  };

  class URLSearchParams {
    constructor(init) {
      this[LINK] = null;
      let list = [];
      if (init !== undefined && init !== null && typeof init === 'object' || typeof init === 'function') {
        if (init instanceof URLSearchParams) list = init[LIST].map((p) => p.slice());
        else if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            if (pair == null || typeof pair[Symbol.iterator] !== 'function') {
              throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
            }
            const arr = Array.from(pair);
            if (arr.length !== 2) throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
            list.push([usv(arr[0]), usv(arr[1])]);
          }
        } else {
          for (const key of Reflect.ownKeys(init)) {
            if (typeof key === 'symbol') continue;
            const d = Reflect.getOwnPropertyDescriptor(init, key);
            if (d && d.enumerable) list.push([usv(key), usv(init[key])]);
          }
        }
      } else if (init !== undefined) {
        let s = usv(init);
        if (s[0] === '?') s = s.slice(1);
        list = parseForm(s);
      }
      this[LIST] = list;
    }
    get size() { return this[LIST].length; }
    append(name, value) { this[LIST].push([usv(name), usv(value)]); update(this); }
    delete(name, value) {
      const n = usv(name);
      const v = value === undefined ? undefined : usv(value);
      this[LIST] = this[LIST].filter((p) => !(p[0] === n && (v === undefined || p[1] === v)));
      update(this);
    }
    get(name) {
      const n = usv(name);
      const p = this[LIST].find((q) => q[0] === n);
      return p ? p[1] : null;
    }
    getAll(name) { const n = usv(name); return this[LIST].filter((p) => p[0] === n).map((p) => p[1]); }
    has(name, value) {
      const n = usv(name);
      const v = value === undefined ? undefined : usv(value);
      return this[LIST].some((p) => p[0] === n && (v === undefined || p[1] === v));
    }
    set(name, value) {
      const n = usv(name), v = usv(value);
      const list = this[LIST];
      const i = list.findIndex((p) => p[0] === n);
      if (i < 0) list.push([n, v]);
      else {
        list[i][1] = v;
        this[LIST] = list.filter((p, j) => j <= i || p[0] !== n);
      }
      update(this);
    }
    sort() {
      // Array.prototype.sort is stable and compares UTF-16 code units, as the spec requires.
      this[LIST].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      update(this);
    }
    forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': The callback provided as parameter 1 is not a function.");
      for (let i = 0; i < this[LIST].length; i++) {
        const p = this[LIST][i];
        callback.call(thisArg, p[1], p[0], this);
      }
    }
    *entries() { for (let i = 0; i < this[LIST].length; i++) yield [this[LIST][i][0], this[LIST][i][1]]; }
    *keys() { for (let i = 0; i < this[LIST].length; i++) yield this[LIST][i][0]; }
    *values() { for (let i = 0; i < this[LIST].length; i++) yield this[LIST][i][1]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this[LIST].map((p) => formEncode(p[0]) + '=' + formEncode(p[1])).join('&'); }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }
  function update(params) {
    const url = params[LINK];
    if (!url) return;
    const u = url[REC];
    const s = params.toString();
    u.query = s === '' ? null : s;
    if (s === '') stripTrailingSpaces(u);
  }

  Object.defineProperty(g, 'URL', { value: URL, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(g, 'URLSearchParams', { value: URLSearchParams, writable: true, configurable: true, enumerable: false });
})();
