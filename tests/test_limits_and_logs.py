"""limits.Limits and accesslog.LineWriter without a server."""

from __future__ import annotations

import os
import resource
import time

from edgenode.accesslog import QUEUE_LINES, LineWriter
from edgenode.limits import Limits, plain_response
from edgenode.options import ServeOptions


def test_limits_from_options_and_cap():
    o = ServeOptions()
    o.header_timeout, o.max_connections = 3.0, 77
    lim = Limits.from_options(o)
    assert lim.header_timeout == 3.0 and lim.connection_cap() == 77
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    auto = Limits.from_options().connection_cap()
    assert 16 <= auto < soft or soft == resource.RLIM_INFINITY


def test_plain_response_is_complete_http():
    raw = plain_response(408, "too slow")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"Connection: close" in head
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)


def test_line_writer_never_blocks_on_a_full_pipe():
    r, w = os.pipe()
    try:
        writer = LineWriter(w, "test-pipe")
        t0 = time.monotonic()
        for i in range(QUEUE_LINES * 3):
            writer.submit(f"line {i} " + "x" * 100)
        assert time.monotonic() - t0 < 2.0  # nobody reads the pipe: submit still returns at once
        assert writer.dropped > 0
    finally:
        os.close(r)  # the writer thread's next write fails with EPIPE: counted, swallowed


def test_line_writer_counts_write_errors():
    fd = os.open("/dev/full", os.O_WRONLY)
    writer = LineWriter(fd, "dev-full")
    for i in range(10):
        writer.submit(f"line {i}")
    assert writer.drain(2.0)
    assert writer.errors >= 1 and writer.written == 0
