"""Shared test helpers: build site directories in tmp_path, speak raw HTTP when a client would normalise."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest


def write_site(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create files under root: {"index.html": "<h1>hi</h1>", "css/site.css": "..."}."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return root


@pytest.fixture
def make_site(tmp_path: Path):
    def make(files: dict[str, str | bytes], name: str = "site") -> Path:
        return write_site(tmp_path / name, files)

    return make


def raw_request(url: str, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes to the server behind url and return everything it answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except TimeoutError:
            pass
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll an async predicate until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        v = await predicate()
        if v or loop.time() > end:
            return v
        await asyncio.sleep(interval)
