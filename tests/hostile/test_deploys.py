"""Atomic deploys (a symlink swap to a new deploy directory) and edits in place, under load.

Every response must be correct and come wholly from one deploy: its body, its 404 page and its
size all belong to the same deploy, and once a client has seen deploy N it never sees an older one.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import write_site

N_FILES = 40
N_PAGES = 10
BIG = 2_500_000  # over the inline limit: streamed from disk as a FileBody


def file_body(deploy: int, i: int) -> bytes:
    return f"deploy {deploy} file {i} ".encode() + b"." * ((i * 13 + deploy * 7) % 200) + b"\n"


def big_body(deploy: int) -> bytes:
    # Each deploy's big file has a different size, so a size from one deploy and bytes from another show.
    return f"deploy {deploy} big ".encode() + bytes([48 + deploy % 10]) * (BIG + deploy * 1000)


def deploy_files(deploy: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {f"f/{i}.txt": file_body(deploy, i) for i in range(N_FILES)}
    files["index.html"] = f"<h1>deploy {deploy} home</h1>"
    files["404.html"] = f"<h1>deploy {deploy} not found</h1>"
    files[f"only-{deploy}.txt"] = f"deploy {deploy} only"
    files["big.bin"] = big_body(deploy)
    # Rules and header rules carry the deploy too: new rules with old files (or the reverse) show as
    # a 404 or as a header that names another deploy than the body.
    for i in range(N_PAGES):
        files[f"pages-{deploy}/{i}.html"] = f"deploy {deploy} page {i}"
    files["_redirects"] = f"/r/*  /pages-{deploy}/:splat  200\n/go  /target-{deploy}  301\n"
    files["_headers"] = f"/*\n  X-Deploy: {deploy}\n"
    files["netlify.toml"] = (f'[[redirects]]\nfrom = "/t/*"\nto = "/pages-{deploy}/:splat"\nstatus = 200\n\n'
                             f'[[headers]]\nfor = "/*"\n[headers.values]\nX-Deploy-Toml = "{deploy}"\n')
    return files


MARK = re.compile(rb"deploy (\d+)")
TARGET = re.compile(rb"/target-(\d+)$")


def expected(path: str, deploy: int) -> tuple[int, bytes]:
    if path.startswith("/f/"):
        return 200, file_body(deploy, int(path[3:].split(".")[0]))
    if path == "/":
        return 200, f"<h1>deploy {deploy} home</h1>".encode()
    if path == "/big.bin":
        return 200, big_body(deploy)
    if path == f"/only-{deploy}.txt":
        return 200, f"deploy {deploy} only".encode()
    if path.startswith(("/r/", "/t/")):
        return 200, f"deploy {deploy} page {path[3:].split('.')[0]}".encode()
    return 404, f"<h1>deploy {deploy} not found</h1>".encode()


class Load:
    """Concurrent clients asking for random paths until stopped; every answer is checked."""

    def __init__(self, url: str, paths, workers: int = 24, per_path: bool = False) -> None:
        self.url = url
        # Atomic deploys: a client never goes back to an older deploy on any path. Edits in place
        # change files one by one, so there the order holds per path.
        self.per_path = per_path
        self.check_headers = not per_path
        self.paths = paths
        self.workers = workers
        self.stop = asyncio.Event()
        self.failures: list[str] = []
        self.count = 0
        self.seen: list[tuple[float, float, int]] = []  # (start, end, deploy)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            await asyncio.gather(*(self._worker(s, w) for w in range(self.workers)))

    async def _worker(self, s: aiohttp.ClientSession, w: int) -> None:
        rng = random.Random(w)
        newest_by_path: dict[str, int] = {}
        while not self.stop.is_set():
            path = rng.choice(self.paths())
            t0 = time.monotonic()
            try:
                async with s.get(self.url + path, allow_redirects=False) as r:
                    status, body, headers = r.status, await r.read(), r.headers
            except Exception as e:
                self.failures.append(f"{path}: {e!r}")
                continue
            self.count += 1
            m = MARK.search(body[:64]) or TARGET.search(headers.get("Location", "").encode())
            if not m:
                self.failures.append(f"{path}: {status} without a deploy marker: {body[:60]!r}")
                continue
            deploy = int(m.group(1))
            if path == "/go":
                if status != 301:
                    self.failures.append(f"/go: {status}")
            elif (status, body) != expected(path, deploy):
                self.failures.append(f"{path}: {status} {len(body)}B not wholly deploy {deploy}: {body[:60]!r}")
            if self.check_headers and status != 301:
                marks = (headers.get("X-Deploy"), headers.get("X-Deploy-Toml"))
                if marks != (str(deploy), str(deploy)):
                    self.failures.append(f"{path}: body of deploy {deploy}, header rules of deploy {marks}")
            key = path if self.per_path else ""
            newest = newest_by_path.get(key, 0)
            if deploy < newest:
                self.failures.append(f"{path}: deploy {deploy} after this client saw deploy {newest}")
            newest_by_path[key] = max(newest, deploy)
            self.seen.append((t0, time.monotonic(), deploy))


def publish(root: Path, deploy: int) -> None:
    """How deploys are published: build the new directory, then swap the symlink atomically."""
    write_site(root / "deploys" / f"d{deploy}", deploy_files(deploy))
    tmp = root / f"current.tmp{deploy}"
    os.symlink(f"deploys/d{deploy}", tmp)
    os.replace(tmp, root / "current")


def paths_for(state: dict) -> list[str]:
    d = state["deploy"]
    return (["/", "/big.bin", "/missing", "/go", f"/only-{d}.txt", f"/only-{max(1, d - 1)}.txt"]
            + [f"/f/{i}.txt" for i in range(N_FILES)] + [f"/r/{i}" for i in range(N_PAGES)]
            + [f"/t/{i}" for i in range(N_PAGES)])


async def test_symlink_swap_under_load(edgenode, tmp_path):
    publish(tmp_path, 1)
    srv = edgenode(str(tmp_path / "current"))
    state = {"deploy": 1}
    load = Load(srv.url, lambda: paths_for(state))
    runner = asyncio.create_task(load.run())
    swaps: list[tuple[int, float]] = []
    try:
        await asyncio.sleep(0.5)
        for d in range(2, 8):
            await asyncio.to_thread(publish, tmp_path, d)
            swaps.append((d, time.monotonic()))
            state["deploy"] = d
            await asyncio.sleep(0.6)
        await asyncio.sleep(1.0)
    finally:
        load.stop.set()
        await runner
    assert load.failures == [], load.failures[:10]
    assert load.count > 200
    # Every deploy was served, and the node picked up each swap within a second.
    assert {d for _, _, d in load.seen} == set(range(1, 8))
    last_swap = swaps[-1][1]
    late = [d for start, _, d in load.seen if start > last_swap + 1.0]
    assert late and set(late) == {7}
    assert srv.node.sites.holders[0].site.generation > 1


def edit_in_place(site: Path, version: int) -> None:
    """An editor-style save of every file: write a temporary file, rename it over the old one."""
    for rel, data in deploy_files(version).items():
        if rel.startswith("only-"):
            continue
        p = site / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp~")
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
        os.replace(tmp, p)


def paths_in_place(state: dict) -> list[str]:
    return (["/", "/big.bin", "/missing", "/go"] + [f"/f/{i}.txt" for i in range(N_FILES)]
            + [f"/r/{i}" for i in range(N_PAGES)])


async def test_edits_in_place_under_load(edgenode, tmp_path):
    site = write_site(tmp_path / "site", {k: v for k, v in deploy_files(1).items() if not k.startswith("only-")})
    srv = edgenode(site)
    load = Load(srv.url, lambda: paths_in_place({}), per_path=True)
    runner = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(0.5)
        for v in range(2, 7):
            await asyncio.to_thread(edit_in_place, site, v)
            await asyncio.sleep(0.6)
        t_last = time.monotonic()
        await asyncio.sleep(1.0)
    finally:
        load.stop.set()
        await runner
    # No failures and no torn bodies. (Different files may be at different versions mid-edit; each
    # response is one whole version of its file, with that version's size.)
    assert load.failures == [], load.failures[:10]
    late = {d for start, _, d in load.seen if start > t_last + 0.8}
    assert late == {6}, late
    assert srv.node.sites.holders[0].reloads >= 1
    # Once the edits have settled, rules and header rules are the final version's too.
    async with aiohttp.ClientSession() as s:
        for path in ("/r/3", "/f/5.txt", "/missing"):
            async with s.get(srv.url + path) as r:
                assert (r.status, await r.read()) == expected(path, 6)
                assert (r.headers.get("X-Deploy"), r.headers.get("X-Deploy-Toml")) == ("6", "6")
        async with s.get(srv.url + "/go", allow_redirects=False) as r:
            assert r.headers["Location"].endswith("/target-6")


@pytest.mark.parametrize("broken", ["netlify.toml"])
async def test_broken_deploy_keeps_the_previous_one(edgenode, tmp_path, broken):
    """A deploy whose netlify.toml does not parse is not activated: the previous one keeps serving."""
    publish(tmp_path, 1)
    srv = edgenode(str(tmp_path / "current"))
    bad = write_site(tmp_path / "deploys" / "d2", deploy_files(2))
    (bad / broken).write_text("[build\npublish = \n")
    tmp = tmp_path / "current.tmp"
    os.symlink("deploys/d2", tmp)
    os.replace(tmp, tmp_path / "current")
    await asyncio.sleep(1.0)
    async with aiohttp.ClientSession() as s, s.get(srv.url + "/f/3.txt") as r:
        assert (r.status, await r.read()) == (200, file_body(1, 3))
    # The next good deploy is picked up.
    publish(tmp_path, 3)
    end = time.monotonic() + 5
    async with aiohttp.ClientSession() as s:
        while True:
            async with s.get(srv.url + "/f/3.txt") as r:
                body = await r.read()
            if body == file_body(3, 3) or time.monotonic() > end:
                break
            await asyncio.sleep(0.1)
    assert body == file_body(3, 3)
