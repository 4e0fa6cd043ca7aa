"""The function invocation contract, pure: names, the v1 event (FN-2, FN-3, FN-11), clientContext
(FN-5) and the v1 response (FN-4). Data in, data out: no I/O, no aiohttp.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

FUNCTION_ROUTE = re.compile(r"^/\.netlify/(?:functions|builders)/([^/]+)")
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
BAD_NAME_MESSAGE = "Function name should consist only of alphanumeric characters, hyphen & underscores."

# FN-3: bodies of these media types reach the function as text; everything else as base64.
_TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml",
                         "application/x-www-form-urlencoded", "application/x-ndjson", "application/graphql",
                         "application/csp-report"})


def function_name(path: str) -> str | None:
    """`/.netlify/functions/NAME[/...]` -> NAME (FN-1), or None for any other path."""
    m = FUNCTION_ROUTE.match(path)
    return m.group(1) if m else None


def is_textual(content_type: str | None) -> bool:
    """FN-3: whether a request body of this type is passed as text (not base64)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (media.startswith("text/") or media.endswith("+json") or media.endswith("+xml")
            or media in _TEXT_TYPES)


def _header_maps(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for k, v in headers:
        multi.setdefault(k.lower(), []).append(v)
    return {k: ", ".join(vs) for k, vs in multi.items()}, multi


def query_maps(query_string: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """queryStringParameters (repeated values joined with ", ", as netlify dev) and the multi-value map."""
    multi: dict[str, list[str]] = {}
    for k, v in parse_qsl(query_string, keep_blank_values=True):
        multi.setdefault(k, []).append(v)
    return {k: ", ".join(vs) for k, vs in multi.items()}, multi


@dataclass(slots=True)
class RequestFacts:
    """What the event is made of, gathered by the origin from the exchange."""

    method: str
    path: str  # the ORIGINAL request path, decoded (event.path even after a rewrite, RR-24)
    raw_url: str  # scheme://authority/raw_path?query of the original request
    query_string: str  # the query the function gets (RR-15: the request's)
    headers: list[tuple[str, str]]  # request headers with the ones Netlify adds (FN-11)
    has_body: bool
    content_type: str | None


def added_headers(client_ip: str, scheme: str, request_id: str, site_id: str, forwarded_for: str,
                  country: str | None, accept_language: str | None, geo: dict[str, Any]) -> list[tuple[str, str]]:
    """FN-11: the request headers Netlify adds before a function sees the request."""
    out = [("client-ip", client_ip), ("x-nf-client-connection-ip", client_ip),
           ("x-forwarded-for", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip),
           ("x-forwarded-proto", scheme), ("x-nf-request-id", request_id), ("x-nf-site-id", site_id),
           ("x-nf-geo", base64.b64encode(json.dumps(geo, separators=(",", ":")).encode()).decode()),
           ("via", "1.1 Netlify (edgenode)")]
    if country:
        out.append(("x-country", country))
    if accept_language:
        out.append(("x-language", accept_language))
    return out


def v1_event(facts: RequestFacts) -> dict[str, Any]:
    """FN-2 without `body`: the worker fills `body` from the raw bytes (base64 when isBase64Encoded)."""
    headers, multi_headers = _header_maps(facts.headers)
    query, multi_query = query_maps(facts.query_string)
    return {
        "path": facts.path,
        "httpMethod": facts.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "body": None,
        "isBase64Encoded": facts.has_body and not is_textual(facts.content_type),
        "rawUrl": facts.raw_url,
        "rawQuery": facts.query_string,
    }


def client_context(claims: dict[str, Any] | None, site_url: str, identity_token: str) -> dict[str, Any]:
    """FN-5: identity and user claims, also base64 JSON in custom.netlify; {} without a user."""
    if claims is None:
        return {}
    identity = {"url": f"{site_url}/.netlify/identity", "token": identity_token}
    custom = base64.b64encode(json.dumps({"identity": identity, "user": claims}).encode()).decode()
    return {"identity": identity, "user": claims, "custom": {"netlify": custom}}


class InvalidFunctionResponse(Exception):
    """A v1 result that breaks the contract (FN-4): the client gets a 500."""


def _header_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"  # as JavaScript's String(true)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def parse_v1_response(result: Any, undefined: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
    """FN-4: (status, headers in order, body bytes) from a v1 handler's return value."""
    if undefined:
        raise InvalidFunctionResponse("lambda response was undefined. check your function code again")
    if result is None:
        raise InvalidFunctionResponse("no lambda response. check your function code again")
    if not isinstance(result, dict):
        raise InvalidFunctionResponse(f"the function returned {type(result).__name__}, not a response object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, float) and status.is_integer():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidFunctionResponse(f"Your function response must have a numerical statusCode. "
                                      f"You gave: {status!r}")
    headers: list[tuple[str, str]] = []
    for k, v in (result.get("headers") or {}).items():
        headers.append((str(k), _header_value(v)))
    for k, vs in (result.get("multiValueHeaders") or {}).items():
        for v in vs if isinstance(vs, list) else [vs]:
            headers.append((str(k), _header_value(v)))
    body = result.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        if result.get("isBase64Encoded"):
            try:
                data = base64.b64decode(body, validate=False)
            except ValueError as e:
                raise InvalidFunctionResponse(f"isBase64Encoded is set but the body is not base64: {e}") from None
        else:
            data = body.encode()
    else:
        raise InvalidFunctionResponse(f"Your function response must have a string body. "
                                      f"You gave: {type(body).__name__}")
    return status, headers, data
