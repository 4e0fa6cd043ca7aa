"""Header rules and Basic-Auth through a live server (HD-1..HD-8), and geo sources (PL-7)."""

from __future__ import annotations

import base64

import aiohttp
import pytest
from multidict import CIMultiDict

from edgenode.exchange import EdgeResponse

SITE = {
    "index.html": "home", "404.html": "page404", "login.html": "login", "secret/x.html": "secret-x",
    "assets/a.css": "a{}", "docs/page.html": "doc",
    "_headers": (
        "/*\n  X-Frame-Options: DENY\n  Cache-Control: public, max-age=0\n  Content-Length: 5\n"
        "/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n"
        "/secret/*\n  Basic-Auth: alice:wonder bob:builder\n"
        "/login\n  X-Login: 1\n"
        "/*.css\n  X-Css: yes\n"
    ),
    "_redirects": "/private-docs/* /secret/:splat 200!\n/signin /login 200\n/fn/* /.netlify/functions/:splat 200\n",
    "netlify.toml": '[[headers]]\nfor = "/docs/*"\n[headers.values]\nX-Docs = ["a", "b"]\nX-Frame-Options = "SAMEORIGIN"\n',
}


class Fn:
    async def fetch(self, node, ex, target):
        return EdgeResponse(200, CIMultiDict({"Content-Type": "text/plain"}), b"fn", kind="function")

    async def aclose(self):
        return None


@pytest.fixture
def url(edgenode, make_site):
    srv = edgenode(make_site(SITE))
    srv.node.function_origin = Fn()
    return srv.url


def auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def get(url: str, **kw):
    async with aiohttp.ClientSession() as s:
        async with s.get(url, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.text()


async def test_static_headers_and_precedence(url):
    status, h, _ = await get(url + "/")
    assert status == 200 and h["X-Frame-Options"] == "DENY" and h["Cache-Control"] == "public, max-age=0"
    assert h["Content-Length"] == "4"  # the reserved header in the rule is ignored (HD-6)
    _, h, _ = await get(url + "/assets/a.css")
    assert h["Cache-Control"] == "public, max-age=31536000, immutable" and h["X-Css"] == "yes"
    _, h, _ = await get(url + "/docs/page")
    assert h["X-Docs"] == "a, b" and h["X-Frame-Options"] == "SAMEORIGIN"  # toml after file


async def test_404_page_gets_headers(url):
    status, h, body = await get(url + "/missing")
    assert (status, body, h["X-Frame-Options"]) == (404, "page404", "DENY")


async def test_rewrite_target_headers_apply(url):
    status, h, body = await get(url + "/signin")
    assert (status, body, h["X-Login"], h["X-Frame-Options"]) == (200, "login", "1", "DENY")


async def test_not_on_functions_or_redirects(url):
    _, h, body = await get(url + "/fn/x")
    assert body == "fn" and "X-Frame-Options" not in h
    _, h, _ = await get(url + "/.netlify/functions/x")
    assert "X-Frame-Options" not in h


async def test_basic_auth(url):
    status, h, body = await get(url + "/secret/x")
    assert status == 401 and h["WWW-Authenticate"].startswith("Basic realm=") and "secret-x" not in body
    assert (await get(url + "/secret/x", headers=auth("alice", "wrong")))[0] == 401
    status, h, body = await get(url + "/secret/x", headers=auth("bob", "builder"))
    assert (status, body) == (200, "secret-x") and "Basic-Auth" not in h
    # a forced rewrite onto protected content is protected too
    assert (await get(url + "/private-docs/x"))[0] == 401
    assert (await get(url + "/private-docs/x", headers=auth("alice", "wonder")))[2] == "secret-x"


async def test_basic_auth_before_the_cache(url):
    assert (await get(url + "/secret/x", headers=auth("alice", "wonder")))[0] == 200  # now cached
    assert (await get(url + "/secret/x"))[0] == 401


# -- geo ------------------------------------------------------------------------------------------


def _make_mmdb(path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    w.insert_network(IPSet(["127.0.0.0/8"]), {
        "country": {"iso_code": "NZ", "names": {"en": "New Zealand"}},
        "subdivisions": [{"iso_code": "AUK", "names": {"en": "Auckland"}}],
        "city": {"names": {"en": "Auckland"}},
        "location": {"latitude": -36.85, "longitude": 174.76, "time_zone": "Pacific/Auckland"},
    })
    w.to_db_file(str(path))


def test_geo_from_maxmind_database(tmp_path):
    pytest.importorskip("mmdb_writer")
    from edgenode.geo import geo_for
    from edgenode.options import ServeOptions

    db = tmp_path / "city.mmdb"
    _make_mmdb(db)
    g = geo_for(ServeOptions(geoip_db=str(db)), "127.0.0.1", {"Accept-Language": "de-CH,de;q=0.9"})
    assert (g.country, g.country_name, g.subdivision, g.city, g.timezone, g.language, g.source) == \
        ("NZ", "New Zealand", "AUK", "Auckland", "Pacific/Auckland", "de-ch", "geoip")
    assert geo_for(ServeOptions(geoip_db=str(db)), "8.8.8.8", {}).country is None
    assert geo_for(ServeOptions(geoip_db=str(tmp_path / "missing.mmdb")), "127.0.0.1", {}).country is None


def test_country_flag_fills_the_name():
    from edgenode.geo import geo_for
    from edgenode.options import ServeOptions

    g = geo_for(ServeOptions(country="nz"), "127.0.0.1", {})
    assert (g.country, g.country_name, g.source) == ("NZ", "New Zealand", "flag")
    assert geo_for(ServeOptions(), "127.0.0.1", {"X-Country": "DE"}).country is None
    g = geo_for(ServeOptions(trust_geo_header="X-Country"), "127.0.0.1", {"X-Country": "de"})
    assert (g.country, g.source) == ("DE", "header")


async def test_geoip_db_drives_country_rules(edgenode, make_site, tmp_path):
    pytest.importorskip("mmdb_writer")
    db = tmp_path / "city.mmdb"
    _make_mmdb(db)
    site = make_site({"index.html": "home", "_redirects": "/ /nz 302 Country=nz\n"}, name="geo")
    status, h, _ = await get(edgenode(site, geoip_db=str(db)).url + "/")
    assert status == 302 and h["Location"].endswith("/nz")
    assert (await get(edgenode(site).url + "/"))[0] == 200


async def test_headers_from_root_then_publish_dir_and_reload(edgenode, make_site):
    from tests.conftest import wait_for

    site = make_site({
        "netlify.toml": '[build]\npublish = "public"\n',
        "_headers": "/*\n  X-Where: root\n  X-Root: 1\n",
        "public/_headers": "/*\n  X-Where: publish\n",
        "public/index.html": "home",
    }, name="pub")
    u = edgenode(site).url
    _, h, _ = await get(u + "/")
    assert h["X-Where"] == "publish" and h["X-Root"] == "1"
    (site / "public/_headers").write_text("/*\n  X-Where: changed\n")

    async def changed():
        return (await get(u + "/"))[1].get("X-Where") == "changed"

    assert await wait_for(changed, timeout=10)
