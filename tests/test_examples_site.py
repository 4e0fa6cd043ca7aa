"""The demo site in handlers_examples/ as the README's first command serves it: rules and header rules."""

from __future__ import annotations

from pathlib import Path

import aiohttp

EXAMPLES = Path(__file__).resolve().parent.parent / "handlers_examples"


async def get(url: str, **headers: str):
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers, allow_redirects=False) as r:
        return r.status, r.headers, await r.read()


async def test_demo_rules(edgenode):
    base = edgenode(EXAMPLES).url
    status, h, _ = await get(base + "/news/hello")
    assert status == 301 and h["Location"] == base + "/blog/hello"
    status, _, body = await get(base + "/api/hello")
    assert status == 200 and body  # the hello function, through a rewrite
    status, _, _ = await get(base + "/legacy/anything")
    assert status == 410
    status, h, _ = await get(base + "/about", **{"Accept-Language": "de-DE,de;q=0.9"})
    assert status == 302 and h["Location"].endswith("/about-de")
    status, _, body = await get(base + "/about", **{"Accept-Language": "en"})
    assert status == 200 and b"About" in body


async def test_demo_header_rules(edgenode):
    base = edgenode(EXAMPLES).url
    _, h, _ = await get(base + "/css/site.css")
    assert h["Cache-Control"] == "public, max-age=31536000, immutable"
    _, h, _ = await get(base + "/about")
    assert h["Cache-Control"] == "public, max-age=0, must-revalidate"


def test_demo_site_checks_clean():
    from edgenode.commands.check import check_site

    assert check_site(str(EXAMPLES)) == 0
