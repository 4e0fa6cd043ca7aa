"""Long-lived function worker processes (Node.js or Python) and a small supervised pool of them.

Protocol over two pipes (fd 3: requests to the worker, fd 4: replies), so whatever a function
prints on stdout/stderr never corrupts it. A frame is

    u32 big-endian JSON length | u32 big-endian body length | JSON header | raw body bytes

One invocation runs per worker at a time (Lambda semantics): a function that blocks or loops only
holds its own worker, and a timeout or crash costs that one process, which the pool replaces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("edgenode.functions")
HEADER = struct.Struct(">II")


class WorkerCrashed(Exception):
    """The worker process died during an invocation (exit code in `returncode`)."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"worker process exited with code {returncode}")
        self.returncode = returncode


# FN-10: 6 MB buffered, 20 MB streamed on Netlify. edgenode collects both kinds before sending, so
# one bound for both; without it a function could make the node hold gigabytes.
MAX_RESPONSE_BODY = 20 * 1024 * 1024
MAX_RESPONSE_HEAD = 1024 * 1024  # status, headers and error text (JSON)


class ResponseTooLarge(Exception):
    """The function's answer is over the size limit; the worker was killed rather than read dry."""


class WorkerTimeout(Exception):
    """The invocation did not answer in time; the worker was killed."""


class WorkerUnavailable(Exception):
    """The worker program could not be started (e.g. `node` is not installed)."""


def encode_frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(head), len(body)) + head + body


class Worker:
    """One worker process and its two pipes."""

    def __init__(self, proc: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: asyncio.WriteTransport) -> None:
        self.proc = proc
        self.reader = reader
        self.writer = writer
        self.calls = 0

    @classmethod
    async def spawn(cls, argv: Sequence[str], env: dict[str, str], cwd: str) -> Worker:
        loop = asyncio.get_running_loop()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            # pass_fds keeps the descriptor numbers; the child learns them from EDGENODE_WORKER_FDS.
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, env={**env, "EDGENODE_WORKER_FDS": f"{to_child_r},{from_child_w}"},
                cwd=cwd, pass_fds=(to_child_r, from_child_w), start_new_session=True,
            )
        except OSError as e:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise WorkerUnavailable(f"cannot start {argv[0]}: {e.strerror or e}") from e
        os.close(to_child_r)
        os.close(from_child_w)
        reader = asyncio.StreamReader(limit=2**31)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(from_child_r, "rb", 0))
        transport, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, os.fdopen(to_child_w, "wb", 0))
        return cls(proc, reader, transport)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.writer.is_closing()

    async def call(self, header: dict[str, Any], body: bytes, timeout: float) -> tuple[dict[str, Any], bytes]:
        self.calls += 1
        self.writer.write(encode_frame(header, body))
        try:
            return await asyncio.wait_for(self._read_frame(), timeout)
        except TimeoutError:
            self.kill()
            raise WorkerTimeout(f"no answer within {timeout:g} s") from None
        except ResponseTooLarge:
            self.kill()
            raise
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            self.kill()
            try:
                code = await asyncio.wait_for(self.proc.wait(), 2.0)
            except TimeoutError:
                code = None
            raise WorkerCrashed(code) from None

    async def _read_frame(self) -> tuple[dict[str, Any], bytes]:
        head_len, body_len = HEADER.unpack(await self.reader.readexactly(HEADER.size))
        if body_len > MAX_RESPONSE_BODY or head_len > MAX_RESPONSE_HEAD:
            raise ResponseTooLarge(f"response of {body_len + head_len} bytes is over the "
                                   f"{MAX_RESPONSE_BODY // (1024 * 1024)} MB limit")
        head = json.loads(await self.reader.readexactly(head_len))
        body = await self.reader.readexactly(body_len) if body_len else b""
        return head, body

    def kill(self) -> None:
        self.writer.close()
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, 9)  # the function may have started children of its own
            except ProcessLookupError:
                pass

    async def close(self) -> None:
        self.writer.close()  # EOF on fd 3: the worker exits on its own
        try:
            await asyncio.wait_for(self.proc.wait(), 1.0)
        except TimeoutError:
            self.kill()
            await self.proc.wait()


class WorkerPool:
    """Up to `size` workers running one program; one is started warm, more on demand."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], cwd: str, size: int = 2) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.size = max(1, size)
        self._idle: list[Worker] = []
        self._count = 0  # live workers, idle or busy, plus ones being spawned
        self._freed = asyncio.Condition()
        self._closed = False
        self.spawned = 0

    async def start(self) -> None:
        if not self._idle and self._count == 0:
            self._count += 1
            try:
                self._idle.append(await self._spawn())
            except BaseException:
                self._count -= 1
                raise

    async def _spawn(self) -> Worker:
        worker = await Worker.spawn(self.argv, self.env, self.cwd)
        self.spawned += 1
        return worker

    async def _acquire(self) -> Worker:
        async with self._freed:
            while True:
                if self._closed:
                    raise WorkerUnavailable(f"{self.name} workers are shut down")
                while self._idle:
                    w = self._idle.pop()
                    if w.alive:
                        return w
                    self._count -= 1  # died while idle: forget it
                if self._count < self.size:
                    self._count += 1
                    break
                await self._freed.wait()
        try:
            return await self._spawn()
        except BaseException:
            async with self._freed:
                self._count -= 1
                self._freed.notify()
            raise

    async def _release(self, worker: Worker, healthy: bool) -> None:
        async with self._freed:
            if healthy and worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                worker.kill()
            self._freed.notify()

    async def invoke(self, header: dict[str, Any], body: bytes, timeout: float) -> tuple[dict[str, Any], bytes]:
        worker = await self._acquire()
        healthy = False
        try:
            result = await worker.call(header, body, timeout)
            healthy = True
            return result
        finally:
            await self._release(worker, healthy)

    async def close(self) -> None:
        async with self._freed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._freed.notify_all()
        await asyncio.gather(*(w.close() for w in idle), return_exceptions=True)
