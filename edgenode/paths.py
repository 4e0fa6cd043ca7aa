"""Request paths -> safe, decoded site paths. Pure code: no I/O.

Anything that could name a file outside the publish directory is refused here, before any file
system call: encoded slashes and backslashes, NUL, dot segments, invalid UTF-8.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_BAD_ENCODED = re.compile(r"%(?:2f|5c|00)", re.I)
_BAD_PCT = re.compile(r"%(?![0-9a-fA-F]{2})")


class BadPath(ValueError):
    """The request path is malformed or tries to escape the site: answer 400."""


def decode_path(raw_path: str) -> str:
    """Percent-decode a request path (without query), refusing anything unsafe."""
    if not raw_path.startswith("/"):
        raise BadPath("path must start with /")
    if _BAD_ENCODED.search(raw_path):
        raise BadPath("encoded slash, backslash or NUL in path")
    if _BAD_PCT.search(raw_path):
        raise BadPath("malformed percent-encoding")
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise BadPath("path is not valid UTF-8") from None
    if "\x00" in path or "\\" in path:
        raise BadPath("NUL or backslash in path")
    for seg in path.split("/"):
        if seg in (".", ".."):
            raise BadPath("dot segment in path")
    return path


def is_hidden(rel_parts: list[str], hidden_names: frozenset[str]) -> bool:
    """Dotfiles, dot-directories and config files (_redirects, _headers, netlify.toml) are never served."""
    return any(p.startswith(".") or p in hidden_names for p in rel_parts)
