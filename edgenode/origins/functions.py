"""Function invoker: `/.netlify/functions/NAME[/...]` and rule rewrites to it (FN-1..FN-11, RR-24).

`load_functions` discovers a deploy's functions into a FunctionSet (`site.functions`), which owns that
deploy's worker pools: a new deploy gets fresh workers, so changed code is never served from an old
module cache. `FunctionOrigin` (one per node) turns an Exchange into an invocation and its answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from multidict import CIMultiDict

from edgenode.config.errors import ConfigProblem
from edgenode.errors import error_response
from edgenode.exchange import EdgeResponse
from edgenode.origins.function_event import (
    BAD_NAME_MESSAGE,
    VALID_NAME,
    InvalidFunctionResponse,
    RequestFacts,
    added_headers,
    client_context,
    function_name,
    parse_v1_response,
    v1_event,
)
from edgenode.origins.function_routes import BadPattern, FunctionRoute, route_from_config
from edgenode.origins.proxy import signed_proxy_problems
from edgenode.origins.workers import (
    ResponseTooLarge,
    WorkerCrashed,
    WorkerPool,
    WorkerTimeout,
    WorkerUnavailable,
)

if TYPE_CHECKING:
    from edgenode.exchange import Exchange, OriginTarget
    from edgenode.node import EdgeNode
    from edgenode.sites import Site

log = logging.getLogger("edgenode.functions")

JS_EXTENSIONS = (".js", ".mjs", ".cjs")
TS_EXTENSIONS = (".ts", ".mts", ".cts")
PY_EXTENSIONS = (".py",)
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_RUNNER = os.path.join(HERE, "node_runner.js")
PY_RUNNER = os.path.join(HERE, "py_runner.py")
NODE_ENV = "EDGENODE_NODE"  # path of the node binary; unset: `node` on PATH

MAX_BODY = 6 * 1024 * 1024  # FN-10: buffered request payload
MAX_BACKGROUND_BODY = 256 * 1024
BACKGROUND_TIMEOUT = 900.0  # FN-8: 15 minutes
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
                             "trailer"})
TIMEOUT_STATUS = 502  # FN-9: what production Netlify answers for a timed-out function (see README)


@dataclass(slots=True)
class FunctionDef:
    name: str
    file: str  # absolute path of the entry file
    runtime: str  # node | python | unsupported
    background: bool
    reason: str = ""  # why an unsupported function cannot run
    route: FunctionRoute | None = None  # a v2 function's own `config.path` (FN-7), read at start


def node_binary() -> str | None:
    configured = os.environ.get(NODE_ENV)
    if configured is not None:
        return configured if configured and os.access(configured, os.X_OK) else None
    return shutil.which("node")


@functools.cache
def node_flags(node: str) -> tuple[str, ...]:
    """`--experimental-detect-module` lets a `.js` function use ESM syntax (as Netlify's bundler allows);
    Node.js releases that do not know the flag (before 20.10) run without it."""
    flags = ("--experimental-detect-module", "--no-warnings")
    try:
        ok = subprocess.run([node, *flags, "-e", "0"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return flags if ok else ("--no-warnings",)


def _entry(path: str, name: str) -> str | None:
    for stem in (name, "index"):
        for ext in JS_EXTENSIONS + TS_EXTENSIONS + PY_EXTENSIONS:
            candidate = os.path.join(path, stem + ext)
            if os.path.isfile(candidate):
                return candidate
    return None


def discover(functions_dir: str, rel: str) -> tuple[list[FunctionDef], list[ConfigProblem]]:
    """FN-1 discovery: NAME.js/.mjs/.cjs, NAME.py, NAME/NAME.ext or NAME/index.ext; .ts reported."""
    found: dict[str, FunctionDef] = {}
    problems: list[ConfigProblem] = []
    try:
        entries = sorted(os.scandir(functions_dir), key=lambda e: (e.is_dir(), e.name))  # files win
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    for e in entries:
        if e.name.startswith((".", "_")) or e.name == "node_modules" or e.name == "__pycache__":
            continue
        if e.is_dir():
            name, file = e.name, _entry(e.path, e.name)
            if file is None:
                continue
        else:
            name, ext = os.path.splitext(e.name)
            if ext not in JS_EXTENSIONS + TS_EXTENSIONS + PY_EXTENSIONS:
                continue
            file = e.path
        where = f"{rel}/{e.name}"
        if not VALID_NAME.match(name):
            problems.append(ConfigProblem(where, 0, f"function name {name!r} is not valid: {BAD_NAME_MESSAGE}",
                                          severity="warning"))
            continue
        if name in found:
            problems.append(ConfigProblem(where, 0, f"function {name} is defined twice; using "
                                          f"{os.path.relpath(found[name].file, functions_dir)}", severity="warning"))
            continue
        ext = os.path.splitext(file)[1]
        background = name.endswith("-background")
        if ext in TS_EXTENSIONS:
            reason = "TypeScript functions need a compiler, which edgenode does not bundle; compile to .js"
            problems.append(ConfigProblem(where, 0, f"function {name}: {reason}", severity="warning"))
            found[name] = FunctionDef(name, os.path.realpath(file), "unsupported", background, reason)
        else:
            found[name] = FunctionDef(name, os.path.realpath(file), "python" if ext == ".py" else "node", background)
    return list(found.values()), problems


class FunctionSet:
    """One deploy's functions and the worker pools that run them (started on astart, stopped on aclose)."""

    def __init__(self, site: Site, functions: list[FunctionDef], options: Any) -> None:
        self.by_name = {f.name: f for f in functions}
        self.routes: list[FunctionDef] = []  # functions with their own paths (FN-7), filled by astart
        self.site_id = site.site_id
        self.functions_dir = site.config.functions_dir
        extra = getattr(options, "extra", None) or {}
        self.pool_size = int(extra.get("function_workers") or max(2, os.cpu_count() or 1))
        self.node = node_binary()
        env = {**os.environ, **site.config.environment}
        self.pools: dict[str, WorkerPool] = {}
        # Background runs (up to 15 minutes each) get pools of their own, started on first use, so
        # they never take the workers that answer requests.
        self.background_pools: dict[str, WorkerPool] = {}
        runtimes = {f.runtime for f in functions}
        cwd = site.config.base_dir
        argvs: dict[str, list[str]] = {}
        if "node" in runtimes and self.node is not None:
            argvs["node"] = [self.node, *node_flags(self.node), NODE_RUNNER]
        if "python" in runtimes:
            argvs["python"] = [sys.executable, "-P", PY_RUNNER]
        self._spawn_args = (argvs, env, cwd)
        self._closed = False
        for runtime, argv in argvs.items():
            self.pools[runtime] = WorkerPool(runtime, argv, env, cwd, self.pool_size)

    def pool_for(self, fn: FunctionDef) -> WorkerPool | None:
        if not fn.background or self._closed:
            return self.pools.get(fn.runtime)
        pool = self.background_pools.get(fn.runtime)
        argvs, env, cwd = self._spawn_args
        if pool is None and fn.runtime in argvs:
            pool = WorkerPool(f"{fn.runtime} background", argvs[fn.runtime], env, cwd, self.pool_size)
            self.background_pools[fn.runtime] = pool
        return pool

    def __len__(self) -> int:
        return len(self.by_name)

    def get(self, name: str) -> FunctionDef | None:
        return self.by_name.get(name)

    def missing_node_reason(self) -> str:
        return "JavaScript functions need Node.js, and `node` was not found" + (
            f" (at {os.environ[NODE_ENV]!r}, from {NODE_ENV})" if os.environ.get(NODE_ENV) else " on PATH")

    async def astart(self) -> None:
        """Start one warm worker per runtime in use, so the first request does not pay for it."""
        if self.node is None and any(f.runtime == "node" for f in self.by_name.values()):
            _warn_once("node-missing", "%s: JavaScript functions answer 501", self.missing_node_reason())
        for pool in self.pools.values():
            try:
                await pool.start()
            except WorkerUnavailable as e:
                log.error("%s function workers: %s", pool.name, e)
        if "node" in self.pools:
            await self._read_v2_configs(self.pools["node"])

    async def _read_v2_configs(self, pool: WorkerPool) -> None:
        """FN-7, FN-8: a v2 function's `config` gives it its own paths and may make it a background one."""
        for fn in self.by_name.values():
            if fn.runtime != "node":
                continue
            try:
                head, _ = await pool.invoke({"id": 0, "op": "describe", "file": fn.file}, b"", 10.0)
            except (WorkerTimeout, WorkerCrashed, WorkerUnavailable) as e:
                log.warning("function %s: could not read its config: %s", fn.name, e)
                continue
            if not head.get("ok") or head.get("api") != 2:
                continue  # v1, or a load error that each invocation will report
            config = head.get("config") or {}
            if config.get("background") is True:
                fn.background = True
            try:
                fn.route = route_from_config(fn.name, config)
            except BadPattern as e:
                log.warning("function %s: %s", fn.name, e)
        self.routes = [fn for fn in self.by_name.values() if fn.route is not None]

    def route(self, path: str, method: str, static_exists: Any) -> tuple[FunctionDef, dict[str, str]] | None:
        """FN-7: the v2 function whose `config.path` claims this request, with its params.

        Custom paths win over rules and static files, unless the function sets preferStatic and a
        static file exists (`static_exists(path)`).
        """
        for fn in self.routes:
            assert fn.route is not None
            params = fn.route.match(path, method)
            if params is not None and not (fn.route.prefer_static and static_exists(path)):
                return fn, params
        return None

    async def aclose(self) -> None:
        self._closed = True
        pools = [*self.pools.values(), *self.background_pools.values()]
        await asyncio.gather(*(p.close() for p in pools), return_exceptions=True)


_warned: set[str] = set()


def _warn_once(key: str, msg: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(msg, *args)


def load_functions(site: Site, options: Any) -> None:
    rel = os.path.relpath(site.config.functions_dir, site.config.site_dir)
    functions, problems = discover(site.config.functions_dir, rel)
    # FN-8: [functions."NAME"] background = true makes a function a background one too.
    table = site.config.raw.get("functions")
    for fn in functions:
        settings = table.get(fn.name) if isinstance(table, dict) else None
        if isinstance(settings, dict) and settings.get("background") is True:
            fn.background = True
    site.problems.extend(problems)
    fs = FunctionSet(site, functions, options)
    if fs.node is None and any(f.runtime == "node" for f in functions):
        site.problems.append(ConfigProblem(rel, 0, fs.missing_node_reason() + "; they answer 501",
                                           severity="warning"))
    site.functions = fs
    # RR-23: a signed proxy rule whose secret variable is missing is reported at start and by `check`.
    # The rules loader runs before this one, so site.rules is already parsed.
    site.problems.extend(signed_proxy_problems(site))


# -- invocation --------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    pass


async def read_body(ex: Exchange, limit: int) -> bytes:
    body = ex.request.body
    if body is None:
        return b""
    length = ex.request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyTooLarge
    parts = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


def _geo_object(geo: Any) -> dict[str, Any]:
    if geo is None:
        return {}
    def g(name: str) -> Any:
        return getattr(geo, name, None)

    return {"city": g("city"), "country": {"code": g("country"), "name": g("country_name")},
            "subdivision": {"code": g("subdivision"), "name": g("subdivision_name")},
            "latitude": g("latitude"), "longitude": g("longitude"), "timezone": g("timezone")}


def _identity_claims(node: EdgeNode, ex: Exchange) -> dict[str, Any] | None:
    """FN-5: the verified JWT's claims; without any verifier configured, netlify dev's unverified decode."""
    identity = ex.identity
    if identity is not None:
        claims = getattr(identity, "claims", None)
        if claims is None and isinstance(identity, dict):
            claims = identity.get("claims", identity)
        return dict(claims) if claims else None
    o = node.options
    if o.jwt_secret or o.jwt_public_key or ex.site.config.dev.get("jwtSecret"):
        return None  # a verifier is configured and did not accept the token
    auth = ex.request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        try:
            return jwt.decode(auth[7:].strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
    return None


class FunctionOrigin:
    """Node-wide part of the invoker: requests in, EdgeResponses out; background invocations tracked."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self._background: set[asyncio.Task[Any]] = set()
        self._ids = 0

    async def fetch(self, node: EdgeNode, ex: Exchange, target: OriginTarget) -> EdgeResponse:
        accept = ex.request.headers.get("Accept")
        name = function_name(target.path)
        if name is None:
            return error_response(404, "Not Found", f"no function route at {target.path}", accept, kind="function")
        if not VALID_NAME.match(name):
            return error_response(400, "Bad Request", BAD_NAME_MESSAGE, accept, kind="function")
        fs: FunctionSet | None = ex.site.functions
        fn = fs.get(name) if fs is not None else None
        if fn is None or fs is None or (fn.route is not None and ex.request.path.startswith("/.netlify/")):
            # FN-7: a function with its own paths no longer answers at /.netlify/functions/NAME.
            return error_response(404, "Not Found", f"Function not found: {name}", accept, kind="function")
        if fn.runtime == "unsupported":
            return error_response(501, "Not Implemented", fn.reason, accept, kind="function")
        pool = fs.pool_for(fn)
        if pool is None:
            return error_response(501, "Not Implemented", fs.missing_node_reason(), accept, kind="function")
        try:
            body = await read_body(ex, MAX_BACKGROUND_BODY if fn.background else MAX_BODY)
        except BodyTooLarge:
            limit = "256 KB" if fn.background else "6 MB"
            return error_response(413, "Payload Too Large", f"function request bodies are limited to {limit}",
                                  accept, kind="function")
        message = self.message(node, ex, target, fn, body)
        if fn.background:
            task = asyncio.ensure_future(self._run_background(pool, fn, message, body))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return EdgeResponse(202, CIMultiDict({"Cache-Control": "no-cache"}), b"", kind="function")
        return await self.invoke(pool, fn, message, body, self.options.function_timeout, accept)

    def message(self, node: EdgeNode, ex: Exchange, target: OriginTarget, fn: FunctionDef,
                body: bytes) -> dict[str, Any]:
        req = ex.request
        geo = _geo_object(ex.geo)
        site_url = f"{req.scheme}://{req.authority}"
        headers = [(k, v) for k, v in req.headers.items()
                   if k.lower() not in ("x-forwarded-for", "client-ip", "x-nf-client-connection-ip", "via",
                                        "x-nf-request-id", "x-nf-geo", "x-country", "x-language", "x-nf-site-id")]
        headers += added_headers(req.client_ip, req.scheme, ex.request_id, ex.site.site_id,
                                 ", ".join(req.headers.getall("X-Forwarded-For", ())),
                                 getattr(ex.geo, "country", None), req.headers.get("Accept-Language"), geo)
        qs = target.query_string
        raw_url = f"{site_url}{req.raw_path}" + (f"?{qs}" if qs else "")
        facts = RequestFacts(req.method, req.path, raw_url, qs, headers, bool(body),
                             req.headers.get("Content-Type"))
        claims = None if fn.background else _identity_claims(node, ex)  # netlify dev: none for background
        timeout = BACKGROUND_TIMEOUT if fn.background else self.options.function_timeout
        self._ids += 1
        return {
            "id": self._ids, "file": fn.file, "background": fn.background, "event": v1_event(facts),
            "context": {
                "functionName": fn.name, "requestId": ex.request_id, "timeoutMs": int(timeout * 1000),
                "clientContext": client_context(claims, site_url, _identity_token() if claims else ""),
                "ip": req.client_ip, "geo": geo, "params": ex.notes.get("function_params") or {}, "accountId": "edgenode", "region": "local",
                "site": {"id": ex.site.site_id, "name": ex.site.site_id, "url": site_url},
                "deploy": {"context": self.options.context, "id": str(ex.site.generation), "published": True},
            },
        }

    async def invoke(self, pool: WorkerPool, fn: FunctionDef, message: dict[str, Any], body: bytes,
                     timeout: float, accept: str | None) -> EdgeResponse:
        try:
            head, out = await pool.invoke(message, body, timeout)
        except WorkerTimeout:
            log.warning("function %s timed out after %g s; its worker was recycled", fn.name, timeout)
            return error_response(TIMEOUT_STATUS, "TimeoutError",
                                  f"function {fn.name} did not finish within {timeout:g} s", accept, kind="function")
        except WorkerCrashed as e:
            log.error("function %s crashed its worker (exit code %s)", fn.name, e.returncode)
            return error_response(500, "FunctionCrashed",
                                  f"function {fn.name} crashed its worker process (exit code {e.returncode})",
                                  accept, kind="function")
        except WorkerUnavailable as e:
            return error_response(503, "Service Unavailable", str(e), accept, kind="function")
        except ResponseTooLarge as e:
            log.error("function %s: %s; its worker was recycled", fn.name, e)
            return error_response(502, "ResponseSizeTooLarge", f"function {fn.name}: {e}", accept, kind="function")
        if not head.get("ok"):
            err = head.get("error") or {}
            stack = err.get("stack") or []
            log.error("function %s failed: %s: %s\n%s", fn.name, err.get("type"), err.get("message"),
                      "".join(s if s.endswith("\n") else s + "\n" for s in stack))
            return error_response(500, err.get("type") or "Error", err.get("message") or "", accept,
                                  kind="function")
        try:
            if head.get("api") == 2:
                status, headers = int(head["status"]), [(k, v) for k, v in head["headers"]]
            else:
                status, headers, out = parse_v1_response(head.get("result"), bool(head.get("undefined")))
        except InvalidFunctionResponse as e:
            log.error("function %s returned an invalid response: %s", fn.name, e)
            return error_response(500, "Error", str(e), accept, kind="function")
        # The server frames the body itself: a function's own framing headers would contradict it.
        clean = CIMultiDict((k, v) for k, v in headers if k.lower() not in FRAMING_HEADERS)
        return EdgeResponse(status, clean, out, kind="function")

    async def _run_background(self, pool: WorkerPool, fn: FunctionDef, message: dict[str, Any], body: bytes) -> None:
        t0 = time.monotonic()
        resp = await self.invoke(pool, fn, message, body, BACKGROUND_TIMEOUT, None)
        if resp.status >= 500:
            log.error("background function %s failed after %.1f s: %s", fn.name, time.monotonic() - t0,
                      resp.body.decode(errors="replace").strip() if isinstance(resp.body, bytes) else resp.status)
        else:
            log.info("background function %s finished in %.1f s", fn.name, time.monotonic() - t0)

    async def aclose(self) -> None:
        for t in list(self._background):
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def _identity_token() -> str:
    """A short-lived placeholder for clientContext.identity.token (edgenode has no Identity admin API)."""
    now = int(time.time())
    return jwt.encode({"iss": "edgenode", "sub": "identity-admin-placeholder", "iat": now, "exp": now + 60},
                      "edgenode-identity-placeholder-key-0000", algorithm="HS256")
