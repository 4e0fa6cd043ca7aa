"""pytest plugin: run edgenode on a free localhost port against a site directory.

Registered through the `pytest11` entry point, so after `pip install edgenode` a test can say:

    def test_home(edgenode):
        base = edgenode("path/to/site").url          # http://127.0.0.1:PORT
        ...

or override the `edgenode_site_dir` fixture and take the base URL from `edgenode_url`.
The server runs in a background thread with its own event loop, so sync and async tests both work.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from edgenode.handlers import v8
from edgenode.options import ServeOptions, parse_size

# V8 must be initialised on the main thread: the servers below run on their own threads, and
# isolates created on a second thread crash when V8 was initialised on another non-main thread.
v8.init()


class RunningEdgenode:
    """One edgenode server on its own thread. `url` is the base URL; `stop()` shuts it down."""

    def __init__(self, site_dir: str | os.PathLike | list, **options: Any) -> None:
        sites = site_dir if isinstance(site_dir, list) else [site_dir]
        o = ServeOptions()
        o.sites = [(str(s), ()) if not isinstance(s, tuple) else (str(s[1]), tuple(s[0].split(",")))
                   for s in sites]
        o.port = 0
        o.quiet = options.pop("quiet", True)
        o.grace = options.pop("grace", 2.0)
        if "cache_size" in options and isinstance(options["cache_size"], str):
            options["cache_size"] = parse_size(options["cache_size"])
        for k, v in options.items():
            if not hasattr(o, k):
                raise TypeError(f"unknown edgenode option {k!r}")
            setattr(o, k, v)
        self.options = o
        self.server: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="edgenode-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("edgenode did not start within 60 s")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        from edgenode.accesslog import setup_logging
        from edgenode.server import EdgeServer

        setup_logging(self.options.log_format, self.options.quiet, self.options.access_log)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.server = EdgeServer(self.options)
            self.loop.run_until_complete(self.server.start())
        except BaseException as e:  # reported to the test thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def node(self) -> Any:
        return self.server.node

    def call(self, coro_fn: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the server's loop and wait for its result (e.g. a reload)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop).result(60)

    def stop(self) -> None:
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)


@pytest.fixture
def edgenode() -> Iterator[Callable[..., RunningEdgenode]]:
    """Factory: `edgenode(site_dir, **options)` starts a server; all are stopped after the test."""
    started: list[RunningEdgenode] = []

    def start(site_dir: Any, **options: Any) -> RunningEdgenode:
        srv = RunningEdgenode(site_dir, **options)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def edgenode_site_dir() -> str:
    """The site the `edgenode_url` fixture serves. Override it in your conftest.py."""
    return "."


@pytest.fixture
def edgenode_url(edgenode: Callable[..., RunningEdgenode], edgenode_site_dir: str) -> str:
    """Base URL of an edgenode serving `edgenode_site_dir`."""
    return edgenode(edgenode_site_dir).url
