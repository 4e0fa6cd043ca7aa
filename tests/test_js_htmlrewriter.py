"""HTMLRewriter (edgenode/handlers/js/htmlrewriter.js) in a bare isolate with the other Web API scripts.

Expected outputs were checked against lol-html (Cloudflare's rewriter, via the html-rewriter-wasm
build), including its treatment of unclosed elements and of end tags that close several elements.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsenv import JSEnv, JSError, js_str

# Test-only stand-ins for the runtime's Headers/Response (the real ones live in the handlers runtime).
RESPONSE_SHIM = """
globalThis.Headers = class Headers {
  constructor(init) { this.map = new Map(); if (init) for (const [k, v] of (init instanceof Headers ? init.map : Object.entries(init))) this.map.set(k.toLowerCase(), v); }
  get(k) { return this.map.has(k.toLowerCase()) ? this.map.get(k.toLowerCase()) : null; }
  has(k) { return this.map.has(k.toLowerCase()); }
  delete(k) { this.map.delete(k.toLowerCase()); }
};
globalThis.Response = class Response {
  constructor(body, init = {}) {
    this.body = typeof body === 'string' ? new ReadableStream({start(c) { c.enqueue(new TextEncoder().encode(body)); c.close(); }}) : body;
    this.status = init.status ?? 200; this.statusText = init.statusText ?? ''; this.headers = new Headers(init.headers);
  }
  async text() { let s = ''; const d = new TextDecoder(); for await (const c of this.body) s += d.decode(c, {stream: true}); return s + d.decode(); }
};
"""

HELPERS = """
globalThis.rewriteChunks = async (rw, chunks) => {
  const enc = new TextEncoder();
  const input = ReadableStream.from(chunks.map(c => typeof c === 'string' ? enc.encode(c) : new Uint8Array(c)));
  const dec = new TextDecoder("utf-8", {ignoreBOM: true});
  let out = '';
  for await (const c of input.pipeThrough(rw._transformStream())) out += dec.decode(c, {stream: true});
  return out + dec.decode();
};
globalThis.rewrite = (rw, html) => rewriteChunks(rw, [html]);
globalThis.ticks = async (n = 5) => { for (let i = 0; i < n; i++) await null; };
"""


@pytest.fixture(scope="module")
def js() -> Iterator[JSEnv]:
    env = JSEnv("encoding", "streams", "htmlrewriter", prelude=RESPONSE_SHIM)
    env.eval(HELPERS)
    yield env
    env.close()


def rw(js: JSEnv, setup: str, html: str) -> str:
    return js.run(f"const rw = new HTMLRewriter(){setup}; return await rewrite(rw, {js_str(html)});")


def test_no_handlers_is_identity(js: JSEnv) -> None:
    html = "<!DOCTYPE html><html><head><title>a < b</title></head><body><p class=x>Hi &amp; <b>bye</b><!-- c --></p><br/></body></html>"
    assert rw(js, "", html) == html
    # A byte order mark is content too.
    assert js.run("return Array.from(new TextEncoder().encode(await rewriteChunks(new HTMLRewriter(), [[0xef, 0xbb], [0xbf, 0x3c, 0x70, 0x3e]])))") == [
        0xEF, 0xBB, 0xBF, 0x3C, 0x70, 0x3E]


def test_element_mutations(js: JSEnv) -> None:
    html = '<div><p id="a" class="x y">text</p><img src=a.png><span>keep</span></div>'
    cases = {
        "el.setAttribute('data-x', 'a\"b&c')": '<div><p id="a" class="x y" data-x="a&quot;b&c">text</p><img src=a.png><span>keep</span></div>',
        "el.removeAttribute('class')": '<div><p id="a">text</p><img src=a.png><span>keep</span></div>',
        "el.tagName = 'section'": '<div><section id="a" class="x y">text</section><img src=a.png><span>keep</span></div>',
        "el.before('<b>'); el.before('2')": '<div>&lt;b&gt;2<p id="a" class="x y">text</p><img src=a.png><span>keep</span></div>',
        "el.after('<i>x</i>', {html: true}); el.after('1')": '<div><p id="a" class="x y">text</p>1<i>x</i><img src=a.png><span>keep</span></div>',
        "el.prepend('A'); el.prepend('B'); el.append('Y'); el.append('Z')": '<div><p id="a" class="x y">BAtextYZ</p><img src=a.png><span>keep</span></div>',
        "el.setInnerContent('<em>new</em>', {html: true})": '<div><p id="a" class="x y"><em>new</em></p><img src=a.png><span>keep</span></div>',
        "el.setInnerContent('1 < 2')": '<div><p id="a" class="x y">1 &lt; 2</p><img src=a.png><span>keep</span></div>',
        "el.append('x'); el.setInnerContent('new'); el.prepend('<'); el.append('>')": '<div><p id="a" class="x y">&lt;new&gt;</p><img src=a.png><span>keep</span></div>',
        "el.replace('<hr>', {html: true})": "<div><hr><img src=a.png><span>keep</span></div>",
        "el.remove()": "<div><img src=a.png><span>keep</span></div>",
        "el.removeAndKeepContent()": "<div>text<img src=a.png><span>keep</span></div>",
    }
    for code, expected in cases.items():
        assert rw(js, f".on('p', {{element(el) {{ {code}; }}}})", html) == expected, code


def test_modified_tags_keep_attribute_values_as_written(js: JSEnv) -> None:
    html = """<a href="/?a=1&amp;b=2" title='say "hi"' data-x=plain hidden>x</a>"""
    out = rw(js, ".on('a', {element(el) { el.setAttribute('rel', 'nofollow'); }})", html)
    assert out == '<a href="/?a=1&amp;b=2" title=\'say "hi"\' data-x=plain hidden rel="nofollow">x</a>'


def test_element_properties(js: JSEnv) -> None:
    got = js.run(
        """
        const seen = [];
        await rewrite(new HTMLRewriter().on('*', {element(el) {
          seen.push([el.tagName, [...el.attributes], el.getAttribute('A'), el.hasAttribute('b'), el.namespaceURI, el.selfClosing, el.canHaveContent]);
        }}), '<p a=1 B="2" c>x</p><svg><circle r=1 /></svg><br>');
        const removed = [];
        await rewrite(new HTMLRewriter().on('p', {element(el) { removed.push(el.removed); el.remove(); removed.push(el.removed); }}), '<p>x</p>');
        return [seen, removed];
        """
    )
    html, svg = "http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"
    assert got == [
        [
            ["p", [["a", "1"], ["b", "2"], ["c", ""]], "1", True, html, False, True],
            ["svg", [], None, False, svg, False, True],
            ["circle", [["r", "1"]], None, False, svg, True, False],
            ["br", [], None, False, html, False, False],
        ],
        [False, True],
    ]


SELECTOR_DOC = (
    '<div id="main" class="a b"><p class="b" lang="en-US" data-x="hello world">1</p>'
    '<section><p>2</p><span title="x">3</span></section><ul><li>i1</li><li>i2</li><li class=c>i3</li></ul>'
    '<a href="https://ex.com/x.pdf">4</a><a href="/local">5</a></div><p id=out>6</p>'
)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("*", ["div", "p", "section", "p", "span", "ul", "li", "li", "li", "a", "a", "p"]),
        ("p", ["p", "p", "p"]),
        ("#main", ["div"]),
        (".b", ["div", "p"]),
        ("div.a.b", ["div"]),
        ("p.b#main", []),
        ("[title]", ["span"]),
        ("[lang|=en]", ["p"]),
        ("[data-x~=world]", ["p"]),
        ("[data-x~=hello]", ["p"]),
        ("[data-x=hello]", []),
        ('[href^="https"]', ["a"]),
        ("a[href$='.pdf']", ["a"]),
        ("[href*=loc]", ["a"]),
        ("[ID=MAIN i]", ["div"]),
        ("[id=MAIN i]", ["div"]),
        ("div p", ["p", "p"]),
        ("div > p", ["p"]),
        ("section > *", ["p", "span"]),
        ("div section span", ["span"]),
        ("li:first-child", ["li"]),
        ("li:nth-child(2n+1)", ["li", "li"]),
        ("li:nth-child(even)", ["li"]),
        ("ul > :nth-child(3)", ["li"]),
        ("p:first-of-type", ["p", "p", "p"]),
        ("li:not(.c)", ["li", "li"]),
        ("a:not([href^=http])", ["a"]),
        ("span, li.c", ["span", "li"]),
    ],
)
def test_selectors(js: JSEnv, selector: str, expected: list[str]) -> None:
    got = js.run(
        f"const seen = []; await rewrite(new HTMLRewriter().on({js_str(selector)}, {{element(el) {{ seen.push(el.tagName); }}}}), {js_str(SELECTOR_DOC)}); return seen;"
    )
    assert got == expected


@pytest.mark.parametrize("selector", ["", "p >", "a[", "[x=]", "p:hover", "a + b", "a ~ b", ":nth-child(x)"])
def test_invalid_selectors_throw(js: JSEnv, selector: str) -> None:
    with pytest.raises(JSError, match="TypeError"):
        js.run(f"new HTMLRewriter().on({js_str(selector)}, {{}})")


def test_text_chunks(js: JSEnv) -> None:
    got = js.run(
        """
        const chunks = [];
        const out = await rewriteChunks(new HTMLRewriter().on('p', {text(t) { chunks.push([t.text, t.lastInTextNode]); }}),
          ['<p>Hello ', 'wor', 'ld<b>!</b></p><div>no</div>']);
        const all = [];
        await rewrite(new HTMLRewriter().onDocument({text(t) { all.push(t.text); }}), '<p>a</p>b');
        const replaced = await rewrite(new HTMLRewriter().on('b', {text(t) {
          if (t.lastInTextNode) t.after('!'); t.replace(t.text.toUpperCase());
        }}), '<b>shout</b> <i>quiet</i>');
        const removed = await rewrite(new HTMLRewriter().on('i', {text(t) { t.remove(); }}), '<i>gone</i>kept');
        return [out, chunks, all.join('|'), replaced, removed];
        """
    )
    out, chunks, all_text, replaced, removed = got
    assert out == "<p>Hello world<b>!</b></p><div>no</div>"
    assert "".join(t for t, _ in chunks) == "Hello world!"
    assert [last for t, last in chunks if t == "!"] == [True] or chunks[-1] == ["", True]
    assert chunks[-1][1] is True and any(last is False for _, last in chunks)
    assert all_text.replace("|", "") == "ab"
    assert replaced == "<b>SHOUT!</b> <i>quiet</i>"
    assert removed == "<i></i>kept"


def test_comments_doctype_and_end(js: JSEnv) -> None:
    got = js.run(
        """
        const docs = [];
        const out = await rewrite(new HTMLRewriter()
          .onDocument({
            doctype(d) { docs.push([d.name, d.publicId, d.systemId]); },
            comments(c) { if (c.text.trim() === 'drop') c.remove(); },
            end(e) { e.append('<!-- end -->', {html: true}); e.append('&'); },
          })
          .on('div', {comments(c) { c.text = c.text.toUpperCase(); c.before('<i>', {html: true}); c.after('</i>', {html: true}); }}),
          '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><!-- drop --><div><!-- shout --></div><!--keep-->');
        return [out, docs];
        """
    )
    assert got == [
        '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><div><i><!-- SHOUT --></i></div><!--keep--><!-- end -->&amp;',
        [["html", "-//W3C//DTD HTML 4.01//EN", "http://www.w3.org/TR/html4/strict.dtd"]],
    ]


def test_on_end_tag(js: JSEnv) -> None:
    out = rw(
        js,
        ".on('p', {element(el) { el.tagName = 'div'; el.onEndTag(end => { end.before('[', {html: true}); end.after(']'); }); }})"
        ".on('b', {element(el) { el.onEndTag(end => { end.name = 'strong'; }); }})"
        ".on('i', {element(el) { el.onEndTag(end => end.remove()); }})",
        "<p>x</p><b>y</b><i>z</i>",
    )
    assert out == "<div>x[</div>]<b>y</strong><i>z"
    with pytest.raises(JSError, match="TypeError"):
        js.run("await rewrite(new HTMLRewriter().on('br', {element(el) { el.onEndTag(() => {}); }}), '<br>')")


def test_async_handlers_run_in_order(js: JSEnv) -> None:
    got = js.run(
        """
        const order = [];
        const out = await rewriteChunks(new HTMLRewriter()
          .on('p', {async element(el) { order.push('start ' + el.getAttribute('n')); await ticks(3); el.setAttribute('done', ''); order.push('end ' + el.getAttribute('n')); }})
          .on('p', {element(el) { order.push('second ' + el.getAttribute('n')); }})
          .on('p', {async text(t) { await null; if (t.text) t.replace(t.text + '.'); }}),
          ['<p n=1>a</p><p', ' n=2>b</p>']);
        return [out, order];
        """
    )
    assert got == [
        '<p n=1 done="">a.</p><p n=2 done="">b.</p>',
        ["start 1", "end 1", "second 1", "start 2", "end 2", "second 2"],
    ]


def test_handler_errors_error_the_stream(js: JSEnv) -> None:
    with pytest.raises(JSError, match="Error: handler failed"):
        js.run("await rewrite(new HTMLRewriter().on('p', {element() { throw new Error('handler failed'); }}), '<p>x</p>')")
    with pytest.raises(JSError, match="RangeError: async failed"):
        js.run("await rewrite(new HTMLRewriter().on('p', {async element() { await null; throw new RangeError('async failed'); }}), '<p>x</p>')")


def test_raw_text_elements(js: JSEnv) -> None:
    html = (
        "<script>if (a < b && c > d) { x = '<p>no</p>'; }</scr + ipt></script><p>yes</p>"
        "<style>p > a { color: red }</style><textarea><p>raw</p></textarea><title><b>t</b></title>"
    )
    got = js.run(
        f"""
        const tags = [], texts = [];
        const out = await rewriteChunks(new HTMLRewriter()
          .on('*', {{element(el) {{ tags.push(el.tagName); }}}})
          .on('script', {{text(t) {{ texts.push(t.text); }}}}),
          {js_str(html)}.split(/(?<=<\\/scr)/));
        return [out, tags, texts.join('')];
        """
    )
    assert got == [html, ["script", "p", "style", "textarea", "title"], "if (a < b && c > d) { x = '<p>no</p>'; }</scr + ipt>"]


def test_unclosed_elements_and_shared_end_tags(js: JSEnv) -> None:
    """No implicit closing: `<li>b` nests in `<li>a`, an unclosed `<p>` never ends, and `</ul>` is the
    end tag of everything still open inside the ul (the innermost element's mutations apply)."""
    got = js.run(
        """
        const out = await rewrite(new HTMLRewriter()
          .on('li', {element(el) { el.append('.'); }})
          .on('p', {element(el) { el.after('|'); }})
          .on('ul > li', {element(el) { el.setAttribute('x', '1'); }}),
          '<ul><li>a<li>b</ul><p>one<p>two<div>three</div>');
        const ends = [];
        const shared = await rewrite(new HTMLRewriter().on('p', {element(el) {
          el.append('$'); el.after('@'); el.onEndTag(end => { ends.push(end.name); });
        }}), '<div><p>x</div>y');
        const removed = await rewrite(new HTMLRewriter().on('i', {element(el) { el.remove(); }}), '<b><i>x</b>y</i>z');
        return [out, shared, ends, removed];
        """
    )
    assert got == ['<ul><li x="1">a<li>b.</ul><p>one<p>two<div>three</div>', "<div><p>x$</div>@y", ["div"], "<b>y</i>z"]


def test_attribute_and_tag_name_serialization(js: JSEnv) -> None:
    got = js.run(
        """
        const a = await rewrite(new HTMLRewriter().on('div', {element(el) { el.setAttribute('b', 'z'); }}), "<div   a=1\\n  b = '2'  c/>x</div>");
        const b = await rewrite(new HTMLRewriter().on('div', {element(el) { el.setAttribute('a', '3'); }}), '<div a=1 a=2>x</div>');
        const names = [];
        const c = await rewrite(new HTMLRewriter().on('p', {element(el) { el.tagName = 'DIV'; names.push(el.tagName); }}), '<p>x</p>');
        const d = await rewrite(new HTMLRewriter().on('p', {element(el) { el.setAttribute('k', ''); }}), '<P ID=x>y</P>');
        const comments = await rewrite(new HTMLRewriter().onDocument({comments(c) { c.text = c.text; }}), '<!--><?pi x?><!-- c -->');
        return [a, b, c, names, d, comments];
        """
    )
    assert got == [
        '<div a=1 b="z" c />x</div>', '<div a="3" a=2>x</div>', "<DIV>x</DIV>", ["div"], '<P ID=x k="">y</P>',
        "<!----><!--?pi x?--><!-- c -->",
    ]


def test_multivariate_use_case(js: JSEnv) -> None:
    html = '<h1>Offer</h1><div data-variant="a">A</div><div data-variant="b">B <em>only</em></div><div data-variant="c">C</div>'
    out = rw(js, ".on('[data-variant]', {element(el) { if (el.getAttribute('data-variant') !== 'b') el.remove(); else el.removeAndKeepContent(); }})", html)
    assert out == "<h1>Offer</h1>B <em>only</em>"


def test_transform_response(js: JSEnv) -> None:
    got = js.run(
        """
        const res = new Response('<p>hi</p>', {status: 201, statusText: 'Made', headers: {'content-length': '9', 'x-keep': 'yes'}});
        const out = new HTMLRewriter().on('p', {element(el) { el.setInnerContent('hello'); }}).transform(res);
        const alias = new HTMLRewriter().transformInto(new Response('<i>x</i>'));
        return [out instanceof Response, out.status, out.statusText, out.headers.get('content-length'), out.headers.get('x-keep'),
                await out.text(), await alias.text()];
        """
    )
    assert got == [True, 201, "Made", None, "yes", "<p>hello</p>", "<i>x</i>"]


def test_output_streams_before_input_ends(js: JSEnv) -> None:
    got = js.run(
        """
        let ctl;
        const source = new ReadableStream({start(c) { ctl = c; }});
        const enc = new TextEncoder(), dec = new TextDecoder();
        const out = source.pipeThrough(new HTMLRewriter().on('b', {element(el) { el.setAttribute('x', '1'); }})._transformStream());
        const reader = out.getReader();
        ctl.enqueue(enc.encode('<p>first <b>bold</b> te'));
        const first = dec.decode((await reader.read()).value);
        ctl.enqueue(enc.encode('xt <b'));
        const second = dec.decode((await reader.read()).value);
        ctl.enqueue(enc.encode('>x</b></p>'));
        ctl.close();
        let rest = '';
        for (;;) { const r = await reader.read(); if (r.done) break; rest += dec.decode(r.value); }
        return [first, second, rest];
        """
    )
    assert got == ['<p>first <b x="1">bold</b> te', "xt ", '<b x="1">x</b></p>']


# `{a}`/`{w}` make every handler async (awaiting a microtask) in the async variant.
HANDLERS = """new HTMLRewriter()
  .on('a[href]', {{{a}element(el) {{ {w} el.setAttribute('href', el.getAttribute('href') + '?r=1'); el.before('«'); }}}})
  .on('p b', {{{a}element(el) {{ {w} el.tagName = 'strong'; }}}})
  .on('.x', {{{a}element(el) {{ {w} el.setInnerContent('<i>in</i>', {{html: true}}); }}}})
  .on('ul > li:nth-child(2)', {{{a}element(el) {{ {w} el.remove(); }}}})
  .on('li', {{{a}text(t) {{ {w} t.replace(t.text.toUpperCase()); }}}})
  .on('script', {{{a}element(el) {{ {w} el.append('/*e*/', {{html: true}}); el.onEndTag({a}(end) => {{ {w} end.after('!'); }}); }}}})
  .onDocument({{{a}comments(c) {{ {w} c.text = c.text.trim(); }}, {a}end(e) {{ {w} e.append('<!--end-->', {{html: true}}); }}}})"""
# Handlers that only observe: every token becomes a job, which must not change the output either.
OBSERVERS = """.onDocument({{{a}text(t) {{ {w} }}, {a}doctype(d) {{ {w} }}}}).on('*', {{{a}element(el) {{ {w} }}, {a}text(t) {{ {w} }}}})"""
SYNC_HANDLERS = HANDLERS.format(a="", w="")
ASYNC_HANDLERS = (HANDLERS + OBSERVERS).format(a="async ", w="await null;")

fragments = st.sampled_from(
    [
        "<p>", "</p>", "<b>", "</b>", '<a href="/x y">', "<a href='q>'>", "</a>", "<ul><li>1<li>2<li>3</ul>",
        '<div class="x">old <span>o</span></div>', "<!-- comment é -->", "<script>if (a<b) x='</p>';</script>",
        "<br/>", "<img src=a.png>", "text ", "é€𝄞", "a < b > c", "&amp;", "<!DOCTYPE html>", "<svg><path d='M0'/></svg>",
        "<textarea><b></textarea>", "\n", "<p>para <b>b</b> text</p>", "<li>x</li>", "<script>a</scr + b<</script>", "<style>x</style>", "<title>t</title>",
    ]
)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(fragments, max_size=14), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_any_chunking_gives_the_same_output(js: JSEnv, parts: list[str], cuts: list[int]) -> None:
    """Chunk boundaries anywhere in the bytes (inside tags, attributes, comments, UTF-8 sequences) change nothing."""
    data = "".join(parts).encode()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [list(data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    whole, chunked, chunked_async, identity = js.run(
        f"""
        const html = {js_str(data.decode())};
        return [await rewrite({SYNC_HANDLERS}, html), await rewriteChunks({SYNC_HANDLERS}, {json.dumps(chunks)}),
                await rewriteChunks({ASYNC_HANDLERS}, {json.dumps(chunks)}),
                await rewriteChunks(new HTMLRewriter(), {json.dumps(chunks)})];
        """
    )
    assert chunked == whole
    assert chunked_async == whole
    assert identity == data.decode()


LOLHTML_CASES = json.loads((Path(__file__).parent / "data" / "htmlrewriter_lolhtml.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", LOLHTML_CASES, ids=[f"lolhtml-{i}" for i in range(len(LOLHTML_CASES))])
def test_same_output_as_lol_html(js: JSEnv, case: dict) -> None:
    """Random documents, chunkings and handler scripts give what lol-html gave (recorded in tests/data)."""
    data = case["html"].encode()
    chunks, pos = [], 0
    for n in case["cuts"]:
        chunks.append(list(data[pos:pos + n]))
        pos += n
    got = js.run(
        f"""
        const log = [];
        const rw = new HTMLRewriter();
        ({case["script"]})(rw, log);
        const out = await rewriteChunks(rw, {json.dumps(chunks)});
        return {{out, log}};
        """
    )
    assert got == case["expected"]
