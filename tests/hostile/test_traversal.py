"""Path traversal in every encoding, config files, dotfiles, code directories, symlinks out of the site."""

from __future__ import annotations

import os

import pytest

from edgenode.testing import RunningEdgenode
from tests.conftest import write_site
from tests.hostile.conftest import assert_serving, exchange, first_status

SECRET = b"TOPSECRET-outside-the-site"


@pytest.fixture(scope="module")
def site_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("trav")
    (root / "secret.txt").write_bytes(SECRET)
    (root / "secretdir").mkdir()
    (root / "secretdir" / "index.html").write_bytes(SECRET)
    site = write_site(root / "site", {
        "index.html": "<h1>home</h1>",
        "about.html": "<h1>about</h1>",
        "404.html": "<h1>custom 404</h1>",
        "docs/page.html": "<h1>page</h1>",
        "_redirects": "/old /new 301\n",
        "_headers": "# " + SECRET.decode() + "\n/*\n  X-Frame-Options: DENY\n",
        "netlify.toml": "[build]\npublish = '.'\n# " + SECRET.decode() + "\n",
        ".env": SECRET.decode(),
        ".git/config": SECRET.decode(),
        ".well-hidden/file.txt": SECRET.decode(),
        "docs/.htpasswd": SECRET.decode(),
        "docs/_redirects": SECRET.decode(),
        "netlify/functions/hello.js": "// " + SECRET.decode(),
        "netlify/edge-handlers/h.js": "// " + SECRET.decode(),
    })
    os.symlink(root / "secret.txt", site / "leak.txt")
    os.symlink(root / "secretdir", site / "leakdir")
    os.symlink("../secret.txt", site / "docs" / "rel-leak.html")
    os.symlink(site / "about.html", site / "inside-link.html")  # a symlink inside the site is fine
    srv = RunningEdgenode(site)
    yield srv
    srv.stop()


TRAVERSALS = [
    "/../secret.txt", "/../../../../etc/passwd", "/docs/../../secret.txt",
    "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt",
    "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt", "/..%5csecret.txt", "/..%5Csecret.txt",
    "/..\\secret.txt", "/docs/..\\..\\secret.txt",
    "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt",
    "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%u002e%u002e/secret.txt", "/%uff0e%uff0e/secret.txt", "/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/./../secret.txt", "/docs/./../../secret.txt", "//../secret.txt", "/.../secret.txt",
    "/..;/secret.txt", "/docs/..;/..;/secret.txt", "/..%00/secret.txt", "/%00../secret.txt",
    "/docs/%2e%2e/%2e%2e/secret.txt", "/docs/.%2E/.%2E/secret.txt",
    "http://a.example/../secret.txt", "/etc/passwd", "//etc/passwd", "///secret.txt",
    "/secretdir/", "/leak.txt", "/leakdir/", "/leakdir/index.html", "/docs/rel-leak.html", "/docs/rel-leak",
]

HIDDEN = [
    "/_redirects", "/_headers", "/netlify.toml", "/%5fredirects", "/%5Fheaders", "/netlify%2etoml",
    "/_redirects?x=1", "/_redirects/", "/_headers.html", "/netlify.toml/", "/docs/_redirects",
    "/.env", "/%2eenv", "/.git/config", "/.git/", "/%2egit/config", "/.git%2fconfig", "/.well-hidden/file.txt",
    "/docs/.htpasswd", "/docs/%2ehtpasswd",
    "/netlify/functions/hello.js", "/netlify/functions/hello", "/netlify/edge-handlers/h.js",
    "/netlify/functions/", "/netlify%2ffunctions/hello.js",
]


def fetch(url: str, target: str) -> tuple[int, bytes]:
    raw, _ = exchange(url, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
    return first_status(raw), raw


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_leaves_the_site(site_server, target):
    status, raw = fetch(site_server.url, target)
    assert SECRET not in raw, target
    assert status in (400, 404), (target, raw[:200])


@pytest.mark.parametrize("target", HIDDEN)
def test_config_dotfiles_and_code_are_never_served(site_server, target):
    status, raw = fetch(site_server.url, target)
    assert SECRET not in raw.partition(b"\r\n\r\n")[2], target
    assert b"/old /new" not in raw
    assert status in (301, 400, 404), (target, raw[:200])
    if status == 301:  # only a pretty-URL redirect, and only to a same-site path
        location = [h for h in raw.split(b"\r\n") if h.lower().startswith(b"location:")][0]
        assert location.split(b":", 1)[1].strip().startswith(b"/") and b"//" not in location


def test_symlink_inside_the_site_is_served(site_server):
    status, raw = fetch(site_server.url, "/inside-link.html")
    assert status == 200 and raw.endswith(b"<h1>about</h1>")


def test_serving_after_traversal_attempts(site_server):
    status, raw = fetch(site_server.url, "/docs/page")
    assert status == 200 and raw.endswith(b"<h1>page</h1>")
    assert_serving(site_server.url)


def test_publish_dir_outside_the_site_is_refused(tmp_path, edgenode):
    """A deploy's netlify.toml must not point the node at files outside its own directory."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    site = write_site(tmp_path / "site", {"index.html": "<h1>home</h1>", "netlify.toml": "[build]\npublish = '..'\n"})
    srv = edgenode(site)
    status, raw = fetch(srv.url, "/secret.txt")
    assert SECRET not in raw and status == 404
    site2 = write_site(tmp_path / "site2", {"index.html": "x", "netlify.toml": "[build]\npublish = '/'\n"})
    status, raw = fetch(edgenode(site2).url, "/etc/hostname")
    assert status == 404
