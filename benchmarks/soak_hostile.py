"""Soak: `edgenode serve` under good traffic, malformed requests, slowloris and deploys, for a while.

    python benchmarks/soak_hostile.py --seconds 60

Prints requests answered and failed (a good request that did not get its exact answer), hostile
requests sent, deploys published, and the server's descriptors and memory at start and end (a leak
shows as growth). Run by hand; the CI suite (tests/hostile) keeps its cases short.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

N_FILES = 200
BAD = [
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    b"GET /%c0%ae%c0%ae/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
]


def publish(root: Path, d: int) -> None:
    site = root / "deploys" / f"d{d}"
    (site / "f").mkdir(parents=True)
    for i in range(N_FILES):
        (site / "f" / f"{i}.txt").write_text(f"deploy {d} file {i}\n")
    (site / "_headers").write_text(f"/*\n  X-Deploy: {d}\n")
    tmp = root / f"current.tmp{d}"
    os.symlink(f"deploys/d{d}", tmp)
    os.replace(tmp, root / "current")


def proc_stats(pid: int) -> tuple[int, int]:
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) // 1024
    return fds, rss


async def good_traffic(url: str, stop: asyncio.Event, counts: dict) -> None:
    pat = re.compile(rb"^deploy (\d+) file (\d+)\n$")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        while not stop.is_set():
            i = random.randrange(N_FILES)
            try:
                async with s.get(f"{url}/f/{i}.txt") as r:
                    body = await r.read()
                    m = pat.match(body)
                    ok = (r.status == 200 and m is not None and int(m.group(2)) == i
                          and r.headers.get("X-Deploy") == m.group(1).decode())
            except Exception:
                ok = False
            counts["ok" if ok else "failed"] += 1


async def bad_traffic(host: str, port: int, stop: asyncio.Event, counts: dict) -> None:
    while not stop.is_set():
        try:
            r, w = await asyncio.open_connection(host, port)
            w.write(random.choice(BAD))
            await asyncio.wait_for(r.read(), 5)
            w.close()
        except Exception:
            pass
        counts["hostile"] += 1


async def slowloris(host: str, port: int, stop: asyncio.Event, counts: dict) -> None:
    while not stop.is_set():
        try:
            r, w = await asyncio.open_connection(host, port)
            for b in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ":
                w.write(bytes([b]))
                await asyncio.sleep(0.5)
                if r.at_eof() or stop.is_set():
                    break
            w.close()
        except Exception:
            pass
        counts["slowloris"] += 1


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=32)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="edgenode-soak-"))
    publish(root, 1)
    proc = subprocess.Popen([sys.executable, "-m", "edgenode", "serve", str(root / "current"), "--port", "0",
                             "--access-log", "/dev/null", "--header-timeout", "3"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    url = re.search(rb"http://\S+", proc.stdout.readline()).group(0).decode()  # type: ignore[union-attr]
    host, port = url.removeprefix("http://").rsplit(":", 1)
    start = proc_stats(proc.pid)
    counts = {"ok": 0, "failed": 0, "hostile": 0, "slowloris": 0}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(good_traffic(url, stop, counts)) for _ in range(a.clients)]
    tasks += [asyncio.create_task(bad_traffic(host, int(port), stop, counts)) for _ in range(4)]
    tasks += [asyncio.create_task(slowloris(host, int(port), stop, counts)) for _ in range(50)]
    t0 = time.monotonic()
    deploys = 1
    while time.monotonic() - t0 < a.seconds:
        await asyncio.sleep(2)
        deploys += 1
        await asyncio.to_thread(publish, root, deploys)
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(4)  # let slowloris connections time out
    end = proc_stats(proc.pid)
    proc.terminate()
    proc.wait(15)
    took = time.monotonic() - t0
    print(f"{took:.0f} s: {counts['ok']} good requests answered correctly ({counts['ok'] / took:.0f}/s), "
          f"{counts['failed']} failed; {counts['hostile']} malformed requests, {counts['slowloris']} slowloris "
          f"connections; {deploys} deploys")
    print(f"server descriptors {start[0]} -> {end[0]}, RSS {start[1]} MB -> {end[1]} MB")


if __name__ == "__main__":
    asyncio.run(main())
