"""structuredClone (edgenode/handlers/js/structured_clone.js) in a bare mini-racer isolate."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsenv import JSEnv, JSError


@pytest.fixture(scope="module")
def js() -> Iterator[JSEnv]:
    env = JSEnv("structured_clone")
    yield env
    env.close()


def test_plain_values_and_identity(js: JSEnv) -> None:
    got = js.run(
        """
        const src = {a: 1, s: 'x', n: null, u: undefined, b: true, big: 10n, nested: {arr: [1, , 3]}, neg0: -0, nan: NaN};
        const c = structuredClone(src);
        return [c !== src, c.nested !== src.nested, c.nested.arr.length, 1 in c.nested.arr, 'u' in c, typeof c.big,
                Object.is(c.neg0, -0), Number.isNaN(c.nan), Object.getPrototypeOf(c) === Object.prototype];
        """
    )
    assert got == [True, True, 3, False, True, "bigint", True, True, True]


def test_builtins(js: JSEnv) -> None:
    got = js.run(
        """
        const buf = new ArrayBuffer(8);
        const u8 = new Uint8Array(buf); u8.set([1, 2, 3, 4, 5, 6, 7, 8]);
        const src = {
          d: new Date(86400000), r: /a+b/gi, m: new Map([[{k: 1}, 'v'], ['x', new Set([1, 2])]]),
          view1: new Uint16Array(buf, 2, 2), view2: new DataView(buf, 4), f: new Float64Array([1.5, -2]),
          err: new RangeError('bad', {cause: 'why'}), boxed: new String('s'),
        };
        src.r.lastIndex = 3;
        const c = structuredClone(src);
        c.view1[0] = 0xffff;
        return [
          c.d instanceof Date && c.d.getTime(), c.r instanceof RegExp && c.r.flags, c.r.source, c.r.lastIndex,
          [...c.m.keys()][0].k, c.m.get('x') instanceof Set && [...c.m.get('x')],
          c.view1.buffer === c.view2.buffer, c.view1.buffer !== buf, Array.from(new Uint8Array(c.view1.buffer)), u8[2],
          c.view2.getUint8(0), Array.from(c.f), c.err instanceof RangeError, Object.prototype.toString.call(c.err), c.err.message,
          c.err.cause, typeof c.boxed, String(c.boxed),
        ];
        """
    )
    assert got == [86400000, "gi", "a+b", 0, 1, [1, 2], True, True, [1, 2, 255, 255, 5, 6, 7, 8], 3, 5, [1.5, -2],
                   True, "[object Error]", "bad", "why", "object", "s"]


def test_cycles_and_shared_references(js: JSEnv) -> None:
    got = js.run(
        """
        const shared = {s: 1};
        const a = {shared, again: shared, list: [shared]};
        a.self = a;
        const m = new Map(); m.set('me', m);
        const c = structuredClone(a);
        const cm = structuredClone(m);
        return [c.self === c, c.shared === c.again, c.list[0] === c.shared, c.shared !== shared, cm.get('me') === cm];
        """
    )
    assert got == [True, True, True, True, True]


@pytest.mark.parametrize("value", ["() => 1", "Symbol('s')", "{f() {}}", "new WeakMap()", "Promise.resolve()", "[1, Symbol.iterator]"])
def test_uncloneable_throws_data_clone_error(js: JSEnv, value: str) -> None:
    with pytest.raises(JSError, match="DataCloneError"):
        js.run(f"structuredClone({value})")


def test_transfer_detaches(js: JSEnv) -> None:
    got = js.run(
        """
        const buf = new Uint8Array([1, 2, 3]).buffer;
        const c = structuredClone({buf}, {transfer: [buf]});
        return [buf.byteLength, c.buf.byteLength, Array.from(new Uint8Array(c.buf))];
        """
    )
    assert got == [0, 3, [1, 2, 3]]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_clone_of_json_data_is_equal(js: JSEnv, value: object) -> None:
    encoded = json.dumps(value)
    assert js.value(f"(() => {{ const v = JSON.parse({json.dumps(encoded)}); const c = structuredClone(v); return JSON.stringify(c) === JSON.stringify(v) && (typeof v !== 'object' || v === null || c !== v); }})()") is True
