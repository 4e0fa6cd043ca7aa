"""Hostile-input suite: shared helpers, and the summary table printed at the end of a run.

Every test here starts edgenode through its real server (the `edgenode` fixture or a module-scoped
RunningEdgenode) and speaks HTTP to it. Categories come from the test module's name.
"""

from __future__ import annotations

import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgenode.testing import RunningEdgenode
from tests.conftest import write_site

CATEGORIES = {
    "test_bad_requests": "malformed requests",
    "test_smuggling": "request smuggling",
    "test_host": "Host header and targets",
    "test_traversal": "traversal and hidden files",
    "test_slow_clients": "slow clients and limits",
    "test_cache_poisoning": "cache poisoning",
    "test_cache_poisoning_upstream": "cache poisoning",
    "test_open_redirects": "open redirects and header injection",
    "test_tokens": "tokens",
    "test_handler_faults": "edge handler faults",
    "test_upstream_faults": "upstream faults",
    "test_function_faults": "function faults",
    "test_node_faults": "node faults",
    "test_load": "load",
    "test_deploys": "atomic deploys and reloads",
}

_results: dict[str, dict[str, str]] = defaultdict(dict)  # category -> nodeid -> outcome


def category_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return CATEGORIES.get(module, module)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/hostile/" not in report.nodeid.replace("\\", "/"):
        return
    cat = category_of(report.nodeid)
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        if report.when == "teardown" and outcome == "passed":
            return
        prior = _results[cat].get(report.nodeid)
        if prior in (None, "passed"):
            _results[cat][report.nodeid] = outcome


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not _results:
        return
    tr = terminalreporter
    tr.section("hostile input: summary")
    order = {c: i for i, c in enumerate(CATEGORIES.values())}
    width = max(len("category"), *(len(c) for c in _results)) + 2
    tr.write_line(f"{'category':<{width}}{'cases':>6}{'passed':>8}{'failed':>8}{'xfail':>7}")
    total_passed = total_failed = 0
    for cat in sorted(_results, key=lambda c: order.get(c, 99)):
        outcomes = list(_results[cat].values())
        passed = outcomes.count("passed")
        failed = outcomes.count("failed") + outcomes.count("xpassed")
        xfail = outcomes.count("xfailed")
        total_passed += passed
        total_failed += failed
        tr.write_line(f"{cat:<{width}}{len(outcomes):>6}{passed:>8}{failed:>8}{xfail:>7}")
    tr.write_line(f"{total_passed} passed, {total_failed} failed")


# -- helpers ----------------------------------------------------------------------------------

SITE = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "blog/index.html": "<h1>blog</h1>",
    "404.html": "<h1>custom 404</h1>",
    "css/site.css": "body{color:red}",
}


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host.strip("[]"), int(port)


def exchange(url: str, data: bytes, timeout: float = 5.0, shut_write: bool = False) -> tuple[bytes, bool]:
    """Send raw bytes; return (everything answered, whether the server closed the connection)."""
    with socket.create_connection(host_port(url), timeout=timeout) as s:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        closed = False
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    closed = True
                    break
                chunks.append(b)
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    return b"".join(chunks), closed


def first_status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0


def statuses(raw: bytes) -> list[int]:
    """Status codes of every response in a byte stream (Content-Length framed, as edgenode sends)."""
    out = []
    rest = raw
    while rest.startswith(b"HTTP/"):
        head, sep, body = rest.partition(b"\r\n\r\n")
        if not sep:
            break
        out.append(int(head.split(b" ", 2)[1]))
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        rest = body[length:]
    return out


def get_once(url: str, path: str = "/", host: str = "a.example", timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on a fresh connection with Connection: close; (status, body)."""
    raw, _ = exchange(url, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(),
                      timeout=timeout)
    _, _, body = raw.partition(b"\r\n\r\n")
    return first_status(raw), body


def assert_serving(url: str) -> None:
    """The node still answers a normal request on a new connection, promptly and correctly."""
    t0 = time.monotonic()
    status, body = get_once(url, "/about")
    assert (status, body) == (200, b"<h1>about</h1>"), (status, body[:200])
    assert time.monotonic() - t0 < 2.0


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEdgenode]:
    """One edgenode per module for the cheap request-shape cases (short timeouts)."""
    site = write_site(Path(tmp_path_factory.mktemp("hostile")) / "site", SITE)
    srv = RunningEdgenode(site, header_timeout=1.0, body_timeout=1.0, keepalive_timeout=2.0)
    yield srv
    srv.stop()


class ServeProcess:
    """`edgenode serve` in a subprocess (for faults that need a process of its own: fd limits, pipes)."""

    def __init__(self, args: list[str], stdout=None, preexec_fn=None, timeout: float = 30.0) -> None:
        import re
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "edgenode", "serve", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if stdout is None else stdout,
                                     preexec_fn=preexec_fn)
        assert self.proc.stdout is not None
        import os
        import select

        line = b""
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        # Read only up to the banner; afterwards nobody reads stdout (some tests rely on that).
        while time.monotonic() < end and b"edgenode serving" not in line or not line.endswith(b"\n"):
            if time.monotonic() >= end or not select.select([fd], [], [], 0.1)[0]:
                if time.monotonic() >= end:
                    break
                continue
            chunk = os.read(fd, 1)
            if not chunk:
                break
            line = line + chunk if not line.endswith(b"\n") else chunk
        m = re.search(rb"(http://[^\s]+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"edgenode serve did not start: {line!r}")
        self.url = m.group(1).decode()

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
