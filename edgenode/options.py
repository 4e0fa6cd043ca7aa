"""ServeOptions: every knob of `edgenode serve`, as plain data (the CLI and the test fixture fill it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}


def parse_size(text: str) -> int:
    """'256MB' -> bytes. Decimal units (MB) and binary ones (MiB) both work."""
    m = _SIZE.match(text)
    if not m or m.group(2) is not None and m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (try 256MB or 1GiB)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


@dataclass(slots=True)
class ServeOptions:
    sites: list[tuple[str, tuple[str, ...]]] = field(default_factory=lambda: [(".", ())])  # (dir, hosts)
    host: str = "127.0.0.1"
    port: int = 8888
    cache_size: int = 256 * 1000**2
    log_format: str = "text"  # text | json
    quiet: bool = False
    grace: float = 10.0
    config: str | None = None
    context: str = "dev"
    watch: bool = True
    # identity and geo (issue: rules)
    jwt_secret: str | None = None
    jwt_role_path: str | None = None
    jwt_public_key: str | None = None
    country: str | None = None
    geoip_db: str | None = None
    trust_geo_header: str | None = None
    # edge handlers
    handler_cpu_ms: float = 50.0
    handler_memory_mb: int = 256
    handler_timeout_ms: float = 30000.0
    # origins
    function_timeout: float = 30.0
    proxy_connect_timeout: float = 5.0
    proxy_read_timeout: float = 26.0
    extra: dict = field(default_factory=dict)
    # connection limits and slow-client timeouts (limits.py)
    header_timeout: float = 15.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_request_line: int = 8190
    max_header_size: int = 8190
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    max_connections: int = 0  # 0: from the open-file limit
    access_log: str | None = None  # file for access lines (default stdout)
