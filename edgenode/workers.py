"""`edgenode serve --workers N`: N processes share the port through SO_REUSEPORT, under one supervisor.

Each worker is a whole edge node (its own event loop, cache, sites and isolates); the kernel spreads
new connections over the workers' listening sockets. The supervisor only watches: a worker that
dies is started again (with a growing pause if it keeps dying at once), and SIGINT/SIGTERM is passed
on to every worker, which finishes its in-flight requests within --grace and exits; then the
supervisor exits 0.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from edgenode.options import ServeOptions

log = logging.getLogger("edgenode")
RESTART_PAUSE_MAX = 5.0  # seconds between restarts of a worker that keeps dying right after start
QUICK_DEATH = 2.0  # a worker that dies within this many seconds of its start counts as crash-looping


def worker_count(text: str | int) -> int:
    """`auto` -> the number of cores this process may run on; otherwise a positive integer."""
    if text == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    n = int(text)
    if n < 1:
        raise ValueError(f"--workers must be at least 1 or auto, not {text}")
    return n


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) a SO_REUSEPORT socket: fixes the port for `--port 0` and keeps it ours."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    s = socket.socket(family, kind, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(addr)
    return s


def _die_with_parent(parent: int) -> None:
    """A supervisor killed with SIGKILL cannot stop its workers: have the kernel send them SIGTERM."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_main(options: ServeOptions, index: int, announce: bool, supervisor: int) -> None:
    """One worker process: a normal single-process node, listening with SO_REUSEPORT."""
    from edgenode.accesslog import setup_logging
    from edgenode.server import EdgeServer, banner, serve_forever

    # Not the supervisor's handlers (inherited through fork): until the event loop installs its own,
    # SIGINT/SIGTERM simply end a worker that is still starting.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(supervisor)
    setup_logging(options.log_format, options.quiet, getattr(options, "access_log", None))
    server = EdgeServer(options)

    def ready(s: EdgeServer) -> None:
        if announce and not options.quiet:
            print(f"{banner(s)}\n  {options.extra['workers']} workers (SO_REUSEPORT)", flush=True)

    from edgenode.memory_policy import tune_for_serving

    tune_for_serving()
    run = _loop_runner()
    try:
        run(serve_forever(server, ready))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


def _loop_runner() -> Callable[[Any], Any]:
    try:
        import uvloop  # type: ignore[import-not-found]

        return uvloop.run
    except ImportError:  # pragma: no cover
        import asyncio

        return asyncio.run


class Supervisor:
    def __init__(self, options: ServeOptions, count: int) -> None:
        self.options = options
        self.count = count
        self.ctx = multiprocessing.get_context("fork")
        self.procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self.started: dict[int, float] = {}
        self.pause: dict[int, float] = {}
        self.stopping = False
        self.restarts = 0

    def _start(self, index: int, announce: bool) -> None:
        p = self.ctx.Process(target=_worker_main, args=(self.options, index, announce, os.getpid()),
                             name=f"edgenode-worker-{index}", daemon=False)
        p.start()
        self.procs[index] = p
        self.started[index] = time.monotonic()

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for i in range(self.count):
            self._start(i, announce=i == 0)
        while not self.stopping:
            time.sleep(0.1)
            for i, p in list(self.procs.items()):
                if p.is_alive() or self.stopping:
                    continue
                lived = time.monotonic() - self.started[i]
                self.pause[i] = min(max(self.pause.get(i, 0.05) * 2, 0.1), RESTART_PAUSE_MAX) \
                    if lived < QUICK_DEATH else 0.0
                log.error("worker %d (pid %s) exited with status %s after %.1f s; restarting%s", i, p.pid,
                          p.exitcode, lived, f" in {self.pause[i]:.1f} s" if self.pause[i] else "")
                self._sleep(self.pause[i])
                if not self.stopping:
                    self.restarts += 1
                    self._start(i, announce=False)
        return self._shutdown()

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(0.05)

    def _shutdown(self) -> int:
        for p in self.procs.values():
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.options.grace + 5.0
        for p in self.procs.values():
            p.join(max(deadline - time.monotonic(), 0.1))
            if p.is_alive():
                log.error("worker pid %s did not stop within the grace period; killing it", p.pid)
                p.kill()
                p.join(5)
        return 0


def supervise(options: ServeOptions, count: int) -> int:
    """Run `count` workers until SIGINT/SIGTERM. Returns the exit status."""
    try:
        reserved = reserve_port(options.host, options.port)
    except OSError as e:
        print(f"edgenode: cannot listen on {options.host}:{options.port}: {e.strerror}", file=sys.stderr)
        return 1
    options.port = reserved.getsockname()[1]
    options.extra["reuse_port"] = True
    options.extra["workers"] = count
    try:
        return Supervisor(options, count).run()
    finally:
        reserved.close()
