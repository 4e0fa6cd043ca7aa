"""The WebAssembly UTF-8 codec behind encoding.js's fast paths, assembled from the listing below.

V8 has no native TextEncoder/TextDecoder, and JavaScript loops over `charCodeAt` or
`String.fromCharCode.apply` cost 4-8 ns per character in our isolates (measured: 300-700 us per
64 KB). This module uses the JS String Builtins (`wasm:js-string`, shipped in V8 13) to copy a
string's code units into an i16 array and to build a string from one, and handles ASCII four
characters at a time: about 1 ns per character (64 KB: encode ~65 us, decode ~55 us).

Exports (all work on the module's own memory, which encoding.js grows before a call):
  enc(string) -> n        UTF-8 of the string into memory[0, n); a lone surrogate becomes U+FFFD.
  dec(n) -> string|null   memory[0, n) as UTF-8; null when the bytes are not complete, valid UTF-8
                          (the caller then uses the exact WHATWG decoder in JavaScript).

encoding.js embeds the bytes as hex (`WASM_CODEC`); tests/test_stream_channel.py checks that the
embedded copy equals `module_bytes()`. Print the hex with `python -m edgenode.handlers.wasm_codec`.
"""

from __future__ import annotations


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _vec(items: list[bytes]) -> bytes:
    return _uleb(len(items)) + b"".join(items)


def _name(s: str) -> bytes:
    return _uleb(len(s)) + s.encode()


def _section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + _uleb(len(body)) + body


# Instructions.
def get(i: int) -> bytes:
    return b"\x20" + _uleb(i)


def put(i: int) -> bytes:
    return b"\x21" + _uleb(i)


def const(v: int) -> bytes:
    return b"\x41" + _sleb(v)


def call(f: int) -> bytes:
    return b"\x10" + _uleb(f)


def store8(offset: int = 0) -> bytes:
    return b"\x3a\x00" + _uleb(offset)


def load8(offset: int = 0) -> bytes:
    return b"\x2d\x00" + _uleb(offset)


def br(depth: int) -> bytes:
    return b"\x0c" + _uleb(depth)


def br_if(depth: int) -> bytes:
    return b"\x0d" + _uleb(depth)


BLOCK, LOOP, IF, END, RETURN = b"\x02\x40", b"\x03\x40", b"\x04\x40", b"\x0b", b"\x0f"
ADD, SUB, AND, OR, SHL, SHR = b"\x6a", b"\x6b", b"\x71", b"\x72", b"\x74", b"\x76"
EQ, NE, LT, GT, LE, GE = b"\x46", b"\x47", b"\x49", b"\x4b", b"\x4d", b"\x4f"  # unsigned comparisons
NULL = b"\xd0\x6f"  # ref.null extern
ARRAY = 0  # type index of (array (mut i16))
NEW_ARRAY = b"\xfb\x07" + _uleb(ARRAY)  # array.new_default
SET = b"\xfb\x0e" + _uleb(ARRAY)  # array.set
GET = b"\xfb\x0d" + _uleb(ARRAY)  # array.get_u
INTO_CHAR_CODE_ARRAY, LENGTH, FROM_CHAR_CODE_ARRAY = 0, 1, 2  # imported functions


def scratch(n: int, arr: int) -> bytes:
    """local arr = the module's i16 scratch array, grown to hold local n units.

    One array kept in a global and reused (up to 2 MiB for encoding.js's WASM_MAX): a fresh one per
    call (128 KB for 64 K characters) would land in V8's large-object space, whose pages are mapped
    and unmapped for every allocation.
    """
    grow = (get(n) + const(4096) + ADD + NEW_ARRAY + b"\x22" + _uleb(arr)  # local.tee
            + b"\x24\x00")  # global.set 0
    return (b"\x23\x00" + b"\x22" + _uleb(arr) + b"\xd1" + IF + grow + END  # null: first use
            + get(arr) + b"\xfb\x0f" + get(n) + LT + IF + grow + END)  # array.len < n


