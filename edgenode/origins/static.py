"""StaticOrigin: files from the publish directory with Netlify's lookup rules (ST-1..ST-6).

Resolution is cached per deploy: a Site is immutable, and a reload builds a new StaticOrigin.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import BinaryIO, TypeVar

from multidict import CIMultiDict

from edgenode.exchange import EdgeResponse, FileBody
from edgenode.paths import is_hidden

# Files up to this size are read into memory (and so cached); larger ones stream from disk.
INLINE_LIMIT = 2 * 1024 * 1024
ASSET_EXTENSIONS = frozenset({"html", "htm", "png", "jpg", "js", "css", "svg", "gif", "ico", "woff", "woff2"})
HIDDEN_NAMES = frozenset({"_redirects", "_headers", "netlify.toml"})
STATIC_CACHE_CONTROL = "public, max-age=0, must-revalidate"

_EXTRA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".ico": "image/x-icon",
}
_TEXTUAL = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml",
            "application/manifest+json")


def content_type_for(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    ctype = _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith(_TEXTUAL) and "charset" not in ctype:
        ctype += "; charset=utf-8"
    return ctype


@dataclass(slots=True, frozen=True)
class StaticFile:
    path: str  # absolute, real path inside the publish dir
    rel: str  # "/about.html": the site path of the file
    size: int
    mtime: float


@dataclass(slots=True, frozen=True)
class PrettyRedirect:
    location: str


async def file_chunks(fh: BinaryIO, offset: int, length: int, size: int) -> AsyncIterator[bytes]:
    """`length` bytes of the open file from `offset`, read off the event loop `size` bytes at a time."""
    loop = asyncio.get_running_loop()
    fh.seek(offset)
    left = length
    while left > 0:
        chunk = await loop.run_in_executor(None, fh.read, min(size, left))
        if not chunk:
            break
        left -= len(chunk)
        yield chunk


def file_body(path: str, st: os.stat_result) -> FileBody:
    return FileBody(path, 0, st.st_size, (st.st_ino, st.st_size, st.st_mtime_ns))


def set_file_validators(headers: CIMultiDict[str], st: os.stat_result) -> None:
    """ETag and Last-Modified of a file streamed from disk (too large to hash per request)."""
    headers["ETag"] = f'"{int(st.st_mtime * 1e6):x}-{st.st_size:x}"'
    headers["Last-Modified"] = formatdate(st.st_mtime, usegmt=True)


# Lookups are remembered per deploy for at most this many paths of at most this length: requests
# for long random paths (a scan, an attack) must not grow the memo by megabytes.
MEMO_PATHS = 100_000
MEMO_PATH_CHARS = 512


T = TypeVar("T")


def _remember(memo: dict, path: str, found: T) -> T:
    if len(memo) < MEMO_PATHS and len(path) <= MEMO_PATH_CHARS:
        memo[path] = found
    return found


class StaticOrigin:
    def __init__(self, publish_dir: str, hidden_dirs: tuple[str, ...] = (), pretty_urls: bool = True) -> None:
        self.root = os.path.realpath(publish_dir)
        self.pretty_urls = pretty_urls
        # Directories inside the publish dir that hold code, not content (functions, edge handlers).
        self.hidden_dirs = tuple(os.path.realpath(d) + os.sep for d in hidden_dirs)
        self._resolved: dict[str, StaticFile | None] = {}
        self._pretty: dict[str, PrettyRedirect | None] = {}  # per path, like _resolved (a deploy's files are fixed)

    # -- file lookup -------------------------------------------------------------------------

    def file(self, site_path: str) -> StaticFile | None:
        """The file at exactly this decoded site path, or None (missing, hidden or outside the root)."""
        try:
            return self._resolved[site_path]
        except KeyError:
            return _remember(self._resolved, site_path, self._stat(site_path))

    def _stat(self, site_path: str) -> StaticFile | None:
        parts = [p for p in site_path.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts) or is_hidden(parts, HIDDEN_NAMES):
            return None
        full = os.path.join(self.root, *parts)
        real = os.path.realpath(full)
        # A symlink may point anywhere: only what really lies under the root is served.
        if not real.startswith(self.root + os.sep):
            return None
        if any(real.startswith(d) or real + os.sep == d for d in self.hidden_dirs):
            return None
        try:
            st = os.stat(real)
        except OSError:
            return None
        if not os.path.isfile(real):
            return None
        return StaticFile(real, "/" + "/".join(parts), st.st_size, st.st_mtime)

    def candidates(self, path: str) -> list[str]:
        """ST-1: the site paths tried for a request path, in order."""
        if path.endswith("/"):
            stem = path[:-1]
            out = [] if not stem else [stem + ".html", stem + ".htm"]
            return out + [path + "index.html", path + "index.htm"]
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        if ext in ASSET_EXTENSIONS:
            return [path]
        return [path, path + ".html", path + ".htm", path + "/index.html", path + "/index.htm"]

    def lookup(self, path: str) -> StaticFile | None:
        for cand in self.candidates(path):
            f = self.file(cand)
            if f is not None:
                return f
        return None

    def exists(self, path: str) -> bool:
        """Whether a static file answers this path (for rule shadowing, RR-16)."""
        return self.lookup(path) is not None

    def pretty_redirect(self, path: str) -> PrettyRedirect | None:
        """ST-2: `/about/` -> `/about` when about.html exists; `/about` -> `/about/` for about/index.html."""
        if not self.pretty_urls or path == "/":
            return None
        try:
            return self._pretty[path]
        except KeyError:
            return _remember(self._pretty, path, self._pretty_redirect(path))

    def _pretty_redirect(self, path: str) -> PrettyRedirect | None:
        if path.endswith("/"):
            stem = path[:-1]
            if self.file(stem + ".html") and not self.file(path + "index.html"):
                return PrettyRedirect(stem)
            return None
        if self.file(path) is None and self.file(path + ".html") is None and self.file(path + ".htm") is None:
            if self.file(path + "/index.html") or self.file(path + "/index.htm"):
                return PrettyRedirect(path + "/")
        return None

    # -- responses ---------------------------------------------------------------------------

    def response_for(self, f: StaticFile, status: int = 200) -> EdgeResponse:
        """The response for a file as it is on disk now. Size and dates come from the open file, not
        from the lookup cache: an edit in place (write + rename) may have replaced it since."""
        headers: CIMultiDict[str] = CIMultiDict()
        headers["Content-Type"] = content_type_for(f.path)
        headers["Cache-Control"] = STATIC_CACHE_CONTROL
        headers["Accept-Ranges"] = "bytes"
        body: bytes | FileBody
        with open(f.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size <= INLINE_LIMIT:
                body = fh.read()
                headers["ETag"] = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
                headers["Last-Modified"] = formatdate(st.st_mtime, usegmt=True)
            else:
                body = file_body(f.path, st)
                set_file_validators(headers, st)
        pre = {}
        for enc, suffix in (("br", ".br"), ("gzip", ".gz")):
            sib = self.file(f.rel + suffix)
            if sib is not None:
                try:
                    pre[enc] = file_body(sib.path, os.stat(sib.path))
                except OSError:
                    continue
        return EdgeResponse(status, headers, body, kind="static", precompressed=pre or None)

    def not_found(self) -> EdgeResponse:
        """ST-3: the site's 404.html with status 404, or a plain Not Found."""
        f = self.file("/404.html")
        if f is not None:
            resp = self.response_for(f, 404)
            return resp
        headers = CIMultiDict({"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"})
        return EdgeResponse(404, headers, b"Not Found", kind="static")


def checked_file(fh, status: int, headers: CIMultiDict[str], body: FileBody) -> tuple[int, FileBody]:
    """The file opened for sending must be the one the headers describe. If it was replaced since
    (an edit in place), send the whole new file with its own validators instead of mixing the two."""
    if body.stamp is None:
        return status, body
    st = os.fstat(fh.fileno())
    if (st.st_ino, st.st_size, st.st_mtime_ns) == body.stamp:
        return status, body
    set_file_validators(headers, st)
    headers.popall("Content-Range", None)
    return (200 if status == 206 else status), file_body(body.path, st)
