"""TextEncoder, TextDecoder, atob and btoa (edgenode/handlers/js/encoding.js) in a bare mini-racer isolate."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_mini_racer import JSEvalException

from tests.jsenv import JSEnv, JSError, js_str


@pytest.fixture(scope="module")
def js() -> Iterator[JSEnv]:
    env = JSEnv("encoding")
    env.eval(
        """
        globalThis.decodeChunks = (label, opts, chunks) => {
          const d = new TextDecoder(label, opts);
          let s = '';
          for (const c of chunks) s += d.decode(new Uint8Array(c), {stream: true});
          return s + d.decode();
        };
        """
    )
    yield env
    env.close()


def decode_chunks(js: JSEnv, data: bytes, cuts: list[int], label: str = "utf-8", opts: str = "{}") -> str:
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [list(data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return js.value(f"decodeChunks({js_str(label)}, {opts}, {json.dumps(chunks)})")


def test_encoder_basics(js: JSEnv) -> None:
    assert js.value("Array.from(new TextEncoder().encode('aé€𝄞'))") == list("aé€𝄞".encode())
    assert js.value("Array.from(new TextEncoder().encode('\\ud800x'))") == [0xEF, 0xBF, 0xBD, 0x78]
    assert js.value("[new TextEncoder().encoding, new TextEncoder().encode().length]") == ["utf-8", 0]
    # encodeInto never splits a code point.
    assert js.value("(() => { const b = new Uint8Array(5); const r = new TextEncoder().encodeInto('a€𝄞', b); return [r, Array.from(b)]; })()") == [
        {"read": 2, "written": 4}, [0x61, 0xE2, 0x82, 0xAC, 0]]
    assert js.value("new TextEncoder().encodeInto('𝄞', new Uint8Array(4))") == {"read": 2, "written": 4}


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98", b"a\xe2\x82",
     b"\xe2\x82a", b"\xf0\x9f\x98\x80", b"\xc3\xa9\x80\x80", b"\xef\xbb\xbfbom"],
)
def test_decoder_replacement_matches_whatwg(js: JSEnv, data: bytes) -> None:
    assert decode_chunks(js, data, []) == data.decode("utf-8", "replace").removeprefix("\ufeff")


def test_decoder_options(js: JSEnv) -> None:
    assert js.value("new TextDecoder('utf-8', {ignoreBOM: true}).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))") == "\ufeffA"
    assert js.value("new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))") == "A"
    assert decode_chunks(js, b"\xef\xbb\xbfA", [1, 2]) == "A"
    assert js.value("[new TextDecoder(' UTF8 ').encoding, new TextDecoder('latin1').encoding, new TextDecoder('utf-16').encoding]") == [
        "utf-8", "windows-1252", "utf-16le"]
    with pytest.raises(JSError, match="RangeError"):
        js.run("new TextDecoder('klingon')")
    with pytest.raises(JSError, match="TypeError"):
        js.run("new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0x61, 0xff]))")
    with pytest.raises(JSError, match="TypeError"):
        js.run("const d = new TextDecoder('utf-8', {fatal: true}); d.decode(new Uint8Array([0xe2, 0x82]), {stream: true}); d.decode();")
    # A fatal decoder that failed is usable again.
    assert js.value("(() => { const d = new TextDecoder('utf-8', {fatal: true}); try { d.decode(new Uint8Array([0xff])) } catch (e) {} return d.decode(new Uint8Array([0x68, 0x69])); })()") == "hi"
    assert js.value("new TextDecoder().decode(new Uint16Array([0x6968]))") == "hi"
    assert js.value("new TextDecoder().decode(new Uint8Array([0x61, 0x62, 0x63]).buffer)") == "abc"
    assert js.value("new TextDecoder().decode(new Uint8Array([0x61, 0x62, 0x63]).subarray(1))") == "bc"


def test_windows_1252_and_utf16(js: JSEnv) -> None:
    data = bytes(range(256))
    expected = "".join(
        bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b) for b in data
    )
    assert decode_chunks(js, data, [100], "latin1") == expected
    text = "héllo 𝄞 €"
    assert decode_chunks(js, text.encode("utf-16-le"), [1, 3, 7]) != text  # utf-8 label: not utf-16
    assert decode_chunks(js, text.encode("utf-16-le"), [1, 3, 7], "utf-16le") == text
    assert decode_chunks(js, b"\xff\xfe" + text.encode("utf-16-le"), [1], "utf-16le") == text
    assert decode_chunks(js, text.encode("utf-16-be"), [5], "utf-16be") == text
    assert decode_chunks(js, b"\x00\xd8a\x00", [], "utf-16le") == "\ufffda"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",))), cuts=st.lists(st.integers(0, 80), max_size=6))
def test_utf8_round_trip_any_chunking(js: JSEnv, text: str, cuts: list[int]) -> None:
    encoded = js.value(f"Array.from(new TextEncoder().encode({js_str(text)}))")
    assert bytes(encoded) == text.encode()
    assert decode_chunks(js, text.encode(), cuts) == text.removeprefix("\ufeff")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_streaming_decode_of_random_bytes_matches_python(js: JSEnv, data: bytes, cuts: list[int]) -> None:
    assert decode_chunks(js, data, cuts, "utf-8", "{ignoreBOM: true}") == data.decode("utf-8", "replace")


def test_atob_btoa(js: JSEnv) -> None:
    assert js.value("[btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\\xff\\xfe')]") == ["", "Zg==", "Zm8=", "Zm9v", "//4="]
    assert js.value("[atob('Zg'), atob(' Zm 9v\\n'), atob('Zm8='), atob('//4=')]") == ["f", "foo", "fo", "\xff\xfe"]
    for bad in ["Zg=", "Z", "Zm9v=", "Zm9v*", "Zg==Zg==", "Zm9v\\u0100"]:
        with pytest.raises(JSError, match="InvalidCharacterError"):
            js.run(f"atob('{bad}')")
    with pytest.raises(JSError, match="InvalidCharacterError"):
        js.run("btoa('€')")
    # With a DOMException class present, the error is one.
    assert js.value(
        "(() => { globalThis.DOMException = class extends Error { constructor(m, n) { super(m); this.name = n; } };"
        " try { atob('*') } catch (e) { return [e instanceof DOMException, e.name]; } finally { delete globalThis.DOMException; } })()"
    ) == [True, "InvalidCharacterError"]


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=64))
def test_base64_round_trip_matches_python(js: JSEnv, data: bytes) -> None:
    latin1 = data.decode("latin-1")
    got = js.value(f"(() => {{ const b = btoa({js_str(latin1)}); return [b, atob(b)]; }})()")
    assert got == [base64.b64encode(data).decode(), latin1]


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.text(min_size=1, max_size=40) | st.binary(min_size=1, max_size=3), min_size=1, max_size=12),
    cuts=st.lists(st.integers(0, 500), max_size=5),
)
def test_long_mixed_input_matches_python(js: JSEnv, parts: list[str | bytes], cuts: list[int]) -> None:
    """Long chunks take the native fast path; mixed valid and invalid UTF-8 must still decode exactly."""
    data = b"x" * 64 + b"".join(p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p for p in parts)
    assert decode_chunks(js, data, cuts, "utf-8", "{ignoreBOM: true}") == data.decode("utf-8", "replace")
    fatal_ok = True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        fatal_ok = False
    if fatal_ok:
        assert decode_chunks(js, data, cuts, "utf-8", "{fatal: true, ignoreBOM: true}") == data.decode()
    else:
        with pytest.raises(JSEvalException, match="TypeError: The encoded data was not valid"):
            decode_chunks(js, data, cuts, "utf-8", "{fatal: true}")


def test_text_encoder_and_decoder_streams() -> None:
    env = JSEnv("encoding", "streams")
    try:
        got = env.run(
            """
            const collect = async (s) => { const out = []; for await (const c of s) out.push(c); return out; };
            const bytes = await collect(ReadableStream.from(['a\\ud83d', '\\ude00b', '\\ud800']).pipeThrough(new TextEncoderStream()));
            const text = await collect(ReadableStream.from([[0xef, 0xbb], [0xbf, 0xe2, 0x82], [0xac, 0x41], [0xe2]].map(b => new Uint8Array(b)))
              .pipeThrough(new TextDecoderStream()));
            const d = new TextDecoderStream('latin1', {fatal: true});
            return [bytes.map(b => Array.from(b)), text, [d.encoding, d.fatal, d.ignoreBOM, new TextEncoderStream().encoding]];
            """
        )
    finally:
        env.close()
    assert got == [
        [[0x61], [0xF0, 0x9F, 0x98, 0x80, 0x62], [0xEF, 0xBF, 0xBD]],
        ["€A", "\ufffd"],
        ["windows-1252", True, False, "utf-8"],
    ]
