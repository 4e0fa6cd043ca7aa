"""Files above the in-memory limit stream from disk (sendfile where the loop has it): whole, ranges, HEAD."""

from __future__ import annotations

import hashlib
import random

import aiohttp
import pytest

from edgenode import leanconn
from edgenode.origins.static import INLINE_LIMIT

DATA = random.Random(5).randbytes(INLINE_LIMIT + 123_457)


class _NoSendfile(dict):
    def get(self, key, default=None):
        return True


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "chunked"])
async def test_large_file_whole_range_and_head(edgenode, make_site, monkeypatch, sendfile):
    if not sendfile:  # the path uvloop takes: no native sendfile, chunks read off the loop
        monkeypatch.setattr(leanconn, "_NO_SENDFILE", _NoSendfile())
    url = edgenode(make_site({"big.bin": DATA})).url
    async with aiohttp.ClientSession() as s:
        for _ in range(2):  # never cached: both answers come from the file
            async with s.get(url + "/big.bin") as r:
                body = await r.read()
                assert r.status == 200 and r.headers["Content-Length"] == str(len(DATA))
                assert hashlib.sha256(body).digest() == hashlib.sha256(DATA).digest()
        async with s.get(url + "/big.bin", headers={"Range": "bytes=1000000-1000999"}) as r:
            assert r.status == 206 and await r.read() == DATA[1_000_000:1_001_000]
        async with s.get(url + "/big.bin", headers={"Range": "bytes=-10"}) as r:
            assert r.status == 206 and await r.read() == DATA[-10:]
        async with s.head(url + "/big.bin") as r:
            assert r.status == 200 and r.headers["Content-Length"] == str(len(DATA))
            assert await r.read() == b""