def _enc_body() -> bytes:
    s, n, i, j, c, d, arr = 0, 1, 2, 3, 4, 5, 6

    def unit(k: int) -> bytes:  # arr[i + k]: the string's code units, copied in bulk first
        return get(arr) + get(i) + (const(k) + ADD if k else b"") + GET

    def out(k: int, value: bytes) -> bytes:  # memory[j + k] = value
        return get(j) + value + store8(k)

    three = (out(0, get(c) + const(12) + SHR + const(0xE0) + OR)
             + out(1, get(c) + const(6) + SHR + const(63) + AND + const(0x80) + OR)
             + out(2, get(c) + const(63) + AND + const(0x80) + OR)
             + get(j) + const(3) + ADD + put(j) + br(0))
    code = (
        get(s) + call(LENGTH) + put(n)
        + scratch(n, arr)
        + get(s) + get(arr) + const(0) + call(INTO_CHAR_CODE_ARRAY) + b"\x1a"  # drop
        + BLOCK + LOOP
        + get(i) + get(n) + GE + br_if(1)
        # four ASCII characters at once
        + get(i) + const(4) + ADD + get(n) + LE + IF
        + unit(0) + unit(1) + OR + unit(2) + OR + unit(3) + OR + const(0x80) + LT + IF
        + get(j)
        + unit(0) + unit(1) + const(8) + SHL + OR + unit(2) + const(16) + SHL + OR + unit(3) + const(24) + SHL + OR
        + b"\x36\x00\x00"  # i32.store align=0
        + get(i) + const(4) + ADD + put(i) + get(j) + const(4) + ADD + put(j) + br(2) + END + END
        + unit(0) + put(c)
        + get(i) + const(1) + ADD + put(i)
        # ASCII
        + get(c) + const(0x80) + LT + IF
        + out(0, get(c)) + get(j) + const(1) + ADD + put(j) + br(1) + END
        # two bytes
        + get(c) + const(0x800) + LT + IF
        + out(0, get(c) + const(6) + SHR + const(0xC0) + OR)
        + out(1, get(c) + const(63) + AND + const(0x80) + OR)
        + get(j) + const(2) + ADD + put(j) + br(1) + END
        # a high surrogate followed by a low one: four bytes
        + get(c) + const(0xFC00) + AND + const(0xD800) + EQ + IF
        + get(i) + get(n) + LT + IF
        + unit(0) + put(d)
        + get(d) + const(0xFC00) + AND + const(0xDC00) + EQ + IF
        + get(i) + const(1) + ADD + put(i)
        + get(c) + const(0xD800) + SUB + const(10) + SHL + get(d) + const(0xDC00) + SUB + ADD
        + const(0x10000) + ADD + put(c)
        + out(0, get(c) + const(18) + SHR + const(0xF0) + OR)
        + out(1, get(c) + const(12) + SHR + const(63) + AND + const(0x80) + OR)
        + out(2, get(c) + const(6) + SHR + const(63) + AND + const(0x80) + OR)
        + out(3, get(c) + const(63) + AND + const(0x80) + OR)
        + get(j) + const(4) + ADD + put(j) + br(3) + END + END
        + const(0xFFFD) + put(c) + END
        # a lone low surrogate
        + get(c) + const(0xFC00) + AND + const(0xDC00) + EQ + IF + const(0xFFFD) + put(c) + END
        + three
        + END + END
        + get(j) + END
    )
    return _vec([_uleb(5) + b"\x7f", _uleb(1) + b"\x63" + _uleb(ARRAY)]) + code


