"""Conditional and range requests (RFC 9110 sections 13 and 14). Pure code."""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def _strip_coding(tag: str) -> str:
    # The encoding phase marks compressed variants `"etag-br"` / `"etag-gzip"`: same resource.
    for suffix in ('-br"', '-gzip"'):
        if tag.endswith(suffix):
            return tag[: -len(suffix)] + '"'
    return tag


def _etags(header: str) -> list[str]:
    return [_strip_coding(t.strip().removeprefix("W/")) for t in header.split(",") if t.strip()]


def not_modified(req_headers, etag: str | None, last_modified: str | None) -> bool:
    """Whether a GET/HEAD with these headers may be answered 304 (If-None-Match wins over If-Modified-Since)."""
    inm = req_headers.get("If-None-Match")
    if inm is not None:
        if etag is None:
            return False
        tags = _etags(inm)
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = req_headers.get("If-Modified-Since")
    if ims and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single `bytes=` range -> (start, end inclusive). None: ignore the header and send 200.

    Multiple ranges are answered with the whole representation (allowed by RFC 9110 14.2).
    Raises RangeNotSatisfiable for a well-formed range that lies outside the representation.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    first, last = first.strip(), last.strip()
    if not (first.isdigit() or first == "") or not (last.isdigit() or last == "") or (not first and not last):
        return None
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable
        return (max(size - n, 0), size - 1) if size else _unsatisfiable()
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def _unsatisfiable() -> tuple[int, int]:
    raise RangeNotSatisfiable


def if_range_ok(req_headers, etag: str | None, last_modified: str | None) -> bool:
    ir = req_headers.get("If-Range")
    if ir is None:
        return True
    ir = ir.strip()
    if ir.startswith(('"', "W/")):
        return etag is not None and not ir.startswith("W/") and ir == etag
    return last_modified is not None and ir == last_modified
