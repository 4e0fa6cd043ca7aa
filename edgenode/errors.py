"""Error pages (PL-8): an HTML page when the client accepts HTML, else `Name: message` as text."""

from __future__ import annotations

import html

from multidict import CIMultiDict

from edgenode.exchange import EdgeResponse

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error",
           501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def error_response(status: int, name: str, message: str, accept: str | None, kind: str = "error") -> EdgeResponse:
    line = f"{name}: {message}" if message else name
    headers: CIMultiDict[str] = CIMultiDict({"Cache-Control": "no-store"})
    if accept and "text/html" in accept:
        title = f"{status} {_TITLES.get(status, 'Error')}"
        body = (
            "<!doctype html><html><head><meta charset=utf-8><title>" + html.escape(title) + "</title>"
            "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}"
            "code{background:#f3f3f3;padding:.2em .4em;border-radius:3px}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p><code>{html.escape(line)}</code></p></body></html>"
        ).encode()
        headers["Content-Type"] = "text/html; charset=utf-8"
    else:
        body = (line + "\n").encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    return EdgeResponse(status, headers, body, kind=kind)
