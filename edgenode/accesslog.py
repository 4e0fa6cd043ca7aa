"""Access log and error log: one line per request, as text or JSON, written off the event loop.

Logging must never stop or slow the node: a stdout pipe nobody reads, a full disk (ENOSPC), a
file that vanished. So the event loop only formats a line and puts it on a bounded queue; a daemon
thread per destination writes the queue to the file descriptor with os.write (no Python stream
lock that a blocked write could hold). When the queue is full, lines are dropped and counted;
write errors are counted and swallowed.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sys
import threading
import time

access = logging.getLogger("edgenode.access")

QUEUE_LINES = 10_000  # lines waiting for a slow destination before new ones are dropped


class LineWriter:
    """A daemon thread writing lines to one file descriptor; `submit` never blocks."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        self.dropped = 0
        self.errors = 0
        self.written = 0
        self._q: queue.Queue[bytes] = queue.Queue(QUEUE_LINES)
        self._thread = threading.Thread(target=self._run, name=f"log-writer {name}", daemon=True)
        self._thread.start()

    def submit(self, line: str) -> None:
        try:
            self._q.put_nowait((line + "\n").encode("utf-8", "backslashreplace"))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            batch = [self._q.get()]
            try:
                while len(batch) < 256:
                    batch.append(self._q.get_nowait())
            except queue.Empty:
                pass
            data = b"".join(batch)
            try:
                while data:
                    n = os.write(self.fd, data)
                    data = data[n:]
                self.written += len(batch)
            except OSError:  # ENOSPC, EPIPE, EBADF...: the node keeps serving
                self.errors += 1
            finally:
                for _ in batch:
                    self._q.task_done()

    def drain(self, timeout: float) -> bool:
        """Wait up to timeout for queued lines to be written (at shutdown)."""
        end = time.monotonic() + timeout
        while self._q.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)
        return not self._q.unfinished_tasks


class QueueLineHandler(logging.Handler):
    """A logging handler that formats on the caller's thread and hands the line to a LineWriter."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.submit(self.format(record))
        except Exception:
            self.writer.errors += 1

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.writer.errors += 1


_writers: dict[str, LineWriter] = {}


def _writer_for(target: str) -> LineWriter:
    """'-'/'stdout', 'stderr' or a file path (opened for append, created if missing)."""
    if target in _writers:
        return _writers[target]
    if target in ("-", "stdout"):
        fd = _fd_of(sys.stdout, 1)
    elif target == "stderr":
        fd = _fd_of(sys.stderr, 2)
    else:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    w = _writers[target] = LineWriter(fd, target)
    return w


def _fd_of(stream: object, default: int) -> int:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # replaced by a test harness, etc.
        return default


def log_writers() -> dict[str, LineWriter]:
    return dict(_writers)


def drain_logs(timeout: float = 1.0) -> None:
    for w in list(_writers.values()):
        w.drain(timeout)


atexit.register(drain_logs)


def setup_logging(log_format: str, quiet: bool, access_log: str | None = None) -> None:
    """Errors always go to stderr; access lines to stdout (or access_log) unless --quiet.

    Raises OSError when access_log cannot be opened.
    """
    root = logging.getLogger("edgenode")
    if not root.handlers:
        h = QueueLineHandler(_writer_for("stderr"))
        if log_format == "json":
            h.setFormatter(_JsonFormatter())
        else:
            h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(h)
    root.setLevel(logging.INFO)
    access.propagate = False
    access.handlers.clear()
    if quiet:
        access.disabled = True
    else:
        access.disabled = False
        ah = QueueLineHandler(_writer_for(access_log or "stdout"))
        ah.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(ah)
        access.setLevel(logging.INFO)
    access_format[0] = log_format


access_format = ["text"]


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record), "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


def log_request(method: str, path: str, status: int, size: int, duration_s: float, cache: str,
                request_id: str, site: str) -> None:
    if access.disabled or not access.handlers:
        return
    ms = duration_s * 1000
    if access_format[0] == "json":
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "method": method, "path": path,
                           "status": status, "bytes": size, "duration_ms": round(ms, 3), "cache": cache,
                           "request_id": request_id, "site": site})
    else:
        line = f'{time.strftime("%Y-%m-%dT%H:%M:%S")} {method} {path} {status} {size}B {ms:.2f}ms {cache or "-"}'
    access.info(line)
