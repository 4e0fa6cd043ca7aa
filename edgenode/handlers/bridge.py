"""What handlers may ask of the host, and how requests and responses cross into V8 and back.

Bodies cross in chunks: a Python body a handler reads becomes a "host stream" it pulls with
`read` ops; a body a handler builds as a stream is pulled by the host through the isolate's out
streams. Chunk bytes travel through the isolate's byte channel (runtime.Isolate.send_bytes and
the chunk messages), not through the JSON of the batches. A body the handler passes back
untouched is sent from the host's copy: a host stream never enters V8, and a small body sent
along with a fetch() result never crosses back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import aiohttp
from multidict import CIMultiDict

from edgenode.exchange import Body, EdgeRequest, EdgeResponse, Exchange, FileBody
from edgenode.handlers.fetch_memo import fetch_memo, leases_of
from edgenode.handlers.runtime import NOT_NOW, HandlerError, Invocation, Isolate
from edgenode.origins.static import file_chunks
from edgenode.paths import BadPath, decode_path

if TYPE_CHECKING:
    from edgenode.node import EdgeNode

INLINE_BODY = 256 * 1024  # bodies up to this size cross inline with the start / op result
# Text bodies up to this size cross as a JS string (text() is then free); larger ones go through the
# byte channel like any other: a page that is streamed through a TransformStream needs bytes, and
# a long string in the batch costs more to carry (measured: S6's 100 KB page, 467 vs ~1,200 req/s).
TEXT_INLINE = 32 * 1024
CHUNK = 64 * 1024  # small enough that V8 keeps chunks in the young generation
FETCH_MAX_BODY = 16 * 1024 * 1024  # text()/json()/arrayBuffer() of a fetch() response: at most this
MAX_SUBREQUESTS = 50  # fetch() / origin calls per invocation
MAX_FETCH_DEPTH = 4  # same-site fetch() nesting (a handler fetching its own path)
DOC_LIMIT = 1 << 20
SITE_DOC_LIMIT = 64 << 20
_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                  "proxy-connection", "content-length"})


# -- bodies ---------------------------------------------------------------------------------------

class HostStream:
    """A Python body read by JS chunk by chunk; remembers whether it was touched."""

    def __init__(self, body: Body, owned: bool = True, limit: int | None = None, keep: bool = False) -> None:
        self.original = body
        self.owned = owned  # close the underlying iterator when the invocation ends
        self.limit = limit
        self.keep = keep  # remember what was read (a request body that may still go downstream)
        self.kept: list[bytes] = []
        self.touched = False
        self.decoded = False  # the body JS sees had its Content-Encoding removed
        self.read_bytes = 0
        self._it: AsyncIterator[bytes] | None = None
        self._closed = False

    def _iter(self) -> AsyncIterator[bytes]:
        if self._it is None:
            self._it = aiter(body_chunks(self.original))
        return self._it

    async def read(self) -> bytes | None:
        self.touched = True
        if self._closed:
            return None
        try:
            chunk = await anext(self._iter())
        except StopAsyncIteration:
            return None
        self.read_bytes += len(chunk)
        if self.limit is not None and self.read_bytes > self.limit:
            self.close()
            raise HandlerError("TypeError", f"response body exceeds the fetch limit of {self.limit >> 20} MiB")
        if self.keep:
            self.kept.append(chunk)
        return chunk

    def remaining(self) -> Body:
        """For a request body: what was read plus what is left, as one stream again."""
        if not self.touched:
            return self.original
        kept, rest = list(self.kept), self._iter()

        async def gen() -> AsyncIterator[bytes]:
            for c in kept:
                yield c
            async for c in rest:
                yield c
        return gen()

    def as_body(self) -> Body:
        if not self.touched:
            return self.original
        return self.remaining() if self.keep else _rest(self._iter())

    def close(self) -> None:
        if self._closed or not self.owned:
            return
        self._closed = True
        it = self._it if self._it is not None else (self.original if isinstance(self.original, AsyncIterable) else None)
        closer = getattr(it, "aclose", None)
        if closer is not None:
            asyncio.ensure_future(closer())


async def _rest(it: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for c in it:
        yield c


async def body_chunks(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        for i in range(0, len(body), CHUNK):
            yield body[i:i + CHUNK]
    elif isinstance(body, FileBody):
        with open(body.path, "rb") as fh:
            async for chunk in file_chunks(fh, body.offset, body.length, CHUNK):
                yield chunk
    else:
        async for chunk in body:
            for i in range(0, len(chunk), CHUNK):
                yield chunk[i:i + CHUNK]


async def decoded(body: Body, coding: str) -> AsyncIterator[bytes]:
    """Undo a Content-Encoding so a handler sees the real bytes."""
    if coding == "br":
        import brotli

        d: Any = brotli.Decompressor()
        async for c in body_chunks(body):
            out = d.process(c)
            if out:
                yield out
        return
    z = zlib.decompressobj(16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
    async for c in body_chunks(body):
        out = z.decompress(c)
        if out:
            yield out
    tail = z.flush()
    if tail:
        yield tail


def body_to_js(iso: Isolate, inv: Invocation, body: Body, headers: CIMultiDict[str],
               inline: bool = True) -> dict | None:
    """Describe a body for JS; `headers` (a copy) loses Content-Encoding when the body is decoded.

    `inline=False` keeps even a small body in Python until JS reads it (onResponse handlers that
    only touch headers then cost no body copy at all).
    """
    coding = headers.get("Content-Encoding", "").lower()
    was_decoded = False
    if coding in ("gzip", "br", "deflate") and not _empty(body):
        body = decoded(body, coding)
        was_decoded = True
        headers.popall("Content-Encoding", None)
        headers.popall("Content-Length", None)
    if isinstance(body, bytes):
        if not body:
            return None
        if inline and len(body) <= INLINE_BODY:
            return _inline_body(iso, inv, body, headers)
    hs = HostStream(body, keep=not inline)  # not inline: the body may still be sent as it is
    hs.decoded = was_decoded
    return {"h": iso.add_host_stream(inv, hs)}


def _inline_body(iso: Isolate, inv: Invocation, body: bytes, headers: CIMultiDict[str]) -> dict:
    """A small body crossing with its description: text as a string, anything else as bytes.

    A text body that is valid UTF-8 crosses as a JS string: `text()` then costs nothing (no
    UTF-8 decode in JS), and sent back unchanged it is the same bytes. A leading BOM keeps the
    bytes form: `text()` (TextDecoder) drops it, the string would not. Other bodies go through
    the isolate's byte channel; the host stream lets a body handed back untouched be sent from
    this copy instead of crossing back.
    """
    text = text_form(body, headers) if len(body) <= TEXT_INLINE else None
    if text is not None:
        return {"t": text}
    return {"k": iso.send_bytes(body), "h": iso.add_host_stream(inv, HostStream(body))}


def text_form(body: bytes, headers: CIMultiDict[str]) -> str | None:
    """The body as a string when it may cross as one: textual type, valid UTF-8, no BOM."""
    if _TEXTUAL.search(headers.get("Content-Type", "")) and not body.startswith(b"\xef\xbb\xbf"):
        try:
            return body.decode()
        except UnicodeDecodeError:
            pass
    return None


_TEXTUAL = re.compile(r"^\s*text/|json|xml|javascript|ecmascript", re.I)


def _empty(body: Body) -> bool:
    return isinstance(body, bytes) and not body


def response_to_js(iso: Isolate, inv: Invocation, resp: EdgeResponse, url: str = "",
                   limit: int | None = None, inline: bool = True) -> dict:
    headers = resp.headers
    if "Content-Encoding" in headers:  # body_to_js may drop it (and Content-Length): on a copy
        headers = CIMultiDict(headers)
    body = body_to_js(iso, inv, resp.body, headers, inline)
    # `limit` bounds what text()/json()/arrayBuffer() may read into memory; streaming it through
    # (pipeThrough into the response) is bounded by the handler's time instead.
    return {"status": resp.status, "statusText": "", "url": url, "limit": limit,
            "headers": [[k.lower(), v] for k, v in headers.items()], "body": body}


def body_from_js(iso: Isolate, inv: Invocation, d: dict | None) -> Body:
    if d is None:
        return b""
    if "t" in d:
        return _utf8(d["t"])
    if "tk" in d:  # a text the host sent (texts.py): its bytes, as kept
        data = iso.texts.bytes_of(d["tk"])
        if data is None:
            raise HandlerError("Error", "edgenode: a body named a text the host does not have")
        return data
    if "b" in d:
        return base64.b64decode(d["b"])
    if "h" in d:
        return iso.adopt_host_stream(inv, d["h"]).as_body()
    sid = d["s"]
    inv.out_streams.add(sid)
    return _pull_out_stream(iso, inv, sid)


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates: replaced like TextEncoder does
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


async def _pull_out_stream(iso: Isolate, inv: Invocation, sid: str) -> AsyncIterator[bytes]:
    finished = False
    try:
        while True:
            chunk = await iso.pull(inv, sid)
            if chunk is None:
                finished = True
                return
            if chunk:
                yield chunk
    finally:
        iso.stream_finished(inv, sid, cancel=not finished)


def response_from_js(iso: Isolate, inv: Invocation, d: dict, kind: str = "handler") -> EdgeResponse:
    headers: CIMultiDict[str] = CIMultiDict(d["headers"])
    body_desc = d.get("body")
    body = body_from_js(iso, inv, body_desc)
    if body_desc is not None and "s" in body_desc:
        headers.popall("Content-Length", None)  # a transformed stream has a new length
    return EdgeResponse(int(d["status"]), headers, body, kind=kind)


# -- requests --------------------------------------------------------------------------------------

def request_url(ex: Exchange) -> str:
    req = ex.request
    path = req.raw_path if ex.path == req.path else quote(ex.path, safe="/:@!$&'()*+,;=~")
    q = f"?{ex.query_string}" if ex.query_string else ""
    return f"{req.scheme}://{req.authority}{path}{q}"


def request_to_js(iso: Isolate, inv: Invocation, ex: Exchange, url: str | None = None) -> dict:
    req = ex.request
    body = None
    if req.body is not None and req.method not in ("GET", "HEAD"):
        hs = HostStream(req.body, owned=False, keep=True)
        ex.notes["handler_request_body"] = hs
        body = {"h": iso.add_host_stream(inv, hs)}
    return {"method": req.method, "url": url or request_url(ex), "headers": header_pairs(ex), "body": body}


def header_pairs(ex: Exchange) -> list[list[str]]:
    """The request's headers as JS sees them ([lowercase name, value] pairs), made once per request.

    Every handler of a chain and the onResponse calls see the same request until one replaces
    it, so the list is kept with the request it was made from (read-only on both sides).
    """
    req = ex.request
    cached = ex.notes.get("handler_header_pairs")
    if cached is not None and cached[0] is req and cached[1] is req.headers:
        return cached[2]
    pairs = [[k.lower(), v] for k, v in req.headers.items()]
    ex.notes["handler_header_pairs"] = (req, req.headers, pairs)
    return pairs


def remember_header_pairs(ex: Exchange, pairs: list[list[str]]) -> None:
    """A request built from a JS description: its headers already are lowercase pairs."""
    req = ex.request
    ex.notes["handler_header_pairs"] = (req, req.headers, pairs)


def meta_for(node: EdgeNode, ex: Exchange) -> dict:
    """`event.requestMeta` (made once per request: every handler of the request sees the same)."""
    meta = ex.notes.get("handler_meta")
    if meta is None:
        meta = ex.notes["handler_meta"] = _make_meta(ex)
    return meta


def _make_meta(ex: Exchange) -> dict:
    geo = ex.geo
    origin: dict[str, Any] = {}
    if geo is not None:
        if geo.country:
            origin["country"] = {"code": geo.country, "name": geo.country_name or country_name(geo.country)}
        if geo.subdivision:
            origin["subdivision"] = {"code": geo.subdivision, "name": geo.subdivision_name}
        if geo.city:
            origin["city"] = {"name": geo.city}
        if geo.latitude is not None and geo.longitude is not None:
            origin["latitude"], origin["longitude"] = geo.latitude, geo.longitude
        if geo.timezone:
            origin["timezone"] = geo.timezone
    ident = ex.identity
    identity = None
    if ident is not None:
        claims = ident if isinstance(ident, dict) else getattr(ident, "claims", None) or {}
        roles = getattr(ident, "roles", None)
        if roles is None:
            roles = ((claims.get("app_metadata") or {}).get("roles") or []) if isinstance(claims, dict) else []
        identity = {"id": claims.get("sub"), "email": claims.get("email"), "roles": list(roles),
                    "claims": claims}
    return {"zone": "edgenode", "origin": origin, "identity": identity, "requestId": ex.request_id,
            "clientIp": ex.request.client_ip}


_COUNTRIES = {"US": "United States", "GB": "United Kingdom", "DE": "Germany", "FR": "France", "ES": "Spain",
              "IT": "Italy", "NL": "Netherlands", "CA": "Canada", "AU": "Australia", "JP": "Japan",
              "BR": "Brazil", "IN": "India", "CN": "China", "MX": "Mexico", "SE": "Sweden", "CH": "Switzerland",
              "PT": "Portugal", "IE": "Ireland", "BE": "Belgium", "AT": "Austria", "PL": "Poland",
              "DK": "Denmark", "NO": "Norway", "FI": "Finland", "NZ": "New Zealand", "SG": "Singapore"}


def country_name(code: str) -> str:
    return _COUNTRIES.get(code.upper(), code.upper())


def edge_request_from_js(base: EdgeRequest, d: dict) -> tuple[EdgeRequest, str, str]:
    """A JS request description -> (EdgeRequest, decoded path, query) on the same host."""
    url = d["url"]
    headers: CIMultiDict[str] = CIMultiDict(d["headers"])  # [name, value] pairs from Headers
    same = _on_origin(base, url)
    if same is not None:  # the common case (a rewrite, a fetch of the same site), without urlsplit
        raw_path, query = same
        scheme, host, authority = base.scheme, base.host, base.authority
    else:
        parts = urlsplit(url)
        raw_path, query = parts.path or "/", parts.query
        scheme = parts.scheme or base.scheme
        host = (parts.hostname or base.host).lower()
        authority = parts.netloc or base.authority
    path = _decoded_path(raw_path)
    req = EdgeRequest(d["method"], scheme, host, authority, path, raw_path, query, headers, base.client_ip, None)
    return req, path, query


# A path with a fragment, whitespace or control characters goes through urlsplit (which drops some).
_PLAIN_PATH_QUERY = re.compile(r"/[^\x00-\x20\x7f#]*\Z")


def _on_origin(base: EdgeRequest, url: str) -> tuple[str, str] | None:
    """(raw path, query) when `url` is exactly on the base request's origin, else None.

    The same split urlsplit makes for such a URL. Only for an authority without userinfo or an
    IPv6 literal, where urlsplit's hostname is the base request's lower-cased host.
    """
    scheme, authority = base.scheme, base.authority
    n = len(scheme) + 3 + len(authority)
    if (url[:n] != f"{scheme}://{authority}" or "@" in authority or "[" in authority
            or authority.lower() != authority or not _PLAIN_PATH_QUERY.match(url, n)):
        return None
    raw_path, _, query = url[n:].partition("?")
    return raw_path, query


_DECODED: dict[str, str] = {}


def _decoded_path(raw_path: str) -> str:
    """decode_path, remembered for the few paths handlers rewrite to and fetch over and over."""
    path = _DECODED.get(raw_path)
    if path is not None:
        return path
    try:
        path = decode_path(raw_path)
    except BadPath as e:
        raise HandlerError("TypeError", f"invalid request path: {e}") from None
    if len(_DECODED) >= 1024:
        _DECODED.clear()
    _DECODED[raw_path] = path
    return path


def same_site(ex: Exchange, url: str) -> bool:
    """Whether a URL names the host (and port) this request came to."""
    req = ex.request
    prefix = f"{req.scheme}://{req.authority}"
    if url.startswith(prefix) and url[len(prefix):len(prefix) + 1] in ("/", "?", "#", ""):
        rest = req.authority[len(req.host):] if req.host and req.authority.startswith(req.host) else "-"
        if rest == "" or (rest[:1] == ":" and rest[1:].isdigit()):
            return True  # the common case, without parsing: exactly this request's origin
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        return False
    mine = urlsplit(f"{ex.request.scheme}://{ex.request.authority}")
    try:
        my_port = mine.port or (443 if ex.request.scheme == "https" else 80)
    except ValueError:
        my_port = 0
    return (parts.hostname or "").lower() == ex.request.host and port == my_port


# -- the per-invocation host -----------------------------------------------------------------------

class Host:
    """Answers the host calls of one invocation: origin fetch, fetch, cache, digest, body reads."""

    __slots__ = ("node", "ex", "handler", "rule_target", "invocation", "isolate", "subrequests")

    def __init__(self, node: EdgeNode, ex: Exchange, handler: str, rule_target: Any = None) -> None:
        self.node = node
        self.ex = ex
        self.handler = handler
        self.rule_target = rule_target  # a rule handler's fetch(event.request) goes to the rule target
        self.invocation: Invocation | None = None
        self.isolate: Isolate | None = None
        self.subrequests = 0

    async def op(self, op: str, arg: Any) -> Any:
        iso = self.isolate
        assert iso is not None and self.invocation is not None
        if op in ("read", "cancel", "digest"):
            return await common_op(iso, op, arg)
        if op in ("origin", "fetch"):
            self.subrequests = self._counted(arg)
            if self.subrequests > MAX_SUBREQUESTS:
                raise HandlerError("TypeError", f"too many subrequests (more than {MAX_SUBREQUESTS})")
            return await (self._origin(arg) if op == "origin" else self._fetch(arg))
        if op == "cache.get":
            data = doc_store(self.node).get(self.ex.site.site_id, arg)
            if data is None:
                raise HandlerError("Error", f"document {arg!r} not found")
            return base64.b64encode(data).decode()
        if op == "cache.set":
            doc_store(self.node).put(self.ex.site.site_id, arg[0], base64.b64decode(arg[1]))
            return None
        raise HandlerError("TypeError", f"unknown host call {op}")

    def op_now(self, op: str, arg: Any) -> Any:
        """The answer to a host call that needs no waiting, or NOT_NOW (then `op` runs as a task).

        A same-site fetch the memo remembers is answered here, after the same checks as `op`.
        """
        if op != "fetch":
            return NOT_NOW
        count = self._counted(arg)
        if count > MAX_SUBREQUESTS:
            return NOT_NOW
        ex = self.ex
        if not same_site(ex, arg["url"]) or ex.notes.get("fetch_depth", 0) >= MAX_FETCH_DEPTH:
            return NOT_NOW
        memo = fetch_memo(self.node)
        key = memo.key(ex, arg)
        answer = memo.answer(key, ex.request_id, self.isolate) if key is not None else None
        if answer is None:
            return NOT_NOW
        self.subrequests = count
        req = ex.request
        leases_of(memo, self.isolate).grant(key, arg, f"{req.scheme}://{req.authority}", MAX_SUBREQUESTS,
                                            MAX_FETCH_DEPTH)
        return answer

    def _counted(self, arg: Any) -> int:
        """This fetch's number among the invocation's subrequests: the isolate counts the ones it
        answered itself too (`n`, set by fetch.js)."""
        n = arg.get("n") if isinstance(arg, dict) else None
        return max(self.subrequests + 1, n if type(n) is int else 0)

    def _request_body(self, d: dict) -> Body | None:
        body = d.get("body")
        if body is None:
            return None
        data = body_from_js(self.isolate, self.invocation, body)  # type: ignore[arg-type]
        if isinstance(data, bytes):
            async def one() -> AsyncIterator[bytes]:
                yield data
            return one()
        return data if isinstance(data, AsyncIterable) else None

    def _sub_exchange(self, d: dict) -> Exchange:
        ex = self.ex
        req, path, query = edge_request_from_js(ex.request, d)
        req.body = self._request_body(d)
        sub = Exchange(req, ex.site, request_id=ex.request_id, identity=ex.identity, geo=ex.geo,
                       path=path, query_string=query)
        sub.notes["fetch_depth"] = ex.notes.get("fetch_depth", 0)
        return sub

    async def _origin(self, d: dict) -> dict:
        """fetch(event.request): what the edge would serve, without running this handler again."""
        from edgenode import origins, pipeline

        sub = self._sub_exchange(d)
        if not same_site(self.ex, d["url"]):
            return await self._fetch(d)
        if self.rule_target is not None:
            sub.target = self.rule_target
            await origins.fetch(self.node, sub)
        else:
            await pipeline.downstream(self.node, sub)
        assert sub.response is not None
        return response_to_js(self.isolate, self.invocation, sub.response, d["url"])  # type: ignore[arg-type]

    async def _fetch(self, d: dict) -> dict:
        url = d["url"]
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise HandlerError("TypeError", f"fetch: only http and https URLs are supported, not {scheme}:")
        if same_site(self.ex, url):
            from edgenode import pipeline

            depth = self.ex.notes.get("fetch_depth", 0) + 1
            if depth > MAX_FETCH_DEPTH:
                raise HandlerError("TypeError", f"fetch: same-site fetches nested more than {MAX_FETCH_DEPTH} deep")
            memo = fetch_memo(self.node)
            key = memo.key(self.ex, d)
            if key is not None:
                remembered = memo.answer(key, self.ex.request_id, self.isolate)
                if remembered is not None:
                    return remembered
            sub = self._sub_exchange(d)
            sub.notes["fetch_depth"] = depth
            resp = await pipeline.handle(self.node, sub)
            described = response_to_js(self.isolate, self.invocation, resp, url)  # type: ignore[arg-type]
            if key is not None:
                memo.remember(key, sub, resp, described)
            return described
        return await self._external(d)

    async def _external(self, d: dict) -> dict:
        inv = self.invocation
        assert inv is not None and self.isolate is not None
        loop = asyncio.get_running_loop()
        left = max(0.1, inv.deadline - loop.time())
        headers = [(k, v) for k, v in d["headers"] if k.lower() not in _HOP and k.lower() != "host"]
        data = self._request_body(d)
        session = self.node.proxy_origin.session
        try:
            upstream = await session.request(d["method"], d["url"], headers=headers, data=data,
                                             allow_redirects=True, timeout=aiohttp.ClientTimeout(total=left),
                                             skip_auto_headers=("User-Agent",))
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            raise HandlerError("TypeError", f"fetch failed: {e.__class__.__name__}: {e}") from None
        out: CIMultiDict[str] = CIMultiDict()
        for k, v in upstream.headers.items():
            if k.lower() not in _HOP or k.lower() == "content-length":
                out.add(k, v)
        resp = EdgeResponse(upstream.status, out, _upstream_body(upstream), kind="proxy")
        return response_to_js(self.isolate, inv, resp, str(upstream.url), limit=FETCH_MAX_BODY)


async def _upstream_body(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    finally:
        upstream.release()


async def common_op(iso: Isolate, op: str, arg: Any) -> Any:
    if op == "read":
        hs = iso.host_stream(arg)
        if hs is None:
            return None
        chunk = await hs.read()
        return None if chunk is None else iso.send_bytes(chunk)
    if op == "cancel":
        hs = iso.host_stream(arg)
        if hs is not None:
            hs.close()
        return None
    if op == "digest":
        name = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}[arg[0]]
        return base64.b64encode(hashlib.new(name, base64.b64decode(arg[1])).digest()).decode()
    raise HandlerError("TypeError", f"{op}() can only be used while a request is being handled")


async def orphan_op(iso: Isolate, op: str, arg: Any) -> Any:
    """A host call no live invocation owns (e.g. from a timer after the response was sent)."""
    return await common_op(iso, op, arg)


# -- event.cache: per-site document store ------------------------------------------------------------

class DocStore:
    """Documents of `event.cache`, per site (never shared across sites), LRU within a site's quota."""

    def __init__(self, per_site: int = SITE_DOC_LIMIT, per_doc: int = DOC_LIMIT) -> None:
        self.per_site = per_site
        self.per_doc = per_doc
        self._sites: dict[str, OrderedDict[str, bytes]] = {}
        self._sizes: dict[str, int] = {}

    def get(self, site: str, key: str) -> bytes | None:
        docs = self._sites.get(site)
        if docs is None or key not in docs:
            return None
        docs.move_to_end(key)
        return docs[key]

    def put(self, site: str, key: str, data: bytes) -> None:
        if len(data) > self.per_doc:
            raise HandlerError("RangeError", f"document {key!r} exceeds the {self.per_doc >> 20} MiB document limit")
        docs = self._sites.setdefault(site, OrderedDict())
        size = self._sizes.get(site, 0) - len(docs.get(key, b""))
        if size + len(data) > self.per_site:
            raise HandlerError("RangeError", f"the document store of this site is full ({self.per_site >> 20} MiB)")
        docs[key] = data
        docs.move_to_end(key)
        self._sizes[site] = size + len(data)


def doc_store(node: EdgeNode) -> DocStore:
    store = getattr(node, "handler_docs", None)
    if store is None:
        store = DocStore()
        node.handler_docs = store
    return store
