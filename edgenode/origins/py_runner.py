"""edgenode function worker for Python: runs `handler(event, context)` (plain or async) one call at a time.

Started by workers.py as `python py_runner.py`; it imports nothing from edgenode so it starts fast.
Protocol: frames (u32be JSON length, u32be body length, JSON, body) on the two pipe descriptors named
in EDGENODE_WORKER_FDS; stdout and stderr stay free for the function's own output.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import inspect
import json
import os
import struct
import sys
import time
import traceback
from typing import Any

HEADER = struct.Struct(">II")


class LambdaContext:
    """The context object: Lambda's snake_case attributes and Netlify's camelCase ones."""

    def __init__(self, c: dict[str, Any]) -> None:
        self.function_name = self.functionName = c["functionName"]
        self.function_version = self.functionVersion = "$LATEST"
        self.aws_request_id = self.awsRequestId = c["requestId"]
        self.memory_limit_in_mb = self.memoryLimitInMB = "1024"
        self.invoked_function_arn = f"arn:aws:lambda:edgenode:0:function:{c['functionName']}"
        self.client_context = self.clientContext = c["clientContext"]
        self.identity = None
        self._deadline = time.monotonic() + c["timeoutMs"] / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    getRemainingTimeInMillis = get_remaining_time_in_millis  # noqa: N815 - the JavaScript name


def read_exactly(fd: int, n: int) -> bytes:
    parts = []
    while n:
        b = os.read(fd, n)
        if not b:
            raise EOFError
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def send(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    write_all(fd, HEADER.pack(len(head), len(body)) + head + body)


_handlers: dict[str, Any] = {}


def load(file: str) -> Any:
    handler = _handlers.get(file)
    if handler is None:
        directory = os.path.dirname(file)
        if directory not in sys.path:
            sys.path.insert(0, directory)  # sibling modules of the function import as usual
        name = "netlify_function_" + os.path.splitext(os.path.basename(file))[0].replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = getattr(module, "handler", None)
        if not callable(handler):
            raise TypeError(f"{file} has no handler(event, context) function")
        _handlers[file] = handler
    return handler


def error_of(e: BaseException) -> dict[str, Any]:
    return {"type": type(e).__name__, "message": str(e),
            "stack": traceback.format_exception(type(e), e, e.__traceback__)}


def invoke(loop: asyncio.AbstractEventLoop, msg: dict[str, Any], body: bytes) -> dict[str, Any]:
    handler = load(msg["file"])
    event = msg["event"]
    if body:
        event["body"] = base64.b64encode(body).decode() if event["isBase64Encoded"] else body.decode("utf-8", "replace")
    result = handler(event, LambdaContext(msg["context"]))
    if inspect.isawaitable(result):
        result = loop.run_until_complete(result)
    if isinstance(result, dict) and isinstance(result.get("body"), bytes | bytearray):
        # A convenience for Python: bytes bodies travel as base64, as the v1 contract wants.
        result = {**result, "body": base64.b64encode(result["body"]).decode(), "isBase64Encoded": True}
    json.dumps(result)  # fail here, as the function's error, if the result is not JSON data
    return {"api": 1, "result": result}


def main() -> None:
    in_fd, out_fd = (int(x) for x in os.environ.pop("EDGENODE_WORKER_FDS", "3,4").split(","))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    while True:
        try:
            head_len, body_len = HEADER.unpack(read_exactly(in_fd, HEADER.size))
            msg = json.loads(read_exactly(in_fd, head_len))
            body = read_exactly(in_fd, body_len) if body_len else b""
        except EOFError:
            return
        try:
            reply = {"id": msg["id"], "ok": True, **invoke(loop, msg, body)}
        except Exception as e:  # the function's error: reported, the worker lives on
            reply = {"id": msg["id"], "ok": False, "error": error_of(e)}
        sys.stdout.flush()
        send(out_fd, reply)


if __name__ == "__main__":
    main()