def _dec_body() -> bytes:
    n, i, j, b, c, arr, w = 0, 1, 2, 3, 4, 5, 6

    def cont(k: int) -> bytes:  # memory[i + k] must be a continuation byte, else null
        return get(i) + load8(k) + const(0xC0) + AND + const(0x80) + NE + IF + NULL + RETURN + END

    def need(k: int) -> bytes:  # i + k < n, else null (incomplete sequence)
        return get(i) + const(k) + ADD + get(n) + GE + IF + NULL + RETURN + END

    def emit(value: bytes) -> bytes:  # arr[j++] = value
        return get(arr) + get(j) + value + SET + get(j) + const(1) + ADD + put(j)

    def low6(k: int) -> bytes:
        return get(i) + load8(k) + const(63) + AND

    code = (
        scratch(n, arr)
        + BLOCK + LOOP
        + get(i) + get(n) + GE + br_if(1)
        # four ASCII bytes at once
        + get(i) + const(4) + ADD + get(n) + LE + IF
        + get(i) + b"\x28\x00\x00" + put(w)  # i32.load align=0
        + get(w) + const(-0x7F7F7F80) + AND + b"\x45" + IF  # (w & 0x80808080) == 0
        + get(arr) + get(j) + get(w) + const(0xFF) + AND + SET
        + get(arr) + get(j) + const(1) + ADD + get(w) + const(8) + SHR + const(0xFF) + AND + SET
        + get(arr) + get(j) + const(2) + ADD + get(w) + const(16) + SHR + const(0xFF) + AND + SET
        + get(arr) + get(j) + const(3) + ADD + get(w) + const(24) + SHR + SET
        + get(i) + const(4) + ADD + put(i) + get(j) + const(4) + ADD + put(j) + br(2) + END + END
        + get(i) + load8(0) + put(b)
        + get(b) + const(0x80) + LT + IF
        + emit(get(b)) + get(i) + const(1) + ADD + put(i) + br(1) + END
        + get(b) + const(0xC2) + LT + IF + NULL + RETURN + END
        # two bytes
        + get(b) + const(0xE0) + LT + IF
        + need(1) + cont(1)
        + emit(get(b) + const(31) + AND + const(6) + SHL + low6(1) + OR)
        + get(i) + const(2) + ADD + put(i) + br(1) + END
        # three bytes: not overlong, not a surrogate
        + get(b) + const(0xF0) + LT + IF
        + need(2) + cont(1) + cont(2)
        + get(b) + const(15) + AND + const(12) + SHL + low6(1) + const(6) + SHL + OR + low6(2) + OR + put(c)
        + get(c) + const(0x800) + LT + IF + NULL + RETURN + END
        + get(c) + const(0xF800) + AND + const(0xD800) + EQ + IF + NULL + RETURN + END
        + emit(get(c)) + get(i) + const(3) + ADD + put(i) + br(1) + END
        # four bytes: U+10000..U+10FFFF as a surrogate pair
        + get(b) + const(0xF5) + LT + IF
        + need(3) + cont(1) + cont(2) + cont(3)
        + get(b) + const(7) + AND + const(18) + SHL + low6(1) + const(12) + SHL + OR
        + low6(2) + const(6) + SHL + OR + low6(3) + OR + put(c)
        + get(c) + const(0x10000) + LT + IF + NULL + RETURN + END
        + get(c) + const(0x10FFFF) + GT + IF + NULL + RETURN + END
        + get(c) + const(0x10000) + SUB + put(c)
        + emit(get(c) + const(10) + SHR + const(0xD800) + ADD)
        + emit(get(c) + const(0x3FF) + AND + const(0xDC00) + ADD)
        + get(i) + const(4) + ADD + put(i) + br(1) + END
        + NULL + RETURN
        + END + END
        + get(arr) + const(0) + get(j) + call(FROM_CHAR_CODE_ARRAY) + END
    )
    locals_ = _vec([_uleb(4) + b"\x7f", _uleb(1) + b"\x63" + _uleb(ARRAY), _uleb(1) + b"\x7f"])
    return locals_ + code


def module_bytes() -> bytes:
    types = _vec([
        b"\x5e\x77\x01",  # 0: (array (mut i16))
        b"\x60\x03\x6f\x63\x00\x7f\x01\x7f",  # 1: (externref, ref null 0, i32) -> i32  intoCharCodeArray
        b"\x60\x01\x6f\x01\x7f",  # 2: (externref) -> i32                       length, enc
        b"\x60\x03\x63\x00\x7f\x7f\x01\x64\x6f",  # 3: (ref null 0, i32, i32) -> (ref extern)
        b"\x60\x01\x7f\x01\x6f",  # 4: (i32) -> externref                        dec
    ])
    imports = _vec([
        _name("wasm:js-string") + _name("intoCharCodeArray") + b"\x00" + _uleb(1),
        _name("wasm:js-string") + _name("length") + b"\x00" + _uleb(2),
        _name("wasm:js-string") + _name("fromCharCodeArray") + b"\x00" + _uleb(3),
    ])
    funcs = _vec([_uleb(2), _uleb(4)])
    memory = _vec([b"\x00" + _uleb(1)])
    globals_ = _vec([b"\x63\x00\x01" + b"\xd0\x00" + END])  # mutable (ref null 0) = null: the scratch array
    exports = _vec([_name("mem") + b"\x02\x00", _name("enc") + b"\x00" + _uleb(3),
                    _name("dec") + b"\x00" + _uleb(4)])
    bodies = [_enc_body(), _dec_body()]
    code = _vec([_uleb(len(b)) + b for b in bodies])
    return (b"\x00asm\x01\x00\x00\x00" + _section(1, types) + _section(2, imports) + _section(3, funcs)
            + _section(5, memory) + _section(6, globals_) + _section(7, exports) + _section(10, code))


if __name__ == "__main__":
    print(module_bytes().hex())
