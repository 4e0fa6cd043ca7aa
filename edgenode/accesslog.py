"""Access log: one line per request, as text or JSON."""

from __future__ import annotations

import json
import logging
import sys
import time

access = logging.getLogger("edgenode.access")


def setup_logging(log_format: str, quiet: bool) -> None:
    """Errors always go to stderr; access lines go to stdout unless --quiet."""
    root = logging.getLogger("edgenode")
    if not root.handlers:
        h = logging.StreamHandler(sys.stderr)
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
        ah = logging.StreamHandler(sys.stdout)
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
